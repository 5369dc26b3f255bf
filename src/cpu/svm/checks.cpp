// VMRUN's consistency checks (AMD APM Vol 2, 15.5.1): a VMCB that fails any of them is not
// entered and gives #VMEXIT with VMEXIT_INVALID. The VMCB is guest memory, so every field is
// treated as untrusted input.
#include "arch/paging.h"
#include "cpu/state/supported_bits.h"
#include "cpu/svm/svm.h"

namespace vx86::cpu {

using namespace arch;

namespace {

constexpr uint64_t kIopmSize = 3 * 4096, kMsrpmSize = 2 * 4096;

// A bitmap must lie wholly below 2^MAXPHYADDR; the low 12 bits of its base are ignored.
bool bitmap_ok(uint64_t base, uint64_t size) {
    const uint64_t b = base & ~uint64_t{0xfff};
    return b <= kPhysAddrMask && kPhysAddrMask - b >= size - 1;
}

bool event_injection_ok(uint32_t inj) {
    if (!(inj & EventInj::V)) return true;
    const uint32_t type = (inj & EventInj::TYPE_MASK) >> EventInj::TYPE_SHIFT;
    const uint32_t vector = inj & EventInj::VECTOR_MASK;
    switch (type) {
        case EventInj::TYPE_INTR:
        case EventInj::TYPE_NMI:
        case EventInj::TYPE_SOFT_INT: return true;
        // An exception with the NMI vector or one that is not an exception (15.20).
        case EventInj::TYPE_EXCEPTION: return vector != 2 && vector < 32;
        default: return false;  // reserved types 1, 5, 6, 7
    }
}

bool pat_ok(uint64_t v) {
    for (unsigned i = 0; i < 8; ++i) {
        const uint8_t t = (v >> (i * 8)) & 0xff;
        if (t != 0 && t != 1 && t != 4 && t != 5 && t != 6 && t != 7) return false;
    }
    return true;
}

}  // namespace

const char* vmcb_check_name(VmcbCheck c) {
    switch (c) {
        case VmcbCheck::None: return "ok";
        case VmcbCheck::VmrunInterceptClear: return "VMRUN intercept clear";
        case VmcbCheck::AsidZero: return "ASID 0";
        case VmcbCheck::EferSvmeClear: return "EFER.SVME clear";
        case VmcbCheck::EferReserved: return "EFER reserved bit set";
        case VmcbCheck::Cr0CdNw: return "CR0.NW set without CR0.CD";
        case VmcbCheck::Cr0High: return "CR0[63:32] not zero";
        case VmcbCheck::Cr3Reserved: return "CR3 bit above MAXPHYADDR";
        case VmcbCheck::Cr4Reserved: return "CR4 reserved bit set";
        case VmcbCheck::Dr6High: return "DR6[63:32] not zero";
        case VmcbCheck::Dr7High: return "DR7[63:32] not zero";
        case VmcbCheck::LongModeWithoutPae: return "EFER.LME and CR0.PG without CR4.PAE";
        case VmcbCheck::LongModeWithoutPe: return "EFER.LME and CR0.PG without CR0.PE";
        case VmcbCheck::LongModeCsLD: return "long mode with CS.L and CS.D";
        case VmcbCheck::IopmBeyondMaxPhys: return "IOPM beyond MAXPHYADDR";
        case VmcbCheck::MsrpmBeyondMaxPhys: return "MSRPM beyond MAXPHYADDR";
        case VmcbCheck::EventInjection: return "illegal EVENTINJ";
        case VmcbCheck::GuestPat: return "reserved G_PAT type";
        case VmcbCheck::Pdpte: return "PDPTE reserved bit set";
    }
    return "?";
}

VmcbCheck check_save_area(const VmcbSave& s, const CpuFeatures& f) {
    if (!(s.efer & Efer::SVME)) return VmcbCheck::EferSvmeClear;
    // LMA is loaded too; LME/LMA without long mode in the CPU model are reserved bits.
    if (s.efer & ~efer_supported(f)) return VmcbCheck::EferReserved;
    if ((s.cr0 & Cr0::NW) && !(s.cr0 & Cr0::CD)) return VmcbCheck::Cr0CdNw;
    if (s.cr0 >> 32) return VmcbCheck::Cr0High;
    if (s.cr3 & ~kPhysAddrMask) return VmcbCheck::Cr3Reserved;
    if (s.cr4 & ~cr4_supported(f)) return VmcbCheck::Cr4Reserved;
    if (s.dr6 >> 32) return VmcbCheck::Dr6High;
    if (s.dr7 >> 32) return VmcbCheck::Dr7High;
    if ((s.efer & Efer::LME) && (s.cr0 & Cr0::PG)) {
        if (!(s.cr4 & Cr4::PAE)) return VmcbCheck::LongModeWithoutPae;
        if (!(s.cr0 & Cr0::PE)) return VmcbCheck::LongModeWithoutPe;
        if ((s.cs.attrib & Attr::L) && (s.cs.attrib & Attr::DB)) return VmcbCheck::LongModeCsLD;
    }
    return VmcbCheck::None;
}

VmcbCheck check_controls(const VmcbControl& c) {
    if (!(c.intercept_misc2 & InterceptMisc2::VMRUN)) return VmcbCheck::VmrunInterceptClear;
    if (c.guest_asid == 0) return VmcbCheck::AsidZero;
    if (!bitmap_ok(c.iopm_base_pa, kIopmSize)) return VmcbCheck::IopmBeyondMaxPhys;
    if (!bitmap_ok(c.msrpm_base_pa, kMsrpmSize)) return VmcbCheck::MsrpmBeyondMaxPhys;
    if (!event_injection_ok(c.event_inj)) return VmcbCheck::EventInjection;
    return VmcbCheck::None;
}

VmcbCheck check_vmcb(const Vmcb& v, const CpuFeatures& f, mem::GuestMemory& mem, unsigned as) {
    const VmcbControl& c = v.control;
    // The manual lists the checks as a set; this order reports the control-area ones first.
    if (!(c.intercept_misc2 & InterceptMisc2::VMRUN)) return VmcbCheck::VmrunInterceptClear;
    if (c.guest_asid == 0) return VmcbCheck::AsidZero;
    if (const VmcbCheck r = check_save_area(v.save, f); r != VmcbCheck::None) return r;
    if (const VmcbCheck r = check_controls(c); r != VmcbCheck::None) return r;
    const bool np = f.npt && (c.nested_ctl & kNestedCtlNpEnable);
    // With nested paging G_PAT becomes L2's PAT, so it must hold valid types (15.25.8).
    if (np && !pat_ok(v.save.g_pat)) return VmcbCheck::GuestPat;
    // A legacy-PAE guest without nested paging has its PDPTEs loaded by VMRUN (15.5.1), so a
    // reserved bit in one fails VMRUN as it would fail MOV CR3.
    const VmcbSave& s = v.save;
    if (!np && (s.cr0 & Cr0::PG) && (s.cr4 & Cr4::PAE) && !(s.efer & Efer::LME)) {
        for (unsigned i = 0; i < 4; ++i) {
            uint64_t e = 0;
            uint8_t b[8];
            if (mem.read(as, (s.cr3 & 0xffffffe0) + i * 8, b))
                for (unsigned k = 0; k < 8; ++k) e |= uint64_t{b[k]} << (8 * k);
            else
                e = ~uint64_t{0};
            // Bits 1, 2 and 5-8 and everything from MAXPHYADDR up; bits 11:9 are ignored.
            const uint64_t rsvd = 0x1e6 | ~kPhysAddrMask;
            if ((e & Pte::P) && (e & rsvd)) return VmcbCheck::Pdpte;
        }
    }
    return VmcbCheck::None;
}

}  // namespace vx86::cpu
