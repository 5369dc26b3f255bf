// Descriptor fetch and segment-register loading: the checks of APM Vol 2, 4.10 "Protection
// Checks" and of the MOV/POP Sreg pseudocode. Table reads are supervisor accesses.
#include "cpu/mmu/segmentation.h"

#include "arch/vectors.h"

namespace vx86::cpu {

using namespace arch;

DescFault read_descriptor(CpuState& s, Mmu& mmu, uint16_t sel, RawDescriptor& d, bool wide) {
    uint64_t base;
    uint32_t limit;
    if (sel_ti(sel)) {
        if (!s.ldtr.present() || (s.ldtr.selector & ~3) == 0) return DescFault::Limit;
        base = s.ldtr.base;
        limit = s.ldtr.limit;
    } else {
        base = s.gdtr.base;
        limit = s.gdtr.limit;
    }
    const uint64_t off = sel & ~7u;
    if (off + (wide ? 15 : 7) > limit) return DescFault::Limit;
    const uint64_t la = (base + off) & s.la_mask;
    if (!mmu.read(la, d.lo, Priv::Supervisor)) return DescFault::Page;
    d.hi = 0;
    if (wide && !mmu.read((la + 8) & s.la_mask, d.hi, Priv::Supervisor)) return DescFault::Page;
    return DescFault::None;
}

bool set_descriptor_accessed(CpuState& s, Mmu& mmu, uint16_t sel, RawDescriptor& d) {
    if (d.lo & (uint64_t{1} << 40)) return true;
    d.lo |= uint64_t{1} << 40;
    const uint64_t base = sel_ti(sel) ? s.ldtr.base : s.gdtr.base;
    const uint64_t la = (base + (sel & ~7u) + 5) & s.la_mask;
    const uint8_t b = static_cast<uint8_t>(d.lo >> 40);
    return mmu.write(la, b, Priv::Supervisor);
}

Segment segment_from_descriptor(uint16_t sel, const RawDescriptor& d, bool wide) {
    Segment seg;
    seg.selector = sel;
    seg.attrib = d.attrib();
    seg.limit = d.limit();
    seg.base = wide ? d.base64() : d.base32();
    return seg;
}

void load_segment_real(CpuState& s, unsigned seg, uint16_t sel) {
    Segment& r = s.seg[seg];
    r.selector = sel;
    r.base = uint64_t{sel} << 4;
    if (s.mode == CpuMode::Virtual8086) {
        r.limit = 0xffff;
        r.attrib = Attr::P | Attr::S | Attr::W_R | Attr::A | (3 << Attr::DPL_SHIFT) |
                   (seg == CS ? Attr::CODE : 0);
    }
}

Segment null_segment(uint16_t sel, uint8_t dpl) {
    Segment n;
    n.selector = sel;
    n.attrib = static_cast<uint16_t>(dpl << Attr::DPL_SHIFT);  // P=0: unusable
    return n;
}

bool check_return_cs(CpuState& s, Mmu& mmu, uint16_t sel, RawDescriptor& d) {
    if (sel_null(sel)) {
        set_fault(s, Vector::GP, 0);
        return false;
    }
    switch (read_descriptor(s, mmu, sel, d)) {
        case DescFault::Limit: set_fault(s, Vector::GP, sel & 0xfffc); return false;
        case DescFault::Page: return false;
        case DescFault::None: break;
    }
    const uint8_t rpl = sel_rpl(sel);
    const bool conforming = d.type() & 4;
    if (!d.is_code() || rpl < s.cpl || (conforming ? d.dpl() > rpl : d.dpl() != rpl) ||
        (s.long_mode() && d.l() && d.db())) {
        set_fault(s, Vector::GP, sel & 0xfffc);
        return false;
    }
    if (!d.present()) {
        set_fault(s, Vector::NP, sel & 0xfffc);
        return false;
    }
    return true;
}

bool load_return_ss(CpuState& s, Mmu& mmu, uint16_t ssel, uint8_t rpl, bool to64, Segment& out) {
    if (sel_null(ssel)) {
        if (!to64 || rpl == 3) {
            set_fault(s, Vector::GP, 0);
            return false;
        }
        out = null_segment(ssel, rpl);
        out.attrib |= Attr::P | Attr::S | Attr::W_R | Attr::DB;
        return true;
    }
    RawDescriptor sd;
    switch (read_descriptor(s, mmu, ssel, sd)) {
        case DescFault::Limit: set_fault(s, Vector::GP, ssel & 0xfffc); return false;
        case DescFault::Page: return false;
        case DescFault::None: break;
    }
    if (sel_rpl(ssel) != rpl || sd.dpl() != rpl || !sd.is_data() || !(sd.type() & 2)) {
        set_fault(s, Vector::GP, ssel & 0xfffc);
        return false;
    }
    if (!sd.present()) {
        set_fault(s, Vector::SS, ssel & 0xfffc);
        return false;
    }
    if (!set_descriptor_accessed(s, mmu, ssel, sd)) return false;
    out = segment_from_descriptor(ssel, sd);
    return true;
}

void null_inaccessible_data_segments(CpuState& s) {
    for (unsigned r : {ES, DS, FS, GS}) {
        const Segment& g = s.seg[r];
        const bool conf_code = g.is_code() && (g.type() & 4);
        if (g.present() && !conf_code && g.dpl() < s.cpl) s.seg[r] = null_segment(0, 0);
    }
    s.update_segment_checks();
}

bool load_data_segment(CpuState& s, Mmu& mmu, unsigned seg, uint16_t sel) {
    const uint32_t err = sel & 0xfffc;
    if (sel_null(sel)) {
        // A null SS is legal only in 64-bit mode at CPL < 3 with RPL == CPL (APM Vol 3, "MOV").
        if (seg == SS && (s.mode != CpuMode::Long64 || s.cpl == 3 || sel_rpl(sel) != s.cpl)) {
            set_fault(s, Vector::GP, 0);
            return false;
        }
        s.seg[seg] = null_segment(sel, seg == SS ? s.cpl : 0);
        if (s.mode == CpuMode::Long64 && seg == SS)
            s.seg[SS].attrib |= Attr::P | Attr::S | Attr::W_R | Attr::DB;
        s.update_segment_checks();
        return true;
    }
    RawDescriptor d;
    switch (read_descriptor(s, mmu, sel, d)) {
        case DescFault::Limit: set_fault(s, Vector::GP, err); return false;
        case DescFault::Page: return false;
        case DescFault::None: break;
    }
    const uint8_t rpl = sel_rpl(sel), dpl = d.dpl();
    if (seg == SS) {
        // SS: writable data, RPL == CPL, DPL == CPL, else #GP; not present: #SS.
        if (!d.is_data() || !(d.type() & 2) || rpl != s.cpl || dpl != s.cpl) {
            set_fault(s, Vector::GP, err);
            return false;
        }
        if (!d.present()) {
            set_fault(s, Vector::SS, err);
            return false;
        }
    } else {
        // Data or readable code; for data and non-conforming code, DPL >= max(CPL, RPL).
        const bool readable_code = d.is_code() && (d.type() & 2);
        if (!d.s() || (d.is_code() && !readable_code)) {
            set_fault(s, Vector::GP, err);
            return false;
        }
        const bool conforming = d.is_code() && (d.type() & 4);
        if (!conforming && (rpl > dpl || s.cpl > dpl)) {
            set_fault(s, Vector::GP, err);
            return false;
        }
        if (!d.present()) {
            set_fault(s, Vector::NP, err);
            return false;
        }
    }
    if (!set_descriptor_accessed(s, mmu, sel, d)) return false;
    s.seg[seg] = segment_from_descriptor(sel, d);
    if (seg == SS) s.update_mode();
    else s.update_segment_checks();
    return true;
}

}  // namespace vx86::cpu
