// #VMEXIT codes as data (svm_exit.inc), the mapping from an intercept-vector bit to its exit
// code, and names for logs and tests.
#pragma once

#include <cstdint>
#include <string_view>

namespace vx86::arch {

enum class SvmExit : uint64_t {
#define VX86_SVM_EXIT(name, code) name = code,
#include "arch/svm_exit.inc"
#undef VX86_SVM_EXIT
};

constexpr uint64_t svm_exit_code(SvmExit e) { return static_cast<uint64_t>(e); }

// The exit an intercept bit produces: word 3 (VMCB+0x00C) bit b -> 0x60 + b, word 4 (0x010)
// -> 0x80 + b, word 5 (0x014) -> 0xA0 + b (APM Vol 2, Table B-1 and Appendix C).
constexpr uint64_t svm_exit_for_intercept(unsigned word, unsigned bit) {
    return (word == 3 ? 0x60 : word == 4 ? 0x80 : 0xa0) + uint64_t{bit};
}
static_assert(svm_exit_for_intercept(3, 18) == svm_exit_code(SvmExit::CPUID));
static_assert(svm_exit_for_intercept(4, 0) == svm_exit_code(SvmExit::VMRUN));

// The name of an exit code ("CPUID", "CR3_WRITE", "EXCP_0E"...), or nullptr when unknown.
constexpr const char* svm_exit_name(uint64_t code) {
    switch (code) {
#define VX86_SVM_EXIT(name, code)                                                            \
    case code:                                                                                \
        return #name;
#include "arch/svm_exit.inc"
#undef VX86_SVM_EXIT
        default: return nullptr;
    }
}

}  // namespace vx86::arch
