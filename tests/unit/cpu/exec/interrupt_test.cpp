// Interrupt family: INT n / INT3 / INT1 / INTO with the gate DPL check, BOUND, UD2, and IRET in
// real, protected, long and virtual-8086 returns (AMD APM Vol 3 "INT", "IRET"; Vol 2 ch. 8).
#include <gtest/gtest.h>

#include <vector>

#include "support/protected_setup.h"

namespace vx86::test {
namespace {

using namespace arch;
using Bytes = std::vector<uint8_t>;

uint64_t stack64(TestMachine& m, unsigned slot) {
    return m.read<uint64_t>(m.s().gpr[cpu::RSP] + 8 * slot);
}
uint32_t stack32(TestMachine& m, unsigned slot) {
    return m.read<uint32_t>(m.s().gpr[cpu::RSP] + 4 * slot);
}

// ---- INT n / INT3 / INT1 / INTO --------------------------------------------------------------

TEST(InterruptInt, IntNPushesTheNextRipWithoutErrorCode) {
    TestMachine m;
    long64(m);
    EXPECT_EQ(run_for_vector(m, Bytes{0x90, 0xcd, 0x40}), 0x40);
    EXPECT_EQ(m.s().gpr[cpu::RSP], TestMachine::kStackTop - 40);
    EXPECT_EQ(stack64(m, 0), TestMachine::kCodeBase + 3);
    EXPECT_EQ(stack64(m, 1), TestMachine::kCode64);
    EXPECT_EQ(stack64(m, 3), TestMachine::kStackTop);
}

TEST(InterruptInt, Int3AndInt1AreTraps) {
    TestMachine m;
    long64(m);
    EXPECT_EQ(run_for_vector(m, Bytes{0xcc}), 3);
    EXPECT_EQ(stack64(m, 0), TestMachine::kCodeBase + 1);
    TestMachine n;
    long64(n);
    EXPECT_EQ(run_for_vector(n, Bytes{0xf1}), 1);
    EXPECT_EQ(stack64(n, 0), TestMachine::kCodeBase + 1);
}

TEST(InterruptInt, IntoTrapsOnlyWhenOverflowIsSet) {
    TestMachine m;
    prot32(m);
    m.s().rflags |= Rflags::OF;
    EXPECT_EQ(run_for_vector(m, Bytes{0xce}), 4);
    EXPECT_EQ(stack32(m, 0), TestMachine::kCodeBase + 1);

    TestMachine n;
    prot32(n);
    n.load_code(Bytes{0xce, 0x90});
    n.run(2);
    EXPECT_EQ(n.halted_vector(), -1);
    EXPECT_EQ(n.s().rip(), TestMachine::kCodeBase + 2);

    // INTO does not exist in 64-bit mode.
    TestMachine l;
    long64(l);
    l.s().rflags |= Rflags::OF;
    EXPECT_EQ(run_for_vector(l, Bytes{0xce}), 6);
}

TEST(InterruptInt, InterruptGateClearsIfTrapGateKeepsIt) {
    TestMachine m;
    prot32(m);
    m.s().rflags |= Rflags::IF;
    EXPECT_EQ(run_for_vector(m, Bytes{0xcd, 0x30}), 0x30);
    EXPECT_FALSE(m.s().rflags & Rflags::IF);
    EXPECT_TRUE(stack32(m, 2) & Rflags::IF);  // the pushed EFLAGS

    TestMachine t;
    t.enter_protected32();
    install_idt32(t, SysType::TRAP_GATE);
    t.s().rflags |= Rflags::IF;
    EXPECT_EQ(run_for_vector(t, Bytes{0xcd, 0x30}), 0x30);
    EXPECT_TRUE(t.s().rflags & Rflags::IF);
}

// APM Vol 2, 8.9.4 / Vol 3 "INT": software interrupts check the gate DPL against CPL and raise
// #GP with the IDT-flavoured error code vector*8+2; exceptions and INT1 do not.
TEST(InterruptInt, SoftwareInterruptsFromRing3NeedGateDpl3) {
    struct Case {
        Bytes code;
        uint32_t error;
    };
    const Case cases[] = {{{0xcd, 0x40}, 0x40 * 8 + 2}, {{0xcc}, 3 * 8 + 2}};
    for (const Case& c : cases) {
        TestMachine m;
        long64(m);
        enter_ring3(m);
        EXPECT_EQ(run_for_vector(m, c.code), 13);
        EXPECT_EQ(stack64(m, 0), c.error);
        EXPECT_EQ(stack64(m, 1), TestMachine::kCodeBase);  // #GP is a fault on the INT
    }
    TestMachine o;
    prot32(o);
    enter_ring3(o);
    o.s().rflags |= Rflags::OF;
    EXPECT_EQ(run_for_vector(o, Bytes{0xce}), 13);
    EXPECT_EQ(stack32(o, 0), 4u * 8 + 2);

    TestMachine ok;
    long64(ok);
    enter_ring3(ok);
    set_gate_dpl(ok, 0x40, 3);
    EXPECT_EQ(run_for_vector(ok, Bytes{0xcd, 0x40}), 0x40);
    EXPECT_EQ(ok.s().cpl, 0);
    EXPECT_EQ(stack64(ok, 0), TestMachine::kCodeBase + 2);
    EXPECT_EQ(stack64(ok, 1), kUserCode64);

    for (const Bytes& code : {Bytes{0xf1}, Bytes{0x0f, 0x0b}}) {
        TestMachine e;
        long64(e);
        enter_ring3(e);
        EXPECT_EQ(run_for_vector(e, code), code.size() == 1 ? 1 : 6);
    }
}

// ---- BOUND / UD2 -----------------------------------------------------------------------------

TEST(InterruptBound, OutOfRangeIsBrFaultWithSignedCompare) {
    struct Case {
        int32_t lo, hi, v;
        bool fault;
    };
    const Case cases[] = {{0, 10, 11, true},  {0, 10, 10, false}, {0, 10, -1, true},
                          {-5, 5, -3, false}, {-5, 5, -6, true},  {0, 10, 0, false}};
    for (const Case& c : cases) {
        TestMachine m;
        prot32(m);
        m.poke<int32_t>(TestMachine::kDataBase, c.lo);
        m.poke<int32_t>(TestMachine::kDataBase + 4, c.hi);
        m.s().gpr[cpu::RBX] = TestMachine::kDataBase;
        m.s().gpr[cpu::RAX] = static_cast<uint32_t>(c.v);
        m.load_code(Bytes{0x62, 0x03, 0x90});  // bound eax, [ebx]; nop
        m.run(2);
        if (c.fault) {
            EXPECT_EQ(m.halted_vector(), 5) << c.v;
            EXPECT_EQ(stack32(m, 0), TestMachine::kCodeBase) << c.v;  // a fault: EIP of BOUND
        } else {
            EXPECT_EQ(m.halted_vector(), -1) << c.v;
            EXPECT_EQ(m.s().rip(), TestMachine::kCodeBase + 3);
        }
    }
    // 16-bit operands use word bounds.
    TestMachine w;
    prot32(w);
    w.poke<int16_t>(TestMachine::kDataBase, -2);
    w.poke<int16_t>(TestMachine::kDataBase + 2, 2);
    w.s().gpr[cpu::RBX] = TestMachine::kDataBase;
    w.s().gpr[cpu::RAX] = 0x0000fffd;  // ax = -3
    EXPECT_EQ(run_for_vector(w, Bytes{0x66, 0x62, 0x03}), 5);
}

TEST(InterruptUd2, IsAFaultOnTheInstruction) {
    TestMachine m;
    long64(m);
    EXPECT_EQ(run_for_vector(m, Bytes{0x90, 0x0f, 0x0b}), 6);
    EXPECT_EQ(stack64(m, 0), TestMachine::kCodeBase + 1);
}

// ---- IRET ------------------------------------------------------------------------------------

TEST(InterruptIret, RealModePopsIpCsFlags) {
    TestMachine m;
    m.enter_real16();
    const uint64_t ss = m.s().seg[cpu::SS].base;
    m.s().rflags |= Rflags::AC;  // bit 18: a 16-bit IRET keeps the upper half
    m.poke<uint16_t>(ss + 0xfff0, 0x1234);
    m.poke<uint16_t>(ss + 0xfff2, 0x2000);
    m.poke<uint16_t>(ss + 0xfff4,
                     static_cast<uint16_t>(Rflags::CF | Rflags::DF | Rflags::IF | Rflags::FIXED1));
    m.load_code(Bytes{0xcf});
    m.run(1);
    EXPECT_EQ(m.s().seg[cpu::CS].selector, 0x2000);
    EXPECT_EQ(m.s().seg[cpu::CS].base, 0x20000u);
    EXPECT_EQ(m.s().rip(), 0x1234u);
    EXPECT_EQ(m.s().gpr[cpu::RSP] & 0xffff, 0xfff6u);
    const uint64_t f = m.s().get_rflags();
    EXPECT_TRUE(f & Rflags::CF);
    EXPECT_TRUE(f & Rflags::DF);
    EXPECT_TRUE(f & Rflags::IF);
    EXPECT_TRUE(f & Rflags::AC);
}

TEST(InterruptIret, Iretd32BitSamePrivilege) {
    TestMachine m;
    prot32(m);
    const uint64_t sp = TestMachine::kStackTop - 12;
    m.poke<uint32_t>(sp, TestMachine::kCodeBase + 0x40);
    m.poke<uint32_t>(sp + 4, TestMachine::kCode32);
    m.poke<uint32_t>(
        sp + 8, static_cast<uint32_t>(Rflags::CF | Rflags::IF | Rflags::IOPL | Rflags::FIXED1));
    m.s().gpr[cpu::RSP] = sp;
    m.load_code(Bytes{0xcf});
    m.run(1);
    EXPECT_EQ(m.halted_vector(), -1);
    EXPECT_EQ(m.s().rip(), TestMachine::kCodeBase + 0x40);
    EXPECT_EQ(m.s().gpr[cpu::RSP], TestMachine::kStackTop);  // no SS:ESP popped
    EXPECT_EQ(m.s().iopl(), 3);                              // CPL 0 may change IOPL and IF
    EXPECT_TRUE(m.s().get_rflags() & Rflags::IF);
    EXPECT_TRUE(m.s().get_rflags() & Rflags::CF);
}

TEST(InterruptIret, Iretd32BitAtCpl3KeepsIoplAndIf) {
    TestMachine m;
    prot32(m);
    enter_ring3(m);
    m.s().rflags |= Rflags::IF;
    const uint64_t sp = kUserStack - 12;
    m.poke<uint32_t>(sp, TestMachine::kCodeBase + 0x40);
    m.poke<uint32_t>(sp + 4, kUserCode32);
    m.poke<uint32_t>(sp + 8, static_cast<uint32_t>(Rflags::CF | Rflags::IOPL | Rflags::FIXED1));
    m.s().gpr[cpu::RSP] = sp;
    m.load_code(Bytes{0xcf});
    m.run(1);
    EXPECT_EQ(m.halted_vector(), -1);
    EXPECT_EQ(m.s().rip(), TestMachine::kCodeBase + 0x40);
    EXPECT_EQ(m.s().iopl(), 0);
    EXPECT_TRUE(m.s().get_rflags() & Rflags::IF);
    EXPECT_TRUE(m.s().get_rflags() & Rflags::CF);
}

TEST(InterruptIret, Iretd32BitToRing3LoadsSsEspAndNullsKernelSegments) {
    TestMachine m;
    prot32(m);
    add_user_segments(m);
    m.s().seg[cpu::ES] = cache(kUserData, seg_desc(0, 0xfffff, access(3, 0x3), 0xc));
    m.vcpu->state_changed();
    const uint64_t sp = TestMachine::kStackTop - 20;
    m.poke<uint32_t>(sp, TestMachine::kCodeBase + 0x40);
    m.poke<uint32_t>(sp + 4, kUserCode32);
    m.poke<uint32_t>(sp + 8, static_cast<uint32_t>(Rflags::IF | Rflags::FIXED1));
    m.poke<uint32_t>(sp + 12, kUserStack);
    m.poke<uint32_t>(sp + 16, kUserData);
    m.s().gpr[cpu::RSP] = sp;
    m.load_code(Bytes{0xcf});
    m.run(1);
    EXPECT_EQ(m.halted_vector(), -1);
    EXPECT_EQ(m.s().cpl, 3);
    EXPECT_EQ(m.s().rip(), TestMachine::kCodeBase + 0x40);
    EXPECT_EQ(m.s().gpr[cpu::RSP], kUserStack);
    EXPECT_EQ(m.s().seg[cpu::SS].selector, kUserData);
    EXPECT_EQ(m.s().seg[cpu::CS].selector, kUserCode32);
    // APM Vol 3 "IRET": data segments more privileged than the new CPL become null.
    EXPECT_EQ(m.s().seg[cpu::DS].selector, 0);
    EXPECT_EQ(m.s().seg[cpu::ES].selector, kUserData);
    EXPECT_TRUE(m.s().get_rflags() & Rflags::IF);
}

TEST(InterruptIret, ReturnToAnInnerRingIsGp) {
    TestMachine m;
    prot32(m);
    enter_ring3(m);
    const uint64_t sp = kUserStack - 12;
    m.poke<uint32_t>(sp, TestMachine::kCodeBase);
    m.poke<uint32_t>(sp + 4, TestMachine::kCode32);
    m.poke<uint32_t>(sp + 8, static_cast<uint32_t>(Rflags::FIXED1));
    m.s().gpr[cpu::RSP] = sp;
    EXPECT_EQ(run_for_vector(m, Bytes{0xcf}), 13);
    EXPECT_EQ(stack32(m, 0), TestMachine::kCode32);
}

// Writes a 64-bit IRET frame at `sp` and points RSP at it.
void iretq_frame(TestMachine& m, uint64_t sp, uint64_t rip, uint64_t cs, uint64_t rflags,
                 uint64_t rsp, uint64_t ss) {
    m.poke<uint64_t>(sp, rip);
    m.poke<uint64_t>(sp + 8, cs);
    m.poke<uint64_t>(sp + 16, rflags);
    m.poke<uint64_t>(sp + 24, rsp);
    m.poke<uint64_t>(sp + 32, ss);
    m.s().gpr[cpu::RSP] = sp;
}

const Bytes kIretq{0x48, 0xcf};

TEST(InterruptIret, IretqSameRingAlwaysPopsSsRsp) {
    TestMachine m;
    long64(m);
    m.s().nmi_blocked = true;
    iretq_frame(m, TestMachine::kStackTop - 40, TestMachine::kCodeBase + 0x40, TestMachine::kCode64,
                Rflags::CF | Rflags::FIXED1, 0x12340, TestMachine::kData);
    m.load_code(kIretq);
    m.run(1);
    EXPECT_EQ(m.halted_vector(), -1);
    EXPECT_EQ(m.s().rip(), TestMachine::kCodeBase + 0x40);
    EXPECT_EQ(m.s().gpr[cpu::RSP], 0x12340u);  // APM Vol 3 "IRET": 64-bit mode pops SS:RSP
    EXPECT_TRUE(m.s().get_rflags() & Rflags::CF);
    EXPECT_FALSE(m.s().nmi_blocked);  // IRET ends NMI blocking (APM Vol 2, 8.2.3)
}

TEST(InterruptIret, IretqToRing3In64BitAndCompatibilityMode) {
    struct Case {
        uint16_t cs;
        cpu::CpuMode mode;
    };
    for (const Case& c : {Case{kUserCode64, cpu::CpuMode::Long64},
                          Case{kUserCode32, cpu::CpuMode::Compatibility}}) {
        TestMachine m;
        long64(m);
        add_user_segments(m);
        iretq_frame(m, TestMachine::kStackTop - 40, TestMachine::kCodeBase + 0x40, c.cs,
                    Rflags::IF | Rflags::FIXED1, kUserStack, kUserData);
        m.load_code(kIretq);
        m.run(1);
        EXPECT_EQ(m.halted_vector(), -1);
        EXPECT_EQ(m.s().cpl, 3);
        EXPECT_EQ(m.s().mode, c.mode);
        EXPECT_EQ(m.s().rip(), TestMachine::kCodeBase + 0x40);
        EXPECT_EQ(m.s().gpr[cpu::RSP], kUserStack);
        EXPECT_EQ(m.s().seg[cpu::SS].selector, kUserData);
        EXPECT_TRUE(m.s().get_rflags() & Rflags::IF);
    }
}

TEST(InterruptIret, IretqWithNullSsIsLegalOnlyBackToCpl0) {
    TestMachine m;
    long64(m);
    iretq_frame(m, TestMachine::kStackTop - 40, TestMachine::kCodeBase + 0x40, TestMachine::kCode64,
                Rflags::FIXED1, 0x12340, 0);
    m.load_code(kIretq);
    m.run(1);
    EXPECT_EQ(m.halted_vector(), -1);
    EXPECT_EQ(m.s().seg[cpu::SS].selector, 0);
    EXPECT_EQ(m.s().gpr[cpu::RSP], 0x12340u);
    EXPECT_EQ(m.s().cpl, 0);

    TestMachine u;
    long64(u);
    add_user_segments(u);
    iretq_frame(u, TestMachine::kStackTop - 40, TestMachine::kCodeBase + 0x40, kUserCode64,
                Rflags::FIXED1, kUserStack, 3);
    EXPECT_EQ(run_for_vector(u, kIretq), 13);
    EXPECT_EQ(stack64(u, 0), 0u);
    EXPECT_EQ(stack64(u, 1), TestMachine::kCodeBase);
}

TEST(InterruptIret, NestedTaskAndNonCanonicalRipAreGpInLongMode) {
    TestMachine m;
    long64(m);
    iretq_frame(m, TestMachine::kStackTop - 64, TestMachine::kCodeBase + 0x40, TestMachine::kCode64,
                Rflags::FIXED1, TestMachine::kStackTop, TestMachine::kData);
    m.s().rflags |= Rflags::NT;
    EXPECT_EQ(run_for_vector(m, kIretq), 13);  // APM Vol 3 "IRET": long mode with NT=1
    EXPECT_EQ(stack64(m, 0), 0u);
    EXPECT_EQ(stack64(m, 1), TestMachine::kCodeBase);

    TestMachine n;
    long64(n);
    iretq_frame(n, TestMachine::kStackTop - 64, 0x0000800000000000ull, TestMachine::kCode64,
                Rflags::FIXED1, TestMachine::kStackTop, TestMachine::kData);
    EXPECT_EQ(run_for_vector(n, kIretq), 13);
    EXPECT_EQ(stack64(n, 0), 0u);
}

TEST(InterruptIret, IretdToVirtual8086ModeAndBackThroughAGpFault) {
    TestMachine m;
    prot32(m);
    add_user_segments(m);
    const uint64_t sp = TestMachine::kStackTop - 36;
    const uint32_t frame[9] = {0x0010, 0x6000, static_cast<uint32_t>(Rflags::VM | Rflags::FIXED1),
                               0xfff0, 0x3000, 0x1000,
                               0x1100, 0x1200, 0x1300};
    m.write(sp, frame, sizeof frame);
    m.s().gpr[cpu::RSP] = sp;
    m.load_code(Bytes{0xcf});
    // V86 code at 0x6000:0x0010: mov ax, 0x1234; int 0x21 (IOPL 0: #GP)
    m.write(0x60010, Bytes{0xb8, 0x34, 0x12, 0xcd, 0x21}.data(), 5);
    m.run(1);
    ASSERT_EQ(m.halted_vector(), -1);
    EXPECT_EQ(m.s().mode, cpu::CpuMode::Virtual8086);  // APM Vol 3 "IRET", return to V86 mode
    EXPECT_EQ(m.s().cpl, 3);
    EXPECT_EQ(m.s().seg[cpu::CS].base, 0x60000u);
    EXPECT_EQ(m.s().seg[cpu::SS].base, 0x30000u);
    EXPECT_EQ(m.s().seg[cpu::ES].base, 0x10000u);
    EXPECT_EQ(m.s().seg[cpu::DS].base, 0x11000u);
    EXPECT_EQ(m.s().seg[cpu::FS].base, 0x12000u);
    EXPECT_EQ(m.s().seg[cpu::GS].base, 0x13000u);
    EXPECT_EQ(m.s().gpr[cpu::RSP], 0xfff0u);
    EXPECT_EQ(m.s().rip(), 0x10u);
    m.run(1);
    EXPECT_EQ(m.s().gpr[cpu::RAX] & 0xffff, 0x1234u);

    // INT n with IOPL < 3 faults to the ring-0 handler, which gets the V86 segment registers.
    m.run(5);
    ASSERT_EQ(m.halted_vector(), 13);
    EXPECT_EQ(m.s().mode, cpu::CpuMode::Protected);
    EXPECT_EQ(m.s().cpl, 0);
    ASSERT_EQ(m.s().gpr[cpu::RSP], kRsp0 - 40);
    const uint32_t expect[10] = {0,      0x13,   0x6000, 0,      0xfff0,
                                 0x3000, 0x1000, 0x1100, 0x1200, 0x1300};
    for (unsigned i = 0; i < 10; ++i) {
        if (i == 3) {
            EXPECT_TRUE(stack32(m, 3) & Rflags::VM);
            continue;
        }
        EXPECT_EQ(stack32(m, i), expect[i]) << "slot " << i;
    }
    for (unsigned r : {cpu::ES, cpu::DS, cpu::FS, cpu::GS}) EXPECT_EQ(m.s().seg[r].selector, 0);
}

}  // namespace
}  // namespace vx86::test
