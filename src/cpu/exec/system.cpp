// System family: CLI/STI/HLT, CPUID, RDTSC(P), RDMSR/WRMSR, MOV to/from CRn/DRn, LGDT/LIDT/SGDT/
// SIDT, LMSW/SMSW, CLTS, INVLPG, WBINVD/INVD. The CPL-0 rule is enforced by the dispatcher.
#include <Zydis/Zydis.h>

#include "arch/msr.h"
#include "cpu/exec/families.h"
#include "cpu/exec/operands.h"
#include "cpu/exec/svm_intercept.h"
#include "cpu/state/supported_bits.h"

namespace vx86::cpu {

namespace {

using namespace arch;

ExecStatus next_or_fault(bool ok) { return ok ? ExecStatus::Next : ExecStatus::Fault; }

// CLI/STI need CPL <= IOPL in protected mode, IOPL == 3 in virtual-8086 mode (no VME/PVI
// modelled; APM Vol 3, "CLI").
bool iopl_allows(const Cpu& c) {
    if (c.s.mode == CpuMode::Real) return true;
    if (c.s.mode == CpuMode::Virtual8086) return c.s.iopl() == 3;
    return c.s.cpl <= c.s.iopl();
}

ExecStatus cli(Cpu& c, const Insn&) {
    if (!iopl_allows(c)) return raise_gp0(c);
    c.s.rflags &= ~Rflags::IF;
    return ExecStatus::Branch;
}

// STI opens an interrupt shadow for one instruction only when IF was clear (APM Vol 2, 8.5).
ExecStatus sti(Cpu& c, const Insn&) {
    if (!iopl_allows(c)) return raise_gp0(c);
    if (!(c.s.rflags & Rflags::IF)) c.s.interrupt_shadow |= Shadow::STI;
    c.s.rflags |= Rflags::IF;
    return ExecStatus::Branch;
}

ExecStatus hlt(Cpu& c, const Insn& in) {
    if (c.s.svm.intercept_misc1(InterceptMisc1::HLT)) return svm_exit(c, in, 0x78);
    c.s.halted = true;
    return ExecStatus::Branch;
}

ExecStatus cpuid(Cpu& c, const Insn& in) {
    if (c.s.svm.intercept_misc1(InterceptMisc1::CPUID)) return svm_exit(c, in, 0x72);
    const CpuidLeaf l = c.cpuid->query(static_cast<uint32_t>(c.s.gpr[RAX]),
                                       static_cast<uint32_t>(c.s.gpr[RCX]));
    c.s.gpr[RAX] = l.eax;
    c.s.gpr[RBX] = l.ebx;
    c.s.gpr[RCX] = l.ecx;
    c.s.gpr[RDX] = l.edx;
    return ExecStatus::Next;
}

// The TSC counts retired instructions: deterministic across runs, snapshots and migration. L2
// sees L1's TSC plus the VMCB's TSC_OFFSET (APM Vol 2, 15.30.5).
uint64_t tsc(const Cpu& c) {
    const uint64_t t = c.s.icount + c.s.msr.tsc_offset;
    return c.s.svm.guest_mode ? t + c.s.svm.ctl.tsc_offset : t;
}

ExecStatus rdtsc(Cpu& c, const Insn& in) {
    if ((c.s.cr4 & Cr4::TSD) && c.s.cpl != 0 && c.s.mode != CpuMode::Real) return raise_gp0(c);
    if (in.mnemonic == ZYDIS_MNEMONIC_RDTSCP) {
        // An instruction the CPU model lacks is #UD even when intercepted (15.9).
        if (!c.features.rdtscp) return raise_ud(c);
        if (c.s.svm.intercept_misc2(InterceptMisc2::RDTSCP)) return svm_exit(c, in, 0x87);
        c.s.gpr[RCX] = static_cast<uint32_t>(c.s.msr.tsc_aux);
    } else if (c.s.svm.intercept_misc1(InterceptMisc1::RDTSC)) {
        return svm_exit(c, in, 0x6e);
    }
    const uint64_t t = tsc(c);
    c.s.gpr[RAX] = static_cast<uint32_t>(t);
    c.s.gpr[RDX] = t >> 32;
    return ExecStatus::Next;
}

bool valid_pat(uint64_t v) {
    for (unsigned i = 0; i < 8; ++i) {
        const uint8_t t = (v >> (i * 8)) & 0xff;
        if (t != 0 && t != 1 && t != 4 && t != 5 && t != 6 && t != 7) return false;
    }
    return true;
}

uint64_t efer_writable_mask(const Cpu& c) { return efer_supported(c.features); }

// Returns false for #GP(0).
bool read_msr(Cpu& c, uint32_t index, uint64_t& v) {
    const Msrs& m = c.s.msr;
    if (index >= 0x200 && index <= 0x20f) {
        v = m.mtrr_var[index - 0x200];
        return true;
    }
    switch (index) {
        case msr_index(Msr::TSC): v = tsc(c); return true;
        case msr_index(Msr::APIC_BASE): v = m.apic_base; return true;
        case msr_index(Msr::MTRRCAP): v = 0x508; return true;  // 8 variable ranges, fixed, WC
        case msr_index(Msr::SYSENTER_CS): v = m.sysenter_cs; return true;
        case msr_index(Msr::SYSENTER_ESP): v = m.sysenter_esp; return true;
        case msr_index(Msr::SYSENTER_EIP): v = m.sysenter_eip; return true;
        case msr_index(Msr::MCG_CAP): v = 0; return true;
        case msr_index(Msr::MCG_STATUS): v = m.mcg_status; return true;
        case msr_index(Msr::MTRR_FIX64K_00000): v = m.mtrr_fixed[0]; return true;
        case msr_index(Msr::MTRR_FIX16K_80000): v = m.mtrr_fixed[1]; return true;
        case msr_index(Msr::MTRR_FIX16K_A0000): v = m.mtrr_fixed[2]; return true;
        case msr_index(Msr::PAT): v = m.pat; return true;
        case msr_index(Msr::MTRR_DEF_TYPE): v = m.mtrr_def_type; return true;
        case msr_index(Msr::EFER): v = c.s.efer; return true;
        case msr_index(Msr::STAR): v = m.star; return true;
        case msr_index(Msr::LSTAR): v = m.lstar; return true;
        case msr_index(Msr::CSTAR): v = m.cstar; return true;
        case msr_index(Msr::SFMASK): v = m.sfmask; return true;
        case msr_index(Msr::FS_BASE): v = c.s.seg[FS].base; return true;
        case msr_index(Msr::GS_BASE): v = c.s.seg[GS].base; return true;
        case msr_index(Msr::KERNEL_GS_BASE): v = m.kernel_gs_base; return true;
        case msr_index(Msr::TSC_AUX):
            if (!c.features.rdtscp) return false;
            v = m.tsc_aux;
            return true;
        case msr_index(Msr::VM_CR):
            if (!c.features.svm) return false;
            v = m.vm_cr;
            return true;
        case msr_index(Msr::VM_HSAVE_PA):
            if (!c.features.svm) return false;
            v = m.vm_hsave_pa;
            return true;
        default: break;
    }
    if (index >= 0x268 && index <= 0x26f) {
        v = m.mtrr_fixed[3 + index - 0x268];
        return true;
    }
    return false;
}

bool write_msr(Cpu& c, uint32_t index, uint64_t v) {
    Msrs& m = c.s.msr;
    if (index >= 0x200 && index <= 0x20f) {
        m.mtrr_var[index - 0x200] = v;
        return true;
    }
    if (index >= 0x268 && index <= 0x26f) {
        m.mtrr_fixed[3 + index - 0x268] = v;
        return true;
    }
    switch (index) {
        case msr_index(Msr::TSC): m.tsc_offset = v - c.s.icount; return true;
        case msr_index(Msr::APIC_BASE):
            if (v & ~(0x000000fffffff000ull | kApicBaseBsp | kApicBaseEnable)) return false;
            m.apic_base = v;
            return true;
        case msr_index(Msr::SYSENTER_CS): m.sysenter_cs = v & 0xffff; return true;
        case msr_index(Msr::SYSENTER_ESP): m.sysenter_esp = v; return true;
        case msr_index(Msr::SYSENTER_EIP): m.sysenter_eip = v; return true;
        case msr_index(Msr::MCG_STATUS): m.mcg_status = v; return true;
        case msr_index(Msr::MTRR_FIX64K_00000): m.mtrr_fixed[0] = v; return true;
        case msr_index(Msr::MTRR_FIX16K_80000): m.mtrr_fixed[1] = v; return true;
        case msr_index(Msr::MTRR_FIX16K_A0000): m.mtrr_fixed[2] = v; return true;
        case msr_index(Msr::PAT):
            if (!valid_pat(v)) return false;
            m.pat = v;
            return true;
        case msr_index(Msr::MTRR_DEF_TYPE):
            if (v & ~0xcffull) return false;
            m.mtrr_def_type = v;
            return true;
        case msr_index(Msr::EFER): {
            // Reserved bits #GP; LME may not change while paging is on; LMA is read-only
            // (APM Vol 2, 3.1.7 "Extended Feature Enable Register").
            if (v & ~efer_writable_mask(c)) return false;
            if (((v ^ c.s.efer) & Efer::LME) && c.s.paging()) return false;
            // SVME cannot be set while VM_CR.SVMDIS is (APM Vol 2, 15.30.1).
            if ((v & Efer::SVME) && !(c.s.efer & Efer::SVME) && (m.vm_cr & kVmCrSvmDis)) return false;
            if (!(v & Efer::SVME) && (c.s.efer & Efer::SVME)) {
                // Clearing SVME sets GIF (KVM's choice, 15.17 leaves it open); L2 doing so is
                // undefined and vx86, like KVM, shuts the machine down.
                if (c.s.svm.guest_mode) c.exit.reason = ExitReason::Shutdown;
                c.s.svm.gif = true;
            }
            const uint64_t nv = (v & ~Efer::LMA) | (c.s.efer & Efer::LMA);
            const bool tlb = (nv ^ c.s.efer) & Efer::NXE;
            c.s.efer = nv;
            c.s.update_mode();
            if (tlb) c.mmu.flush();
            return true;
        }
        case msr_index(Msr::STAR): m.star = v; return true;
        case msr_index(Msr::LSTAR):
            if (!is_canonical(v)) return false;
            m.lstar = v;
            return true;
        case msr_index(Msr::CSTAR):
            if (!is_canonical(v)) return false;
            m.cstar = v;
            return true;
        case msr_index(Msr::SFMASK): m.sfmask = v & 0xffffffff; return true;
        case msr_index(Msr::FS_BASE):
        case msr_index(Msr::GS_BASE):
            if (!is_canonical(v)) return false;
            c.s.seg[index == msr_index(Msr::FS_BASE) ? FS : GS].base = v;
            c.s.update_segment_checks();
            return true;
        case msr_index(Msr::KERNEL_GS_BASE):
            if (!is_canonical(v)) return false;
            m.kernel_gs_base = v;
            return true;
        case msr_index(Msr::TSC_AUX):
            if (!c.features.rdtscp || (v >> 32)) return false;
            m.tsc_aux = v;
            return true;
        case msr_index(Msr::VM_CR): {
            // Bits 4:0 only; with LOCK set, LOCK and SVMDIS keep their values; SVMDIS cannot be
            // set while EFER.SVME is (APM Vol 2, 15.30.1).
            if (!c.features.svm || (v & ~uint64_t{0x1f})) return false;
            uint64_t nv = v;
            if (m.vm_cr & kVmCrLock) nv = (v & 0x7) | (m.vm_cr & (kVmCrLock | kVmCrSvmDis));
            if ((nv & kVmCrSvmDis) && (c.s.efer & Efer::SVME)) return false;
            m.vm_cr = nv;
            return true;
        }
        case msr_index(Msr::VM_HSAVE_PA):
            // A page-aligned address below MAXPHYADDR (15.30.4).
            if (!c.features.svm || (v & 0xfff) || (v & ~kPhysAddrMask)) return false;
            m.vm_hsave_pa = v;
            return true;
        default: return false;
    }
}

ExecStatus rdmsr(Cpu& c, const Insn& in) {
    const auto index = static_cast<uint32_t>(c.s.gpr[RCX]);
    if (c.s.svm.intercept_misc1(InterceptMisc1::MSR_PROT) && svm_msr_intercepted(c, index, false))
        return svm_exit(c, in, 0x7c, 0);
    uint64_t v;
    if (!read_msr(c, index, v)) return raise_gp0(c);
    c.s.gpr[RAX] = static_cast<uint32_t>(v);
    c.s.gpr[RDX] = v >> 32;
    return ExecStatus::Next;
}

ExecStatus wrmsr(Cpu& c, const Insn& in) {
    const auto index = static_cast<uint32_t>(c.s.gpr[RCX]);
    if (c.s.svm.intercept_misc1(InterceptMisc1::MSR_PROT) && svm_msr_intercepted(c, index, true))
        return svm_exit(c, in, 0x7c, 1);
    const uint64_t v = (c.s.gpr[RDX] << 32) | static_cast<uint32_t>(c.s.gpr[RAX]);
    c.exit.reason = ExitReason::None;
    if (!write_msr(c, index, v)) return raise_gp0(c);
    if (c.exit.reason == ExitReason::Shutdown) return ExecStatus::Exit;
    return ExecStatus::Branch;
}

// RSM outside SMM is #UD (APM Vol 3, "RSM"); inside, the SMM module restores the saved state.
ExecStatus rsm(Cpu& c, const Insn& in) {
    // The RSM intercept outranks the #UD RSM gets outside SMM (APM Vol 2, 15.9).
    if (c.s.svm.intercept_misc1(InterceptMisc1::RSM)) return svm_exit(c, in, 0x73);
    if (!c.s.smm.in_smm || !c.transitions) return raise_ud(c);
    return c.transitions->rsm(c);
}

// ---- control registers (APM Vol 2, 3.1 "System-Control Registers") ---------------------------

uint64_t cr4_supported(const Cpu& c) { return cr4_supported(c.features); }

bool write_cr0(Cpu& c, uint64_t v) {
    CpuState& s = c.s;
    if (v >> 32) return false;
    v |= Cr0::ET;  // hard-wired to 1
    if ((v & Cr0::PG) && !(v & Cr0::PE)) return false;
    if ((v & Cr0::NW) && !(v & Cr0::CD)) return false;
    const bool pg_on = (v & Cr0::PG) && !(s.cr0 & Cr0::PG);
    const bool pg_off = !(v & Cr0::PG) && (s.cr0 & Cr0::PG);
    uint64_t efer = s.efer;
    if (pg_on && (efer & Efer::LME)) {
        // Activating long mode needs PAE and a CS that is not 64-bit (APM Vol 2, 14.6.1).
        if (!(s.cr4 & Cr4::PAE) || s.seg[CS].l()) return false;
        efer |= Efer::LMA;
    }
    if (pg_off && (efer & Efer::LMA)) {
        if (s.mode == CpuMode::Long64) return false;  // only from compatibility mode
        efer &= ~Efer::LMA;
    }
    const bool flush = (v ^ s.cr0) & (Cr0::PG | Cr0::WP | Cr0::PE);
    s.cr0 = v;
    s.efer = efer;
    s.update_mode();
    if (flush) c.mmu.flush();
    return true;
}

bool write_cr3(Cpu& c, uint64_t v) {
    CpuState& s = c.s;
    if (s.long_mode() && (v & ~kPhysAddrMask)) return false;
    s.cr3 = s.long_mode() ? v : (v & 0xffffffff);
    if (s.cr4 & Cr4::PGE) c.mmu.flush_nonglobal();
    else c.mmu.flush();
    return true;
}

bool write_cr4(Cpu& c, uint64_t v) {
    CpuState& s = c.s;
    if (v & ~cr4_supported(c)) return false;
    if (s.long_mode() && !(v & Cr4::PAE)) return false;
    const uint64_t changed = v ^ s.cr4;
    s.cr4 = v;
    if (changed & (Cr4::PSE | Cr4::PAE | Cr4::PGE | Cr4::SMEP | Cr4::SMAP)) c.mmu.flush();
    return true;
}

template <bool TO_CR>
ExecStatus mov_cr(Cpu& c, const Insn& in) {
    const unsigned n = TO_CR ? in.r[0] : in.r[1];
    const unsigned gpr = TO_CR ? in.r[1] : in.r[0];
    const unsigned size = c.s.mode == CpuMode::Long64 ? 8 : 4;
    if (n != 0 && n != 2 && n != 3 && n != 4 && !(n == 8 && c.s.mode == CpuMode::Long64))
        return raise_ud(c);
    const SvmState& svm = c.s.svm;
    if constexpr (!TO_CR) {
        if (svm.guest_mode && ((svm.ctl.intercept_cr_read >> n) & 1)) return svm_exit(c, in, n);
        // With V_INTR_MASKING, L2's CR8 is the virtual TPR (APM Vol 2, 15.21.1).
        if (n == 8 && svm.v_intr_masking()) {
            set_reg_sized(c, static_cast<uint8_t>(gpr), size, svm.ctl.int_ctl & IntCtl::V_TPR_MASK);
            return ExecStatus::Next;
        }
        uint64_t v = 0;
        switch (n) {
            case 0: v = c.s.cr0; break;
            case 2: v = c.s.cr2; break;
            case 3: v = c.s.cr3; break;
            case 4: v = c.s.cr4; break;
            case 8: v = c.s.cr8; break;
        }
        set_reg_sized(c, static_cast<uint8_t>(gpr), size, v);
        return ExecStatus::Next;
    } else {
        const uint64_t v = get_reg_sized(c, static_cast<uint8_t>(gpr), size);
        if (svm.guest_mode) {
            if ((svm.ctl.intercept_cr_write >> n) & 1) return svm_exit(c, in, 0x10 + n);
            // The selective CR0 write intercept fires when bits other than TS and MP change
            // (APM Vol 2, 15.9.1); the general CR0 write intercept above has priority.
            if (n == 0 && svm.intercept_misc1(InterceptMisc1::CR0_SEL_WRITE) &&
                ((v ^ c.s.cr0) & ~uint64_t{Cr0::TS | Cr0::MP}))
                return svm_exit(c, in, 0x65);
            if (n == 8 && svm.v_intr_masking()) {
                if (v >> 4) return raise_gp0(c);
                c.s.svm.ctl.int_ctl = (svm.ctl.int_ctl & ~IntCtl::V_TPR_MASK) | static_cast<uint32_t>(v);
                return ExecStatus::Branch;
            }
        }
        bool ok = true;
        switch (n) {
            case 0: ok = write_cr0(c, v); break;
            case 2: c.s.cr2 = v; break;
            case 3: ok = write_cr3(c, v); break;
            case 4: ok = write_cr4(c, v); break;
            case 8:
                if (v >> 4) ok = false;
                else c.s.cr8 = v;
                break;
        }
        if (!ok) return raise_gp0(c);
        return ExecStatus::Branch;
    }
}

// DR4/DR5 alias DR6/DR7 unless CR4.DE is set (APM Vol 2, 13.1.1).
template <bool TO_DR>
ExecStatus mov_dr(Cpu& c, const Insn& in) {
    unsigned n = TO_DR ? in.r[0] : in.r[1];
    const unsigned gpr = TO_DR ? in.r[1] : in.r[0];
    const unsigned size = c.s.mode == CpuMode::Long64 ? 8 : 4;
    if (n > 7) return raise_ud(c);
    if (n == 4 || n == 5) {
        if (c.s.cr4 & Cr4::DE) return raise_ud(c);
    }
    if (c.s.svm.guest_mode) {
        const uint16_t mask = TO_DR ? c.s.svm.ctl.intercept_dr_write : c.s.svm.ctl.intercept_dr_read;
        if ((mask >> n) & 1) return svm_exit(c, in, (TO_DR ? 0x30 : 0x20) + n);
    }
    if (n == 4 || n == 5) n += 2;
    if constexpr (!TO_DR) {
        set_reg_sized(c, static_cast<uint8_t>(gpr), size, c.s.dr[n]);
    } else {
        uint64_t v = get_reg_sized(c, static_cast<uint8_t>(gpr), size);
        if ((n == 6 || n == 7) && (v >> 32)) return raise_gp0(c);
        if (n == 6) v = (v & 0x0000f00f) | kDr6Reset;
        if (n == 7) v = (v & 0xffff2bff) | kDr7Reset;
        c.s.dr[n] = v;
    }
    return ExecStatus::Next;
}

// ---- descriptor-table registers --------------------------------------------------------------

template <bool IDT>
ExecStatus lgdt(Cpu& c, const Insn& in) {
    if (in.kind(0) != OpKind::Mem) return raise_ud(c);
    if (c.s.svm.intercept_misc1(IDT ? InterceptMisc1::IDTR_WRITE : InterceptMisc1::GDTR_WRITE))
        return svm_exit(c, in, IDT ? 0x6a : 0x6b);
    const uint64_t ea = effective_address(c, in);
    uint16_t limit;
    if (!read_mem(c, in.seg, ea, limit)) return ExecStatus::Fault;
    uint64_t base;
    if (c.s.mode == CpuMode::Long64) {
        if (!read_mem(c, in.seg, (ea + 2) & in.amask, base)) return ExecStatus::Fault;
        if (!is_canonical(base)) return raise_gp0(c);
    } else {
        uint32_t b32;
        if (!read_mem(c, in.seg, (ea + 2) & in.amask, b32)) return ExecStatus::Fault;
        base = in.osize == 2 ? (b32 & 0xffffff) : b32;
    }
    DescriptorTable& t = IDT ? c.s.idtr : c.s.gdtr;
    t.base = base;
    t.limit = limit;
    return ExecStatus::Next;
}

template <bool IDT>
ExecStatus sgdt(Cpu& c, const Insn& in) {
    if (in.kind(0) != OpKind::Mem) return raise_ud(c);
    if (c.s.svm.intercept_misc1(IDT ? InterceptMisc1::IDTR_READ : InterceptMisc1::GDTR_READ))
        return svm_exit(c, in, IDT ? 0x66 : 0x67);
    const uint64_t ea = effective_address(c, in);
    const DescriptorTable& t = IDT ? c.s.idtr : c.s.gdtr;
    const unsigned n = c.s.mode == CpuMode::Long64 ? 8 : 4;
    if (!probe_write_mem(c, in.seg, ea, 2 + n)) return ExecStatus::Fault;
    if (!write_mem(c, in.seg, ea, static_cast<uint16_t>(t.limit))) return ExecStatus::Fault;
    if (n == 8) return next_or_fault(write_mem(c, in.seg, (ea + 2) & in.amask, t.base));
    // With a 16-bit operand size only 24 bits of base are stored, as QEMU does.
    const uint32_t b = static_cast<uint32_t>(in.osize == 2 ? (t.base & 0xffffff) : t.base);
    return next_or_fault(write_mem(c, in.seg, (ea + 2) & in.amask, b));
}

// LMSW loads PE, MP, EM, TS and cannot clear PE (APM Vol 3, "LMSW").
ExecStatus lmsw(Cpu& c, const Insn& in) {
    uint16_t v;
    if (!read_op<2>(c, in, 0, v)) return ExecStatus::Fault;
    uint64_t cr0 = (c.s.cr0 & ~uint64_t{0xe}) | (v & 0xf) | (c.s.cr0 & Cr0::PE);
    // LMSW is a CR0 write for SVM, and selective when it changes PE or EM (15.9.1).
    if (c.s.svm.guest_mode) {
        if (c.s.svm.ctl.intercept_cr_write & 1) return svm_exit(c, in, 0x10);
        if (c.s.svm.intercept_misc1(InterceptMisc1::CR0_SEL_WRITE) &&
            ((cr0 ^ c.s.cr0) & ~uint64_t{Cr0::TS | Cr0::MP}))
            return svm_exit(c, in, 0x65);
    }
    if (!write_cr0(c, cr0)) return raise_gp0(c);
    return ExecStatus::Branch;
}

ExecStatus smsw(Cpu& c, const Insn& in) {
    if (c.s.svm.guest_mode && (c.s.svm.ctl.intercept_cr_read & 1)) return svm_exit(c, in, 0x00);
    if (in.kind(0) == OpKind::Mem)
        return next_or_fault(write_mem(c, in.seg, effective_address(c, in), static_cast<uint16_t>(c.s.cr0)));
    set_reg_sized(c, in.r[0], in.opsz[0], c.s.cr0);
    return ExecStatus::Next;
}

// CLTS is a CR0 write for SVM but never a selective one (15.9.1).
ExecStatus clts(Cpu& c, const Insn& in) {
    if (c.s.svm.guest_mode && (c.s.svm.ctl.intercept_cr_write & 1)) return svm_exit(c, in, 0x10);
    c.s.cr0 &= ~Cr0::TS;
    return ExecStatus::Next;
}

// STAC/CLAC set and clear RFLAGS.AC, which decides whether SMAP lets the kernel touch user pages:
// #UD without SMAP or outside CPL 0 (APM Vol 3, "STAC"), and cached translations are dropped.
template <bool SET>
ExecStatus stac_clac(Cpu& c, const Insn&) {
    if (!c.features.smap || c.s.cpl != 0) return raise_ud(c);
    if (SET) c.s.rflags |= Rflags::AC;
    else c.s.rflags &= ~Rflags::AC;
    if (c.s.cr4 & Cr4::SMAP) c.mmu.flush();
    return ExecStatus::Branch;
}

ExecStatus invlpg(Cpu& c, const Insn& in) {
    if (in.kind(0) != OpKind::Mem) return raise_ud(c);
    if (c.s.svm.intercept_misc1(InterceptMisc1::INVLPG)) return svm_exit(c, in, 0x79);
    c.mmu.invlpg(linear(c, in.seg, effective_address(c, in)));
    return ExecStatus::Branch;
}

// No caches are modelled: WBINVD and INVD only matter as SVM intercepts.
ExecStatus wbinvd(Cpu& c, const Insn& in) {
    if (c.s.svm.intercept_misc2(InterceptMisc2::WBINVD)) return svm_exit(c, in, 0x89);
    return ExecStatus::Next;
}

ExecStatus invd(Cpu& c, const Insn& in) {
    if (c.s.svm.intercept_misc1(InterceptMisc1::INVD)) return svm_exit(c, in, 0x76);
    return ExecStatus::Next;
}

}  // namespace

Handler bind_system(const Insn& in) {
    switch (in.mnemonic) {
        case ZYDIS_MNEMONIC_MOV:
            if (in.kind(0) == OpKind::CReg) return &mov_cr<true>;
            if (in.kind(1) == OpKind::CReg) return &mov_cr<false>;
            if (in.kind(0) == OpKind::DReg) return &mov_dr<true>;
            if (in.kind(1) == OpKind::DReg) return &mov_dr<false>;
            return nullptr;
        case ZYDIS_MNEMONIC_CLI: return &cli;
        case ZYDIS_MNEMONIC_STI: return &sti;
        case ZYDIS_MNEMONIC_HLT: return &hlt;
        case ZYDIS_MNEMONIC_RSM: return &rsm;
        case ZYDIS_MNEMONIC_CPUID: return &cpuid;
        case ZYDIS_MNEMONIC_RDTSC:
        case ZYDIS_MNEMONIC_RDTSCP: return &rdtsc;
        case ZYDIS_MNEMONIC_RDMSR: return &rdmsr;
        case ZYDIS_MNEMONIC_WRMSR: return &wrmsr;
        case ZYDIS_MNEMONIC_LGDT: return &lgdt<false>;
        case ZYDIS_MNEMONIC_LIDT: return &lgdt<true>;
        case ZYDIS_MNEMONIC_SGDT: return &sgdt<false>;
        case ZYDIS_MNEMONIC_SIDT: return &sgdt<true>;
        case ZYDIS_MNEMONIC_LMSW: return &lmsw;
        case ZYDIS_MNEMONIC_SMSW: return &smsw;
        case ZYDIS_MNEMONIC_CLTS: return &clts;
        case ZYDIS_MNEMONIC_INVLPG: return &invlpg;
        case ZYDIS_MNEMONIC_STAC: return &stac_clac<true>;
        case ZYDIS_MNEMONIC_CLAC: return &stac_clac<false>;
        case ZYDIS_MNEMONIC_WBINVD: return &wbinvd;
        case ZYDIS_MNEMONIC_INVD: return &invd;
        default: return nullptr;
    }
}

}  // namespace vx86::cpu
