// System family: CLI/STI, HLT, CPUID, RDTSC, RDMSR/WRMSR, MOV CRn/DRn, LGDT/LIDT/SGDT/SIDT,
// LMSW/SMSW, CLTS and INVLPG, checked against AMD APM Vol 2 chapter 3 and the Vol 3 pages.
#include <gtest/gtest.h>

#include <vector>

#include "arch/msr.h"
#include "support/protected_setup.h"

namespace vx86::test {
namespace {

using namespace arch;
using Bytes = std::vector<uint8_t>;

constexpr uint32_t kMsrStar = 0xc0000081, kMsrLstar = 0xc0000082, kMsrKernelGs = 0xc0000102,
                   kMsrPat = 0x277, kMsrEfer = 0xc0000080;

// Runs `code` and returns the vector whose HLT stub stopped the vCPU (-1 if none).
uint64_t error_code64(TestMachine& m) {
    return m.read<uint64_t>(m.s().gpr[cpu::RSP]);
}

// ---- CLI / STI / HLT -------------------------------------------------------------------------

TEST(SystemCliSti, Cpl0TogglesIfAndStiOpensShadowOnlyWhenIfWasClear) {
    TestMachine m;
    long64(m);
    m.s().rflags |= Rflags::IF;
    m.load_code(Bytes{0xfa, 0xfb, 0xfb});  // cli; sti; sti
    m.run(1);
    EXPECT_FALSE(m.s().rflags & Rflags::IF);
    m.run(1);
    EXPECT_TRUE(m.s().rflags & Rflags::IF);
    EXPECT_TRUE(m.s().interrupt_shadow & cpu::Shadow::STI);
    // STI with IF already set does not open a new shadow (APM Vol 2, 8.5 "Interrupt Shadows").
    m.run(1);
    EXPECT_EQ(m.s().interrupt_shadow & cpu::Shadow::STI, 0);
}

TEST(SystemCliSti, Cpl3WithIopl0RaisesGp) {
    for (uint8_t op : {uint8_t{0xfa}, uint8_t{0xfb}}) {
        TestMachine m;
        long64(m);
        enter_ring3(m);
        m.s().rflags |= Rflags::IF;
        ASSERT_EQ(m.s().cpl, 3);
        EXPECT_EQ(run_for_vector(m, Bytes{op}), 13) << int(op);
        EXPECT_EQ(error_code64(m), 0u);
        // The interrupted RFLAGS (at RSP+24) still has IF set: the instruction had no effect.
        EXPECT_TRUE(m.read<uint64_t>(m.s().gpr[cpu::RSP] + 24) & Rflags::IF);
    }
}

TEST(SystemCliSti, Cpl3WithIopl3IsAllowed) {
    TestMachine m;
    long64(m);
    enter_ring3(m);
    m.s().rflags |= Rflags::IF | Rflags::IOPL;
    m.load_code(Bytes{0xfa});
    m.run(1);
    EXPECT_EQ(m.halted_vector(), -1);
    EXPECT_FALSE(m.s().rflags & Rflags::IF);
    EXPECT_EQ(m.s().rip(), TestMachine::kCodeBase + 1);
}

TEST(SystemHlt, HaltsAfterTheInstructionAndIsPrivileged) {
    TestMachine m;
    long64(m);
    m.load_code(Bytes{0x90, 0xf4, 0x90});
    EXPECT_EQ(m.run(10).reason, cpu::ExitReason::Hlt);
    EXPECT_TRUE(m.s().halted);
    EXPECT_EQ(m.s().rip(), TestMachine::kCodeBase + 2);

    TestMachine u;
    long64(u);
    enter_ring3(u);
    EXPECT_EQ(run_for_vector(u, Bytes{0xf4}), 13);
    EXPECT_EQ(u.read<uint64_t>(u.s().gpr[cpu::RSP] + 8), TestMachine::kCodeBase);  // faulting RIP
}

// ---- CPUID / RDTSC ---------------------------------------------------------------------------

TEST(SystemCpuid, VendorAndLongModeBitComeFromTheModel) {
    TestMachine m;
    long64(m);
    m.s().gpr[cpu::RAX] = 0;
    m.s().gpr[cpu::RCX] = 0;
    m.load_code(Bytes{0x0f, 0xa2});
    m.run(1);
    char vendor[13] = {};
    const uint32_t regs[3] = {static_cast<uint32_t>(m.s().gpr[cpu::RBX]),
                              static_cast<uint32_t>(m.s().gpr[cpu::RDX]),
                              static_cast<uint32_t>(m.s().gpr[cpu::RCX])};
    std::memcpy(vendor, regs, 12);
    EXPECT_STREQ(vendor, "AuthenticAMD");
    EXPECT_GE(m.s().gpr[cpu::RAX], 1u);

    m.s().gpr[cpu::RAX] = 0x80000000;
    m.load_code(Bytes{0x0f, 0xa2});
    m.run(1);
    EXPECT_GE(m.s().gpr[cpu::RAX], 0x80000001u);

    // Fn8000_0001_EDX[29] is LM; the upper halves of RAX..RDX are cleared.
    m.s().gpr[cpu::RAX] = 0xffffffff80000001ull;
    m.s().gpr[cpu::RDX] = ~uint64_t{0};
    m.load_code(Bytes{0x0f, 0xa2});
    m.run(1);
    EXPECT_TRUE(m.s().gpr[cpu::RDX] & (1u << 29));
    EXPECT_EQ(m.s().gpr[cpu::RDX] >> 32, 0u);

    TestMachine n("max,-lm");
    long64(n);
    n.s().gpr[cpu::RAX] = 0x80000001;
    n.load_code(Bytes{0x0f, 0xa2});
    n.run(1);
    EXPECT_FALSE(n.s().gpr[cpu::RDX] & (1u << 29));
}

TEST(SystemRdtsc, IsMonotonicAndZeroExtends) {
    TestMachine m;
    long64(m);
    m.s().gpr[cpu::RAX] = m.s().gpr[cpu::RDX] = ~uint64_t{0};
    // rdtsc; mov r8, rax; mov r9, rdx; nop; nop; rdtsc
    m.load_code(Bytes{0x0f, 0x31, 0x49, 0x89, 0xc0, 0x49, 0x89, 0xd1, 0x90, 0x90, 0x0f, 0x31});
    m.run(6);
    const uint64_t t0 = (m.s().gpr[cpu::R9] << 32) | m.s().gpr[cpu::R8];
    const uint64_t t1 = (m.s().gpr[cpu::RDX] << 32) | m.s().gpr[cpu::RAX];
    EXPECT_EQ(m.s().gpr[cpu::R8] >> 32, 0u);
    EXPECT_EQ(m.s().gpr[cpu::R9] >> 32, 0u);
    EXPECT_GT(t1, t0);
}

TEST(SystemRdtsc, TimeStampDisableFaultsOnlyOutsideCpl0) {
    TestMachine m;
    long64(m);
    m.s().cr4 |= Cr4::TSD;
    m.load_code(Bytes{0x0f, 0x31});
    m.run(1);
    EXPECT_EQ(m.s().rip(), TestMachine::kCodeBase + 2);  // CPL 0: allowed

    TestMachine u;
    long64(u);
    enter_ring3(u);
    u.load_code(Bytes{0x0f, 0x31});
    u.run(1);
    EXPECT_EQ(u.s().rip(), TestMachine::kCodeBase + 2);  // TSD clear: allowed at CPL 3
    u.s().cr4 |= Cr4::TSD;
    EXPECT_EQ(run_for_vector(u, Bytes{0x0f, 0x31}), 13);  // APM Vol 3 "RDTSC": #GP(0)
}

// ---- RDMSR / WRMSR ---------------------------------------------------------------------------

// wrmsr; rdmsr into a fresh EDX:EAX; returns the value read back.
uint64_t msr_round_trip(TestMachine& m, uint32_t index, uint64_t value) {
    m.s().gpr[cpu::RCX] = index;
    m.s().gpr[cpu::RAX] = static_cast<uint32_t>(value);
    m.s().gpr[cpu::RDX] = value >> 32;
    // wrmsr; xor eax, eax; xor edx, edx; rdmsr
    m.load_code(Bytes{0x0f, 0x30, 0x31, 0xc0, 0x31, 0xd2, 0x0f, 0x32});
    m.run(4);
    EXPECT_EQ(m.halted_vector(), -1);
    return (m.s().gpr[cpu::RDX] << 32) | static_cast<uint32_t>(m.s().gpr[cpu::RAX]);
}

TEST(SystemMsr, RoundTripsSyscallMsrsAndPat) {
    TestMachine m;
    long64(m);
    EXPECT_EQ(msr_round_trip(m, kMsrStar, 0x0023001000000000ull), 0x0023001000000000ull);
    EXPECT_EQ(m.s().msr.star, 0x0023001000000000ull);
    EXPECT_EQ(msr_round_trip(m, kMsrLstar, 0xffffffff81000000ull), 0xffffffff81000000ull);
    EXPECT_EQ(msr_round_trip(m, kMsrKernelGs, 0x00007fff12345678ull), 0x00007fff12345678ull);
    EXPECT_EQ(m.s().msr.kernel_gs_base, 0x00007fff12345678ull);
    // PAT types 0 (UC), 1 (WC), 4 (WT), 5 (WP), 6 (WB), 7 (UC-) are valid.
    EXPECT_EQ(msr_round_trip(m, kMsrPat, 0x0007010600070406ull), 0x0007010600070406ull);
    EXPECT_EQ(m.s().msr.pat, 0x0007010600070406ull);
}

TEST(SystemMsr, PatResetValue) {
    TestMachine m;
    long64(m);
    m.s().gpr[cpu::RCX] = kMsrPat;
    m.load_code(Bytes{0x0f, 0x32});
    m.run(1);
    EXPECT_EQ(m.s().gpr[cpu::RAX], 0x00070406u);  // APM Vol 2, 7.8.2 "PAT Register"
    EXPECT_EQ(m.s().gpr[cpu::RDX], 0x00070406u);
}

// WRMSR that must #GP(0) and leave the MSR unchanged.
void expect_wrmsr_gp(uint32_t index, uint64_t value, uint64_t cpu::Msrs::*field = nullptr) {
    TestMachine m;
    long64(m);
    const uint64_t before = field ? m.s().msr.*field : 0;
    m.s().gpr[cpu::RCX] = index;
    m.s().gpr[cpu::RAX] = static_cast<uint32_t>(value);
    m.s().gpr[cpu::RDX] = value >> 32;
    EXPECT_EQ(run_for_vector(m, Bytes{0x0f, 0x30}), 13) << std::hex << index << " " << value;
    EXPECT_EQ(error_code64(m), 0u);
    if (field) {
        EXPECT_EQ(m.s().msr.*field, before);
    }
}

TEST(SystemMsr, InvalidWritesRaiseGp) {
    expect_wrmsr_gp(0x12345678, 0);                                        // no such MSR
    expect_wrmsr_gp(kMsrPat, 0x0007040600070402ull, &cpu::Msrs::pat);      // type 2 is reserved
    expect_wrmsr_gp(kMsrPat, 0x0807040600070406ull, &cpu::Msrs::pat);      // type 8 is reserved
    expect_wrmsr_gp(kMsrLstar, 0x0000800000000000ull, &cpu::Msrs::lstar);  // non-canonical
    expect_wrmsr_gp(kMsrKernelGs, 0x8000000000000000ull, &cpu::Msrs::kernel_gs_base);
}

TEST(SystemMsr, UnknownMsrReadRaisesGp) {
    TestMachine m;
    long64(m);
    m.s().gpr[cpu::RCX] = 0xc0001234;
    EXPECT_EQ(run_for_vector(m, Bytes{0x0f, 0x32}), 13);
}

TEST(SystemMsr, RdmsrAndWrmsrArePrivileged) {
    for (uint8_t op : {uint8_t{0x30}, uint8_t{0x32}}) {
        TestMachine m;
        long64(m);
        enter_ring3(m);
        m.s().gpr[cpu::RCX] = kMsrStar;
        EXPECT_EQ(run_for_vector(m, Bytes{0x0f, op}), 13);
        EXPECT_EQ(m.s().msr.star, 0u);
    }
}

TEST(SystemMsr, EferReservedBitsAndLmeWithPagingRaiseGp) {
    // APM Vol 2, 3.1.7 "Extended Feature Enable Register": reserved bits (and SVME without SVM
    // support) #GP; LME cannot change while paging is enabled.
    for (uint64_t bad : {uint64_t{1} << 1, uint64_t{1} << 9, uint64_t{1} << 40, Efer::SVME}) {
        TestMachine m("max,-svm");
        long64(m);
        const uint64_t efer = m.s().efer;
        m.s().gpr[cpu::RCX] = kMsrEfer;
        m.s().gpr[cpu::RAX] = static_cast<uint32_t>(efer | bad);
        m.s().gpr[cpu::RDX] = (efer | bad) >> 32;
        EXPECT_EQ(run_for_vector(m, Bytes{0x0f, 0x30}), 13) << std::hex << bad;
        EXPECT_EQ(m.s().efer, efer);
    }
    TestMachine m;
    long64(m);
    m.s().gpr[cpu::RCX] = kMsrEfer;
    m.s().gpr[cpu::RAX] = static_cast<uint32_t>(m.s().efer & ~Efer::LME);
    m.s().gpr[cpu::RDX] = 0;
    EXPECT_EQ(run_for_vector(m, Bytes{0x0f, 0x30}), 13);
    EXPECT_TRUE(m.s().efer & Efer::LME);

    // With paging off LME may change, and LMA is read-only (the written 1 is ignored).
    TestMachine p;
    prot32(p);
    p.s().gpr[cpu::RCX] = kMsrEfer;
    p.s().gpr[cpu::RAX] = Efer::LME | Efer::LMA;
    p.s().gpr[cpu::RDX] = 0;
    p.load_code(Bytes{0x0f, 0x30});
    p.run(1);
    EXPECT_EQ(p.halted_vector(), -1);
    EXPECT_EQ(p.s().efer, Efer::LME);
}

// ---- control registers -----------------------------------------------------------------------

TEST(SystemMovCr0, PagingWithoutProtectionRaisesGp) {
    TestMachine m;
    prot32(m);
    m.s().gpr[cpu::RAX] = Cr0::PG | Cr0::ET;
    EXPECT_EQ(run_for_vector(m, Bytes{0x0f, 0x22, 0xc0}), 13);  // mov cr0, eax
    EXPECT_EQ(m.read<uint32_t>(m.s().gpr[cpu::RSP]), 0u);
    EXPECT_TRUE(m.s().cr0 & Cr0::PE);
    EXPECT_FALSE(m.s().cr0 & Cr0::PG);
}

TEST(SystemMovCr0, EnablingPagingWithLmeActivatesLongModeThenFarJumpEnters64Bit) {
    TestMachine m;
    m.enter_long64();  // builds the identity page tables
    prot32(m);
    m.s().cr3 = TestMachine::kPml4;
    m.s().cr4 = Cr4::PAE;
    m.s().efer = Efer::LME;
    m.vcpu->state_changed();
    // mov eax, cr0; or eax, 0x80000000; mov cr0, eax; jmp 0x08:kCodeBase+0x20
    const Bytes code{0x0f, 0x20, 0xc0, 0x0d, 0x00, 0x00, 0x00, 0x80, 0x0f,
                     0x22, 0xc0, 0xea, 0x20, 0x00, 0x10, 0x00, 0x08, 0x00};
    m.load_code(code);
    m.write(TestMachine::kCodeBase + 0x20, Bytes{0x48, 0xc7, 0xc0, 0xff, 0xff, 0xff, 0xff}.data(),
            7);  // mov rax, -1
    m.run(3);
    EXPECT_TRUE(m.s().efer & Efer::LMA);  // APM Vol 2, 14.6.1 "Activating Long Mode"
    EXPECT_EQ(m.s().mode, cpu::CpuMode::Compatibility);
    m.run(2);
    EXPECT_EQ(m.s().mode, cpu::CpuMode::Long64);
    EXPECT_EQ(m.s().gpr[cpu::RAX], ~uint64_t{0});
}

TEST(SystemMovCr0, EnablingLongModeWithoutPaeRaisesGp) {
    TestMachine m;
    m.enter_long64();
    prot32(m);
    m.s().cr3 = TestMachine::kPml4;
    m.s().efer = Efer::LME;
    m.vcpu->state_changed();
    m.s().gpr[cpu::RAX] = Cr0::PG | Cr0::PE | Cr0::ET;
    EXPECT_EQ(run_for_vector(m, Bytes{0x0f, 0x22, 0xc0}), 13);
    EXPECT_FALSE(m.s().efer & Efer::LMA);
}

TEST(SystemMovCr0, LeavingPagingFrom64BitCodeRaisesGp) {
    TestMachine m;
    long64(m);
    // mov rax, cr0; and eax, 0x7fffffff; mov cr0, rax
    EXPECT_EQ(
        run_for_vector(m, Bytes{0x0f, 0x20, 0xc0, 0x25, 0xff, 0xff, 0xff, 0x7f, 0x0f, 0x22, 0xc0}),
        13);
    EXPECT_TRUE(m.s().cr0 & Cr0::PG);
    EXPECT_TRUE(m.s().efer & Efer::LMA);
    // Bits 63:32 of CR0 are reserved: #GP.
    TestMachine n;
    long64(n);
    n.s().gpr[cpu::RAX] = n.s().cr0 | (uint64_t{1} << 40);
    EXPECT_EQ(run_for_vector(n, Bytes{0x0f, 0x22, 0xc0}), 13);
}

TEST(SystemMovCr0, PrivilegedAtCpl3) {
    TestMachine m;
    long64(m);
    enter_ring3(m);
    EXPECT_EQ(run_for_vector(m, Bytes{0x0f, 0x20, 0xc0}), 13);  // even reads
}

TEST(SystemMovCr4, UnsupportedBitsAndClearingPaeInLongModeRaiseGp) {
    for (uint64_t bad : {uint64_t{1} << 30, Cr4::VME, Cr4::OSFXSR}) {
        TestMachine m;
        long64(m);
        m.s().gpr[cpu::RAX] = m.s().cr4 | bad;
        EXPECT_EQ(run_for_vector(m, Bytes{0x0f, 0x22, 0xe0}), 13) << std::hex << bad;
        EXPECT_EQ(m.s().cr4, Cr4::PAE);
    }
    TestMachine m;
    long64(m);
    m.s().gpr[cpu::RAX] = 0;
    EXPECT_EQ(run_for_vector(m, Bytes{0x0f, 0x22, 0xe0}), 13);
    // A supported bit is accepted.
    TestMachine ok;
    long64(ok);
    ok.s().gpr[cpu::RAX] = Cr4::PAE | Cr4::PGE | Cr4::TSD;
    ok.load_code(Bytes{0x0f, 0x22, 0xe0});
    ok.run(1);
    EXPECT_EQ(ok.s().cr4, Cr4::PAE | Cr4::PGE | Cr4::TSD);
}

// Remaps the 2 MiB page at kDataBase to physical 0x400000 behind the CPU's back.
void remap_data_page(TestMachine& m) {
    m.poke<uint64_t>(TestMachine::kPd + 8 * (TestMachine::kDataBase >> 21),
                     0x400000 | Pte::P | Pte::RW | Pte::US | Pte::PS);
}

TEST(SystemMovCr3, WriteFlushesTheTlb) {
    TestMachine m;
    long64(m);
    m.poke<uint32_t>(TestMachine::kDataBase, 0x11111111);
    m.poke<uint32_t>(0x400000, 0x22222222);
    m.s().gpr[cpu::RBX] = TestMachine::kDataBase;
    m.s().gpr[cpu::RCX] = TestMachine::kPml4;
    // mov eax, [rbx]; mov cr3, rcx; mov eax, [rbx]
    m.load_code(Bytes{0x8b, 0x03, 0x0f, 0x22, 0xd9, 0x8b, 0x03});
    m.run(1);
    EXPECT_EQ(m.s().gpr[cpu::RAX], 0x11111111u);
    remap_data_page(m);
    m.run(2);
    EXPECT_EQ(m.s().gpr[cpu::RAX], 0x22222222u);  // APM Vol 2, 5.5.2 "TLB Management"
}

TEST(SystemInvlpg, InvalidatesThePageAndIsPrivileged) {
    TestMachine m;
    long64(m);
    m.poke<uint32_t>(TestMachine::kDataBase, 0x11111111);
    m.poke<uint32_t>(0x400000, 0x22222222);
    m.s().gpr[cpu::RBX] = TestMachine::kDataBase;
    // mov eax, [rbx]; invlpg [rbx]; mov eax, [rbx]
    m.load_code(Bytes{0x8b, 0x03, 0x0f, 0x01, 0x3b, 0x8b, 0x03});
    m.run(1);
    EXPECT_EQ(m.s().gpr[cpu::RAX], 0x11111111u);
    remap_data_page(m);
    m.run(2);
    EXPECT_EQ(m.s().gpr[cpu::RAX], 0x22222222u);

    TestMachine u;
    long64(u);
    enter_ring3(u);
    EXPECT_EQ(run_for_vector(u, Bytes{0x0f, 0x01, 0x3b}), 13);
}

TEST(SystemMovCr8, OnlyIn64BitModeAndOnlyFourBits) {
    TestMachine m;
    long64(m);
    m.s().gpr[cpu::RAX] = 5;
    m.s().gpr[cpu::RCX] = ~uint64_t{0};
    m.load_code(
        Bytes{0x44, 0x0f, 0x22, 0xc0, 0x44, 0x0f, 0x20, 0xc1});  // mov cr8, rax; mov rcx, cr8
    m.run(2);
    EXPECT_EQ(m.s().cr8, 5u);
    EXPECT_EQ(m.s().gpr[cpu::RCX], 5u);
    m.s().gpr[cpu::RAX] = 16;
    EXPECT_EQ(run_for_vector(m, Bytes{0x44, 0x0f, 0x22, 0xc0}), 13);  // reserved bits 63:4
    EXPECT_EQ(m.s().cr8, 5u);

    // Outside 64-bit mode CR8 is reachable only through LOCK MOV CR0, which needs CPUID
    // AltMovCr8 (not in the model): #UD.
    TestMachine p;
    prot32(p);
    EXPECT_EQ(run_for_vector(p, Bytes{0xf0, 0x0f, 0x22, 0xc0}), 6);
}

TEST(SystemMovDr, Dr4Dr5AliasDr6Dr7UnlessDebugExtensions) {
    TestMachine m;
    long64(m);
    m.s().gpr[cpu::RAX] = 0x1;  // L0
    m.s().gpr[cpu::RCX] = 0;
    // mov dr5, rax (alias of DR7); mov rcx, dr5
    m.load_code(Bytes{0x0f, 0x23, 0xe8, 0x0f, 0x21, 0xe9});
    m.run(2);
    EXPECT_EQ(m.s().dr[7], kDr7Reset | 1);  // bit 10 reads as one (APM Vol 2, 13.1.1.5)
    EXPECT_EQ(m.s().gpr[cpu::RCX], kDr7Reset | 1);
    m.s().gpr[cpu::RAX] = 0x1;                               // B0
    m.load_code(Bytes{0x0f, 0x23, 0xe0, 0x0f, 0x21, 0xf1});  // mov dr4, rax; mov rcx, dr6
    m.run(2);
    EXPECT_EQ(m.s().gpr[cpu::RCX], kDr6Reset | 1);

    m.s().cr4 |= Cr4::DE;
    EXPECT_EQ(run_for_vector(m, Bytes{0x0f, 0x21, 0xe9}), 6);  // mov rcx, dr5: #UD with CR4.DE
    TestMachine n;
    long64(n);
    n.s().cr4 |= Cr4::DE;
    EXPECT_EQ(run_for_vector(n, Bytes{0x0f, 0x23, 0xe0}), 6);  // mov dr4, rax
    EXPECT_EQ(n.s().dr[6], kDr6Reset);
}

TEST(SystemMovDr, UpperHalfOfDr7IsReservedIn64BitMode) {
    TestMachine m;
    long64(m);
    m.s().gpr[cpu::RAX] = uint64_t{1} << 32;
    EXPECT_EQ(run_for_vector(m, Bytes{0x0f, 0x23, 0xf8}), 13);
}

// ---- descriptor-table registers --------------------------------------------------------------

TEST(SystemDescriptorTables, LgdtLidtSgdtSidtIn64BitMode) {
    TestMachine m;
    long64(m);
    const uint64_t src = TestMachine::kDataBase, dst = TestMachine::kDataBase + 0x100;
    m.poke<uint16_t>(src, 0x0fff);
    m.poke<uint64_t>(src + 2, 0xffff800000020000ull);
    m.poke<uint16_t>(src + 16, 0x01ff);
    m.poke<uint64_t>(src + 18, TestMachine::kIdt);
    m.s().gpr[cpu::RBX] = src;
    m.s().gpr[cpu::RCX] = src + 16;
    m.s().gpr[cpu::RDX] = dst;
    m.s().gpr[cpu::RSI] = dst + 16;
    m.poke<uint64_t>(dst + 10, 0xcccccccccccccccc);
    // lgdt [rbx]; lidt [rcx]; sgdt [rdx]; sidt [rsi]
    m.load_code(Bytes{0x0f, 0x01, 0x13, 0x0f, 0x01, 0x19, 0x0f, 0x01, 0x02, 0x0f, 0x01, 0x0e});
    m.run(4);
    EXPECT_EQ(m.s().gdtr.base, 0xffff800000020000ull);
    EXPECT_EQ(m.s().gdtr.limit, 0x0fffu);
    EXPECT_EQ(m.s().idtr.base, TestMachine::kIdt);
    EXPECT_EQ(m.s().idtr.limit, 0x01ffu);
    EXPECT_EQ(m.read<uint16_t>(dst), 0x0fffu);
    EXPECT_EQ(m.read<uint64_t>(dst + 2), 0xffff800000020000ull);
    EXPECT_EQ(m.read<uint16_t>(dst + 10), 0xccccu);  // 10 bytes stored, no more
    EXPECT_EQ(m.read<uint16_t>(dst + 16), 0x01ffu);
    EXPECT_EQ(m.read<uint64_t>(dst + 18), TestMachine::kIdt);
}

TEST(SystemDescriptorTables, NonCanonicalBaseAndCpl3LoadRaiseGp) {
    TestMachine m;
    long64(m);
    m.poke<uint16_t>(TestMachine::kDataBase, 0x0fff);
    m.poke<uint64_t>(TestMachine::kDataBase + 2, 0x0000800000000000ull);
    m.s().gpr[cpu::RBX] = TestMachine::kDataBase;
    EXPECT_EQ(run_for_vector(m, Bytes{0x0f, 0x01, 0x13}), 13);
    EXPECT_EQ(m.s().gdtr.base, TestMachine::kGdt);

    TestMachine u;
    long64(u);
    enter_ring3(u);
    u.s().gpr[cpu::RBX] = TestMachine::kDataBase;
    EXPECT_EQ(run_for_vector(u, Bytes{0x0f, 0x01, 0x1b}), 13);  // lidt at CPL 3
    // SGDT is not privileged (no UMIP in the model).
    u.s().halted = false;
    u.s().gdtr.base = TestMachine::kGdt;
    enter_ring3(u);
    u.load_code(Bytes{0x0f, 0x01, 0x03});
    u.run(1);
    EXPECT_EQ(u.s().rip(), TestMachine::kCodeBase + 3);
    EXPECT_EQ(u.read<uint64_t>(TestMachine::kDataBase + 2), TestMachine::kGdt);
}

TEST(SystemDescriptorTables, ThirtyTwoBitFormsUseSixBytes) {
    TestMachine m;
    prot32(m);
    const uint64_t src = TestMachine::kDataBase, dst = TestMachine::kDataBase + 0x100;
    m.poke<uint16_t>(src, 0x002f);
    m.poke<uint32_t>(src + 2, 0x89020000);
    m.poke<uint16_t>(src + 6, 0xeeee);
    m.poke<uint64_t>(dst, 0xcccccccccccccccc);
    m.s().gpr[cpu::RBX] = src;
    m.s().gpr[cpu::RDX] = dst;
    // lgdt [ebx]; sgdt [edx]
    m.load_code(Bytes{0x0f, 0x01, 0x13, 0x0f, 0x01, 0x02});
    m.run(2);
    EXPECT_EQ(m.s().gdtr.base, 0x89020000u);
    EXPECT_EQ(m.s().gdtr.limit, 0x2fu);
    EXPECT_EQ(m.read<uint16_t>(dst), 0x2fu);
    EXPECT_EQ(m.read<uint32_t>(dst + 2), 0x89020000u);
    EXPECT_EQ(m.read<uint16_t>(dst + 6), 0xccccu);
}

TEST(SystemDescriptorTables, SixteenBitLgdtLoadsA24BitBase) {
    // APM Vol 3 "LGDT": with a 16-bit operand size only 24 bits of base are loaded.
    TestMachine m;
    m.enter_real16();
    m.poke<uint16_t>(0x600, 0x0017);
    m.poke<uint32_t>(0x602, 0xaa123456);
    m.s().gpr[cpu::RBX] = 0x600;
    // lgdt [bx]; o32 lidt [bx]; sidt [bx+0x10]
    m.load_code(Bytes{0x0f, 0x01, 0x17, 0x66, 0x0f, 0x01, 0x1f, 0x0f, 0x01, 0x4f, 0x10});
    m.run(3);
    EXPECT_EQ(m.s().gdtr.base, 0x123456u);
    EXPECT_EQ(m.s().gdtr.limit, 0x17u);
    EXPECT_EQ(m.s().idtr.base, 0xaa123456u);
    EXPECT_EQ(m.read<uint16_t>(0x610), 0x17u);
    EXPECT_EQ(m.read<uint16_t>(0x612), 0x3456u);
    EXPECT_EQ(m.read<uint8_t>(0x614), 0x12u);
}

// ---- LMSW / SMSW / CLTS ----------------------------------------------------------------------

TEST(SystemLmsw, LoadsLowFourBitsButCannotClearPe) {
    TestMachine m;
    prot32(m);
    const uint64_t before = m.s().cr0;
    m.s().gpr[cpu::RAX] = 0xfffe;          // PE clear, MP/EM/TS set, other bits set too
    m.load_code(Bytes{0x0f, 0x01, 0xf0});  // lmsw ax
    m.run(1);
    EXPECT_EQ(m.halted_vector(), -1);
    EXPECT_TRUE(m.s().cr0 & Cr0::PE);  // APM Vol 3 "LMSW": cannot clear PE
    EXPECT_EQ(m.s().cr0 & 0xe, 0xeu);
    EXPECT_EQ(m.s().cr0 & ~uint64_t{0xf}, before & ~uint64_t{0xf});
    m.s().gpr[cpu::RAX] = 0;
    m.load_code(Bytes{0x0f, 0x01, 0xf0});
    m.run(1);
    EXPECT_EQ(m.s().cr0 & 0xf, Cr0::PE);

    // From real mode LMSW can set PE.
    TestMachine r;
    r.enter_real16();
    r.s().gpr[cpu::RAX] = 1;
    r.load_code(Bytes{0x0f, 0x01, 0xf0});
    r.run(1);
    EXPECT_TRUE(r.s().cr0 & Cr0::PE);
    EXPECT_EQ(r.s().mode, cpu::CpuMode::Protected);
}

TEST(SystemSmsw, StoresTheMachineStatusWordAndIsUnprivileged) {
    TestMachine m;
    long64(m);
    enter_ring3(m);
    m.s().cr0 |= Cr0::TS | Cr0::MP;
    m.poke<uint32_t>(TestMachine::kDataBase, 0xcccccccc);
    m.s().gpr[cpu::RBX] = TestMachine::kDataBase;
    m.s().gpr[cpu::RAX] = 0x1234567890abcdefull;
    // smsw [rbx]; smsw ax
    m.load_code(Bytes{0x0f, 0x01, 0x23, 0x66, 0x0f, 0x01, 0xe0});
    m.run(2);
    EXPECT_EQ(m.halted_vector(), -1);
    EXPECT_EQ(m.read<uint16_t>(TestMachine::kDataBase), static_cast<uint16_t>(m.s().cr0));
    EXPECT_EQ(m.read<uint16_t>(TestMachine::kDataBase + 2), 0xccccu);  // a 16-bit store
    EXPECT_EQ(m.s().gpr[cpu::RAX], 0x1234567890ab0000ull | static_cast<uint16_t>(m.s().cr0));
}

TEST(SystemClts, ClearsTsAndIsPrivileged) {
    TestMachine m;
    long64(m);
    m.s().cr0 |= Cr0::TS;
    m.load_code(Bytes{0x0f, 0x06});
    m.run(1);
    EXPECT_FALSE(m.s().cr0 & Cr0::TS);

    TestMachine u;
    long64(u);
    enter_ring3(u);
    u.s().cr0 |= Cr0::TS;
    EXPECT_EQ(run_for_vector(u, Bytes{0x0f, 0x06}), 13);
    EXPECT_TRUE(u.s().cr0 & Cr0::TS);
}

TEST(SystemSmap, StacClacToggleAcAndGateSupervisorAccessToUserPages) {
    TestMachine m("max");
    long64(m);
    // Code, stack and IDT live in the first 2 MiB: make it supervisor-only, or SMAP would stop
    // the CPU's own IDT reads. kDataBase (second 2 MiB) stays a user page.
    m.poke<uint64_t>(TestMachine::kPd, arch::Pte::P | arch::Pte::RW | arch::Pte::PS);
    m.s().cr4 |= arch::Cr4::SMAP;
    m.vcpu->state_changed();
    m.poke<uint32_t>(TestMachine::kDataBase, 0x1234);
    m.s().gpr[cpu::RBX] = TestMachine::kDataBase;
    // stac; mov eax, [rbx]; clac; mov eax, [rbx]  -> the second read is a SMAP #PF
    const Bytes code = {0x0f, 0x01, 0xcb, 0x8b, 0x03, 0x0f, 0x01, 0xca, 0x8b, 0x03};
    EXPECT_EQ(run_for_vector(m, code, 10), 14);
    EXPECT_EQ(m.s().gpr[cpu::RAX] & 0xffffffff, 0x1234u);
    EXPECT_EQ(m.s().cr2, TestMachine::kDataBase);
    // Without SMAP in the CPU model, STAC is #UD.
    TestMachine q("qemu64");
    long64(q);
    EXPECT_EQ(run_for_vector(q, Bytes{0x0f, 0x01, 0xcb}, 3), 6);
}

}  // namespace
}  // namespace vx86::test
