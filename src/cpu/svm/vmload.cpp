// VMLOAD and VMSAVE (AMD APM Vol 2, 15.5.2): the state VMRUN and #VMEXIT do not switch, moved
// between the CPU and a VMCB as one unit.
#include <cstring>

#include "arch/paging.h"
#include "cpu/svm/svm.h"

namespace vx86::cpu {

using namespace arch;

namespace {

uint64_t canonical(uint64_t v) { return static_cast<uint64_t>(static_cast<int64_t>(v << 16) >> 16); }

Segment load_seg(const VmcbSegment& v) {
    Segment s = segment_from_vmcb(v);
    s.base = canonical(s.base);
    return s;
}

}  // namespace

void Svm::vmload(Cpu& c, uint64_t pa) {
    CpuState& s = c.s;
    Vmcb v;
    std::memset(&v, 0xff, sizeof v);
    (void)c.mmu.phys_read(pa + offsetof(Vmcb, save), &v.save, sizeof v.save);
    const VmcbSave& g = v.save;
    // Bases are made canonical on load (as KVM's tests expect of hardware).
    s.seg[FS] = load_seg(g.fs);
    s.seg[GS] = load_seg(g.gs);
    s.tr = load_seg(g.tr);
    s.ldtr = load_seg(g.ldtr);
    s.msr.kernel_gs_base = canonical(g.kernel_gs_base);
    s.msr.star = g.star;
    s.msr.lstar = g.lstar;
    s.msr.cstar = g.cstar;
    s.msr.sfmask = g.sfmask;
    s.msr.sysenter_cs = g.sysenter_cs;
    s.msr.sysenter_esp = g.sysenter_esp;
    s.msr.sysenter_eip = g.sysenter_eip;
    s.update_segment_checks();
}

void Svm::vmsave(Cpu& c, uint64_t pa) {
    const CpuState& s = c.s;
    auto put = [&](size_t off, const auto& val) { (void)c.mmu.phys_write(pa + off, &val, sizeof val); };
    put(offsetof(Vmcb, save.fs), vmcb_segment(s.seg[FS]));
    put(offsetof(Vmcb, save.gs), vmcb_segment(s.seg[GS]));
    put(offsetof(Vmcb, save.tr), vmcb_segment(s.tr));
    put(offsetof(Vmcb, save.ldtr), vmcb_segment(s.ldtr));
    put(offsetof(Vmcb, save.kernel_gs_base), s.msr.kernel_gs_base);
    put(offsetof(Vmcb, save.star), s.msr.star);
    put(offsetof(Vmcb, save.lstar), s.msr.lstar);
    put(offsetof(Vmcb, save.cstar), s.msr.cstar);
    put(offsetof(Vmcb, save.sfmask), s.msr.sfmask);
    put(offsetof(Vmcb, save.sysenter_cs), s.msr.sysenter_cs);
    put(offsetof(Vmcb, save.sysenter_esp), s.msr.sysenter_esp);
    put(offsetof(Vmcb, save.sysenter_eip), s.msr.sysenter_eip);
}

}  // namespace vx86::cpu
