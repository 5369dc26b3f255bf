// Lazy flags: each recorded operation materializes to the RFLAGS the APM defines, and the
// "CF/OF in RFLAGS" state (after MUL/IMUL or rotates) keeps PF/AF/ZF/SF of the older operation.
#include "cpu/state/lazy_flags.h"

#include <gtest/gtest.h>

#include "support/test_machine.h"

namespace vx86::cpu {
namespace {

using namespace arch::Rflags;

TEST(LazyFlags, MaterializesAddSubAndLogic) {
    LazyFlags f{0x00, 0xff, 0x01, FlagOp::Add, 1};  // 0xff + 1 = 0x00 (8-bit)
    uint64_t r = materialize_rflags(f, FIXED1);
    EXPECT_EQ(r & STATUS, CF | ZF | AF | PF);
    f = LazyFlags{0x80, 0x7f, 0xff, FlagOp::Sub, 1};  // 0x7f - 0xff = 0x80: borrow, overflow
    r = materialize_rflags(f, FIXED1);
    EXPECT_EQ(r & (CF | OF | SF | ZF), CF | OF | SF);
    f = LazyFlags{0x0, 0, 0, FlagOp::Logic, 4};
    r = materialize_rflags(f, FIXED1 | CF | OF);
    EXPECT_EQ(r & STATUS, ZF | PF);
}

TEST(LazyFlags, CfOfInRflagsKeepsTheOtherFourFromTheRecord) {
    LazyFlags f{0x00, 0xff, 0x01, FlagOp::Add, 1};
    f.op = static_cast<FlagOp>(static_cast<uint8_t>(FlagOp::Add) | kCfOfInRflags);
    const uint64_t r = materialize_rflags(f, FIXED1 | OF);  // CF clear, OF set by the later op
    EXPECT_EQ(r & STATUS, OF | ZF | AF | PF);
    EXPECT_EQ(lazy_cf(f, FIXED1 | OF), 0u);
    EXPECT_TRUE(lazy_of(f, FIXED1 | OF));
    EXPECT_TRUE(lazy_zf(f, FIXED1 | OF));
}

TEST(LazyFlags, ImulAfterAddThroughTheCpu) {
    test::TestMachine m;
    m.enter_long64();
    m.s().gpr[RAX] = 0xffffffff;
    m.s().gpr[RBX] = 1;
    m.s().gpr[RCX] = 7;
    // add eax, ebx (ZF=1 CF=1); imul ecx, ecx, 3 (CF=OF=0; SF/ZF/AF/PF kept on AMD, see
    // muldiv.cpp); setz dl; setc sil; jz +0 / sete via condition path; adc edi, 0 (reads CF)
    const uint8_t code[] = {0x01, 0xd8, 0x6b, 0xc9, 0x03, 0x0f, 0x94, 0xc2,
                            0x40, 0x0f, 0x92, 0xc6, 0x83, 0xd7, 0x00};
    m.load_code(code);
    m.run(5);
    EXPECT_EQ(m.s().gpr[RCX], 21u);
    EXPECT_EQ(m.s().gpr[RDX] & 0xff, 1u) << "ZF still from the ADD";
    EXPECT_EQ(m.s().gpr[RSI] & 0xff, 0u) << "CF from the IMUL";
    EXPECT_EQ(m.s().gpr[RDI], 0u) << "ADC adds the IMUL's CF";
    EXPECT_EQ(m.s().get_rflags() & (ZF | CF | OF), ZF) << "the ADC's own result: 0 + 0 + 0";
}

}  // namespace
}  // namespace vx86::cpu
