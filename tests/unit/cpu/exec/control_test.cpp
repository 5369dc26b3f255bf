// Near control transfers: CALL/RET (with imm16), JMP, the CS-limit and canonical-target checks, and
// LOOP/LOOPE/LOOPNE/JrCXZ with 16/32/64-bit address sizes (AMD APM Vol 3 "CALL (Near)", "LOOPcc").
#include <gtest/gtest.h>

#include <vector>

#include "support/protected_setup.h"

namespace vx86::test {
namespace {

using namespace arch;
using Bytes = std::vector<uint8_t>;
constexpr uint64_t kCode = TestMachine::kCodeBase;

uint64_t stack64(TestMachine& m, unsigned slot) {
    return m.read<uint64_t>(m.s().gpr[cpu::RSP] + 8 * slot);
}

TEST(ControlCall, NearCallAndRetImm16In64BitMode) {
    TestMachine m;
    long64(m);
    m.load_code(Bytes{0xe8, 0x10, 0x00, 0x00, 0x00});  // call $+0x15
    m.poke<uint8_t>(kCode + 0x15, 0xc2);               // ret 8
    m.poke<uint16_t>(kCode + 0x16, 8);
    m.run(1);
    EXPECT_EQ(m.s().rip(), kCode + 0x15);
    EXPECT_EQ(m.s().gpr[cpu::RSP], TestMachine::kStackTop - 8);
    EXPECT_EQ(stack64(m, 0), kCode + 5);
    m.run(1);
    EXPECT_EQ(m.s().rip(), kCode + 5);
    EXPECT_EQ(m.s().gpr[cpu::RSP], TestMachine::kStackTop + 8);  // APM Vol 3 "RET (Near)"
}

TEST(ControlCall, IndirectCallAndJmpThroughRegisterAndMemory) {
    TestMachine m;
    long64(m);
    m.s().gpr[cpu::RAX] = kCode + 0x40;
    m.s().gpr[cpu::RBX] = TestMachine::kDataBase;
    m.poke<uint64_t>(TestMachine::kDataBase, kCode + 0x80);
    m.load_code(Bytes{0xff, 0xd0});          // call rax
    m.poke<uint16_t>(kCode + 0x40, 0x13ff);  // call [rbx]
    m.poke<uint16_t>(kCode + 0x80, 0xe0ff);  // jmp rax
    m.run(1);
    EXPECT_EQ(m.s().rip(), kCode + 0x40);
    EXPECT_EQ(stack64(m, 0), kCode + 2);
    m.run(1);
    EXPECT_EQ(m.s().rip(), kCode + 0x80);
    EXPECT_EQ(stack64(m, 0), kCode + 0x42);
    m.run(1);
    EXPECT_EQ(m.s().rip(), kCode + 0x40);
    EXPECT_EQ(m.s().gpr[cpu::RSP], TestMachine::kStackTop - 16);
}

TEST(ControlCall, RealModeCallPushesSixteenBits) {
    TestMachine m;
    m.enter_real16();
    m.load_code(Bytes{0xe8, 0x03, 0x00, 0x90, 0x90, 0x90, 0xc3});  // call 6; ...; ret
    m.run(1);
    EXPECT_EQ(m.s().rip(), 6u);
    EXPECT_EQ(m.s().gpr[cpu::RSP] & 0xffff, 0xffeeu);
    EXPECT_EQ(m.read<uint16_t>(m.s().seg[cpu::SS].base + 0xffee), 3u);
    m.run(1);
    EXPECT_EQ(m.s().rip(), 3u);
    EXPECT_EQ(m.s().gpr[cpu::RSP] & 0xffff, 0xfff0u);
}

TEST(ControlLimit, TargetsBeyondTheCsLimitRaiseGpIn32BitMode) {
    auto setup = [](TestMachine& m) {
        prot32(m);
        // CS limit 0x100fff: the first code page only (APM Vol 3 "JMP (Near)": #GP(0)).
        m.s().seg[cpu::CS] = cache(TestMachine::kCode32, seg_desc(0, 0x100, access(0, 0xb), 0xc));
        m.vcpu->state_changed();
    };
    TestMachine ok;
    setup(ok);
    ok.load_code(Bytes{0xe9, 0xfa, 0x0f, 0x00, 0x00});  // jmp 0x100fff
    ok.run(1);
    EXPECT_EQ(ok.s().rip(), 0x100fffu);

    TestMachine j;
    setup(j);
    EXPECT_EQ(run_for_vector(j, Bytes{0xe9, 0xfb, 0x0f, 0x00, 0x00}), 13);  // jmp 0x101000
    EXPECT_EQ(j.read<uint32_t>(j.s().gpr[cpu::RSP]), 0u);
    EXPECT_EQ(j.read<uint32_t>(j.s().gpr[cpu::RSP] + 4), kCode);

    // CALL checks before pushing: the exception frame starts right below the old ESP.
    TestMachine c;
    setup(c);
    EXPECT_EQ(run_for_vector(c, Bytes{0xe8, 0xfb, 0x0f, 0x00, 0x00}), 13);
    EXPECT_EQ(c.s().gpr[cpu::RSP], TestMachine::kStackTop - 16);

    // RET checks before popping.
    TestMachine r;
    setup(r);
    r.s().gpr[cpu::RSP] = TestMachine::kStackTop - 4;
    r.poke<uint32_t>(TestMachine::kStackTop - 4, 0x101000);
    EXPECT_EQ(run_for_vector(r, Bytes{0xc3}), 13);
    EXPECT_EQ(r.s().gpr[cpu::RSP], TestMachine::kStackTop - 4 - 16);
}

TEST(ControlLimit, SixteenBitOperandSizeTruncatesEip) {
    TestMachine m;
    prot32(m);
    m.load_code(Bytes{0x66, 0xe9, 0x10, 0x00});  // jmp word: EIP = (0x100004 + 0x10) & 0xffff
    m.run(1);
    EXPECT_EQ(m.s().rip(), 0x14u);
}

TEST(ControlCanonical, NonCanonicalTargetsRaiseGpIn64BitMode) {
    const uint64_t bad = 0x0000800000000000ull;
    TestMachine j;
    long64(j);
    j.s().gpr[cpu::RAX] = bad;
    EXPECT_EQ(run_for_vector(j, Bytes{0xff, 0xe0}), 13);  // jmp rax
    EXPECT_EQ(stack64(j, 0), 0u);
    EXPECT_EQ(stack64(j, 1), kCode);

    TestMachine c;
    long64(c);
    c.s().gpr[cpu::RAX] = bad;
    EXPECT_EQ(run_for_vector(c, Bytes{0xff, 0xd0}), 13);  // call rax: nothing pushed
    EXPECT_EQ(stack64(c, 4), TestMachine::kStackTop);     // interrupted RSP

    TestMachine r;
    long64(r);
    r.s().gpr[cpu::RSP] = TestMachine::kStackTop - 8;
    r.poke<uint64_t>(TestMachine::kStackTop - 8, bad);
    EXPECT_EQ(run_for_vector(r, Bytes{0xc3}), 13);
    EXPECT_EQ(stack64(r, 4), TestMachine::kStackTop - 8);  // RSP not advanced
}

// ---- LOOPcc / JrCXZ --------------------------------------------------------------------------

TEST(ControlLoop, LoopCountsRcxIn64BitMode) {
    TestMachine m;
    long64(m);
    m.s().gpr[cpu::RAX] = 0;
    m.s().gpr[cpu::RCX] = 3;
    m.load_code(Bytes{0xff, 0xc0, 0xe2, 0xfc, 0x90});  // inc eax; loop -4; nop
    m.run(6);
    EXPECT_EQ(m.s().gpr[cpu::RAX], 3u);
    EXPECT_EQ(m.s().gpr[cpu::RCX], 0u);
    EXPECT_EQ(m.s().rip(), kCode + 4);

    // RCX is 64-bit: 0x1'0000'0000 - 1 is not zero.
    TestMachine w;
    long64(w);
    w.s().gpr[cpu::RCX] = 0x100000000ull;
    w.load_code(Bytes{0xe2, 0x10});
    w.run(1);
    EXPECT_EQ(w.s().gpr[cpu::RCX], 0xffffffffull);
    EXPECT_EQ(w.s().rip(), kCode + 0x12);
}

TEST(ControlLoop, AddressSizePrefixSelectsEcxOrCx) {
    // 64-bit mode, 32-bit address size: ECX counts and the write zero-extends.
    TestMachine m;
    long64(m);
    m.s().gpr[cpu::RCX] = 0xffffffff00000002ull;
    m.load_code(Bytes{0x67, 0xe2, 0x10});
    m.run(1);
    EXPECT_EQ(m.s().gpr[cpu::RCX], 1u);
    EXPECT_EQ(m.s().rip(), kCode + 0x13);

    // 32-bit mode, 16-bit address size: only CX counts.
    TestMachine p;
    prot32(p);
    p.s().gpr[cpu::RCX] = 0x00010000;
    p.load_code(Bytes{0x67, 0xe2, 0x10});
    p.run(1);
    EXPECT_EQ(p.s().gpr[cpu::RCX], 0x0001ffffu);
    EXPECT_EQ(p.s().rip(), kCode + 0x13);

    // Real mode: CX reaches zero, the upper half of ECX is untouched, no branch.
    TestMachine r;
    r.enter_real16();
    r.s().gpr[cpu::RCX] = 0x12340001;
    r.load_code(Bytes{0xe2, 0x10});
    r.run(1);
    EXPECT_EQ(r.s().gpr[cpu::RCX], 0x12340000u);
    EXPECT_EQ(r.s().rip(), 2u);
}

TEST(ControlLoop, LoopeAndLoopneTestZfAfterDecrementing) {
    struct Case {
        uint8_t op;
        bool zf;
        uint64_t rcx;
        bool taken;
    };
    const Case cases[] = {
        {0xe1, true, 5, true},  {0xe1, false, 5, false}, {0xe1, true, 1, false},
        {0xe0, false, 5, true}, {0xe0, true, 5, false},  {0xe0, false, 1, false},
    };
    for (const Case& c : cases) {
        TestMachine m;
        long64(m);
        m.s().gpr[cpu::RCX] = c.rcx;
        m.s().set_rflags(c.zf ? Rflags::ZF : 0);
        m.load_code(Bytes{c.op, 0x10});
        m.run(1);
        EXPECT_EQ(m.s().gpr[cpu::RCX], c.rcx - 1) << int(c.op) << c.zf << c.rcx;
        EXPECT_EQ(m.s().rip(), kCode + (c.taken ? 0x12 : 2)) << int(c.op) << c.zf << c.rcx;
    }
}

TEST(ControlLoop, JcxzFormsTestTheAddressSizedCount) {
    struct Case {
        Bytes code;
        uint64_t rcx;
        bool taken;
    };
    // 32-bit mode: e3 is JECXZ, 67 e3 is JCXZ.
    const Case p32[] = {{{0xe3, 0x10}, 0x10000, false},
                        {{0x67, 0xe3, 0x10}, 0x10000, true},
                        {{0xe3, 0x10}, 0, true}};
    for (const Case& c : p32) {
        TestMachine m;
        prot32(m);
        m.s().gpr[cpu::RCX] = c.rcx;
        m.load_code(c.code);
        m.run(1);
        EXPECT_EQ(m.s().rip(), kCode + c.code.size() + (c.taken ? 0x10 : 0));
        EXPECT_EQ(m.s().gpr[cpu::RCX], c.rcx);  // never written
    }
    // 64-bit mode: e3 is JRCXZ, 67 e3 is JECXZ.
    const Case l64[] = {{{0xe3, 0x10}, 0x100000000ull, false},
                        {{0x67, 0xe3, 0x10}, 0x100000000ull, true}};
    for (const Case& c : l64) {
        TestMachine m;
        long64(m);
        m.s().gpr[cpu::RCX] = c.rcx;
        m.load_code(c.code);
        m.run(1);
        EXPECT_EQ(m.s().rip(), kCode + c.code.size() + (c.taken ? 0x10 : 0));
    }
}

}  // namespace
}  // namespace vx86::test
