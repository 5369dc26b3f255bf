// The monitor's command language: parsing one line, HMP sizes, and the migration parameter and
// capability rules (QEMU's names and ranges; a bad value changes nothing).
#include "monitor_command.h"

#include <gtest/gtest.h>

namespace vx86::cli {
namespace {

MonitorCommand parse_ok(const char* line) {
    auto c = parse_monitor_command(line);
    EXPECT_TRUE(c) << line << ": " << c.message();
    return c ? *c : MonitorCommand{};
}

std::string parse_error(const char* line) {
    auto c = parse_monitor_command(line);
    EXPECT_FALSE(c) << line;
    return c.message();
}

TEST(MonitorCommand, Verbs) {
    EXPECT_EQ(parse_ok("").verb, MonitorVerb::None);
    EXPECT_EQ(parse_ok("   \t").verb, MonitorVerb::None);
    EXPECT_EQ(parse_ok("help").verb, MonitorVerb::Help);
    EXPECT_EQ(parse_ok("info").verb, MonitorVerb::Info);
    EXPECT_EQ(parse_ok("info status").verb, MonitorVerb::InfoStatus);
    EXPECT_EQ(parse_ok("  info   migrate ").verb, MonitorVerb::InfoMigrate);
    EXPECT_EQ(parse_ok("info migrate_parameters").verb, MonitorVerb::InfoMigrateParameters);
    EXPECT_EQ(parse_ok("info migrate_capabilities").verb, MonitorVerb::InfoMigrateCapabilities);
    EXPECT_EQ(parse_ok("info registers").verb, MonitorVerb::InfoRegisters);
    EXPECT_EQ(parse_ok("migrate_cancel").verb, MonitorVerb::MigrateCancel);
    EXPECT_EQ(parse_ok("stop").verb, MonitorVerb::Stop);
    EXPECT_EQ(parse_ok("cont").verb, MonitorVerb::Cont);
    EXPECT_EQ(parse_ok("c").verb, MonitorVerb::Cont);
    EXPECT_EQ(parse_ok("quit").verb, MonitorVerb::Quit);
    EXPECT_EQ(parse_ok("q").verb, MonitorVerb::Quit);
}

TEST(MonitorCommand, Migrate) {
    MonitorCommand c = parse_ok("migrate tcp:127.0.0.1:4444");
    EXPECT_EQ(c.verb, MonitorVerb::Migrate);
    EXPECT_FALSE(c.detach);
    EXPECT_EQ(c.uri, "tcp:127.0.0.1:4444");
    c = parse_ok("migrate -d file:/tmp/x.snap");
    EXPECT_TRUE(c.detach);
    EXPECT_EQ(c.uri, "file:/tmp/x.snap");
    EXPECT_NE(parse_error("migrate").find("usage"), std::string::npos);
    EXPECT_NE(parse_error("migrate -d").find("usage"), std::string::npos);
    EXPECT_NE(parse_error("migrate -r tcp:a:1").find("'-r'"), std::string::npos);
    EXPECT_NE(parse_error("migrate tcp:a:1 extra").find("usage"), std::string::npos);
}

TEST(MonitorCommand, SetParameterKeepsNameAndValue) {
    MonitorCommand c = parse_ok("migrate_set_parameter downtime-limit 100");
    EXPECT_EQ(c.verb, MonitorVerb::MigrateSetParameter);
    EXPECT_EQ(c.name, "downtime-limit");
    EXPECT_EQ(c.value, "100");
    c = parse_ok("migrate_set_capability auto-converge on");
    EXPECT_EQ(c.verb, MonitorVerb::MigrateSetCapability);
    EXPECT_EQ(c.name, "auto-converge");
    EXPECT_EQ(c.value, "on");
    EXPECT_NE(parse_error("migrate_set_parameter downtime-limit").find("usage"), std::string::npos);
    EXPECT_NE(parse_error("migrate_set_capability auto-converge on x").find("usage"),
              std::string::npos);
}

TEST(MonitorCommand, UnknownCommandsSayWhatQemuSays) {
    EXPECT_EQ(parse_error("frobnicate"), "unknown command: 'frobnicate'");
    EXPECT_EQ(parse_error("frobnicate now"), "unknown command: 'frobnicate'");
    EXPECT_EQ(parse_error("info nonsense"), "unknown command: 'info nonsense'");
    EXPECT_NE(parse_error("stop now").find("extraneous"), std::string::npos);
    EXPECT_NE(parse_error("info status please").find("extraneous"), std::string::npos);
}

TEST(MonitorCommand, SizesAreMiBUnlessSuffixed) {
    EXPECT_EQ(*parse_size_mib("0"), 0u);
    EXPECT_EQ(*parse_size_mib("1"), 1ull << 20);
    EXPECT_EQ(*parse_size_mib("32"), 32ull << 20);
    EXPECT_EQ(*parse_size_mib("100b"), 100u);
    EXPECT_EQ(*parse_size_mib("100B"), 100u);
    EXPECT_EQ(*parse_size_mib("512k"), 512ull << 10);
    EXPECT_EQ(*parse_size_mib("512K"), 512ull << 10);
    EXPECT_EQ(*parse_size_mib("3M"), 3ull << 20);
    EXPECT_EQ(*parse_size_mib("2g"), 2ull << 30);
    EXPECT_EQ(*parse_size_mib("1T"), 1ull << 40);
    EXPECT_EQ(*parse_size_mib("0x10"), 16ull << 20);
    for (const char* bad : {"", "M", "-1", "+1", "1.5", "1X", "1 M", "lots", "99999999999999999999",
                            "17592186044416"})  // the last: 2^44 MiB overflows 64 bits
        EXPECT_FALSE(parse_size_mib(bad)) << bad;
}

TEST(MonitorCommand, ParametersTakeQemuNamesAndRanges) {
    MigrationParameters p;
    ASSERT_TRUE(set_migration_parameter(p, "downtime-limit", "100"));
    EXPECT_EQ(p.downtime_limit_ms, 100u);
    ASSERT_TRUE(set_migration_parameter(p, "downtime-limit", "2000000"));
    EXPECT_EQ(p.downtime_limit_ms, 2000000u);
    ASSERT_TRUE(set_migration_parameter(p, "max-bandwidth", "8"));
    EXPECT_EQ(p.max_bandwidth, 8ull << 20);
    ASSERT_TRUE(set_migration_parameter(p, "max-bandwidth", "200k"));
    EXPECT_EQ(p.max_bandwidth, 200ull << 10);
    ASSERT_TRUE(set_migration_parameter(p, "x-max-passes", "5"));
    EXPECT_EQ(p.max_passes, 5u);
    ASSERT_TRUE(set_migration_parameter(p, "cpu-throttle-initial", "30"));
    EXPECT_EQ(p.cpu_throttle_initial, 30u);
    ASSERT_TRUE(set_migration_parameter(p, "cpu-throttle-increment", "5"));
    EXPECT_EQ(p.cpu_throttle_increment, 5u);
    ASSERT_TRUE(set_migration_parameter(p, "max-cpu-throttle", "80"));
    EXPECT_EQ(p.max_cpu_throttle, 80u);
}

TEST(MonitorCommand, BadParameterValuesChangeNothing) {
    const MigrationParameters before = [] {
        MigrationParameters p;
        p.downtime_limit_ms = 123;
        p.max_bandwidth = 456;
        p.max_passes = 7;
        return p;
    }();
    const std::pair<const char*, const char*> bad[] = {
        {"downtime-limit", "2000001"},   {"downtime-limit", "-1"},
        {"downtime-limit", "ten"},       {"downtime-limit", "10ms"},
        {"max-bandwidth", "fast"},       {"max-bandwidth", "-5"},
        {"x-max-passes", "4294967296"},  {"x-max-passes", "1.5"},
        {"cpu-throttle-initial", "0"},   {"cpu-throttle-initial", "100"},
        {"cpu-throttle-increment", "0"}, {"max-cpu-throttle", "100"},
        {"downtime_limit", "10"},        {"xbzrle-cache-size", "1"},
    };
    for (const auto& [name, value] : bad) {
        MigrationParameters p = before;
        const Status st = set_migration_parameter(p, name, value);
        EXPECT_FALSE(st) << name << " " << value;
        EXPECT_EQ(st.message().rfind("Error: ", 0), 0u) << st.message();
        EXPECT_EQ(p.downtime_limit_ms, before.downtime_limit_ms) << name;
        EXPECT_EQ(p.max_bandwidth, before.max_bandwidth) << name;
        EXPECT_EQ(p.max_passes, before.max_passes) << name;
        EXPECT_EQ(p.cpu_throttle_initial, before.cpu_throttle_initial) << name;
        EXPECT_EQ(p.cpu_throttle_increment, before.cpu_throttle_increment) << name;
        EXPECT_EQ(p.max_cpu_throttle, before.max_cpu_throttle) << name;
    }
}

TEST(MonitorCommand, Capabilities) {
    MigrationParameters p;
    ASSERT_TRUE(set_migration_capability(p, "auto-converge", "on"));
    EXPECT_TRUE(p.auto_converge);
    ASSERT_TRUE(set_migration_capability(p, "auto-converge", "off"));
    EXPECT_FALSE(p.auto_converge);
    p.auto_converge = true;
    EXPECT_FALSE(set_migration_capability(p, "auto-converge", "yes"));
    EXPECT_FALSE(set_migration_capability(p, "xbzrle", "on"));
    EXPECT_TRUE(p.auto_converge);
}

}  // namespace
}  // namespace vx86::cli
