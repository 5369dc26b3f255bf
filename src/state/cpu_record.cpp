#include "state/cpu_record.h"

#include <cstring>
#include <type_traits>

#include <fmt/format.h>

#include "arch/control_regs.h"
#include "arch/paging.h"
#include "cpu/state/supported_bits.h"
#include "state/byte_io.h"

namespace vx86::state {

using namespace cpu;
namespace Cr0 = arch::Cr0;
namespace Efer = arch::Efer;

namespace {

// The raw control area latched at VMRUN travels as its architectural 1 KiB image (the struct's
// layout is the VMCB's, checked field by field in arch/vmcb.h).
struct CtlBytes {
    arch::VmcbControl* ctl;
};

// Calls v(name, field) for every field, in record order. The order is the format: append only.
template <class V>
void visit(CpuState& s, V&& v) {
    static constexpr const char* kGpr[] = {"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
                                           "r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15",
                                           "rip"};
    for (unsigned i = 0; i <= kRipReg; ++i) v(kGpr[i], s.gpr[i]);
    v("rflags", s.rflags);
    auto segment = [&](const std::string& n, Segment& g) {
        v(n + ".selector", g.selector);
        v(n + ".attrib", g.attrib);
        v(n + ".limit", g.limit);
        v(n + ".base", g.base);
    };
    auto table = [&](const std::string& n, DescriptorTable& t) {
        v(n + ".base", t.base);
        v(n + ".limit", t.limit);
    };
    static constexpr const char* kSeg[] = {"es", "cs", "ss", "ds", "fs", "gs"};
    for (unsigned i = 0; i < kNumSegRegs; ++i) segment(kSeg[i], s.seg[i]);
    segment("ldtr", s.ldtr);
    segment("tr", s.tr);
    table("gdtr", s.gdtr);
    table("idtr", s.idtr);
    v("cr0", s.cr0);
    v("cr2", s.cr2);
    v("cr3", s.cr3);
    v("cr4", s.cr4);
    v("cr8", s.cr8);
    v("efer", s.efer);
    for (unsigned i = 0; i < 8; ++i) v(fmt::format("dr{}", i), s.dr[i]);
    Msrs& m = s.msr;
    v("msr.tsc_offset", m.tsc_offset);
    v("msr.apic_base", m.apic_base);
    v("msr.star", m.star);
    v("msr.lstar", m.lstar);
    v("msr.cstar", m.cstar);
    v("msr.sfmask", m.sfmask);
    v("msr.kernel_gs_base", m.kernel_gs_base);
    v("msr.sysenter_cs", m.sysenter_cs);
    v("msr.sysenter_esp", m.sysenter_esp);
    v("msr.sysenter_eip", m.sysenter_eip);
    v("msr.pat", m.pat);
    v("msr.mtrr_def_type", m.mtrr_def_type);
    for (unsigned i = 0; i < m.mtrr_var.size(); ++i) v(fmt::format("msr.mtrr_var{}", i), m.mtrr_var[i]);
    for (unsigned i = 0; i < m.mtrr_fixed.size(); ++i)
        v(fmt::format("msr.mtrr_fixed{}", i), m.mtrr_fixed[i]);
    v("msr.tsc_aux", m.tsc_aux);
    v("msr.mcg_status", m.mcg_status);
    v("msr.vm_cr", m.vm_cr);
    v("msr.vm_hsave_pa", m.vm_hsave_pa);
    v("interrupt_shadow", s.interrupt_shadow);
    v("halted", s.halted);
    v("nmi_blocked", s.nmi_blocked);
    v("nmi_pending", s.nmi_pending);
    v("db_trap_pending", s.db_trap_pending);
    v("smm.in_smm", s.smm.in_smm);
    v("smm.smi_pending", s.smm.smi_pending);
    v("smm.inside_nmi", s.smm.inside_nmi);
    v("smm.init_latched", s.smm.init_latched);
    v("smm.saved_shadow", s.smm.saved_shadow);
    v("smm.smbase", s.smm.smbase);
    v("smm.smi_count", s.smm.smi_count);
    SvmState& g = s.svm;
    v("svm.gif", g.gif);
    v("svm.guest_mode", g.guest_mode);
    v("svm.smm_suspended", g.smm_suspended);
    v("svm.vmcb12_pa", g.vmcb12_pa);
    segment("svm.host.es", g.host.es);
    segment("svm.host.cs", g.host.cs);
    segment("svm.host.ss", g.host.ss);
    segment("svm.host.ds", g.host.ds);
    table("svm.host.gdtr", g.host.gdtr);
    table("svm.host.idtr", g.host.idtr);
    v("svm.host.efer", g.host.efer);
    v("svm.host.cr0", g.host.cr0);
    v("svm.host.cr3", g.host.cr3);
    v("svm.host.cr4", g.host.cr4);
    v("svm.host.rflags", g.host.rflags);
    v("svm.host.rip", g.host.rip);
    v("svm.host.rsp", g.host.rsp);
    v("svm.host.rax", g.host.rax);
    v("svm.host.pat", g.host.pat);
    CtlBytes ctl{&g.ctl};
    v("svm.ctl", ctl);
    v("icount", s.icount);
}

// A copy whose RFLAGS holds the materialised status flags (the lazy-flags record is not state).
CpuState normalized(const CpuState& in) {
    CpuState s = in;
    s.rflags = s.get_rflags();
    s.lf = LazyFlags{};
    return s;
}

struct Encoder {
    ByteWriter& w;
    int drop;
    int index = 0;
    template <class T>
    void operator()(const std::string& /*name*/, T& f) {
        const bool dropped = index++ == drop;
        if constexpr (std::is_same_v<T, CtlBytes>) {
            uint8_t raw[sizeof(arch::VmcbControl)];
            std::memcpy(raw, f.ctl, sizeof raw);
            if (dropped) std::memset(raw, 0, sizeof raw);
            w.bytes(raw);
        } else if constexpr (std::is_same_v<T, bool>) {
            w.boolean(dropped ? false : f);
        } else {
            const uint64_t v = dropped ? 0 : uint64_t{f};
            if constexpr (sizeof(T) == 1) w.u8(static_cast<uint8_t>(v));
            else if constexpr (sizeof(T) == 2) w.u16(static_cast<uint16_t>(v));
            else if constexpr (sizeof(T) == 4) w.u32(static_cast<uint32_t>(v));
            else w.u64(v);
        }
    }
};

struct Decoder {
    ByteReader& r;
    template <class T>
    void operator()(const std::string& name, T& f) {
        if constexpr (std::is_same_v<T, CtlBytes>) {
            auto b = r.bytes(sizeof(arch::VmcbControl));
            if (b.size() == sizeof(arch::VmcbControl)) std::memcpy(f.ctl, b.data(), b.size());
        } else if constexpr (std::is_same_v<T, bool>) {
            const uint8_t v = r.u8();
            if (v > 1) r.fail(fmt::format("{} is {} (a flag must be 0 or 1)", name, v));
            f = v == 1;
        } else if constexpr (sizeof(T) == 1) {
            f = r.u8();
        } else if constexpr (sizeof(T) == 2) {
            f = r.u16();
        } else if constexpr (sizeof(T) == 4) {
            f = r.u32();
        } else {
            f = r.u64();
        }
    }
};

// Invariants of a state a CPU can be in at an instruction boundary (APM Vol 2: 3.1 CR0/CR4/EFER,
// 3.1.6 RFLAGS, 14.5 long-mode activation, 10 SMM, 15 SVM). Empty when it holds.
std::string check(const CpuState& s, const CpuFeatures& f) {
    namespace Rflags = arch::Rflags;
    const uint64_t rflags_rsvd = ~uint64_t{0x3f7fd7};  // bits 3, 5, 15 and 63:22
    if (!(s.rflags & Rflags::FIXED1) || (s.rflags & rflags_rsvd))
        return fmt::format("rflags {:#x} has reserved bits wrong", s.rflags);
    if (s.cr0 >> 32) return fmt::format("cr0 {:#x}: bits 63:32 set", s.cr0);
    if ((s.cr0 & Cr0::PG) && !(s.cr0 & Cr0::PE)) return "cr0: PG without PE";
    if ((s.cr0 & Cr0::NW) && !(s.cr0 & Cr0::CD)) return "cr0: NW without CD";
    if (s.cr4 & ~cr4_supported(f)) return fmt::format("cr4 {:#x}: unsupported bits", s.cr4);
    if (s.efer & ~efer_supported(f)) return fmt::format("efer {:#x}: unsupported bits", s.efer);
    const bool lma = s.efer & Efer::LMA;
    if (lma != ((s.efer & Efer::LME) && (s.cr0 & Cr0::PG)))
        return "efer.LMA disagrees with efer.LME and cr0.PG";
    if (lma && !(s.cr4 & arch::Cr4::PAE)) return "efer.LMA without cr4.PAE";
    if (lma && (s.seg[CS].attrib & arch::Attr::L) && (s.seg[CS].attrib & arch::Attr::DB))
        return "cs: L and D both set in long mode";
    if ((s.cr4 & arch::Cr4::PAE) && (s.cr3 & ~arch::kPhysAddrMask))
        return fmt::format("cr3 {:#x}: bits beyond MAXPHYADDR", s.cr3);
    if (s.cr8 > 15) return fmt::format("cr8 {} > 15", s.cr8);
    if ((s.dr[6] | s.dr[7]) >> 32) return "dr6/dr7: bits 63:32 set";
    for (const Segment* g : {&s.seg[0], &s.seg[1], &s.seg[2], &s.seg[3], &s.seg[4], &s.seg[5],
                             &s.ldtr, &s.tr})
        if (g->attrib & 0xf000) return fmt::format("segment attrib {:#x}: bits 15:12 set", g->attrib);
    if (s.interrupt_shadow & ~(Shadow::STI | Shadow::MOV_SS)) return "interrupt_shadow: unknown bits";
    if (s.smm.saved_shadow & ~(Shadow::STI | Shadow::MOV_SS)) return "smm.saved_shadow: unknown bits";
    // init_latched is legal outside SMM too: an INIT signalled since the last instruction
    // boundary (Vcpu::inject_init) waits there to be taken, or to be intercepted in L2.
    if (!s.smm.in_smm && (s.smm.inside_nmi || s.smm.saved_shadow))
        return "smm.inside_nmi / saved_shadow set outside SMM";
    if (s.smm.smbase >> 32) return "smm.smbase beyond 4 GiB";
    if (s.svm.guest_mode && !(s.efer & Efer::SVME)) return "svm.guest_mode without efer.SVME";
    if (s.svm.guest_mode && s.smm.in_smm)
        return "svm.guest_mode inside SMM (an SMI suspends guest mode: svm.smm_suspended)";
    if (s.svm.smm_suspended && !s.smm.in_smm) return "svm.smm_suspended outside SMM";
    if ((s.svm.guest_mode || s.svm.smm_suspended) &&
        ((s.svm.vmcb12_pa & 0xfff) || (s.svm.vmcb12_pa & ~arch::kPhysAddrMask)))
        return fmt::format("svm.vmcb12_pa {:#x} is not a page address", s.svm.vmcb12_pa);
    if (s.svm.guest_mode && !f.svm) return "svm.guest_mode on a CPU model without SVM";
    return {};
}

size_t count_fields() {
    CpuState s;
    size_t n = 0;
    visit(s, [&](const std::string&, auto&) { ++n; });
    return n;
}

}  // namespace

std::vector<uint8_t> encode_cpu(const CpuState& in, int drop_field) {
    CpuState s = normalized(in);
    ByteWriter w;
    Encoder e{w, drop_field};
    visit(s, e);
    return w.take();
}

namespace {
base::Status decode_fields(std::span<const uint8_t> payload, CpuState& s) {
    ByteReader r(payload);
    Decoder d{r};
    visit(s, d);
    if (!r.ok())
        return {base::ErrorCode::BadImage,
                fmt::format("vCPU record: {}", r.error().empty() ? "truncated" : r.error())};
    if (r.remaining())
        return {base::ErrorCode::BadImage,
                fmt::format("vCPU record: {} bytes after the last field", r.remaining())};
    s.lf = LazyFlags{};
    return {};
}
}  // namespace

base::Status decode_cpu_unchecked(std::span<const uint8_t> payload, CpuState& out) {
    CpuState s;
    if (auto st = decode_fields(payload, s); !st) return st;
    out = s;
    return {};
}

CpuState cpu_state_all_fields_set() {
    CpuState s;
    uint64_t n = 0;
    visit(s, [&](const std::string&, auto& f) {
        using T = std::remove_cvref_t<decltype(f)>;
        ++n;
        if constexpr (std::is_same_v<T, CtlBytes>) {
            uint8_t raw[sizeof(arch::VmcbControl)];
            for (size_t i = 0; i < sizeof raw; ++i) raw[i] = static_cast<uint8_t>(n + i + 1);
            std::memcpy(f.ctl, raw, sizeof raw);
        } else if constexpr (std::is_same_v<T, bool>) {
            f = true;
        } else {
            f = static_cast<T>(0x0101010101010101ull * (n % 251 + 1));
        }
    });
    return s;
}

base::Status decode_cpu(std::span<const uint8_t> payload, const CpuFeatures& features,
                        CpuState& out) {
    CpuState s;
    if (auto st = decode_fields(payload, s); !st) return st;
    if (std::string why = check(s, features); !why.empty())
        return {base::ErrorCode::BadImage, fmt::format("vCPU record: {}", why)};
    s.update_mode();
    s.update_segment_checks();
    out = s;
    return {};
}

size_t cpu_field_count() {
    static const size_t n = count_fields();
    return n;
}

std::vector<std::string> cpu_field_names() {
    CpuState s;
    std::vector<std::string> names;
    visit(s, [&](const std::string& n, auto&) { names.push_back(n); });
    return names;
}

void describe_cpu(const CpuState& in,
                  const std::function<void(std::string_view, std::string_view)>& out) {
    CpuState s = normalized(in);
    visit(s, [&](const std::string& n, auto& f) {
        using T = std::remove_cvref_t<decltype(f)>;
        if constexpr (std::is_same_v<T, CtlBytes>) {
            const arch::VmcbControl& c = *f.ctl;
            out(n, fmt::format("intercepts cr {:#x}/{:#x} dr {:#x}/{:#x} exc {:#x} misc {:#x} {:#x} "
                               "asid {} int_ctl {:#x} nested_ctl {:#x} n_cr3 {:#x} event_inj {:#x}",
                               c.intercept_cr_read, c.intercept_cr_write, c.intercept_dr_read,
                               c.intercept_dr_write, c.intercept_exceptions, c.intercept_misc1,
                               c.intercept_misc2, c.guest_asid, c.int_ctl, c.nested_ctl, c.n_cr3,
                               c.event_inj));
        } else if constexpr (std::is_same_v<T, bool>) {
            out(n, f ? "1" : "0");
        } else {
            out(n, fmt::format("{:#x}", uint64_t{f}));
        }
    });
}

}  // namespace vx86::state
