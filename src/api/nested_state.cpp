// KVM_GET/SET_NESTED_STATE for vx86 (SVM format): export and validated import of the vCPU's SVM
// bookkeeping (spec/svm.md section 6; seed 004).
#include <cstring>

#include "api/vcpu_impl.h"
#include "arch/paging.h"
#include "cpu/svm/svm.h"

namespace vx86::api {

using namespace arch;

NestedState VcpuImpl::get_nested_state() const {
    const cpu::CpuState& s = m_v.state();
    const cpu::SvmState& v = s.svm;
    NestedState n{};
    n.format = kNestedStateFormatSvm;
    if (v.gif) n.flags |= kNestedStateGifSet;
    const bool nested = v.guest_mode || v.smm_suspended;
    if (v.guest_mode) n.flags |= kNestedStateGuestMode;
    n.size = kNestedStateHeaderSize + (nested ? kNestedStateVmcbSize : 0);
    n.smm_suspended = v.smm_suspended;
    if (!nested) return n;
    n.vmcb_pa = v.vmcb12_pa;
    Vmcb data{};
    data.control = v.ctl;
    cpu::host_state_to_save_area(v.host, data.save);
    std::memcpy(n.vmcb, &data, sizeof data);
    n.l1_cr0 = v.host.cr0;
    n.l1_cr3 = v.host.cr3;
    n.l1_cr4 = v.host.cr4;
    n.l1_efer = v.host.efer;
    Vmcb full{};
    full.control = v.ctl;
    cpu::guest_state_to_save_area(s, full.save);
    std::memcpy(n.vmcb12, &full, sizeof full);
    return n;
}

Status VcpuImpl::set_nested_state(const NestedState& n) {
    auto bad = [](std::string msg) { return Status{ErrorCode::InvalidArgument, "nested state: " + msg}; };
    cpu::CpuState& s = m_v.state();
    const cpu::CpuFeatures& f = m_v.core().features;
    if (n.format != kNestedStateFormatSvm) return bad("format must be 1 (SVM)");
    if (n.flags & ~(kNestedStateGuestMode | kNestedStateRunPending | kNestedStateGifSet))
        return bad("unknown flags (SVM accepts GUEST_MODE, RUN_PENDING and GIF_SET)");
    if (n.flags & kNestedStateRunPending) {
        // vx86 finishes VMRUN, EVENTINJ delivery included, within one instruction, so no
        // boundary exists between VMRUN and L2's first instruction to resume at.
        return {ErrorCode::Unsupported,
                "nested state: RUN_PENDING cannot be represented (vx86's VMRUN is atomic)"};
    }
    if (n.smm_suspended > 1) return bad("smm_suspended must be 0 or 1");
    const bool guest = n.flags & kNestedStateGuestMode;
    const bool nested = guest || n.smm_suspended;
    if (!f.svm && (nested || !(n.flags & kNestedStateGifSet)))
        return bad("the CPU model has no SVM");
    if (guest && n.smm_suspended) return bad("GUEST_MODE and smm_suspended exclude each other");
    if (guest && !(s.efer & Efer::SVME)) return bad("GUEST_MODE needs EFER.SVME (set Sregs first)");
    if (guest && s.smm.in_smm) return bad("GUEST_MODE is impossible in SMM (set vCPU events first)");
    if (n.smm_suspended && !s.smm.in_smm) return bad("smm_suspended needs the vCPU in SMM");
    if (!nested) {
        if (n.size < kNestedStateHeaderSize) return bad("size is below the 128-byte header");
        s.svm.gif = n.flags & kNestedStateGifSet;
        s.svm.guest_mode = false;
        s.svm.smm_suspended = false;
        m_v.state_changed();
        return Status::ok();
    }
    if (n.size < kNestedStateHeaderSize + kNestedStateVmcbSize)
        return bad("size must cover the 4 KiB VMCB data in guest mode");
    if ((n.vmcb_pa & 0xfff) || (n.vmcb_pa & ~kPhysAddrMask))
        return bad("vmcb_pa must be page aligned and below MAXPHYADDR");
    Vmcb data;
    std::memcpy(&data, n.vmcb, sizeof data);
    if (const cpu::VmcbCheck c = cpu::check_controls(data.control); c != cpu::VmcbCheck::None)
        return bad(std::string("control area fails VMRUN's checks: ") + cpu::vmcb_check_name(c));
    // L1's state came from a VMRUN: protected mode, not virtual-8086, and VMRUN-valid itself.
    const VmcbSave& h = data.save;
    if (!(h.cr0 & Cr0::PE) || (h.rflags & Rflags::VM))
        return bad("L1 state must be protected mode without RFLAGS.VM");
    if (const cpu::VmcbCheck c = cpu::check_save_area(h, f); c != cpu::VmcbCheck::None)
        return bad(std::string("L1 save area fails VMRUN's checks: ") + cpu::vmcb_check_name(c));
    if (n.l1_cr0 != h.cr0 || n.l1_cr3 != h.cr3 || n.l1_cr4 != h.cr4 || n.l1_efer != h.efer)
        return bad("L1 guest-visible CR0/CR3/CR4/EFER differ from the save area (vx86 has no shadow "
                   "paging, so they must be equal)");
    cpu::SvmState& v = s.svm;
    v.gif = n.flags & kNestedStateGifSet;
    v.guest_mode = guest;
    v.smm_suspended = n.smm_suspended;
    v.vmcb12_pa = n.vmcb_pa;
    v.ctl = data.control;
    v.host = cpu::host_state_from_save_area(h);
    m_v.state_changed();
    return Status::ok();
}

}  // namespace vx86::api
