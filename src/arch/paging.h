// Page-table entry bits for legacy, PAE and long-mode paging (AMD APM Vol 2, 5.3-5.4).
// Constants only; the walker lives in cpu/mmu.
#pragma once

#include <cstdint>

namespace vx86::arch {

namespace Pte {
constexpr uint64_t P = 1u << 0, RW = 1u << 1, US = 1u << 2, PWT = 1u << 3, PCD = 1u << 4,
                   A = 1u << 5, D = 1u << 6, PS = 1u << 7, G = 1u << 8, PAT_LARGE = 1u << 12;
constexpr uint64_t NX = 1ull << 63;
// Physical address field of a 64-bit entry, for the 52-bit maximum the APM allows.
constexpr uint64_t ADDR_MASK = 0x000ffffffffff000ull;
}  // namespace Pte

// Physical address width vx86 reports in CPUID 0x80000008 and enforces on page tables.
constexpr unsigned kPhysAddrBits = 40;
constexpr unsigned kLinearAddrBits = 48;
constexpr uint64_t kPhysAddrMask = (uint64_t{1} << kPhysAddrBits) - 1;

constexpr bool is_canonical(uint64_t la) {
    return static_cast<uint64_t>((static_cast<int64_t>(la << 16) >> 16)) == la;
}

}  // namespace vx86::arch
