// Integer ALU family: ADD, OR, ADC, SBB, AND, SUB, XOR, CMP, TEST, INC, DEC, NEG, NOT.
// Status flags are recorded lazily (cpu/state/lazy_flags.h); forms are resolved at bind time.
#include <Zydis/Zydis.h>

#include "cpu/exec/families.h"
#include "cpu/exec/operands.h"

namespace vx86::cpu {

namespace {

enum class Op : uint8_t { Add, Or, Adc, Sbb, And, Sub, Xor, Cmp, Test };

constexpr bool writes_result(Op op) { return op != Op::Cmp && op != Op::Test; }

template <Op OP, unsigned S>
inline uint_t<S> compute(Cpu& c, uint_t<S> a, uint_t<S> b) {
    using T = uint_t<S>;
    T r;
    switch (OP) {
        case Op::Add: r = T(a + b); set_lazy(c, FlagOp::Add, S, r, a, b); break;
        case Op::Adc: {
            const T cin = T(lazy_cf(c.s.lf, c.s.rflags));
            r = T(a + b + cin);
            set_lazy(c, FlagOp::Adc, S, r, a, b);
            break;
        }
        case Op::Sub:
        case Op::Cmp: r = T(a - b); set_lazy(c, FlagOp::Sub, S, r, a, b); break;
        case Op::Sbb: {
            const T cin = T(lazy_cf(c.s.lf, c.s.rflags));
            r = T(a - b - cin);
            set_lazy(c, FlagOp::Sbb, S, r, a, b);
            break;
        }
        case Op::And:
        case Op::Test: r = T(a & b); set_lazy(c, FlagOp::Logic, S, r, 0, 0); break;
        case Op::Or: r = T(a | b); set_lazy(c, FlagOp::Logic, S, r, 0, 0); break;
        case Op::Xor: r = T(a ^ b); set_lazy(c, FlagOp::Logic, S, r, 0, 0); break;
    }
    return r;
}

// op0 (register or memory) OP= op1 (register, memory or immediate).
template <Op OP, unsigned S, OpKind K0, OpKind K1>
ExecStatus binop(Cpu& c, const Insn& in) {
    using T = uint_t<S>;
    T a, b;
    uint64_t ea = 0;
    if constexpr (K0 == OpKind::Reg) {
        a = get_reg<S>(c, in.r[0]);
    } else {
        ea = effective_address(c, in);
        if (!read_mem(c, in.seg, ea, a)) return ExecStatus::Fault;
    }
    if constexpr (K1 == OpKind::Reg) {
        b = get_reg<S>(c, in.r[1]);
    } else if constexpr (K1 == OpKind::Imm) {
        b = static_cast<T>(in.imm);
    } else {
        if (!read_mem(c, in.seg, effective_address(c, in), b)) return ExecStatus::Fault;
    }
    // Faults must precede any flag change: check the destination before computing.
    if constexpr (writes_result(OP) && K0 == OpKind::Mem) {
        if (!probe_write_mem(c, in.seg, ea, S)) return ExecStatus::Fault;
    }
    const T r = compute<OP, S>(c, a, b);
    if constexpr (writes_result(OP)) {
        if constexpr (K0 == OpKind::Reg) {
            set_reg<S>(c, in.r[0], r);
        } else {
            if (!write_mem(c, in.seg, ea, r)) return ExecStatus::Fault;
        }
    }
    return ExecStatus::Next;
}

enum class Un : uint8_t { Inc, Dec, Neg, Not };

template <Un OP, unsigned S, OpKind K0>
ExecStatus unop(Cpu& c, const Insn& in) {
    using T = uint_t<S>;
    T a;
    uint64_t ea = 0;
    if constexpr (K0 == OpKind::Reg) {
        a = get_reg<S>(c, in.r[0]);
    } else {
        ea = effective_address(c, in);
        if (!read_mem(c, in.seg, ea, a)) return ExecStatus::Fault;
        if (!probe_write_mem(c, in.seg, ea, S)) return ExecStatus::Fault;
    }
    T r;
    switch (OP) {
        case Un::Inc: r = T(a + 1); set_lazy_keep_cf(c, FlagOp::Inc, S, r, a); break;
        case Un::Dec: r = T(a - 1); set_lazy_keep_cf(c, FlagOp::Dec, S, r, a); break;
        case Un::Neg: r = T(0 - a); set_lazy(c, FlagOp::Sub, S, r, 0, a); break;
        case Un::Not: r = T(~a); break;
    }
    if constexpr (K0 == OpKind::Reg) {
        set_reg<S>(c, in.r[0], r);
    } else {
        if (!write_mem(c, in.seg, ea, r)) return ExecStatus::Fault;
    }
    return ExecStatus::Next;
}

template <Op OP, unsigned S>
Handler pick_binop(const Insn& in) {
    const OpKind k0 = in.kind(0), k1 = in.kind(1);
    if (k0 == OpKind::Reg && k1 == OpKind::Reg) return &binop<OP, S, OpKind::Reg, OpKind::Reg>;
    if (k0 == OpKind::Reg && k1 == OpKind::Mem) return &binop<OP, S, OpKind::Reg, OpKind::Mem>;
    if (k0 == OpKind::Reg && k1 == OpKind::Imm) return &binop<OP, S, OpKind::Reg, OpKind::Imm>;
    if (k0 == OpKind::Mem && k1 == OpKind::Reg) return &binop<OP, S, OpKind::Mem, OpKind::Reg>;
    if (k0 == OpKind::Mem && k1 == OpKind::Imm) return &binop<OP, S, OpKind::Mem, OpKind::Imm>;
    return nullptr;
}

template <Op OP>
Handler bind_binop(const Insn& in) {
    return by_size<1, 2, 4, 8>(in.opsz[0], [&]<unsigned S>() { return pick_binop<OP, S>(in); });
}

template <Un OP, unsigned S>
Handler pick_unop(const Insn& in) {
    if (in.kind(0) == OpKind::Reg) return &unop<OP, S, OpKind::Reg>;
    if (in.kind(0) == OpKind::Mem) return &unop<OP, S, OpKind::Mem>;
    return nullptr;
}

template <Un OP>
Handler bind_unop(const Insn& in) {
    return by_size<1, 2, 4, 8>(in.opsz[0], [&]<unsigned S>() { return pick_unop<OP, S>(in); });
}

}  // namespace

Handler bind_alu(const Insn& in) {
    switch (in.mnemonic) {
        case ZYDIS_MNEMONIC_ADD: return bind_binop<Op::Add>(in);
        case ZYDIS_MNEMONIC_OR: return bind_binop<Op::Or>(in);
        case ZYDIS_MNEMONIC_ADC: return bind_binop<Op::Adc>(in);
        case ZYDIS_MNEMONIC_SBB: return bind_binop<Op::Sbb>(in);
        case ZYDIS_MNEMONIC_AND: return bind_binop<Op::And>(in);
        case ZYDIS_MNEMONIC_SUB: return bind_binop<Op::Sub>(in);
        case ZYDIS_MNEMONIC_XOR: return bind_binop<Op::Xor>(in);
        case ZYDIS_MNEMONIC_CMP: return bind_binop<Op::Cmp>(in);
        case ZYDIS_MNEMONIC_TEST: return bind_binop<Op::Test>(in);
        case ZYDIS_MNEMONIC_INC: return bind_unop<Un::Inc>(in);
        case ZYDIS_MNEMONIC_DEC: return bind_unop<Un::Dec>(in);
        case ZYDIS_MNEMONIC_NEG: return bind_unop<Un::Neg>(in);
        case ZYDIS_MNEMONIC_NOT: return bind_unop<Un::Not>(in);
        default: return nullptr;
    }
}

}  // namespace vx86::cpu
