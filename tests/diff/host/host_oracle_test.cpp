// Host-CPU oracle: each integer instruction of the ALU, shift, multiply/divide, bit and
// compare-exchange families runs natively and on vx86 from the same registers and flags, and all
// GPRs and the status flags must agree except where the APM leaves a result undefined.
//
// Where the host cannot serve as the oracle (it is an Intel CPU, vx86 models an AMD one), the
// comparison is masked, and the AMD behaviour vx86 chose is pinned by hand-written vectors in the
// unit tests (tests/unit/cpu/exec/*_test.cpp); each family's source file documents the choice:
//   - every flag the APM calls undefined; each gen_* function below sets Case::undefined for its
//     instruction and inputs. Running with VX86_ORACLE_STRICT=1 compares those too and shows
//     where this Intel host and vx86's AMD model part: OF after multi-bit shifts, rotates and
//     SHLD/SHRD; SF/ZF/AF/PF after MUL/IMUL (vx86 leaves them alone, the host computes them);
//     CF/OF/SF/AF/PF after BSF/BSR and OF/SF/AF/PF after LZCNT/TZCNT; PF after ANDN, BEXTR,
//     BLSI, BLSMSK, BLSR (vx86 keeps it). The host agrees with vx86 on the undefined flags of
//     BT* and DIV/IDIV (unchanged) and on AF after shifts (cleared);
//   - SHLD/SHRD with a 16-bit operand and a count of 17..31: result and flags undefined (the host
//     agrees with vx86's dst:src:dst model, but it is not architectural);
//   - SHL/SHR with 8/16-bit operands and a count of at least the width: CF undefined (Intel SDM
//     "SAL/SAR/SHL/SHR"), so CF is masked there.
// BSF/BSR with a zero source are compared in full: AMD documents "destination unchanged" and the
// host does the same. BCD instructions are invalid in 64-bit mode, where the oracle runs; the
// unit tests cover them.
//
// A third of the cases use a memory r/m operand ([base + disp32], with LOCK where legal) inside a
// 4 KiB data window mapped at the same address in the host process and in the guest, and the
// whole window is compared too: this covers the memory forms, the BT* register bit offsets that
// address bytes outside the operand, and CMPXCHG8B/16B.
// Cases that must fault are not executed natively: divides that raise #DE and CMPXCHG16B on a
// misaligned operand (#GP); vx86 must deliver the exception with every register but RSP and the
// window unchanged.
//
// The seed defaults to kDefaultSeed and is printed with every failure; set VX86_ORACLE_SEED to
// reproduce a failure or explore another sequence.
#include <gtest/gtest.h>

#include <array>
#include <cinttypes>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>

#include "arch/vectors.h"
#include "diff/host/insn_encoder.h"
#include "diff/host/native_runner.h"
#include "support/test_machine.h"

namespace vx86::test {
namespace {

using namespace arch::Rflags;

constexpr uint64_t kDefaultSeed = 0x7658365f6f72636cull;
constexpr unsigned kRsp = 4;

uint64_t oracle_seed() {
    if (const char* s = std::getenv("VX86_ORACLE_SEED")) return std::strtoull(s, nullptr, 0);
    return kDefaultSeed;
}

// Operand values that sit on carry, sign, overflow, BCD and count boundaries.
// clang-format off
constexpr uint64_t kEdges[] = {
    0, 1, 2, 9, 0x0f, 0x10, 0x21, 0x3f, 0x40, 0x41, 0x7f, 0x80, 0x99, 0xff, 0x7fff, 0x8000, 0xffff,
    0x7fffffff, 0x80000000, 0xffffffff, 0x7fffffffffffffffull, 0x8000000000000000ull, ~0ull};
constexpr uint8_t kCounts[] = {0, 1, 2, 7, 8, 9, 15, 16, 17, 18, 31, 32, 33, 63, 64, 65, 255};
// clang-format on

uint64_t mask_of(unsigned size) {
    return size >= 8 ? ~uint64_t{0} : (uint64_t{1} << (size * 8)) - 1;
}

// The data window: the same guest-physical (identity-mapped) and host-virtual addresses, so a
// memory operand [base + disp] means the same bytes natively and in the guest.
constexpr uint64_t kWin = TestMachine::kDataBase + 0x8000;
constexpr size_t kWinBytes = 4096;
constexpr uint64_t kCenter = kWin + kWinBytes / 2;

// One test case: encoded instruction, inputs, and what the comparison may ignore.
struct Case {
    Encoded code;
    HostState in;
    std::string name;
    uint64_t undefined = 0;      // status flags the APM leaves undefined for these inputs
    int undefined_reg = -1;      // a GPR whose result is undefined for these inputs
    bool undefined_mem = false;  // the memory result is undefined for these inputs
    int expect_vector = -1;      // vx86 must raise this exception; not run natively
    bool uses_mem = false;       // `mem` is the initial content of the data window
    std::array<uint8_t, kWinBytes> mem{};
};

class Gen {
  public:
    Gen(uint64_t seed, bool mem_ok) : m_rng(seed), m_mem_ok(mem_ok) {}

