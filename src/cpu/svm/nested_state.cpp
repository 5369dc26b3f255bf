// Conversions between the vCPU's SVM bookkeeping and VMCB save-area images, used to export and
// import nested state (KVM_GET/SET_NESTED_STATE shape, seed 004).
#include "cpu/svm/svm.h"

namespace vx86::cpu {

using namespace arch;

namespace {

VmcbSegment to_vmcb(const Segment& s) { return VmcbSegment{s.selector, s.attrib, s.limit, s.base}; }
Segment from_vmcb(const VmcbSegment& v) { return Segment{v.selector, v.attrib, v.limit, v.base}; }

}  // namespace

void host_state_to_save_area(const SvmHostState& h, VmcbSave& o) {
    o.es = to_vmcb(h.es);
    o.cs = to_vmcb(h.cs);
    o.ss = to_vmcb(h.ss);
    o.ds = to_vmcb(h.ds);
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
    h.es = from_vmcb(i.es);
    h.cs = from_vmcb(i.cs);
    h.ss = from_vmcb(i.ss);
    h.ds = from_vmcb(i.ds);
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

void guest_state_to_save_area(const CpuState& s, VmcbSave& o) {
    o.es = to_vmcb(s.seg[ES]);
    o.cs = to_vmcb(s.seg[CS]);
    o.ss = to_vmcb(s.seg[SS]);
    o.ds = to_vmcb(s.seg[DS]);
    o.fs = to_vmcb(s.seg[FS]);
    o.gs = to_vmcb(s.seg[GS]);
    o.tr = to_vmcb(s.tr);
    o.ldtr = to_vmcb(s.ldtr);
    o.gdtr = VmcbSegment{0, 0, s.gdtr.limit, s.gdtr.base};
    o.idtr = VmcbSegment{0, 0, s.idtr.limit, s.idtr.base};
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
