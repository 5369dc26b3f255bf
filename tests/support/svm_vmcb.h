// The VMCB most SVM tests start from (like kvm-unit-tests' identity VMCB): L2 shares L1's current
// segments, descriptor tables, control registers and EFER, intercepts VMRUN and VMMCALL, ASID 1.
#pragma once

#include <cstdint>

#include "arch/control_regs.h"
#include "arch/msr.h"
#include "arch/vmcb.h"
#include "cpu/state/cpu_state.h"

namespace vx86::test {

inline arch::Vmcb identity_vmcb(const cpu::CpuState& s, uint64_t rip, uint64_t rsp) {
    using namespace arch;
    Vmcb b{};
    b.control.intercept_misc2 = InterceptMisc2::VMRUN | InterceptMisc2::VMMCALL;
    b.control.guest_asid = 1;
    b.save.es = cpu::vmcb_segment(s.seg[cpu::ES]);
    b.save.cs = cpu::vmcb_segment(s.seg[cpu::CS]);
    b.save.ss = cpu::vmcb_segment(s.seg[cpu::SS]);
    b.save.ds = cpu::vmcb_segment(s.seg[cpu::DS]);
    b.save.gdtr = VmcbSegment{0, 0, s.gdtr.limit, s.gdtr.base};
    b.save.idtr = VmcbSegment{0, 0, s.idtr.limit, s.idtr.base};
    b.save.efer = s.efer;
    b.save.cr0 = s.cr0;
    b.save.cr3 = s.cr3;
    b.save.cr4 = s.cr4;
    b.save.dr6 = kDr6Reset;
    b.save.dr7 = kDr7Reset;
    b.save.rflags = Rflags::FIXED1;
    b.save.rip = rip;
    b.save.rsp = rsp;
    b.save.g_pat = kPatReset;
    return b;
}

}  // namespace vx86::test
