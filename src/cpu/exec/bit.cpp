// Bit family: BT/BTS/BTR/BTC, BSF/BSR, LZCNT/TZCNT/POPCNT and BMI1 (ANDN, BEXTR, BLSI, BLSMSK,
// BLSR), after the instruction pages of AMD APM Vol 3.
//
// Flags the APM leaves undefined, and what vx86 does with them (AMD's documented behaviour first;
// where AMD publishes nothing, vx86 follows Bochs, which keeps the flag or clears it):
//   BT/BTS/BTR/BTC   OF, SF, AF, PF undefined: unchanged (only CF is written).
//   BSF/BSR          source 0: ZF = 1 and the destination is unchanged, all 64 bits of it (AMD
//                    documents this); CF, OF, SF, AF, PF unchanged.
//                    source != 0: ZF = 0; CF = OF = SF = AF = 0, PF = parity of the bit index.
//   LZCNT/TZCNT      OF, SF, AF, PF undefined: unchanged (CF and ZF are written).
//   POPCNT           fully defined: ZF = (source == 0), the other five cleared.
//   ANDN             AF, PF undefined: AF cleared, PF unchanged.
//   BEXTR            AF, SF, PF undefined: AF and SF cleared, PF unchanged.
//   BLSI/BLSMSK/BLSR AF, PF undefined: AF cleared, PF unchanged.
#include <Zydis/Zydis.h>

#include <bit>

#include "cpu/exec/families.h"
#include "cpu/exec/operands.h"

