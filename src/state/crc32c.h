// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78; the iSCSI/ext4/SCTP checksum), the
// checksum of every snapshot record. Debian ships no C/C++ CRC-32C library, hence this one.
#pragma once

#include <cstdint>
#include <span>

namespace vx86::state {

// Continues `crc` (0 to start) over `bytes`; crc32c("123456789") == 0xE3069283.
uint32_t crc32c(std::span<const uint8_t> bytes, uint32_t crc = 0);

// The two implementations behind crc32c(), exposed so that tests check both on any host.
namespace detail {
bool crc32c_have_sse42();
uint32_t crc32c_table(std::span<const uint8_t> bytes, uint32_t crc = 0);
uint32_t crc32c_sse42(std::span<const uint8_t> bytes, uint32_t crc = 0);  // table if no SSE4.2
}  // namespace detail

}  // namespace vx86::state
