// x87, MMX, SSE and AVX instructions on vx86's CPU model, which has no FPU or SIMD unit (CPUID
// reports none). They still get the architectural exceptions: #NM where CR0.EM/TS ask for it,
// #UD otherwise (AMD APM Vol 2, 11.5 "Exceptions" and the per-instruction exception tables).
#include <Zydis/Zydis.h>

#include "cpu/exec/families.h"
#include "cpu/exec/operands.h"

namespace vx86::cpu {

namespace {

using namespace arch;

// x87: #NM if CR0.EM or CR0.TS; with no FPU present the instruction is otherwise undefined.
ExecStatus x87(Cpu& c, const Insn&) {
    if (c.s.cr0 & (Cr0::EM | Cr0::TS)) return raise(c, Vector::NM);
    return raise_ud(c);
}

// WAIT/FWAIT: #NM only when CR0.MP and CR0.TS are both set; otherwise it waits for nothing.
ExecStatus fwait(Cpu& c, const Insn&) {
    if ((c.s.cr0 & Cr0::MP) && (c.s.cr0 & Cr0::TS)) return raise(c, Vector::NM);
    return ExecStatus::Next;
}

// MMX: #UD if CR0.EM, #NM if CR0.TS, #UD for the missing unit.
ExecStatus mmx(Cpu& c, const Insn&) {
    if (c.s.cr0 & Cr0::EM) return raise_ud(c);
    if (c.s.cr0 & Cr0::TS) return raise(c, Vector::NM);
    return raise_ud(c);
}

// SSE and AVX: the #UD conditions (CPUID, CR4.OSFXSR, CR0.EM) come before #NM; with no SIMD
// unit in the model, CPUID alone makes them #UD.
ExecStatus simd(Cpu& c, const Insn&) { return raise_ud(c); }

}  // namespace

Handler bind_no_fpu(const Insn& in) {
    if (in.mnemonic == ZYDIS_MNEMONIC_FWAIT) return &fwait;
    switch (static_cast<SimdClass>(in.simd)) {
        case SimdClass::X87: return &x87;
        case SimdClass::Mmx: return &mmx;
        default: return &simd;
    }
}

}  // namespace vx86::cpu
