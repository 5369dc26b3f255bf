// Lazily evaluated arithmetic flags: ALU instructions record operands and result; CF..OF are
// computed only when read. Shifts, multiplies and the rest set RFLAGS directly (op None).
#pragma once

#include <cstdint>

#include "arch/control_regs.h"
#include "base/bits.h"

namespace vx86::cpu {

enum class FlagOp : uint8_t {
    None,   // status flags live in RFLAGS
    Add,    // res = s1 + s2
    Adc,    // res = s1 + s2 + CF
    Sub,    // res = s1 - s2 (also CMP, NEG with s1 = 0)
    Sbb,    // res = s1 - s2 - CF
    Logic,  // CF = OF = 0, AF = 0 (AMD leaves AF undefined; vx86 clears it as hardware does)
    Inc,    // res = s1 + 1 (s2 = 1), CF preserved in RFLAGS
    Dec,    // res = s1 - 1 (s2 = 1), CF preserved in RFLAGS
};

// Added to a FlagOp (never to None): CF and OF were written since and live in RFLAGS, while
// PF/AF/ZF/SF still come from the record. Lets MUL/IMUL and rotates, which define only CF and OF,
// avoid materializing the other four.
constexpr uint8_t kCfOfInRflags = 0x80;

constexpr FlagOp base_op(FlagOp op) { return static_cast<FlagOp>(static_cast<uint8_t>(op) & 0x7f); }
constexpr bool cf_of_in_rflags(FlagOp op) { return static_cast<uint8_t>(op) & kCfOfInRflags; }

struct LazyFlags {
    uint64_t res = 0, s1 = 0, s2 = 0;
    FlagOp op = FlagOp::None;
    uint8_t size = 4;  // operand size in bytes
};

inline uint64_t lazy_cf(const LazyFlags& f, uint64_t rflags) {
    if (cf_of_in_rflags(f.op)) return rflags & arch::Rflags::CF;
    const uint64_t m = base::size_mask(f.size);
    switch (f.op) {
        case FlagOp::Add: return (f.res & m) < (f.s1 & m);
        case FlagOp::Adc: {
            const uint64_t cin = (f.res - f.s1 - f.s2) & 1;
            return cin ? (f.res & m) <= (f.s1 & m) : (f.res & m) < (f.s1 & m);
        }
        case FlagOp::Sub: return (f.s1 & m) < (f.s2 & m);
        case FlagOp::Sbb: {
            const uint64_t cin = (f.s1 - f.s2 - f.res) & 1;
            return cin ? (f.s1 & m) <= (f.s2 & m) : (f.s1 & m) < (f.s2 & m);
        }
        case FlagOp::Logic: return 0;
        case FlagOp::Inc:
        case FlagOp::Dec:
        case FlagOp::None: return rflags & arch::Rflags::CF;
    }
    return 0;
}

inline bool lazy_zf(const LazyFlags& f, uint64_t rflags) {
    if (f.op == FlagOp::None) return rflags & arch::Rflags::ZF;
    return (f.res & base::size_mask(f.size)) == 0;
}

inline bool lazy_sf(const LazyFlags& f, uint64_t rflags) {
    if (f.op == FlagOp::None) return rflags & arch::Rflags::SF;
    return f.res & base::sign_bit(f.size);
}

inline bool lazy_of(const LazyFlags& f, uint64_t rflags) {
    if (cf_of_in_rflags(f.op)) return rflags & arch::Rflags::OF;
    const uint64_t sb = base::sign_bit(f.size);
    switch (f.op) {
        case FlagOp::Add:
        case FlagOp::Adc: return ((f.s1 ^ f.res) & (f.s2 ^ f.res)) & sb;
        case FlagOp::Sub:
        case FlagOp::Sbb: return ((f.s1 ^ f.s2) & (f.s1 ^ f.res)) & sb;
        case FlagOp::Logic: return false;
        case FlagOp::Inc: return (f.res & base::size_mask(f.size)) == sb;
        case FlagOp::Dec: return (f.res & base::size_mask(f.size)) == sb - 1;
        case FlagOp::None: return rflags & arch::Rflags::OF;
    }
    return false;
}

// All of RFLAGS with the status flags materialized.
inline uint64_t materialize_rflags(const LazyFlags& f, uint64_t rflags) {
    if (f.op == FlagOp::None) return rflags;
    using namespace arch::Rflags;
    uint64_t r = rflags & ~STATUS;
    if (lazy_cf(f, rflags)) r |= CF;
    if (base::parity_even(static_cast<uint8_t>(f.res))) r |= PF;
    if (base_op(f.op) != FlagOp::Logic && ((f.s1 ^ f.s2 ^ f.res) & 0x10)) r |= AF;
    if (lazy_zf(f, rflags)) r |= ZF;
    if (lazy_sf(f, rflags)) r |= SF;
    if (lazy_of(f, rflags)) r |= OF;
    return r;
}

}  // namespace vx86::cpu
