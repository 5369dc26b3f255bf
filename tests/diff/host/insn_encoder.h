// A tiny x86-64 encoder for the forms the host oracle executes: a register or [base + disp32]
// r/m operand, legacy opcodes with optional F0/66/F3 prefixes, REX and 0F escape, VEX BMI1.
#pragma once

#include <cstdint>
#include <cstdio>
#include <span>
#include <string>

namespace vx86::test {

struct Encoded {
    uint8_t b[16] = {};
    uint8_t n = 0;

    void put(uint8_t v) { b[n++] = v; }
    void imm(uint64_t v, unsigned bytes) {
        for (unsigned i = 0; i < bytes; ++i) put(static_cast<uint8_t>(v >> (8 * i)));
    }
    std::span<const uint8_t> bytes() const { return {b, n}; }
    std::string hex() const {
        std::string s;
        char t[4];
        for (unsigned i = 0; i < n; ++i) {
            std::snprintf(t, sizeof t, "%02x ", b[i]);
            s += t;
        }
        return s;
    }
};

struct LegacyForm {
    unsigned size;           // operand size in bytes: 1, 2, 4, 8
    uint8_t mandatory = 0;   // 0 or F3 (LZCNT/TZCNT/POPCNT)
    bool escape_0f = false;  // two-byte opcode
    uint8_t opcode = 0;
    unsigned reg = 0;  // ModRM.reg: a register number or an opcode extension
    unsigned rm = 0;   // ModRM.rm register number, or the base register when `mem`
    bool rex8 = true;  // 8-bit operands: emit REX so 4..7 mean SPL..DIL, not AH..BH
    bool mem = false;  // r/m is [rm + disp32] (rm must not be RSP or R12: no SIB)
    int32_t disp = 0;
    bool lock = false;  // F0 prefix
};

// ModRM (and disp32) for register `reg` and r/m register or base `rm`.
inline void put_modrm(Encoded& e, unsigned reg, unsigned rm, bool mem, int32_t disp) {
    e.put(static_cast<uint8_t>((mem ? 0x80 : 0xc0) | (reg & 7) << 3 | (rm & 7)));
    if (mem) e.imm(static_cast<uint32_t>(disp), 4);
}

// [F0] [66] [F3] [REX] [0F] opcode ModRM [disp32]; immediates are appended by the caller.
inline Encoded encode(const LegacyForm& f) {
    Encoded e;
    if (f.lock) e.put(0xf0);
    if (f.size == 2) e.put(0x66);
    if (f.mandatory) e.put(f.mandatory);
    uint8_t rex = 0x40;
    if (f.size == 8) rex |= 8;
    if (f.reg >= 8) rex |= 4;
    if (f.rm >= 8) rex |= 1;
    if (rex != 0x40 || (f.size == 1 && f.rex8)) e.put(rex);
    if (f.escape_0f) e.put(0x0f);
    e.put(f.opcode);
    put_modrm(e, f.reg, f.rm, f.mem, f.disp);
    return e;
}

// VEX.LZ.0F38.W{0,1} opcode ModRM with vvvv = `vreg` (BMI1: ANDN, BEXTR, BLSx); r/m is a
// register or, with `mem`, [rm + disp32].
inline Encoded encode_vex_0f38(bool w, uint8_t opcode, unsigned reg, unsigned vreg, unsigned rm,
                               bool mem = false, int32_t disp = 0) {
    Encoded e;
    e.put(0xc4);
    e.put(
        static_cast<uint8_t>((reg >= 8 ? 0 : 0x80) | 0x40 /* ~X */ | (rm >= 8 ? 0 : 0x20) | 0x02));
    e.put(static_cast<uint8_t>((w ? 0x80 : 0) | ((~vreg & 15) << 3)));
    e.put(opcode);
    put_modrm(e, reg, rm, mem, disp);
    return e;
}

}  // namespace vx86::test
