// CPUID models as data: a named base table of leaves plus feature names that -cpu NAME,+feat,-feat
// can toggle. Models expose only what vx86 implements; a feature it lacks cannot be switched on.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace vx86::cpu {

struct CpuidLeaf {
    uint32_t leaf = 0, subleaf = 0;
    uint32_t eax = 0, ebx = 0, ecx = 0, edx = 0;
    bool indexed = false;  // subleaf selects the row
};

enum class CpuidReg : uint8_t { EAX, EBX, ECX, EDX };

struct CpuidFeature {
    std::string_view name;  // QEMU's spelling, e.g. "svm", "nx", "lahf-lm"
    uint32_t leaf;
    CpuidReg reg;
    uint8_t bit;
    bool implemented;  // false: named so the error can say "not supported by vx86"
};

class CpuidModel {
public:
    // Builds a model from "-cpu" syntax: NAME[,+feat|-feat|feat=on|feat=off]...
    static base::Result<CpuidModel> from_cpu_option(std::string_view option);
    static std::vector<std::string_view> model_names();

    CpuidLeaf query(uint32_t leaf, uint32_t subleaf) const;
    bool has(std::string_view feature) const;
    base::Status set_feature(std::string_view feature, bool on);
    const std::string& name() const { return m_name; }
    const std::vector<CpuidLeaf>& leaves() const { return m_leaves; }

private:
    CpuidLeaf* find(uint32_t leaf, uint32_t subleaf);
    std::string m_name;
    std::vector<CpuidLeaf> m_leaves;
};

const std::vector<CpuidFeature>& cpuid_features();

// The features instructions test at run time, looked up once when a vCPU is created so that no
// handler searches the CPUID table by name.
struct CpuFeatures {
    bool lahf_lm = false, popcnt = false, abm = false, bmi1 = false, cx16 = false, rdtscp = false;
    bool nx = false, svm = false, smep = false, smap = false, lm = false, syscall = false, sep = false;
    bool npt = false, nrips = false, vgif = false;  // SVM features (Fn8000_000A_EDX)

    static CpuFeatures of(const CpuidModel& m) {
        CpuFeatures f;
        f.lahf_lm = m.has("lahf-lm");
        f.popcnt = m.has("popcnt");
        f.abm = m.has("abm");
        f.bmi1 = m.has("bmi1");
        f.cx16 = m.has("cx16");
        f.rdtscp = m.has("rdtscp");
        f.nx = m.has("nx");
        f.svm = m.has("svm");
        f.smep = m.has("smep");
        f.smap = m.has("smap");
        f.lm = m.has("lm");
        f.syscall = m.has("syscall");
        f.sep = m.has("sep");
        f.npt = f.svm && m.has("npt");
        f.nrips = f.svm && m.has("nrip-save");
        f.vgif = f.svm && m.has("vgif");
        return f;
    }
};

}  // namespace vx86::cpu
