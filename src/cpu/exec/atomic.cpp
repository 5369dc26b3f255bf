// Compare-exchange and exchange-add family: CMPXCHG, CMPXCHG8B, CMPXCHG16B, XADD (AMD APM Vol 3).
// The dispatcher has already rejected LOCK where it is not allowed.
// A LOCKed read-modify-write is a plain host read and write, as in the ALU family. That is atomic
// because a Vm has one vCPU (Vm::create_vcpu refuses a second); SMP needs host atomics here.
//
// No flag is undefined in this family: CMPXCHG sets all six as CMP accumulator, destination;
// XADD as ADD; CMPXCHG8B/16B write only ZF.
#include <Zydis/Zydis.h>

#include "cpu/exec/families.h"
#include "cpu/exec/operands.h"

namespace vx86::cpu {

namespace {

// CMPXCHG r/m, reg (APM Vol 3, "CMPXCHG"): compare rAX with the destination; equal: the source
// goes to the destination; not equal: the destination goes to rAX. A memory destination is
// written back either way (the APM: it "receives a write cycle"), so a read-only page faults even
// when the compare fails. A register destination is not touched on a failed compare; in
// particular a 32-bit one is not zero-extended (hardware behaviour, confirmed by the host oracle).
template <unsigned S, OpKind K0>
ExecStatus cmpxchg(Cpu& c, const Insn& in) {
    using T = uint_t<S>;
    T dst;
    uint64_t ea = 0;
    if constexpr (K0 == OpKind::Reg) {
        dst = get_reg<S>(c, in.r[0]);
    } else {
        ea = effective_address(c, in);
        if (!read_mem(c, in.seg, ea, dst)) return ExecStatus::Fault;
        if (!probe_write_mem(c, in.seg, ea, S)) return ExecStatus::Fault;
    }
    const T acc = get_reg<S>(c, RAX);
    const bool equal = acc == dst;
    const T out = equal ? get_reg<S>(c, in.r[1]) : dst;
    if constexpr (K0 == OpKind::Reg) {
        if (equal) set_reg<S>(c, in.r[0], out);
    } else {
        if (!write_mem(c, in.seg, ea, out)) return ExecStatus::Fault;
    }
    if (!equal) set_reg<S>(c, RAX, dst);
    set_lazy(c, FlagOp::Sub, S, static_cast<T>(acc - dst), acc, dst);
    return ExecStatus::Next;
}

// CMPXCHG8B m64 (APM Vol 3, "CMPXCHG8B"): EDX:EAX against m64; equal: m64 = ECX:EBX and ZF = 1;
// not equal: EDX:EAX = m64 (zero-extending RAX/RDX in 64-bit mode), ZF = 0, and m64 is written
// back unchanged.
ExecStatus cmpxchg8b(Cpu& c, const Insn& in) {
    const uint64_t ea = effective_address(c, in);
    uint64_t m;
    if (!read_mem(c, in.seg, ea, m)) return ExecStatus::Fault;
    if (!probe_write_mem(c, in.seg, ea, 8)) return ExecStatus::Fault;
    const uint64_t cmp = uint64_t{get_reg<4>(c, RDX)} << 32 | get_reg<4>(c, RAX);
    const bool equal = cmp == m;
    const uint64_t out = equal ? uint64_t{get_reg<4>(c, RCX)} << 32 | get_reg<4>(c, RBX) : m;
    if (!write_mem(c, in.seg, ea, out)) return ExecStatus::Fault;
    if (!equal) {
        set_reg<4>(c, RAX, static_cast<uint32_t>(m));
        set_reg<4>(c, RDX, static_cast<uint32_t>(m >> 32));
    }
    set_status_flags(c, arch::Rflags::ZF, equal ? arch::Rflags::ZF : 0);
    return ExecStatus::Next;
}

// CMPXCHG16B m128 (APM Vol 3, "CMPXCHG16B"): as CMPXCHG8B with RDX:RAX and RCX:RBX; the memory
// operand must be 16-byte aligned (#GP(0)), and the instruction exists only with CPUID cx16.
ExecStatus cmpxchg16b(Cpu& c, const Insn& in) {
    if (!c.features.cx16) return raise_ud(c);
    const uint64_t ea = effective_address(c, in);
    if (linear(c, in.seg, ea) & 15) return raise_gp0(c);
    uint64_t lo, hi;
    if (!read_mem(c, in.seg, ea, lo)) return ExecStatus::Fault;
    if (!read_mem(c, in.seg, (ea + 8) & in.amask, hi)) return ExecStatus::Fault;
    if (!probe_write_mem(c, in.seg, ea, 16)) return ExecStatus::Fault;
    const bool equal = lo == c.s.gpr[RAX] && hi == c.s.gpr[RDX];
    const uint64_t out_lo = equal ? c.s.gpr[RBX] : lo, out_hi = equal ? c.s.gpr[RCX] : hi;
    if (!write_mem(c, in.seg, ea, out_lo)) return ExecStatus::Fault;
    if (!write_mem(c, in.seg, (ea + 8) & in.amask, out_hi)) return ExecStatus::Fault;
    if (!equal) {
        c.s.gpr[RAX] = lo;
        c.s.gpr[RDX] = hi;
    }
    set_status_flags(c, arch::Rflags::ZF, equal ? arch::Rflags::ZF : 0);
    return ExecStatus::Next;
}

// XADD r/m, reg (APM Vol 3, "XADD"): the source register receives the old destination, the
// destination the sum. With the same register as both operands the sum wins (written last).
template <unsigned S, OpKind K0>
ExecStatus xadd(Cpu& c, const Insn& in) {
    using T = uint_t<S>;
    T dst;
    uint64_t ea = 0;
    if constexpr (K0 == OpKind::Reg) {
        dst = get_reg<S>(c, in.r[0]);
    } else {
        ea = effective_address(c, in);
        if (!read_mem(c, in.seg, ea, dst)) return ExecStatus::Fault;
        if (!probe_write_mem(c, in.seg, ea, S)) return ExecStatus::Fault;
    }
    const T src = get_reg<S>(c, in.r[1]);
    const T sum = static_cast<T>(dst + src);
    if constexpr (K0 == OpKind::Reg) {
        set_reg<S>(c, in.r[1], dst);
        set_reg<S>(c, in.r[0], sum);
    } else {
        if (!write_mem(c, in.seg, ea, sum)) return ExecStatus::Fault;
        set_reg<S>(c, in.r[1], dst);
    }
    set_lazy(c, FlagOp::Add, S, sum, dst, src);
    return ExecStatus::Next;
}

template <unsigned S>
Handler pick(const Insn& in, bool is_xadd) {
    const bool mem = in.kind(0) == OpKind::Mem;
    if (!mem && in.kind(0) != OpKind::Reg) return nullptr;
    if (in.kind(1) != OpKind::Reg) return nullptr;
    if (is_xadd) return mem ? &xadd<S, OpKind::Mem> : &xadd<S, OpKind::Reg>;
    return mem ? &cmpxchg<S, OpKind::Mem> : &cmpxchg<S, OpKind::Reg>;
}

Handler bind_rm_reg(const Insn& in, bool is_xadd) {
    return by_size<1, 2, 4, 8>(in.opsz[0], [&]<unsigned S>() { return pick<S>(in, is_xadd); });
}

}  // namespace

Handler bind_atomic(const Insn& in) {
    switch (in.mnemonic) {
        case ZYDIS_MNEMONIC_CMPXCHG: return bind_rm_reg(in, false);
        case ZYDIS_MNEMONIC_XADD: return bind_rm_reg(in, true);
        // The register forms (mod = 11b) are #UD: only a memory operand binds.
        case ZYDIS_MNEMONIC_CMPXCHG8B: return in.kind(0) == OpKind::Mem ? &cmpxchg8b : nullptr;
        case ZYDIS_MNEMONIC_CMPXCHG16B: return in.kind(0) == OpKind::Mem ? &cmpxchg16b : nullptr;
        default: return nullptr;
    }
}

}  // namespace vx86::cpu
