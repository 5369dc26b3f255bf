// Near control transfers: JMP, Jcc, CALL, RET, LOOP/LOOPE/LOOPNE, JCXZ/JECXZ/JRCXZ.
// Far forms (pointer operands, far RET) are bound by segment.cpp. RIP already points past the insn.
#include <Zydis/Zydis.h>

#include "cpu/exec/families.h"
#include "cpu/exec/operands.h"

namespace vx86::cpu {

namespace {

// Validate a near target without committing it (APM Vol 3, "CALL (Near)" checks before pushing).
bool target_ok(Cpu& c, uint64_t target) {
    if (c.s.mode == CpuMode::Long64) {
        if (!arch::is_canonical(target)) return raise_gp0(c), false;
    } else if (target > c.s.seg[CS].limit) {
        return raise_gp0(c), false;
    }
    return true;
}

template <unsigned S>
ExecStatus jmp_rel(Cpu& c, const Insn& in) {
    return set_branch_target(c, c.s.rip() + in.imm, S) ? ExecStatus::Branch : ExecStatus::Fault;
}

template <unsigned S>
ExecStatus jcc(Cpu& c, const Insn& in) {
    if (!condition(c.s, in.imm2)) return ExecStatus::Next;
    return set_branch_target(c, c.s.rip() + in.imm, S) ? ExecStatus::Branch : ExecStatus::Fault;
}

template <unsigned S, OpKind K>
ExecStatus jmp_ind(Cpu& c, const Insn& in) {
    uint_t<S> t;
    if (!read_op<S>(c, in, 0, t)) return ExecStatus::Fault;
    return set_branch_target(c, t, S) ? ExecStatus::Branch : ExecStatus::Fault;
}

template <unsigned S>
ExecStatus call_rel(Cpu& c, const Insn& in) {
    const uint64_t target = (c.s.rip() + in.imm) & base::size_mask(S);
    if (!target_ok(c, target)) return ExecStatus::Fault;
    if (!push<uint_t<S>>(c, static_cast<uint_t<S>>(c.s.rip()))) return ExecStatus::Fault;
    c.s.rip() = target;
    return ExecStatus::Branch;
}

template <unsigned S, OpKind K>
ExecStatus call_ind(Cpu& c, const Insn& in) {
    uint_t<S> t;
    if (!read_op<S>(c, in, 0, t)) return ExecStatus::Fault;
    if (!target_ok(c, t)) return ExecStatus::Fault;
    if (!push<uint_t<S>>(c, static_cast<uint_t<S>>(c.s.rip()))) return ExecStatus::Fault;
    c.s.rip() = t;
    return ExecStatus::Branch;
}

template <unsigned S>
ExecStatus ret_near(Cpu& c, const Insn& in) {
    // Read the return address without moving RSP until the target is known to be valid.
    const uint64_t sp = c.s.gpr[RSP] & c.s.sp_mask;
    uint_t<S> t;
    if (!read_mem(c, SS, sp, t)) return ExecStatus::Fault;
    if (!target_ok(c, t)) return ExecStatus::Fault;
    const uint64_t nsp = (sp + S + (in.kind(0) == OpKind::Imm ? (in.imm & 0xffff) : 0)) & c.s.sp_mask;
    c.s.gpr[RSP] = (c.s.gpr[RSP] & ~c.s.sp_mask) | nsp;
    c.s.rip() = t;
    return ExecStatus::Branch;
}

enum class Loop : uint8_t { Loop, Loope, Loopne, Jcxz };

// The count register is CX, ECX or RCX by address size (APM Vol 3, "LOOPcc", "JrCXZ").
template <Loop L, unsigned S>
ExecStatus loop(Cpu& c, const Insn& in) {
    const uint64_t am = in.amask;
    uint64_t cnt = c.s.gpr[RCX] & am;
    bool take;
    if constexpr (L == Loop::Jcxz) {
        take = cnt == 0;
    } else {
        cnt = (cnt - 1) & am;
        c.s.gpr[RCX] = in.asize == 4 ? cnt : (c.s.gpr[RCX] & ~am) | cnt;
        take = cnt != 0;
        if constexpr (L == Loop::Loope) take = take && (c.s.get_rflags() & arch::Rflags::ZF);
        if constexpr (L == Loop::Loopne) take = take && !(c.s.get_rflags() & arch::Rflags::ZF);
    }
    if (!take) return ExecStatus::Next;
    return set_branch_target(c, c.s.rip() + in.imm, S) ? ExecStatus::Branch : ExecStatus::Fault;
}

#define VX86_SIZED(name) \
    Handler name##_sized(unsigned s) { return by_size<2, 4, 8>(s, []<unsigned S>() { return &name<S>; }); }
VX86_SIZED(jmp_rel)
VX86_SIZED(jcc)
VX86_SIZED(call_rel)
VX86_SIZED(ret_near)
#undef VX86_SIZED

template <Loop L>
Handler loop_sized(unsigned s) {
    return by_size<2, 4, 8>(s, []<unsigned S>() { return &loop<L, S>; });
}

Handler jmp_ind_sized(const Insn& in) {
    const bool m = in.kind(0) == OpKind::Mem;
    return by_size<2, 4, 8>(in.osize, [m]<unsigned S>() -> Handler {
        return m ? &jmp_ind<S, OpKind::Mem> : &jmp_ind<S, OpKind::Reg>;
    });
}

Handler call_ind_sized(const Insn& in) {
    const bool m = in.kind(0) == OpKind::Mem;
    return by_size<2, 4, 8>(in.osize, [m]<unsigned S>() -> Handler {
        return m ? &call_ind<S, OpKind::Mem> : &call_ind<S, OpKind::Reg>;
    });
}

}  // namespace

Handler bind_control(const Insn& in) {
    if (in.prefix & Prefix::FAR) return bind_segment(in);
    const bool rel = in.kind(0) == OpKind::Imm;
    switch (in.mnemonic) {
        case ZYDIS_MNEMONIC_JMP: return rel ? jmp_rel_sized(in.osize) : jmp_ind_sized(in);
        case ZYDIS_MNEMONIC_CALL: return rel ? call_rel_sized(in.osize) : call_ind_sized(in);
        case ZYDIS_MNEMONIC_RET: return ret_near_sized(in.osize);
        case ZYDIS_MNEMONIC_LOOP: return loop_sized<Loop::Loop>(in.osize);
        case ZYDIS_MNEMONIC_LOOPE: return loop_sized<Loop::Loope>(in.osize);
        case ZYDIS_MNEMONIC_LOOPNE: return loop_sized<Loop::Loopne>(in.osize);
        case ZYDIS_MNEMONIC_JCXZ:
        case ZYDIS_MNEMONIC_JECXZ:
        case ZYDIS_MNEMONIC_JRCXZ: return loop_sized<Loop::Jcxz>(in.osize);
        default: return jcc_sized(in.osize);
    }
}

}  // namespace vx86::cpu
