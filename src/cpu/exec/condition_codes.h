// Condition-code numbers (0..15) of Jcc, SETcc and CMOVcc mnemonics, used at bind time.
// Order as in the opcode low nibble: O NO B NB Z NZ BE NBE S NS P NP L NL LE NLE.
#pragma once

#include <Zydis/Zydis.h>

#include <cstdint>

namespace vx86::cpu {

inline int condition_code(uint16_t m) {
    switch (m) {
#define VX86_CC(n, J, S, C) \
    case ZYDIS_MNEMONIC_##J: \
    case ZYDIS_MNEMONIC_##S: \
    case ZYDIS_MNEMONIC_##C: return n;
        VX86_CC(0, JO, SETO, CMOVO)
        VX86_CC(1, JNO, SETNO, CMOVNO)
        VX86_CC(2, JB, SETB, CMOVB)
        VX86_CC(3, JNB, SETNB, CMOVNB)
        VX86_CC(4, JZ, SETZ, CMOVZ)
        VX86_CC(5, JNZ, SETNZ, CMOVNZ)
        VX86_CC(6, JBE, SETBE, CMOVBE)
        VX86_CC(7, JNBE, SETNBE, CMOVNBE)
        VX86_CC(8, JS, SETS, CMOVS)
        VX86_CC(9, JNS, SETNS, CMOVNS)
        VX86_CC(10, JP, SETP, CMOVP)
        VX86_CC(11, JNP, SETNP, CMOVNP)
        VX86_CC(12, JL, SETL, CMOVL)
        VX86_CC(13, JNL, SETNL, CMOVNL)
        VX86_CC(14, JLE, SETLE, CMOVLE)
        VX86_CC(15, JNLE, SETNLE, CMOVNLE)
#undef VX86_CC
        default: return -1;
    }
}

}  // namespace vx86::cpu