    bool mem_ok() const { return m_mem_ok; }

    uint64_t u64() { return m_rng(); }
    unsigned below(unsigned n) { return static_cast<unsigned>(m_rng() % n); }
    bool coin() { return m_rng() & 1; }

    // A value whose low `size` bytes are an edge case or random, with random or
    // sign/zero-filled upper bits.
    uint64_t value(unsigned size) {
        uint64_t v;
        switch (below(5)) {
            case 0:
                v = kEdges[below(std::size(kEdges))];
                break;
            case 1:
                v = 0 - kEdges[below(std::size(kEdges))];
                break;
            case 2:
                v = u64() >> below(64);
                break;
            default:
                v = u64();
                break;
        }
        const uint64_t m = mask_of(size);
        switch (below(4)) {
            case 0:
                return v & m;
            case 1:
                return (v & m) | ~m;
            default:
                return (u64() & ~m) | (v & m);
        }
    }

    // A shift count byte: mostly 0..65, some edges and random bytes to exercise the masking.
    uint8_t count() {
        switch (below(5)) {
            case 0:
                return kCounts[below(std::size(kCounts))];
            case 1:
                return static_cast<uint8_t>(u64());
            default:
                return static_cast<uint8_t>(below(66));
        }
    }

    unsigned size() { return 1u << below(4); }
    unsigned size_no8() { return 2u << below(3); }

    // A GPR other than RSP; with 8-bit operands and no REX, 4..7 name AH..BH.
    unsigned reg(unsigned size, bool rex8) {
        if (size == 1 && !rex8) return below(8);
        for (;;) {
            const unsigned r = below(16);
            if (r != kRsp) return r;
        }
    }

    HostState state() {
        HostState s;
        for (uint64_t& g : s.gpr) g = value(1u << below(4));
        s.gpr[kRsp] = 0;
        s.rflags = FIXED1 | (u64() & STATUS);
        return s;
    }

