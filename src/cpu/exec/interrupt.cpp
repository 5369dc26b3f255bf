// Interrupt family: INT n, INT3, INTO, INT1, BOUND, UD0/UD1/UD2 and IRET/IRETD/IRETQ in every mode
// (AMD APM Vol 3 "INT", "IRET"; Vol 2 8.7-8.9). Delivery itself lives in cpu/event.
#include <Zydis/Zydis.h>

#include "cpu/event/delivery.h"
#include "cpu/exec/families.h"
#include "cpu/exec/operands.h"
#include "cpu/exec/svm_intercept.h"
#include "cpu/mmu/segmentation.h"

namespace vx86::cpu {

namespace {

using namespace arch;

ExecStatus deliver_software(Cpu& c, const Insn& in, uint8_t vector, EventType type) {
    return deliver_from_insn(c, Event{vector, type, false, 0, 0, c.s.rip() - in.len});
}

ExecStatus int_n(Cpu& c, const Insn& in) {
    // The INTn intercept is checked before the instruction's exceptions (APM Vol 2, 15.9);
    // EXITINFO1 carries the vector only with decode assists, which vx86 does not offer.
    if (c.s.svm.intercept_misc1(InterceptMisc1::INTN)) return svm_exit(c, in, 0x75);
    // Without VME, INT n in virtual-8086 mode needs IOPL 3 (APM Vol 3, "INT").
    if (c.s.mode == CpuMode::Virtual8086 && c.s.iopl() < 3) return raise_gp0(c);
    return deliver_software(c, in, static_cast<uint8_t>(in.imm), EventType::Software);
}

ExecStatus int3(Cpu& c, const Insn& in) {
    return deliver_software(c, in, static_cast<uint8_t>(Vector::BP), EventType::SoftwareException);
}

ExecStatus int1(Cpu& c, const Insn& in) {
    if (c.s.svm.intercept_misc2(InterceptMisc2::ICEBP)) return svm_exit(c, in, 0x88);
    return deliver_software(c, in, static_cast<uint8_t>(Vector::DB), EventType::PrivSoftware);
}

ExecStatus into(Cpu& c, const Insn& in) {
    if (!(c.s.get_rflags() & Rflags::OF)) return ExecStatus::Next;
    return deliver_software(c, in, static_cast<uint8_t>(Vector::OF), EventType::SoftwareException);
}

// BOUND: signed bounds pair at the memory operand; out of range is #BR (a fault).
template <unsigned S>
ExecStatus bound(Cpu& c, const Insn& in) {
    if (in.kind(1) != OpKind::Mem) return raise_ud(c);
    const uint64_t ea = effective_address(c, in);
    uint_t<S> lo, hi;
    if (!read_mem(c, in.seg, ea, lo) || !read_mem(c, in.seg, (ea + S) & in.amask, hi))
        return ExecStatus::Fault;
    const auto v = static_cast<int_t<S>>(get_reg<S>(c, in.r[0]));
    if (v < static_cast<int_t<S>>(lo) || v > static_cast<int_t<S>>(hi)) return raise(c, Vector::BR);
    return ExecStatus::Next;
}

// ---- IRET ------------------------------------------------------------------------------------

struct Frame {
    uint64_t rip = 0, cs = 0, flags = 0, rsp = 0, ss = 0;
};

bool read_stack(Cpu& c, uint64_t off, unsigned n, uint64_t& v) {
    const uint64_t a = off & c.s.sp_mask;
    switch (n) {
        case 2: { uint16_t t; if (!read_mem(c, SS, a, t)) return false; v = t; return true; }
        case 4: { uint32_t t; if (!read_mem(c, SS, a, t)) return false; v = t; return true; }
        default: return read_mem(c, SS, a, v);
    }
}

// New RFLAGS after IRET: IOPL only at CPL 0, IF only at CPL <= IOPL; VIF/VIP only at CPL 0;
// a 16-bit IRET keeps the upper half.
uint64_t iret_flags(const CpuState& s, uint64_t popped, unsigned n, uint8_t cpl_before) {
    const uint64_t old = s.get_rflags();
    uint64_t keep = 0;
    if (cpl_before > 0) keep |= Rflags::IOPL | Rflags::VIF | Rflags::VIP;
    if (cpl_before > s.iopl()) keep |= Rflags::IF;
    if (n == 2) keep |= ~uint64_t{0xffff};
    return (old & keep) | (popped & ~keep);
}

void finish_iret(Cpu& c) {
    c.s.nmi_blocked = false;  // IRET ends NMI blocking (APM Vol 2, 8.2.3)
}

ExecStatus iret_real(Cpu& c, unsigned n) {
    CpuState& s = c.s;
    if (s.mode == CpuMode::Virtual8086 && s.iopl() < 3) return raise_gp0(c);
    const uint64_t sp = s.gpr[RSP] & s.sp_mask;
    Frame f;
    if (!read_stack(c, sp, n, f.rip) || !read_stack(c, sp + n, n, f.cs) ||
        !read_stack(c, sp + 2 * n, n, f.flags))
        return ExecStatus::Fault;
    if (f.rip > s.seg[CS].limit && s.mode == CpuMode::Real) return raise_gp0(c);
    uint64_t keep = Rflags::VM | Rflags::VIF | Rflags::VIP;
    if (s.mode == CpuMode::Virtual8086) keep |= Rflags::IOPL;
    if (n == 2) keep |= ~uint64_t{0xffff};
    const uint64_t old = s.get_rflags();
    s.set_rflags((old & keep) | (f.flags & ~keep));
    load_segment_real(s, CS, static_cast<uint16_t>(f.cs));
    s.rip() = f.rip & base::size_mask(n);
    s.gpr[RSP] = (s.gpr[RSP] & ~s.sp_mask) | ((sp + 3 * n) & s.sp_mask);
    s.update_mode();
    finish_iret(c);
    return ExecStatus::Branch;
}

// IRET from CPL 0 to virtual-8086 mode (APM Vol 3 "IRET", the "RETURN_TO_VIRTUAL_8086_MODE" case).
ExecStatus iret_to_v86(Cpu& c, const Frame& f, uint64_t sp) {
    CpuState& s = c.s;
    uint64_t rsp, ss, es, ds, fs, gs;
    if (!read_stack(c, sp + 12, 4, rsp) || !read_stack(c, sp + 16, 4, ss) ||
        !read_stack(c, sp + 20, 4, es) || !read_stack(c, sp + 24, 4, ds) ||
        !read_stack(c, sp + 28, 4, fs) || !read_stack(c, sp + 32, 4, gs))
        return ExecStatus::Fault;
    s.set_rflags(f.flags);
    s.update_mode();  // now virtual-8086
    load_segment_real(s, CS, static_cast<uint16_t>(f.cs));
    load_segment_real(s, SS, static_cast<uint16_t>(ss));
    load_segment_real(s, ES, static_cast<uint16_t>(es));
    load_segment_real(s, DS, static_cast<uint16_t>(ds));
    load_segment_real(s, FS, static_cast<uint16_t>(fs));
    load_segment_real(s, GS, static_cast<uint16_t>(gs));
    s.rip() = f.rip & 0xffff;
    s.gpr[RSP] = rsp & 0xffffffff;
    s.update_mode();
    finish_iret(c);
    return ExecStatus::Branch;
}

ExecStatus iret_protected(Cpu& c, unsigned n) {
    CpuState& s = c.s;
    const bool lm = s.long_mode();
    if (s.rflags & Rflags::NT) {
        // FIXME: a nested-task return needs hardware task switching; long mode forbids it.
        return raise_gp0(c);
    }
    const uint64_t sp = s.gpr[RSP] & s.sp_mask;
    Frame f;
    if (!read_stack(c, sp, n, f.rip) || !read_stack(c, sp + n, n, f.cs) ||
        !read_stack(c, sp + 2 * n, n, f.flags))
        return ExecStatus::Fault;
    if (!lm && (f.flags & Rflags::VM) && s.cpl == 0 && n == 4) return iret_to_v86(c, f, sp);

    const uint16_t sel = static_cast<uint16_t>(f.cs);
    RawDescriptor d;
    if (!check_return_cs(s, c.mmu, sel, d)) return ExecStatus::Fault;
    const uint8_t rpl = sel_rpl(sel);
    const bool to64 = lm && d.l();
    if (to64 ? !is_canonical(f.rip) : f.rip > d.limit()) return raise_gp0(c);

    // 64-bit mode always pops SS:RSP; otherwise only on a return to an outer level.
    const bool pop_stack = s.mode == CpuMode::Long64 || rpl > s.cpl;
    Segment new_ss = s.seg[SS];
    if (pop_stack) {
        if (!read_stack(c, sp + 3 * n, n, f.rsp) || !read_stack(c, sp + 4 * n, n, f.ss))
            return ExecStatus::Fault;
        if (!load_return_ss(s, c.mmu, static_cast<uint16_t>(f.ss), rpl, to64, new_ss))
            return ExecStatus::Fault;
    }
    if (!set_descriptor_accessed(s, c.mmu, sel, d)) return ExecStatus::Fault;

    const uint8_t cpl_before = s.cpl;
    const uint64_t flags = iret_flags(s, f.flags, n, cpl_before) & ~Rflags::VM & ~Rflags::RF;
    s.seg[CS] = segment_from_descriptor(sel, d);
    if (pop_stack) {
        s.seg[SS] = new_ss;
        const uint64_t mask = to64 ? ~uint64_t{0} : (new_ss.db() ? 0xffffffffull : 0xffffull);
        s.gpr[RSP] = to64 ? f.rsp : (s.gpr[RSP] & ~mask) | (f.rsp & mask);
    } else {
        s.gpr[RSP] = (s.gpr[RSP] & ~s.sp_mask) | ((sp + 3 * n) & s.sp_mask);
    }
    s.set_rflags(flags);
    s.rip() = to64 ? f.rip : f.rip & base::size_mask(n);
    s.update_mode();
    if (rpl > cpl_before) null_inaccessible_data_segments(s);
    finish_iret(c);
    return ExecStatus::Branch;
}

template <unsigned N>
ExecStatus iret(Cpu& c, const Insn& in) {
    if (c.s.svm.intercept_misc1(InterceptMisc1::IRET)) return svm_exit(c, in, 0x74);
    if (c.s.mode == CpuMode::Real || c.s.mode == CpuMode::Virtual8086) return iret_real(c, N);
    return iret_protected(c, N);
}

}  // namespace

Handler bind_interrupt(const Insn& in) {
    switch (in.mnemonic) {
        case ZYDIS_MNEMONIC_INT: return &int_n;
        case ZYDIS_MNEMONIC_INT3: return &int3;
        case ZYDIS_MNEMONIC_INT1: return &int1;
        case ZYDIS_MNEMONIC_INTO: return &into;
        case ZYDIS_MNEMONIC_UD0:
        case ZYDIS_MNEMONIC_UD1:
        case ZYDIS_MNEMONIC_UD2: return &exec_ud;
        case ZYDIS_MNEMONIC_BOUND:
            return in.opsz[0] == 2 ? &bound<2> : in.opsz[0] == 4 ? &bound<4> : nullptr;
        case ZYDIS_MNEMONIC_IRET: return &iret<2>;
        case ZYDIS_MNEMONIC_IRETD: return &iret<4>;
        case ZYDIS_MNEMONIC_IRETQ: return &iret<8>;
        default: return nullptr;
    }
}

}  // namespace vx86::cpu
