// The command line options of live migration and on-demand snapshots: -monitor, -incoming tcp:,
// -snapshot-on-signal; each bad spelling is an error naming the option.
#include <gtest/gtest.h>

#include "qemu_options.h"

namespace vx86::cli {
namespace {

Result<Options> parse(std::vector<std::string> extra) {
    std::vector<std::string> args = {"-bios", "fw.bin"};
    args.insert(args.end(), extra.begin(), extra.end());
    return parse_options(args);
}

std::string error_of(std::vector<std::string> extra) {
    auto o = parse(std::move(extra));
    EXPECT_FALSE(o);
    return o ? std::string() : o.message();
}

TEST(Options, Monitor) {
    auto o = parse({});
    ASSERT_TRUE(o) << o.message();
    EXPECT_FALSE(o->monitor_stdio);
    o = parse({"-monitor", "stdio", "-serial", "file:out.log"});
    ASSERT_TRUE(o) << o.message();
    EXPECT_TRUE(o->monitor_stdio);
    o = parse({"-monitor", "stdio", "-monitor", "none"});  // the last one wins, as in QEMU
    ASSERT_TRUE(o) << o.message();
    EXPECT_FALSE(o->monitor_stdio);
    o = parse({"-monitor", "stdio"});  // the serial port defaults to none
    ASSERT_TRUE(o) << o.message();
    EXPECT_TRUE(o->monitor_stdio);
}

TEST(Options, MonitorErrors) {
    for (auto extra :
         std::vector<std::vector<std::string>>{{"-monitor", "stdio", "-serial", "stdio"},
                                               {"-serial", "mon:stdio", "-monitor", "stdio"},
                                               {"-monitor", "stdio", "-nographic"}}) {
        const std::string e = error_of(extra);
        EXPECT_NE(e.find("cannot use stdio by multiple character devices"), std::string::npos) << e;
        EXPECT_EQ(e.rfind("-monitor", 0), 0u) << e;
    }
    for (const char* backend : {"tcp:127.0.0.1:4444,server,nowait", "unix:/tmp/m,server",
                                "telnet::1", "vc", "stdio,foo", ""}) {
        if (!*backend) continue;
        const std::string e = error_of({"-monitor", backend});
        EXPECT_NE(e.find("not in this vx86"), std::string::npos) << backend << ": " << e;
        EXPECT_NE(e.find(backend), std::string::npos) << e;
    }
}

TEST(Options, IncomingTcp) {
    auto o = parse({"-incoming", "tcp:127.0.0.1:4444"});
    ASSERT_TRUE(o) << o.message();
    ASSERT_TRUE(o->incoming_tcp.has_value());
    EXPECT_EQ(o->incoming_tcp->host, "127.0.0.1");
    EXPECT_EQ(o->incoming_tcp->port, 4444);
    EXPECT_TRUE(o->incoming_file.empty());
    o = parse({"-incoming", "tcp::4445"});
    ASSERT_TRUE(o) << o.message();
    EXPECT_EQ(o->incoming_tcp->host, "");
    o = parse({"-incoming", "tcp:localhost:4446", "-snapshot-at", "100,file=x"});
    ASSERT_TRUE(o) << o.message();
    EXPECT_EQ(o->incoming_tcp->port, 4446);
    EXPECT_TRUE(o->snapshot_armed);
    o = parse({"-incoming", "file:/tmp/s"});
    ASSERT_TRUE(o) << o.message();
    EXPECT_EQ(o->incoming_file, "/tmp/s");
    EXPECT_FALSE(o->incoming_tcp.has_value());
}

TEST(Options, IncomingErrors) {
    const std::pair<const char*, const char*> bad[] = {
        {"defer", "not in this vx86"},
        {"unix:/tmp/sock", "not in this vx86"},
        {"exec:cat x", "not in this vx86"},
        {"fd:3", "not in this vx86"},
        {"tcp:", "HOST:PORT"},
        {"tcp:localhost", "HOST:PORT"},
        {"tcp:localhost:port", "not a number"},
        {"tcp:localhost:0", "out of range"},
        {"tcp:localhost:70000", "out of range"},
        {"file:", "PATH"},
    };
    for (const auto& [uri, why] : bad) {
        const std::string e = error_of({"-incoming", uri});
        EXPECT_EQ(e.rfind("-incoming: ", 0), 0u) << e;
        EXPECT_NE(e.find(why), std::string::npos) << uri << ": " << e;
    }
}

TEST(Options, SnapshotOnSignal) {
    auto o = parse({"-snapshot-on-signal", "file=/tmp/s.snap"});
    ASSERT_TRUE(o) << o.message();
    EXPECT_TRUE(o->signal_snapshot_armed);
    EXPECT_EQ(o->signal_snapshot_file, "/tmp/s.snap");
    EXPECT_FALSE(o->signal_snapshot_exit);
    o = parse({"-snapshot-on-signal", "file=a,exit=on"});
    ASSERT_TRUE(o) << o.message();
    EXPECT_TRUE(o->signal_snapshot_exit);
    o = parse({"-snapshot-on-signal", "exit=on,file=b,exit=off"});
    ASSERT_TRUE(o) << o.message();
    EXPECT_FALSE(o->signal_snapshot_exit);
    EXPECT_EQ(o->signal_snapshot_file, "b");
    o = parse({});
    ASSERT_TRUE(o);
    EXPECT_FALSE(o->signal_snapshot_armed);
}

TEST(Options, SnapshotOnSignalErrors) {
    for (const char* v :
         {"exit=on", "file=", "/tmp/x", "file=x,exit=yes", "file=x,when=now", "file=x,,exit=on"}) {
        const std::string e = error_of({"-snapshot-on-signal", v});
        EXPECT_EQ(e.rfind("-snapshot-on-signal: ", 0), 0u) << v << ": " << e;
    }
    const std::string e = error_of({"-snapshot-on-signal"});
    EXPECT_NE(e.find("missing value"), std::string::npos) << e;
}

}  // namespace
}  // namespace vx86::cli
