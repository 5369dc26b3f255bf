// #VMEXIT (AMD APM Vol 2, 15.6): write L2's state and the exit fields back to VMCB12, then reload
// the L1 state VMRUN saved and clear GIF.
#include <cstddef>
#include <cstring>

#include "arch/msr.h"
#include "cpu/svm/svm.h"

namespace vx86::cpu {

using namespace arch;

namespace {

// Writes single VMCB fields: the rest of the page (FS, GS, STAR..., the software area) belongs
// to L1 and VMSAVE, never to #VMEXIT. The two regions #VMEXIT touches are read once, patched and
// written back whole, so that a world switch costs two guest-memory writes, not thirty.
struct VmcbWriter {
    static constexpr size_t kCtlLo = offsetof(Vmcb, control.int_ctl);
    static constexpr size_t kCtlHi = offsetof(Vmcb, control.insn_len);
    static constexpr size_t kSaveLo = offsetof(Vmcb, save);
    static constexpr size_t kSaveHi = offsetof(Vmcb, save.dbgctl);

    Cpu& c;
    uint64_t pa;
    Vmcb img;

    VmcbWriter(Cpu& cpu, uint64_t vmcb_pa) : c(cpu), pa(vmcb_pa) {
        auto* b = reinterpret_cast<uint8_t*>(&img);
        (void)c.mmu.phys_read(pa + kCtlLo, b + kCtlLo, kCtlHi - kCtlLo);
        (void)c.mmu.phys_read(pa + kSaveLo, b + kSaveLo, kSaveHi - kSaveLo);
    }
    bool commit() {
        const auto* b = reinterpret_cast<const uint8_t*>(&img);
        const bool a = c.mmu.phys_write(pa + kCtlLo, b + kCtlLo, kCtlHi - kCtlLo);
        return c.mmu.phys_write(pa + kSaveLo, b + kSaveLo, kSaveHi - kSaveLo) && a;
    }
};

}  // namespace

SvmStatus Svm::vmexit(Cpu& c, const SvmExitRequest& r, uint64_t next_rip) {
    CpuState& s = c.s;
    SvmState& svm = s.svm;
    const bool np = svm.nested_paging();

    VmcbWriter w{c, svm.vmcb12_pa};
    vmexit_state_to_save_area(s, w.img.save);
    w.img.save.rip = r.rip;
    if (np) w.img.save.g_pat = s.msr.pat;
    // Control fields the CPU writes back (15.6, 15.7): V_TPR, V_IRQ and V_GIF live in the
    // latched int_ctl; the interrupt shadow; the consumed EVENTINJ (V clear once delivered).
    w.img.control.int_ctl = svm.ctl.int_ctl;
    w.img.control.int_state = s.interrupt_shadow ? 1 : 0;
    w.img.control.exit_code = r.code;
    w.img.control.exit_info_1 = r.info1;
    w.img.control.exit_info_2 = r.info2;
    w.img.control.exit_int_info = r.exit_int_info;
    w.img.control.exit_int_info_err = r.exit_int_info_err;
    w.img.control.event_inj = svm.ctl.event_inj;
    w.img.control.event_inj_err = svm.ctl.event_inj_err;
    if (c.features.nrips) w.img.control.next_rip = next_rip;
    const bool written = w.commit();

    // L1 again (15.6): CR0.PE forced, RFLAGS.VM and RF clear, DR7 with breakpoints off, CPL 0.
    const SvmHostState& h = svm.host;
    svm.guest_mode = false;
    svm.gif = false;
    if (np) s.msr.pat = h.pat;
    s.gdtr = h.gdtr;
    s.idtr = h.idtr;
    s.cr0 = h.cr0 | Cr0::PE;
    s.cr4 = h.cr4;
    s.cr3 = h.cr3;
    s.efer = h.efer;
    s.set_rflags(h.rflags & ~(Rflags::VM | Rflags::RF));
    s.seg[ES] = h.es;
    s.seg[CS] = h.cs;
    s.seg[SS] = h.ss;
    s.seg[DS] = h.ds;
    s.rip() = h.rip;
    s.gpr[RSP] = h.rsp;
    s.gpr[RAX] = h.rax;
    s.dr[7] = kDr7Reset;
    s.interrupt_shadow = 0;
    s.halted = false;
    s.update_mode();
    s.update_segment_checks();
    sync_mmu(c);
    // A single-step trap set before VMRUN is taken in L1 once VMRUN "completes" (15.6).
    if (h.rflags & Rflags::TF) {
        s.dr[6] |= 1u << 14;
        s.db_trap_pending = true;
    }
    // No memory where VMCB12 was: the exit cannot be reported (KVM shuts down too).
    return written ? SvmStatus::Ok : SvmStatus::Shutdown;
}

}  // namespace vx86::cpu
