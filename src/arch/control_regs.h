// Architectural bits of CR0, CR4, EFER and RFLAGS, named as in AMD APM Vol 2 chapter 3.
// Constants only; behaviour lives in cpu/.
#pragma once

#include <cstdint>

namespace vx86::arch {

namespace Cr0 {
constexpr uint64_t PE = 1u << 0, MP = 1u << 1, EM = 1u << 2, TS = 1u << 3, ET = 1u << 4,
                   NE = 1u << 5, WP = 1u << 16, AM = 1u << 18, NW = 1u << 29, CD = 1u << 30,
                   PG = 1u << 31;
}  // namespace Cr0

namespace Cr4 {
constexpr uint64_t VME = 1u << 0, PVI = 1u << 1, TSD = 1u << 2, DE = 1u << 3, PSE = 1u << 4,
                   PAE = 1u << 5, MCE = 1u << 6, PGE = 1u << 7, PCE = 1u << 8, OSFXSR = 1u << 9,
                   OSXMMEXCPT = 1u << 10, UMIP = 1u << 11, FSGSBASE = 1u << 16, PCIDE = 1u << 17,
                   OSXSAVE = 1u << 18, SMEP = 1u << 20, SMAP = 1u << 21;
}  // namespace Cr4

namespace Efer {
constexpr uint64_t SCE = 1u << 0, LME = 1u << 8, LMA = 1u << 10, NXE = 1u << 11,
                   SVME = 1u << 12, LMSLE = 1u << 13, FFXSR = 1u << 14, TCE = 1u << 15;
}  // namespace Efer

namespace Rflags {
constexpr uint64_t CF = 1u << 0, FIXED1 = 1u << 1, PF = 1u << 2, AF = 1u << 4, ZF = 1u << 6,
                   SF = 1u << 7, TF = 1u << 8, IF = 1u << 9, DF = 1u << 10, OF = 1u << 11,
                   IOPL = 3u << 12, NT = 1u << 14, RF = 1u << 16, VM = 1u << 17, AC = 1u << 18,
                   VIF = 1u << 19, VIP = 1u << 20, ID = 1u << 21;
constexpr unsigned IOPL_SHIFT = 12;
// The six status flags computed by arithmetic (APM Vol 1, 3.1.4 "Flags Register").
constexpr uint64_t STATUS = CF | PF | AF | ZF | SF | OF;
// Bits software can ever see set; everything else reads as zero (bit 1 reads as one).
constexpr uint64_t SUPPORTED = STATUS | TF | IF | DF | IOPL | NT | RF | VM | AC | VIF | VIP | ID;
}  // namespace Rflags

// DR6/DR7 reset values (APM Vol 2, 13.1.1 "Debug Registers").
constexpr uint64_t kDr6Reset = 0xffff0ff0;
constexpr uint64_t kDr7Reset = 0x400;

}  // namespace vx86::arch
