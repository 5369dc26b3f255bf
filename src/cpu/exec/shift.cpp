// Shift and rotate family: SHL/SAL, SHR, SAR, ROL, ROR, RCL, RCR, SHLD, SHRD (AMD APM Vol 3, and
// Vol 1, 3.5.2 "Shift and Rotate"). The count is masked to 5 bits (6 with a 64-bit operand);
// RCL/RCR with 8/16-bit operands then take it modulo 9/17. A masked count of 0 changes no flag
// and no memory; a 32-bit register destination is still written (zero-extended), as for every
// 32-bit register result in 64-bit mode.
//
// Results the APM leaves undefined, and what vx86 does. AMD publishes no hardware behaviour for
// these; vx86 takes the model "the flags are those of the final 1-bit step", which is what Bochs
// and QEMU compute. The Intel host agrees on AF, on CF and on the 16-bit SHLD/SHRD results, but
// not on OF for counts > 1, which is why the host oracle masks OF there:
//   OF, count > 1      SHL, ROL, RCL: MSB(result) XOR CF. SHR: MSB of the value before the last
//                      step (so 0 for counts > 1). SAR: 0. ROR, RCR, SHRD: XOR of the two top bits
//                      of the result. SHLD: MSB(result) XOR CF.
//   AF, count != 0     SHL/SHR/SAR/SHLD/SHRD clear it; rotates do not touch it (APM: unaffected).
//   CF, count >= width SHL/SHR with 8/16-bit operands and counts up to 31: the last bit shifted
//                      out, i.e. 0 once the count exceeds the width (SHL by exactly the width gives
//                      bit 0, SHR bit width-1).
//   RCL/RCR count that is a multiple of 9/17 (8/16-bit): a no-op that changes no flag.
//   ROL/ROR 8/16-bit, masked count a nonzero multiple of the width: value unchanged, CF and OF
//                      written from it as for any nonzero count.
//   SHLD/SHRD 16-bit, count 17..31: result and CF as shifting the 48-bit value dst:src:dst (the
//                      P6 behaviour Bochs documents; undefined per APM "SHLD"/"SHRD").
#include <Zydis/Zydis.h>

#include "cpu/exec/families.h"
#include "cpu/exec/operands.h"

