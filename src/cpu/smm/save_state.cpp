// Converting between the vCPU state and the two SMRAM save-map layouts, including the checks RSM
// makes before it takes a saved image (any failure means shutdown, never a partial load).
#include "arch/smram.h"
#include "cpu/smm/smm.h"
#include "arch/paging.h"
#include "cpu/state/supported_bits.h"

namespace vx86::cpu {

using namespace arch;

namespace {

constexpr SegReg kSegOrder[kNumSegRegs] = {ES, CS, SS, DS, FS, GS};

SmramSegment64 seg64(const Segment& s) {
    return {s.selector, smram_attr_from_vmcb(s.attrib), s.limit, s.base};
}
Segment from_seg64(const SmramSegment64& r) {
    return {r.selector, vmcb_attr_from_smram(r.attributes), r.limit, r.base};
}

SmramSegment32 seg32(const Segment& s) {
    return {smram32_flags_from_vmcb(s.attrib), s.limit, static_cast<uint32_t>(s.base)};
}
Segment from_seg32(const SmramSegment32& r, uint32_t selector) {
    return {static_cast<uint16_t>(selector), vmcb_attr_from_smram32(r.flags), r.limit, r.base};
}

// The control-register sequence of RSM (SDM 34.11, KVM's rsm_enter_protected_mode): CR3 without
// its PCID, CR4 without PCIDE (PAE must be on before paging), CR0 (which, with EFER.LME, makes
// long mode active: the saved LMA is never trusted), then PCIDE and the PCID. `s` holds the
// real-mode state after the teardown, with the saved EFER (LMA clear) already in place.
bool enter_protected_mode(CpuState& s, const CpuFeatures& f, uint64_t cr0, uint64_t cr3, uint64_t cr4) {
    uint64_t pcid = 0;
    if (cr4 & Cr4::PCIDE) {
        pcid = cr3 & 0xfff;
        cr3 &= ~uint64_t{0xfff};
    }
    s.cr3 = cr3;
    // Any reserved CR4 bit (RSM: "Any reserved bit of CR4 is set to 1" -> shutdown).
    if ((cr4 & ~Cr4::PCIDE) & ~cr4_supported(f)) return false;
    s.cr4 = cr4 & ~Cr4::PCIDE;
    // Illegal CR0 combinations: PG without PE, NW without CD; bits 63:32 are reserved.
    if (cr0 >> 32) return false;
    if ((cr0 & Cr0::PG) && !(cr0 & Cr0::PE)) return false;
    if ((cr0 & Cr0::NW) && !(cr0 & Cr0::CD)) return false;
    if ((cr0 & Cr0::PG) && (s.efer & Efer::LME)) {
        if (!(s.cr4 & Cr4::PAE)) return false;  // long mode needs PAE (APM Vol 2, 14.6.1)
        s.efer |= Efer::LMA;
    }
    s.cr0 = cr0 | Cr0::ET;
    if (cr4 & Cr4::PCIDE) {
        if (!(s.efer & Efer::LMA) || (cr4 & ~cr4_supported(f))) return false;
        s.cr4 = cr4;
        s.cr3 = cr3 | pcid;
    }
    if (s.efer & Efer::LMA) {
        if (s.cr3 & ~kPhysAddrMask & ~uint64_t{0xfff}) return false;  // reserved CR3 bits
    } else {
        s.cr3 &= 0xffffffff;
    }
    return true;
}

}  // namespace

void save_state_64(const CpuState& s, SmramState64& o) {
    SmramSegment64* segs[kNumSegRegs] = {&o.es, &o.cs, &o.ss, &o.ds, &o.fs, &o.gs};
    for (SegReg r : kSegOrder) *segs[r] = seg64(s.seg[r]);
    o.gdtr.limit = s.gdtr.limit;
    o.gdtr.base = s.gdtr.base;
    o.idtr.limit = s.idtr.limit;
    o.idtr.base = s.idtr.base;
    o.ldtr = seg64(s.ldtr);
    o.tr = seg64(s.tr);
    o.efer = s.efer;
    o.smm_revision = kSmmRevision64;
    o.smbase = static_cast<uint32_t>(s.smm.smbase);
    o.cr4 = s.cr4;
    o.cr3 = s.cr3;
    o.cr0 = s.cr0;
    o.dr7 = s.dr[7];
    o.dr6 = s.dr[6];
    o.rflags = s.get_rflags();
    o.rip = s.rip();
    for (unsigned i = 0; i < 16; ++i) o.gprs[15 - i] = s.gpr[i];
    if (s.halted) o.auto_hlt_restart = kAutoHaltRestart;
}

void save_state_32(const CpuState& s, SmramState32& o) {
    SmramSegment32* segs[kNumSegRegs] = {&o.es, &o.cs, &o.ss, &o.ds, &o.fs, &o.gs};
    uint32_t* sels[kNumSegRegs] = {&o.es_sel, &o.cs_sel, &o.ss_sel, &o.ds_sel, &o.fs_sel, &o.gs_sel};
    for (SegReg r : kSegOrder) {
        *segs[r] = seg32(s.seg[r]);
        *sels[r] = s.seg[r].selector;
    }
    o.gdtr.limit = s.gdtr.limit;
    o.gdtr.base = static_cast<uint32_t>(s.gdtr.base);
    o.idtr.limit = s.idtr.limit;
    o.idtr.base = static_cast<uint32_t>(s.idtr.base);
    o.ldtr = seg32(s.ldtr);
    o.ldtr_sel = s.ldtr.selector;
    o.tr = seg32(s.tr);
    o.tr_sel = s.tr.selector;
    o.smbase = static_cast<uint32_t>(s.smm.smbase);
    o.smm_revision = kSmmRevision32;
    o.cr4 = static_cast<uint32_t>(s.cr4);
    o.cr3 = static_cast<uint32_t>(s.cr3);
    o.cr0 = static_cast<uint32_t>(s.cr0);
    o.dr7 = static_cast<uint32_t>(s.dr[7]);
    o.dr6 = static_cast<uint32_t>(s.dr[6]);
    for (unsigned i = 0; i < 8; ++i) o.gprs[i] = static_cast<uint32_t>(s.gpr[i]);
    o.eip = static_cast<uint32_t>(s.rip());
    o.eflags = static_cast<uint32_t>(s.get_rflags());
    if (s.halted) o.auto_hlt_restart = kAutoHaltRestart;
}

bool load_state_64(const SmramState64& in, const CpuFeatures& f, CpuState& s) {
    for (unsigned i = 0; i < 16; ++i) s.gpr[i] = in.gprs[15 - i];
    s.rip() = in.rip;
    if (in.rflags >> 32) return false;
    s.set_rflags(in.rflags);
    // DR6/DR7 bits 63:32 must be zero (MOV DR would #GP; RSM shuts down).
    if ((in.dr6 >> 32) || (in.dr7 >> 32)) return false;
    s.dr[6] = in.dr6;
    s.dr[7] = in.dr7;
    s.smm.smbase = in.smbase;
    if (in.efer & ~efer_supported(f)) return false;
    s.efer = in.efer & ~Efer::LMA;
    s.tr = from_seg64(in.tr);
    s.idtr = {in.idtr.base, in.idtr.limit};
    s.ldtr = from_seg64(in.ldtr);
    s.gdtr = {in.gdtr.base, in.gdtr.limit};
    if (!enter_protected_mode(s, f, in.cr0, in.cr3, in.cr4)) return false;
    const SmramSegment64* segs[kNumSegRegs] = {&in.es, &in.cs, &in.ss, &in.ds, &in.fs, &in.gs};
    for (SegReg r : kSegOrder) s.seg[r] = from_seg64(*segs[r]);
    // Long mode cannot run virtual-8086 code (APM Vol 2, 14.6.1; Bochs checks it on RSM).
    if ((s.efer & Efer::LMA) && (s.rflags & Rflags::VM)) return false;
    return true;
}

bool load_state_32(const SmramState32& in, const CpuFeatures& f, CpuState& s) {
    s.set_rflags(in.eflags);
    s.rip() = in.eip;
    for (unsigned i = 0; i < 8; ++i) s.gpr[i] = in.gprs[i];
    s.dr[6] = in.dr6;
    s.dr[7] = in.dr7;
    s.tr = from_seg32(in.tr, in.tr_sel);
    s.ldtr = from_seg32(in.ldtr, in.ldtr_sel);
    s.gdtr = {in.gdtr.base, in.gdtr.limit};
    s.idtr = {in.idtr.base, in.idtr.limit};
    const SmramSegment32* segs[kNumSegRegs] = {&in.es, &in.cs, &in.ss, &in.ds, &in.fs, &in.gs};
    const uint32_t sels[kNumSegRegs] = {in.es_sel, in.cs_sel, in.ss_sel, in.ds_sel, in.fs_sel, in.gs_sel};
    for (SegReg r : kSegOrder) s.seg[r] = from_seg32(*segs[r], sels[r]);
    s.smm.smbase = in.smbase;
    return enter_protected_mode(s, f, in.cr0, in.cr3, in.cr4);
}

}  // namespace vx86::cpu