namespace vx86::cpu {

namespace {

using namespace arch::Rflags;

enum class Bt : uint8_t { Test, Set, Reset, Complement };

constexpr bool bt_writes(Bt op) { return op != Bt::Test; }

template <Bt OP, typename T>
T bt_apply(T v, unsigned bit) {
    const T m = static_cast<T>(T{1} << bit);
    switch (OP) {
        case Bt::Test: return v;
        case Bt::Set: return static_cast<T>(v | m);
        case Bt::Reset: return static_cast<T>(v & ~m);
        case Bt::Complement: return static_cast<T>(v ^ m);
    }
    return v;
}

// BTx r/m, reg|imm8. With a memory operand and a register offset the offset is a signed
// bit string index that may address memory outside the operand (APM Vol 3, "BT": "the bit
// offset ... selects a bit ... relative to the base address"); an immediate offset and a
// register destination take the offset modulo the operand width.
template <Bt OP, unsigned S, OpKind K0, OpKind K1>
ExecStatus bt(Cpu& c, const Insn& in) {
    using T = uint_t<S>;
    constexpr unsigned W = S * 8;
    const uint64_t raw = K1 == OpKind::Reg ? get_reg<S>(c, in.r[1]) : in.imm;
    T v;
    unsigned bit;
    uint64_t ea = 0;
    if constexpr (K0 == OpKind::Reg) {
        bit = static_cast<unsigned>(raw) & (W - 1);
        v = get_reg<S>(c, in.r[0]);
    } else {
        ea = effective_address(c, in);
        if constexpr (K1 == OpKind::Reg) {
            const int64_t off = base::sign_extend(raw, W);
            ea = (ea + static_cast<uint64_t>((off >> std::countr_zero(W)) * int64_t{S})) & in.amask;
        }
        bit = static_cast<unsigned>(raw) & (W - 1);
        if (!read_mem(c, in.seg, ea, v)) return ExecStatus::Fault;
        if constexpr (bt_writes(OP)) {
            if (!probe_write_mem(c, in.seg, ea, S)) return ExecStatus::Fault;
        }
    }
    const bool cf = (v >> bit) & 1;
    if constexpr (bt_writes(OP)) {
        const T r = bt_apply<OP>(v, bit);
        if constexpr (K0 == OpKind::Reg) {
            set_reg<S>(c, in.r[0], r);
        } else {
            if (!write_mem(c, in.seg, ea, r)) return ExecStatus::Fault;
        }
    }
    set_status_flags(c, CF, cf ? CF : 0);
    return ExecStatus::Next;
}

enum class Scan : uint8_t { Bsf, Bsr, Lzcnt, Tzcnt, Popcnt };

// BSF/BSR/LZCNT/TZCNT/POPCNT reg, r/m.
template <Scan OP, unsigned S>
ExecStatus scan(Cpu& c, const Insn& in) {
    using T = uint_t<S>;
    constexpr unsigned W = S * 8;
    T v;
    if (!read_op<S>(c, in, 1, v)) return ExecStatus::Fault;
    switch (OP) {
        case Scan::Bsf:
        case Scan::Bsr: {
            if (v == 0) {
                // APM Vol 3, "BSF": "If the second operand contains 0, the instruction sets ZF
                // to 1 and does not change the contents of the destination register."
                set_status_flags(c, ZF, ZF);
                return ExecStatus::Next;
            }
            const unsigned idx = OP == Scan::Bsf
                                     ? static_cast<unsigned>(std::countr_zero(v))
                                     : W - 1 - static_cast<unsigned>(std::countl_zero(v));
            set_reg<S>(c, in.r[0], static_cast<T>(idx));
            set_status_flags(c, STATUS, pf_zf_sf(idx, S) & PF);
            return ExecStatus::Next;
        }
        case Scan::Lzcnt:
        case Scan::Tzcnt: {
            const unsigned n = OP == Scan::Lzcnt ? static_cast<unsigned>(std::countl_zero(v))
                                                 : static_cast<unsigned>(std::countr_zero(v));
            set_reg<S>(c, in.r[0], static_cast<T>(n));
            set_status_flags(c, CF | ZF, (v == 0 ? CF : 0) | (n == 0 ? ZF : 0));
            return ExecStatus::Next;
        }
        case Scan::Popcnt: {
            if (!c.features.popcnt) return raise_ud(c);
            const unsigned n = static_cast<unsigned>(std::popcount(v));
            set_reg<S>(c, in.r[0], static_cast<T>(n));
            set_status_flags(c, STATUS, v == 0 ? ZF : 0);
            return ExecStatus::Next;
        }
    }
    return ExecStatus::Next;
}

enum class Bmi : uint8_t { Andn, Bextr, Blsi, Blsmsk, Blsr };

// BMI1, VEX-encoded; Zydis operand order: ANDN dst, vvvv, r/m; BEXTR dst, r/m, vvvv;
// BLSx vvvv(dst), r/m. Only 32- and 64-bit forms exist (VEX.W selects).
template <Bmi OP, unsigned S>
ExecStatus bmi(Cpu& c, const Insn& in) {
    using T = uint_t<S>;
    constexpr unsigned W = S * 8;
    if (!c.features.bmi1) return raise_ud(c);
    T src;
    if (!read_op<S>(c, in, OP == Bmi::Andn ? 2 : 1, src)) return ExecStatus::Fault;
    T r = 0;
    uint64_t f = 0;
    const uint64_t keep_pf = c.s.get_rflags() & PF;
    switch (OP) {
        case Bmi::Andn: {
            r = static_cast<T>(~get_reg<S>(c, in.r[1]) & src);
            f = (pf_zf_sf(r, S) & (ZF | SF)) | keep_pf;
            break;
        }
        case Bmi::Bextr: {
            // APM Vol 3, "BEXTR": start = control[7:0], length = control[15:8]; bits beyond the
            // operand read as zero.
            const uint64_t ctl = get_reg<S>(c, in.r[2]);
            const unsigned start = ctl & 0xff, len = (ctl >> 8) & 0xff;
            uint64_t x = start >= W ? 0 : uint64_t{src} >> start;
            if (len < 64) x &= (uint64_t{1} << len) - 1;
            r = static_cast<T>(x);
            f = (r == 0 ? ZF : 0) | keep_pf;
            break;
        }
        case Bmi::Blsi:
            r = static_cast<T>(src & (T{0} - src));
            f = (pf_zf_sf(r, S) & (ZF | SF)) | (src != 0 ? CF : 0) | keep_pf;
            break;
        case Bmi::Blsmsk:
            r = static_cast<T>(src ^ (src - 1));
            f = (pf_zf_sf(r, S) & (ZF | SF)) | (src == 0 ? CF : 0) | keep_pf;
            break;
        case Bmi::Blsr:
            r = static_cast<T>(src & (src - 1));
            f = (pf_zf_sf(r, S) & (ZF | SF)) | (src == 0 ? CF : 0) | keep_pf;
            break;
    }
    set_reg<S>(c, in.r[0], r);
    set_status_flags(c, STATUS, f);
    return ExecStatus::Next;
}

template <Bt OP, unsigned S>
Handler pick_bt(const Insn& in) {
    const OpKind k0 = in.kind(0), k1 = in.kind(1);
    if (k0 == OpKind::Reg && k1 == OpKind::Reg) return &bt<OP, S, OpKind::Reg, OpKind::Reg>;
    if (k0 == OpKind::Reg && k1 == OpKind::Imm) return &bt<OP, S, OpKind::Reg, OpKind::Imm>;
    if (k0 == OpKind::Mem && k1 == OpKind::Reg) return &bt<OP, S, OpKind::Mem, OpKind::Reg>;
    if (k0 == OpKind::Mem && k1 == OpKind::Imm) return &bt<OP, S, OpKind::Mem, OpKind::Imm>;
    return nullptr;
}

template <Bt OP>
Handler bind_bt(const Insn& in) {
    return by_size<2, 4, 8>(in.opsz[0], [&]<unsigned S>() { return pick_bt<OP, S>(in); });
}

template <Scan OP>
Handler bind_scan(const Insn& in) {
    if (in.kind(0) != OpKind::Reg) return nullptr;
    return by_size<2, 4, 8>(in.opsz[0], []<unsigned S>() { return &scan<OP, S>; });
}

template <Bmi OP>
Handler bind_bmi(const Insn& in) {
    if (in.kind(0) != OpKind::Reg) return nullptr;
    return by_size<4, 8>(in.opsz[0], []<unsigned S>() { return &bmi<OP, S>; });
}

}  // namespace

Handler bind_bit(const Insn& in) {
    switch (in.mnemonic) {
        case ZYDIS_MNEMONIC_BT: return bind_bt<Bt::Test>(in);
        case ZYDIS_MNEMONIC_BTS: return bind_bt<Bt::Set>(in);
        case ZYDIS_MNEMONIC_BTR: return bind_bt<Bt::Reset>(in);
        case ZYDIS_MNEMONIC_BTC: return bind_bt<Bt::Complement>(in);
        case ZYDIS_MNEMONIC_BSF: return bind_scan<Scan::Bsf>(in);
        case ZYDIS_MNEMONIC_BSR: return bind_scan<Scan::Bsr>(in);
        case ZYDIS_MNEMONIC_LZCNT: return bind_scan<Scan::Lzcnt>(in);
        case ZYDIS_MNEMONIC_TZCNT: return bind_scan<Scan::Tzcnt>(in);
        case ZYDIS_MNEMONIC_POPCNT: return bind_scan<Scan::Popcnt>(in);
        case ZYDIS_MNEMONIC_ANDN: return bind_bmi<Bmi::Andn>(in);
        case ZYDIS_MNEMONIC_BEXTR: return bind_bmi<Bmi::Bextr>(in);
        case ZYDIS_MNEMONIC_BLSI: return bind_bmi<Bmi::Blsi>(in);
        case ZYDIS_MNEMONIC_BLSMSK: return bind_bmi<Bmi::Blsmsk>(in);
        case ZYDIS_MNEMONIC_BLSR: return bind_bmi<Bmi::Blsr>(in);
        default: return nullptr;
    }
}

}  // namespace vx86::cpu
