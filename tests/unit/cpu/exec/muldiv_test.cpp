// Multiply and divide family: product and quotient registers per size, CF/OF, the vx86 choice for
// the undefined flags (AMD vectors), and #DE for a zero divisor and for quotient overflow,
// including IDIV of the most negative dividend by -1. Random operands: the host oracle.
#include <gtest/gtest.h>

#include <vector>

#include "support/test_machine.h"

namespace vx86::test {
namespace {

using namespace arch::Rflags;
using Bytes = std::vector<uint8_t>;

struct MulDiv : ::testing::Test {
    MulDiv() {
        m.enter_long64();
        m.install_idt64();
    }
    // Makes the vCPU runnable again after an exception halted it in its IDT stub.
    void resume() {
        m.s().halted = false;
        m.s().gpr[cpu::RSP] = TestMachine::kStackTop;
    }
    uint64_t run(const Bytes& code, uint64_t flags = 0) {
        resume();
        m.s().set_rflags(FIXED1 | flags);
        m.load_code(code);
        EXPECT_EQ(m.run(1).reason, cpu::ExitReason::InsnLimit);
        EXPECT_EQ(m.s().rip(), TestMachine::kCodeBase + code.size());
        return m.s().get_rflags() & STATUS;
    }
    // Runs `code`, expecting #DE with every GPR but RSP and the status flags unchanged.
    void expect_de(const Bytes& code) {
        cpu::CpuState& s = m.s();
        resume();
        s.set_rflags(FIXED1 | CF | ZF | PF);
        const auto before = s.gpr;
        m.load_code(code);
        m.run(2);
        EXPECT_EQ(m.halted_vector(), 0);
        for (unsigned r = 0; r < 16; ++r) {
            if (r != cpu::RSP) {
                EXPECT_EQ(s.gpr[r], before[r]) << "register " << r;
            }
        }
        EXPECT_EQ(s.get_rflags() & STATUS, CF | ZF | PF);
    }
    uint64_t& reg(unsigned r) { return m.s().gpr[r]; }
    TestMachine m;
};

TEST_F(MulDiv, Mul64ProducesRdxRax) {
    reg(cpu::RAX) = ~uint64_t{0};
    reg(cpu::RBX) = 2;
    // AMD vector for the undefined SF/ZF/AF/PF: left as they were.
    EXPECT_EQ(run({0x48, 0xf7, 0xe3}, AF | ZF), CF | OF | AF | ZF);  // mul rbx
    EXPECT_EQ(reg(cpu::RAX), 0xfffffffffffffffeull);
    EXPECT_EQ(reg(cpu::RDX), 1u);
}

TEST_F(MulDiv, Mul8WritesAxOnly) {
    reg(cpu::RAX) = 0xffffffffffff0010ull;
    reg(cpu::RBX) = 0x10;
    reg(cpu::RDX) = 0x5555;
    EXPECT_EQ(run({0xf6, 0xe3}, SF), CF | OF | SF);  // mul bl: AX = 0x0100, flags but CF/OF kept
    EXPECT_EQ(reg(cpu::RAX), 0xffffffffffff0100ull);
    EXPECT_EQ(reg(cpu::RDX), 0x5555u);
    reg(cpu::RAX) = 0x0f;
    EXPECT_EQ(run({0xf6, 0xe3}, CF | OF) & (CF | OF), 0u);  // 0xf0 fits: CF = OF = 0
}

TEST_F(MulDiv, Imul32OneOperandSignExtendsIntoEdx) {
    reg(cpu::RAX) = 0xaaaaaaaafffffffeull;  // -2
    reg(cpu::RBX) = 3;
    reg(cpu::RDX) = 0xbbbbbbbbbbbbbbbbull;
    EXPECT_EQ(run({0xf7, 0xeb}) & (CF | OF), 0u);  // imul ebx
    EXPECT_EQ(reg(cpu::RAX), 0xfffffffau);
    EXPECT_EQ(reg(cpu::RDX), 0xffffffffu);
}

TEST_F(MulDiv, ImulTwoAndThreeOperandForms) {
    reg(cpu::RBX) = 0x80000000;
    EXPECT_EQ(run({0x6b, 0xcb, 0xff}) & (CF | OF), CF | OF);  // imul ecx, ebx, -1: overflows
    EXPECT_EQ(reg(cpu::RCX), 0x80000000u);
    reg(cpu::RAX) = 0x12340100;
    reg(cpu::RBX) = 0x0100;
    EXPECT_EQ(run({0x66, 0x0f, 0xaf, 0xc3}) & (CF | OF | ZF), CF | OF);  // imul ax, bx: 0, ZF kept
    EXPECT_EQ(reg(cpu::RAX), 0x12340000u);
    reg(cpu::RBX) = 7;
    // imul rax, rbx, -1: fits, CF = OF = 0.
    EXPECT_EQ(run({0x48, 0x69, 0xc3, 0xff, 0xff, 0xff, 0xff}, CF | OF) & (CF | OF | SF), 0u);
    EXPECT_EQ(reg(cpu::RAX), ~uint64_t{6});
}

TEST_F(MulDiv, ImulZeroProductLeavesZfAndPf) {
    // AMD vector (observed on Ryzen, unicorn-engine issue #2212): imul rax, rax, 0 does not set
    // ZF or PF from the zero product.
    reg(cpu::RAX) = 0x1234;
    EXPECT_EQ(run({0x48, 0x6b, 0xc0, 0x00}), 0u);
    EXPECT_EQ(reg(cpu::RAX), 0u);
}

TEST_F(MulDiv, ImulFromMemory) {
    m.poke<int64_t>(TestMachine::kDataBase, -3);
    reg(cpu::RBX) = TestMachine::kDataBase;
    reg(cpu::RAX) = 5;
    run({0x48, 0x0f, 0xaf, 0x03});  // imul rax, [rbx]
    EXPECT_EQ(static_cast<int64_t>(reg(cpu::RAX)), -15);
}

TEST_F(MulDiv, DivLeavesFlagsUnchanged) {
    reg(cpu::RDX) = 1;
    reg(cpu::RAX) = 0;
    reg(cpu::RBX) = 2;
    EXPECT_EQ(run({0x48, 0xf7, 0xf3}, SF | AF), SF | AF);  // div rbx
    EXPECT_EQ(reg(cpu::RAX), 0x8000000000000000ull);
    EXPECT_EQ(reg(cpu::RDX), 0u);
}

TEST_F(MulDiv, Div8Quotient) {
    reg(cpu::RAX) = 0x12340107;  // AX = 263
    reg(cpu::RCX) = 0x10;
    run({0xf6, 0xf1});  // div cl: 263 / 16 = 16 r 7
    EXPECT_EQ(reg(cpu::RAX), 0x12340710u);
}

TEST_F(MulDiv, IdivRoundsTowardZero) {
    reg(cpu::RAX) = static_cast<uint64_t>(-7);
    reg(cpu::RDX) = ~uint64_t{0};
    reg(cpu::RBX) = 2;
    run({0x48, 0xf7, 0xfb});  // idiv rbx
    EXPECT_EQ(static_cast<int64_t>(reg(cpu::RAX)), -3);
    EXPECT_EQ(static_cast<int64_t>(reg(cpu::RDX)), -1);
    reg(cpu::RAX) = 0xffff0000fffffff9ull;  // EAX = -7
    reg(cpu::RDX) = 0xffffffff;             // EDX:EAX = -7
    reg(cpu::RBX) = 0xfffffffe;             // -2
    run({0xf7, 0xfb});                      // idiv ebx
    EXPECT_EQ(reg(cpu::RAX), 3u);
    EXPECT_EQ(reg(cpu::RDX), 0xffffffffu);
}

TEST_F(MulDiv, DivideByZeroRaisesDe) {
    reg(cpu::RAX) = 1;
    reg(cpu::RDX) = 0;
    reg(cpu::RBX) = 0;
    expect_de({0x48, 0xf7, 0xf3});  // div rbx
    expect_de({0xf6, 0xfb});        // idiv bl
    m.poke<uint32_t>(TestMachine::kDataBase, 0);
    reg(cpu::RSI) = TestMachine::kDataBase;
    expect_de({0xf7, 0x36});  // div dword [rsi]
}

TEST_F(MulDiv, QuotientOverflowRaisesDe) {
    reg(cpu::RAX) = 0x1000;
    reg(cpu::RCX) = 0x10;
    expect_de({0xf6, 0xf1});  // div cl: 0x100 does not fit in AL
    reg(cpu::RAX) = 0;
    reg(cpu::RDX) = 5;
    reg(cpu::RBX) = 5;
    expect_de({0x48, 0xf7, 0xf3});  // div rbx: RDX >= divisor
    reg(cpu::RAX) = 0x4000;
    reg(cpu::RCX) = 0x80;  // -128: quotient -128 fits, remainder 0
    run({0xf6, 0xf9});     // idiv cl
    EXPECT_EQ(reg(cpu::RAX) & 0xffff, 0x0080u);
    reg(cpu::RAX) = 0x4000;
    reg(cpu::RCX) = 0x7f;  // 16384 / 127 = 129: does not fit
    expect_de({0xf6, 0xf9});
}

TEST_F(MulDiv, IdivMostNegativeByMinusOneRaisesDe) {
    reg(cpu::RAX) = 0x8000000000000000ull;
    reg(cpu::RDX) = ~uint64_t{0};
    reg(cpu::RBX) = ~uint64_t{0};
    expect_de({0x48, 0xf7, 0xfb});  // idiv rbx
    reg(cpu::RAX) = 0x80000000;
    reg(cpu::RDX) = 0xffffffff;
    expect_de({0xf7, 0xfb});  // idiv ebx
    reg(cpu::RAX) = 0x8000;
    reg(cpu::RDX) = 0xffff;
    expect_de({0x66, 0xf7, 0xfb});  // idiv bx
    reg(cpu::RAX) = 0xff80;
    expect_de({0xf6, 0xfb});  // idiv bl
}

TEST_F(MulDiv, DeWithoutIdtShutsDown) {
    TestMachine bare;
    bare.enter_long64();
    bare.s().gpr[cpu::RBX] = 0;
    bare.load_code(Bytes{0x48, 0xf7, 0xf3});
    EXPECT_EQ(bare.run(1).reason, cpu::ExitReason::Shutdown);
}

}  // namespace
}  // namespace vx86::test
