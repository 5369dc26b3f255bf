// Multiply and divide family: MUL, IMUL (one, two and three operands), DIV, IDIV (AMD APM Vol 3).
// CF/OF are architectural; SF/ZF/PF (undefined after MUL/IMUL) follow the low half of the result
// and AF is cleared, as QEMU TCG computes them. DIV/IDIV leave all flags unchanged.
#include <Zydis/Zydis.h>

#include "cpu/exec/families.h"
#include "cpu/exec/operands.h"

namespace vx86::cpu {

namespace {

using namespace arch::Rflags;
using u128 = unsigned __int128;
using i128 = __int128;

void mul_flags(Cpu& c, uint64_t low, unsigned size, bool overflow) {
    set_status_flags(c, STATUS, pf_zf_sf(low, size) | (overflow ? (CF | OF) : 0));
}

// Reads the r/m operand (operand 0 of the one-operand forms, 1 of the others).
template <unsigned S>
bool rm(Cpu& c, const Insn& in, unsigned i, uint_t<S>& v) {
    return read_op<S>(c, in, i, v);
}

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
    if (!rm<S>(c, in, 0, b)) return ExecStatus::Fault;
    const u128 p = static_cast<u128>(get_reg<S>(c, RAX)) * b;
    const uint64_t lo = static_cast<uint64_t>(p) & base::size_mask(S);
    const uint64_t hi = static_cast<uint64_t>(p >> (S * 8)) & base::size_mask(S);
    set_pair<S>(c, lo, hi);
    mul_flags(c, lo, S, hi != 0);
    return ExecStatus::Next;
}

template <unsigned S>
ExecStatus imul1(Cpu& c, const Insn& in) {
    uint_t<S> b;
    if (!rm<S>(c, in, 0, b)) return ExecStatus::Fault;
    const i128 p = static_cast<i128>(static_cast<int_t<S>>(get_reg<S>(c, RAX))) *
                   static_cast<int_t<S>>(b);
    const uint64_t lo = static_cast<uint64_t>(p) & base::size_mask(S);
    const uint64_t hi = static_cast<uint64_t>(p >> (S * 8)) & base::size_mask(S);
    set_pair<S>(c, lo, hi);
    mul_flags(c, lo, S, p != static_cast<i128>(base::sign_extend(lo, S * 8)));
    return ExecStatus::Next;
}

// IMUL reg, r/m [, imm]: truncated product; CF = OF = product does not fit.
template <unsigned S, bool IMM>
ExecStatus imul_n(Cpu& c, const Insn& in) {
    uint_t<S> a, b;
    if constexpr (IMM) {
        if (!rm<S>(c, in, 1, a)) return ExecStatus::Fault;
        b = static_cast<uint_t<S>>(in.imm);
    } else {
        a = get_reg<S>(c, in.r[0]);
        if (!rm<S>(c, in, 1, b)) return ExecStatus::Fault;
    }
    const i128 p = static_cast<i128>(static_cast<int_t<S>>(a)) * static_cast<int_t<S>>(b);
    const uint64_t lo = static_cast<uint64_t>(p) & base::size_mask(S);
    set_reg<S>(c, in.r[0], static_cast<uint_t<S>>(lo));
    mul_flags(c, lo, S, p != static_cast<i128>(base::sign_extend(lo, S * 8)));
    return ExecStatus::Next;
}

// #DE on a zero divisor or a quotient that does not fit (APM Vol 3, "DIV").
template <unsigned S>
ExecStatus div1(Cpu& c, const Insn& in) {
    uint_t<S> d;
    if (!rm<S>(c, in, 0, d)) return ExecStatus::Fault;
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
    if (!rm<S>(c, in, 0, d)) return ExecStatus::Fault;
    if (d == 0) return raise(c, arch::Vector::DE);
    constexpr unsigned W = S * 8;
    const u128 raw = dividend<S>(c);
    // Sign-extend the 2W-bit dividend to 128 bits.
    const i128 n = W == 64 ? static_cast<i128>(raw)
                           : static_cast<i128>(raw << (128 - 2 * W)) >> (128 - 2 * W);
    const i128 dv = static_cast<int_t<S>>(d);
    // INT_MIN / -1 overflows i128 only for W == 64; it is a #DE in every size anyway.
    if (W == 64 && dv == -1 && n == (static_cast<i128>(1) << 127)) return raise(c, arch::Vector::DE);
    const i128 q = n / dv, r = n % dv;
    const i128 qmin = -(static_cast<i128>(1) << (W - 1)), qmax = (static_cast<i128>(1) << (W - 1)) - 1;
    if (q < qmin || q > qmax) return raise(c, arch::Vector::DE);
    set_pair<S>(c, static_cast<uint64_t>(q), static_cast<uint64_t>(r));
    return ExecStatus::Next;
}


#define VX86_BY_SIZE(fn)                 \
    Handler fn##_sized(unsigned s) {     \
        switch (s) {                     \
            case 1: return &fn<1>;       \
            case 2: return &fn<2>;       \
            case 4: return &fn<4>;       \
            case 8: return &fn<8>;       \
            default: return nullptr;     \
        }                                \
    }
VX86_BY_SIZE(mul1)
VX86_BY_SIZE(imul1)
VX86_BY_SIZE(div1)
VX86_BY_SIZE(idiv1)
#undef VX86_BY_SIZE

Handler imul_multi(const Insn& in) {
    const bool imm = in.kind(2) == OpKind::Imm;
    switch (in.opsz[0]) {
        case 2: return imm ? &imul_n<2, true> : &imul_n<2, false>;
        case 4: return imm ? &imul_n<4, true> : &imul_n<4, false>;
        case 8: return imm ? &imul_n<8, true> : &imul_n<8, false>;
        default: return nullptr;
    }
}

}  // namespace

Handler bind_muldiv(const Insn& in) {
    switch (in.mnemonic) {
        case ZYDIS_MNEMONIC_MUL: return mul1_sized(in.opsz[0]);
        case ZYDIS_MNEMONIC_IMUL: return in.kind(1) == OpKind::None ? imul1_sized(in.opsz[0]) : imul_multi(in);
        case ZYDIS_MNEMONIC_DIV: return div1_sized(in.opsz[0]);
        case ZYDIS_MNEMONIC_IDIV: return idiv1_sized(in.opsz[0]);
        default: return nullptr;
    }
}

}  // namespace vx86::cpu
