// Data movement family: MOV, MOVZX/MOVSX/MOVSXD, XCHG, LEA, CBW..CQO, CMOVcc, SETcc, BSWAP,
// XLAT, flag-bit instructions (CLC..STD, LAHF/SAHF) and the NOP-like hints.
#include <Zydis/Zydis.h>

#include "cpu/exec/condition_codes.h"
#include "cpu/exec/families.h"
#include "cpu/exec/operands.h"
#include "cpu/exec/svm_intercept.h"

namespace vx86::cpu {

namespace {

using namespace arch::Rflags;

template <unsigned S, OpKind K0, OpKind K1>
ExecStatus mov(Cpu& c, const Insn& in) {
    uint_t<S> v;
    if constexpr (K1 == OpKind::Reg) {
        v = get_reg<S>(c, in.r[1]);
    } else if constexpr (K1 == OpKind::Imm) {
        v = static_cast<uint_t<S>>(in.imm);
    } else {
        if (!read_mem(c, in.seg, effective_address(c, in), v)) return ExecStatus::Fault;
    }
    if constexpr (K0 == OpKind::Reg) {
        set_reg<S>(c, in.r[0], v);
    } else {
        if (!write_mem(c, in.seg, effective_address(c, in), v)) return ExecStatus::Fault;
    }
    return ExecStatus::Next;
}

// MOVZX / MOVSX / MOVSXD: destination size D, source size S.
template <unsigned D, unsigned S, bool SIGNED, OpKind K1>
ExecStatus movx(Cpu& c, const Insn& in) {
    uint_t<S> v;
    if constexpr (K1 == OpKind::Reg) {
        v = get_reg<S>(c, in.r[1]);
    } else {
        if (!read_mem(c, in.seg, effective_address(c, in), v)) return ExecStatus::Fault;
    }
    uint64_t x = v;
    if constexpr (SIGNED) x = static_cast<uint64_t>(static_cast<int64_t>(static_cast<int_t<S>>(v)));
    set_reg<D>(c, in.r[0], static_cast<uint_t<D>>(x));
    return ExecStatus::Next;
}

template <unsigned S, OpKind K0>
ExecStatus xchg(Cpu& c, const Insn& in) {
    if constexpr (K0 == OpKind::Reg) {
        const uint_t<S> a = get_reg<S>(c, in.r[0]), b = get_reg<S>(c, in.r[1]);
        set_reg<S>(c, in.r[0], b);
        set_reg<S>(c, in.r[1], a);
    } else {
        const uint64_t ea = effective_address(c, in);
        uint_t<S> a;
        if (!read_mem(c, in.seg, ea, a)) return ExecStatus::Fault;
        if (!write_mem(c, in.seg, ea, get_reg<S>(c, in.r[1]))) return ExecStatus::Fault;
        set_reg<S>(c, in.r[1], a);
    }
    return ExecStatus::Next;
}

template <unsigned S>
ExecStatus lea(Cpu& c, const Insn& in) {
    set_reg<S>(c, in.r[0], static_cast<uint_t<S>>(effective_address(c, in)));
    return ExecStatus::Next;
}

// CBW/CWDE/CDQE: sign-extend the low half of rAX into rAX (operand size S).
template <unsigned S>
ExecStatus cbw(Cpu& c, const Insn&) {
    const uint64_t half = get_reg<S / 2>(c, RAX);
    set_reg<S>(c, RAX, static_cast<uint_t<S>>(base::sign_extend(half, S * 4)));
    return ExecStatus::Next;
}

// CWD/CDQ/CQO: rDX = sign of rAX.
template <unsigned S>
ExecStatus cwd(Cpu& c, const Insn&) {
    const bool neg = get_reg<S>(c, RAX) & base::sign_bit(S);
    set_reg<S>(c, RDX, neg ? static_cast<uint_t<S>>(~uint64_t{0}) : 0);
    return ExecStatus::Next;
}

// CMOVcc reads its source even when the condition is false; with 32-bit operands the destination
// is zero-extended either way (APM Vol 3, "CMOVcc").
template <unsigned S, OpKind K1>
ExecStatus cmov(Cpu& c, const Insn& in) {
    uint_t<S> v;
    if constexpr (K1 == OpKind::Reg) {
        v = get_reg<S>(c, in.r[1]);
    } else {
        if (!read_mem(c, in.seg, effective_address(c, in), v)) return ExecStatus::Fault;
    }
    if (condition(c.s, in.imm2)) set_reg<S>(c, in.r[0], v);
    else if constexpr (S == 4) set_reg<4>(c, in.r[0], get_reg<4>(c, in.r[0]));
    return ExecStatus::Next;
}

template <OpKind K0>
ExecStatus setcc(Cpu& c, const Insn& in) {
    const uint8_t v = condition(c.s, in.imm2) ? 1 : 0;
    if constexpr (K0 == OpKind::Reg) {
        set_reg<1>(c, in.r[0], v);
        return ExecStatus::Next;
    } else {
        return write_mem(c, in.seg, effective_address(c, in), v) ? ExecStatus::Next
                                                                 : ExecStatus::Fault;
    }
}

template <unsigned S>
ExecStatus bswap(Cpu& c, const Insn& in) {
    if constexpr (S == 2) {
        // Undefined in the APM; AMD and Intel parts zero the low word.
        set_reg<2>(c, in.r[0], 0);
    } else if constexpr (S == 4) {
        set_reg<4>(c, in.r[0], __builtin_bswap32(get_reg<4>(c, in.r[0])));
    } else {
        set_reg<8>(c, in.r[0], __builtin_bswap64(get_reg<8>(c, in.r[0])));
    }
    return ExecStatus::Next;
}

ExecStatus clc(Cpu& c, const Insn&) { set_status_flags(c, CF, 0); return ExecStatus::Next; }
ExecStatus stc(Cpu& c, const Insn&) { set_status_flags(c, CF, CF); return ExecStatus::Next; }
ExecStatus cmc(Cpu& c, const Insn&) {
    set_status_flags(c, CF, c.s.get_rflags() ^ CF);
    return ExecStatus::Next;
}
ExecStatus cld(Cpu& c, const Insn&) { c.s.rflags &= ~DF; return ExecStatus::Next; }
ExecStatus std_(Cpu& c, const Insn&) { c.s.rflags |= DF; return ExecStatus::Next; }

// LAHF/SAHF in 64-bit mode need CPUID LahfSahf (APM Vol 3, "LAHF").
bool lahf_allowed(const Cpu& c) {
    return c.s.mode != CpuMode::Long64 || c.features.lahf_lm;
}

ExecStatus lahf(Cpu& c, const Insn&) {
    if (!lahf_allowed(c)) return raise_ud(c);
    const uint8_t ah = static_cast<uint8_t>((c.s.get_rflags() & (SF | ZF | AF | PF | CF)) | 2);
    set_reg<1>(c, RAX * 8 + 1, ah);
    return ExecStatus::Next;
}

ExecStatus sahf(Cpu& c, const Insn&) {
    if (!lahf_allowed(c)) return raise_ud(c);
    set_status_flags(c, SF | ZF | AF | PF | CF, get_reg<1>(c, RAX * 8 + 1));
    return ExecStatus::Next;
}

ExecStatus xlat(Cpu& c, const Insn& in) {
    const uint64_t off = (c.s.gpr[RBX] + get_reg<1>(c, RAX * 8)) & in.amask;
    uint8_t v;
    if (!read_mem(c, in.sego, off, v)) return ExecStatus::Fault;
    set_reg<1>(c, RAX * 8, v);
    return ExecStatus::Next;
}

template <unsigned S>
Handler pick_mov(const Insn& in) {
    const OpKind k0 = in.kind(0), k1 = in.kind(1);
    if (k0 == OpKind::Reg && k1 == OpKind::Reg) return &mov<S, OpKind::Reg, OpKind::Reg>;
    if (k0 == OpKind::Reg && k1 == OpKind::Mem) return &mov<S, OpKind::Reg, OpKind::Mem>;
    if (k0 == OpKind::Reg && k1 == OpKind::Imm) return &mov<S, OpKind::Reg, OpKind::Imm>;
    if (k0 == OpKind::Mem && k1 == OpKind::Reg) return &mov<S, OpKind::Mem, OpKind::Reg>;
    if (k0 == OpKind::Mem && k1 == OpKind::Imm) return &mov<S, OpKind::Mem, OpKind::Imm>;
    return nullptr;
}

template <unsigned D, unsigned S, bool SIGNED>
Handler pick_movx(const Insn& in) {
    if (in.kind(1) == OpKind::Reg) return &movx<D, S, SIGNED, OpKind::Reg>;
    if (in.kind(1) == OpKind::Mem) return &movx<D, S, SIGNED, OpKind::Mem>;
    return nullptr;
}

template <bool SIGNED>
Handler bind_movx(const Insn& in) {
    const unsigned d = in.opsz[0], s = in.opsz[1];
#define VX86_MOVX(D, S) \
    if (d == D && s == S) return pick_movx<D, S, SIGNED>(in);
    VX86_MOVX(2, 1) VX86_MOVX(4, 1) VX86_MOVX(8, 1) VX86_MOVX(2, 2) VX86_MOVX(4, 2)
    VX86_MOVX(8, 2) VX86_MOVX(2, 4) VX86_MOVX(4, 4) VX86_MOVX(8, 4)
#undef VX86_MOVX
    return nullptr;
}

// PAUSE (F3 90) is a NOP that SVM can intercept; plain NOP cannot be (APM Vol 2, 15.14.4). No
// pause-filter count is offered, so every intercepted PAUSE exits.
ExecStatus pause(Cpu& c, const Insn& in) {
    if (c.s.svm.intercept_misc1(arch::InterceptMisc1::PAUSE)) return svm_exit(c, in, 0x77);
    return ExecStatus::Next;
}

}  // namespace

Handler bind_data_move(const Insn& in) {
    const unsigned s = in.opsz[0];
    const OpKind k0 = in.kind(0), k1 = in.kind(1);
    switch (in.mnemonic) {
        case ZYDIS_MNEMONIC_MOV:
            if (k0 == OpKind::SReg || k1 == OpKind::SReg) return bind_segment(in);
            if (k0 == OpKind::CReg || k1 == OpKind::CReg || k0 == OpKind::DReg ||
                k1 == OpKind::DReg)
                return bind_system(in);
            return by_size<1, 2, 4, 8>(s, [&]<unsigned S>() { return pick_mov<S>(in); });
        case ZYDIS_MNEMONIC_MOVZX: return bind_movx<false>(in);
        case ZYDIS_MNEMONIC_MOVSX:
        case ZYDIS_MNEMONIC_MOVSXD: return bind_movx<true>(in);
        case ZYDIS_MNEMONIC_XCHG: {
            // Canonicalise "xchg reg, r/m" so the memory operand (if any) is first.
            const bool mem = k0 == OpKind::Mem || k1 == OpKind::Mem;
            if (k1 == OpKind::Mem) return nullptr;  // Zydis always lists r/m first
            return by_size<1, 2, 4, 8>(s, [mem]<unsigned S>() -> Handler {
                return mem ? &xchg<S, OpKind::Mem> : &xchg<S, OpKind::Reg>;
            });
        }
        case ZYDIS_MNEMONIC_LEA:
            if (k1 != OpKind::Mem) return nullptr;
            return by_size<2, 4, 8>(s, []<unsigned S>() { return &lea<S>; });
        case ZYDIS_MNEMONIC_CBW: return &cbw<2>;
        case ZYDIS_MNEMONIC_CWDE: return &cbw<4>;
        case ZYDIS_MNEMONIC_CDQE: return &cbw<8>;
        case ZYDIS_MNEMONIC_CWD: return &cwd<2>;
        case ZYDIS_MNEMONIC_CDQ: return &cwd<4>;
        case ZYDIS_MNEMONIC_CQO: return &cwd<8>;
        case ZYDIS_MNEMONIC_BSWAP:
            return by_size<2, 4, 8>(s, []<unsigned S>() { return &bswap<S>; });
        case ZYDIS_MNEMONIC_CLC: return &clc;
        case ZYDIS_MNEMONIC_STC: return &stc;
        case ZYDIS_MNEMONIC_CMC: return &cmc;
        case ZYDIS_MNEMONIC_CLD: return &cld;
        case ZYDIS_MNEMONIC_STD: return &std_;
        case ZYDIS_MNEMONIC_LAHF: return &lahf;
        case ZYDIS_MNEMONIC_SAHF: return &sahf;
        case ZYDIS_MNEMONIC_XLAT: return &xlat;
        case ZYDIS_MNEMONIC_PAUSE: return &pause;
        case ZYDIS_MNEMONIC_NOP:
        case ZYDIS_MNEMONIC_PREFETCH:
        case ZYDIS_MNEMONIC_PREFETCHW:
        case ZYDIS_MNEMONIC_PREFETCHNTA:
        case ZYDIS_MNEMONIC_PREFETCHT0:
        case ZYDIS_MNEMONIC_PREFETCHT1:
        case ZYDIS_MNEMONIC_PREFETCHT2:
        case ZYDIS_MNEMONIC_CLFLUSH:
        case ZYDIS_MNEMONIC_LFENCE:
        case ZYDIS_MNEMONIC_SFENCE:
        case ZYDIS_MNEMONIC_MFENCE: return &exec_nop;
        default: break;
    }
    const int cc = condition_code(in.mnemonic);
    if (cc < 0) return nullptr;
    if (in.mnemonic >= ZYDIS_MNEMONIC_SETB && in.mnemonic <= ZYDIS_MNEMONIC_SETZ &&
        in.mnemonic != ZYDIS_MNEMONIC_SETSSBSY) {
        return k0 == OpKind::Reg ? &setcc<OpKind::Reg> : k0 == OpKind::Mem ? &setcc<OpKind::Mem> : nullptr;
    }
    const bool mem = k1 == OpKind::Mem;
    return by_size<2, 4, 8>(s, [mem]<unsigned S>() -> Handler {
        return mem ? &cmov<S, OpKind::Mem> : &cmov<S, OpKind::Reg>;
    });
}

}  // namespace vx86::cpu
