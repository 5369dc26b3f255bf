// SVM instruction family: VMRUN, VMLOAD, VMSAVE, VMMCALL, STGI, CLGI, INVLPGA, SKINIT. The
// instruction checks and intercepts are here (APM Vol 2, 15.5 and Vol 3 "VMRUN" etc.); the world
// switch and the VMCB transfers live in src/cpu/svm behind SystemTransitions.
#include <Zydis/Zydis.h>

#include "arch/paging.h"
#include "cpu/exec/families.h"
#include "cpu/exec/operands.h"
#include "cpu/exec/svm_intercept.h"

namespace vx86::cpu {

namespace {

using namespace arch;

// #UD unless EFER.SVME is set and the CPU is in protected mode (as QEMU; the APM lists real mode
// among the #UD cases for VMRUN). Virtual-8086 mode runs at CPL 3 and gets #GP below.
bool svm_enabled(const Cpu& c) { return (c.s.efer & Efer::SVME) && c.s.protected_mode(); }

// The common checks, in the order the APM lists the exceptions: #UD, #GP(0) for CPL, then (for
// the instructions taking a VMCB address) #GP(0) for an unaligned or too large rAX, and only
// then the intercept (15.5.1; KVM and QEMU agree). Returns false with `st` set when one applies.
bool checks(Cpu& c, const Insn& in, uint32_t misc2_bit, uint64_t exit_code, bool vmcb_address,
            uint64_t& pa, ExecStatus& st) {
    if (!svm_enabled(c)) {
        st = raise_ud(c);
        return false;
    }
    if (c.s.cpl != 0) {
        st = raise_gp0(c);
        return false;
    }
    pa = c.s.gpr[RAX] & in.amask;
    if (vmcb_address && ((pa & 0xfff) || (pa & ~kPhysAddrMask))) {
        st = raise_gp0(c);
        return false;
    }
    if (c.s.svm.intercept_misc2(misc2_bit)) {
        st = svm_exit(c, in, exit_code);
        return false;
    }
    return true;
}

ExecStatus vmrun(Cpu& c, const Insn& in) {
    uint64_t pa;
    if (ExecStatus st; !checks(c, in, InterceptMisc2::VMRUN, 0x80, true, pa, st)) return st;
    if (!c.transitions) return raise_ud(c);
    return c.transitions->vmrun(c, pa);
}

ExecStatus vmload(Cpu& c, const Insn& in) {
    uint64_t pa;
    if (ExecStatus st; !checks(c, in, InterceptMisc2::VMLOAD, 0x82, true, pa, st)) return st;
    if (!c.transitions) return raise_ud(c);
    c.transitions->vmload(c, pa);
    return ExecStatus::Branch;
}

ExecStatus vmsave(Cpu& c, const Insn& in) {
    uint64_t pa;
    if (ExecStatus st; !checks(c, in, InterceptMisc2::VMSAVE, 0x83, true, pa, st)) return st;
    if (!c.transitions) return raise_ud(c);
    c.transitions->vmsave(c, pa);
    return ExecStatus::Next;
}

// STGI/CLGI set and clear GIF; with vGIF enabled for L2 they act on V_GIF instead (15.33).
template <bool SET>
ExecStatus stgi_clgi(Cpu& c, const Insn& in) {
    uint64_t pa;
    if (ExecStatus st; !checks(c, in, SET ? InterceptMisc2::STGI : InterceptMisc2::CLGI,
                               SET ? 0x84 : 0x85, false, pa, st))
        return st;
    SvmState& v = c.s.svm;
    if (c.features.vgif && v.vgif()) {
        if (SET) v.ctl.int_ctl |= IntCtl::V_GIF;
        else v.ctl.int_ctl &= ~IntCtl::V_GIF;
    } else {
        v.gif = SET;
    }
    // Held events may be taken now: leave the block so the run loop looks.
    return ExecStatus::Branch;
}

// VMMCALL has no CPL or SVME rule: intercepted it exits, otherwise it is #UD (15.9; KVM keeps
// an unintercepted L2 VMMCALL from reaching its own hypercall handler the same way).
ExecStatus vmmcall(Cpu& c, const Insn& in) {
    if (c.s.svm.intercept_misc2(InterceptMisc2::VMMCALL)) return svm_exit(c, in, 0x81);
    return raise_ud(c);
}

// INVLPGA: the page at rAX (address-size masked) in the ASID in ECX (APM Vol 3, "INVLPGA").
ExecStatus invlpga(Cpu& c, const Insn& in) {
    if (!svm_enabled(c)) return raise_ud(c);
    if (c.s.cpl != 0) return raise_gp0(c);
    if (c.s.svm.intercept_misc1(InterceptMisc1::INVLPGA)) return svm_exit(c, in, 0x7a);
    c.mmu.invlpga(c.s.gpr[RAX] & in.amask, static_cast<uint32_t>(c.s.gpr[RCX]));
    return ExecStatus::Branch;
}

}  // namespace

Handler bind_svm(const Insn& in) {
    switch (in.mnemonic) {
        case ZYDIS_MNEMONIC_VMRUN: return &vmrun;
        case ZYDIS_MNEMONIC_VMLOAD: return &vmload;
        case ZYDIS_MNEMONIC_VMSAVE: return &vmsave;
        case ZYDIS_MNEMONIC_VMMCALL: return &vmmcall;
        case ZYDIS_MNEMONIC_STGI: return &stgi_clgi<true>;
        case ZYDIS_MNEMONIC_CLGI: return &stgi_clgi<false>;
        case ZYDIS_MNEMONIC_INVLPGA: return &invlpga;
        // SKINIT is not offered (CPUID Fn8000_0001_ECX[12] = 0): #UD, which outranks its
        // intercept (15.9). Returning no handler binds #UD.
        default: return nullptr;
    }
}

}  // namespace vx86::cpu
