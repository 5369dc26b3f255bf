// Public vCPU API: conversions between cpu::CpuState and the KVM-shaped register structs (Regs,
// Sregs, Sregs2 with PDPTEs, DebugRegs), with the checks KVM applies when they are set.
#include "api/vcpu_impl.h"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "arch/control_regs.h"
#include "arch/descriptor.h"
#include "arch/msr.h"
#include "arch/paging.h"
#include "cpu/exec/dispatch.h"
#include "cpu/state/supported_bits.h"

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

// ---- Sregs and Sregs2 share everything up to apic_base --------------------------------------

template <class S>
S VcpuImpl::get_sregs_common() const {
    const cpu::CpuState& s = m_v.state();
    S o{};
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

// What KVM_SET_SREGS checks (kvm_is_valid_sregs: CR0/CR4/EFER validity and long-mode coherence),
// against this CPU model's bits, so that everything accepted is a state a snapshot restores.
template <class S>
Status VcpuImpl::check_sregs_common(const S& r) const {
    const cpu::CpuFeatures& f = m_v.core().features;
    auto bad = [](std::string msg) { return Status{ErrorCode::InvalidArgument, std::move(msg)}; };
    if (r.cr0 >> 32) return bad("CR0 bits 63:32 are reserved");
    if ((r.cr0 & Cr0::PG) && !(r.cr0 & Cr0::PE)) return bad("CR0.PG requires CR0.PE");
    if ((r.cr0 & Cr0::NW) && !(r.cr0 & Cr0::CD)) return bad("CR0.NW requires CR0.CD");
    if (r.cr4 & ~cpu::cr4_supported(f))
        return bad(fmt::format("CR4 bits {:#x} are reserved or not implemented by this CPU model",
                               r.cr4 & ~cpu::cr4_supported(f)));
    if (r.efer & ~cpu::efer_supported(f))
        return bad("EFER has reserved bits or bits this CPU model does not implement");
    const bool lma_expected = (r.efer & Efer::LME) && (r.cr0 & Cr0::PG);
    if (static_cast<bool>(r.efer & Efer::LMA) != lma_expected)
        return bad("EFER.LMA must equal EFER.LME && CR0.PG");
    if (lma_expected && !(r.cr4 & Cr4::PAE)) return bad("long mode requires CR4.PAE");
    if (lma_expected && r.cs.l && r.cs.db) return bad("CS.L and CS.D are both set in long mode");
    if (r.cr8 > 15) return bad("CR8 holds a 4-bit priority");
    if ((r.cr4 & Cr4::PAE) && (r.cr3 & ~kPhysAddrMask))
        return bad("CR3 sets bits beyond the physical address width");
    if (r.apic_base & ~(0x000000fffffff000ull | kApicBaseBsp | kApicBaseEnable))
        return bad("APIC base sets reserved bits");
    return Status::ok();
}

template <class S>
void VcpuImpl::load_sregs_common(const S& r) {
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
}

Sregs VcpuImpl::get_sregs() const { return get_sregs_common<Sregs>(); }

Status VcpuImpl::set_sregs(const Sregs& r) {
    if (Status st = check_sregs_common(r); !st) return st;
    load_sregs_common(r);
    return Status::ok();
}

namespace {
// Legacy PAE paging: the one mode with PDPTE registers (APM Vol 2, 5.4.1; KVM's is_pae_paging).
bool pae_paging(uint64_t cr0, uint64_t cr4, uint64_t efer) {
    return (cr0 & Cr0::PG) && (cr4 & Cr4::PAE) && !(efer & Efer::LMA);
}
}  // namespace

bool VcpuImpl::read_pdptes(uint64_t cr3, uint64_t out[4]) const {
    const cpu::CpuState& s = m_v.state();
    if (s.svm.nested_paging()) return false;
    cpu::Mmu& mmu = m_v.core().mmu;
    // The walker takes the 32-byte-aligned table at CR3 bits 31:5 (APM Vol 2, 5.3.2 "CR3").
    const uint8_t* p = mmu.memory().host_ptr(mmu.address_space(), cr3 & 0xffffffe0, 32, false);
    if (!p) return false;
    std::memcpy(out, p, 32);
    return true;
}

Sregs2 VcpuImpl::get_sregs2() const {
    Sregs2 o = get_sregs_common<Sregs2>();
    if (pae_paging(o.cr0, o.cr4, o.efer) && read_pdptes(o.cr3, o.pdptrs))
        o.flags |= kSregs2PdptrsValid;
    return o;
}

Status VcpuImpl::set_sregs2(const Sregs2& r) {
    if (r.flags & ~kSregs2PdptrsValid)
        return {ErrorCode::InvalidArgument, "sregs2: unknown flags (only PDPTRS_VALID = 1 exists)"};
    if (Status st = check_sregs_common(r); !st) return st;
    if (r.flags & kSregs2PdptrsValid) {
        if (!pae_paging(r.cr0, r.cr4, r.efer))
            return {ErrorCode::InvalidArgument,
                    "sregs2: PDPTRS_VALID needs legacy PAE paging (CR0.PG, CR4.PAE, not EFER.LMA)"};
        // vx86 has no PDPTE registers: a walk reads them from memory at CR3, so it can take only
        // the values memory holds (those get_sregs2 reports).
        uint64_t mem[4];
        if (!read_pdptes(r.cr3, mem))
            return {ErrorCode::Unsupported,
                    "sregs2: vx86 keeps no PDPTE registers and cannot check these against memory "
                    "(nested paging, or no RAM at CR3); set them without PDPTRS_VALID"};
        for (unsigned i = 0; i < 4; ++i)
            if (mem[i] != r.pdptrs[i])
                return {ErrorCode::Unsupported,
                        fmt::format("sregs2: PDPTE {} is {:#x} but memory at CR3 holds {:#x}; "
                                    "vx86 keeps no PDPTE registers (its walks read memory), so "
                                    "it cannot hold PDPTEs that differ from memory",
                                    i, r.pdptrs[i], mem[i])};
    }
    load_sregs_common(r);
    return Status::ok();
}

// ---- debug registers (APM Vol 2, 13.1.1) ------------------------------------------------------

DebugRegs VcpuImpl::get_debugregs() const {
    const cpu::CpuState& s = m_v.state();
    return DebugRegs{{s.dr[0], s.dr[1], s.dr[2], s.dr[3]}, s.dr[6], s.dr[7], 0};
}

Status VcpuImpl::set_debugregs(const DebugRegs& r) {
    if (r.flags) return {ErrorCode::InvalidArgument, "debugregs: flags must be 0"};
    if (r.dr6 >> 32) return {ErrorCode::InvalidArgument, "debugregs: DR6 bits 63:32 must be 0"};
    if (r.dr7 >> 32) return {ErrorCode::InvalidArgument, "debugregs: DR7 bits 63:32 must be 0"};
    cpu::CpuState& s = m_v.state();
    for (unsigned i = 0; i < 4; ++i) s.dr[i] = r.db[i];
    // As MOV DR6/DR7 store them: reserved bits read back with their fixed values.
    s.dr[6] = (r.dr6 & 0x0000f00f) | kDr6Reset;
    s.dr[7] = (r.dr7 & 0xffff2bff) | kDr7Reset;
    return Status::ok();
}

}  // namespace vx86::api
