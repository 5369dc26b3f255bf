// Segment registers with their hidden descriptor caches, in the VMCB/SMRAM "attrib" packing.
// Also the derived check bounds the access fast path uses (recomputed whenever a segment loads).
#pragma once

#include <cstdint>

#include "arch/descriptor.h"

namespace vx86::cpu {

enum SegReg : uint8_t { ES = 0, CS = 1, SS = 2, DS = 3, FS = 4, GS = 5, kNumSegRegs = 6 };

struct Segment {
    uint16_t selector = 0;
    uint16_t attrib = 0;  // arch::Attr packing (type, S, DPL, P, AVL, L, D/B, G)
    uint32_t limit = 0;   // byte granular (G already applied)
    uint64_t base = 0;

    bool present() const { return attrib & arch::Attr::P; }
    uint8_t dpl() const { return (attrib >> arch::Attr::DPL_SHIFT) & 3; }
    bool db() const { return attrib & arch::Attr::DB; }
    bool l() const { return attrib & arch::Attr::L; }
    uint8_t type() const { return attrib & arch::Attr::TYPE_MASK; }
    bool s() const { return attrib & arch::Attr::S; }
    bool is_code() const { return s() && (type() & 8); }
    bool operator==(const Segment&) const = default;
};

struct DescriptorTable {
    uint64_t base = 0;
    uint32_t limit = 0;
    bool operator==(const DescriptorTable&) const = default;
};

// Offsets [lo, hi] at which a read or write of one byte passes the segment checks; an access of n
// bytes at offset e passes when lo <= e && e + n - 1 <= hi. An empty range (lo > hi) forces the slow
// path, which then raises the precise fault (APM Vol 2, 4.8 "Segment-Protection Overview").
struct SegCheck {
    uint64_t base = 0;
    uint64_t rd_lo = 0, rd_hi = 0;
    uint64_t wr_lo = 0, wr_hi = 0;
};

}  // namespace vx86::cpu
