// CRC-32C: slicing-by-8 tables built at compile time, and the SSE4.2 CRC32 instruction when the
// host CPU has it (checked once at run time). Both give the same value for any length/alignment.
#include "state/crc32c.h"

#include <array>
#include <bit>
#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace vx86::state {
namespace {

static_assert(std::endian::native == std::endian::little, "the 8-byte step assumes little-endian");

constexpr uint32_t kPoly = 0x82F63B78;  // Castagnoli, bit-reversed

using Tables = std::array<std::array<uint32_t, 256>, 8>;

// tables[0] is the classic byte-at-a-time table; tables[k][b] is the CRC state after byte b is
// followed by k zero bytes, so 8 lookups advance the state over 8 bytes at once.
constexpr Tables make_tables() {
    Tables t{};
    for (uint32_t b = 0; b < 256; ++b) {
        uint32_t c = b;
        for (int i = 0; i < 8; ++i) c = (c & 1) ? (c >> 1) ^ kPoly : c >> 1;
        t[0][b] = c;
    }
    for (size_t k = 1; k < 8; ++k)
        for (uint32_t b = 0; b < 256; ++b) t[k][b] = (t[k - 1][b] >> 8) ^ t[0][t[k - 1][b] & 0xff];
    return t;
}

constexpr Tables kTables = make_tables();

// `state` is the raw register (pre-inverted); callers do the inversion once.
uint32_t update_table(uint32_t state, const uint8_t* p, size_t n) {
    const Tables& t = kTables;
    while (n >= 8) {
        uint64_t v;
        std::memcpy(&v, p, 8);
        v ^= state;
        state = t[7][v & 0xff] ^ t[6][(v >> 8) & 0xff] ^ t[5][(v >> 16) & 0xff] ^
                t[4][(v >> 24) & 0xff] ^ t[3][(v >> 32) & 0xff] ^ t[2][(v >> 40) & 0xff] ^
                t[1][(v >> 48) & 0xff] ^ t[0][v >> 56];
        p += 8;
        n -= 8;
    }
    while (n--) state = (state >> 8) ^ t[0][(state ^ *p++) & 0xff];
    return state;
}

#if defined(__x86_64__)
// The CRC32 instruction implements exactly this polynomial, reflected (Intel SDM Vol. 2A, CRC32).
__attribute__((target("sse4.2"))) uint32_t update_sse42(uint32_t state, const uint8_t* p,
                                                        size_t n) {
    uint64_t s = state;
    while (n >= 8) {
        uint64_t v;
        std::memcpy(&v, p, 8);
        s = _mm_crc32_u64(s, v);
        p += 8;
        n -= 8;
    }
    auto s32 = static_cast<uint32_t>(s);
    while (n--) s32 = _mm_crc32_u8(s32, *p++);
    return s32;
}
#endif

}  // namespace

namespace detail {

bool crc32c_have_sse42() {
#if defined(__x86_64__)
    static const bool yes = [] {
        __builtin_cpu_init();
        return __builtin_cpu_supports("sse4.2") != 0;
    }();
    return yes;
#else
    return false;
#endif
}

uint32_t crc32c_table(std::span<const uint8_t> bytes, uint32_t crc) {
    return ~update_table(~crc, bytes.data(), bytes.size());
}

uint32_t crc32c_sse42(std::span<const uint8_t> bytes, uint32_t crc) {
#if defined(__x86_64__)
    if (crc32c_have_sse42()) return ~update_sse42(~crc, bytes.data(), bytes.size());
#endif
    return crc32c_table(bytes, crc);
}

}  // namespace detail

uint32_t crc32c(std::span<const uint8_t> bytes, uint32_t crc) {
    return detail::crc32c_sse42(bytes, crc);
}

}  // namespace vx86::state
