// Multiply and divide family: MUL, IMUL (one, two and three operands), DIV, IDIV (AMD APM Vol 3).
// 64-bit forms compute the double-width product and dividend in 128-bit integers.
//
// Flags the APM leaves undefined, and what vx86 does:
//   MUL/IMUL  SF, ZF, AF, PF left unchanged; only CF = OF is written. AMD documents nothing, but
//             public observations of AMD hardware point this way (a Ryzen leaves ZF and PF clear
//             after IMUL with a zero product, unicorn-engine issue #2212; the four flags were seen
//             preserved across IMUL, remill issue #705). Bochs and QEMU instead compute SF/ZF/PF
//             from the low half and clear AF; the Intel host computes all four from the result.
//   DIV/IDIV  all six undefined: left unchanged. #DE (divide by zero, or a quotient that does not
//             fit, including IDIV of the most negative dividend by -1) changes nothing.
#include <Zydis/Zydis.h>

#include "cpu/exec/families.h"
#include "cpu/exec/operands.h"

namespace vx86::cpu {

namespace {

using namespace arch::Rflags;
using u128 = unsigned __int128;
using i128 = __int128;

// CF = OF = "the product does not fit the destination"; see the header for the rest.
void mul_flags(Cpu& c, bool overflow) { set_status_flags(c, CF | OF, overflow ? (CF | OF) : 0); }

// Writes the double-width product or quotient/remainder pair: AX for bytes, rDX:rAX otherwise.
template <unsigned S>
void set_pair(Cpu& c, uint64_t lo, uint64_t hi) {
    if constexpr (S == 1) {
        set_reg<2>(c, RAX, static_cast<uint16_t>((hi & 0xff) << 8 | (lo & 0xff)));
    } else {
        set_reg<S>(c, RAX, static_cast<uint_t<S>>(lo));
        set_reg<S>(c, RDX, static_cast<uint_t<S>>(hi));
    }
}

template <unsigned S>
u128 dividend(const Cpu& c) {
    if constexpr (S == 1) return get_reg<2>(c, RAX);
    return (static_cast<u128>(get_reg<S>(c, RDX)) << (S * 8)) | get_reg<S>(c, RAX);
}

template <unsigned S>
ExecStatus mul1(Cpu& c, const Insn& in) {
    uint_t<S> b;
    if (!read_op<S>(c, in, 0, b)) return ExecStatus::Fault;
    const u128 p = static_cast<u128>(get_reg<S>(c, RAX)) * b;
    const uint64_t lo = static_cast<uint64_t>(p) & base::size_mask(S);
    const uint64_t hi = static_cast<uint64_t>(p >> (S * 8)) & base::size_mask(S);
    set_pair<S>(c, lo, hi);
    mul_flags(c, hi != 0);
    return ExecStatus::Next;
}

template <unsigned S>
ExecStatus imul1(Cpu& c, const Insn& in) {
    uint_t<S> b;
    if (!read_op<S>(c, in, 0, b)) return ExecStatus::Fault;
    const i128 p = static_cast<i128>(static_cast<int_t<S>>(get_reg<S>(c, RAX))) *
                   static_cast<int_t<S>>(b);
    const uint64_t lo = static_cast<uint64_t>(p) & base::size_mask(S);
    const uint64_t hi = static_cast<uint64_t>(p >> (S * 8)) & base::size_mask(S);
    set_pair<S>(c, lo, hi);
    mul_flags(c, p != static_cast<i128>(base::sign_extend(lo, S * 8)));
    return ExecStatus::Next;
}

// IMUL reg, r/m [, imm]: truncated product; CF = OF = product does not fit.
template <unsigned S, bool IMM>
ExecStatus imul_n(Cpu& c, const Insn& in) {
    uint_t<S> a, b;
    if constexpr (IMM) {
        if (!read_op<S>(c, in, 1, a)) return ExecStatus::Fault;
        b = static_cast<uint_t<S>>(in.imm);
    } else {
        a = get_reg<S>(c, in.r[0]);
        if (!read_op<S>(c, in, 1, b)) return ExecStatus::Fault;
    }
    const i128 p = static_cast<i128>(static_cast<int_t<S>>(a)) * static_cast<int_t<S>>(b);
    const uint64_t lo = static_cast<uint64_t>(p) & base::size_mask(S);
    set_reg<S>(c, in.r[0], static_cast<uint_t<S>>(lo));
    mul_flags(c, p != static_cast<i128>(base::sign_extend(lo, S * 8)));
    return ExecStatus::Next;
}

// #DE on a zero divisor or a quotient that does not fit (APM Vol 3, "DIV").
template <unsigned S>
ExecStatus div1(Cpu& c, const Insn& in) {
    uint_t<S> d;
    if (!read_op<S>(c, in, 0, d)) return ExecStatus::Fault;
    if (d == 0) return raise(c, arch::Vector::DE);
    const u128 n = dividend<S>(c);
    const u128 q = n / d;
    if (q >> (S * 8)) return raise(c, arch::Vector::DE);
    set_pair<S>(c, static_cast<uint64_t>(q), static_cast<uint64_t>(n % d));
    return ExecStatus::Next;
}

template <unsigned S>
ExecStatus idiv1(Cpu& c, const Insn& in) {
    uint_t<S> d;
    if (!read_op<S>(c, in, 0, d)) return ExecStatus::Fault;
    if (d == 0) return raise(c, arch::Vector::DE);
    constexpr unsigned W = S * 8;
    const u128 raw = dividend<S>(c);
    // Sign-extend the 2W-bit dividend to 128 bits.
    const i128 n = W == 64 ? static_cast<i128>(raw)
                           : static_cast<i128>(raw << (128 - 2 * W)) >> (128 - 2 * W);
    const i128 dv = static_cast<int_t<S>>(d);
    // The most negative dividend over -1 overflows even i128 when W == 64; in every size the
    // quotient does not fit, so it is a #DE (APM Vol 3, "IDIV").
    if (W == 64 && dv == -1 && n == (static_cast<i128>(1) << 127)) {
        return raise(c, arch::Vector::DE);
    }
    const i128 q = n / dv, r = n % dv;
    const i128 lim = static_cast<i128>(1) << (W - 1);
    if (q < -lim || q >= lim) return raise(c, arch::Vector::DE);
    set_pair<S>(c, static_cast<uint64_t>(q), static_cast<uint64_t>(r));
    return ExecStatus::Next;
}

enum class Md : uint8_t { Mul, Imul, Div, Idiv };

// The one-operand forms: r/m against rAX (and rDX).
template <Md OP, unsigned S>
ExecStatus one_operand(Cpu& c, const Insn& in) {
    switch (OP) {
        case Md::Mul: return mul1<S>(c, in);
        case Md::Imul: return imul1<S>(c, in);
        case Md::Div: return div1<S>(c, in);
        case Md::Idiv: return idiv1<S>(c, in);
    }
    return ExecStatus::Next;
}

template <Md OP>
Handler bind_one_operand(const Insn& in) {
    return by_size<1, 2, 4, 8>(in.opsz[0], []<unsigned S>() { return &one_operand<OP, S>; });
}

Handler imul_multi(const Insn& in) {
    const bool imm = in.kind(2) == OpKind::Imm;
    return by_size<2, 4, 8>(in.opsz[0], [imm]<unsigned S>() -> Handler {
        return imm ? &imul_n<S, true> : &imul_n<S, false>;
    });
}

}  // namespace

Handler bind_muldiv(const Insn& in) {
    switch (in.mnemonic) {
        case ZYDIS_MNEMONIC_MUL: return bind_one_operand<Md::Mul>(in);
        case ZYDIS_MNEMONIC_IMUL:
            return in.kind(1) == OpKind::None ? bind_one_operand<Md::Imul>(in) : imul_multi(in);
        case ZYDIS_MNEMONIC_DIV: return bind_one_operand<Md::Div>(in);
        case ZYDIS_MNEMONIC_IDIV: return bind_one_operand<Md::Idiv>(in);
        default: return nullptr;
    }
}

}  // namespace vx86::cpu
