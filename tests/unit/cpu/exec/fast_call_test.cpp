// Fast system calls with AMD semantics: SYSCALL/SYSRET in long and legacy mode, SYSENTER/SYSEXIT
// in legacy protected mode (#UD in long mode), SWAPGS.
#include <gtest/gtest.h>

#include <vector>

#include "support/test_machine.h"

namespace vx86::test {
namespace {

using namespace arch;
using cpu::CS, cpu::SS, cpu::GS, cpu::RAX, cpu::RCX, cpu::RDX, cpu::RSP, cpu::R11;

constexpr uint8_t kHlt = 0xf4;
constexpr uint16_t kKernelCs = 0x08;  // STAR[47:32]: kernel CS, SS = +8
constexpr uint16_t kUserBase = 0x23;  // STAR[63:48]: 32-bit user CS; SS = +8, 64-bit CS = +16
constexpr uint64_t kStar = uint64_t{kUserBase} << 48 | uint64_t{kKernelCs} << 32;
constexpr uint64_t kKernelEntry = TestMachine::kCodeBase + 0x1000;
constexpr uint64_t kTss = 0x40000;

cpu::Segment user_code64() {
    return {0x33,
            Attr::P | Attr::S | Attr::CODE | Attr::W_R | Attr::A | Attr::L | (3 << Attr::DPL_SHIFT),
            0xffffffff, 0};
}
cpu::Segment user_code32() {
    return {0x23,
            Attr::P | Attr::S | Attr::CODE | Attr::W_R | Attr::A | Attr::DB | Attr::G |
                (3 << Attr::DPL_SHIFT),
            0xffffffff, 0};
}
cpu::Segment user_data() {
    return {0x2b,
            Attr::P | Attr::S | Attr::W_R | Attr::A | Attr::DB | Attr::G | (3 << Attr::DPL_SHIFT),
            0xffffffff, 0};
}

// 64-bit mode with the SYSCALL MSRs set up and a TSS whose RSP0 lets ring 3 take exceptions.
void enter_long64_syscall(TestMachine& m) {
    m.enter_long64();
    m.install_idt64();
    m.s().msr.star = kStar;
    m.s().msr.lstar = kKernelEntry;
    m.poke<uint64_t>(kTss + 4, 0x70000);
    m.s().tr = cpu::Segment{0x40, Attr::P | SysType::TSS_BUSY, 0x67, kTss};
}

void to_user(TestMachine& m, const cpu::Segment& cs) {
    m.s().seg[CS] = cs;
    m.s().seg[SS] = user_data();
    m.vcpu->state_changed();
}

TEST(FastCall, SyscallSysretRoundTripIn64BitMode) {
    TestMachine m;
    enter_long64_syscall(m);
    m.s().msr.sfmask = Rflags::IF | Rflags::DF | Rflags::AC;
    to_user(m, user_code64());
    m.s().set_rflags(Rflags::FIXED1 | Rflags::IF | Rflags::DF | Rflags::CF);
    ASSERT_EQ(m.s().cpl, 3);
    const uint8_t user[] = {0x0f, 0x05, 0x90};    // syscall; nop
    const uint8_t kernel[] = {0x48, 0x0f, 0x07};  // sysretq
    m.write(kKernelEntry, kernel, sizeof kernel);
    m.load_code(user);

    m.run(1);
    EXPECT_EQ(m.s().rip(), kKernelEntry);
    EXPECT_EQ(m.s().cpl, 0);
    EXPECT_EQ(m.s().mode, cpu::CpuMode::Long64);
    EXPECT_EQ(m.s().seg[CS].selector, kKernelCs);
    EXPECT_EQ(m.s().seg[SS].selector, kKernelCs + 8);
    EXPECT_EQ(m.s().seg[SS].dpl(), 0);
    EXPECT_EQ(m.s().gpr[RCX], TestMachine::kCodeBase + 2);
    EXPECT_EQ(m.s().gpr[R11], Rflags::FIXED1 | Rflags::IF | Rflags::DF | Rflags::CF);
    EXPECT_EQ(m.s().get_rflags(), Rflags::FIXED1 | Rflags::CF);  // SFMASK cleared IF and DF

    m.run(1);
    EXPECT_EQ(m.s().rip(), TestMachine::kCodeBase + 2);
    EXPECT_EQ(m.s().cpl, 3);
    EXPECT_EQ(m.s().mode, cpu::CpuMode::Long64);
    EXPECT_EQ(m.s().seg[CS].selector, kUserBase + 16);
    EXPECT_TRUE(m.s().seg[CS].l());
    EXPECT_EQ(m.s().seg[SS].selector, kUserBase + 8);
    EXPECT_EQ(m.s().get_rflags(), Rflags::FIXED1 | Rflags::IF | Rflags::DF | Rflags::CF);
}

TEST(FastCall, SyscallFromCompatibilityModeUsesCstar) {
    TestMachine m;
    enter_long64_syscall(m);
    m.s().msr.cstar = kKernelEntry + 0x100;
    to_user(m, user_code32());
    ASSERT_EQ(m.s().mode, cpu::CpuMode::Compatibility);
    m.s().gpr[RCX] = 0xdead'beef'0000'0000ull;
    const uint8_t user[] = {0x0f, 0x05};
    m.load_code(user);
    m.run(1);
    EXPECT_EQ(m.s().rip(), kKernelEntry + 0x100);
    EXPECT_EQ(m.s().mode, cpu::CpuMode::Long64);  // SYSCALL always enters 64-bit code in long mode
    EXPECT_EQ(m.s().gpr[RCX], TestMachine::kCodeBase + 2);
}

TEST(FastCall, Sysret32ReturnsToCompatibilityMode) {
    TestMachine m;
    enter_long64_syscall(m);
    m.s().gpr[RCX] = 0xffff'ffff'0010'0020ull;
    m.s().gpr[R11] = Rflags::FIXED1 | Rflags::IF | Rflags::RF | Rflags::VM;
    const uint8_t code[] = {0x0f, 0x07};  // sysret (32-bit operand size)
    m.load_code(code);
    m.run(1);
    EXPECT_EQ(m.s().mode, cpu::CpuMode::Compatibility);
    EXPECT_EQ(m.s().cpl, 3);
    EXPECT_EQ(m.s().seg[CS].selector, kUserBase);
    EXPECT_TRUE(m.s().seg[CS].db());
    EXPECT_FALSE(m.s().seg[CS].l());
    EXPECT_EQ(m.s().rip(), 0x00100020u);                         // ECX, zero-extended
    EXPECT_EQ(m.s().get_rflags(), Rflags::FIXED1 | Rflags::IF);  // RF and VM never come back
}

// AMD loads only the SS selector on SYSRET; base, limit and attributes stay (except the DPL,
// which vx86 uses as the CPL).
TEST(FastCall, SysretKeepsSsHiddenPartExceptDpl) {
    TestMachine m;
    enter_long64_syscall(m);
    m.s().seg[SS] = cpu::Segment{0x10, Attr::P | Attr::S | Attr::W_R | Attr::A, 0x1234, 0x5000};
    m.vcpu->state_changed();
    m.s().gpr[RCX] = TestMachine::kCodeBase + 0x100;
    const uint8_t code[] = {0x48, 0x0f, 0x07};
    m.load_code(code);
    m.run(1);
    const cpu::Segment& ss = m.s().seg[SS];
    EXPECT_EQ(ss.selector, (kUserBase + 8) | 3);
    EXPECT_EQ(ss.base, 0x5000u);
    EXPECT_EQ(ss.limit, 0x1234u);
    EXPECT_EQ(ss.attrib, Attr::P | Attr::S | Attr::W_R | Attr::A | (3 << Attr::DPL_SHIFT));
}

TEST(FastCall, SysretSetsSsRplThreeWhateverStarSays) {
    TestMachine m;
    enter_long64_syscall(m);
    m.s().msr.star = uint64_t{0x20} << 48 | uint64_t{kKernelCs} << 32;  // RPL bits 0
    m.s().gpr[RCX] = TestMachine::kCodeBase + 0x100;
    const uint8_t code[] = {0x48, 0x0f, 0x07};
    m.load_code(code);
    m.run(1);
    EXPECT_EQ(m.s().seg[CS].selector, 0x33);
    EXPECT_EQ(m.s().seg[SS].selector, 0x2b);
}

// AMD: a non-canonical RCX does not fault in the kernel; the #GP comes from the user-mode fetch.
TEST(FastCall, SysretToNonCanonicalRipFaultsAtCpl3) {
    TestMachine m;
    enter_long64_syscall(m);
    constexpr uint64_t kBad = 0x0000'8000'0000'0000ull;
    m.s().gpr[RCX] = kBad;
    const uint8_t code[] = {0x48, 0x0f, 0x07};
    m.load_code(code);
    m.run(1);
    EXPECT_EQ(m.s().cpl, 3);
    EXPECT_EQ(m.s().rip(), kBad);
    m.run(10);
    ASSERT_EQ(m.halted_vector(), 13);
    const uint64_t rsp = m.s().gpr[RSP];
    EXPECT_EQ(rsp, 0x70000u - 48);  // delivered on the RSP0 stack: the fault came from ring 3
    EXPECT_EQ(m.read<uint64_t>(rsp + 8), kBad);
    EXPECT_EQ(m.read<uint64_t>(rsp + 16), (kUserBase + 16) | 3u);
}

TEST(FastCall, SysretAtCpl3IsGp) {
    TestMachine m;
    enter_long64_syscall(m);
    to_user(m, user_code64());
    const uint8_t code[] = {0x48, 0x0f, 0x07};
    m.load_code(code);
    m.run(10);
    EXPECT_EQ(m.halted_vector(), 13);
}

TEST(FastCall, SyscallAndSysretAreUdWithoutEferSce) {
    for (const bool ret : {false, true}) {
        TestMachine m;
        enter_long64_syscall(m);
        m.s().efer &= ~Efer::SCE;
        const uint8_t sc[] = {0x0f, 0x05}, sr[] = {0x48, 0x0f, 0x07};
        if (ret)
            m.load_code(sr);
        else
            m.load_code(sc);
        m.run(10);
        EXPECT_EQ(m.halted_vector(), 6) << ret;
    }
}

// Legacy protected mode: SYSCALL enters 32-bit code at STAR[31:0]; SYSRET sets IF and returns.
TEST(FastCall, LegacySyscallSysretRoundTrip) {
    TestMachine m;
    m.enter_protected32();
    m.s().efer = Efer::SCE;
    m.s().msr.star = kStar | 0x00105000;
    m.s().set_rflags(Rflags::FIXED1 | Rflags::IF);
    m.vcpu->state_changed();
    const uint8_t user[] = {0x0f, 0x05, 0x90};
    const uint8_t kernel[] = {0x0f, 0x07};
    m.write(0x105000, kernel, sizeof kernel);
    m.load_code(user);
    m.run(1);
    EXPECT_EQ(m.s().mode, cpu::CpuMode::Protected);
    EXPECT_EQ(m.s().rip(), 0x105000u);
    EXPECT_EQ(m.s().gpr[RCX], TestMachine::kCodeBase + 2);
    EXPECT_EQ(m.s().seg[CS].selector, kKernelCs);
    EXPECT_TRUE(m.s().seg[CS].db());
    EXPECT_EQ(m.s().seg[SS].selector, kKernelCs + 8);
    EXPECT_FALSE(m.s().get_rflags() & Rflags::IF);
    m.s().gpr[R11] = 0;  // ignored outside long mode
    m.run(1);
    EXPECT_EQ(m.s().rip(), TestMachine::kCodeBase + 2);
    EXPECT_EQ(m.s().cpl, 3);
    EXPECT_EQ(m.s().seg[CS].selector, kUserBase);
    EXPECT_EQ(m.s().seg[SS].selector, kUserBase + 8);
    EXPECT_TRUE(m.s().get_rflags() & Rflags::IF);
}

// A 32-bit IDT whose gate v leads to a HLT stub at kIdtStubs + 16 * v (see halted_vector()).
void install_idt32(TestMachine& m) {
    for (unsigned v = 0; v < 256; ++v) {
        const uint64_t target = TestMachine::kIdtStubs + 16 * v;
        const uint64_t gate = (target & 0xffff) | uint64_t{TestMachine::kCode32} << 16 |
                              uint64_t{0x80u | SysType::INT_GATE} << 40 |
                              (target >> 16 & 0xffff) << 48;
        m.poke<uint64_t>(TestMachine::kIdt + 8 * v, gate);
        m.poke<uint8_t>(target, kHlt);
    }
    m.s().idtr = {TestMachine::kIdt, 256 * 8 - 1};
}

TEST(FastCall, SysenterSysexitInProtectedMode) {
    TestMachine m;
    m.enter_protected32();
    m.s().msr.sysenter_cs = TestMachine::kCode32;
    m.s().msr.sysenter_esp = 0x1'0007'0000ull;  // upper bits are ignored
    m.s().msr.sysenter_eip = 0x105000;
    m.s().set_rflags(Rflags::FIXED1 | Rflags::IF);
    const uint8_t user[] = {0x0f, 0x34, 0x90};  // sysenter
    const uint8_t kernel[] = {0x0f, 0x35};      // sysexit
    m.write(0x105000, kernel, sizeof kernel);
    m.load_code(user);
    m.run(1);
    EXPECT_EQ(m.s().rip(), 0x105000u);
    EXPECT_EQ(m.s().gpr[RSP], 0x70000u);
    EXPECT_EQ(m.s().seg[CS].selector, TestMachine::kCode32);
    EXPECT_EQ(m.s().seg[SS].selector, TestMachine::kCode32 + 8);
    EXPECT_EQ(m.s().cpl, 0);
    EXPECT_FALSE(m.s().get_rflags() & Rflags::IF);
    m.s().gpr[RCX] = 0x60000;
    m.s().gpr[RDX] = TestMachine::kCodeBase + 2;
    m.run(1);
    EXPECT_EQ(m.s().rip(), TestMachine::kCodeBase + 2);
    EXPECT_EQ(m.s().gpr[RSP], 0x60000u);
    EXPECT_EQ(m.s().seg[CS].selector, (TestMachine::kCode32 + 16) | 3);
    EXPECT_EQ(m.s().seg[SS].selector, (TestMachine::kCode32 + 24) | 3);
    EXPECT_EQ(m.s().cpl, 3);
    EXPECT_EQ(m.s().mode, cpu::CpuMode::Protected);
}

TEST(FastCall, SysenterWithNullSysenterCsIsGp) {
    TestMachine m;
    m.enter_protected32();
    install_idt32(m);
    m.s().msr.sysenter_cs = 0;
    const uint8_t code[] = {0x0f, 0x34};
    m.load_code(code);
    m.run(10);
    EXPECT_EQ(m.halted_vector(), 13);
}

TEST(FastCall, SysexitAtCpl3IsGp) {
    TestMachine m;
    m.enter_protected32();
    install_idt32(m);
    m.s().msr.sysenter_cs = TestMachine::kCode32;
    // Ring-3 code and stack, and a 32-bit TSS with SS0:ESP0 for the delivery.
    m.poke<uint32_t>(kTss + 4, 0x70000);
    m.poke<uint16_t>(kTss + 8, 0x10);
    m.s().tr = cpu::Segment{0x40, Attr::P | SysType::TSS_BUSY, 0x67, kTss};
    m.s().seg[CS] = user_code32();
    m.s().seg[SS] = user_data();
    m.vcpu->state_changed();
    ASSERT_EQ(m.s().cpl, 3);
    const uint8_t code[] = {0x0f, 0x35};
    m.load_code(code);
    m.run(10);
    EXPECT_EQ(m.halted_vector(), 13);
}

TEST(FastCall, SysenterAndSysexitAreUdInLongMode) {
    for (const bool compat : {false, true}) {
        for (const uint8_t op : {uint8_t{0x34}, uint8_t{0x35}}) {
            TestMachine m;
            enter_long64_syscall(m);
            m.s().msr.sysenter_cs = TestMachine::kCode32;
            if (compat) {
                m.s().seg[CS] = cpu::Segment{
                    TestMachine::kCode32,
                    Attr::P | Attr::S | Attr::CODE | Attr::W_R | Attr::A | Attr::DB, 0xffffffff, 0};
                m.vcpu->state_changed();
                ASSERT_EQ(m.s().mode, cpu::CpuMode::Compatibility);
            }
            const uint8_t code[] = {0x0f, op};
            m.load_code(code);
            m.run(10);
            EXPECT_EQ(m.halted_vector(), 6) << compat << " " << int(op);
        }
    }
}

TEST(FastCall, SwapgsExchangesGsBaseWithKernelGsBase) {
    TestMachine m;
    m.enter_long64();
    m.s().seg[GS].base = 0x1111;
    m.s().msr.kernel_gs_base = TestMachine::kDataBase;
    m.vcpu->state_changed();
    m.poke<uint64_t>(TestMachine::kDataBase + 8, 0x0123456789abcdefull);
    // swapgs; mov rax, gs:[8]; hlt
    const uint8_t code[] = {0x0f, 0x01, 0xf8, 0x65, 0x48, 0x8b, 0x04, 0x25, 0x08, 0, 0, 0, kHlt};
    m.load_code(code);
    EXPECT_EQ(m.run(10).reason, cpu::ExitReason::Hlt);
    EXPECT_EQ(m.s().seg[GS].base, TestMachine::kDataBase);
    EXPECT_EQ(m.s().msr.kernel_gs_base, 0x1111u);
    EXPECT_EQ(m.s().gpr[RAX], 0x0123456789abcdefull);
}

TEST(FastCall, SwapgsOutside64BitModeIsUdAndAtCpl3IsGp) {
    TestMachine m;
    enter_long64_syscall(m);
    m.s().seg[CS] = cpu::Segment{TestMachine::kCode32,
                                 Attr::P | Attr::S | Attr::CODE | Attr::W_R | Attr::A | Attr::DB,
                                 0xffffffff, 0};
    m.vcpu->state_changed();
    const uint8_t code[] = {0x0f, 0x01, 0xf8};
    m.load_code(code);
    m.run(10);
    EXPECT_EQ(m.halted_vector(), 6);

    TestMachine u;
    enter_long64_syscall(u);
    to_user(u, user_code64());
    u.load_code(code);
    u.run(10);
    EXPECT_EQ(u.halted_vector(), 13);
}

}  // namespace
}  // namespace vx86::test
