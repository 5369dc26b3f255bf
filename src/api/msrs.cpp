// Public vCPU API, MSRs: host-initiated reads and writes (KVM_GET/SET_MSRS) of the MSRs whose
// state the vCPU holds, and the list of those a save/restore must carry (KVM_GET_MSR_INDEX_LIST).
#include <fmt/format.h>

#include "api/vcpu_impl.h"
#include "arch/msr.h"
#include "arch/paging.h"

namespace vx86::api {

using namespace arch;

namespace {

constexpr uint32_t kMtrrVarFirst = msr_index(Msr::MTRR_PHYSBASE0);
constexpr uint32_t kMtrrVarLast = msr_index(Msr::MTRR_PHYSMASK7);
constexpr uint32_t kMtrrFix4kFirst = msr_index(Msr::MTRR_FIX4K_C0000);
constexpr uint32_t kMtrrFix4kLast = msr_index(Msr::MTRR_FIX4K_F8000);

// The MSR file's fixed-range MTRRs: FIX64K_00000, FIX16K_80000, FIX16K_A0000, then the eight
// FIX4K ranges (APM Vol 2, 7.7.2 "Fixed-Range MTRRs").
template <class M>  // cpu::Msrs, const or not
auto* fixed_mtrr(M& m, uint32_t index) {
    using Ptr = decltype(&m.mtrr_fixed[0]);
    switch (index) {
        case msr_index(Msr::MTRR_FIX64K_00000): return &m.mtrr_fixed[0];
        case msr_index(Msr::MTRR_FIX16K_80000): return &m.mtrr_fixed[1];
        case msr_index(Msr::MTRR_FIX16K_A0000): return &m.mtrr_fixed[2];
        default: break;
    }
    if (index >= kMtrrFix4kFirst && index <= kMtrrFix4kLast)
        return &m.mtrr_fixed[3 + index - kMtrrFix4kFirst];
    return Ptr{nullptr};
}

// Each PAT entry holds a memory type: UC, WC, WT, WP, WB or UC- (APM Vol 2, 7.8.1).
bool valid_pat(uint64_t v) {
    for (unsigned i = 0; i < 8; ++i) {
        const uint8_t t = (v >> (i * 8)) & 0xff;
        if (t != 0 && t != 1 && t != 4 && t != 5 && t != 6 && t != 7) return false;
    }
    return true;
}

// Bits 63:48 copy bit 47 (APM Vol 2, 5.3.1 "Canonical Address Form").
bool canonical(uint64_t v) {
    return static_cast<uint64_t>(static_cast<int64_t>(v << 16) >> 16) == v;
}

std::string msr_label(uint32_t index) {
    const char* name = msr_name(index);
    return name ? fmt::format("MSR {} ({:#x})", name, index) : fmt::format("MSR {:#x}", index);
}

}  // namespace

Result<uint64_t> VcpuImpl::get_msr(uint32_t index) const {
    const cpu::CpuState& s = m_v.state();
    if (index >= kMtrrVarFirst && index <= kMtrrVarLast)
        return s.msr.mtrr_var[index - kMtrrVarFirst];
    if (const uint64_t* f = fixed_mtrr(s.msr, index)) return *f;
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
        case msr_index(Msr::MTRR_DEF_TYPE): return s.msr.mtrr_def_type;
        case msr_index(Msr::MCG_STATUS): return s.msr.mcg_status;
        case msr_index(Msr::TSC): return s.icount + s.msr.tsc_offset;
        case msr_index(Msr::TSC_AUX): return s.msr.tsc_aux;
        case msr_index(Msr::APIC_BASE): return s.msr.apic_base;
        case msr_index(Msr::SMBASE): return s.smm.smbase;
        case msr_index(Msr::SMI_COUNT): return s.smm.smi_count;
        case msr_index(Msr::VM_CR): return s.msr.vm_cr;
        case msr_index(Msr::VM_HSAVE_PA): return s.msr.vm_hsave_pa;
        default: break;
    }
    return {ErrorCode::NotFound, msr_label(index) + " is not readable through the API"};
}

