// Exception and interrupt vectors (AMD APM Vol 2, 8.2 "Vectors") and their error-code rules.
// Data only: delivery lives in cpu/event.
#pragma once

#include <cstdint>

namespace vx86::arch {

enum class Vector : uint8_t {
    DE = 0, DB = 1, NMI = 2, BP = 3, OF = 4, BR = 5, UD = 6, NM = 7, DF = 8, TS = 10, NP = 11,
    SS = 12, GP = 13, PF = 14, MF = 16, AC = 17, MC = 18, XM = 19, VE = 20, CP = 21, SX = 30,
};

// Exceptions that push an error code (APM Vol 2, 8.2 table 8-1).
constexpr bool has_error_code(uint8_t v) {
    return v == 8 || v == 10 || v == 11 || v == 12 || v == 13 || v == 14 || v == 17 ||
           v == 21 || v == 30;
}

// Exception classes for double-fault detection (APM Vol 2, 8.2.9 "#DF", table 8-2).
enum class ExceptionClass : uint8_t { Benign, Contributory, PageFault };
constexpr ExceptionClass exception_class(uint8_t v) {
    if (v == 0 || v == 10 || v == 11 || v == 12 || v == 13) return ExceptionClass::Contributory;
    if (v == 14) return ExceptionClass::PageFault;
    return ExceptionClass::Benign;
}

// #PF error code bits (APM Vol 2, 8.4.2 "Page-Fault Error Code").
namespace PfErr {
constexpr uint32_t P = 1u << 0, W = 1u << 1, U = 1u << 2, RSV = 1u << 3, ID = 1u << 4;
}

// Selector error code bits (APM Vol 2, 8.4.1 "Selector-Error Code").
namespace SelErr {
constexpr uint32_t EXT = 1u << 0, IDT = 1u << 1, TI = 1u << 2;
}

}  // namespace vx86::arch
