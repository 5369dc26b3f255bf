// Live migration through the public API: Machine::migrate on one machine, migrate_incoming on
// another, a socketpair between them; the serial output of the two halves is the uninterrupted
// run's output.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <thread>

#include "vx86/machine.h"

namespace vx86 {
namespace {

MachineConfig config(std::string* serial) {
    MachineConfig c;
    c.ram_bytes = 16ull << 20;
    c.kernel_path = std::string(VX86_GUEST_DIR) + "/tests/exceptions.elf";
    c.debug_exit = true;
    c.debug_exit_iobase = 0xf4;
    c.debug_exit_iosize = 4;
    c.serial_out = [serial](uint8_t b) { serial->push_back(static_cast<char>(b)); };
    return c;
}

std::unique_ptr<Machine> make(std::string* serial) {
    auto m = Machine::create(config(serial));
    EXPECT_TRUE(m) << m.message();
    return m ? std::move(*m) : nullptr;
}

TEST(MachineMigration, TwoHalvesPrintWhatOneRunPrints) {
    std::string whole, first, second;
    auto reference = make(&whole);
    const MachineResult ref = reference->run();
    ASSERT_EQ(ref.outcome, MachineOutcome::DebugExit);

    auto src = make(&first);
    auto dst = make(&second);
    src->run(ref.instructions / 3);
    int fds[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    Status incoming;
    std::thread t([&] { incoming = dst->migrate_incoming(fds[1]); });
    auto m = src->migrate(fds[0], MigrationParameters{});
    ASSERT_TRUE(m) << m.message();
    // A second migration of the same machine is refused while the first is active.
    int spare[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, spare), 0);
    auto second_try = src->migrate(spare[0], MigrationParameters{});
    EXPECT_FALSE(second_try);
    ::close(spare[1]);
    while ((*m)->step(20) == MigrationStatus::Active || (*m)->info().status == MigrationStatus::Setup)
        src->run(2000);
    t.join();
    ASSERT_EQ((*m)->info().status, MigrationStatus::Completed) << (*m)->info().error;
    ASSERT_TRUE(incoming) << incoming.message();
    EXPECT_STREQ(migration_status_name((*m)->info().status), "completed");
    EXPECT_GE((*m)->info().passes, 1u);
    EXPECT_EQ((*m)->info().total_pages, 4096u);
    const MachineResult rest = dst->run();
    EXPECT_EQ(rest.outcome, ref.outcome);
    EXPECT_EQ(rest.exit_status, ref.exit_status);
    EXPECT_EQ(first + second, whole);
    // The machine that has run is no migration target.
    int more[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, more), 0);
    const Status again = dst->migrate_incoming(more[1]);
    EXPECT_FALSE(again);
    EXPECT_EQ(again.code(), ErrorCode::State);
    ::close(more[0]);
}

}  // namespace
}  // namespace vx86
