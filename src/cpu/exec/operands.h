// Operand access for handlers, named after the manual's pseudocode: reg/mem reads and writes by
// size, effective addresses, lazy-flag updates, condition codes, stack push/pop.
#pragma once

#include <cstdint>
#include <cstring>
#include <type_traits>

#include "arch/control_regs.h"
#include "arch/paging.h"
#include "arch/vectors.h"
#include "cpu/exec/cpu.h"

namespace vx86::cpu {

template <unsigned S>
using uint_t = std::conditional_t<S == 1, uint8_t,
               std::conditional_t<S == 2, uint16_t, std::conditional_t<S == 4, uint32_t, uint64_t>>>;
template <unsigned S>
using int_t = std::make_signed_t<uint_t<S>>;

// ---- binding ---------------------------------------------------------------------------------

// The handler `pick.template operator()<S>()` for operand size `size` when it is one of Sizes,
// else nullptr (the dispatcher then binds #UD). Used by every family's binder.
template <unsigned... Sizes, typename Pick>
Handler by_size(unsigned size, Pick&& pick) {
    Handler h = nullptr;
    (void)((size == Sizes ? (h = pick.template operator()<Sizes>(), true) : false) || ...);
    return h;
}

// ---- registers -------------------------------------------------------------------------------

template <unsigned S>
inline uint_t<S> get_reg(const Cpu& c, uint8_t slot) {
    if constexpr (S == 1) {
        uint8_t v;
        std::memcpy(&v, reinterpret_cast<const uint8_t*>(c.s.gpr.data()) + slot, 1);
        return v;
    } else {
        return static_cast<uint_t<S>>(c.s.gpr[slot]);
    }
}

// Writes follow the long-mode rule: 32-bit results zero-extend, 8/16-bit results merge
// (APM Vol 1, 3.1.2.3 "Implicit Zero-Extension").
template <unsigned S>
inline void set_reg(Cpu& c, uint8_t slot, uint_t<S> v) {
    if constexpr (S == 1) {
        std::memcpy(reinterpret_cast<uint8_t*>(c.s.gpr.data()) + slot, &v, 1);
    } else if constexpr (S == 2) {
        c.s.gpr[slot] = (c.s.gpr[slot] & ~uint64_t{0xffff}) | v;
    } else {
        c.s.gpr[slot] = v;
    }
}

inline uint64_t get_reg_sized(const Cpu& c, uint8_t slot, unsigned size) {
    switch (size) {
        case 1: return get_reg<1>(c, slot);
        case 2: return get_reg<2>(c, slot);
        case 4: return get_reg<4>(c, slot);
        default: return get_reg<8>(c, slot);
    }
}

inline void set_reg_sized(Cpu& c, uint8_t slot, unsigned size, uint64_t v) {
    switch (size) {
        case 1: set_reg<1>(c, slot, static_cast<uint8_t>(v)); break;
        case 2: set_reg<2>(c, slot, static_cast<uint16_t>(v)); break;
        case 4: set_reg<4>(c, slot, static_cast<uint32_t>(v)); break;
        default: set_reg<8>(c, slot, v); break;
    }
}

// ---- faults ----------------------------------------------------------------------------------

inline ExecStatus raise(Cpu& c, arch::Vector v) {
    c.s.fault = Fault{static_cast<uint8_t>(v), false, 0, 0};
    return ExecStatus::Fault;
}

inline ExecStatus raise(Cpu& c, arch::Vector v, uint32_t error) {
    c.s.fault = Fault{static_cast<uint8_t>(v), true, error, 0};
    return ExecStatus::Fault;
}

inline ExecStatus raise_ud(Cpu& c) { return raise(c, arch::Vector::UD); }
inline ExecStatus raise_gp0(Cpu& c) { return raise(c, arch::Vector::GP, 0); }

// ---- memory ----------------------------------------------------------------------------------

inline uint64_t effective_address(const Cpu& c, const Insn& in) {
    return (c.s.gpr[in.base] + (c.s.gpr[in.index] << in.scale) + static_cast<uint64_t>(in.disp)) &
           in.amask;
}

// Limit/type violation: #SS(0) for the stack segment, #GP(0) otherwise (APM Vol 2, 4.8.1).
[[gnu::cold]] bool segment_fault(Cpu& c, unsigned seg);
// A failed MMU access through SS reports #SS instead of #GP for non-canonical addresses.
[[gnu::cold]] bool mmu_fault(Cpu& c, unsigned seg);

template <typename T>
inline bool read_mem(Cpu& c, unsigned seg, uint64_t off, T& out) {
    const SegCheck& sc = c.s.segc[seg];
    if (off < sc.rd_lo || off + (sizeof(T) - 1) > sc.rd_hi) [[unlikely]]
        return segment_fault(c, seg);
    if (!c.mmu.read((sc.base + off) & c.s.la_mask, out)) [[unlikely]]
        return mmu_fault(c, seg);
    return true;
}

template <typename T>
inline bool write_mem(Cpu& c, unsigned seg, uint64_t off, T v) {
    const SegCheck& sc = c.s.segc[seg];
    if (off < sc.wr_lo || off + (sizeof(T) - 1) > sc.wr_hi) [[unlikely]]
        return segment_fault(c, seg);
    if (!c.mmu.write((sc.base + off) & c.s.la_mask, v)) [[unlikely]]
        return mmu_fault(c, seg);
    return true;
}

// Checks that a later write_mem of n bytes at seg:off cannot fault.
bool probe_write_mem(Cpu& c, unsigned seg, uint64_t off, unsigned n);

// Linear address of seg:off without checks (for LEA-like uses and string setups).
inline uint64_t linear(const Cpu& c, unsigned seg, uint64_t off) {
    return (c.s.segc[seg].base + off) & c.s.la_mask;
}

// ---- operands by kind ------------------------------------------------------------------------

// Operand i of a Reg or Mem kind.
template <unsigned S>
inline bool read_op(Cpu& c, const Insn& in, unsigned i, uint_t<S>& v) {
    if (in.kind(i) == OpKind::Reg) {
        v = get_reg<S>(c, in.r[i]);
        return true;
    }
    if (in.kind(i) == OpKind::Imm) {
        v = static_cast<uint_t<S>>(in.imm);
        return true;
    }
    return read_mem(c, in.seg, effective_address(c, in), v);
}

template <unsigned S>
inline bool write_op(Cpu& c, const Insn& in, unsigned i, uint_t<S> v) {
    if (in.kind(i) == OpKind::Reg) {
        set_reg<S>(c, in.r[i], v);
        return true;
    }
    return write_mem(c, in.seg, effective_address(c, in), v);
}

// ---- flags -----------------------------------------------------------------------------------

inline void set_lazy(Cpu& c, FlagOp op, unsigned size, uint64_t res, uint64_t s1, uint64_t s2) {
    c.s.lf.op = op;
    c.s.lf.size = static_cast<uint8_t>(size);
    c.s.lf.res = res;
    c.s.lf.s1 = s1;
    c.s.lf.s2 = s2;
}

// INC/DEC keep CF: fold the current CF into RFLAGS before the lazy record replaces it.
inline void set_lazy_keep_cf(Cpu& c, FlagOp op, unsigned size, uint64_t res, uint64_t s1) {
    const uint64_t cf = lazy_cf(c.s.lf, c.s.rflags);
    c.s.rflags = (c.s.rflags & ~arch::Rflags::CF) | cf;
    set_lazy(c, op, size, res, s1, 1);
}

// Replace the status flags selected by `mask` with `value`, materializing the others.
inline void set_status_flags(Cpu& c, uint64_t mask, uint64_t value) {
    if (mask == arch::Rflags::STATUS) {  // all six replaced: nothing to materialize
        c.s.rflags = (c.s.rflags & ~arch::Rflags::STATUS) | (value & arch::Rflags::STATUS);
        c.s.lf.op = FlagOp::None;
        return;
    }
    constexpr uint64_t cf_of = arch::Rflags::CF | arch::Rflags::OF;
    if (mask == cf_of && c.s.lf.op != FlagOp::None) {  // keep PF/AF/ZF/SF lazy
        c.s.rflags = (c.s.rflags & ~cf_of) | (value & cf_of);
        c.s.lf.op = static_cast<FlagOp>(static_cast<uint8_t>(c.s.lf.op) | kCfOfInRflags);
        return;
    }
    const uint64_t f = c.s.get_rflags();
    c.s.rflags = (f & ~mask) | (value & mask);
    c.s.lf.op = FlagOp::None;
}

inline uint64_t pf_zf_sf(uint64_t res, unsigned size) {
    using namespace arch::Rflags;
    uint64_t f = 0;
    if (base::parity_even(static_cast<uint8_t>(res))) f |= PF;
    if ((res & base::size_mask(size)) == 0) f |= ZF;
    if (res & base::sign_bit(size)) f |= SF;
    return f;
}

// Condition code cc (0..15, the low nibble of Jcc/SETcc/CMOVcc opcodes).
inline bool condition(const CpuState& s, unsigned cc) {
    using namespace arch::Rflags;
    // Z and S come straight from the lazy record, whatever operation produced it.
    if ((cc >> 1) == 2) return lazy_zf(s.lf, s.rflags) ^ (cc & 1);
    if ((cc >> 1) == 4) return lazy_sf(s.lf, s.rflags) ^ (cc & 1);
    if (s.lf.op == FlagOp::Logic) {
        // CF = OF = 0 after AND/OR/XOR/TEST.
        const bool zf = lazy_zf(s.lf, s.rflags), sf = lazy_sf(s.lf, s.rflags);
        bool r;
        switch (cc >> 1) {
            case 0:
            case 1: r = false; break;
            case 3: r = zf; break;
            case 5: r = base::parity_even(static_cast<uint8_t>(s.lf.res)); break;
            case 6: r = sf; break;
            default: r = zf || sf; break;
        }
        return r ^ (cc & 1);
    }
    if (s.lf.op == FlagOp::Sub && cc >= 2) {
        const uint64_t m = base::size_mask(s.lf.size);
        const uint64_t a = s.lf.s1 & m, b = s.lf.s2 & m;
        const unsigned sh = 64 - s.lf.size * 8;
        const int64_t sa = static_cast<int64_t>(a << sh), sb = static_cast<int64_t>(b << sh);
        bool r;
        switch (cc >> 1) {
            case 1: r = a < b; break;
            case 2: r = a == b; break;
            case 3: r = a <= b; break;
            case 4: r = (s.lf.res & base::sign_bit(s.lf.size)) != 0; break;
            case 5: r = base::parity_even(static_cast<uint8_t>(s.lf.res)); break;
            case 6: r = sa < sb; break;
            default: r = sa <= sb; break;
        }
        return r ^ (cc & 1);
    }
    const uint64_t f = s.get_rflags();
    bool r;
    switch (cc >> 1) {
        case 0: r = f & OF; break;
        case 1: r = f & CF; break;
        case 2: r = f & ZF; break;
        case 3: r = f & (CF | ZF); break;
        case 4: r = f & SF; break;
        case 5: r = f & PF; break;
        case 6: r = !(f & SF) != !(f & OF); break;
        default: r = (f & ZF) || (!(f & SF) != !(f & OF)); break;
    }
    return r ^ (cc & 1);
}

// ---- stack -----------------------------------------------------------------------------------

template <typename T>
inline bool push(Cpu& c, T v) {
    const uint64_t sp = (c.s.gpr[RSP] - sizeof(T)) & c.s.sp_mask;
    if (!write_mem(c, SS, sp, v)) return false;
    c.s.gpr[RSP] = (c.s.gpr[RSP] & ~c.s.sp_mask) | sp;
    return true;
}

template <typename T>
inline bool pop(Cpu& c, T& v) {
    const uint64_t sp = c.s.gpr[RSP] & c.s.sp_mask;
    if (!read_mem(c, SS, sp, v)) return false;
    c.s.gpr[RSP] = (c.s.gpr[RSP] & ~c.s.sp_mask) | ((sp + sizeof(T)) & c.s.sp_mask);
    return true;
}

inline bool push_sized(Cpu& c, unsigned size, uint64_t v) {
    switch (size) {
        case 2: return push<uint16_t>(c, static_cast<uint16_t>(v));
        case 4: return push<uint32_t>(c, static_cast<uint32_t>(v));
        default: return push<uint64_t>(c, v);
    }
}

inline bool pop_sized(Cpu& c, unsigned size, uint64_t& v) {
    switch (size) {
        case 2: { uint16_t t; if (!pop(c, t)) return false; v = t; return true; }
        case 4: { uint32_t t; if (!pop(c, t)) return false; v = t; return true; }
        default: return pop(c, v);
    }
}

// RIP after a near branch, masked to the operand size; outside 64-bit mode the target must lie
// within the CS limit (APM Vol 3, "JMP (Near)": #GP(0) beyond the limit). Returns false on fault.
inline bool set_branch_target(Cpu& c, uint64_t target, unsigned osize) {
    target &= base::size_mask(osize);
    if (c.s.mode == CpuMode::Long64) {
        if (!arch::is_canonical(target)) return raise_gp0(c), false;
    } else if (target > c.s.seg[CS].limit) {
        return raise_gp0(c), false;
    }
    c.s.rip() = target;
    return true;
}

}  // namespace vx86::cpu
