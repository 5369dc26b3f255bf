// Fast system-call family: SYSCALL/SYSRET, SYSENTER/SYSEXIT and SWAPGS, with AMD semantics.
// Selectors come from MSRs and the hidden segment parts are forced to flat values, not read from
// the GDT (APM Vol 2, 6.1 "Fast System Call and Return").
#include <Zydis/Zydis.h>

#include <utility>

#include "cpu/exec/families.h"
#include "cpu/exec/operands.h"

namespace vx86::cpu {

namespace {

using namespace arch;

// Hidden parts the instructions force: base 0, limit 4 GiB, with the given attribute bits.
constexpr uint16_t kFlatCode32 =
    Attr::P | Attr::S | Attr::CODE | Attr::W_R | Attr::A | Attr::DB | Attr::G;
constexpr uint16_t kFlatCode64 =
    Attr::P | Attr::S | Attr::CODE | Attr::W_R | Attr::A | Attr::L | Attr::G;
constexpr uint16_t kFlatStack = Attr::P | Attr::S | Attr::W_R | Attr::A | Attr::DB | Attr::G;

Segment flat(uint16_t sel, uint16_t attrib, unsigned dpl) {
    return Segment{sel, static_cast<uint16_t>(attrib | dpl << Attr::DPL_SHIFT), 0xffffffff, 0};
}

uint16_t star_syscall_cs(const CpuState& s) {
    return static_cast<uint16_t>(s.msr.star >> 32);
}
uint16_t star_sysret_cs(const CpuState& s) {
    return static_cast<uint16_t>(s.msr.star >> 48);
}

// SYSCALL (APM Vol 3, "SYSCALL"). In long mode the target is always 64-bit code at LSTAR (from
// 64-bit mode) or CSTAR (from compatibility mode), RFLAGS is saved in R11 and masked by SFMASK;
// in legacy mode the target is 32-bit code at STAR[31:0] and only VM, IF and RF are cleared.
ExecStatus syscall(Cpu& c, const Insn&) {
    CpuState& s = c.s;
    if (!(s.efer & Efer::SCE)) return raise_ud(c);
    const uint16_t sel = star_syscall_cs(s);
    const uint64_t rflags = s.get_rflags();
    if (s.long_mode()) {
        const uint64_t target = s.mode == CpuMode::Long64 ? s.msr.lstar : s.msr.cstar;
        s.gpr[RCX] = s.rip();
        s.gpr[R11] = rflags & ~Rflags::RF;
        s.seg[CS] = flat(sel & 0xfffc, kFlatCode64, 0);
        s.seg[SS] = flat(static_cast<uint16_t>(sel + 8), kFlatStack, 0);
        s.set_rflags(rflags & ~s.msr.sfmask & ~Rflags::RF);
        s.rip() = target;
    } else {
        set_reg<4>(c, RCX, static_cast<uint32_t>(s.rip()));
        s.seg[CS] = flat(sel & 0xfffc, kFlatCode32, 0);
        s.seg[SS] = flat(static_cast<uint16_t>(sel + 8), kFlatStack, 0);
        s.set_rflags(rflags & ~(Rflags::VM | Rflags::IF | Rflags::RF));
        s.rip() = static_cast<uint32_t>(s.msr.star);
    }
    s.update_mode();
    return ExecStatus::Branch;
}

// SYSRET (APM Vol 3, "SYSRET"). Decisions where AMD differs from Intel:
//  - A non-canonical RCX is not checked here. AMD loads it and the #GP is raised by the fetch
//    at CPL 3, in user context; Intel raises #GP(0) at CPL 0 before the switch.
//  - SS gets selector (STAR[63:48] + 8) | 3; AMD leaves the SS base, limit and attributes as
//    they were (Linux's X86_BUG_SYSRET_SS_ATTRS). vx86 keeps that, except that SS.DPL becomes
//    3: CpuState::update_mode derives the CPL from SS.DPL, and the CPL after SYSRET is 3.
//    The RPL of 3 follows AMD's SYSCALL/SYSRET specification (21086): it is set whatever
//    STAR[49:48] hold.
ExecStatus sysret(Cpu& c, const Insn& in) {
    CpuState& s = c.s;
    if (!(s.efer & Efer::SCE)) return raise_ud(c);
    if (!s.protected_mode() || s.cpl != 0) return raise_gp0(c);
    const uint16_t sel = star_sysret_cs(s);
    if (s.mode == CpuMode::Long64) {
        if (in.osize == 8) {
            s.seg[CS] = flat(static_cast<uint16_t>((sel + 16) | 3), kFlatCode64, 3);
            s.rip() = s.gpr[RCX];
        } else {
            s.seg[CS] = flat(sel | 3, kFlatCode32, 3);
            s.rip() = static_cast<uint32_t>(s.gpr[RCX]);
        }
        s.set_rflags(s.gpr[R11] & ~(Rflags::RF | Rflags::VM));
    } else {
        s.seg[CS] = flat(sel | 3, kFlatCode32, 3);
        s.rip() = static_cast<uint32_t>(s.gpr[RCX]);
        s.set_rflags(s.get_rflags() | Rflags::IF);
    }
    s.seg[SS].selector = static_cast<uint16_t>((sel + 8) | 3);
    s.seg[SS].attrib =
        static_cast<uint16_t>((s.seg[SS].attrib & ~Attr::DPL_MASK) | 3 << Attr::DPL_SHIFT);
    s.update_mode();
    return ExecStatus::Branch;
}

// SYSENTER/SYSEXIT (APM Vol 3, "SYSENTER", "SYSEXIT"): legacy protected mode only. AMD raises #UD
// in long mode, compatibility mode included (Intel supports both there).
// Note: the APM tests "SYSENTER_CS == 0"; vx86 tests for a null selector (bits 15:2), which
// also refuses 1..3, values that would otherwise load a null CS.
bool sysenter_cs_null(const CpuState& s) {
    return sel_null(static_cast<uint16_t>(s.msr.sysenter_cs));
}

ExecStatus sysenter(Cpu& c, const Insn&) {
    CpuState& s = c.s;
    if (s.long_mode()) return raise_ud(c);
    if (!s.protected_mode() || sysenter_cs_null(s)) return raise_gp0(c);
    const auto sel = static_cast<uint16_t>(s.msr.sysenter_cs);
    s.set_rflags(s.get_rflags() & ~(Rflags::VM | Rflags::IF | Rflags::RF));
    s.seg[CS] = flat(sel & 0xfffc, kFlatCode32, 0);
    s.seg[SS] = flat(static_cast<uint16_t>((sel + 8) & 0xfffc), kFlatStack, 0);
    set_reg<4>(c, RSP, static_cast<uint32_t>(s.msr.sysenter_esp));
    s.rip() = static_cast<uint32_t>(s.msr.sysenter_eip);
    s.update_mode();
    return ExecStatus::Branch;
}

ExecStatus sysexit(Cpu& c, const Insn&) {
    CpuState& s = c.s;
    if (s.long_mode()) return raise_ud(c);
    if (!s.protected_mode() || s.cpl != 0 || sysenter_cs_null(s)) return raise_gp0(c);
    const auto sel = static_cast<uint16_t>(s.msr.sysenter_cs);
    s.seg[CS] = flat(static_cast<uint16_t>((sel + 16) | 3), kFlatCode32, 3);
    s.seg[SS] = flat(static_cast<uint16_t>((sel + 24) | 3), kFlatStack, 3);
    set_reg<4>(c, RSP, static_cast<uint32_t>(s.gpr[RCX]));
    s.rip() = static_cast<uint32_t>(s.gpr[RDX]);
    s.update_mode();
    return ExecStatus::Branch;
}

// SWAPGS (APM Vol 3, "SWAPGS"): exchanges the GS base with KernelGSbase; 64-bit mode only.
// The CPL-0 rule is the table's PRIV flag, checked by the dispatcher.
ExecStatus swapgs(Cpu& c, const Insn&) {
    CpuState& s = c.s;
    if (s.mode != CpuMode::Long64) return raise_ud(c);
    std::swap(s.seg[GS].base, s.msr.kernel_gs_base);
    s.update_segment_checks();
    return ExecStatus::Next;
}

}  // namespace

Handler bind_fast_call(const Insn& in) {
    switch (in.mnemonic) {
        case ZYDIS_MNEMONIC_SYSCALL:
            return &syscall;
        case ZYDIS_MNEMONIC_SYSRET:
            return &sysret;
        case ZYDIS_MNEMONIC_SYSENTER:
            return &sysenter;
        case ZYDIS_MNEMONIC_SYSEXIT:
            return &sysexit;
        case ZYDIS_MNEMONIC_SWAPGS:
            return &swapgs;
        default:
            return nullptr;
    }
}

}  // namespace vx86::cpu