  private:
    std::mt19937_64 m_rng;
    bool m_mem_ok;
};

// Operand value of register `r` with the 8-bit AH..BH rule.
uint64_t operand(const HostState& s, unsigned r, unsigned size, bool rex8) {
    if (size == 1 && !rex8 && r >= 4) return (s.gpr[r - 4] >> 8) & 0xff;
    return s.gpr[r] & mask_of(size);
}

void set_operand(HostState& s, unsigned r, unsigned size, bool rex8, uint64_t v) {
    if (size == 1 && !rex8 && r >= 4) {
        s.gpr[r - 4] = (s.gpr[r - 4] & ~uint64_t{0xff00}) | ((v & 0xff) << 8);
        return;
    }
    s.gpr[r] = (s.gpr[r] & ~mask_of(size)) | (v & mask_of(size));
}

// The r/m operand of a case: a register, or [base + disp32] inside the data window.
struct Rm {
    bool mem = false;
    unsigned reg = 0;  // the register, or the base register
    int32_t disp = 0;
    uint64_t addr = 0;
};

// Registers that can serve as a memory base: no implicit operand of any instruction here
// (RAX, RCX, RDX, RBX), no RSP/R12 (they need a SIB byte).
constexpr unsigned kBases[] = {5, 6, 7, 8, 9, 10, 11, 13, 14, 15};

// Picks the r/m operand: a register, or (a third of the time, when the host window exists)
// memory. `mem_only` forces memory (CMPXCHG8B/16B). Must follow `c.in = g.state()`.
Rm pick_rm(Gen& g, Case& c, unsigned size, bool rex8, bool mem_only = false) {
    Rm rm;
    if (!g.mem_ok() || (!mem_only && g.below(3) != 0)) {
        rm.reg = g.reg(size, rex8);
        return rm;
    }
    rm.mem = true;
    // Without REX the base must be one of RBP/RSI/RDI (AH..BH forbid a REX prefix).
    rm.reg = size == 1 && !rex8 ? 5 + g.below(3) : kBases[g.below(std::size(kBases))];
    rm.addr = kCenter + g.below(256) - 128;
    rm.disp = static_cast<int32_t>(g.below(512)) - 256;
    c.in.gpr[rm.reg] = rm.addr - static_cast<int64_t>(rm.disp);
    c.uses_mem = true;
    for (size_t i = 0; i < kWinBytes; i += 8) {
        const uint64_t v = g.value(8);
        std::memcpy(&c.mem[i], &v, 8);
    }
    return rm;
}

// A register operand that is not the memory base of `rm`.
unsigned pick_reg(Gen& g, unsigned size, bool rex8, const Rm& rm) {
    for (;;) {
        const unsigned r = g.reg(size, rex8);
        if (!rm.mem || r != rm.reg) return r;
    }
}

uint64_t rm_value(const Case& c, const Rm& rm, unsigned size, bool rex8) {
    if (!rm.mem) return operand(c.in, rm.reg, size, rex8);
    uint64_t v = 0;
    std::memcpy(&v, &c.mem[rm.addr - kWin], size);
    return v;
}

void set_rm_value(Case& c, const Rm& rm, unsigned size, bool rex8, uint64_t v) {
    if (!rm.mem) return set_operand(c.in, rm.reg, size, rex8, v);
    std::memcpy(&c.mem[rm.addr - kWin], &v, size);
}

Encoded enc(unsigned size, uint8_t mandatory, bool esc, uint8_t opcode, unsigned reg, const Rm& rm,
            bool rex8 = true, bool lock = false) {
    return encode(
        {size, mandatory, esc, opcode, reg, rm.reg, rex8, rm.mem, rm.disp, lock && rm.mem});
}

// ---- ALU ---------------------------------------------------------------------------------------

void gen_alu(Gen& g, Case& c) {
    const unsigned size = g.size();
    const bool rex8 = g.coin();
    c.in = g.state();
    const Rm rm = pick_rm(g, c, size, rex8);
    const unsigned reg = pick_reg(g, size, rex8, rm);
    const bool lock = g.below(4) == 0;
    const unsigned op = g.below(13);
    static const char* const kNames[] = {"add", "or",   "adc", "sbb", "and", "sub", "xor",
                                         "cmp", "test", "inc", "dec", "neg", "not"};
    c.name = kNames[op];
    const bool logic = op == 1 || op == 4 || op == 6 || op == 8;
    if (logic) c.undefined = AF;  // APM: AF undefined after AND, OR, XOR, TEST
    const uint8_t w = size == 1 ? 0 : 1;
    const bool lockable = op != 7 && op != 8;
    if (op < 8) {
        switch (g.below(4)) {
            case 0:  // op r/m, reg
                c.code = enc(size, 0, false, static_cast<uint8_t>(op * 8 + w), reg, rm, rex8,
                             lock && lockable);
                break;
            case 1:  // op reg, r/m
                c.code = enc(size, 0, false, static_cast<uint8_t>(op * 8 + 2 + w), reg, rm, rex8);
                break;
            case 2: {  // 80/81/83 /op imm
                const bool imm8 = size == 1 || g.coin();
                const uint8_t opc = size == 1 ? 0x80 : imm8 ? 0x83 : 0x81;
                c.code = enc(size, 0, false, opc, op, rm, rex8, lock && lockable);
                c.code.imm(g.value(4), imm8 ? 1 : size == 2 ? 2 : 4);
                c.name += " imm";
                break;
            }
            default: {  // op AL/rAX, imm: the short accumulator forms have no ModRM
                Encoded e;
                if (size == 2) e.put(0x66);
                if (size == 8) e.put(0x48);
                e.put(static_cast<uint8_t>(op * 8 + 4 + w));
                e.imm(g.value(4), size == 1 ? 1 : size == 2 ? 2 : 4);
                c.code = e;
                c.name += " acc, imm";
                break;
            }
        }
    } else if (op == 8) {
        if (g.coin()) {
            c.code = enc(size, 0, false, static_cast<uint8_t>(0x84 + w), reg, rm, rex8);
        } else {
            c.code = enc(size, 0, false, static_cast<uint8_t>(0xf6 + w), 0, rm, rex8);
            c.code.imm(g.value(4), size == 1 ? 1 : size == 2 ? 2 : 4);
        }
    } else {
        static constexpr uint8_t kOpc[] = {0xfe, 0xfe, 0xf6, 0xf6};
        static constexpr unsigned kExt[] = {0, 1, 3, 2};
        c.code = enc(size, 0, false, static_cast<uint8_t>(kOpc[op - 9] + w), kExt[op - 9], rm, rex8,
                     lock);
    }
}

// ---- shifts and rotates ------------------------------------------------------------------------

void gen_shift(Gen& g, Case& c) {
    const unsigned size = g.size();
    const bool rex8 = g.coin();
    c.in = g.state();
    const Rm rm = pick_rm(g, c, size, rex8);
    static constexpr unsigned kExts[] = {0, 1, 2, 3, 4, 5, 7};  // ROL ROR RCL RCR SHL SHR SAR
    static const char* const kNames[] = {"rol", "ror", "rcl", "rcr", "shl", "shr", "", "sar"};
    const unsigned ext = kExts[g.below(7)];
    c.name = kNames[ext];
    const uint8_t w = size == 1 ? 0 : 1;
    uint8_t count;
    switch (g.below(3)) {
        case 0:
            count = 1;
            c.code = enc(size, 0, false, static_cast<uint8_t>(0xd0 + w), ext, rm, rex8);
            c.name += " 1";
            break;
        case 1:
            count = g.count();
            c.in.gpr[1] = (c.in.gpr[1] & ~uint64_t{0xff}) | count;
            c.code = enc(size, 0, false, static_cast<uint8_t>(0xd2 + w), ext, rm, rex8);
            c.name += " cl";
            break;
        default:
            count = g.count();
            c.code = enc(size, 0, false, static_cast<uint8_t>(0xc0 + w), ext, rm, rex8);
            c.code.imm(count, 1);
            c.name += " imm8";
            break;
    }
    const unsigned width = size * 8;
    const unsigned masked = count & (size == 8 ? 63 : 31);
    if (masked == 0) return;  // nothing changes: everything is compared
    if (masked != 1) c.undefined |= OF;
    if (ext >= 4) c.undefined |= AF;
    if ((ext == 4 || ext == 5) && masked >= width) c.undefined |= CF;
}

void gen_shiftd(Gen& g, Case& c) {
    const unsigned size = g.size_no8();
    c.in = g.state();
    const Rm rm = pick_rm(g, c, size, true);
    const unsigned reg = pick_reg(g, size, true, rm);
    const bool left = g.coin();
    const bool by_cl = g.coin();
    c.name = left ? "shld" : "shrd";
    uint8_t count = g.count();
    if (by_cl) {
        c.in.gpr[1] = (c.in.gpr[1] & ~uint64_t{0xff}) | count;
        c.code = enc(size, 0, true, static_cast<uint8_t>(left ? 0xa5 : 0xad), reg, rm);
        c.name += " cl";
    } else {
        c.code = enc(size, 0, true, static_cast<uint8_t>(left ? 0xa4 : 0xac), reg, rm);
        c.code.imm(count, 1);
        c.name += " imm8";
    }
    const unsigned masked = count & (size == 8 ? 63 : 31);
    if (masked == 0) return;
    c.undefined |= AF;
    if (masked != 1) c.undefined |= OF;
    if (size == 2 && masked > 16) {
        c.undefined |= STATUS;
        if (rm.mem) {
            c.undefined_mem = true;
        } else {
            c.undefined_reg = static_cast<int>(rm.reg);
        }
    }
}

// ---- multiply and divide -----------------------------------------------------------------------

// Whether DIV/IDIV of the current RDX:RAX (AX) by `d` raises #DE.
bool divide_faults(const HostState& s, unsigned size, uint64_t d, bool is_signed) {
    using u128 = unsigned __int128;
    using i128 = __int128;
    if (d == 0) return true;
    const unsigned w = size * 8;
    const u128 n = size == 1 ? u128{s.gpr[0] & 0xffff}
                             : (u128{s.gpr[2] & mask_of(size)} << w) | (s.gpr[0] & mask_of(size));
    if (!is_signed) return (n / d) >> w != 0;
    const i128 sn =
        size == 8 ? static_cast<i128>(n) : static_cast<i128>(n << (128 - 2 * w)) >> (128 - 2 * w);
    const i128 sd = static_cast<i128>(static_cast<int64_t>(d << (64 - w)) >> (64 - w));
    if (size == 8 && sd == -1 && sn == (static_cast<i128>(1) << 127)) return true;
    const i128 q = sn / sd;
    const i128 lim = static_cast<i128>(1) << (w - 1);
    return q < -lim || q >= lim;
}

void gen_muldiv(Gen& g, Case& c) {
    const unsigned size = g.size();
    const bool rex8 = g.coin();
    c.in = g.state();
    const Rm rm = pick_rm(g, c, size, rex8);
    const unsigned ext = 4 + g.below(4);  // MUL IMUL DIV IDIV
    static const char* const kNames[] = {"mul", "imul", "div", "idiv"};
    c.name = kNames[ext - 4];
    c.code = enc(size, 0, false, static_cast<uint8_t>(size == 1 ? 0xf6 : 0xf7), ext, rm, rex8);
    if (ext < 6) {
        c.undefined = SF | ZF | AF | PF;
        return;
    }
    c.undefined = STATUS;
    // Bias towards quotients that fit: a small high half of the dividend most of the time.
    if (g.below(4) != 0) {
        if (size == 1) {
            c.in.gpr[0] = (c.in.gpr[0] & ~uint64_t{0xff00}) | (g.below(4) == 0 ? 0xff00 : 0);
        } else {
            const bool neg = ext == 7 && (c.in.gpr[0] >> (size * 8 - 1) & 1);
            set_operand(c.in, 2, size, true, neg ? ~uint64_t{0} : 0);
        }
    }
    if (divide_faults(c.in, size, rm_value(c, rm, size, rex8), ext == 7))
        c.expect_vector = static_cast<int>(arch::Vector::DE);
}

void gen_imul_multi(Gen& g, Case& c) {
    const unsigned size = g.size_no8();
    c.in = g.state();
    const Rm rm = pick_rm(g, c, size, true);
    const unsigned reg = pick_reg(g, size, true, rm);
    c.undefined = SF | ZF | AF | PF;
    switch (g.below(3)) {
        case 0:
            c.code = enc(size, 0, true, 0xaf, reg, rm);
            c.name = "imul r, r/m";
            break;
        case 1:
            c.code = enc(size, 0, false, 0x6b, reg, rm);
            c.code.imm(g.value(1), 1);
            c.name = "imul r, r/m, imm8";
            break;
        default:
            c.code = enc(size, 0, false, 0x69, reg, rm);
            c.code.imm(g.value(4), size == 2 ? 2 : 4);
            c.name = "imul r, r/m, imm";
            break;
    }
}

// ---- bit instructions --------------------------------------------------------------------------

void gen_bit(Gen& g, Case& c) {
    const unsigned size = g.size_no8();
    c.in = g.state();
    const Rm rm = pick_rm(g, c, size, true);
    const unsigned reg = pick_reg(g, size, true, rm);
    const bool lock = g.below(4) == 0;
    switch (g.below(9)) {
        case 0: {  // BT/BTS/BTR/BTC r/m, reg
            const unsigned k = g.below(4);
            static constexpr uint8_t kOpc[] = {0xa3, 0xab, 0xb3, 0xbb};
            static const char* const kNames[] = {"bt", "bts", "btr", "btc"};
            if (rm.mem) {
                // A signed bit offset reaching up to 512 bytes either side of the operand.
                const int64_t off = static_cast<int64_t>(g.below(8192)) - 4096;
                set_operand(c.in, reg, size, true, static_cast<uint64_t>(off));
            }
            c.code = enc(size, 0, true, kOpc[k], reg, rm, true, lock && k != 0);
            c.name = kNames[k];
            c.undefined = OF | SF | AF | PF;
            break;
        }
        case 1: {  // 0F BA /4../7 ib
            const unsigned k = g.below(4);
            static const char* const kNames[] = {"bt imm", "bts imm", "btr imm", "btc imm"};
            c.code = enc(size, 0, true, 0xba, 4 + k, rm, true, lock && k != 0);
            c.code.imm(g.count(), 1);
            c.name = kNames[k];
            c.undefined = OF | SF | AF | PF;
            break;
        }
        case 2:
        case 3: {  // BSF / BSR
            const bool fwd = g.coin();
            if (g.below(3) == 0) set_rm_value(c, rm, size, true, 0);
            c.code = enc(size, 0, true, static_cast<uint8_t>(fwd ? 0xbc : 0xbd), reg, rm);
            c.name = fwd ? "bsf" : "bsr";
            c.undefined = CF | OF | SF | AF | PF;
            break;
        }
        case 4:
        case 5: {  // LZCNT / TZCNT
            const bool lz = g.coin();
            if (g.below(4) == 0) set_rm_value(c, rm, size, true, 0);
            c.code = enc(size, 0xf3, true, static_cast<uint8_t>(lz ? 0xbd : 0xbc), reg, rm);
            c.name = lz ? "lzcnt" : "tzcnt";
            c.undefined = OF | SF | AF | PF;
            break;
        }
        case 6:
            c.code = enc(size, 0xf3, true, 0xb8, reg, rm);
            c.name = "popcnt";
            break;
        default: {  // BMI1, 32/64-bit only
            const bool w = g.coin();
            const unsigned v = pick_reg(g, 8, true, rm);
            switch (g.below(5)) {
                case 0:
                    c.code = encode_vex_0f38(w, 0xf2, reg, v, rm.reg, rm.mem, rm.disp);
                    c.name = "andn";
                    c.undefined = AF | PF;
                    break;
                case 1:
                    if (g.coin()) {
                        c.in.gpr[v] =
                            (c.in.gpr[v] & ~uint64_t{0xffff}) | g.below(72) | g.below(72) << 8;
                    }
                    c.code = encode_vex_0f38(w, 0xf7, reg, v, rm.reg, rm.mem, rm.disp);
                    c.name = "bextr";
                    c.undefined = AF | SF | PF;
                    break;
                default: {
                    const unsigned k = 1 + g.below(3);  // BLSR /1, BLSMSK /2, BLSI /3
                    static const char* const kNames[] = {"", "blsr", "blsmsk", "blsi"};
                    c.code = encode_vex_0f38(w, 0xf3, k, v, rm.reg, rm.mem, rm.disp);
                    c.name = kNames[k];
                    c.undefined = AF | PF;
                    break;
                }
            }
            break;
        }
    }
}

// ---- compare-exchange and exchange-add ---------------------------------------------------------

// CMPXCHG8B/16B m: EDX:EAX (RDX:RAX) equal to memory half of the time; CMPXCHG16B on a
// misaligned operand must raise #GP(0).
void gen_cmpxchg_wide(Gen& g, Case& c, bool wide) {
    Rm rm = pick_rm(g, c, 8, true, true);
    if (wide && g.below(8) != 0) {
        rm.addr &= ~uint64_t{15};
        c.in.gpr[rm.reg] = rm.addr - static_cast<int64_t>(rm.disp);
    }
    if (g.coin()) {
        uint64_t lo, hi;
        std::memcpy(&lo, &c.mem[rm.addr - kWin], 8);
        std::memcpy(&hi, &c.mem[rm.addr - kWin + 8], 8);
        if (wide) {
            c.in.gpr[0] = lo;
            c.in.gpr[2] = hi;
        } else {
            set_operand(c.in, 0, 4, true, lo);
            set_operand(c.in, 2, 4, true, lo >> 32);
        }
    }
    c.code = enc(wide ? 8 : 4, 0, true, 0xc7, 1, rm, true, g.coin());
    c.name = wide ? "cmpxchg16b" : "cmpxchg8b";
    if (wide && (rm.addr & 15)) c.expect_vector = static_cast<int>(arch::Vector::GP);
}

void gen_atomic(Gen& g, Case& c) {
    c.in = g.state();
    if (g.mem_ok() && g.below(4) == 0) return gen_cmpxchg_wide(g, c, g.coin());
    const unsigned size = g.size();
    const bool rex8 = g.coin();
    const Rm rm = pick_rm(g, c, size, rex8);
    const unsigned reg = pick_reg(g, size, rex8, rm);
    const uint8_t w = size == 1 ? 0 : 1;
    const bool lock = g.coin();
    if (g.coin()) {
        if (g.coin()) set_operand(c.in, 0, size, true, rm_value(c, rm, size, rex8));
        c.code = enc(size, 0, true, static_cast<uint8_t>(0xb0 + w), reg, rm, rex8, lock);
        c.name = "cmpxchg";
    } else {
        c.code = enc(size, 0, true, static_cast<uint8_t>(0xc0 + w), reg, rm, rex8, lock);
        c.name = "xadd";
    }
}

// ---- the driver --------------------------------------------------------------------------------

std::string describe(const Case& c, unsigned index) {
    std::string s = "VX86_ORACLE_SEED=" + std::to_string(oracle_seed()) + " case " +
                    std::to_string(index) + ": " + c.name + " [" + c.code.hex() + "]\n  in:";
    char t[64];
    for (unsigned r = 0; r < 16; ++r) {
        std::snprintf(t, sizeof t, " r%u=%" PRIx64, r, c.in.gpr[r]);
        s += t;
    }
    std::snprintf(t, sizeof t, " rflags=%" PRIx64, c.in.rflags);
    return s + t;
}

class Oracle {
  public:
    Oracle() {
        m_vm.enter_long64();
        m_vm.install_idt64();
        m_window = m_native.map_window(kWin, kWinBytes);
    }

