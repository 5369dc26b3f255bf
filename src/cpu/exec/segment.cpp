// Segment family: MOV/PUSH/POP Sreg, LDS/LES/LFS/LGS/LSS, far JMP/CALL/RET (with call gates),
// LLDT/LTR/SLDT/STR, LAR/LSL/VERR/VERW, ARPL. Checks follow AMD APM Vol 2 4.10-4.11, Vol 3.
#include <Zydis/Zydis.h>

#include "cpu/exec/families.h"
#include "cpu/exec/operands.h"
#include "cpu/exec/svm_intercept.h"
#include "cpu/mmu/segmentation.h"

namespace vx86::cpu {

namespace {

using namespace arch;

bool pm(const Cpu& c) {
    return c.s.mode != CpuMode::Real && c.s.mode != CpuMode::Virtual8086;
}

// Loads any data segment register or SS in the current mode. MOV/POP SS open an interrupt shadow.
bool load_sreg(Cpu& c, unsigned seg, uint16_t sel) {
    if (!pm(c)) {
        load_segment_real(c.s, seg, sel);
        if (seg == SS) c.s.update_mode();
        else c.s.update_segment_checks();
        return true;
    }
    return load_data_segment(c.s, c.mmu, seg, sel);
}

ExecStatus after_load(Cpu& c, unsigned seg) {
    if (seg == SS) c.s.interrupt_shadow |= Shadow::MOV_SS;
    return ExecStatus::Branch;
}

ExecStatus mov_to_sreg(Cpu& c, const Insn& in) {
    const unsigned seg = in.r[0];
    if (seg == CS) return raise_ud(c);
    uint16_t sel;
    if (!read_op<2>(c, in, 1, sel)) return ExecStatus::Fault;
    if (!load_sreg(c, seg, sel)) return ExecStatus::Fault;
    return after_load(c, seg);
}

ExecStatus mov_from_sreg(Cpu& c, const Insn& in) {
    const uint16_t sel = c.s.seg[in.r[1]].selector;
    if (in.kind(0) == OpKind::Mem)
        return write_mem(c, in.seg, effective_address(c, in), sel) ? ExecStatus::Next
                                                                    : ExecStatus::Fault;
    set_reg_sized(c, in.r[0], in.opsz[0], sel);  // zero-extended for 32/64-bit destinations
    return ExecStatus::Next;
}

ExecStatus push_sreg(Cpu& c, const Insn& in) {
    return push_sized(c, in.osize, c.s.seg[in.r[0]].selector) ? ExecStatus::Next
                                                              : ExecStatus::Fault;
}

ExecStatus pop_sreg(Cpu& c, const Insn& in) {
    const unsigned seg = in.r[0];
    if (seg == CS) return raise_ud(c);
    const uint64_t old_rsp = c.s.gpr[RSP];
    uint64_t v;
    if (!pop_sized(c, in.osize, v)) return ExecStatus::Fault;
    if (!load_sreg(c, seg, static_cast<uint16_t>(v))) {
        c.s.gpr[RSP] = old_rsp;
        return ExecStatus::Fault;
    }
    return after_load(c, seg);
}

// LDS/LES/LFS/LGS/LSS reg, m16:16/32/64: offset first, selector after it.
ExecStatus load_far_pointer(Cpu& c, const Insn& in) {
    unsigned seg = DS;
    switch (in.mnemonic) {
        case ZYDIS_MNEMONIC_LES: seg = ES; break;
        case ZYDIS_MNEMONIC_LFS: seg = FS; break;
        case ZYDIS_MNEMONIC_LGS: seg = GS; break;
        case ZYDIS_MNEMONIC_LSS: seg = SS; break;
        default: break;
    }
    if (in.kind(1) != OpKind::Mem) return raise_ud(c);
    const uint64_t ea = effective_address(c, in);
    const unsigned n = in.opsz[0];
    uint64_t off = 0;
    uint16_t sel;
    bool ok;
    switch (n) {
        case 2: { uint16_t t; ok = read_mem(c, in.seg, ea, t); off = t; break; }
        case 4: { uint32_t t; ok = read_mem(c, in.seg, ea, t); off = t; break; }
        default: ok = read_mem(c, in.seg, ea, off); break;
    }
    if (!ok || !read_mem(c, in.seg, (ea + n) & in.amask, sel)) return ExecStatus::Fault;
    if (!load_sreg(c, seg, sel)) return ExecStatus::Fault;
    set_reg_sized(c, in.r[0], n, off);
    // No interrupt shadow: only MOV SS and POP SS open one (APM Vol 2, 8.5 "Interrupt Shadows").
    return ExecStatus::Branch;
}

// ---- far transfers ---------------------------------------------------------------------------

bool fault(Cpu& c, Vector v, uint32_t err) {
    set_fault(c.s, v, err);
    return false;
}

bool check_target_offset(Cpu& c, const RawDescriptor& d, uint64_t off) {
    if (c.s.long_mode() && d.l()) return is_canonical(off) || fault(c, Vector::GP, 0);
    return off <= d.limit() || fault(c, Vector::GP, 0);
}

void commit_cs(Cpu& c, uint16_t sel, const RawDescriptor& d, uint8_t cpl, uint64_t rip) {
    c.s.seg[CS] = segment_from_descriptor(static_cast<uint16_t>((sel & ~3) | cpl), d);
    c.s.rip() = rip;
    c.s.update_mode();
}

// Pushes onto the current stack with size n (2, 4, 8).
bool push_n(Cpu& c, unsigned n, uint64_t v) { return push_sized(c, n, v); }

// Far CALL through a call gate to a more privileged non-conforming segment: stack switch from the
// TSS and (legacy) parameter copy (APM Vol 2, 4.11.2 "Call Gates" / 4.8.5 stack switching).
bool call_gate_inner(Cpu& c, const RawDescriptor& gate, uint16_t tsel, const RawDescriptor& td,
                     uint64_t target, unsigned n) {
    CpuState& s = c.s;
    const uint8_t dpl = td.dpl();
    const bool lm = s.long_mode();
    uint64_t new_sp;
    Segment new_ss;
    if (lm) {
        const uint64_t off = 4 + dpl * 8;
        if (off + 7 > s.tr.limit) return fault(c, Vector::TS, s.tr.selector & 0xfffc);
        if (!c.mmu.read((s.tr.base + off) & s.la_mask, new_sp, Priv::Supervisor)) return false;
        new_ss = null_segment(dpl, dpl);
        new_ss.attrib |= Attr::P | Attr::S | Attr::W_R | Attr::DB;
    } else {
        const bool tss32 = (s.tr.type() & 8) != 0;
        const uint64_t off = tss32 ? 4 + dpl * 8 : 2 + dpl * 4;
        if (off + (tss32 ? 5 : 3) > s.tr.limit) return fault(c, Vector::TS, s.tr.selector & 0xfffc);
        uint16_t ss_sel;
        if (tss32) {
            uint32_t esp;
            if (!c.mmu.read((s.tr.base + off) & s.la_mask, esp, Priv::Supervisor) ||
                !c.mmu.read((s.tr.base + off + 4) & s.la_mask, ss_sel, Priv::Supervisor))
                return false;
            new_sp = esp;
        } else {
            uint16_t sp16;
            if (!c.mmu.read((s.tr.base + off) & s.la_mask, sp16, Priv::Supervisor) ||
                !c.mmu.read((s.tr.base + off + 2) & s.la_mask, ss_sel, Priv::Supervisor))
                return false;
            new_sp = sp16;
        }
        RawDescriptor sd;
        if (sel_null(ss_sel)) return fault(c, Vector::TS, 0);
        switch (read_descriptor(s, c.mmu, ss_sel, sd)) {
            case DescFault::Limit: return fault(c, Vector::TS, ss_sel & 0xfffc);
            case DescFault::Page: return false;
            case DescFault::None: break;
        }
        if (sel_rpl(ss_sel) != dpl || sd.dpl() != dpl || !sd.is_data() || !(sd.type() & 2))
            return fault(c, Vector::TS, ss_sel & 0xfffc);
        if (!sd.present()) return fault(c, Vector::SS, ss_sel & 0xfffc);
        if (!set_descriptor_accessed(s, c.mmu, ss_sel, sd)) return false;
        new_ss = segment_from_descriptor(ss_sel, sd);
    }
    // Gather parameters from the old stack before switching.
    const unsigned params = lm ? 0 : gate.call_gate_params();
    uint64_t pv[32];
    const uint64_t old_sp = s.gpr[RSP] & s.sp_mask;
    for (unsigned i = 0; i < params; ++i) {
        const uint64_t a = (old_sp + i * n) & s.sp_mask;
        if (n == 4) { uint32_t t; if (!read_mem(c, SS, a, t)) return false; pv[i] = t; }
        else { uint16_t t; if (!read_mem(c, SS, a, t)) return false; pv[i] = t; }
    }
    const Segment old_ss = s.seg[SS];
    const uint64_t old_rsp = s.gpr[RSP];
    const Segment old_cs = s.seg[CS];
    const uint64_t old_rip = s.rip();
    const uint8_t old_cpl = s.cpl;
    // Switch to the inner stack and CPL so the pushes are checked against it.
    s.seg[SS] = new_ss;
    s.seg[CS] = segment_from_descriptor(static_cast<uint16_t>((tsel & ~3) | dpl), td);
    s.gpr[RSP] = lm ? (new_sp & ~uint64_t{0}) : new_sp;
    s.update_mode();
    bool ok = push_n(c, n, old_ss.selector) && push_n(c, n, old_rsp);
    for (unsigned i = params; ok && i > 0; --i) ok = push_n(c, n, pv[i - 1]);
    ok = ok && push_n(c, n, old_cs.selector) && push_n(c, n, old_rip);
    if (!ok) {
        s.seg[SS] = old_ss;
        s.seg[CS] = old_cs;
        s.gpr[RSP] = old_rsp;
        s.update_mode();
        (void)old_cpl;
        return false;
    }
    s.rip() = target;
    return true;
}

// Far JMP or CALL to sel:off with operand size n (APM Vol 3, "JMP (Far)", "CALL (Far)").
bool far_transfer(Cpu& c, uint16_t sel, uint64_t off, bool call, unsigned n) {
    CpuState& s = c.s;
    if (!pm(c)) {
        if (call && !(push_n(c, n, s.seg[CS].selector) && push_n(c, n, s.rip()))) return false;
        load_segment_real(s, CS, sel);
        s.rip() = off & base::size_mask(n);
        s.update_mode();
        return true;
    }
    if (sel_null(sel)) return fault(c, Vector::GP, 0);
    RawDescriptor d;
    switch (read_descriptor(s, c.mmu, sel, d)) {
        case DescFault::Limit: return fault(c, Vector::GP, sel & 0xfffc);
        case DescFault::Page: return false;
        case DescFault::None: break;
    }
    const uint32_t err = sel & 0xfffc;
    if (d.is_code()) {
        const bool conforming = d.type() & 4;
        if (conforming ? d.dpl() > s.cpl : (sel_rpl(sel) > s.cpl || d.dpl() != s.cpl))
            return fault(c, Vector::GP, err);
        if (!d.present()) return fault(c, Vector::NP, err);
        if (s.long_mode() && d.l() && d.db()) return fault(c, Vector::GP, err);
        if (!check_target_offset(c, d, off & base::size_mask(n))) return false;
        if (call && !(push_n(c, n, s.seg[CS].selector) && push_n(c, n, s.rip()))) return false;
        if (!set_descriptor_accessed(s, c.mmu, sel, d)) return false;
        commit_cs(c, sel, d, s.cpl, off & base::size_mask(n));
        return true;
    }
    // System descriptor: only call gates are supported (task switches are not modelled).
    const bool lm = s.long_mode();
    if (d.s() || !(d.type() == SysType::CALL_GATE || (!lm && d.type() == SysType::CALL_GATE16)))
        return fault(c, Vector::GP, err);  // FIXME: TSS and task-gate targets need task switching
    if (lm && read_descriptor(s, c.mmu, sel, d, true) != DescFault::None)
        return s.fault.vector == static_cast<uint8_t>(Vector::PF) ? false : fault(c, Vector::GP, err);
    // The upper half of a 64-bit call gate must have a zero type field (APM Vol 2, 4.8.3
    // "Call Gates", figure 4-24).
    if (lm && ((d.hi >> 40) & 0x1f) != 0) return fault(c, Vector::GP, err);
    if (d.dpl() < s.cpl || d.dpl() < sel_rpl(sel)) return fault(c, Vector::GP, err);
    if (!d.present()) return fault(c, Vector::NP, err);
    const uint16_t tsel = d.gate_selector();
    if (sel_null(tsel)) return fault(c, Vector::GP, 0);
    RawDescriptor td;
    switch (read_descriptor(s, c.mmu, tsel, td)) {
        case DescFault::Limit: return fault(c, Vector::GP, tsel & 0xfffc);
        case DescFault::Page: return false;
        case DescFault::None: break;
    }
    const uint32_t terr = tsel & 0xfffc;
    if (!td.is_code() || td.dpl() > s.cpl) return fault(c, Vector::GP, terr);
    if (lm && (!td.l() || td.db())) return fault(c, Vector::GP, terr);
    const bool conforming = td.type() & 4;
    if (!call && !conforming && td.dpl() != s.cpl) return fault(c, Vector::GP, terr);
    if (!td.present()) return fault(c, Vector::NP, terr);
    const unsigned gn = lm ? 8 : d.type() == SysType::CALL_GATE ? 4 : 2;
    const uint64_t target = lm ? d.gate_offset64() : gn == 4 ? d.gate_offset32() : d.gate_offset32() & 0xffff;
    if (!check_target_offset(c, td, target)) return false;
    if (!set_descriptor_accessed(s, c.mmu, tsel, td)) return false;
    if (call && !conforming && td.dpl() < s.cpl) return call_gate_inner(c, d, tsel, td, target, gn);
    if (call && !(push_n(c, gn, s.seg[CS].selector) && push_n(c, gn, s.rip()))) return false;
    commit_cs(c, tsel, td, s.cpl, target);
    return true;
}

template <bool CALL>
ExecStatus far_jmp_call(Cpu& c, const Insn& in) {
    uint16_t sel;
    uint64_t off;
    const unsigned n = in.osize;
    if (in.kind(0) == OpKind::Ptr) {
        sel = in.imm2;
        off = in.imm;
    } else if (in.kind(0) == OpKind::Mem) {
        const uint64_t ea = effective_address(c, in);
        bool ok;
        switch (n) {
            case 2: { uint16_t t; ok = read_mem(c, in.seg, ea, t); off = t; break; }
            case 4: { uint32_t t; ok = read_mem(c, in.seg, ea, t); off = t; break; }
            default: ok = read_mem(c, in.seg, ea, off); break;
        }
        if (!ok || !read_mem(c, in.seg, (ea + n) & in.amask, sel)) return ExecStatus::Fault;
    } else {
        return raise_ud(c);
    }
    const uint64_t saved_rsp = c.s.gpr[RSP];
    if (!far_transfer(c, sel, off, CALL, n)) {
        c.s.gpr[RSP] = saved_rsp;
        return ExecStatus::Fault;
    }
    return ExecStatus::Branch;
}

// Far RET (APM Vol 3, "RET (Far)"): same-privilege or return to an outer level with SS:rSP.
ExecStatus far_ret(Cpu& c, const Insn& in) {
    CpuState& s = c.s;
    const unsigned n = in.osize;
    const uint64_t imm = in.kind(0) == OpKind::Imm ? (in.imm & 0xffff) : 0;
    const uint64_t sp = s.gpr[RSP] & s.sp_mask;
    auto rd = [&](uint64_t off, uint64_t& v) {
        const uint64_t a = (sp + off) & s.sp_mask;
        switch (n) {
            case 2: { uint16_t t; if (!read_mem(c, SS, a, t)) return false; v = t; return true; }
            case 4: { uint32_t t; if (!read_mem(c, SS, a, t)) return false; v = t; return true; }
            default: return read_mem(c, SS, a, v);
        }
    };
    uint64_t rip, csv;
    if (!rd(0, rip) || !rd(n, csv)) return ExecStatus::Fault;
    const uint16_t sel = static_cast<uint16_t>(csv);
    if (!pm(c)) {
        load_segment_real(s, CS, sel);
        s.rip() = rip;
        s.gpr[RSP] = (s.gpr[RSP] & ~s.sp_mask) | ((sp + 2 * n + imm) & s.sp_mask);
        s.update_mode();
        return ExecStatus::Branch;
    }
    RawDescriptor d;
    if (!check_return_cs(s, c.mmu, sel, d)) return ExecStatus::Fault;
    const uint8_t rpl = sel_rpl(sel);
    if (rpl == s.cpl) {
        if (!check_target_offset(c, d, rip)) return ExecStatus::Fault;
        s.gpr[RSP] = (s.gpr[RSP] & ~s.sp_mask) | ((sp + 2 * n + imm) & s.sp_mask);
        commit_cs(c, sel, d, rpl, rip);
        return ExecStatus::Branch;
    }
    uint64_t nsp, ssv;
    if (!rd(2 * n + imm, nsp) || !rd(3 * n + imm, ssv)) return ExecStatus::Fault;
    Segment new_ss;
    if (!load_return_ss(s, c.mmu, static_cast<uint16_t>(ssv), rpl, s.long_mode() && d.l(), new_ss))
        return ExecStatus::Fault;
    if (!check_target_offset(c, d, rip)) return ExecStatus::Fault;
    s.seg[SS] = new_ss;
    commit_cs(c, sel, d, rpl, rip);
    const uint64_t mask = s.sp_mask;
    s.gpr[RSP] = (n == 8 || mask == ~uint64_t{0}) ? nsp + imm : ((nsp + imm) & mask) | (s.gpr[RSP] & ~mask);
    null_inaccessible_data_segments(s);
    s.update_mode();
    return ExecStatus::Branch;
}

// ---- LDTR / TR -------------------------------------------------------------------------------

bool read_system_descriptor(Cpu& c, uint16_t sel, RawDescriptor& d) {
    if (sel_ti(sel)) return fault(c, Vector::GP, sel & 0xfffc);
    switch (read_descriptor(c.s, c.mmu, sel, d, c.s.long_mode())) {
        case DescFault::Limit: return fault(c, Vector::GP, sel & 0xfffc);
        case DescFault::Page: return false;
        case DescFault::None: return true;
    }
    return true;
}

ExecStatus lldt(Cpu& c, const Insn& in) {
    if (!pm(c)) return raise_ud(c);
    if (c.s.svm.intercept_misc1(InterceptMisc1::LDTR_WRITE)) return svm_exit(c, in, 0x6c);
    uint16_t sel;
    if (!read_op<2>(c, in, 0, sel)) return ExecStatus::Fault;
    if (sel_null(sel)) {
        c.s.ldtr = null_segment(sel, 0);
        return ExecStatus::Next;
    }
    RawDescriptor d;
    if (!read_system_descriptor(c, sel, d)) return ExecStatus::Fault;
    if (d.s() || d.type() != SysType::LDT) return raise(c, Vector::GP, sel & 0xfffc);
    if (!d.present()) return raise(c, Vector::NP, sel & 0xfffc);
    if (c.s.long_mode() && !is_canonical(d.base64())) return raise(c, Vector::GP, sel & 0xfffc);
    c.s.ldtr = segment_from_descriptor(sel, d, c.s.long_mode());
    return ExecStatus::Next;
}

// LTR marks the TSS descriptor busy (APM Vol 2, 12.2.4 "Task Register").
ExecStatus ltr(Cpu& c, const Insn& in) {
    if (!pm(c)) return raise_ud(c);
    if (c.s.svm.intercept_misc1(InterceptMisc1::TR_WRITE)) return svm_exit(c, in, 0x6d);
    uint16_t sel;
    if (!read_op<2>(c, in, 0, sel)) return ExecStatus::Fault;
    if (sel_null(sel)) return raise_gp0(c);
    RawDescriptor d;
    if (!read_system_descriptor(c, sel, d)) return ExecStatus::Fault;
    const bool ok_type = d.type() == SysType::TSS_AVAIL || (!c.s.long_mode() && d.type() == SysType::TSS16_AVAIL);
    if (d.s() || !ok_type) return raise(c, Vector::GP, sel & 0xfffc);
    if (!d.present()) return raise(c, Vector::NP, sel & 0xfffc);
    d.lo |= uint64_t{2} << 40;  // busy
    const uint64_t la = (c.s.gdtr.base + (sel & ~7u) + 5) & c.s.la_mask;
    if (!c.mmu.write(la, static_cast<uint8_t>(d.lo >> 40), Priv::Supervisor)) return ExecStatus::Fault;
    c.s.tr = segment_from_descriptor(sel, d, c.s.long_mode());
    return ExecStatus::Next;
}

template <bool TR>
ExecStatus store_sys_sel(Cpu& c, const Insn& in) {
    if (!pm(c)) return raise_ud(c);
    if (c.s.svm.intercept_misc1(TR ? InterceptMisc1::TR_READ : InterceptMisc1::LDTR_READ))
        return svm_exit(c, in, TR ? 0x69 : 0x68);
    const uint16_t sel = TR ? c.s.tr.selector : c.s.ldtr.selector;
    if (in.kind(0) == OpKind::Mem)
        return write_mem(c, in.seg, effective_address(c, in), sel) ? ExecStatus::Next : ExecStatus::Fault;
    set_reg_sized(c, in.r[0], in.opsz[0], sel);
    return ExecStatus::Next;
}

// ---- LAR / LSL / VERR / VERW (APM Vol 3) -----------------------------------------------------

enum class Probe : uint8_t { Lar, Lsl, Verr, Verw };

template <Probe P>
ExecStatus probe(Cpu& c, const Insn& in) {
    if (!pm(c)) return raise_ud(c);
    const unsigned src = P == Probe::Lar || P == Probe::Lsl ? 1 : 0;
    uint16_t sel;
    if (!read_op<2>(c, in, src, sel)) return ExecStatus::Fault;
    auto result = [&](bool ok) {
        set_status_flags(c, Rflags::ZF, ok ? Rflags::ZF : 0);
        return ExecStatus::Next;
    };
    if (sel_null(sel)) return result(false);
    RawDescriptor d;
    switch (read_descriptor(c.s, c.mmu, sel, d)) {
        case DescFault::Limit: return result(false);
        case DescFault::Page: return ExecStatus::Fault;
        case DescFault::None: break;
    }
    const bool lm = c.s.long_mode();
    const bool conforming_code = d.is_code() && (d.type() & 4);
    if (!d.s()) {
        const uint8_t t = d.type();
        bool valid;
        if constexpr (P == Probe::Lar)
            valid = lm ? (t == 2 || t == 9 || t == 11 || t == 12)
                       : (t == 1 || t == 2 || t == 3 || t == 4 || t == 5 || t == 9 || t == 11 || t == 12);
        else if constexpr (P == Probe::Lsl)
            valid = lm ? (t == 2 || t == 9 || t == 11) : (t == 1 || t == 2 || t == 3 || t == 9 || t == 11);
        else
            valid = false;
        if (!valid) return result(false);
    }
    if (!conforming_code || P == Probe::Verw) {
        if (d.dpl() < c.s.cpl || d.dpl() < sel_rpl(sel)) return result(false);
    }
    if constexpr (P == Probe::Verr) {
        if (d.is_code() && !(d.type() & 2)) return result(false);
    }
    if constexpr (P == Probe::Verw) {
        if (!d.is_data() || !(d.type() & 2)) return result(false);
    }
    if constexpr (P == Probe::Lar) {
        const uint64_t ar = (d.lo >> 32) & (in.opsz[0] == 2 ? 0xff00u : 0x00f0ff00u);
        set_reg_sized(c, in.r[0], in.opsz[0], ar);
    }
    if constexpr (P == Probe::Lsl) set_reg_sized(c, in.r[0], in.opsz[0], d.limit());
    return result(true);
}

ExecStatus arpl(Cpu& c, const Insn& in) {
    if (!pm(c)) return raise_ud(c);
    uint16_t dst;
    if (!read_op<2>(c, in, 0, dst)) return ExecStatus::Fault;
    const uint16_t src = get_reg<2>(c, in.r[1]);
    if ((dst & 3) < (src & 3)) {
        dst = static_cast<uint16_t>((dst & ~3) | (src & 3));
        if (!write_op<2>(c, in, 0, dst)) return ExecStatus::Fault;
        set_status_flags(c, Rflags::ZF, Rflags::ZF);
    } else {
        set_status_flags(c, Rflags::ZF, 0);
    }
    return ExecStatus::Next;
}

}  // namespace

Handler bind_segment(const Insn& in) {
    switch (in.mnemonic) {
        case ZYDIS_MNEMONIC_MOV:
            if (in.kind(0) == OpKind::SReg) return &mov_to_sreg;
            if (in.kind(1) == OpKind::SReg) return &mov_from_sreg;
            return nullptr;
        case ZYDIS_MNEMONIC_PUSH: return &push_sreg;
        case ZYDIS_MNEMONIC_POP: return &pop_sreg;
        case ZYDIS_MNEMONIC_LDS:
        case ZYDIS_MNEMONIC_LES:
        case ZYDIS_MNEMONIC_LFS:
        case ZYDIS_MNEMONIC_LGS:
        case ZYDIS_MNEMONIC_LSS: return &load_far_pointer;
        case ZYDIS_MNEMONIC_JMP: return &far_jmp_call<false>;
        case ZYDIS_MNEMONIC_CALL: return &far_jmp_call<true>;
        case ZYDIS_MNEMONIC_RET: return &far_ret;
        case ZYDIS_MNEMONIC_LLDT: return &lldt;
        case ZYDIS_MNEMONIC_LTR: return &ltr;
        case ZYDIS_MNEMONIC_SLDT: return &store_sys_sel<false>;
        case ZYDIS_MNEMONIC_STR: return &store_sys_sel<true>;
        case ZYDIS_MNEMONIC_LAR: return &probe<Probe::Lar>;
        case ZYDIS_MNEMONIC_LSL: return &probe<Probe::Lsl>;
        case ZYDIS_MNEMONIC_VERR: return &probe<Probe::Verr>;
        case ZYDIS_MNEMONIC_VERW: return &probe<Probe::Verw>;
        case ZYDIS_MNEMONIC_ARPL: return &arpl;
        default: return nullptr;
    }
}

}  // namespace vx86::cpu
