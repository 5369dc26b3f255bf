// Shift and rotate family: SHL/SAL, SHR, SAR, ROL, ROR, RCL, RCR, SHLD, SHRD (AMD APM Vol 3).
// Undefined results, as vx86 defines them (matching what QEMU TCG computes, so the QEMU oracle
// agrees): OF for counts > 1 uses the count-1 formula; AF is cleared by SHL/SHR/SAR/SHLD/SHRD;
// SHLD/SHRD with a 16-bit operand and a count of 17..31 shift through the 32-bit value dst:src.
// A masked count of zero changes neither flags nor the destination.
#include <Zydis/Zydis.h>

#include "cpu/exec/families.h"
#include "cpu/exec/operands.h"

namespace vx86::cpu {

namespace {

using namespace arch::Rflags;

enum class Sh : uint8_t { Shl, Shr, Sar, Rol, Ror, Rcl, Rcr };

template <unsigned S>
constexpr unsigned count_mask() {
    return S == 8 ? 0x3f : 0x1f;
}

template <unsigned S>
uint64_t msb(uint64_t v) {
    return (v >> (S * 8 - 1)) & 1;
}

// Returns the new value and sets `flags`/`mask` to the status bits it defines.
template <Sh OP, unsigned S>
uint64_t shift(uint64_t a, unsigned cnt, uint64_t cf_in, uint64_t& flags, uint64_t& mask) {
    constexpr unsigned W = S * 8;
    const uint64_t m = base::size_mask(S);
    a &= m;
    uint64_t r = 0, cf = 0, of = 0;
    switch (OP) {
        case Sh::Shl:
            r = cnt >= W ? 0 : (a << cnt) & m;
            cf = cnt > W ? 0 : (a >> (W - cnt)) & 1;
            of = msb<S>(r) ^ cf;
            flags = pf_zf_sf(r, S) | (cf ? CF : 0) | (of ? OF : 0);
            mask = STATUS;
            return r;
        case Sh::Shr:
            r = cnt >= W ? 0 : a >> cnt;
            cf = cnt > W ? 0 : (a >> (cnt - 1)) & 1;
            of = msb<S>(a) ^ msb<S>(r);
            flags = pf_zf_sf(r, S) | (cf ? CF : 0) | (of ? OF : 0);
            mask = STATUS;
            return r;
        case Sh::Sar: {
            const int64_t sa = base::sign_extend(a, W);
            r = static_cast<uint64_t>(sa >> (cnt >= W ? W - 1 : cnt)) & m;
            cf = static_cast<uint64_t>(sa >> (cnt > W ? W - 1 : cnt - 1)) & 1;
            flags = pf_zf_sf(r, S) | (cf ? CF : 0);
            mask = STATUS;
            return r;
        }
        case Sh::Rol: {
            const unsigned k = cnt % W;
            r = k ? ((a << k) | (a >> (W - k))) & m : a;
            cf = r & 1;
            of = msb<S>(r) ^ cf;
            flags = (cf ? CF : 0) | (of ? OF : 0);
            mask = CF | OF;
            return r;
        }
        case Sh::Ror: {
            const unsigned k = cnt % W;
            r = k ? ((a >> k) | (a << (W - k))) & m : a;
            cf = msb<S>(r);
            of = cf ^ ((r >> (W - 2)) & 1);
            flags = (cf ? CF : 0) | (of ? OF : 0);
            mask = CF | OF;
            return r;
        }
        case Sh::Rcl:
        case Sh::Rcr: {
            // Rotate through carry: W+1 bits; 8/16-bit counts are taken modulo 9/17.
            const unsigned k = (W < 32) ? cnt % (W + 1) : cnt;
            unsigned __int128 v = (static_cast<unsigned __int128>(cf_in) << W) | a;
            const unsigned span = W + 1;
            const unsigned __int128 full = (static_cast<unsigned __int128>(1) << span) - 1;
            if (k) {
                v = OP == Sh::Rcl ? ((v << k) | (v >> (span - k))) & full
                                  : ((v >> k) | (v << (span - k))) & full;
            }
            r = static_cast<uint64_t>(v) & m;
            cf = static_cast<uint64_t>(v >> W) & 1;
            of = OP == Sh::Rcl ? msb<S>(r) ^ cf : msb<S>(r) ^ ((r >> (W - 2)) & 1);
            flags = (cf ? CF : 0) | (of ? OF : 0);
            mask = CF | OF;
            return r;
        }
    }
    return a;
}

template <Sh OP, unsigned S, OpKind K0>
ExecStatus shift_op(Cpu& c, const Insn& in) {
    using T = uint_t<S>;
    unsigned cnt = (in.kind(1) == OpKind::Reg ? get_reg<1>(c, in.r[1]) : static_cast<unsigned>(in.imm)) &
                   count_mask<S>();
    T a;
    uint64_t ea = 0;
    if constexpr (K0 == OpKind::Reg) {
        a = get_reg<S>(c, in.r[0]);
    } else {
        ea = effective_address(c, in);
        if (!read_mem(c, in.seg, ea, a)) return ExecStatus::Fault;
        if (cnt && !probe_write_mem(c, in.seg, ea, S)) return ExecStatus::Fault;
    }
    if (cnt == 0) return ExecStatus::Next;
    uint64_t flags = 0, mask = 0;
    const uint64_t cf_in = (OP == Sh::Rcl || OP == Sh::Rcr) ? lazy_cf(c.s.lf, c.s.rflags) : 0;
    const T r = static_cast<T>(shift<OP, S>(a, cnt, cf_in, flags, mask));
    if constexpr (K0 == OpKind::Reg) {
        set_reg<S>(c, in.r[0], r);
    } else {
        if (!write_mem(c, in.seg, ea, r)) return ExecStatus::Fault;
    }
    set_status_flags(c, mask, flags);
    return ExecStatus::Next;
}

// SHLD/SHRD dst, src, count (APM Vol 3, "SHLD", "SHRD").
template <bool LEFT, unsigned S, OpKind K0>
ExecStatus shxd(Cpu& c, const Insn& in) {
    using T = uint_t<S>;
    constexpr unsigned W = S * 8;
    const unsigned cnt = (in.kind(2) == OpKind::Reg ? get_reg<1>(c, in.r[2]) : static_cast<unsigned>(in.imm)) &
                         count_mask<S>();
    T a;
    uint64_t ea = 0;
    if constexpr (K0 == OpKind::Reg) {
        a = get_reg<S>(c, in.r[0]);
    } else {
        ea = effective_address(c, in);
        if (!read_mem(c, in.seg, ea, a)) return ExecStatus::Fault;
        if (cnt && !probe_write_mem(c, in.seg, ea, S)) return ExecStatus::Fault;
    }
    if (cnt == 0) return ExecStatus::Next;
    const T b = get_reg<S>(c, in.r[1]);
    uint64_t r, cf;
    if constexpr (W == 16) {
        // Shift the 32-bit value dst:src (SHLD) or src:dst (SHRD); counts of 17..31 reach into
        // the second copy of the source, as QEMU computes it.
        if constexpr (LEFT) {
            const uint64_t v = (uint64_t{a} << 32) | (uint64_t{b} << 16) | b;
            r = (v << cnt) >> 32 & 0xffff;
            cf = (v >> (48 - cnt)) & 1;
        } else {
            const uint64_t v = (uint64_t{b} << 32) | (uint64_t{b} << 16) | a;
            r = (v >> cnt) & 0xffff;
            cf = (v >> (cnt - 1)) & 1;
        }
    } else {
        const unsigned __int128 v = LEFT ? (static_cast<unsigned __int128>(a) << W) | b
                                         : (static_cast<unsigned __int128>(b) << W) | a;
        if constexpr (LEFT) {
            r = static_cast<uint64_t>((v << cnt) >> W) & base::size_mask(S);
            cf = static_cast<uint64_t>(v >> (2 * W - cnt)) & 1;
        } else {
            r = static_cast<uint64_t>(v >> cnt) & base::size_mask(S);
            cf = static_cast<uint64_t>(v >> (cnt - 1)) & 1;
        }
    }
    const uint64_t of = msb<S>(r) ^ msb<S>(a);
    if constexpr (K0 == OpKind::Reg) {
        set_reg<S>(c, in.r[0], static_cast<T>(r));
    } else {
        if (!write_mem(c, in.seg, ea, static_cast<T>(r))) return ExecStatus::Fault;
    }
    set_status_flags(c, STATUS, pf_zf_sf(r, S) | (cf ? CF : 0) | (of ? OF : 0));
    return ExecStatus::Next;
}

template <Sh OP>
Handler bind_sh(const Insn& in) {
    const bool mem = in.kind(0) == OpKind::Mem;
    if (!mem && in.kind(0) != OpKind::Reg) return nullptr;
    switch (in.opsz[0]) {
        case 1: return mem ? &shift_op<OP, 1, OpKind::Mem> : &shift_op<OP, 1, OpKind::Reg>;
        case 2: return mem ? &shift_op<OP, 2, OpKind::Mem> : &shift_op<OP, 2, OpKind::Reg>;
        case 4: return mem ? &shift_op<OP, 4, OpKind::Mem> : &shift_op<OP, 4, OpKind::Reg>;
        case 8: return mem ? &shift_op<OP, 8, OpKind::Mem> : &shift_op<OP, 8, OpKind::Reg>;
        default: return nullptr;
    }
}

template <bool LEFT>
Handler bind_shxd(const Insn& in) {
    const bool mem = in.kind(0) == OpKind::Mem;
    switch (in.opsz[0]) {
        case 2: return mem ? &shxd<LEFT, 2, OpKind::Mem> : &shxd<LEFT, 2, OpKind::Reg>;
        case 4: return mem ? &shxd<LEFT, 4, OpKind::Mem> : &shxd<LEFT, 4, OpKind::Reg>;
        case 8: return mem ? &shxd<LEFT, 8, OpKind::Mem> : &shxd<LEFT, 8, OpKind::Reg>;
        default: return nullptr;
    }
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
