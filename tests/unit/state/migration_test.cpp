// Live migration between two boards in one process over a socketpair: the destination runs in a
// thread, the source alternates migration steps with guest slices, as the vx86 program does.
// The guest increments a byte in each of 144 pages, pass after pass (so pages sent early are
// dirtied again), and the oracle is exact: once migrated, the destination's snapshot equals the
// source's at the switchover, byte for byte, and both continue identically.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <thread>

#include "machine/board.h"
#include "state/migration_source.h"
#include "state/migration_target.h"
#include "state/snapshot.h"

namespace vx86::state {
namespace {

using machine::Board;
using machine::BoardConfig;

// 16-bit firmware: the reset vector jumps to F000:E000, which loops forever over the pages at
// 0x10000..0x9FFFF: inc byte [page]; mov [page+0x10], si (the pass number); then inc si.
std::string firmware_path() {
    static const std::string path = [] {
        std::vector<uint8_t> img(128 * 1024, 0xf4);
        const uint8_t code[] = {
            0xFA,                          // cli
            0x31, 0xF6,                    // xor si, si
            0xBB, 0x00, 0x10,              // outer: mov bx, 0x1000
            0x8E, 0xC3,                    // inner: mov es, bx
            0x26, 0xFE, 0x06, 0x00, 0x00,  // inc byte [es:0]
            0x26, 0x89, 0x36, 0x10, 0x00,  // mov [es:0x10], si
            0x81, 0xC3, 0x00, 0x01,        // add bx, 0x100
            0x81, 0xFB, 0x00, 0xA0,        // cmp bx, 0xa000
            0x72, 0xEA,                    // jb inner
            0x46,                          // inc si
            0xEB, 0xE4,                    // jmp outer
        };
        std::copy(std::begin(code), std::end(code), img.begin() + 0x1E000);
        const uint8_t reset[] = {0xEA, 0x00, 0xE0, 0x00, 0xF0};  // jmp far F000:E000
        std::copy(std::begin(reset), std::end(reset), img.begin() + 0x1FFF0);
        // One file per process: ctest runs the tests of this file in parallel processes.
        const std::string p =
            ::testing::TempDir() + "/vx86_migration_fw." + std::to_string(::getpid()) + ".bin";
        std::ofstream(p, std::ios::binary).write(reinterpret_cast<const char*>(img.data()),
                                                 static_cast<std::streamsize>(img.size()));
        return p;
    }();
    return path;
}

std::unique_ptr<Board> make_board(uint64_t ram = 16ull << 20) {
    BoardConfig c;
    c.ram_bytes = ram;
    c.bios_path = firmware_path();
    auto b = Board::create(c);
    if (!b) {
        ADD_FAILURE() << b.message();
        std::abort();  // every test needs its boards
    }
    return std::move(*b);
}

struct Pair {
    int src = -1, dst = -1;
    Pair() {
        int fds[2];
        EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
        src = fds[0];
        dst = fds[1];
    }
};

// The destination in a thread: receives into `board`, closes its end, keeps the result.
struct Destination {
    std::unique_ptr<Board> board;
    base::Status result;
    std::thread thread;
    Destination(std::unique_ptr<Board> b, int fd) : board(std::move(b)) {
        thread = std::thread([this, fd] {
            result = receive_migration(*board, fd);
            ::close(fd);
        });
    }
    void join() {
        if (thread.joinable()) thread.join();
    }
    ~Destination() { join(); }
};

// Runs the source until the migration ends: one window per step, `guest_insns` of guest between
// steps while `guest_runs` says so.
MigrationStatus drive(Board& src, MigrationSource& m, uint64_t guest_insns,
                      const std::function<bool(const MigrationInfo&)>& guest_runs) {
    for (int i = 0; i < 100000; ++i) {
        const MigrationStatus s = m.step(0);
        if (s != MigrationStatus::Setup && s != MigrationStatus::Active) return s;
        if (guest_runs(m.info())) src.run(guest_insns);
    }
    ADD_FAILURE() << "the migration never ended";
    return m.info().status;
}

MigrationParameters never_converges_while_running() {
    MigrationParameters p;
    p.downtime_limit_ms = 0;  // converges only on a pass the guest did not dirty
    return p;
}

TEST(Migration, PrecopyPassesThenStopAndCopyGiveTheSourceState) {
    auto src = make_board();
    src->run(5000);
    Pair sp;
    Destination dst(make_board(), sp.dst);
    MigrationSource m(*src, sp.src, never_converges_while_running());
    // The guest runs during the first three passes, then stops dirtying: pass 4 converges.
    const auto s = drive(*src, m, 700, [](const MigrationInfo& i) { return i.passes < 3; });
    dst.join();
    ASSERT_EQ(s, MigrationStatus::Completed) << m.info().error;
    ASSERT_TRUE(dst.result) << dst.result.message();
    EXPECT_EQ(m.info().passes, 4u);
    EXPECT_GT(m.info().pages_sent, 144u) << "pages dirtied after the bulk pass were not resent";
    EXPECT_EQ(m.info().switchover_icount, src->vcpu().state().icount);
    EXPECT_FALSE(src->dirty_logging()) << "the source kept logging after the migration";
    EXPECT_EQ(save_machine(*dst.board), save_machine(*src));
    // Both go on identically.
    src->run(50000);
    dst.board->run(50000);
    EXPECT_EQ(save_machine(*dst.board), save_machine(*src));
}

TEST(Migration, GuestRunningUntilTheSwitchoverStillArrivesWhole) {
    // Converges while the guest keeps running: the final stop-and-copy carries what it dirtied.
    auto src = make_board();
    Pair sp;
    Destination dst(make_board(), sp.dst);
    MigrationParameters p;
    p.downtime_limit_ms = 10'000;
    MigrationSource m(*src, sp.src, p);
    const auto s = drive(*src, m, 700, [](const MigrationInfo&) { return true; });
    dst.join();
    ASSERT_EQ(s, MigrationStatus::Completed) << m.info().error;
    ASSERT_TRUE(dst.result) << dst.result.message();
    EXPECT_EQ(save_machine(*dst.board), save_machine(*src));
}

TEST(Migration, DifferentDestinationIsRefusedEarlyAndTheSourceGoesOn) {
    auto src = make_board();
    src->run(3000);
    const auto before = save_machine(*src);
    Pair sp;
    Destination dst(make_board(32ull << 20), sp.dst);
    MigrationSource m(*src, sp.src, {});
    EXPECT_EQ(m.step(50), MigrationStatus::Failed);
    dst.join();
    EXPECT_FALSE(dst.result);
    EXPECT_NE(m.info().error.find("refused"), std::string::npos) << m.info().error;
    EXPECT_NE(m.info().error.find("ram=16777216"), std::string::npos) << m.info().error;
    EXPECT_EQ(m.info().pages_sent, 0u) << "RAM was sent before the destination accepted";
    EXPECT_EQ(save_machine(*src), before);
    EXPECT_FALSE(src->dirty_logging());
}

// Forwards src->dst bytes through this process, letting `tamper` edit them, and the
// destination's answers back. When `tamper` returns false the destination "dies": both
// connections close at once, so the source hears nothing more.
struct Proxy {
    Pair to_proxy, to_dst;
    std::thread fwd, back;
    Proxy(std::function<bool(uint64_t offset, std::vector<uint8_t>& chunk)> tamper) {
        fwd = std::thread([this, tamper] {
            std::vector<uint8_t> buf(32 * 1024);
            uint64_t off = 0;
            for (;;) {
                const ssize_t r = ::read(to_proxy.dst, buf.data(), buf.size());
                if (r <= 0) break;
                std::vector<uint8_t> chunk(buf.begin(), buf.begin() + r);
                if (!tamper(off, chunk)) {
                    ::shutdown(to_proxy.dst, SHUT_RDWR);
                    break;
                }
                off += static_cast<uint64_t>(r);
                if (!send_all(to_dst.src, chunk)) break;
            }
            ::shutdown(to_dst.src, SHUT_RDWR);
        });
        back = std::thread([this] {
            std::vector<uint8_t> buf(4096);
            for (;;) {
                const ssize_t r = ::read(to_dst.src, buf.data(), buf.size());
                if (r <= 0) break;
                if (!send_all(to_proxy.dst, std::span(buf.data(), static_cast<size_t>(r)))) break;
            }
            ::shutdown(to_proxy.dst, SHUT_RDWR);
        });
    }
    ~Proxy() {
        fwd.join();
        back.join();
        ::close(to_proxy.dst);
        ::close(to_dst.src);
    }
};

TEST(Migration, DestinationGoneMidStreamFailsAndTheSourceGoesOn) {
    auto src = make_board();
    src->run(3000);
    auto reference = make_board();
    reference->run(3000);
    // The destination accepts the setup, then dies 400 KiB into the bulk pass.
    Proxy proxy([](uint64_t off, std::vector<uint8_t>&) { return off < 400 * 1024; });
    Destination dst(make_board(), proxy.to_dst.dst);
    MigrationSource m(*src, proxy.to_proxy.src, {});
    const auto s = drive(*src, m, 500, [](const MigrationInfo&) { return true; });
    dst.join();
    EXPECT_EQ(s, MigrationStatus::Failed);
    EXPECT_GT(m.info().pages_sent, 0u);
    EXPECT_NE(m.info().error.find("closed the connection"), std::string::npos) << m.info().error;
    EXPECT_FALSE(src->dirty_logging());
    // The source guest is unaffected: it continues exactly like a board that never migrated.
    const uint64_t ran = src->vcpu().state().icount - reference->vcpu().state().icount;
    reference->run(ran);
    EXPECT_EQ(save_machine(*src), save_machine(*reference));
}

TEST(Migration, FlippedByteIsRefusedByTheDestinationWhichSaysWhy) {
    auto src = make_board();
    src->run(3000);
    Proxy proxy([](uint64_t off, std::vector<uint8_t>& c) {
        const uint64_t at = 200 * 1024;
        if (at >= off && at < off + c.size()) c[at - off] ^= 0x10;
        return true;
    });
    Destination dst(make_board(), proxy.to_dst.dst);
    MigrationSource m(*src, proxy.to_proxy.src, {});
    const auto s = drive(*src, m, 500, [](const MigrationInfo&) { return true; });
    dst.join();
    EXPECT_EQ(s, MigrationStatus::Failed);
    ASSERT_FALSE(dst.result);
    EXPECT_NE(dst.result.message().find("CRC mismatch"), std::string::npos) << dst.result.message();
    EXPECT_NE(m.info().error.find("CRC mismatch"), std::string::npos) << m.info().error;
    // The refused destination is back at power-on.
    EXPECT_EQ(save_machine(*dst.board), save_machine(*make_board()));
}

TEST(Migration, CancelThenMigrateAgainToAFreshDestination) {
    auto src = make_board();
    src->run(3000);
    {
        Pair sp;
        Destination dst(make_board(), sp.dst);
        MigrationSource m(*src, sp.src, never_converges_while_running());
        for (int i = 0; i < 6; ++i) {
            m.step(0);
            src->run(700);
        }
        m.cancel();
        EXPECT_EQ(m.info().status, MigrationStatus::Cancelled);
        m.cancel();  // a second cancel changes nothing
        EXPECT_EQ(m.info().status, MigrationStatus::Cancelled);
        EXPECT_EQ(m.step(0), MigrationStatus::Cancelled);
        dst.join();
        EXPECT_FALSE(dst.result);
        EXPECT_NE(dst.result.message().find("truncated"), std::string::npos) << dst.result.message();
        EXPECT_FALSE(src->dirty_logging());
    }
    src->run(2000);
    Pair sp;
    Destination dst(make_board(), sp.dst);
    MigrationSource m(*src, sp.src, never_converges_while_running());
    const auto s = drive(*src, m, 700, [](const MigrationInfo& i) { return i.passes < 2; });
    dst.join();
    ASSERT_EQ(s, MigrationStatus::Completed) << m.info().error;
    EXPECT_EQ(save_machine(*dst.board), save_machine(*src));
}

TEST(Migration, MultiHopChainEndsWhereTheUninterruptedRunDoes) {
    auto a = make_board();
    auto reference = make_board();
    std::unique_ptr<Board> current = std::move(a);
    for (int hop = 0; hop < 3; ++hop) {
        current->run(4000 + 1000 * hop);
        Pair sp;
        Destination dst(make_board(), sp.dst);
        MigrationSource m(*current, sp.src, never_converges_while_running());
        const auto s = drive(*current, m, 600, [](const MigrationInfo& i) { return i.passes < 2; });
        dst.join();
        ASSERT_EQ(s, MigrationStatus::Completed) << "hop " << hop << ": " << m.info().error;
        ASSERT_TRUE(dst.result) << dst.result.message();
        current = std::move(dst.board);
    }
    current->run(10000);
    reference->run(current->vcpu().state().icount);
    EXPECT_EQ(save_machine(*current), save_machine(*reference));
}

TEST(Migration, NonConvergenceGivesUpAfterMaxPasses) {
    auto src = make_board();
    Pair sp;
    Destination dst(make_board(), sp.dst);
    MigrationParameters p = never_converges_while_running();
    p.max_passes = 3;
    MigrationSource m(*src, sp.src, p);
    const auto s = drive(*src, m, 700, [](const MigrationInfo&) { return true; });
    dst.join();
    EXPECT_EQ(s, MigrationStatus::Failed);
    EXPECT_EQ(m.info().passes, 3u);
    EXPECT_NE(m.info().error.find("did not converge after 3 passes"), std::string::npos) << m.info().error;
    EXPECT_GT(m.info().remaining_pages, 0u);
    EXPECT_FALSE(src->dirty_logging());
}

TEST(Migration, AutoConvergeRaisesTheThrottle) {
    auto src = make_board();
    Pair sp;
    Destination dst(make_board(), sp.dst);
    MigrationParameters p = never_converges_while_running();
    p.auto_converge = true;
    p.max_passes = 7;
    MigrationSource m(*src, sp.src, p);
    const uint64_t full = m.guest_slice_ms();
    std::vector<uint64_t> throttle;
    uint64_t seen = 0;
    for (int i = 0; i < 100000 && m.step(0) == MigrationStatus::Active; ++i) {
        if (m.info().passes != seen) throttle.push_back(m.info().throttle_percent), seen = m.info().passes;
        src->run(2000);
    }
    dst.join();
    // Every pass re-dirties all 144 pages, more than half of what a pass sends after the bulk:
    // QEMU's rule throttles at the second such pass (pass 3), then adds the increment.
    ASSERT_GE(throttle.size(), 5u);
    EXPECT_EQ(throttle[1], 0u);
    EXPECT_EQ(throttle[2], 20u);
    EXPECT_EQ(throttle[4], 30u);
    EXPECT_LT(m.guest_slice_ms(), full);
}

TEST(Migration, GarbageInsteadOfAStreamIsRefused) {
    auto dst = make_board();
    const auto fresh = save_machine(*dst);
    std::vector<uint8_t> answers;
    const ReplySink sink = [&](std::span<const uint8_t> b) { answers.insert(answers.end(), b.begin(), b.end()); };
    // A snapshot file is not a stream; a QEMU stream is not a vx86 one.
    auto file = save_machine(*make_board());
    SpanSource in1(file);
    auto st = receive_migration(*dst, in1, sink);
    ASSERT_FALSE(st);
    EXPECT_NE(st.message().find("not a migration stream"), std::string::npos) << st.message();
    const uint8_t qevm[] = {'Q', 'E', 'V', 'M', 0, 0, 0, 3};
    SpanSource in2(qevm);
    st = receive_migration(*dst, in2, sink);
    ASSERT_FALSE(st);
    EXPECT_NE(st.message().find("not a vx86 snapshot"), std::string::npos) << st.message();
    EXPECT_FALSE(answers.empty()) << "the source was not told";
    EXPECT_EQ(save_machine(*dst), fresh);
}

}  // namespace
}  // namespace vx86::state
