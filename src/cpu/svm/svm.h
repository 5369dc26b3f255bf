// AMD SVM world switches (APM Vol 2, chapter 15): VMRUN with its consistency checks, #VMEXIT,
// VMLOAD/VMSAVE, and the SMM hooks that suspend and resume guest mode around an SMI.
#pragma once

#include <cstdint>

#include "arch/smram.h"
#include "arch/vmcb.h"
#include "cpu/exec/cpu.h"

namespace vx86::cpu {

// Invalid: VMRUN failed its consistency checks (VMEXIT_INVALID); L2 was never entered.
enum class SvmStatus : uint8_t { Ok, Invalid, Shutdown };

// Why a VMCB fails VMRUN's consistency checks (APM Vol 2, 15.5.1 "Canonicalization and
// Consistency Checks"); None when it passes. Named for tests, logs and the fuzz target.
enum class VmcbCheck : uint8_t {
    None,
    VmrunInterceptClear,
    AsidZero,
    EferSvmeClear,
    EferReserved,
    Cr0CdNw,
    Cr0High,
    Cr3Reserved,
    Cr4Reserved,
    Dr6High,
    Dr7High,
    LongModeWithoutPae,
    LongModeWithoutPe,
    LongModeCsLD,
    IopmBeyondMaxPhys,
    MsrpmBeyondMaxPhys,
    EventInjection,
    GuestPat,
    Pdpte,
};
const char* vmcb_check_name(VmcbCheck c);

// The checks on the control and save areas, without any side effect. PDPTEs of a legacy-PAE guest
// without nested paging are read from `mem` (address space `as`).
VmcbCheck check_vmcb(const arch::Vmcb& v, const CpuFeatures& f, mem::GuestMemory& mem, unsigned as);

// The two save-area/control-area pieces of a VMCB an L1 save area must pass on its own (used when
// restoring nested state, where the L1 state comes from outside).
VmcbCheck check_save_area(const arch::VmcbSave& s, const CpuFeatures& f);

// The control-area checks alone (VMRUN intercept, ASID, bitmap limits, EVENTINJ).
VmcbCheck check_controls(const arch::VmcbControl& c);

// Save-area conversions for the nested-state interface: L1's VMRUN state, and the L2 state a
// #VMEXIT would write now (plus the VMSAVE fields, which L1 and L2 share).
void host_state_to_save_area(const SvmHostState& h, arch::VmcbSave& out);
SvmHostState host_state_from_save_area(const arch::VmcbSave& in);
void guest_state_to_save_area(const CpuState& s, arch::VmcbSave& out);
// Exactly the save-area fields #VMEXIT writes (15.6), leaving the others of `out` alone; RIP is
// the current one (an intercepted instruction's exit overrides it) and G_PAT is the caller's.
void vmexit_state_to_save_area(const CpuState& s, arch::VmcbSave& out);

class Svm {
public:
    // VMRUN (15.5): the instruction checks (#UD, #GP, intercept) were done by the executor; RIP
    // already points past VMRUN. Runs the consistency checks, saves L1, loads L2, injects EVENTINJ.
    // Returns Invalid for VMEXIT_INVALID, Shutdown when an injected event triple-faults L2
    // without a SHUTDOWN intercept.
    SvmStatus vmrun(Cpu& c, uint64_t vmcb_pa);
    // #VMEXIT (15.6): write L2 state and the exit fields to VMCB12, reload L1, GIF=0. Shutdown
    // when VMCB12 cannot be written (no memory there).
    SvmStatus vmexit(Cpu& c, const SvmExitRequest& r, uint64_t next_rip);
    // VMLOAD / VMSAVE (15.5.2): FS, GS, TR, LDTR with hidden state, KernelGsBase, STAR, LSTAR,
    // CSTAR, SFMASK, SYSENTER_CS/ESP/EIP.
    void vmload(Cpu& c, uint64_t pa);
    void vmsave(Cpu& c, uint64_t pa);

    // SMI taken in guest mode without an SMI intercept (15.22, KVM's semantics): mark the 64-bit
    // save area, suspend guest mode. Returns false (shutdown) when the map cannot record it.
    bool enter_smm(Cpu& c, arch::SmramStateSave& area);
    // RSM: resume the suspended guest when the save area says the SMI came from guest mode.
    bool leave_smm(Cpu& c, const arch::SmramStateSave& area, CpuState& next);

    // Point the MMU at the current world: ASID and nested paging of L2, or L1's.
    static void sync_mmu(Cpu& c);
};

}  // namespace vx86::cpu
