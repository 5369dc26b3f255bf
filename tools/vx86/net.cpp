// TCP endpoints for live migration (see net.h).
#include "net.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>

namespace vx86::cli {

namespace {

Status net_error(const TcpAddress& a, const std::string& what, int err) {
    return {ErrorCode::Io, to_string(a) + ": " + what + ": " + std::strerror(err)};
}

using AddrList = std::unique_ptr<addrinfo, decltype(&freeaddrinfo)>;

Result<AddrList> resolve(const TcpAddress& a, bool passive) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
    addrinfo* list = nullptr;
    const std::string port = std::to_string(a.port);
    const int rc =
        getaddrinfo(a.host.empty() ? nullptr : a.host.c_str(), port.c_str(), &hints, &list);
    if (rc != 0)
        return Status(ErrorCode::InvalidArgument,
                      to_string(a) + ": cannot resolve '" + a.host + "': " + gai_strerror(rc));
    return AddrList(list, freeaddrinfo);
}

}  // namespace

Result<TcpAddress> parse_tcp_address(const std::string& text) {
    auto bad = [&](const std::string& why) {
        return Status(ErrorCode::InvalidArgument, "tcp:" + text + ": " + why);
    };
    TcpAddress a;
    std::string port;
    if (!text.empty() && text[0] == '[') {
        const auto close = text.find(']');
        if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':')
            return bad("expected [IPV6]:PORT");
        a.host = text.substr(1, close - 1);
        port = text.substr(close + 2);
    } else {
        const auto colon = text.rfind(':');
        if (colon == std::string::npos) return bad("expected HOST:PORT");
        a.host = text.substr(0, colon);
        port = text.substr(colon + 1);
        if (a.host.find(':') != std::string::npos) return bad("write an IPv6 host as [ADDRESS]");
    }
    if (a.host.find(',') != std::string::npos || port.find(',') != std::string::npos)
        return bad("socket options (,...) are not supported by vx86");
    if (port.empty() || port.find_first_not_of("0123456789") != std::string::npos)
        return bad("port '" + port + "' is not a number");
    const unsigned long n = port.size() > 5 ? 0 : std::strtoul(port.c_str(), nullptr, 10);
    if (n == 0 || n > 65535) return bad("port " + port + " is out of range (1-65535)");
    a.port = static_cast<uint16_t>(n);
    return a;
}

std::string to_string(const TcpAddress& a) {
    const bool v6 = a.host.find(':') != std::string::npos;
    return "tcp:" + (v6 ? "[" + a.host + "]" : a.host) + ":" + std::to_string(a.port);
}

Result<std::vector<int>> tcp_listen(const TcpAddress& a) {
    auto list = resolve(a, true);
    if (!list) return list.status();
    std::vector<int> fds;
    int last_err = EADDRNOTAVAIL;
    for (addrinfo* ai = list->get(); ai; ai = ai->ai_next) {
        const int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            last_err = errno;
            continue;
        }
        const int one = 1;
        ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        // Each family gets its own socket, so "::" and "0.0.0.0" do not collide.
        if (ai->ai_family == AF_INET6)
            ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
        if (::bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || ::listen(fd, 1) != 0) {
            last_err = errno;
            ::close(fd);
            continue;
        }
        fds.push_back(fd);
    }
    if (fds.empty()) return net_error(a, "cannot listen", last_err);
    return fds;
}

// The stream ends with small records that wait for an answer (the end record, the verdicts):
// without TCP_NODELAY, Nagle's algorithm and delayed ACKs add ~40 ms to every switchover.
static void set_nodelay(int fd) {
    const int one = 1;
    (void)::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

Result<int> tcp_accept_one(const std::vector<int>& listen_fds) {
    std::vector<pollfd> pfds;
    for (int fd : listen_fds) pfds.push_back({fd, POLLIN, 0});
    int conn = -1, err = 0;
    while (conn < 0 && err == 0) {
        if (::poll(pfds.data(), pfds.size(), -1) < 0) {
            if (errno != EINTR) err = errno;
            continue;
        }
        for (const pollfd& p : pfds) {
            if (!(p.revents & POLLIN)) continue;
            conn = ::accept4(p.fd, nullptr, nullptr, SOCK_CLOEXEC);
            if (conn >= 0) break;
            if (errno != EINTR && errno != EAGAIN && errno != ECONNABORTED) err = errno;
        }
    }
    for (int fd : listen_fds) ::close(fd);
    if (conn < 0) return Status(ErrorCode::Io, std::string("accept failed: ") + std::strerror(err));
    set_nodelay(conn);
    return conn;
}

Result<int> tcp_connect(const TcpAddress& a, int timeout_ms) {
    auto list = resolve(a, false);
    if (!list) return list.status();
    int last_err = ECONNREFUSED;
    for (addrinfo* ai = list->get(); ai; ai = ai->ai_next) {
        const int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
                                ai->ai_protocol);
        if (fd < 0) {
            last_err = errno;
            continue;
        }
        int rc = ::connect(fd, ai->ai_addr, ai->ai_addrlen);
        if (rc != 0 && errno == EINPROGRESS) {
            pollfd p{fd, POLLOUT, 0};
            do rc = ::poll(&p, 1, timeout_ms);
            while (rc < 0 && errno == EINTR);
            int so_error = ETIMEDOUT;
            socklen_t len = sizeof so_error;
            if (rc > 0) ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len);
            rc = so_error == 0 ? 0 : -1;
            errno = so_error;
        }
        if (rc == 0) {
            ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
            set_nodelay(fd);
            return fd;
        }
        last_err = errno;
        ::close(fd);
    }
    return net_error(a, "cannot connect", last_err);
}

}  // namespace vx86::cli
