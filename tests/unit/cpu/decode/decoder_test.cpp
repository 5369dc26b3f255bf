// Decoder: register slots (including AH..BH and REX byte registers), memory operand parts
// (RIP-relative, 16-bit addressing, 64-bit moffs), immediates, prefixes, and the error outcomes.
#include "cpu/decode/decoder.h"

#include <gtest/gtest.h>

#include <vector>

#include "cpu/state/cpu_state.h"

namespace vx86::cpu {
namespace {

struct Decoded {
    DecodeResult r;
    Insn in;
};

Decoded dec(std::vector<uint8_t> b, unsigned size = 8) {
    Decoder d;
    Decoded o{};
    ZydisDecodedInstruction zi;
    ZydisDecodedOperand zo[ZYDIS_MAX_OPERAND_COUNT];
    o.r = d.decode(b.data(), b.size(), size, o.in, zi, zo);
    return o;
}

TEST(Decoder, ByteRegistersBecomeRegisterFileByteOffsets) {
    auto a = dec({0x00, 0xe0}, 4);  // add al, ah
    ASSERT_EQ(a.r, DecodeResult::Ok);
    EXPECT_EQ(a.in.r[0], 0);      // AL: byte 0 of RAX
    EXPECT_EQ(a.in.r[1], 1);      // AH: byte 1 of RAX
    auto b = dec({0x40, 0x00, 0xe0});  // add al, spl (REX)
    EXPECT_EQ(b.in.r[1], RSP * 8);
    auto c = dec({0x45, 0x00, 0xc8});  // add r8b, r9b
    EXPECT_EQ(c.in.r[0], R8 * 8);
    EXPECT_EQ(c.in.r[1], R9 * 8);
    auto q = dec({0x4c, 0x01, 0xc8});  // add rax, r9
    EXPECT_EQ(q.in.r[1], R9);
    EXPECT_EQ(q.in.opsz[0], 8);
}

TEST(Decoder, MemoryOperands) {
    auto rip = dec({0x8b, 0x05, 0x10, 0x00, 0x00, 0x00});  // mov eax, [rip+0x10]
    EXPECT_EQ(rip.in.base, kRipReg);
    EXPECT_EQ(rip.in.index, kZeroReg);
    EXPECT_EQ(rip.in.disp, 0x10);
    EXPECT_EQ(rip.in.amask, ~uint64_t{0});
    auto sib = dec({0x8b, 0x44, 0x8b, 0xf8});  // mov eax, [rbx+rcx*4-8]
    EXPECT_EQ(sib.in.base, RBX);
    EXPECT_EQ(sib.in.index, RCX);
    EXPECT_EQ(sib.in.scale, 2);
    EXPECT_EQ(sib.in.disp, -8);
    auto bp16 = dec({0x8b, 0x42, 0x04}, 2);  // mov ax, [bp+si+4]: SS by default
    EXPECT_EQ(bp16.in.base, RBP);
    EXPECT_EQ(bp16.in.index, RSI);
    EXPECT_EQ(bp16.in.seg, SS);
    EXPECT_EQ(bp16.in.amask, 0xffffu);
    auto moffs = dec({0x48, 0xa1, 0, 0, 0, 0, 0x80, 0, 0, 0});  // mov rax, [0x8000000000]
    EXPECT_EQ(moffs.in.disp, 0x8000000000ll);
    EXPECT_EQ(moffs.in.base, kZeroReg);
    auto fs = dec({0x64, 0x8b, 0x03});  // mov eax, fs:[rbx]
    EXPECT_EQ(fs.in.seg, FS);
    EXPECT_TRUE(fs.in.prefix & Prefix::SEG_OVERRIDE);
}

TEST(Decoder, ImmediatesPrefixesAndForms) {
    auto imm = dec({0x48, 0x83, 0xc0, 0xff});  // add rax, -1
    EXPECT_EQ(imm.in.imm, ~uint64_t{0});
    EXPECT_EQ(imm.in.kind(1), OpKind::Imm);
    auto rep = dec({0xf3, 0xa4});  // rep movsb
    EXPECT_TRUE(rep.in.prefix & Prefix::REP);
    auto lock = dec({0xf0, 0x01, 0x03});  // lock add [rbx], eax
    EXPECT_TRUE(lock.in.prefix & Prefix::LOCK);
    EXPECT_EQ(lock.in.kind(0), OpKind::Mem);
    auto far = dec({0xea, 0x00, 0x10, 0x00, 0x00, 0x08, 0x00}, 4);  // jmp 0x8:0x1000
    EXPECT_TRUE(far.in.prefix & Prefix::FAR);
    EXPECT_EQ(far.in.imm, 0x1000u);
    EXPECT_EQ(far.in.imm2, 0x8);
    auto cr = dec({0x0f, 0x22, 0xd8});  // mov cr3, rax
    EXPECT_EQ(cr.in.kind(0), OpKind::CReg);
    EXPECT_EQ(cr.in.r[0], 3);
}

TEST(Decoder, OutcomesForBadAndPartialBytes) {
    EXPECT_EQ(dec({0x0f, 0xff}).r, DecodeResult::NeedMoreBytes);  // UD0 without its ModRM byte
    EXPECT_EQ(dec({0x0f, 0x04}).r, DecodeResult::Invalid);        // no such opcode
    EXPECT_EQ(dec({0x8b}).r, DecodeResult::NeedMoreBytes);
    std::vector<uint8_t> longer(15, 0x66);
    longer.push_back(0x90);
    EXPECT_EQ(dec(longer).r, DecodeResult::TooLong);
    EXPECT_EQ(dec({0x06}, 8).r, DecodeResult::Invalid);  // push es is invalid in 64-bit mode
}

TEST(Decoder, SimdIsClassifiedButPopcntIsInteger) {
    auto fninit = dec({0xdb, 0xe3});
    ASSERT_EQ(fninit.r, DecodeResult::Ok);
    EXPECT_EQ(fninit.in.simd, static_cast<uint8_t>(SimdClass::X87));
    auto sse = dec({0x0f, 0x28, 0xc1});  // movaps xmm0, xmm1
    EXPECT_EQ(sse.in.simd, static_cast<uint8_t>(SimdClass::Sse));
    auto popcnt = dec({0xf3, 0x0f, 0xb8, 0xc1});
    EXPECT_EQ(popcnt.in.simd, 0);
}

}  // namespace
}  // namespace vx86::cpu