namespace vx86::cpu {

namespace {

using namespace arch::Rflags;
using u128 = unsigned __int128;

enum class Sh : uint8_t { Shl, Shr, Sar, Rol, Ror, Rcl, Rcr };

template <unsigned S>
constexpr unsigned count_mask() {
    return S == 8 ? 0x3f : 0x1f;
}

template <unsigned S>
constexpr uint64_t msb(uint64_t v) {
    return (v >> (S * 8 - 1)) & 1;
}

struct ShiftOut {
    uint64_t value;
    uint64_t flags;  // status flags the operation writes ...
    uint64_t mask;   // ... selected by this mask
};

// One shift or rotate of `a` by a nonzero masked count `cnt`; `cf_in` is CF before it.
template <Sh OP, unsigned S>
ShiftOut shift(uint64_t a, unsigned cnt, uint64_t cf_in) {
    constexpr unsigned W = S * 8;
    constexpr uint64_t m = base::size_mask(S);
    uint64_t r = a, cf = 0, of = 0;
    switch (OP) {
        case Sh::Shl:
            r = cnt >= W ? 0 : (a << cnt) & m;
            cf = cnt > W ? 0 : (a >> (W - cnt)) & 1;
            of = msb<S>(r) ^ cf;
            return {r, pf_zf_sf(r, S) | (cf ? CF : 0) | (of ? OF : 0), STATUS};
        case Sh::Shr:
            r = cnt >= W ? 0 : a >> cnt;
            cf = cnt > W ? 0 : (a >> (cnt - 1)) & 1;
            of = cnt == 1 ? msb<S>(a) : 0;
            return {r, pf_zf_sf(r, S) | (cf ? CF : 0) | (of ? OF : 0), STATUS};
        case Sh::Sar: {
            const int64_t sa = base::sign_extend(a, W);
            r = static_cast<uint64_t>(sa >> (cnt >= W ? W - 1 : cnt)) & m;
            cf = static_cast<uint64_t>(sa >> (cnt > W ? W - 1 : cnt - 1)) & 1;
            return {r, pf_zf_sf(r, S) | (cf ? CF : 0), STATUS};
        }
        case Sh::Rol: {
            const unsigned k = cnt % W;
            r = k ? ((a << k) | (a >> (W - k))) & m : a;
            cf = r & 1;
            of = msb<S>(r) ^ cf;
            return {r, (cf ? CF : 0) | (of ? OF : 0), CF | OF};
        }
        case Sh::Ror: {
            const unsigned k = cnt % W;
            r = k ? ((a >> k) | (a << (W - k))) & m : a;
            cf = msb<S>(r);
            of = cf ^ ((r >> (W - 2)) & 1);
            return {r, (cf ? CF : 0) | (of ? OF : 0), CF | OF};
        }
        case Sh::Rcl:
        case Sh::Rcr: {
            // Rotate the W+1-bit value CF:a.
            const unsigned k = W < 32 ? cnt % (W + 1) : cnt;
            if (k == 0) return {a, 0, 0};
            constexpr unsigned span = W + 1;
            constexpr u128 full = (u128{1} << span) - 1;
            u128 v = (u128{cf_in} << W) | a;
            v = OP == Sh::Rcl ? ((v << k) | (v >> (span - k))) & full
                              : ((v >> k) | (v << (span - k))) & full;
            r = static_cast<uint64_t>(v) & m;
            cf = static_cast<uint64_t>(v >> W) & 1;
            of = OP == Sh::Rcl ? msb<S>(r) ^ cf : msb<S>(r) ^ ((r >> (W - 2)) & 1);
            return {r, (cf ? CF : 0) | (of ? OF : 0), CF | OF};
        }
    }
    return {a, 0, 0};
}

// The count operand: CL, an imm8, or the implicit 1 of the D0/D1 forms.
inline unsigned raw_count(const Cpu& c, const Insn& in, unsigned i) {
    switch (in.kind(i)) {
        case OpKind::Reg: return get_reg<1>(c, in.r[i]);
        case OpKind::Imm: return static_cast<unsigned>(in.imm);
        default: return 1;
    }
}

template <Sh OP, unsigned S, OpKind K0>
ExecStatus shift_op(Cpu& c, const Insn& in) {
    using T = uint_t<S>;
    const unsigned cnt = raw_count(c, in, 1) & count_mask<S>();
    T a;
    uint64_t ea = 0;
    if constexpr (K0 == OpKind::Reg) {
        a = get_reg<S>(c, in.r[0]);
    } else {
        ea = effective_address(c, in);
        if (!read_mem(c, in.seg, ea, a)) return ExecStatus::Fault;
        if (cnt == 0) return ExecStatus::Next;
        if (!probe_write_mem(c, in.seg, ea, S)) return ExecStatus::Fault;
    }
    if (cnt == 0) {
        set_reg<S>(c, in.r[0], a);  // 32-bit: zero-extends
        return ExecStatus::Next;
    }
    const uint64_t cf_in = (OP == Sh::Rcl || OP == Sh::Rcr) ? lazy_cf(c.s.lf, c.s.rflags) : 0;
    const ShiftOut o = shift<OP, S>(a, cnt, cf_in);
    if constexpr (K0 == OpKind::Reg) {
        set_reg<S>(c, in.r[0], static_cast<T>(o.value));
    } else {
        if (!write_mem(c, in.seg, ea, static_cast<T>(o.value))) return ExecStatus::Fault;
    }
    if (o.mask) set_status_flags(c, o.mask, o.flags);
    return ExecStatus::Next;
}

// SHLD/SHRD dst, src, count (APM Vol 3, "SHLD", "SHRD"): dst shifted, vacated bits filled from
// src. A count larger than a 16-bit operand is undefined; see the header comment.
template <bool LEFT, unsigned S, OpKind K0>
ExecStatus shxd(Cpu& c, const Insn& in) {
    using T = uint_t<S>;
    constexpr unsigned W = S * 8;
    const unsigned cnt = raw_count(c, in, 2) & count_mask<S>();
    T a;
    uint64_t ea = 0;
    if constexpr (K0 == OpKind::Reg) {
        a = get_reg<S>(c, in.r[0]);
    } else {
        ea = effective_address(c, in);
        if (!read_mem(c, in.seg, ea, a)) return ExecStatus::Fault;
        if (cnt == 0) return ExecStatus::Next;
        if (!probe_write_mem(c, in.seg, ea, S)) return ExecStatus::Fault;
    }
    if (cnt == 0) {
        set_reg<S>(c, in.r[0], a);
        return ExecStatus::Next;
    }
    const T b = get_reg<S>(c, in.r[1]);
    uint64_t r, cf;
    if constexpr (W == 16) {
        // The 48-bit value dst:src:dst covers every count up to 31.
        const uint64_t v = (uint64_t{a} << 32) | (uint64_t{b} << 16) | a;
        if constexpr (LEFT) {
            r = (v << cnt) >> 32 & 0xffff;
            cf = (v >> (48 - cnt)) & 1;
        } else {
            r = (v >> cnt) & 0xffff;
            cf = (v >> (cnt - 1)) & 1;
        }
    } else {
        if constexpr (LEFT) {
            const u128 v = (u128{a} << W) | b;
            r = static_cast<uint64_t>((v << cnt) >> W) & base::size_mask(S);
            cf = static_cast<uint64_t>(v >> (2 * W - cnt)) & 1;
        } else {
            const u128 v = (u128{b} << W) | a;
            r = static_cast<uint64_t>(v >> cnt) & base::size_mask(S);
            cf = static_cast<uint64_t>(v >> (cnt - 1)) & 1;
        }
    }
    const uint64_t of = LEFT ? msb<S>(r) ^ cf : msb<S>(r) ^ ((r >> (W - 2)) & 1);
    if constexpr (K0 == OpKind::Reg) {
        set_reg<S>(c, in.r[0], static_cast<T>(r));
    } else {
        if (!write_mem(c, in.seg, ea, static_cast<T>(r))) return ExecStatus::Fault;
    }
    set_status_flags(c, STATUS, pf_zf_sf(r, S) | (cf ? CF : 0) | (of ? OF : 0));
    return ExecStatus::Next;
}

template <Sh OP, unsigned S>
Handler pick_sh(bool mem) {
    return mem ? &shift_op<OP, S, OpKind::Mem> : &shift_op<OP, S, OpKind::Reg>;
}

template <Sh OP>
Handler bind_sh(const Insn& in) {
    const bool mem = in.kind(0) == OpKind::Mem;
    if (!mem && in.kind(0) != OpKind::Reg) return nullptr;
    return by_size<1, 2, 4, 8>(in.opsz[0], [mem]<unsigned S>() { return pick_sh<OP, S>(mem); });
}

template <bool LEFT, unsigned S>
Handler pick_shxd(bool mem) {
    return mem ? &shxd<LEFT, S, OpKind::Mem> : &shxd<LEFT, S, OpKind::Reg>;
}

template <bool LEFT>
Handler bind_shxd(const Insn& in) {
    const bool mem = in.kind(0) == OpKind::Mem;
    if ((!mem && in.kind(0) != OpKind::Reg) || in.kind(1) != OpKind::Reg) return nullptr;
    return by_size<2, 4, 8>(in.opsz[0], [mem]<unsigned S>() { return pick_shxd<LEFT, S>(mem); });
}

}  // namespace

Handler bind_shift(const Insn& in) {
    switch (in.mnemonic) {
        case ZYDIS_MNEMONIC_SHL: return bind_sh<Sh::Shl>(in);
        case ZYDIS_MNEMONIC_SHR: return bind_sh<Sh::Shr>(in);
        case ZYDIS_MNEMONIC_SAR: return bind_sh<Sh::Sar>(in);
        case ZYDIS_MNEMONIC_ROL: return bind_sh<Sh::Rol>(in);
        case ZYDIS_MNEMONIC_ROR: return bind_sh<Sh::Ror>(in);
        case ZYDIS_MNEMONIC_RCL: return bind_sh<Sh::Rcl>(in);
        case ZYDIS_MNEMONIC_RCR: return bind_sh<Sh::Rcr>(in);
        case ZYDIS_MNEMONIC_SHLD: return bind_shxd<true>(in);
        case ZYDIS_MNEMONIC_SHRD: return bind_shxd<false>(in);
        default: return nullptr;
    }
}

}  // namespace vx86::cpu
