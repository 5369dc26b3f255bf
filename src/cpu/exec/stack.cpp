// Stack family: PUSH, POP, PUSHF/POPF, PUSHA/POPA, ENTER, LEAVE (segment-register PUSH/POP are
// bound by segment.cpp). Stack width follows SS.B or 64-bit mode through CpuState::sp_mask.
#include <Zydis/Zydis.h>

#include "cpu/exec/families.h"
#include "cpu/exec/operands.h"
#include "cpu/exec/svm_intercept.h"

namespace vx86::cpu {

namespace {

using namespace arch::Rflags;

template <unsigned S>
ExecStatus push_op(Cpu& c, const Insn& in) {
    uint_t<S> v;
    if (!read_op<S>(c, in, 0, v)) return ExecStatus::Fault;
    return push<uint_t<S>>(c, v) ? ExecStatus::Next : ExecStatus::Fault;
}

// POP r/m: an RSP-based destination address is computed after the increment (APM Vol 3, "POP").
template <unsigned S>
ExecStatus pop_op(Cpu& c, const Insn& in) {
    const uint64_t old_rsp = c.s.gpr[RSP];
    uint_t<S> v;
    if (!pop<uint_t<S>>(c, v)) return ExecStatus::Fault;
    if (in.kind(0) == OpKind::Reg) {
        set_reg<S>(c, in.r[0], v);
        return ExecStatus::Next;
    }
    if (!write_mem(c, in.seg, effective_address(c, in), v)) {
        c.s.gpr[RSP] = old_rsp;
        return ExecStatus::Fault;
    }
    return ExecStatus::Next;
}

bool v86_iopl_fault(Cpu& c) { return c.s.mode == CpuMode::Virtual8086 && c.s.iopl() < 3; }

template <unsigned S>
ExecStatus pushf(Cpu& c, const Insn& in) {
    // PUSHF/POPF intercepts come before the instruction's own checks (APM Vol 2, 15.9).
    if (c.s.svm.intercept_misc1(arch::InterceptMisc1::PUSHF)) return svm_exit(c, in, 0x70);
    if (v86_iopl_fault(c)) return raise_gp0(c);
    const uint64_t f = c.s.get_rflags() & ~(VM | RF);
    return push<uint_t<S>>(c, static_cast<uint_t<S>>(f)) ? ExecStatus::Next : ExecStatus::Fault;
}

// POPF privilege rules (APM Vol 3, "POPFx"): IOPL changes only at CPL 0, IF only at CPL <= IOPL;
// VM, VIP and VIF never change; RF is cleared.
template <unsigned S>
ExecStatus popf(Cpu& c, const Insn& in) {
    if (c.s.svm.intercept_misc1(arch::InterceptMisc1::POPF)) return svm_exit(c, in, 0x71);
    if (v86_iopl_fault(c)) return raise_gp0(c);
    uint_t<S> v;
    if (!pop<uint_t<S>>(c, v)) return ExecStatus::Fault;
    const uint64_t old = c.s.get_rflags();
    uint64_t keep = VM | VIP | VIF | RF;
    if (c.s.cpl > 0) keep |= IOPL;
    if (c.s.cpl > c.s.iopl()) keep |= IF;
    if constexpr (S == 2) keep |= ~uint64_t{0xffff};
    uint64_t nf = (old & keep) | (uint64_t{v} & ~keep);
    nf &= ~RF;
    c.s.set_rflags(nf);
    if (((old ^ nf) & AC) && (c.s.cr4 & arch::Cr4::SMAP)) c.mmu.flush();
    return ExecStatus::Branch;
}

template <unsigned S>
ExecStatus pusha(Cpu& c, const Insn&) {
    const uint64_t sp = c.s.gpr[RSP] & c.s.sp_mask;
    // Check the whole frame first so a fault leaves RSP and memory untouched.
    if (!probe_write_mem(c, SS, (sp - 8 * S) & c.s.sp_mask, 8 * S)) return ExecStatus::Fault;
    const uint64_t orig_sp = c.s.gpr[RSP];
    for (unsigned r = RAX; r <= RDI; ++r) {
        const uint64_t v = r == RSP ? orig_sp : c.s.gpr[r];
        if (!push<uint_t<S>>(c, static_cast<uint_t<S>>(v))) return ExecStatus::Fault;
    }
    return ExecStatus::Next;
}

template <unsigned S>
ExecStatus popa(Cpu& c, const Insn&) {
    const uint64_t sp = c.s.gpr[RSP] & c.s.sp_mask;
    uint_t<S> vals[8];
    for (unsigned i = 0; i < 8; ++i)
        if (!read_mem(c, SS, (sp + i * S) & c.s.sp_mask, vals[i])) return ExecStatus::Fault;
    for (unsigned i = 0; i < 8; ++i) {
        const unsigned r = RDI - i;
        if (r != RSP) set_reg<S>(c, static_cast<uint8_t>(r), vals[i]);
    }
    c.s.gpr[RSP] = (c.s.gpr[RSP] & ~c.s.sp_mask) | ((sp + 8 * S) & c.s.sp_mask);
    return ExecStatus::Next;
}

// ENTER size, level (APM Vol 3, "ENTER"; SDM Vol 2A, "ENTER"): nesting copies level-1 frame
// pointers from the enclosing frame. Outside 64-bit mode rBP is written with the operand size, as
// the SDM's pseudocode does (a 16-bit ENTER keeps bits 31:16 of EBP even on a 32-bit stack); the
// APM's pseudocode writes it with the stack width, which differs only for mixed sizes.
template <unsigned S>
ExecStatus enter(Cpu& c, const Insn& in) {
    const uint64_t size = in.imm & 0xffff;
    const unsigned level = in.imm2 & 31;
    const uint64_t saved_rsp = c.s.gpr[RSP];
    const uint64_t saved_rbp = c.s.gpr[RBP];
    auto fail = [&] {
        c.s.gpr[RSP] = saved_rsp;
        c.s.gpr[RBP] = saved_rbp;
        return ExecStatus::Fault;
    };
    if (!push<uint_t<S>>(c, static_cast<uint_t<S>>(c.s.gpr[RBP]))) return fail();
    const uint64_t frame = c.s.gpr[RSP] & c.s.sp_mask;
    if (level > 0) {
        uint64_t bp = saved_rbp;
        for (unsigned i = 1; i < level; ++i) {
            bp = (bp - S) & c.s.sp_mask;
            uint_t<S> v;
            if (!read_mem(c, SS, bp, v)) return fail();
            if (!push<uint_t<S>>(c, v)) return fail();
        }
        if (!push<uint_t<S>>(c, static_cast<uint_t<S>>(frame))) return fail();
    }
    const uint64_t nsp = ((c.s.gpr[RSP] & c.s.sp_mask) - size) & c.s.sp_mask;
    // The new stack top must be writable (the manual's "IF stack limit violation" check).
    if (size && !probe_write_mem(c, SS, nsp, 1)) return fail();
    set_reg_sized(c, RBP, S, frame);
    c.s.gpr[RSP] = (c.s.gpr[RSP] & ~c.s.sp_mask) | nsp;
    return ExecStatus::Next;
}

template <unsigned S>
ExecStatus leave(Cpu& c, const Insn&) {
    const uint64_t saved = c.s.gpr[RSP];
    c.s.gpr[RSP] = (c.s.gpr[RSP] & ~c.s.sp_mask) | (c.s.gpr[RBP] & c.s.sp_mask);
    uint_t<S> v;
    if (!pop<uint_t<S>>(c, v)) {
        c.s.gpr[RSP] = saved;
        return ExecStatus::Fault;
    }
    set_reg<S>(c, RBP, v);
    return ExecStatus::Next;
}


#define VX86_SIZED(name) \
    Handler name##_sized(unsigned s) { return by_size<2, 4, 8>(s, []<unsigned S>() { return &name<S>; }); }
VX86_SIZED(push_op)
VX86_SIZED(pop_op)
VX86_SIZED(pushf)
VX86_SIZED(popf)
VX86_SIZED(pusha)
VX86_SIZED(popa)
VX86_SIZED(enter)
VX86_SIZED(leave)
#undef VX86_SIZED

}  // namespace

Handler bind_stack(const Insn& in) {
    if (in.kind(0) == OpKind::SReg) return bind_segment(in);
    switch (in.mnemonic) {
        case ZYDIS_MNEMONIC_PUSH: return push_op_sized(in.osize);
        case ZYDIS_MNEMONIC_POP: return pop_op_sized(in.osize);
        case ZYDIS_MNEMONIC_PUSHF:
        case ZYDIS_MNEMONIC_PUSHFD:
        case ZYDIS_MNEMONIC_PUSHFQ: return pushf_sized(in.osize);
        case ZYDIS_MNEMONIC_POPF:
        case ZYDIS_MNEMONIC_POPFD:
        case ZYDIS_MNEMONIC_POPFQ: return popf_sized(in.osize);
        case ZYDIS_MNEMONIC_PUSHA:
        case ZYDIS_MNEMONIC_PUSHAD: return pusha_sized(in.osize);
        case ZYDIS_MNEMONIC_POPA:
        case ZYDIS_MNEMONIC_POPAD: return popa_sized(in.osize);
        case ZYDIS_MNEMONIC_ENTER: return enter_sized(in.osize);
        case ZYDIS_MNEMONIC_LEAVE: return leave_sized(in.osize);
        default: return nullptr;
    }
}

}  // namespace vx86::cpu
