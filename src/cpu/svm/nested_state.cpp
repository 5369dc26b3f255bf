// Conversions between the vCPU's SVM bookkeeping and VMCB save-area images, used to export and
// import nested state (KVM_GET/SET_NESTED_STATE shape, seed 004).
#include "cpu/svm/svm.h"

namespace vx86::cpu {

using namespace arch;

void host_state_to_save_area(const SvmHostState& h, VmcbSave& o) {
    o.es = vmcb_segment(h.es);
    o.cs = vmcb_segment(h.cs);
    o.ss = vmcb_segment(h.ss);
    o.ds = vmcb_segment(h.ds);
    o.gdtr = VmcbSegment{0, 0, h.gdtr.limit, h.gdtr.base};
    o.idtr = VmcbSegment{0, 0, h.idtr.limit, h.idtr.base};
    o.cpl = 0;
    o.efer = h.efer;
    o.cr0 = h.cr0;
    o.cr3 = h.cr3;
    o.cr4 = h.cr4;
    o.rflags = h.rflags;
    o.rip = h.rip;
    o.rsp = h.rsp;
    o.rax = h.rax;
    o.g_pat = h.pat;
    o.dr6 = kDr6Reset;
    o.dr7 = kDr7Reset;
}

SvmHostState host_state_from_save_area(const VmcbSave& i) {
    SvmHostState h;
    h.es = segment_from_vmcb(i.es);
    h.cs = segment_from_vmcb(i.cs);
    h.ss = segment_from_vmcb(i.ss);
    h.ds = segment_from_vmcb(i.ds);
    h.gdtr = DescriptorTable{i.gdtr.base, i.gdtr.limit & 0xffff};
    h.idtr = DescriptorTable{i.idtr.base, i.idtr.limit & 0xffff};
    h.efer = i.efer;
    h.cr0 = i.cr0;
    h.cr3 = i.cr3;
    h.cr4 = i.cr4;
    h.rflags = i.rflags;
    h.rip = i.rip;
    h.rsp = i.rsp;
    h.rax = i.rax;
    h.pat = i.g_pat;
    return h;
}

void vmexit_state_to_save_area(const CpuState& s, VmcbSave& o) {
    o.es = vmcb_segment(s.seg[ES]);
    o.cs = vmcb_segment(s.seg[CS]);
    o.ss = vmcb_segment(s.seg[SS]);
    o.ds = vmcb_segment(s.seg[DS]);
    o.gdtr.limit = s.gdtr.limit;
    o.gdtr.base = s.gdtr.base;
    o.idtr.limit = s.idtr.limit;
    o.idtr.base = s.idtr.base;
    o.cpl = s.cpl;
    o.efer = s.efer;
    o.cr0 = s.cr0;
    o.cr2 = s.cr2;
    o.cr3 = s.cr3;
    o.cr4 = s.cr4;
    o.dr6 = s.dr[6];
    o.dr7 = s.dr[7];
    o.rflags = s.get_rflags();
    o.rip = s.rip();
    o.rsp = s.gpr[RSP];
    o.rax = s.gpr[RAX];
}

void guest_state_to_save_area(const CpuState& s, VmcbSave& o) {
    vmexit_state_to_save_area(s, o);
    o.fs = vmcb_segment(s.seg[FS]);
    o.gs = vmcb_segment(s.seg[GS]);
    o.tr = vmcb_segment(s.tr);
    o.ldtr = vmcb_segment(s.ldtr);
    o.star = s.msr.star;
    o.lstar = s.msr.lstar;
    o.cstar = s.msr.cstar;
    o.sfmask = s.msr.sfmask;
    o.kernel_gs_base = s.msr.kernel_gs_base;
    o.sysenter_cs = s.msr.sysenter_cs;
    o.sysenter_esp = s.msr.sysenter_esp;
    o.sysenter_eip = s.msr.sysenter_eip;
    o.g_pat = s.msr.pat;
}

}  // namespace vx86::cpu
