// Public vCPU API: conversions between cpu::CpuState and the KVM-shaped structs, with the
// consistency checks KVM applies to KVM_SET_SREGS (reserved bits, long-mode coherence).
#include "api/vcpu_impl.h"

#include <algorithm>

#include "arch/control_regs.h"
#include "arch/descriptor.h"
#include "arch/msr.h"
#include "arch/paging.h"
#include "cpu/exec/dispatch.h"

namespace vx86::api {

using namespace arch;

namespace {

Segment to_api(const cpu::Segment& s) {
    Segment o{};
    o.base = s.base;
    o.limit = s.limit;
    o.selector = s.selector;
    o.type = s.attrib & Attr::TYPE_MASK;
    o.s = (s.attrib & Attr::S) ? 1 : 0;
    o.dpl = (s.attrib >> Attr::DPL_SHIFT) & 3;
    o.present = (s.attrib & Attr::P) ? 1 : 0;
    o.avl = (s.attrib & Attr::AVL) ? 1 : 0;
    o.l = (s.attrib & Attr::L) ? 1 : 0;
    o.db = (s.attrib & Attr::DB) ? 1 : 0;
    o.g = (s.attrib & Attr::G) ? 1 : 0;
    o.unusable = o.present ? 0 : 1;
    return o;
}

cpu::Segment from_api(const Segment& s) {
    cpu::Segment o;
    o.base = s.base;
    o.limit = s.limit;
    o.selector = s.selector;
    o.attrib = static_cast<uint16_t>((s.type & 0xf) | (s.s ? Attr::S : 0) | ((s.dpl & 3) << Attr::DPL_SHIFT) |
                                     (s.present && !s.unusable ? Attr::P : 0) | (s.avl ? Attr::AVL : 0) |
                                     (s.l ? Attr::L : 0) | (s.db ? Attr::DB : 0) | (s.g ? Attr::G : 0));
    return o;
}

ExitReason to_api(cpu::ExitReason r) {
    switch (r) {
        case cpu::ExitReason::Io: return ExitReason::Io;
        case cpu::ExitReason::Mmio: return ExitReason::Mmio;
        case cpu::ExitReason::Shutdown: return ExitReason::Shutdown;
        case cpu::ExitReason::DebugExit: return ExitReason::DebugExit;
        case cpu::ExitReason::InsnLimit: return ExitReason::InsnLimit;
        default: return ExitReason::Hlt;
    }
}

}  // namespace

Result<Exit> VcpuImpl::run(uint64_t max_insns) {
    const cpu::ExitInfo& e = m_v.run(max_insns);
    Exit x{};
    x.reason = to_api(e.reason);
    x.io = IoExit{e.io.in, e.io.size, e.io.port, e.io.data};
    x.debug_exit_code = e.debug_exit_code;
    x.smm = m_v.in_smm();
    if (e.reason == cpu::ExitReason::Mmio) {
        const cpu::MmioAccess& a = m_v.mmio_access();
        x.mmio.phys_addr = a.gpa;
        x.mmio.len = a.size;
        x.mmio.is_write = a.write;
        std::copy(a.data, a.data + 8, x.mmio.data);
    }
    return x;
}

Regs VcpuImpl::get_regs() const {
    const cpu::CpuState& s = m_v.state();
    const auto& g = s.gpr;
    return Regs{g[cpu::RAX], g[cpu::RBX], g[cpu::RCX], g[cpu::RDX], g[cpu::RSI], g[cpu::RDI],
                g[cpu::RSP], g[cpu::RBP], g[cpu::R8],  g[cpu::R9],  g[cpu::R10], g[cpu::R11],
                g[cpu::R12], g[cpu::R13], g[cpu::R14], g[cpu::R15], s.rip(), s.get_rflags()};
}

Status VcpuImpl::set_regs(const Regs& r) {
    cpu::CpuState& s = m_v.state();
    auto& g = s.gpr;
    g[cpu::RAX] = r.rax; g[cpu::RBX] = r.rbx; g[cpu::RCX] = r.rcx; g[cpu::RDX] = r.rdx;
    g[cpu::RSI] = r.rsi; g[cpu::RDI] = r.rdi; g[cpu::RSP] = r.rsp; g[cpu::RBP] = r.rbp;
    g[cpu::R8] = r.r8;   g[cpu::R9] = r.r9;   g[cpu::R10] = r.r10; g[cpu::R11] = r.r11;
    g[cpu::R12] = r.r12; g[cpu::R13] = r.r13; g[cpu::R14] = r.r14; g[cpu::R15] = r.r15;
    s.rip() = r.rip;
    const bool vm_changed = (r.rflags ^ s.rflags) & Rflags::VM;
    s.set_rflags(r.rflags);
    if (vm_changed) m_v.state_changed();
    return Status::ok();
}

Sregs VcpuImpl::get_sregs() const {
    const cpu::CpuState& s = m_v.state();
    Sregs o{};
    o.cs = to_api(s.seg[cpu::CS]);
    o.ds = to_api(s.seg[cpu::DS]);
    o.es = to_api(s.seg[cpu::ES]);
    o.fs = to_api(s.seg[cpu::FS]);
    o.gs = to_api(s.seg[cpu::GS]);
    o.ss = to_api(s.seg[cpu::SS]);
    o.tr = to_api(s.tr);
    o.ldt = to_api(s.ldtr);
    o.gdt = {s.gdtr.base, static_cast<uint16_t>(s.gdtr.limit)};
    o.idt = {s.idtr.base, static_cast<uint16_t>(s.idtr.limit)};
    o.cr0 = s.cr0; o.cr2 = s.cr2; o.cr3 = s.cr3; o.cr4 = s.cr4; o.cr8 = s.cr8;
    o.efer = s.efer;
    o.apic_base = s.msr.apic_base;
    return o;
}

Status VcpuImpl::set_sregs(const Sregs& r) {
    if (r.cr0 >> 32) return {ErrorCode::InvalidArgument, "CR0 bits 63:32 are reserved"};
    if ((r.cr0 & Cr0::PG) && !(r.cr0 & Cr0::PE))
        return {ErrorCode::InvalidArgument, "CR0.PG requires CR0.PE"};
    if (r.efer & ~(Efer::SCE | Efer::LME | Efer::LMA | Efer::NXE | Efer::SVME))
        return {ErrorCode::InvalidArgument, "EFER has reserved or unsupported bits set"};
    const bool lma_expected = (r.efer & Efer::LME) && (r.cr0 & Cr0::PG);
    if (static_cast<bool>(r.efer & Efer::LMA) != lma_expected)
        return {ErrorCode::InvalidArgument, "EFER.LMA must equal EFER.LME && CR0.PG"};
    if (lma_expected && !(r.cr4 & Cr4::PAE))
        return {ErrorCode::InvalidArgument, "long mode requires CR4.PAE"};
    if (r.cr8 > 15) return {ErrorCode::InvalidArgument, "CR8 holds a 4-bit priority"};
    if ((r.efer & Efer::LMA) && (r.cr3 & ~kPhysAddrMask))
        return {ErrorCode::InvalidArgument, "CR3 sets bits beyond the physical address width"};
    cpu::CpuState& s = m_v.state();
    s.seg[cpu::CS] = from_api(r.cs);
    s.seg[cpu::DS] = from_api(r.ds);
    s.seg[cpu::ES] = from_api(r.es);
    s.seg[cpu::FS] = from_api(r.fs);
    s.seg[cpu::GS] = from_api(r.gs);
    s.seg[cpu::SS] = from_api(r.ss);
    s.tr = from_api(r.tr);
    s.ldtr = from_api(r.ldt);
    s.gdtr = {r.gdt.base, r.gdt.limit};
    s.idtr = {r.idt.base, r.idt.limit};
    s.cr0 = r.cr0 | Cr0::ET;
    s.cr2 = r.cr2; s.cr3 = r.cr3; s.cr4 = r.cr4; s.cr8 = r.cr8;
    s.efer = r.efer;
    s.msr.apic_base = r.apic_base;
    m_v.state_changed();
    return Status::ok();
}

Result<uint64_t> VcpuImpl::get_msr(uint32_t index) const {
    const cpu::CpuState& s = m_v.state();
    switch (index) {
        case msr_index(Msr::EFER): return s.efer;
        case msr_index(Msr::STAR): return s.msr.star;
        case msr_index(Msr::LSTAR): return s.msr.lstar;
        case msr_index(Msr::CSTAR): return s.msr.cstar;
        case msr_index(Msr::SFMASK): return s.msr.sfmask;
        case msr_index(Msr::KERNEL_GS_BASE): return s.msr.kernel_gs_base;
        case msr_index(Msr::FS_BASE): return s.seg[cpu::FS].base;
        case msr_index(Msr::GS_BASE): return s.seg[cpu::GS].base;
        case msr_index(Msr::SYSENTER_CS): return s.msr.sysenter_cs;
        case msr_index(Msr::SYSENTER_ESP): return s.msr.sysenter_esp;
        case msr_index(Msr::SYSENTER_EIP): return s.msr.sysenter_eip;
        case msr_index(Msr::PAT): return s.msr.pat;
        case msr_index(Msr::TSC): return s.icount + s.msr.tsc_offset;
        case msr_index(Msr::TSC_AUX): return s.msr.tsc_aux;
        case msr_index(Msr::APIC_BASE): return s.msr.apic_base;
        case msr_index(Msr::SMBASE): return s.smm.smbase;
        case msr_index(Msr::SMI_COUNT): return s.smm.smi_count;
        case msr_index(Msr::VM_CR): return s.msr.vm_cr;
        case msr_index(Msr::VM_HSAVE_PA): return s.msr.vm_hsave_pa;
        default: break;
    }
    const char* name = msr_name(index);
    return {ErrorCode::NotFound, std::string("MSR ") + (name ? name : std::to_string(index)) +
                                     " is not readable through the API"};
}

Status VcpuImpl::set_msr(uint32_t index, uint64_t v) {
    cpu::CpuState& s = m_v.state();
    switch (index) {
        case msr_index(Msr::STAR): s.msr.star = v; return Status::ok();
        case msr_index(Msr::LSTAR): s.msr.lstar = v; return Status::ok();
        case msr_index(Msr::CSTAR): s.msr.cstar = v; return Status::ok();
        case msr_index(Msr::SFMASK): s.msr.sfmask = v & 0xffffffff; return Status::ok();
        case msr_index(Msr::KERNEL_GS_BASE): s.msr.kernel_gs_base = v; return Status::ok();
        case msr_index(Msr::FS_BASE): s.seg[cpu::FS].base = v; m_v.state_changed(); return Status::ok();
        case msr_index(Msr::GS_BASE): s.seg[cpu::GS].base = v; m_v.state_changed(); return Status::ok();
        case msr_index(Msr::SYSENTER_CS): s.msr.sysenter_cs = v & 0xffff; return Status::ok();
        case msr_index(Msr::SYSENTER_ESP): s.msr.sysenter_esp = v; return Status::ok();
        case msr_index(Msr::SYSENTER_EIP): s.msr.sysenter_eip = v; return Status::ok();
        case msr_index(Msr::PAT): s.msr.pat = v; return Status::ok();
        case msr_index(Msr::TSC): s.msr.tsc_offset = v - s.icount; return Status::ok();
        case msr_index(Msr::TSC_AUX): s.msr.tsc_aux = v & 0xffffffff; return Status::ok();
        // IA32_SMBASE is writable only by the host (as in KVM); the guest relocates through SMRAM.
        case msr_index(Msr::SMBASE):
            if (v >> 32) return {ErrorCode::InvalidArgument, "SMBASE must fit in 32 bits"};
            s.smm.smbase = v;
            return Status::ok();
        case msr_index(Msr::SMI_COUNT): s.smm.smi_count = v; return Status::ok();
        // Host writes take what a guest WRMSR could have left there.
        case msr_index(Msr::VM_CR):
            if (v & ~uint64_t{0x1f}) return {ErrorCode::InvalidArgument, "VM_CR has only bits 4:0"};
            s.msr.vm_cr = v;
            return Status::ok();
        case msr_index(Msr::VM_HSAVE_PA):
            if ((v & 0xfff) || (v & ~kPhysAddrMask))
                return {ErrorCode::InvalidArgument, "VM_HSAVE_PA must be page aligned and below MAXPHYADDR"};
            s.msr.vm_hsave_pa = v;
            return Status::ok();
        default: break;
    }
    return {ErrorCode::NotFound, "MSR " + std::to_string(index) + " is not writable through the API"};
}

namespace {
uint8_t to_kvm_shadow(uint8_t s) {
    return static_cast<uint8_t>(((s & cpu::Shadow::STI) ? kShadowSti : 0) |
                                ((s & cpu::Shadow::MOV_SS) ? kShadowMovSs : 0));
}
uint8_t from_kvm_shadow(uint8_t s) {
    return static_cast<uint8_t>(((s & kShadowSti) ? cpu::Shadow::STI : 0) |
                                ((s & kShadowMovSs) ? cpu::Shadow::MOV_SS : 0));
}
}  // namespace

VcpuEvents VcpuImpl::get_vcpu_events() const {
    const cpu::CpuState& s = m_v.state();
    VcpuEvents e{};
    e.nmi.pending = s.nmi_pending;
    e.nmi.masked = s.nmi_blocked;
    e.interrupt_shadow = to_kvm_shadow(s.interrupt_shadow);
    e.smi.smm = s.smm.in_smm;
    e.smi.pending = s.smm.smi_pending;
    e.smi.smm_inside_nmi = s.smm.inside_nmi;
    e.smi.latched_init = s.smm.init_latched;
    e.smm_saved_shadow = to_kvm_shadow(s.smm.saved_shadow);
    return e;
}

Status VcpuImpl::set_vcpu_events(const VcpuEvents& e) {
    for (uint8_t b : {e.nmi.pending, e.nmi.masked, e.smi.smm, e.smi.pending, e.smi.smm_inside_nmi,
                      e.smi.latched_init})
        if (b > 1) return {ErrorCode::InvalidArgument, "vcpu events: flags must be 0 or 1"};
    if ((e.interrupt_shadow | e.smm_saved_shadow) & ~(kShadowSti | kShadowMovSs))
        return {ErrorCode::InvalidArgument, "vcpu events: unknown interrupt-shadow bits"};
    if (!e.smi.smm && (e.smi.smm_inside_nmi || e.smm_saved_shadow))
        return {ErrorCode::InvalidArgument,
                "vcpu events: smm_inside_nmi and smm_saved_shadow need smi.smm = 1"};
    cpu::CpuState& s = m_v.state();
    s.nmi_pending = e.nmi.pending;
    s.nmi_blocked = e.nmi.masked;
    s.interrupt_shadow = from_kvm_shadow(e.interrupt_shadow);
    s.smm.in_smm = e.smi.smm;
    s.smm.smi_pending = e.smi.pending;
    s.smm.inside_nmi = e.smi.smm_inside_nmi;
    s.smm.init_latched = e.smi.latched_init;
    s.smm.saved_shadow = from_kvm_shadow(e.smm_saved_shadow);
    m_v.state_changed();  // switches the address space to match smi.smm
    return Status::ok();
}

}  // namespace vx86::api
