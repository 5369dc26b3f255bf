// Derived-state maintenance and reset for CpuState.
// update_mode() is the one place that turns CR0/EFER/CS/SS bits into the cached execution mode.
#include "cpu/state/cpu_state.h"

#include "arch/msr.h"

#include <cstring>

namespace vx86::cpu {

bool SvmState::operator==(const SvmState& o) const {
    return gif == o.gif && guest_mode == o.guest_mode && smm_suspended == o.smm_suspended &&
           vmcb12_pa == o.vmcb12_pa && host == o.host && std::memcmp(&ctl, &o.ctl, sizeof ctl) == 0;
}

using namespace arch;

void CpuState::update_mode() {
    const Segment& cs = seg[CS];
    if (!(cr0 & Cr0::PE)) {
        mode = CpuMode::Real;
    } else if (rflags & Rflags::VM) {
        mode = CpuMode::Virtual8086;
    } else if ((efer & Efer::LMA) && cs.l()) {
        mode = CpuMode::Long64;
    } else if (efer & Efer::LMA) {
        mode = CpuMode::Compatibility;
    } else {
        mode = CpuMode::Protected;
    }
    switch (mode) {
        case CpuMode::Real: cpl = 0; break;
        case CpuMode::Virtual8086: cpl = 3; break;
        default: cpl = seg[SS].dpl(); break;  // CPL is SS.DPL, as SVM defines it (APM 15.5.1)
    }
    if (mode == CpuMode::Long64) {
        code_size = 8;
    } else if (mode == CpuMode::Real || mode == CpuMode::Virtual8086) {
        code_size = cs.db() ? 4 : 2;  // big real mode keeps a 32-bit CS after leaving PM
    } else {
        code_size = cs.db() ? 4 : 2;
    }
    sp_mask = mode == CpuMode::Long64 ? ~uint64_t{0} : (seg[SS].db() ? 0xffffffffull : 0xffffull);
    la_mask = (efer & Efer::LMA) ? ~uint64_t{0} : 0xffffffffull;
    update_segment_checks();
}

void CpuState::update_segment_checks() {
    for (unsigned i = 0; i < kNumSegRegs; ++i) {
        const Segment& s = seg[i];
        SegCheck& c = segc[i];
        if (mode == CpuMode::Long64) {
            // Only FS and GS bases apply; no limit checks (APM Vol 2, 4.12.2).
            c.base = (i == FS || i == GS) ? s.base : 0;
            c.rd_lo = c.wr_lo = 0;
            c.rd_hi = c.wr_hi = ~uint64_t{0};
            continue;
        }
        c.base = s.base & 0xffffffff;
        const uint64_t top = s.db() ? 0xffffffffull : 0xffffull;
        uint64_t lo = 0, hi = s.limit;
        const bool unusable = (mode == CpuMode::Protected || mode == CpuMode::Compatibility) &&
                              (!s.present() || (i != CS && (s.selector & ~3) == 0 && !s.s()));
        if (s.s() && !(s.type() & 8) && (s.type() & Attr::E_C)) {
            // Expand-down data segment: valid offsets are limit+1 .. 0xffff or 0xffffffff.
            lo = uint64_t{s.limit} + 1;
            hi = top;
        }
        if (unusable) {
            c.rd_lo = c.wr_lo = 1;
            c.rd_hi = c.wr_hi = 0;
            continue;
        }
        c.rd_lo = c.wr_lo = lo;
        c.rd_hi = c.wr_hi = hi;
        if (mode == CpuMode::Real || mode == CpuMode::Virtual8086) continue;
        if (s.is_code()) {
            // Code segments are never writable and readable only with the R bit.
            c.wr_lo = 1, c.wr_hi = 0;
            if (!(s.type() & Attr::W_R)) c.rd_lo = 1, c.rd_hi = 0;
        } else if (!(s.type() & Attr::W_R)) {
            c.wr_lo = 1, c.wr_hi = 0;
        }
    }
}

void CpuState::reset() {
    *this = CpuState{};
    gpr[RDX] = 0x00a00f11;  // family/model/stepping of the reset signature; CPUID model overrides
    rip() = 0xfff0;
    rflags = Rflags::FIXED1;
    cr0 = Cr0::ET | Cr0::CD | Cr0::NW;
    for (auto& s : seg) s = Segment{0, Attr::P | Attr::S | Attr::W_R | Attr::A, 0xffff, 0};
    seg[CS] = Segment{0xf000, Attr::P | Attr::S | Attr::CODE | Attr::W_R | Attr::A, 0xffff,
                      0xffff0000};
    ldtr = Segment{0, Attr::P | SysType::LDT, 0xffff, 0};
    tr = Segment{0, Attr::P | SysType::TSS16_BUSY, 0xffff, 0};
    gdtr.limit = idtr.limit = 0xffff;
    dr[6] = kDr6Reset;
    dr[7] = kDr7Reset;
    msr.pat = kPatReset;
    msr.apic_base = kApicBaseDefault | kApicBaseBsp | kApicBaseEnable;
    update_mode();
}

}  // namespace vx86::cpu
