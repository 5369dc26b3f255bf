// CPUID model tables. Leaf values follow the AMD CPUID Specification (pub. 25481) layout; the
// "qemu64" row reuses QEMU's family/model/stepping so guests that print them see familiar numbers.
#include "cpu/state/cpuid_model.h"

#include <algorithm>

namespace vx86::cpu {

namespace {

constexpr uint32_t kAuth = 0x68747541, kEnti = 0x69746e65, kCamd = 0x444d4163;  // "AuthenticAMD"
// qemu64: family 15, model 107, stepping 1 (ext model 6, model 0xb).
constexpr uint32_t kSignature = 0x00060fb1;

// Features vx86 implements, by (leaf, register, bit). Names use QEMU's spelling.
const std::vector<CpuidFeature> kFeatures = {
    {"fpu", 1, CpuidReg::EDX, 0, false},      {"vme", 1, CpuidReg::EDX, 1, false},
    {"de", 1, CpuidReg::EDX, 2, false},       {"pse", 1, CpuidReg::EDX, 3, true},
    {"tsc", 1, CpuidReg::EDX, 4, true},       {"msr", 1, CpuidReg::EDX, 5, true},
    {"pae", 1, CpuidReg::EDX, 6, true},       {"mce", 1, CpuidReg::EDX, 7, false},
    {"cx8", 1, CpuidReg::EDX, 8, true},       {"apic", 1, CpuidReg::EDX, 9, false},
    {"sep", 1, CpuidReg::EDX, 11, true},      {"mtrr", 1, CpuidReg::EDX, 12, true},
    {"pge", 1, CpuidReg::EDX, 13, true},      {"mca", 1, CpuidReg::EDX, 14, false},
    {"cmov", 1, CpuidReg::EDX, 15, true},     {"pat", 1, CpuidReg::EDX, 16, true},
    {"pse36", 1, CpuidReg::EDX, 17, true},    {"clflush", 1, CpuidReg::EDX, 19, true},
    {"mmx", 1, CpuidReg::EDX, 23, false},     {"fxsr", 1, CpuidReg::EDX, 24, false},
    {"sse", 1, CpuidReg::EDX, 25, false},     {"sse2", 1, CpuidReg::EDX, 26, false},
    {"pni", 1, CpuidReg::ECX, 0, false},      {"sse3", 1, CpuidReg::ECX, 0, false},
    {"cx16", 1, CpuidReg::ECX, 13, true},     {"popcnt", 1, CpuidReg::ECX, 23, true},
    {"x2apic", 1, CpuidReg::ECX, 21, false},  {"hypervisor", 1, CpuidReg::ECX, 31, false},
    {"bmi1", 7, CpuidReg::EBX, 3, true},      {"smep", 7, CpuidReg::EBX, 7, true},
    {"smap", 7, CpuidReg::EBX, 20, true},     {"lahf-lm", 0x80000001, CpuidReg::ECX, 0, true},
    {"lahf_lm", 0x80000001, CpuidReg::ECX, 0, true},
    {"svm", 0x80000001, CpuidReg::ECX, 2, true},
    {"abm", 0x80000001, CpuidReg::ECX, 5, true},
    {"sse4a", 0x80000001, CpuidReg::ECX, 6, false},
    {"syscall", 0x80000001, CpuidReg::EDX, 11, true},
    {"nx", 0x80000001, CpuidReg::EDX, 20, true},
    {"xd", 0x80000001, CpuidReg::EDX, 20, true},
    {"pdpe1gb", 0x80000001, CpuidReg::EDX, 26, true},
    {"rdtscp", 0x80000001, CpuidReg::EDX, 27, true},
    {"lm", 0x80000001, CpuidReg::EDX, 29, true},
    // SVM features (AMD CPUID spec, Fn8000_000A_EDX; APM Vol 2, 15.4).
    {"npt", 0x8000000a, CpuidReg::EDX, 0, true},
    {"lbrv", 0x8000000a, CpuidReg::EDX, 1, false},
    {"svm-lock", 0x8000000a, CpuidReg::EDX, 2, false},
    {"nrip-save", 0x8000000a, CpuidReg::EDX, 3, true},
    {"tsc-scale", 0x8000000a, CpuidReg::EDX, 4, false},
    {"vmcb-clean", 0x8000000a, CpuidReg::EDX, 5, true},
    {"flushbyasid", 0x8000000a, CpuidReg::EDX, 6, true},
    {"decodeassists", 0x8000000a, CpuidReg::EDX, 7, false},
    {"pause-filter", 0x8000000a, CpuidReg::EDX, 10, false},
    {"pfthreshold", 0x8000000a, CpuidReg::EDX, 12, false},
    {"avic", 0x8000000a, CpuidReg::EDX, 13, false},
    {"v-vmsave-vmload", 0x8000000a, CpuidReg::EDX, 15, false},
    {"vgif", 0x8000000a, CpuidReg::EDX, 16, true},
    // vx86 reserves no host ranges, so an intercepted VMRUN/VMLOAD/VMSAVE never #GPs for one.
    {"svme-addr-chk", 0x8000000a, CpuidReg::EDX, 28, true},
};

// Leaf 1 EDX bits that AMD mirrors into 0x80000001 EDX (AMD CPUID spec, Fn8000_0001_EDX).
constexpr uint32_t kAmdMirroredEdx = 0x0183f3ff;

uint32_t pack4(const char* s) {
    return uint32_t(uint8_t(s[0])) | uint32_t(uint8_t(s[1])) << 8 | uint32_t(uint8_t(s[2])) << 16 |
           uint32_t(uint8_t(s[3])) << 24;
}

std::vector<CpuidLeaf> brand_leaves(const char* brand48) {
    std::vector<CpuidLeaf> out;
    for (uint32_t i = 0; i < 3; ++i) {
        const char* p = brand48 + i * 16;
        out.push_back({0x80000002 + i, 0, pack4(p), pack4(p + 4), pack4(p + 8), pack4(p + 12)});
    }
    return out;
}

std::vector<CpuidLeaf> base_leaves() {
    // Features on in the qemu64 model (a subset of QEMU's: vx86 has no FPU/SSE yet).
    const uint32_t edx1 = (1u << 3) | (1u << 4) | (1u << 5) | (1u << 6) | (1u << 8) | (1u << 11) |
                          (1u << 12) | (1u << 13) | (1u << 15) | (1u << 16) | (1u << 17) | (1u << 19);
    const uint32_t ecx1 = 1u << 13;  // CX16; QEMU's qemu64 has no POPCNT (+popcnt adds it)
    std::vector<CpuidLeaf> v = {
        {0, 0, 7, kAuth, kCamd, kEnti},
        {1, 0, kSignature, 0x00000800, ecx1, edx1},
        {7, 0, 0, 0, 0, 0, true},
        {0x80000000, 0, 0x8000000a, kAuth, kCamd, kEnti},
        // LahfSahf and SVM (qemu64 has SVM, as QEMU's does); ABM only with +abm, as in QEMU.
        {0x80000001, 0, kSignature, 0, (1u << 0) | (1u << 2),
         (edx1 & kAmdMirroredEdx) | (1u << 11) | (1u << 20) | (1u << 29)},
        {0x80000008, 0, 0x00003028, 0, 0, 0},  // 40 physical, 48 linear address bits
        // SVM revision 1 and 8 ASIDs (as KVM reports); feature bits in EDX come from -cpu.
        {0x8000000a, 0, 1, 8, 0, 0},
    };
    char brand[48] = {};
    const char* text = "vx86 virtual CPU (AMD64 model)";
    std::copy(text, text + std::char_traits<char>::length(text), brand);
    for (auto& l : brand_leaves(brand)) v.push_back(l);
    std::sort(v.begin(), v.end(), [](auto& a, auto& b) { return a.leaf < b.leaf; });
    return v;
}

uint32_t& reg_of(CpuidLeaf& l, CpuidReg r) {
    switch (r) {
        case CpuidReg::EAX: return l.eax;
        case CpuidReg::EBX: return l.ebx;
        case CpuidReg::ECX: return l.ecx;
        case CpuidReg::EDX: return l.edx;
    }
    return l.eax;
}

const CpuidFeature* feature_by_name(std::string_view n) {
    for (const auto& f : kFeatures)
        if (f.name == n) return &f;
    return nullptr;
}

}  // namespace

const std::vector<CpuidFeature>& cpuid_features() { return kFeatures; }

std::vector<std::string_view> CpuidModel::model_names() { return {"qemu64", "max", "vx86"}; }

CpuidLeaf* CpuidModel::find(uint32_t leaf, uint32_t subleaf) {
    for (auto& l : m_leaves)
        if (l.leaf == leaf && (!l.indexed || l.subleaf == subleaf)) return &l;
    return nullptr;
}

CpuidLeaf CpuidModel::query(uint32_t leaf, uint32_t subleaf) const {
    for (const auto& l : m_leaves)
        if (l.leaf == leaf && (!l.indexed || l.subleaf == subleaf)) {
            CpuidLeaf r = l;
            r.subleaf = subleaf;
            // Without SVM the SVM leaf reads as zeros (as QEMU reports it).
            if (leaf == 0x8000000a && !has("svm")) r.eax = r.ebx = r.ecx = r.edx = 0;
            return r;
        }
    // AMD returns zeros for leaves past the maximum (AMD CPUID spec, "Fn0000_0000").
    return CpuidLeaf{leaf, subleaf, 0, 0, 0, 0};
}

bool CpuidModel::has(std::string_view feature) const {
    const CpuidFeature* f = feature_by_name(feature);
    if (!f) return false;
    CpuidLeaf l = query(f->leaf, 0);
    return reg_of(l, f->reg) & (1u << f->bit);
}

base::Status CpuidModel::set_feature(std::string_view name, bool on) {
    const CpuidFeature* f = feature_by_name(name);
    if (!f)
        return {base::ErrorCode::InvalidArgument,
                "unknown CPU feature '" + std::string(name) + "'"};
    if (on && !f->implemented)
        return {base::ErrorCode::Unsupported,
                "CPU feature '" + std::string(name) + "' is not implemented by vx86"};
    CpuidLeaf* l = find(f->leaf, 0);
    if (!l) return {base::ErrorCode::Unsupported, "CPUID leaf for '" + std::string(name) + "' absent"};
    uint32_t& r = reg_of(*l, f->reg);
    r = on ? (r | (1u << f->bit)) : (r & ~(1u << f->bit));
    // Keep the AMD mirror of leaf-1 EDX bits in 0x80000001 EDX consistent.
    if (f->leaf == 1 && f->reg == CpuidReg::EDX && ((kAmdMirroredEdx >> f->bit) & 1)) {
        if (CpuidLeaf* e = find(0x80000001, 0))
            e->edx = on ? (e->edx | (1u << f->bit)) : (e->edx & ~(1u << f->bit));
    }
    return base::Status::ok();
}

base::Result<CpuidModel> CpuidModel::from_cpu_option(std::string_view option) {
    CpuidModel m;
    const size_t comma = option.find(',');
    const std::string_view name = option.substr(0, comma);
    if (name != "qemu64" && name != "max" && name != "vx86")
        return {base::ErrorCode::InvalidArgument,
                "unknown CPU model '" + std::string(name) + "' (vx86 models: qemu64, max, vx86)"};
    m.m_name = std::string(name);
    m.m_leaves = base_leaves();
    if (name != "qemu64") {
        // "max": every feature vx86 implements.
        for (const auto& f : kFeatures)
            if (f.implemented) (void)m.set_feature(f.name, true);
    }
    std::string_view rest = comma == std::string_view::npos ? "" : option.substr(comma + 1);
    while (!rest.empty()) {
        const size_t c = rest.find(',');
        std::string_view item = rest.substr(0, c);
        rest = c == std::string_view::npos ? "" : rest.substr(c + 1);
        if (item.empty()) continue;
        bool on = true;
        std::string_view feat = item;
        if (item[0] == '+' || item[0] == '-') {
            on = item[0] == '+';
            feat = item.substr(1);
        } else if (auto eq = item.find('='); eq != std::string_view::npos) {
            feat = item.substr(0, eq);
            std::string_view v = item.substr(eq + 1);
            if (v == "on" || v == "true" || v == "yes") on = true;
            else if (v == "off" || v == "false" || v == "no") on = false;
            else
                return {base::ErrorCode::InvalidArgument,
                        "CPU feature value '" + std::string(item) + "' must be on or off"};
        }
        if (!on && feature_by_name(feat) && !feature_by_name(feat)->implemented) continue;
        if (auto st = m.set_feature(feat, on); !st) return st;
    }
    return m;
}

}  // namespace vx86::cpu
