// VMRUN (AMD APM Vol 2, 15.5): check the VMCB, save L1's state in the vCPU, load L2's, latch the
// controls, apply TLB_CONTROL and deliver EVENTINJ before the first L2 instruction.
#include <cstring>

#include "arch/paging.h"
#include "arch/vectors.h"
#include "cpu/event/delivery.h"
#include "cpu/svm/svm.h"

namespace vx86::cpu {

using namespace arch;

namespace {

// The event EVENTINJ describes (15.20). Soft interrupts and #BP/#OF return to nRIP when NRIPS is
// offered (KVM relies on it for re-injection); an injected #PF leaves CR2 as L1 set it.
Event injected_event(const CpuState& s, uint32_t inj, uint32_t err) {
    Event ev;
    ev.vector = static_cast<uint8_t>(inj & EventInj::VECTOR_MASK);
    ev.insn_rip = s.rip();
    ev.injected = true;
    switch ((inj & EventInj::TYPE_MASK) >> EventInj::TYPE_SHIFT) {
        case EventInj::TYPE_INTR: ev.type = EventType::External; break;
        case EventInj::TYPE_NMI:
            ev.type = EventType::Nmi;
            ev.vector = static_cast<uint8_t>(Vector::NMI);
            break;
        case EventInj::TYPE_SOFT_INT: ev.type = EventType::Software; break;
        default:
            ev.type = ev.vector == static_cast<uint8_t>(Vector::BP) || ev.vector == static_cast<uint8_t>(Vector::OF)
                          ? EventType::SoftwareException
                          : EventType::Exception;
            ev.has_error = inj & EventInj::EV;
            ev.error = err;
            ev.cr2 = s.cr2;
            break;
    }
    return ev;
}

}  // namespace

SvmStatus Svm::vmrun(Cpu& c, uint64_t pa) {
    CpuState& s = c.s;
    SvmState& svm = s.svm;
    // The VMCB is untrusted guest memory; where nothing answers the bus reads all-ones, which
    // then fails the checks below.
    // Only the control and legacy save areas are read; the reserved tail of the page is unused.
    Vmcb v;
    (void)c.mmu.phys_read(pa, &v, offsetof(Vmcb, reserved));

    if (check_vmcb(v, c.features, c.mmu.memory(), c.mmu.address_space()) != VmcbCheck::None) {
        // VMEXIT_INVALID (15.5.1): nothing was loaded, L1 continues after VMRUN with the exit
        // fields written; GIF is cleared as by any #VMEXIT (as QEMU and Bochs do).
        const uint64_t code = ~uint64_t{0}, zero = 0;
        (void)c.mmu.phys_write(pa + offsetof(Vmcb, control.exit_code), &code, 8);
        (void)c.mmu.phys_write(pa + offsetof(Vmcb, control.exit_info_1), &zero, 8);
        (void)c.mmu.phys_write(pa + offsetof(Vmcb, control.exit_info_2), &zero, 8);
        svm.gif = false;
        return SvmStatus::Invalid;
    }

    // L1's state (15.5.1 "VMRUN"): RIP already points past VMRUN.
    SvmHostState& h = svm.host;
    h.es = s.seg[ES];
    h.cs = s.seg[CS];
    h.ss = s.seg[SS];
    h.ds = s.seg[DS];
    h.gdtr = s.gdtr;
    h.idtr = s.idtr;
    h.efer = s.efer;
    h.cr0 = s.cr0;
    h.cr3 = s.cr3;
    h.cr4 = s.cr4;
    h.rflags = s.get_rflags();
    h.rip = s.rip();
    h.rsp = s.gpr[RSP];
    h.rax = s.gpr[RAX];
    h.pat = s.msr.pat;

    // Controls are latched: L1 cannot change them while L2 runs. Features the CPU model does not
    // offer are ignored rather than failed (KVM does the same for NP_ENABLE).
    svm.ctl = v.control;
    svm.vmcb12_pa = pa;
    if (!c.features.npt) svm.ctl.nested_ctl &= ~kNestedCtlNpEnable;
    if (!c.features.vgif) svm.ctl.int_ctl &= ~(IntCtl::V_GIF_ENABLE | IntCtl::V_GIF);
    svm.ctl.int_ctl &= ~(IntCtl::V_NMI_ENABLE | IntCtl::V_NMI_PENDING | IntCtl::V_NMI_BLOCKING);
    const bool np = svm.ctl.nested_ctl & kNestedCtlNpEnable;

    // L2's state (15.5.1): the VMRUN save-area subset. SS.DPL carries the CPL (15.5.1, "CPL").
    const VmcbSave& g = v.save;
    s.seg[ES] = segment_from_vmcb(g.es);
    s.seg[CS] = segment_from_vmcb(g.cs);
    s.seg[SS] = segment_from_vmcb(g.ss);
    s.seg[SS].attrib = static_cast<uint16_t>((s.seg[SS].attrib & ~(3u << Attr::DPL_SHIFT)) |
                                             ((g.cpl & 3u) << Attr::DPL_SHIFT));
    s.seg[DS] = segment_from_vmcb(g.ds);
    s.gdtr = DescriptorTable{g.gdtr.base, g.gdtr.limit & 0xffff};
    s.idtr = DescriptorTable{g.idtr.base, g.idtr.limit & 0xffff};
    s.cr0 = g.cr0 | Cr0::ET;
    s.cr4 = g.cr4;
    s.cr3 = g.cr3;
    s.cr2 = g.cr2;
    // LMA follows LME and PG, whatever the VMCB says (as Bochs; the checks passed).
    s.efer = g.efer & ~Efer::LMA;
    if ((g.efer & Efer::LME) && (g.cr0 & Cr0::PG)) s.efer |= Efer::LMA;
    s.dr[6] = (g.dr6 & 0x0000f00f) | kDr6Reset;
    s.dr[7] = (g.dr7 & 0xffff2bff) | kDr7Reset;
    s.set_rflags(g.rflags);
    s.rip() = g.rip;
    s.gpr[RSP] = g.rsp;
    s.gpr[RAX] = g.rax;
    if (np) s.msr.pat = g.g_pat;
    s.update_mode();
    s.update_segment_checks();

    svm.guest_mode = true;
    svm.gif = true;
    s.halted = false;
    // A VMCB interrupt shadow holds off interrupts and NMIs for L2's first instruction (15.21.5).
    s.interrupt_shadow = (svm.ctl.int_state & 1) ? (Shadow::STI | Shadow::MOV_SS) : 0;

    sync_mmu(c);
    // TLB_CONTROL (15.16.2): reserved encodings are ignored (KVM stopped failing them).
    switch (svm.ctl.tlb_control) {
        case 1: c.mmu.flush(); break;
        case 3: c.mmu.flush_asid(svm.ctl.guest_asid, false); break;
        case 7: c.mmu.flush_asid(svm.ctl.guest_asid, true); break;
        default: break;
    }

    // EVENTINJ is delivered as part of VMRUN, before L2's first instruction (15.20).
    if (svm.ctl.event_inj & EventInj::V) {
        const Event ev = injected_event(s, svm.ctl.event_inj, svm.ctl.event_inj_err);
        const bool soft = ev.type == EventType::Software || ev.type == EventType::SoftwareException;
        if (soft && c.features.nrips) s.rip() = svm.ctl.next_rip;
        SvmExitRequest r;
        const DeliveryResult res = deliver_event(s, c.mmu, ev, &r);
        // A consumed EVENTINJ reads back as zero after #VMEXIT (V clear, as the APM requires;
        // QEMU and KVM clear the whole field and its error code).
        svm.ctl.event_inj = 0;
        svm.ctl.event_inj_err = 0;
        if (res == DeliveryResult::VmExit) {
            // The injected event did not complete: it is reported in EXITINTINFO (15.7.2).
            if (r.exit_int_info == 0) {
                r.exit_int_info = exit_int_info_of(ev);
                r.exit_int_info_err = ev.has_error ? ev.error : 0;
            }
            return vmexit(c, r, 0);
        }
        if (res == DeliveryResult::TripleFault) return SvmStatus::Shutdown;
    }
    return SvmStatus::Ok;
}

void Svm::sync_mmu(Cpu& c) {
    const CpuState& s = c.s;
    const SvmState& svm = s.svm;
    NestedPaging npt;
    if (svm.nested_paging()) {
        // The nested table's format is L1's paging mode at VMRUN (15.25.3).
        const SvmHostState& h = svm.host;
        npt.enabled = true;
        npt.n_cr3 = svm.ctl.n_cr3 & kPhysAddrMask;
        npt.pae = h.cr4 & Cr4::PAE;
        npt.lma = h.efer & Efer::LMA;
        npt.pse = h.cr4 & Cr4::PSE;
        npt.nxe = h.efer & Efer::NXE;
        npt.smep = h.cr4 & Cr4::SMEP;
    }
    const NestedPaging& o = c.mmu.npt;
    const bool changed = npt.enabled != o.enabled || npt.n_cr3 != o.n_cr3 || npt.pae != o.pae ||
                         npt.lma != o.lma || npt.pse != o.pse || npt.nxe != o.nxe ||
                         npt.smep != o.smep;
    c.mmu.npt = npt;
    const uint32_t asid = svm.guest_mode ? svm.ctl.guest_asid : 0;
    if (changed && asid == c.mmu.asid()) c.mmu.flush_asid(asid, false);
    c.mmu.set_asid(asid);
}

}  // namespace vx86::cpu
