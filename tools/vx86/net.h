// TCP endpoints for live migration: the `tcp:HOST:PORT` address QEMU's -incoming and `migrate`
// take, and the listen/accept/connect calls on it (getaddrinfo, so names and IPv6 work too).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "vx86/status.h"

namespace vx86::cli {

struct TcpAddress {
    std::string host;  // empty: every local address when listening, loopback when connecting
    uint16_t port = 0;
};

// Parses the part after "tcp:": "HOST:PORT", ":PORT", "[IPV6]:PORT". Port 1..65535.
Result<TcpAddress> parse_tcp_address(const std::string& text);
std::string to_string(const TcpAddress& a);  // "tcp:HOST:PORT" as the user wrote it

// Listening sockets (SO_REUSEADDR) on every address HOST resolves to ("localhost" may be both
// ::1 and 127.0.0.1, and the source may name either); an error only if none could be bound.
Result<std::vector<int>> tcp_listen(const TcpAddress& a);
// Waits for one connection on any of `listen_fds`, then closes them all; a signal does not end
// the wait.
Result<int> tcp_accept_one(const std::vector<int>& listen_fds);
// Connects to `a`, giving up after `timeout_ms`. The socket is blocking again when returned.
Result<int> tcp_connect(const TcpAddress& a, int timeout_ms);

}  // namespace vx86::cli
