// Decimal-adjust family in 32-bit protected and real mode (the instructions are #UD in 64-bit
// mode): APM pseudocode cases, the vx86 choices for undefined flags, and AAM's #DE.
#include <gtest/gtest.h>

#include <vector>

#include "support/protected_setup.h"

namespace vx86::test {
namespace {

using namespace arch::Rflags;
using Bytes = std::vector<uint8_t>;

struct Bcd : ::testing::Test {
    Bcd() {
        m.enter_protected32();
        install_idt32(m);
    }
    uint64_t run(const Bytes& code, uint64_t flags = 0) {
        m.s().set_rflags(FIXED1 | flags);
        m.load_code(code);
        EXPECT_EQ(m.run(1).reason, cpu::ExitReason::InsnLimit);
        EXPECT_EQ(m.s().rip(), TestMachine::kCodeBase + code.size());
        return m.s().get_rflags() & STATUS;
    }
    uint64_t& ax() { return m.s().gpr[cpu::RAX]; }
    TestMachine m;
};

TEST_F(Bcd, DaaAfterPackedAdd) {
    ax() = 0x12340000 | 0xae;  // 0x79 + 0x35
    // AMD vector: OF (undefined) cleared.
    EXPECT_EQ(run({0x27}, OF), CF | AF | PF);  // 0x14, carry
    EXPECT_EQ(ax(), 0x12340014u);
    ax() = 0x09;
    EXPECT_EQ(run({0x27}, AF), AF | PF);  // 0x0f
    EXPECT_EQ(ax(), 0x0fu);
    ax() = 0x00;
    EXPECT_EQ(run({0x27}, CF), CF | PF);  // 0x60
    EXPECT_EQ(ax(), 0x60u);
    ax() = 0xfa;  // low nibble > 9 and AL > 0xf9: the +6 carries out
    EXPECT_EQ(run({0x27}) & CF, CF);
    EXPECT_EQ(ax(), 0x60u);
}

TEST_F(Bcd, DasAfterPackedSubtract) {
    ax() = 0xee;  // 0x35 - 0x47, CF = AF = 1
    EXPECT_EQ(run({0x2f}, CF | AF), CF | AF | SF | PF);  // 0x88 (-12 in BCD with borrow)
    EXPECT_EQ(ax(), 0x88u);
    ax() = 0x05;
    // 0x05 - 6 borrows (CF = 1), but the -0x60 step tests the original AL and CF only.
    EXPECT_EQ(run({0x2f}, AF), CF | AF | SF | PF);
    EXPECT_EQ(ax(), 0xffu);
}

TEST_F(Bcd, AaaAdjustsAllOfAx) {
    ax() = 0x00ff;
    // AMD vector: the +6 carries from AL into AH before AH += 1 (0x0205, not 0x0105); SF/ZF/PF
    // from the final AL, OF cleared.
    EXPECT_EQ(run({0x37}, OF | SF), CF | AF | PF);
    EXPECT_EQ(ax(), 0x0205u);
    ax() = 0x0135;
    EXPECT_EQ(run({0x37}, CF), PF);  // no adjust: AL & 0x0f = 5, CF and AF cleared
    EXPECT_EQ(ax(), 0x0105u);
    ax() = 0x0100;
    EXPECT_EQ(run({0x37}, AF), CF | AF | PF);  // AF forces the adjust: 0x0206
    EXPECT_EQ(ax(), 0x0206u);
}

TEST_F(Bcd, AasAdjustsAllOfAx) {
    ax() = 0x0200;
    EXPECT_EQ(run({0x3f}, AF), CF | AF | PF);  // 0x0200 - 0x106 = 0x00fa, AL &= 0x0f
    EXPECT_EQ(ax(), 0x000au);
    ax() = 0x0000;
    EXPECT_EQ(run({0x3f}, AF), CF | AF | PF);  // borrow through AH: 0xfefa -> 0xfe0a
    EXPECT_EQ(ax(), 0xfe0au);
    ax() = 0x0109;
    EXPECT_EQ(run({0x3f}, CF), PF);  // no adjust
    EXPECT_EQ(ax(), 0x0109u);
}

TEST_F(Bcd, AamSplitsAl) {
    ax() = 0xff4f;  // AL = 79
    // AMD vector: OF, AF, CF (undefined) cleared.
    EXPECT_EQ(run({0xd4, 0x0a}, CF | AF | OF), PF);  // aam: AH = 7, AL = 9
    EXPECT_EQ(ax(), 0x0709u);
    ax() = 0x4f;
    EXPECT_EQ(run({0xd4, 0x10}), PF);  // aam 16: AH = 4, AL = 0x0f
    EXPECT_EQ(ax(), 0x040fu);
    ax() = 0x50;
    EXPECT_EQ(run({0xd4, 0x0a}), ZF | PF);  // 80 = 8 * 10 + 0
    EXPECT_EQ(ax(), 0x0800u);
}

TEST_F(Bcd, AamZeroRaisesDeWithNothingChanged) {
    ax() = 0x1234;
    m.s().set_rflags(FIXED1 | CF | OF);
    m.load_code(Bytes{0xd4, 0x00});
    m.run(2);
    EXPECT_EQ(m.halted_vector(), 0);
    EXPECT_EQ(ax(), 0x1234u);
    EXPECT_EQ(m.s().get_rflags() & STATUS, CF | OF);
}

TEST_F(Bcd, AadCombinesAhAndAl) {
    ax() = 0xabcd0709;
    EXPECT_EQ(run({0xd5, 0x0a}, CF | AF | OF), 0u);  // aad: AL = 79, AH = 0
    EXPECT_EQ(ax(), 0xabcd004fu);
    ax() = 0x0203;
    EXPECT_EQ(run({0xd5, 0x10}), 0u);  // aad 16: 0x23
    EXPECT_EQ(ax(), 0x23u);
    ax() = 0xff01;
    EXPECT_EQ(run({0xd5, 0x01}), ZF | PF);  // 0x01 + 0xff wraps to 0
    EXPECT_EQ(ax(), 0u);
}

TEST_F(Bcd, DaaInRealMode) {
    TestMachine r;
    r.enter_real16();
    r.s().gpr[cpu::RAX] = 0x19;
    r.s().set_rflags(FIXED1 | AF);
    r.load_code(Bytes{0x27});
    r.run(1);
    EXPECT_EQ(r.s().gpr[cpu::RAX], 0x1fu);
}

TEST(BcdLong, InvalidIn64BitMode) {
    TestMachine m;
    m.enter_long64();
    m.install_idt64();
    for (uint8_t op : {0x27, 0x2f, 0x37, 0x3f}) {
        m.s().halted = false;
        m.load_code(Bytes{op});
        m.run(2);
        EXPECT_EQ(m.halted_vector(), 6) << "opcode " << int(op);
    }
    m.s().halted = false;
    m.load_code(Bytes{0xd4, 0x0a});
    m.run(2);
    EXPECT_EQ(m.halted_vector(), 6);
}

}  // namespace
}  // namespace vx86::test
