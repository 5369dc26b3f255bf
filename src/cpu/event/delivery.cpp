// Event delivery through IVT and IDT. Everything is checked and pushed before any register is
// committed, so a fault during delivery leaves the interrupted state intact for #DF/#GP reporting.
#include "cpu/event/delivery.h"

#include "arch/descriptor.h"
#include "arch/vmcb.h"
#include "arch/vectors.h"
#include "cpu/mmu/segmentation.h"

namespace vx86::cpu {

using namespace arch;

namespace {

bool is_external(EventType t) {
    return t == EventType::Exception || t == EventType::External || t == EventType::Nmi ||
           t == EventType::PrivSoftware;
}

bool fail(CpuState& s, Vector v, uint32_t err) {
    set_fault(s, v, err);
    return false;
}

// Pushes onto a stack that is not yet the current one (new SS after a privilege change).
struct StackPush {
    CpuState& s;
    Mmu& mmu;
    uint64_t base;    // SS base (0 in long mode)
    uint64_t sp;      // current offset
    uint64_t sp_mask; // 0xffff, 0xffffffff or all ones
    uint64_t lo, hi;  // valid offsets (expand-down aware); unused in long mode
    bool long_mode;
    Priv priv;
    uint32_t ss_err;  // error code for #SS

    bool push(uint64_t v, unsigned size) {
        const uint64_t nsp = (sp - size) & sp_mask;
        if (!long_mode && (nsp < lo || nsp + size - 1 > hi)) return fail(s, Vector::SS, ss_err);
        const uint64_t la = (base + nsp) & s.la_mask;
        bool ok;
        switch (size) {
            case 2: ok = mmu.write(la, static_cast<uint16_t>(v), priv); break;
            case 4: ok = mmu.write(la, static_cast<uint32_t>(v), priv); break;
            default: ok = mmu.write(la, v, priv); break;
        }
        if (!ok) {
            if (s.fault.vector == static_cast<uint8_t>(Vector::GP)) set_fault(s, Vector::SS, ss_err);
            return false;
        }
        sp = nsp;
        return true;
    }
};

void segment_bounds(const Segment& ss, uint64_t& lo, uint64_t& hi) {
    const uint64_t top = ss.db() ? 0xffffffffull : 0xffffull;
    if (ss.s() && !(ss.type() & 8) && (ss.type() & Attr::E_C)) {
        lo = uint64_t{ss.limit} + 1;
        hi = top;
    } else {
        lo = 0;
        hi = ss.limit;
    }
}

// Real-mode delivery through the interrupt vector table (APM Vol 2, 8.8.1).
bool deliver_real(CpuState& s, Mmu& mmu, const Event& ev) {
    const uint64_t off = uint64_t{ev.vector} * 4;
    if (off + 3 > s.idtr.limit) return fail(s, Vector::GP, ev.vector * 8 + 2);
    uint32_t entry;
    if (!mmu.read((s.idtr.base + off) & s.la_mask, entry, Priv::Supervisor)) return false;
    uint64_t lo, hi;
    segment_bounds(s.seg[SS], lo, hi);
    StackPush st{s, mmu, s.seg[SS].base, s.gpr[RSP] & s.sp_mask, s.sp_mask, lo, hi,
                 false, Priv::Supervisor, 0};
    if (!st.push(s.get_rflags(), 2) || !st.push(s.seg[CS].selector, 2) || !st.push(s.rip(), 2))
        return false;
    s.gpr[RSP] = (s.gpr[RSP] & ~s.sp_mask) | st.sp;
    s.set_rflags(s.get_rflags() & ~(Rflags::IF | Rflags::TF | Rflags::AC | Rflags::RF));
    load_segment_real(s, CS, static_cast<uint16_t>(entry >> 16));
    s.rip() = entry & 0xffff;
    s.update_mode();
    return true;
}

// Protected and long mode delivery through the IDT (APM Vol 2, 8.7 and 8.9).
bool deliver_protected(CpuState& s, Mmu& mmu, const Event& ev) {
    const bool lm = s.long_mode();
    const uint32_t ext = is_external(ev.type) ? SelErr::EXT : 0;
    const uint32_t idt_err = ev.vector * 8u + SelErr::IDT + ext;
    const uint64_t esize = lm ? 16 : 8;
    const uint64_t off = uint64_t{ev.vector} * esize;
    if (off + esize - 1 > s.idtr.limit) return fail(s, Vector::GP, idt_err);
    RawDescriptor gate;
    const uint64_t la = (s.idtr.base + off) & s.la_mask;
    if (!mmu.read(la, gate.lo, Priv::Supervisor)) return false;
    if (lm && !mmu.read((la + 8) & s.la_mask, gate.hi, Priv::Supervisor)) return false;

    const uint8_t type = gate.type();
    bool gate32 = true, trap = false;
    if (gate.s()) return fail(s, Vector::GP, idt_err);
    if (lm) {
        if (type != SysType::INT_GATE && type != SysType::TRAP_GATE)
            return fail(s, Vector::GP, idt_err);
        trap = type == SysType::TRAP_GATE;
    } else {
        switch (type) {
            case SysType::INT_GATE16: gate32 = false; break;
            case SysType::TRAP_GATE16: gate32 = false; trap = true; break;
            case SysType::INT_GATE: break;
            case SysType::TRAP_GATE: trap = true; break;
            // FIXME: task gates need hardware task switching, which vx86 does not model yet.
            default: return fail(s, Vector::GP, idt_err);
        }
    }
    // Software interrupts may not reach a gate more privileged than the caller (8.9.4).
    if ((ev.type == EventType::Software || ev.type == EventType::SoftwareException) &&
        gate.dpl() < s.cpl)
        return fail(s, Vector::GP, idt_err);
    if (!gate.present()) return fail(s, Vector::NP, idt_err);

    const uint16_t cs_sel = gate.gate_selector();
    const uint64_t target = lm ? gate.gate_offset64() : gate32 ? gate.gate_offset32()
                                                               : gate.gate_offset32() & 0xffff;
    if (sel_null(cs_sel)) return fail(s, Vector::GP, ext);
    RawDescriptor csd;
    switch (read_descriptor(s, mmu, cs_sel, csd)) {
        case DescFault::Limit: return fail(s, Vector::GP, (cs_sel & 0xfffc) | ext);
        case DescFault::Page: return false;
        case DescFault::None: break;
    }
    if (!csd.is_code() || csd.dpl() > s.cpl) return fail(s, Vector::GP, (cs_sel & 0xfffc) | ext);
    if (!csd.present()) return fail(s, Vector::NP, (cs_sel & 0xfffc) | ext);
    if (lm && (!csd.l() || csd.db())) return fail(s, Vector::GP, (cs_sel & 0xfffc) | ext);

    const bool conforming = csd.type() & 4;
    const uint8_t new_cpl = conforming ? s.cpl : csd.dpl();
    const bool from_v86 = s.mode == CpuMode::Virtual8086;
    if (from_v86 && new_cpl != 0) return fail(s, Vector::GP, (cs_sel & 0xfffc) | ext);
    const bool stack_switch = new_cpl < s.cpl;
    const uint64_t old_rflags = s.get_rflags();
    const Segment old_ss = s.seg[SS];
    const uint64_t old_rsp = s.gpr[RSP];

    Segment new_ss = old_ss;
    uint64_t new_sp = old_rsp;
    if (lm) {
        const unsigned ist = gate.gate_ist();
        if (stack_switch || ist) {
            const uint64_t tss_off = ist ? 0x24 + (ist - 1) * 8 : 4 + new_cpl * 8;
            if (tss_off + 7 > s.tr.limit) return fail(s, Vector::TS, (s.tr.selector & 0xfffc) | ext);
            if (!mmu.read((s.tr.base + tss_off) & s.la_mask, new_sp, Priv::Supervisor)) return false;
        }
        if (stack_switch) new_ss = null_segment(new_cpl, new_cpl);
        new_sp &= ~uint64_t{0xf};  // 64-bit delivery aligns the stack (8.9.3)
    } else if (stack_switch) {
        // Inner stack from the TSS (12.2.5): 32-bit TSS holds ESPn/SSn at 4+8n/8+8n.
        const bool tss32 = (s.tr.type() & 8) != 0;
        const uint64_t tss_off = tss32 ? 4 + new_cpl * 8 : 2 + new_cpl * 4;
        const uint64_t need = tss32 ? 5 : 3;
        if (tss_off + need > s.tr.limit) return fail(s, Vector::TS, (s.tr.selector & 0xfffc) | ext);
        uint16_t ss_sel;
        if (tss32) {
            uint32_t esp;
            if (!mmu.read((s.tr.base + tss_off) & s.la_mask, esp, Priv::Supervisor) ||
                !mmu.read((s.tr.base + tss_off + 4) & s.la_mask, ss_sel, Priv::Supervisor))
                return false;
            new_sp = esp;
        } else {
            uint16_t sp16;
            if (!mmu.read((s.tr.base + tss_off) & s.la_mask, sp16, Priv::Supervisor) ||
                !mmu.read((s.tr.base + tss_off + 2) & s.la_mask, ss_sel, Priv::Supervisor))
                return false;
            new_sp = sp16;
        }
        const uint32_t ts_err = (ss_sel & 0xfffc) | ext;
        if (sel_null(ss_sel)) return fail(s, Vector::TS, ext);
        RawDescriptor ssd;
        switch (read_descriptor(s, mmu, ss_sel, ssd)) {
            case DescFault::Limit: return fail(s, Vector::TS, ts_err);
            case DescFault::Page: return false;
            case DescFault::None: break;
        }
        if (sel_rpl(ss_sel) != new_cpl || ssd.dpl() != new_cpl || !ssd.is_data() || !(ssd.type() & 2))
            return fail(s, Vector::TS, ts_err);
        if (!ssd.present()) return fail(s, Vector::SS, ts_err);
        if (!set_descriptor_accessed(s, mmu, ss_sel, ssd)) return false;
        new_ss = segment_from_descriptor(ss_sel, ssd);
    }

    uint64_t lo = 0, hi = ~uint64_t{0};
    if (!lm) segment_bounds(new_ss, lo, hi);
    const uint64_t sp_mask = lm ? ~uint64_t{0} : (new_ss.db() ? 0xffffffffull : 0xffffull);
    StackPush st{s, mmu, lm ? 0 : new_ss.base, new_sp & sp_mask, sp_mask, lo, hi, lm,
                 (new_cpl == 3) ? Priv::Current : Priv::Supervisor,
                 stack_switch ? static_cast<uint32_t>((new_ss.selector & 0xfffc) | ext) : ext};
    const unsigned w = lm ? 8 : gate32 ? 4 : 2;
    bool ok = true;
    if (from_v86) {
        ok = st.push(s.seg[GS].selector, w) && st.push(s.seg[FS].selector, w) &&
             st.push(s.seg[DS].selector, w) && st.push(s.seg[ES].selector, w);
    }
    if (ok && (stack_switch || lm)) ok = st.push(old_ss.selector, w) && st.push(old_rsp, w);
    ok = ok && st.push(old_rflags, w) && st.push(s.seg[CS].selector, w) && st.push(s.rip(), w);
    if (ok && ev.has_error) ok = st.push(ev.error, w);
    if (!ok) return false;

    // Commit (8.7.3): new CS/SS/RSP, flags cleared per gate type.
    if (!set_descriptor_accessed(s, mmu, cs_sel, csd)) return false;
    Segment cs = segment_from_descriptor(static_cast<uint16_t>((cs_sel & ~3) | new_cpl), csd);
    if (from_v86) {
        for (unsigned r : {ES, DS, FS, GS}) s.seg[r] = null_segment(0, 0);
    }
    s.seg[CS] = cs;
    s.seg[SS] = new_ss;
    s.gpr[RSP] = lm ? st.sp : (s.gpr[RSP] & ~sp_mask) | st.sp;
    if (lm && !stack_switch && !gate.gate_ist()) s.gpr[RSP] = st.sp;
    uint64_t f = old_rflags & ~(Rflags::TF | Rflags::NT | Rflags::RF | Rflags::VM);
    if (!trap) f &= ~Rflags::IF;
    s.set_rflags(f);
    s.rip() = target;
    s.update_mode();
    if (lm && stack_switch) s.update_segment_checks();
    return true;
}

bool try_deliver(CpuState& s, Mmu& mmu, const Event& ev) {
    if (ev.vector == static_cast<uint8_t>(Vector::PF) && ev.type == EventType::Exception)
        s.cr2 = ev.cr2;
    return s.protected_mode() ? deliver_protected(s, mmu, ev) : deliver_real(s, mmu, ev);
}

}  // namespace

uint32_t exit_int_info_of(const Event& ev) {
    uint32_t type = EventInj::TYPE_EXCEPTION;
    switch (ev.type) {
        case EventType::External: type = EventInj::TYPE_INTR; break;
        case EventType::Nmi: type = EventInj::TYPE_NMI; break;
        case EventType::Software: type = EventInj::TYPE_SOFT_INT; break;
        default: break;  // faults, traps, INT3/INTO and INT1 are exceptions
    }
    return ev.vector | (type << EventInj::TYPE_SHIFT) | (ev.has_error ? EventInj::EV : 0) |
           EventInj::V;
}

namespace {

// Events the exception intercepts apply to: those the CPU raises as exceptions, including
// INT3/INTO/INT1, but not INT n (its own intercept) nor interrupts (APM Vol 2, 15.12).
bool exception_like(const Event& ev) {
    return ev.type == EventType::Exception || ev.type == EventType::SoftwareException ||
           ev.type == EventType::PrivSoftware;
}

}  // namespace

DeliveryResult deliver_event(CpuState& s, Mmu& mmu, const Event& first, SvmExitRequest* vmexit) {
    Event ev = first;
    const uint64_t saved_rip = s.rip();
    for (;;) {
        // Exception intercepts are checked as the exception is raised, before #DF combination
        // (APM Vol 2, 15.12). An event injected through EVENTINJ is not intercepted (15.20).
        if (vmexit && s.svm.guest_mode && exception_like(ev) && !ev.injected &&
            s.svm.intercept_exception(ev.vector)) {
            *vmexit = SvmExitRequest{};
            vmexit->code = 0x40 + uint64_t{ev.vector};
            vmexit->info1 = ev.has_error ? ev.error : 0;
            vmexit->info2 = ev.vector == static_cast<uint8_t>(Vector::PF) && ev.type == EventType::Exception
                                ? ev.cr2 : 0;
            // A #DF reports no event in flight: it already stands for the pair that caused it.
            vmexit->rip = ev.insn_rip;
            return DeliveryResult::VmExit;
        }
        if (try_deliver(s, mmu, ev)) {
            s.interrupt_shadow = 0;
            s.halted = false;
            if (ev.type == EventType::Nmi) s.nmi_blocked = true;
            return DeliveryResult::Delivered;
        }
        const Fault f = s.fault;
        // The new exception reports the instruction that raised the original event.
        s.rip() = ev.type == EventType::External || ev.type == EventType::Nmi ? saved_rip
                                                                               : ev.insn_rip;
        if (f.vector == kNpfVector && vmexit) {
            // A nested page fault while delivering: #VMEXIT(NPF) with this event in flight.
            *vmexit = SvmExitRequest{};
            vmexit->code = 0x400;
            vmexit->info1 = f.npf_info;
            vmexit->info2 = f.cr2;
            vmexit->exit_int_info = exit_int_info_of(ev);
            vmexit->exit_int_info_err = ev.has_error ? ev.error : 0;
            vmexit->rip = s.rip();
            return DeliveryResult::VmExit;
        }
        // An exception raised while delivering `ev` is checked against the intercepts before it
        // combines into #DF; `ev` is then the event in flight (15.7.2).
        if (vmexit && s.svm.intercept_exception(f.vector)) {
            *vmexit = SvmExitRequest{};
            vmexit->code = 0x40 + uint64_t{f.vector};
            vmexit->info1 = f.has_error ? f.error : 0;
            vmexit->info2 = f.vector == static_cast<uint8_t>(Vector::PF) ? f.cr2 : 0;
            vmexit->exit_int_info = exit_int_info_of(ev);
            vmexit->exit_int_info_err = ev.has_error ? ev.error : 0;
            vmexit->rip = s.rip();
            return DeliveryResult::VmExit;
        }
        if (ev.type == EventType::Exception && ev.vector == static_cast<uint8_t>(Vector::DF)) {
            if (vmexit && s.svm.intercept_misc1(InterceptMisc1::SHUTDOWN)) {
                *vmexit = SvmExitRequest{};
                vmexit->code = 0x7f;
                vmexit->rip = s.rip();
                return DeliveryResult::VmExit;
            }
            return DeliveryResult::TripleFault;
        }
        // Double-fault rules (APM Vol 2, 8.2.9, table 8-2). Only exceptions combine.
        bool df = false;
        if (ev.type == EventType::Exception) {
            const ExceptionClass a = exception_class(ev.vector), b = exception_class(f.vector);
            df = (a == ExceptionClass::Contributory && b == ExceptionClass::Contributory) ||
                 (a == ExceptionClass::PageFault && b != ExceptionClass::Benign);
        }
        const uint64_t insn = ev.insn_rip;
        if (df) {
            ev = Event{static_cast<uint8_t>(Vector::DF), EventType::Exception, true, 0, 0, insn};
        } else {
            ev = Event{f.vector, EventType::Exception, f.has_error, f.error, f.cr2, insn};
        }
    }
}

}  // namespace vx86::cpu
