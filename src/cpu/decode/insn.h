// The compact decoded instruction the executor runs: operands resolved to register-file slots,
// memory operand parts and immediates, plus the bound handler. Built once per cached code page.
#pragma once

#include <cstdint>

namespace vx86::cpu {

struct Cpu;
struct Insn;

// What a handler tells the executor.
enum class ExecStatus : uint8_t {
    Next,    // fall through to the next instruction of the block
    Branch,  // RIP changed or state that decoding depends on changed: leave the block
    Fault,   // an exception is in CpuState::fault; RIP is restored to the instruction
    Exit,    // stop running and report to the caller (I/O exit, HLT, shutdown, debug exit)
};

using Handler = ExecStatus (*)(Cpu&, const Insn&);

// Operand kinds, three bits per operand in Insn::form.
enum class OpKind : uint8_t { None = 0, Reg = 1, Mem = 2, Imm = 3, SReg = 4, CReg = 5, DReg = 6, Ptr = 7 };

constexpr uint16_t form(OpKind a, OpKind b = OpKind::None, OpKind c = OpKind::None) {
    return static_cast<uint16_t>(static_cast<unsigned>(a) | static_cast<unsigned>(b) << 3 |
                                 static_cast<unsigned>(c) << 6);
}

namespace Prefix {
constexpr uint8_t REP = 1, REPNE = 2, LOCK = 4, OPSIZE = 8, SEG_OVERRIDE = 16, FAR = 32;
}

struct Insn {
    Handler fn = nullptr;
    Handler inner = nullptr;  // the real handler when fn is a dispatcher-side check (CPL rule)
    uint64_t imm = 0;      // immediate (sign-extended to operand size), or branch displacement
    int64_t disp = 0;      // memory operand displacement (64-bit for moffs forms)
    uint64_t amask = 0;    // address-size mask applied to effective addresses
    uint16_t mnemonic = 0; // ZydisMnemonic
    uint16_t imm2 = 0;     // second immediate: ENTER nesting level, far pointer selector
    uint16_t form = 0;     // OpKind of operands 0..2
    uint8_t len = 0;       // instruction length in bytes
    uint8_t osize = 0;     // effective operand size in bytes
    uint8_t asize = 0;     // effective address size in bytes
    uint8_t r[3] = {};     // per operand: GPR index, or byte offset into the register file for
                           // 8-bit GPRs (AH..BH = 1, 9, 17, 25); SReg/CR/DR number otherwise
    uint8_t opsz[3] = {};  // per operand size in bytes
    uint8_t base = 17, index = 17, scale = 0;  // memory operand (17 = kZeroReg, 16 = RIP)
    uint8_t seg = 3;       // segment of the memory operand (after defaults and overrides)
    uint8_t sego = 3;      // segment of string-instruction sources: DS or the override
    uint8_t prefix = 0;    // Prefix bits
    uint8_t meta = 0;      // InsnMeta bits from the decode table
    uint8_t simd = 0;      // SimdClass: x87/MMX/SSE/AVX instructions vx86's model lacks

    OpKind kind(unsigned i) const { return static_cast<OpKind>((form >> (3 * i)) & 7); }
};

// Instruction sets outside the integer ISA. vx86's CPU model has no FPU or SIMD unit; these
// classes let the dispatcher give the architectural #NM/#UD for them (see exec/no_fpu.cpp).
enum class SimdClass : uint8_t { None = 0, X87, Mmx, Sse, Avx };

// Per-instruction metadata kept beside the handler (filled by exec's binder).
namespace InsnMeta {
constexpr uint8_t ENDS_BLOCK = 1;  // control transfer or a change decoding depends on
constexpr uint8_t PRIVILEGED = 2;  // CPL 0 only
constexpr uint8_t LONG64_ONLY = 4; // #UD outside 64-bit mode, checked before the CPL rule
}

}  // namespace vx86::cpu
