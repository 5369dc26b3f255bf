// The guest run by the command line's loop: slices give what one run gives, monitor commands act
// at slice boundaries (stop/cont, info, migrate file: and tcp:, quit, EOF), -snapshot-at,
// --max-insns and the SIGUSR1 request keep their meaning when the run is sliced.
#include "run_loop.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "monitor.h"
#include "net.h"
#include "session.h"
#include "signal_snapshot.h"

namespace vx86::cli {
namespace {

// alu: about 2.4 million instructions, so a run is a few 1M-instruction slices.
MachineConfig alu_config(std::string* serial) {
    MachineConfig c;
    c.ram_bytes = 16ull << 20;
    c.kernel_path = std::string(VX86_GUEST_DIR) + "/tests/alu.elf";
    c.cpu = "qemu64,+popcnt,+abm,+bmi1";
    c.debug_exit = true;
    c.debug_exit_iobase = 0xf4;
    c.debug_exit_iosize = 4;
    c.serial_out = [serial](uint8_t b) { serial->push_back(static_cast<char>(b)); };
    return c;
}

std::unique_ptr<Machine> make(std::string* serial) {
    auto m = Machine::create(alu_config(serial));
    EXPECT_TRUE(m) << m.message();
    return m ? std::move(*m) : nullptr;
}

// Monitor input that is all there, then EOF (a pipe whose writer has closed).
int input(const std::string& text) {
    int p[2];
    EXPECT_EQ(::pipe(p), 0);
    EXPECT_EQ(::write(p[1], text.data(), text.size()), static_cast<ssize_t>(text.size()));
    ::close(p[1]);
    return p[0];
}

// A FILE* that collects what is written to it.
struct Capture {
    char* buf = nullptr;
    size_t size = 0;
    std::FILE* f = open_memstream(&buf, &size);
    std::string text() {
        std::fflush(f);
        return std::string(buf, size);
    }
    ~Capture() {
        std::fclose(f);
        std::free(buf);
    }
};

struct Reference {
    std::string serial;
    MachineResult result{MachineOutcome::InsnLimit, 0, 0};
};

const Reference& reference() {
    static const Reference ref = [] {
        Reference r;
        auto m = make(&r.serial);
        r.result = m->run();
        return r;
    }();
    return ref;
}

std::string temp_path(const char* name) {
    return (std::filesystem::temp_directory_path() /
            (std::string("vx86_run_loop_") + name + "_" + std::to_string(::getpid())))
        .string();
}

TEST(RunLoop, SlicedRunIsTheSameRun) {
    const Reference& ref = reference();
    ASSERT_EQ(ref.result.outcome, MachineOutcome::DebugExit);
    ASSERT_GT(ref.result.instructions, 2'000'000u) << "the guest no longer spans several slices";
    std::string serial;
    auto m = make(&serial);
    Capture out, log;
    Session s(*m, nullptr, log.f);
    const int fd = input("");
    Monitor mon(s, fd, out.f);
    const RunOutcome o = run_guest(s, &mon, RunPlan{});
    ::close(fd);
    EXPECT_EQ(o.end, RunEnd::Guest);
    EXPECT_EQ(o.result.outcome, ref.result.outcome);
    EXPECT_EQ(o.result.exit_status, ref.result.exit_status);
    EXPECT_EQ(o.result.instructions, ref.result.instructions);
    EXPECT_EQ(serial, ref.serial);
    EXPECT_EQ(out.text(), "");
}

TEST(RunLoop, CommandsRunAtBoundaries) {
    const Reference& ref = reference();
    std::string serial;
    auto m = make(&serial);
    Capture out, log;
    Session s(*m, nullptr, log.f);
    const int fd = input(
        "info status\nstop\ninfo status\nbogus command\ninfo nothing\n\ncont\ninfo status\n"
        "migrate_set_parameter downtime-limit 55\nmigrate_set_parameter downtime-limit x\n"
        "info migrate_parameters\ninfo registers\n");
    Monitor mon(s, fd, out.f);
    const RunOutcome o = run_guest(s, &mon, RunPlan{});
    ::close(fd);
    EXPECT_EQ(o.end, RunEnd::Guest);
    EXPECT_EQ(o.result.instructions, ref.result.instructions);
    EXPECT_EQ(serial, ref.serial);
    const std::string t = out.text();
    EXPECT_EQ(t.rfind("VM status: running\nVM status: paused\nunknown command: 'bogus'\n"
                      "unknown command: 'info nothing'\nVM status: running\nError: parameter "
                      "'downtime-limit' expects an integer from 0 to 2000000, not "
                      "'x'\ndowntime-limit: 55 ms\n",
                      0),
              0u)
        << t;
    // All of it ran before the first slice: the registers are at power-on of the kernel.
    EXPECT_NE(t.find("instructions retired=0\n"), std::string::npos) << t;
    EXPECT_EQ(s.parameters().downtime_limit_ms, 55u);
}

TEST(RunLoop, StoppedGuestEndsWhenTheMonitorCloses) {
    std::string serial;
    auto m = make(&serial);
    Capture out, log;
    Session s(*m, nullptr, log.f);
    const int fd = input("stop\n");
    Monitor mon(s, fd, out.f);
    const RunOutcome o = run_guest(s, &mon, RunPlan{});
    ::close(fd);
    EXPECT_EQ(o.end, RunEnd::Quit);
    EXPECT_EQ(o.result.instructions, 0u);
    EXPECT_EQ(m->vcpu().instructions_retired(), 0u);
}

TEST(RunLoop, QuitEndsAtOnce) {
    std::string serial;
    auto m = make(&serial);
    Capture out, log;
    Session s(*m, nullptr, log.f);
    const int fd = input("q\ninfo status\n");
    Monitor mon(s, fd, out.f);
    const RunOutcome o = run_guest(s, &mon, RunPlan{});
    ::close(fd);
    EXPECT_EQ(o.end, RunEnd::Quit);
    EXPECT_EQ(o.result.instructions, 0u);
    EXPECT_EQ(out.text(), "");  // nothing after quit runs
}

TEST(RunLoop, MigrateToFileStopsTheGuestAndTheFileResumes) {
    const Reference& ref = reference();
    const std::string path = temp_path("migrate_file");
    std::string first, second;
    {
        auto m = make(&first);
        Capture out, log;
        Session s(*m, nullptr, log.f);
        const int fd = input("migrate file:" + path + "\ninfo status\ninfo migrate\n");
        Monitor mon(s, fd, out.f);
        const RunOutcome o = run_guest(s, &mon, RunPlan{});
        ::close(fd);
        EXPECT_EQ(o.end, RunEnd::Quit);
        EXPECT_EQ(s.state(), RunState::PostMigrate);
        const std::string t = out.text();
        EXPECT_NE(t.find("VM status: paused (postmigrate)\nMigration status: completed\n"),
                  std::string::npos)
            << t;
        EXPECT_NE(
            log.text().find("vx86: migration completed: saved to " + path + " at instruction 0"),
            std::string::npos)
            << log.text();
    }
    auto m = make(&second);
    ASSERT_TRUE(m->restore_snapshot_file(path));
    const MachineResult r = m->run();
    EXPECT_EQ(r.exit_status, ref.result.exit_status);
    EXPECT_EQ(first + second, ref.serial);
    std::filesystem::remove(path);
}

// A port nobody listens on right now.
uint16_t free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
    socklen_t len = sizeof sa;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
    ::close(fd);
    return ntohs(sa.sin_port);
}

TEST(RunLoop, MigrateOverTcpHandsTheGuestOver) {
    const Reference& ref = reference();
    std::string first, second;
    auto src = make(&first);
    auto dst = make(&second);
    const TcpAddress where{"127.0.0.1", free_port()};
    auto listeners = tcp_listen(where);
    ASSERT_TRUE(listeners) << listeners.message();
    Status incoming;
    std::thread t([&] {
        auto fd = tcp_accept_one(*listeners);
        incoming = fd ? dst->migrate_incoming(*fd) : fd.status();
    });
    Capture out, log;
    {
        Session s(*src, nullptr, log.f);
        const int fd = input("migrate " + to_string(where) + "\ninfo status\ninfo migrate\n");
        Monitor mon(s, fd, out.f);
        const RunOutcome o = run_guest(s, &mon, RunPlan{});
        ::close(fd);
        t.join();
        EXPECT_EQ(o.end, RunEnd::Quit);
    }
    ASSERT_TRUE(incoming) << incoming.message();
    const std::string text = out.text();
    EXPECT_EQ(text.rfind("VM status: paused (postmigrate)\nMigration status: completed\n", 0), 0u)
        << text;
    const std::string l = log.text();
    EXPECT_NE(l.find("vx86: migration: pass 1: "), std::string::npos) << l;
    EXPECT_NE(l.find("vx86: migration completed: "), std::string::npos) << l;
    const MachineResult r = dst->run();
    EXPECT_EQ(r.exit_status, ref.result.exit_status);
    EXPECT_EQ(first + second, ref.serial);
}

TEST(RunLoop, CancelledMigrationLeavesTheGuestRunning) {
    const Reference& ref = reference();
    std::string first, second;
    auto src = make(&first);
    auto dst = make(&second);
    const TcpAddress where{"127.0.0.1", free_port()};
    auto listeners = tcp_listen(where);
    ASSERT_TRUE(listeners) << listeners.message();
    Status incoming;
    std::thread t([&] {
        auto fd = tcp_accept_one(*listeners);
        incoming = fd ? dst->migrate_incoming(*fd) : fd.status();
    });
    Capture out, log;
    Session s(*src, nullptr, log.f);
    // 1 MiB/s for 16 MiB: the cancel comes long before the end.
    const int fd =
        input("migrate_set_parameter max-bandwidth 1\nmigrate -d " + to_string(where) +
              "\ninfo status\nmigrate_cancel\ninfo migrate\nmigrate_cancel\ninfo status\n");
    Monitor mon(s, fd, out.f);
    const RunOutcome o = run_guest(s, &mon, RunPlan{});
    ::close(fd);
    t.join();
    EXPECT_FALSE(incoming);
    EXPECT_EQ(o.end, RunEnd::Guest);
    EXPECT_EQ(o.result.exit_status, ref.result.exit_status);
    EXPECT_EQ(first, ref.serial);
    EXPECT_EQ(second, "");
    EXPECT_EQ(out.text().rfind(
                  "VM status: running\nMigration status: cancelled (cancelled by the user)\n", 0),
              0u)
        << out.text();
    EXPECT_NE(out.text().find("\nVM status: running\n"), std::string::npos) << out.text();
    EXPECT_EQ(log.text(), "vx86: migration cancelled; the guest keeps running\n");  // once
}

TEST(RunLoop, MigrateToNobodyFailsAndTheGuestRunsOn) {
    const Reference& ref = reference();
    std::string serial;
    auto m = make(&serial);
    Capture out, log;
    Session s(*m, nullptr, log.f);
    const TcpAddress nobody{"127.0.0.1", free_port()};
    const int fd =
        input("migrate -d " + to_string(nobody) + "\ninfo migrate\nmigrate -d unix:/tmp/x\n");
    Monitor mon(s, fd, out.f);
    const RunOutcome o = run_guest(s, &mon, RunPlan{});
    ::close(fd);
    EXPECT_EQ(o.end, RunEnd::Guest);
    EXPECT_EQ(o.result.exit_status, ref.result.exit_status);
    EXPECT_EQ(serial, ref.serial);
    const std::string t = out.text();
    EXPECT_EQ(t.rfind("Error: " + to_string(nobody) +
                          ": cannot connect: Connection refused\n"
                          "Migration status: failed (" +
                          to_string(nobody) + ": cannot connect: Connection refused)\n",
                      0),
              0u)
        << t;
    EXPECT_NE(t.find("Error: migrate: 'unix:/tmp/x' is not in this vx86"), std::string::npos) << t;
    EXPECT_NE(log.text().find("vx86: migration failed: " + to_string(nobody) +
                              ": cannot connect: Connection refused; the guest keeps running\n"),
              std::string::npos)
        << log.text();
}

TEST(RunLoop, SnapshotAtAndBudgetWhenSliced) {
    const Reference& ref = reference();
    const std::string path = temp_path("snapshot_at");
    std::string serial, rest;
    auto m = make(&serial);
    Capture out, log;
    Session s(*m, nullptr, log.f);
    const int fd = input("");
    Monitor mon(s, fd, out.f);
    RunPlan plan;
    plan.snapshot_armed = true;
    plan.snapshot_at = 1'234'567;
    plan.snapshot_file = path;
    plan.max_insns = 1'500'000;
    const RunOutcome o = run_guest(s, &mon, plan);
    ::close(fd);
    EXPECT_EQ(o.end, RunEnd::Budget);
    EXPECT_EQ(o.result.instructions, 1'500'000u);
    auto again = make(&rest);
    ASSERT_TRUE(again->restore_snapshot_file(path));
    EXPECT_EQ(again->vcpu().instructions_retired(), 1'234'567u);
    const MachineResult r = again->run();
    EXPECT_EQ(again->vcpu().instructions_retired(), ref.result.instructions);
    EXPECT_EQ(r.exit_status, ref.result.exit_status);
    std::filesystem::remove(path);
}

TEST(RunLoop, SignalSavesAtTheNextBoundary) {
    const std::string path = temp_path("signal");
    std::string serial;
    auto m = make(&serial);
    Capture log;
    Session s(*m, nullptr, log.f);
    RunPlan plan;
    plan.signal_armed = true;
    plan.signal_file = path;
    plan.signal_exit = true;
    install_snapshot_signal();
    std::raise(SIGUSR1);
    const RunOutcome o = run_guest(s, nullptr, plan);
    EXPECT_EQ(o.end, RunEnd::Snapshot);
    EXPECT_EQ(log.text(), "vx86: snapshot saved to " + path + " at instruction 0\n");
    EXPECT_TRUE(std::filesystem::exists(path));
    EXPECT_FALSE(take_snapshot_signal());  // taken once
    std::signal(SIGUSR1, SIG_DFL);
    std::filesystem::remove(path);
}

}  // namespace
}  // namespace vx86::cli