Status VcpuImpl::set_msr(uint32_t index, uint64_t v) {
    cpu::CpuState& s = m_v.state();
    auto bad = [&](const char* why) {
        return Status{ErrorCode::InvalidArgument, fmt::format("{}: {}", msr_label(index), why)};
    };
    if (index >= kMtrrVarFirst && index <= kMtrrVarLast) {
        s.msr.mtrr_var[index - kMtrrVarFirst] = v;
        return Status::ok();
    }
    if (uint64_t* f = fixed_mtrr(s.msr, index)) {
        *f = v;
        return Status::ok();
    }
    switch (index) {
        case msr_index(Msr::STAR): s.msr.star = v; return Status::ok();
        // The canonical-address checks of WRMSR apply to host writes too, as in KVM.
        case msr_index(Msr::LSTAR):
            if (!canonical(v)) return bad("not a canonical address");
            s.msr.lstar = v;
            return Status::ok();
        case msr_index(Msr::CSTAR):
            if (!canonical(v)) return bad("not a canonical address");
            s.msr.cstar = v;
            return Status::ok();
        case msr_index(Msr::SFMASK): s.msr.sfmask = v & 0xffffffff; return Status::ok();
        case msr_index(Msr::KERNEL_GS_BASE):
            if (!canonical(v)) return bad("not a canonical address");
            s.msr.kernel_gs_base = v;
            return Status::ok();
        case msr_index(Msr::FS_BASE):
        case msr_index(Msr::GS_BASE):
            if (!canonical(v)) return bad("not a canonical address");
            s.seg[index == msr_index(Msr::FS_BASE) ? cpu::FS : cpu::GS].base = v;
            m_v.state_changed();
            return Status::ok();
        case msr_index(Msr::SYSENTER_CS): s.msr.sysenter_cs = v & 0xffff; return Status::ok();
        case msr_index(Msr::SYSENTER_ESP): s.msr.sysenter_esp = v; return Status::ok();
        case msr_index(Msr::SYSENTER_EIP): s.msr.sysenter_eip = v; return Status::ok();
        case msr_index(Msr::PAT):
            if (!valid_pat(v)) return bad("an entry holds a reserved memory type");
            s.msr.pat = v;
            return Status::ok();
        case msr_index(Msr::MTRR_DEF_TYPE):
            if (v & ~0xcffull) return bad("reserved bits set (only 11:10 and 7:0 exist)");
            s.msr.mtrr_def_type = v;
            return Status::ok();
        case msr_index(Msr::MCG_STATUS): s.msr.mcg_status = v; return Status::ok();
        case msr_index(Msr::TSC): s.msr.tsc_offset = v - s.icount; return Status::ok();
        case msr_index(Msr::TSC_AUX):
            if (v >> 32) return bad("bits 63:32 are reserved");
            s.msr.tsc_aux = v;
            return Status::ok();
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
                return {ErrorCode::InvalidArgument,
                        "VM_HSAVE_PA must be page aligned and below MAXPHYADDR"};
            s.msr.vm_hsave_pa = v;
            return Status::ok();
        default: break;
    }
    return {ErrorCode::NotFound, msr_label(index) + " is not writable through the API"};
}

// Every MSR of the vCPU's MSR file and SMM bookkeeping; EFER, FS/GS base and APIC base travel in
// Sregs. TSC comes first: KVM and QEMU write it before anything derived from it.
std::vector<uint32_t> VcpuImpl::get_msr_index_list() const {
    const cpu::CpuFeatures& f = m_v.core().features;
    std::vector<uint32_t> l = {
        msr_index(Msr::TSC),          msr_index(Msr::SMI_COUNT),    msr_index(Msr::SMBASE),
        msr_index(Msr::SYSENTER_CS),  msr_index(Msr::SYSENTER_ESP), msr_index(Msr::SYSENTER_EIP),
        msr_index(Msr::MCG_STATUS),
    };
    for (uint32_t i = kMtrrVarFirst; i <= kMtrrVarLast; ++i) l.push_back(i);
    for (Msr m : {Msr::MTRR_FIX64K_00000, Msr::MTRR_FIX16K_80000, Msr::MTRR_FIX16K_A0000})
        l.push_back(msr_index(m));
    for (uint32_t i = kMtrrFix4kFirst; i <= kMtrrFix4kLast; ++i) l.push_back(i);
    for (Msr m : {Msr::PAT, Msr::MTRR_DEF_TYPE, Msr::STAR, Msr::LSTAR, Msr::CSTAR, Msr::SFMASK,
                  Msr::KERNEL_GS_BASE})
        l.push_back(msr_index(m));
    if (f.rdtscp) l.push_back(msr_index(Msr::TSC_AUX));
    if (f.svm) {
        l.push_back(msr_index(Msr::VM_CR));
        l.push_back(msr_index(Msr::VM_HSAVE_PA));
    }
    return l;
}

MsrsOutcome VcpuImpl::get_msrs(std::span<MsrEntry> entries) const {
    uint32_t n = 0;
    for (MsrEntry& e : entries) {
        Result<uint64_t> v = get_msr(e.index);
        if (!v) return {n, v.status()};
        e.data = *v;
        ++n;
    }
    return {n, Status::ok()};
}

MsrsOutcome VcpuImpl::set_msrs(std::span<const MsrEntry> entries) {
    uint32_t n = 0;
    for (const MsrEntry& e : entries) {
        if (Status st = set_msr(e.index, e.data); !st) return {n, st};
        ++n;
    }
    return {n, Status::ok()};
}

}  // namespace vx86::api
