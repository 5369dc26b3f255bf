// Model-specific register indices used by vx86 (AMD APM Vol 2, appendix A "MSR Cross-Reference").
// Expanded from msr.inc so that tables of names stay in one place.
#pragma once

#include <cstdint>

namespace vx86::arch {

enum class Msr : uint32_t {
#define VX86_MSR(name, index) name = index,
#include "arch/msr.inc"
#undef VX86_MSR
};

constexpr uint32_t msr_index(Msr m) { return static_cast<uint32_t>(m); }

constexpr const char* msr_name(uint32_t index) {
    switch (index) {
#define VX86_MSR(name, idx) \
    case idx:               \
        return #name;
#include "arch/msr.inc"
#undef VX86_MSR
        default:
            return nullptr;
    }
}

// IA32_APIC_BASE bits (APM Vol 2, 16.3.1 "Local APIC Enable").
constexpr uint64_t kApicBaseBsp = 1u << 8;
constexpr uint64_t kApicBaseEnable = 1u << 11;
constexpr uint64_t kApicBaseDefault = 0xfee00000;

// PAT power-on value (APM Vol 2, 7.8.2 "PAT Register").
// VM_CR (C001_0114h) bits (APM Vol 2, 15.30.1).
constexpr uint64_t kVmCrDpd = 1u << 0, kVmCrRInit = 1u << 1, kVmCrDisA20m = 1u << 2,
                   kVmCrLock = 1u << 3, kVmCrSvmDis = 1u << 4;
constexpr uint64_t kPatReset = 0x0007040600070406ull;

}  // namespace vx86::arch
