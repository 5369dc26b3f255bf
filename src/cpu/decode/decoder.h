// Zydis-backed decoder producing Insn records. Stateless apart from Zydis's decoder objects;
// the executor decodes through here only on code-cache misses.
#pragma once

#include <Zydis/Zydis.h>

#include <cstddef>
#include <cstdint>

#include "cpu/decode/insn.h"

namespace vx86::cpu {

enum class DecodeResult : uint8_t {
    Ok,
    NeedMoreBytes,  // the bytes end inside an instruction
    Invalid,        // #UD
    TooLong,        // more than 15 bytes: #GP(0) (APM Vol 3, 1.1 "Instruction Byte Order")
};

class Decoder {
public:
    Decoder();
    // LZCNT/TZCNT decode as BSR/BSF with a REP prefix unless the CPU model has ABM/BMI1.
    void configure(bool lzcnt, bool tzcnt);
    // Decodes one instruction for code of default size `code_size` (2, 4 or 8 bytes).
    // The caller binds a handler afterwards; `zi`/`zo` expose Zydis's view for the binder.
    DecodeResult decode(const uint8_t* bytes, size_t n, unsigned code_size, Insn& out,
                        ZydisDecodedInstruction& zi, ZydisDecodedOperand* zo);

private:
    ZydisDecoder m_dec16, m_dec32, m_dec64;
};

}  // namespace vx86::cpu
