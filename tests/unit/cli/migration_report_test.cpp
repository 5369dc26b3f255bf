// What the command line prints about a migration: `info migrate` (QEMU's fields and units), the
// parameter and capability blocks, and the progress and end lines on stderr.
#include "migration_report.h"

#include <gtest/gtest.h>

namespace vx86::cli {
namespace {

bool has_line(const std::string& text, const std::string& line) {
    return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

MigrationInfo sample() {
    MigrationInfo i;
    i.status = MigrationStatus::Active;
    i.passes = 3;
    i.pages_sent = 1000;
    i.zero_pages = 500;
    i.bytes_sent = (2u << 20) + 500;
    i.total_pages = 32768;
    i.remaining_pages = 10;
    i.dirty_pages_rate = 1234;
    i.bandwidth = 1'000'000;
    i.expected_downtime_ms = 42;
    i.throttle_percent = 20;
    i.total_time_ms = 1500;
    i.downtime_ms = 0;
    return i;
}

TEST(MigrationReport, InfoMigrateFields) {
    const std::string t = format_info_migrate(sample());
    for (const char* line :
         {"Migration status: active", "total time: 1500 ms", "expected downtime: 42 ms",
          "downtime: 0 ms", "transferred ram: 2048 kbytes", "throughput: 8.00 mbps",
          "remaining ram: 40 kbytes", "total ram: 131072 kbytes", "duplicate: 500 pages",
          "normal: 1000 pages", "normal bytes: 4000 kbytes", "dirty sync count: 3",
          "page size: 4 kbytes", "dirty pages rate: 1234 pages", "cpu throttle percentage: 20"})
        EXPECT_TRUE(has_line(t, line)) << line << " missing in:\n" << t;
}

TEST(MigrationReport, InfoMigrateStatusAndError) {
    MigrationInfo i = sample();
    i.status = MigrationStatus::Failed;
    i.error = "did not converge after 3 passes";
    EXPECT_TRUE(has_line(format_info_migrate(i),
                         "Migration status: failed (did not converge after 3 passes)"));
    i.status = MigrationStatus::Cancelled;
    i.error = "cancelled by the user";
    EXPECT_TRUE(
        has_line(format_info_migrate(i), "Migration status: cancelled (cancelled by the user)"));
    i.status = MigrationStatus::Completed;
    i.error.clear();
    i.downtime_ms = 7;
    const std::string t = format_info_migrate(i);
    EXPECT_TRUE(has_line(t, "Migration status: completed"));
    EXPECT_TRUE(has_line(t, "downtime: 7 ms"));
    EXPECT_EQ(format_info_migrate(MigrationInfo{}), "Migration status: none\n");
}

TEST(MigrationReport, ParametersAndCapabilities) {
    MigrationParameters p;
    p.downtime_limit_ms = 77;
    p.max_bandwidth = 3 << 20;
    p.max_passes = 9;
    p.cpu_throttle_initial = 30;
    p.cpu_throttle_increment = 15;
    p.max_cpu_throttle = 90;
    const std::string t = format_migrate_parameters(p);
    for (const char* line : {"downtime-limit: 77 ms", "max-bandwidth: 3145728 bytes/second",
                             "cpu-throttle-initial: 30", "cpu-throttle-increment: 15",
                             "max-cpu-throttle: 90", "x-max-passes: 9"})
        EXPECT_TRUE(has_line(t, line)) << line << " missing in:\n" << t;
    EXPECT_EQ(format_migrate_capabilities(p), "auto-converge: off\n");
    p.auto_converge = true;
    EXPECT_EQ(format_migrate_capabilities(p), "auto-converge: on\n");
}

TEST(MigrationReport, ProgressAndEndLines) {
    MigrationInfo i = sample();
    i.bandwidth = 123'456'789;
    EXPECT_EQ(
        format_pass_line(i, 700),
        "vx86: migration: pass 3: 700 pages sent, 10 pages remaining, dirty rate 1234 pages/s, "
        "bandwidth 123.5 MB/s, expected downtime 42 ms\n");
    i.status = MigrationStatus::Completed;
    i.downtime_ms = 9;
    i.bytes_sent = 5u << 20;
    EXPECT_EQ(format_end_line(i),
              "vx86: migration completed: 3 passes, 1500 ms total, downtime 9 ms, 5.0 MiB sent\n");
    i.status = MigrationStatus::Failed;
    i.error = "the destination closed the connection";
    EXPECT_EQ(
        format_end_line(i),
        "vx86: migration failed: the destination closed the connection; the guest keeps running\n");
    i.status = MigrationStatus::Cancelled;
    EXPECT_EQ(format_end_line(i), "vx86: migration cancelled; the guest keeps running\n");
    i.status = MigrationStatus::Active;
    EXPECT_EQ(format_end_line(i), "");
}

}  // namespace
}  // namespace vx86::cli
