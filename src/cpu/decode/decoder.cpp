// Zydis -> Insn translation: register operands become register-file slots, memory operands become
// base/index/scale/displacement with the effective segment, immediates are sign-extended once.
#include "cpu/decode/decoder.h"

#include "cpu/state/cpu_state.h"

namespace vx86::cpu {

namespace {

// Register-file slot for a general-purpose register operand (see Insn::r).
uint8_t gpr_slot(ZydisRegister r) {
    if (r >= ZYDIS_REGISTER_AL && r <= ZYDIS_REGISTER_BL) return (r - ZYDIS_REGISTER_AL) * 8;
    if (r >= ZYDIS_REGISTER_AH && r <= ZYDIS_REGISTER_BH) return (r - ZYDIS_REGISTER_AH) * 8 + 1;
    if (r >= ZYDIS_REGISTER_SPL && r <= ZYDIS_REGISTER_DIL) return (4 + r - ZYDIS_REGISTER_SPL) * 8;
    if (r >= ZYDIS_REGISTER_R8B && r <= ZYDIS_REGISTER_R15B) return (8 + r - ZYDIS_REGISTER_R8B) * 8;
    return static_cast<uint8_t>(ZydisRegisterGetId(r));
}

// Slot for a register used in address arithmetic.
uint8_t addr_slot(ZydisRegister r) {
    if (r == ZYDIS_REGISTER_NONE) return kZeroReg;
    if (r == ZYDIS_REGISTER_RIP || r == ZYDIS_REGISTER_EIP || r == ZYDIS_REGISTER_IP) return kRipReg;
    return static_cast<uint8_t>(ZydisRegisterGetId(r));
}

uint8_t seg_slot(ZydisRegister r) {
    switch (r) {
        case ZYDIS_REGISTER_ES: return ES;
        case ZYDIS_REGISTER_CS: return CS;
        case ZYDIS_REGISTER_SS: return SS;
        case ZYDIS_REGISTER_FS: return FS;
        case ZYDIS_REGISTER_GS: return GS;
        default: return DS;
    }
}

SimdClass simd_class(ZydisISAExt ext) {
    switch (ext) {
        case ZYDIS_ISA_EXT_X87: return SimdClass::X87;
        case ZYDIS_ISA_EXT_MMX:
        case ZYDIS_ISA_EXT_AMD3DNOW: return SimdClass::Mmx;
        case ZYDIS_ISA_EXT_SSE:
        case ZYDIS_ISA_EXT_SSE2:
        case ZYDIS_ISA_EXT_SSE3:
        case ZYDIS_ISA_EXT_SSSE3:
        case ZYDIS_ISA_EXT_SSE4:
        case ZYDIS_ISA_EXT_SSE4A: return SimdClass::Sse;
        case ZYDIS_ISA_EXT_AVX:
        case ZYDIS_ISA_EXT_AVX2:
        case ZYDIS_ISA_EXT_AVX2GATHER:
        case ZYDIS_ISA_EXT_AVX512EVEX:
        case ZYDIS_ISA_EXT_AVX512VEX:
        case ZYDIS_ISA_EXT_AVXAES:
        case ZYDIS_ISA_EXT_AVX_VNNI:
        case ZYDIS_ISA_EXT_F16C:
        case ZYDIS_ISA_EXT_FMA:
        case ZYDIS_ISA_EXT_FMA4:
        case ZYDIS_ISA_EXT_XOP: return SimdClass::Avx;
        default: return SimdClass::None;
    }
}

uint64_t addr_mask(unsigned width_bits) {
    return width_bits == 16 ? 0xffff : width_bits == 32 ? 0xffffffff : ~uint64_t{0};
}

}  // namespace

Decoder::Decoder() {
    ZydisDecoderInit(&m_dec16, ZYDIS_MACHINE_MODE_LEGACY_16, ZYDIS_STACK_WIDTH_16);
    ZydisDecoderInit(&m_dec32, ZYDIS_MACHINE_MODE_LEGACY_32, ZYDIS_STACK_WIDTH_32);
    ZydisDecoderInit(&m_dec64, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
    // vx86 models an AMD CPU: 66-prefixed near branches in 64-bit mode use 16-bit operands
    // (APM Vol 3, 1.2.5 "Operand-Size Override Prefix" and the branch notes there).
    ZydisDecoderEnableMode(&m_dec64, ZYDIS_DECODER_MODE_AMD_BRANCHES, ZYAN_TRUE);
    configure(true, true);
}

void Decoder::configure(bool lzcnt, bool tzcnt) {
    for (ZydisDecoder* d : {&m_dec16, &m_dec32, &m_dec64}) {
        ZydisDecoderEnableMode(d, ZYDIS_DECODER_MODE_LZCNT, lzcnt ? ZYAN_TRUE : ZYAN_FALSE);
        ZydisDecoderEnableMode(d, ZYDIS_DECODER_MODE_TZCNT, tzcnt ? ZYAN_TRUE : ZYAN_FALSE);
    }
}

DecodeResult Decoder::decode(const uint8_t* bytes, size_t n, unsigned code_size, Insn& out,
                             ZydisDecodedInstruction& zi, ZydisDecodedOperand* zo) {
    const ZydisDecoder* d = code_size == 8 ? &m_dec64 : code_size == 4 ? &m_dec32 : &m_dec16;
    const ZyanStatus st = ZydisDecoderDecodeFull(d, bytes, n, &zi, zo);
    if (st == ZYDIS_STATUS_NO_MORE_DATA) return n >= ZYDIS_MAX_INSTRUCTION_LENGTH
                                                    ? DecodeResult::TooLong
                                                    : DecodeResult::NeedMoreBytes;
    if (st == ZYDIS_STATUS_INSTRUCTION_TOO_LONG) return DecodeResult::TooLong;
    if (!ZYAN_SUCCESS(st)) return DecodeResult::Invalid;

    out = Insn{};
    out.mnemonic = static_cast<uint16_t>(zi.mnemonic);
    out.len = zi.length;
    out.osize = static_cast<uint8_t>(zi.operand_width / 8);
    out.asize = static_cast<uint8_t>(zi.address_width / 8);
    out.amask = addr_mask(zi.address_width);
    if (zi.attributes & (ZYDIS_ATTRIB_HAS_REP | ZYDIS_ATTRIB_HAS_REPE)) out.prefix |= Prefix::REP;
    if (zi.attributes & ZYDIS_ATTRIB_HAS_REPNE) out.prefix |= Prefix::REPNE;
    if (zi.attributes & ZYDIS_ATTRIB_HAS_LOCK) out.prefix |= Prefix::LOCK;
    if (zi.attributes & ZYDIS_ATTRIB_HAS_OPERANDSIZE) out.prefix |= Prefix::OPSIZE;
    if (zi.attributes & ZYDIS_ATTRIB_HAS_SEGMENT) {
        out.prefix |= Prefix::SEG_OVERRIDE;
        if (zi.attributes & ZYDIS_ATTRIB_HAS_SEGMENT_ES) out.sego = ES;
        if (zi.attributes & ZYDIS_ATTRIB_HAS_SEGMENT_CS) out.sego = CS;
        if (zi.attributes & ZYDIS_ATTRIB_HAS_SEGMENT_SS) out.sego = SS;
        if (zi.attributes & ZYDIS_ATTRIB_HAS_SEGMENT_FS) out.sego = FS;
        if (zi.attributes & ZYDIS_ATTRIB_HAS_SEGMENT_GS) out.sego = GS;
    }
    out.seg = out.sego;
    if (zi.meta.branch_type == ZYDIS_BRANCH_TYPE_FAR) out.prefix |= Prefix::FAR;
    // POPCNT is an integer instruction that Zydis files under the SSE4 extension.
    if (const SimdClass sc = zi.meta.isa_set == ZYDIS_ISA_SET_POPCNT ? SimdClass::None
                                                                      : simd_class(zi.meta.isa_ext);
        sc != SimdClass::None) {
        out.simd = static_cast<uint8_t>(sc);
        return DecodeResult::Ok;  // operands are irrelevant: the instruction only faults
    }

    unsigned k = 0;
    bool have_imm = false;
    bool have_mem = false;
    for (unsigned i = 0; i < zi.operand_count && k < 3; ++i) {
        const ZydisDecodedOperand& o = zo[i];
        if (o.visibility == ZYDIS_OPERAND_VISIBILITY_HIDDEN) continue;
        OpKind kind = OpKind::None;
        switch (o.type) {
            case ZYDIS_OPERAND_TYPE_REGISTER: {
                const ZydisRegisterClass c = ZydisRegisterGetClass(o.reg.value);
                if (c == ZYDIS_REGCLASS_GPR8 || c == ZYDIS_REGCLASS_GPR16 ||
                    c == ZYDIS_REGCLASS_GPR32 || c == ZYDIS_REGCLASS_GPR64) {
                    kind = OpKind::Reg;
                    out.r[k] = gpr_slot(o.reg.value);
                } else if (c == ZYDIS_REGCLASS_SEGMENT) {
                    kind = OpKind::SReg;
                    out.r[k] = seg_slot(o.reg.value);
                } else if (c == ZYDIS_REGCLASS_CONTROL) {
                    kind = OpKind::CReg;
                    out.r[k] = static_cast<uint8_t>(ZydisRegisterGetId(o.reg.value));
                } else if (c == ZYDIS_REGCLASS_DEBUG) {
                    kind = OpKind::DReg;
                    out.r[k] = static_cast<uint8_t>(ZydisRegisterGetId(o.reg.value));
                } else if (c == ZYDIS_REGCLASS_FLAGS || c == ZYDIS_REGCLASS_IP) {
                    continue;  // implicit in the handler
                } else {
                    return DecodeResult::Invalid;  // x87/MMX/SSE: not in the CPU model
                }
                break;
            }
            case ZYDIS_OPERAND_TYPE_MEMORY:
                if (have_mem) {  // string instructions: the first memory operand is kept
                    kind = OpKind::Mem;
                    break;
                }
                have_mem = true;
                kind = OpKind::Mem;
                out.base = addr_slot(o.mem.base);
                out.index = addr_slot(o.mem.index);
                out.scale = o.mem.scale == 8 ? 3 : o.mem.scale == 4 ? 2 : o.mem.scale == 2 ? 1 : 0;
                out.disp = o.mem.disp.value;
                out.seg = seg_slot(o.mem.segment);
                break;
            case ZYDIS_OPERAND_TYPE_IMMEDIATE:
                kind = OpKind::Imm;
                if (!have_imm) {
                    out.imm = o.imm.is_signed ? static_cast<uint64_t>(o.imm.value.s) : o.imm.value.u;
                    have_imm = true;
                } else {
                    out.imm2 = static_cast<uint16_t>(o.imm.value.u);
                }
                break;
            case ZYDIS_OPERAND_TYPE_POINTER:
                kind = OpKind::Ptr;
                out.imm = o.ptr.offset;
                out.imm2 = o.ptr.segment;
                break;
            default: continue;
        }
        out.opsz[k] = static_cast<uint8_t>(o.size / 8);
        out.form |= static_cast<uint16_t>(static_cast<unsigned>(kind) << (3 * k));
        ++k;
    }
    return DecodeResult::Ok;
}

}  // namespace vx86::cpu
