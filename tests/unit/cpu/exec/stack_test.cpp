// Stack family: PUSH/POP (RSP-relative operands, PUSH RSP, POP RSP), PUSHF/POPF privilege rules,
// PUSHA/POPA, ENTER with nesting levels and LEAVE (AMD APM Vol 3 "PUSH", "POP", "POPFx", "ENTER").
#include <gtest/gtest.h>

#include <vector>

#include "support/protected_setup.h"

namespace vx86::test {
namespace {

using namespace arch;
using Bytes = std::vector<uint8_t>;
constexpr uint64_t kTop = TestMachine::kStackTop;

uint64_t rsp(TestMachine& m) {
    return m.s().gpr[cpu::RSP];
}

TEST(StackPushPop, RegisterImmediateAndOperandSizes) {
    TestMachine m;
    long64(m);
    m.s().gpr[cpu::RBX] = 0x1122334455667788ull;
    m.s().gpr[cpu::RCX] = 0xffffffffffff0000ull;
    // push rbx; push -2; push ax (66 50); pop cx (66 59); pop rdx
    m.load_code(Bytes{0x53, 0x6a, 0xfe, 0x66, 0x50, 0x66, 0x59, 0x5a});
    m.s().gpr[cpu::RAX] = 0xabcd;
    m.run(3);
    EXPECT_EQ(rsp(m), kTop - 18);
    EXPECT_EQ(m.read<uint64_t>(kTop - 8), 0x1122334455667788ull);
    EXPECT_EQ(m.read<uint64_t>(kTop - 16), 0xfffffffffffffffeull);  // imm8 sign-extended
    EXPECT_EQ(m.read<uint16_t>(kTop - 18), 0xabcdu);
    m.run(2);
    EXPECT_EQ(m.s().gpr[cpu::RCX], 0xffffffffffffabcdull);  // 16-bit pop merges
    EXPECT_EQ(m.s().gpr[cpu::RDX], 0xfffffffffffffffeull);
    EXPECT_EQ(rsp(m), kTop - 8);
}

TEST(StackPushPop, PushRspPushesTheOldValueAndPopRspLoadsThePoppedOne) {
    TestMachine m;
    long64(m);
    m.load_code(Bytes{0x54, 0x5c});  // push rsp; pop rsp
    m.run(1);
    EXPECT_EQ(m.read<uint64_t>(kTop - 8), kTop);  // APM Vol 3 "PUSH": value before the decrement
    m.poke<uint64_t>(kTop - 8, 0x12345678);
    m.run(1);
    EXPECT_EQ(rsp(m), 0x12345678u);
}

TEST(StackPushPop, PopToRspRelativeMemoryUsesTheIncrementedRsp) {
    // APM Vol 3 "POP": an rSP-based destination address is computed after rSP is incremented.
    TestMachine m;
    long64(m);
    const uint64_t sp = kTop - 32;
    m.s().gpr[cpu::RSP] = sp;
    m.poke<uint64_t>(sp, 0xaaaa);
    m.poke<uint64_t>(sp + 8, 0x1111);
    m.poke<uint64_t>(sp + 16, 0x2222);
    m.load_code(Bytes{0x8f, 0x44, 0x24, 0x08});  // pop qword [rsp+8]
    m.run(1);
    EXPECT_EQ(rsp(m), sp + 8);
    EXPECT_EQ(m.read<uint64_t>(sp + 16), 0xaaaau);
    EXPECT_EQ(m.read<uint64_t>(sp + 8), 0x1111u);

    // PUSH [rsp] reads through the old RSP.
    TestMachine p;
    long64(p);
    p.s().gpr[cpu::RSP] = sp;
    p.poke<uint64_t>(sp, 0xbbbb);
    p.load_code(Bytes{0xff, 0x34, 0x24});
    p.run(1);
    EXPECT_EQ(p.read<uint64_t>(sp - 8), 0xbbbbu);
}

TEST(StackPushf, PushfClearsVmAndRfInTheImage) {
    TestMachine m;
    long64(m);
    m.s().rflags |= Rflags::RF | Rflags::DF;
    m.load_code(Bytes{0x9c});
    m.run(1);
    const uint64_t f = m.read<uint64_t>(kTop - 8);
    EXPECT_FALSE(f & Rflags::RF);
    EXPECT_TRUE(f & Rflags::DF);
    EXPECT_TRUE(f & Rflags::FIXED1);
}

TEST(StackPopf, Cpl0ChangesIoplAndIfButNeverVmVifVip) {
    TestMachine m;
    long64(m);
    m.poke<uint64_t>(kTop - 8, Rflags::IOPL | Rflags::IF | Rflags::CF | Rflags::VM | Rflags::VIF |
                                   Rflags::VIP | Rflags::AC | Rflags::FIXED1);
    m.s().gpr[cpu::RSP] = kTop - 8;
    m.load_code(Bytes{0x9d});
    m.run(1);
    const uint64_t f = m.s().get_rflags();
    EXPECT_EQ(m.s().iopl(), 3);
    EXPECT_TRUE(f & Rflags::IF);
    EXPECT_TRUE(f & Rflags::CF);
    EXPECT_TRUE(f & Rflags::AC);
    EXPECT_FALSE(f & (Rflags::VM | Rflags::VIF | Rflags::VIP));
    EXPECT_EQ(m.s().mode, cpu::CpuMode::Long64);
}

TEST(StackPopf, Cpl3SilentlyKeepsIoplAndIf) {
    // APM Vol 3 "POPFx": at CPL > 0 IOPL is unchanged; at CPL > IOPL IF is unchanged; no #GP.
    TestMachine m;
    long64(m);
    enter_ring3(m);
    m.s().rflags |= Rflags::IF;
    m.poke<uint64_t>(kUserStack - 8, Rflags::IOPL | Rflags::CF | Rflags::DF | Rflags::FIXED1);
    m.s().gpr[cpu::RSP] = kUserStack - 8;
    m.load_code(Bytes{0x9d});
    m.run(1);
    EXPECT_EQ(m.halted_vector(), -1);
    EXPECT_EQ(m.s().iopl(), 0);
    EXPECT_TRUE(m.s().get_rflags() & Rflags::IF);
    EXPECT_TRUE(m.s().get_rflags() & Rflags::CF);
    EXPECT_TRUE(m.s().get_rflags() & Rflags::DF);

    // With IOPL 3 a CPL-3 POPF may clear IF, still not change IOPL.
    TestMachine n;
    long64(n);
    enter_ring3(n);
    n.s().rflags |= Rflags::IF | Rflags::IOPL;
    n.poke<uint64_t>(kUserStack - 8, Rflags::FIXED1);
    n.s().gpr[cpu::RSP] = kUserStack - 8;
    n.load_code(Bytes{0x9d});
    n.run(1);
    EXPECT_FALSE(n.s().get_rflags() & Rflags::IF);
    EXPECT_EQ(n.s().iopl(), 3);
}

TEST(StackPopf, SixteenBitPopfKeepsTheUpperHalf) {
    TestMachine m;
    m.enter_real16();
    m.s().rflags |= Rflags::AC;
    const uint64_t ss = m.s().seg[cpu::SS].base;
    m.poke<uint16_t>(ss + 0xfff0,
                     static_cast<uint16_t>(Rflags::ZF | Rflags::IOPL | Rflags::FIXED1));
    m.load_code(Bytes{0x9d});
    m.run(1);
    EXPECT_TRUE(m.s().get_rflags() & Rflags::AC);
    EXPECT_TRUE(m.s().get_rflags() & Rflags::ZF);
    EXPECT_EQ(m.s().iopl(), 3);  // real mode is CPL 0
    EXPECT_EQ(m.s().gpr[cpu::RSP] & 0xffff, 0xfff2u);
}

TEST(StackPusha, PushesOriginalEspAndPopaSkipsIt) {
    TestMachine m;
    prot32(m);
    for (unsigned r = 0; r < 8; ++r)
        if (r != cpu::RSP) m.s().gpr[r] = 0x1000 + r;
    m.load_code(Bytes{0x60});  // pushad
    m.run(1);
    EXPECT_EQ(rsp(m), kTop - 32);
    // Memory from the top down: EAX, ECX, EDX, EBX, original ESP, EBP, ESI, EDI.
    for (unsigned r = 0; r < 8; ++r) {
        const uint32_t want = r == cpu::RSP ? static_cast<uint32_t>(kTop) : 0x1000 + r;
        EXPECT_EQ(m.read<uint32_t>(kTop - 4 - 4 * r), want) << r;
    }
    for (unsigned r = 0; r < 8; ++r)
        if (r != cpu::RSP) m.s().gpr[r] = 0;
    m.poke<uint32_t>(kTop - 20, 0xdead);  // the saved ESP slot is skipped
    m.load_code(Bytes{0x61});             // popad
    m.run(1);
    EXPECT_EQ(rsp(m), kTop);
    for (unsigned r = 0; r < 8; ++r) {
        if (r != cpu::RSP) {
            EXPECT_EQ(m.s().gpr[r], 0x1000u + r) << r;
        }
    }
}

TEST(StackPusha, SixteenBitFormInRealMode) {
    TestMachine m;
    m.enter_real16();
    m.s().gpr[cpu::RAX] = 0xaaaa1111;
    m.s().gpr[cpu::RDI] = 0x7777;
    m.load_code(Bytes{0x60, 0x61});
    m.run(1);
    const uint64_t ss = m.s().seg[cpu::SS].base;
    EXPECT_EQ(m.s().gpr[cpu::RSP] & 0xffff, 0xfff0u - 16);
    EXPECT_EQ(m.read<uint16_t>(ss + 0xffee), 0x1111u);
    EXPECT_EQ(m.read<uint16_t>(ss + 0xffe6), 0xfff0u);  // SP before
    EXPECT_EQ(m.read<uint16_t>(ss + 0xffe0), 0x7777u);
    m.s().gpr[cpu::RAX] = 0xaaaa0000;
    m.run(1);
    EXPECT_EQ(m.s().gpr[cpu::RAX], 0xaaaa1111u);  // 16-bit pop keeps the upper half
}

TEST(StackEnter, LevelZeroAndLeave) {
    TestMachine m;
    long64(m);
    m.s().gpr[cpu::RBP] = 0xbbbb;
    m.load_code(Bytes{0xc8, 0x10, 0x00, 0x00, 0xc9});  // enter 0x10, 0; leave
    m.run(1);
    EXPECT_EQ(m.read<uint64_t>(kTop - 8), 0xbbbbu);
    EXPECT_EQ(m.s().gpr[cpu::RBP], kTop - 8);
    EXPECT_EQ(rsp(m), kTop - 8 - 0x10);
    m.run(1);
    EXPECT_EQ(m.s().gpr[cpu::RBP], 0xbbbbu);
    EXPECT_EQ(rsp(m), kTop);
}

TEST(StackEnter, SixteenBitEnterOnA32BitStackWritesOnlyBp) {
    TestMachine m;
    prot32(m);
    m.s().gpr[cpu::RBP] = 0xaaaa1234;
    m.load_code(Bytes{0x66, 0xc8, 0x00, 0x00, 0x00});  // o16 enter 0, 0
    m.run(1);
    EXPECT_EQ(rsp(m), kTop - 2);                       // the push of BP is a word
    EXPECT_EQ(m.read<uint16_t>(kTop - 2), 0x1234u);
    // BP := FrameTemp[15:0]; bits 31:16 of EBP unmodified (SDM Vol 2A, "ENTER").
    EXPECT_EQ(m.s().gpr[cpu::RBP], 0xaaaa0000u | ((kTop - 2) & 0xffff));
}

TEST(StackEnter, LevelOnePushesTheFramePointer) {
    TestMachine m;
    long64(m);
    m.s().gpr[cpu::RBP] = 0xbbbb;
    m.load_code(Bytes{0xc8, 0x10, 0x00, 0x01});  // enter 0x10, 1
    m.run(1);
    EXPECT_EQ(m.read<uint64_t>(kTop - 8), 0xbbbbu);
    EXPECT_EQ(m.read<uint64_t>(kTop - 16), kTop - 8);  // the new frame pointer itself
    EXPECT_EQ(m.s().gpr[cpu::RBP], kTop - 8);
    EXPECT_EQ(rsp(m), kTop - 16 - 0x10);
}

TEST(StackEnter, LevelThreeCopiesTwoEnclosingFramePointers) {
    // APM Vol 3 "ENTER": level-1 pointers are copied from [rBP-8], [rBP-16], then the new frame.
    TestMachine m;
    long64(m);
    const uint64_t outer = 0x80000;
    m.poke<uint64_t>(outer - 8, 0x1111);
    m.poke<uint64_t>(outer - 16, 0x2222);
    m.poke<uint64_t>(outer - 24, 0x3333);
    m.s().gpr[cpu::RBP] = outer;
    m.load_code(Bytes{0xc8, 0x20, 0x00, 0x03});  // enter 0x20, 3
    m.run(1);
    EXPECT_EQ(m.read<uint64_t>(kTop - 8), outer);
    EXPECT_EQ(m.read<uint64_t>(kTop - 16), 0x1111u);
    EXPECT_EQ(m.read<uint64_t>(kTop - 24), 0x2222u);
    EXPECT_EQ(m.read<uint64_t>(kTop - 32), kTop - 8);
    EXPECT_EQ(m.s().gpr[cpu::RBP], kTop - 8);
    EXPECT_EQ(rsp(m), kTop - 32 - 0x20);
}

TEST(StackEnter, ThirtyTwoBitLevelTwo) {
    TestMachine m;
    prot32(m);
    const uint64_t outer = 0x80000;
    m.poke<uint32_t>(outer - 4, 0x1111);
    m.s().gpr[cpu::RBP] = outer;
    m.load_code(Bytes{0xc8, 0x08, 0x00, 0x02, 0xc9});  // enter 8, 2; leave
    m.run(1);
    EXPECT_EQ(m.read<uint32_t>(kTop - 4), outer);
    EXPECT_EQ(m.read<uint32_t>(kTop - 8), 0x1111u);
    EXPECT_EQ(m.read<uint32_t>(kTop - 12), kTop - 4);
    EXPECT_EQ(m.s().gpr[cpu::RBP], kTop - 4);
    EXPECT_EQ(rsp(m), kTop - 12 - 8);
    m.run(1);
    EXPECT_EQ(m.s().gpr[cpu::RBP], outer);
    EXPECT_EQ(rsp(m), kTop);
}

}  // namespace
}  // namespace vx86::test
