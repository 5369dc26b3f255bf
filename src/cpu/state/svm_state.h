// SVM bookkeeping kept in the vCPU (AMD APM Vol 2, chapter 15): GIF, guest mode, the L1 state
// VMRUN saved, and the VMCB control area latched at VMRUN. Plain data, migrated with the vCPU.
#pragma once

#include <cstdint>

#include "arch/vmcb.h"
#include "cpu/state/segment.h"

namespace vx86::cpu {

// VMCB segment records use the same attribute packing as Segment (APM Vol 2, 15.5.1).
inline arch::VmcbSegment vmcb_segment(const Segment& s) { return {s.selector, s.attrib, s.limit, s.base}; }
inline Segment segment_from_vmcb(const arch::VmcbSegment& v) { return {v.selector, v.attrib, v.limit, v.base}; }

// The L1 ("host") state VMRUN saves and #VMEXIT reloads (APM Vol 2, 15.5.1 "VMRUN"). vx86 keeps
// it here rather than in the VM_HSAVE_PA page, whose format the manual leaves open.
struct SvmHostState {
    Segment es, cs, ss, ds;
    DescriptorTable gdtr, idtr;
    uint64_t efer = 0, cr0 = 0, cr3 = 0, cr4 = 0;
    uint64_t rflags = 0, rip = 0, rsp = 0, rax = 0;
    uint64_t pat = 0;  // L1's PAT while L2 runs with G_PAT (nested paging only)
    bool operator==(const SvmHostState&) const = default;
};

// A #VMEXIT requested from below the SVM module (event delivery, the MMU): what to write to the
// VMCB's exit fields.
struct SvmExitRequest {
    uint64_t code = 0;
    uint64_t info1 = 0, info2 = 0;
    uint32_t exit_int_info = 0, exit_int_info_err = 0;  // an event whose delivery it interrupted
    uint64_t rip = 0;                                    // guest RIP to record
};

struct SvmState {
    bool gif = true;            // global interrupt flag (15.17); 1 after reset
    bool guest_mode = false;    // running L2 between VMRUN and #VMEXIT
    bool smm_suspended = false; // an SMI taken in L2 suspended guest mode; RSM resumes it (15.22)
    uint64_t vmcb12_pa = 0;     // the VMCB VMRUN took (rAX)
    SvmHostState host;
    arch::VmcbControl ctl{};    // control area as latched at VMRUN; intercepts consult this copy
    bool operator==(const SvmState& o) const;

    bool intercept_misc1(uint32_t bit) const { return guest_mode && (ctl.intercept_misc1 & bit); }
    bool intercept_misc2(uint32_t bit) const { return guest_mode && (ctl.intercept_misc2 & bit); }
    bool intercept_exception(unsigned vector) const {
        return guest_mode && vector < 32 && ((ctl.intercept_exceptions >> vector) & 1);
    }
    bool v_intr_masking() const { return guest_mode && (ctl.int_ctl & arch::IntCtl::V_INTR_MASKING); }
    bool nested_paging() const { return guest_mode && (ctl.nested_ctl & arch::kNestedCtlNpEnable); }
    // vGIF (15.33): L2's STGI/CLGI act on int_ctl.V_GIF instead of GIF.
    bool vgif() const { return guest_mode && (ctl.int_ctl & arch::IntCtl::V_GIF_ENABLE); }
};

}  // namespace vx86::cpu