    // Runs `n` cases from `gen`; returns the number of failures (reported through gtest).
    unsigned run(void (*gen)(Gen&, Case&), unsigned n, uint64_t seed) {
        Gen g(seed, m_window != nullptr);
        unsigned failures = 0;
        for (unsigned i = 0; i < n && failures < m_max_failures; ++i) {
            Case c;
            gen(g, c);
            if (!check(c, i)) ++failures;
        }
        return failures;
    }

    NativeRunner& native() { return m_native; }
    bool has_window() const { return m_window != nullptr; }

  private:
    bool check(Case c, unsigned index) {
        // VX86_ORACLE_STRICT=1 compares undefined results too: a way to see what the host does.
        if (m_strict) {
            c.undefined = 0;
            c.undefined_reg = -1;
            c.undefined_mem = false;
        }
        cpu::CpuState& s = m_vm.s();
        s.halted = false;
        for (unsigned r = 0; r < 16; ++r) s.gpr[r] = c.in.gpr[r];
        s.gpr[kRsp] = TestMachine::kStackTop;
        s.set_rflags(c.in.rflags);
        if (c.uses_mem) m_vm.write(kWin, c.mem.data(), kWinBytes);
        m_vm.load_code(c.code.bytes());
        std::array<uint8_t, kWinBytes> guest_mem;
        if (c.expect_vector >= 0) {
            m_vm.run(2);
            bool ok = m_vm.halted_vector() == c.expect_vector;
            for (unsigned r = 0; r < 16; ++r)
                if (r != kRsp && s.gpr[r] != c.in.gpr[r]) ok = false;
            if (c.uses_mem) {
                m_vm.memory.read(0, kWin, guest_mem);
                if (guest_mem != c.mem) ok = false;
            }
            if (!ok) {
                ADD_FAILURE() << describe(c, index) << "\n  expected vector " << c.expect_vector
                              << " with registers and memory unchanged, got "
                              << m_vm.halted_vector();
            }
            return ok;
        }
        const cpu::ExitInfo& e = m_vm.run(1);
        HostState out = c.in;
        if (c.uses_mem) std::memcpy(m_window, c.mem.data(), kWinBytes);
        m_native.run(c.code.bytes(), out);
        std::string diff;
        char t[96];
        if (e.reason != cpu::ExitReason::InsnLimit ||
            s.rip() != TestMachine::kCodeBase + c.code.n) {
            std::snprintf(t, sizeof t, "\n  vx86 did not retire it: exit %d rip %" PRIx64,
                          int(e.reason), s.rip());
            diff += t;
        }
        for (unsigned r = 0; r < 16; ++r) {
            if (r == kRsp || static_cast<int>(r) == c.undefined_reg) continue;
            if (s.gpr[r] != out.gpr[r]) {
                std::snprintf(t, sizeof t, "\n  r%u: vx86 %" PRIx64 " host %" PRIx64, r, s.gpr[r],
                              out.gpr[r]);
                diff += t;
            }
        }
        if (s.gpr[kRsp] != TestMachine::kStackTop) diff += "\n  vx86 changed RSP";
        const uint64_t vf = s.get_rflags() & STATUS, hf = out.rflags & STATUS;
        if ((vf ^ hf) & ~c.undefined) {
            std::snprintf(t, sizeof t,
                          "\n  flags: vx86 %03" PRIx64 " host %03" PRIx64 " (compared %03" PRIx64
                          ")",
                          vf, hf, STATUS & ~c.undefined);
            diff += t;
        }
        if (c.uses_mem && !c.undefined_mem) {
            m_vm.memory.read(0, kWin, guest_mem);
            for (size_t i = 0; i < kWinBytes; ++i) {
                if (guest_mem[i] != m_window[i]) {
                    std::snprintf(t, sizeof t,
                                  "\n  memory at %" PRIx64 ": vx86 %02x host %02x (was %02x)",
                                  kWin + i, guest_mem[i], m_window[i], c.mem[i]);
                    diff += t;
                    break;
                }
            }
        }
        if (diff.empty()) return true;
        ADD_FAILURE() << describe(c, index) << diff;
        return false;
    }

