#include "state/fd_transport.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include <fmt/format.h>

namespace vx86::state {

using base::ErrorCode;
using base::Status;

bool readable(int fd, int timeout_ms) {
    pollfd p{fd, POLLIN, 0};
    for (;;) {
        const int r = poll(&p, 1, timeout_ms);
        if (r < 0 && errno == EINTR) continue;
        return r > 0;
    }
}

base::Result<std::span<const uint8_t>> FdSource::take(uint64_t n) {
    m_buf.resize(n);
    uint64_t got = 0;
    while (got < n) {
        if (m_timeout_ms >= 0 && !readable(m_fd, m_timeout_ms))
            return {ErrorCode::Io, fmt::format("no data from the peer for {} s", m_timeout_ms / 1000.0)};
        const ssize_t r = ::read(m_fd, m_buf.data() + got, n - got);
        if (r < 0) {
            if (errno == EINTR) continue;
            return {ErrorCode::Io, fmt::format("connection: {}", std::strerror(errno))};
        }
        if (r == 0) break;  // end of stream: the caller sees fewer bytes
        got += static_cast<uint64_t>(r);
    }
    m_offset += got;
    return std::span<const uint8_t>(m_buf.data(), got);
}

Status send_all(int fd, std::span<const uint8_t> bytes) {
    size_t done = 0;
    bool socket = true;
    while (done < bytes.size()) {
        ssize_t r = socket ? ::send(fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL)
                           : ::write(fd, bytes.data() + done, bytes.size() - done);
        if (r < 0 && socket && errno == ENOTSOCK) {
            socket = false;
            continue;
        }
        if (r < 0) {
            if (errno == EINTR) continue;
            if (errno == EPIPE || errno == ECONNRESET)
                return {ErrorCode::Io, "the destination closed the connection"};
            return {ErrorCode::Io, fmt::format("connection: {}", std::strerror(errno))};
        }
        done += static_cast<size_t>(r);
    }
    return Status::ok();
}

}  // namespace vx86::state
