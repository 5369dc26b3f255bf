// The tcp:HOST:PORT addresses of -incoming and `migrate`, and a real loopback connection through
// tcp_listen / tcp_connect / tcp_accept_one.
#include "net.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

namespace vx86::cli {
namespace {

TEST(TcpAddress, Spellings) {
    auto a = parse_tcp_address("127.0.0.1:4444");
    ASSERT_TRUE(a) << a.message();
    EXPECT_EQ(a->host, "127.0.0.1");
    EXPECT_EQ(a->port, 4444);
    a = parse_tcp_address(":5555");
    ASSERT_TRUE(a);
    EXPECT_EQ(a->host, "");
    EXPECT_EQ(a->port, 5555);
    a = parse_tcp_address("localhost:65535");
    ASSERT_TRUE(a);
    EXPECT_EQ(a->host, "localhost");
    EXPECT_EQ(a->port, 65535);
    a = parse_tcp_address("[::1]:1");
    ASSERT_TRUE(a);
    EXPECT_EQ(a->host, "::1");
    EXPECT_EQ(to_string(*a), "tcp:[::1]:1");
    EXPECT_EQ(to_string(TcpAddress{"localhost", 80}), "tcp:localhost:80");
}

TEST(TcpAddress, BadSpellingsNameTheProblem) {
    const std::pair<const char*, const char*> bad[] = {
        {"", "HOST:PORT"},
        {"localhost", "HOST:PORT"},
        {"localhost:", "not a number"},
        {"host:http", "not a number"},
        {"host:0", "out of range"},
        {"host:65536", "out of range"},
        {"host:-1", "not a number"},
        {"::1:80", "[ADDRESS]"},
        {"[::1]80", "[IPV6]:PORT"},
        {"host:80,ipv4", "options"},
        {"host:123456", "out of range"},
    };
    for (const auto& [text, why] : bad) {
        auto a = parse_tcp_address(text);
        ASSERT_FALSE(a) << text;
        EXPECT_NE(a.message().find(why), std::string::npos) << text << ": " << a.message();
        EXPECT_EQ(a.message().rfind(std::string("tcp:") + text + ":", 0), 0u) << a.message();
    }
}

// A port nobody listens on right now: bind port 0, read it back, close.
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

TEST(Tcp, ListenAcceptConnectOnLoopback) {
    for (const char* host : {"127.0.0.1", "localhost", ""}) {
        const TcpAddress where{host, free_port()};
        auto listeners = tcp_listen(where);
        ASSERT_TRUE(listeners) << listeners.message();
        int accepted = -1;
        std::thread t([&] {
            auto fd = tcp_accept_one(*listeners);
            if (fd) accepted = *fd;
        });
        auto c = tcp_connect(TcpAddress{"127.0.0.1", where.port}, 2000);
        t.join();
        ASSERT_TRUE(c) << host << ": " << c.message();
        ASSERT_GE(accepted, 0) << host;
        ASSERT_EQ(::write(*c, "x", 1), 1);
        char b = 0;
        ASSERT_EQ(::read(accepted, &b, 1), 1);
        EXPECT_EQ(b, 'x');
        ::close(*c);
        ::close(accepted);
    }
}

TEST(Tcp, ErrorsNameTheAddress) {
    const TcpAddress nobody{"127.0.0.1", free_port()};
    auto c = tcp_connect(nobody, 2000);
    ASSERT_FALSE(c);
    EXPECT_NE(c.message().find(to_string(nobody)), std::string::npos) << c.message();
    EXPECT_NE(c.message().find("refused"), std::string::npos) << c.message();

    auto first = tcp_listen(TcpAddress{"127.0.0.1", free_port()});
    ASSERT_TRUE(first) << first.message();
    // The port is taken by a listening socket: a second listen fails (SO_REUSEADDR does not
    // allow two listeners).
    const int fd = first->front();
    sockaddr_in sa{};
    socklen_t len = sizeof sa;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
    const TcpAddress taken{"127.0.0.1", ntohs(sa.sin_port)};
    auto second = tcp_listen(taken);
    ASSERT_FALSE(second);
    EXPECT_NE(second.message().find("cannot listen"), std::string::npos) << second.message();
    for (int f : *first) ::close(f);

    auto unresolved = tcp_connect(TcpAddress{"no-such-host.invalid", 1}, 2000);
    ASSERT_FALSE(unresolved);
    EXPECT_NE(unresolved.message().find("cannot resolve"), std::string::npos)
        << unresolved.message();
}

}  // namespace
}  // namespace vx86::cli
