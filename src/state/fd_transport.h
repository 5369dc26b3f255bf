// The migration stream's transport: a connected socket (or a pipe) as a ByteSource, and a send
// that reports a closed peer as an error instead of raising SIGPIPE.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "base/result.h"
#include "state/container.h"

namespace vx86::state {

class FdSource final : public ByteSource {
public:
    explicit FdSource(int fd) : m_fd(fd) {}
    // Each read waits at most this long for data (-1: no limit); a timeout is an Io error.
    void set_timeout_ms(int ms) { m_timeout_ms = ms; }
    base::Result<std::span<const uint8_t>> take(uint64_t n) override;
    uint64_t offset() const override { return m_offset; }

private:
    int m_fd;
    int m_timeout_ms = -1;
    uint64_t m_offset = 0;
    std::vector<uint8_t> m_buf;
};

// Writes all of `bytes`; ErrorCode::Io with the reason when the peer is gone.
base::Status send_all(int fd, std::span<const uint8_t> bytes);

// Whether `fd` has data (or EOF) to read within `timeout_ms`.
bool readable(int fd, int timeout_ms);

}  // namespace vx86::state
