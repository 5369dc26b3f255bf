// Decimal-adjust family: DAA, DAS, AAA, AAS, AAM, AAD (AMD APM Vol 3). All are invalid in
// 64-bit mode, where Zydis does not decode them, so they only ever run in legacy modes.
//
// Flags the APM leaves undefined, and what vx86 does with them (the P6-style results that Bochs
// validated against hardware; AMD publishes no different behaviour):
//   DAA/DAS  OF undefined: cleared.
//   AAA/AAS  OF, SF, ZF, PF undefined: OF cleared, SF/ZF/PF from the final AL (after AL &= 0Fh).
//            The +6/-6 adjustment is applied to all of AX (a carry or borrow out of AL reaches
//            AH), as every processor since the 80286 does.
//   AAM/AAD  OF, AF, CF undefined: cleared.
#include <Zydis/Zydis.h>

#include "cpu/exec/families.h"
#include "cpu/exec/operands.h"

namespace vx86::cpu {

namespace {

using namespace arch::Rflags;

uint8_t al(const Cpu& c) { return get_reg<1>(c, RAX * 8); }
void set_al(Cpu& c, uint8_t v) { set_reg<1>(c, RAX * 8, v); }

// SF, ZF, PF of AL plus the given CF/AF; OF cleared.
void set_bcd_flags(Cpu& c, uint8_t v, bool cf, bool af) {
    set_status_flags(c, STATUS, pf_zf_sf(v, 1) | (cf ? CF : 0) | (af ? AF : 0));
}

// APM Vol 3, "DAA" / "DAS": adjust AL after an 8-bit BCD addition or subtraction.
template <bool ADD>
ExecStatus decimal_adjust(Cpu& c, const Insn&) {
    const uint64_t f = c.s.get_rflags();
    const uint8_t old_al = al(c);
    const bool old_cf = f & CF;
    uint8_t v = old_al;
    bool cf = false, af = false;
    if ((old_al & 0x0f) > 9 || (f & AF)) {
        cf = old_cf || (ADD ? old_al > 0xf9 : old_al < 0x06);
        v = static_cast<uint8_t>(ADD ? v + 0x06 : v - 0x06);
        af = true;
    }
    if (old_al > 0x99 || old_cf) {
        v = static_cast<uint8_t>(ADD ? v + 0x60 : v - 0x60);
        cf = true;
    }
    set_al(c, v);
    set_bcd_flags(c, v, cf, af);
    return ExecStatus::Next;
}

// APM Vol 3, "AAA" / "AAS": adjust AX after an unpacked BCD addition or subtraction.
template <bool ADD>
ExecStatus ascii_adjust(Cpu& c, const Insn&) {
    const uint64_t f = c.s.get_rflags();
    uint16_t ax = get_reg<2>(c, RAX);
    const bool adjust = (ax & 0x0f) > 9 || (f & AF);
    if (adjust) ax = static_cast<uint16_t>(ADD ? ax + 0x106 : ax - 0x106);
    ax &= 0xff0f;
    set_reg<2>(c, RAX, ax);
    set_bcd_flags(c, static_cast<uint8_t>(ax), adjust, adjust);
    return ExecStatus::Next;
}

// APM Vol 3, "AAM": AH = AL / imm8, AL = AL % imm8; #DE when imm8 is 0.
ExecStatus aam(Cpu& c, const Insn& in) {
    const uint8_t base = static_cast<uint8_t>(in.imm);
    if (base == 0) return raise(c, arch::Vector::DE);
    const uint8_t v = al(c);
    const uint8_t lo = static_cast<uint8_t>(v % base);
    set_reg<2>(c, RAX, static_cast<uint16_t>((v / base) << 8 | lo));
    set_bcd_flags(c, lo, false, false);
    return ExecStatus::Next;
}

// APM Vol 3, "AAD": AL = AL + AH * imm8, AH = 0.
ExecStatus aad(Cpu& c, const Insn& in) {
    const uint16_t ax = get_reg<2>(c, RAX);
    const uint8_t v = static_cast<uint8_t>((ax & 0xff) + (ax >> 8) * static_cast<uint8_t>(in.imm));
    set_reg<2>(c, RAX, v);
    set_bcd_flags(c, v, false, false);
    return ExecStatus::Next;
}

}  // namespace

Handler bind_bcd(const Insn& in) {
    switch (in.mnemonic) {
        case ZYDIS_MNEMONIC_DAA: return &decimal_adjust<true>;
        case ZYDIS_MNEMONIC_DAS: return &decimal_adjust<false>;
        case ZYDIS_MNEMONIC_AAA: return &ascii_adjust<true>;
        case ZYDIS_MNEMONIC_AAS: return &ascii_adjust<false>;
        case ZYDIS_MNEMONIC_AAM: return &aam;
        case ZYDIS_MNEMONIC_AAD: return &aad;
        default: return nullptr;
    }
}

}  // namespace vx86::cpu
