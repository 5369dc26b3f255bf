// SMI in guest mode (AMD APM Vol 2, 15.22; KVM's semantics, seed 000): without an SMI intercept
// the SMI leaves guest mode, the save area records it (SVM guest flag and VMCB address), and RSM
// re-enters the guest with the controls latched at VMRUN.
#include "cpu/svm/svm.h"

namespace vx86::cpu {

using namespace arch;

bool Svm::enter_smm(Cpu& c, SmramStateSave& area) {
    CpuState& s = c.s;
    SvmState& svm = s.svm;
    if (!svm.guest_mode) return true;
    // Only the AMD64 map has room for the SVM fields (KVM refuses the same case).
    if (!c.features.lm) return false;
    SmramState64& m = area.s64;
    m.svm_guest_flag = 1;
    m.svm_guest_vmcb_gpa = svm.vmcb12_pa;
    m.svm_guest_pat = s.msr.pat;
    m.svm_host_efer = svm.host.efer;
    m.svm_host_cr4 = svm.host.cr4;
    m.svm_host_cr3 = svm.host.cr3;
    m.svm_host_cr0 = svm.host.cr0;
    // Suspend guest mode: no intercepts, nested paging or TSC offset apply to the SMM handler.
    // Unlike KVM nothing is written to VMCB12: the guest never sees a #VMEXIT for this SMI.
    if (svm.nested_paging()) s.msr.pat = svm.host.pat;
    svm.guest_mode = false;
    svm.smm_suspended = true;
    sync_mmu(c);
    return true;
}

bool Svm::leave_smm(Cpu& c, const SmramStateSave& area, CpuState& next) {
    SvmState& svm = next.svm;
    if (!c.features.lm) return true;
    const SmramState64& m = area.s64;
    if (m.svm_guest_flag == 0) {
        // The handler cleared the flag: the interrupted L2 state resumes as plain code, and the
        // L1 state saved by VMRUN is gone (as with KVM, which keys re-entry on the flag).
        svm.smm_suspended = false;
        return true;
    }
    // Re-entry needs SVM, EFER.SVME in the image and a guest this vCPU actually suspended; vx86
    // does not rebuild a guest from SMRAM contents alone. Otherwise RSM shuts down.
    if (!c.features.svm || !(m.efer & Efer::SVME) || !svm.smm_suspended) return false;
    svm.smm_suspended = false;
    svm.guest_mode = true;
    if (svm.nested_paging()) next.msr.pat = m.svm_guest_pat;
    return true;
}

}  // namespace vx86::cpu
