// Bit and byte helpers shared by every layer: masks by operand size, sign extension, parity,
// unaligned little-endian loads/stores. All constexpr and allocation-free.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>

static_assert(std::endian::native == std::endian::little, "vx86 assumes a little-endian host");

namespace vx86::base {

constexpr uint64_t bit(unsigned n) { return uint64_t{1} << n; }

// Mask of the low `bytes*8` bits; bytes in {1,2,4,8}.
constexpr uint64_t size_mask(unsigned bytes) {
    return bytes >= 8 ? ~uint64_t{0} : (uint64_t{1} << (bytes * 8)) - 1;
}

constexpr uint64_t sign_bit(unsigned bytes) { return uint64_t{1} << (bytes * 8 - 1); }

constexpr int64_t sign_extend(uint64_t v, unsigned bits) {
    const unsigned s = 64 - bits;
    return static_cast<int64_t>(v << s) >> s;
}

constexpr bool parity_even(uint8_t v) { return (std::popcount(v) & 1) == 0; }

template <typename T>
inline T load_le(const void* p) {
    T v;
    std::memcpy(&v, p, sizeof(T));
    return v;
}

template <typename T>
inline void store_le(void* p, T v) {
    std::memcpy(p, &v, sizeof(T));
}

constexpr uint64_t page_base(uint64_t a) { return a & ~uint64_t{0xfff}; }
constexpr uint64_t page_offset(uint64_t a) { return a & 0xfff; }
constexpr uint64_t kPageSize = 4096;

}  // namespace vx86::base
