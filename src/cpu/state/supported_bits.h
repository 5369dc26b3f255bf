// Which CR4 and EFER bits a CPU model implements: everything else is reserved and loading it
// faults (MOV CR4, WRMSR) or makes RSM shut down. One definition for every path that loads them.
#pragma once

#include <cstdint>

#include "arch/control_regs.h"
#include "cpu/state/cpuid_model.h"

namespace vx86::cpu {

inline uint64_t cr4_supported(const CpuFeatures& f) {
    using namespace arch;
    uint64_t m = Cr4::TSD | Cr4::DE | Cr4::PSE | Cr4::PAE | Cr4::PGE | Cr4::PCE | Cr4::MCE;
    if (f.smep) m |= Cr4::SMEP;
    if (f.smap) m |= Cr4::SMAP;
    return m;
}

// Includes LMA, which is read-only for WRMSR but part of the register's value.
inline uint64_t efer_supported(const CpuFeatures& f) {
    using namespace arch;
    uint64_t m = Efer::SCE | Efer::LMA;
    if (f.lm) m |= Efer::LME;
    if (f.nx) m |= Efer::NXE;
    if (f.svm) m |= Efer::SVME;
    return m;
}

}  // namespace vx86::cpu