    TestMachine m_vm;
    NativeRunner m_native;
    uint8_t* m_window = nullptr;
    bool m_strict = std::getenv("VX86_ORACLE_STRICT") != nullptr;
    unsigned m_max_failures = m_strict ? 1000000 : 10;
};

class HostOracle : public ::testing::Test {
  protected:
    void run_family(void (*gen)(Gen&, Case&), unsigned n, uint64_t salt) {
        ASSERT_TRUE(m_oracle.native().ok()) << "cannot map an executable buffer on this host";
        if (!m_oracle.has_window()) {
            std::fprintf(stderr,
                         "host oracle: no data window at %#" PRIx64
                         ", memory forms are not compared\n",
                         kWin);
        }
        const uint64_t seed = oracle_seed() ^ salt;
        RecordProperty("seed", std::to_string(oracle_seed()));
        RecordProperty("cases", std::to_string(n));
        EXPECT_EQ(m_oracle.run(gen, n, seed), 0u) << "seed " << oracle_seed();
    }
    Oracle m_oracle;
};

// 250,000 cases per run in total (about 2 s).
TEST_F(HostOracle, Alu) {
    run_family(gen_alu, 60000, 1);
}
TEST_F(HostOracle, ShiftRotate) {
    run_family(gen_shift, 60000, 2);
}
TEST_F(HostOracle, DoubleShift) {
    run_family(gen_shiftd, 25000, 3);
}
TEST_F(HostOracle, MulDiv) {
    run_family(gen_muldiv, 35000, 4);
}
TEST_F(HostOracle, ImulMultiOperand) {
    run_family(gen_imul_multi, 15000, 5);
}
TEST_F(HostOracle, Bit) {
    run_family(gen_bit, 35000, 6);
}
TEST_F(HostOracle, CmpxchgXadd) {
    run_family(gen_atomic, 20000, 7);
}

}  // namespace
}  // namespace vx86::test
