// Compare-exchange and exchange-add family: CMPXCHG success and failure (register destination
// untouched on failure, memory destination always written), CMPXCHG8B/16B including alignment,
// CPUID and register-form faults, XADD, and the LOCK rule.
#include <gtest/gtest.h>

#include <vector>

#include "support/test_machine.h"

namespace vx86::test {
namespace {

using namespace arch::Rflags;
using Bytes = std::vector<uint8_t>;

constexpr uint64_t kData = TestMachine::kDataBase + 0x200;
constexpr uint64_t kRo = 0x400000;

struct Atomic : ::testing::Test {
    explicit Atomic(const char* cpu = "max") : m(cpu) {
        m.enter_long64();
        m.install_idt64();
    }
    uint64_t run(const Bytes& code, uint64_t flags = 0) {
        m.s().set_rflags(FIXED1 | flags);
        m.load_code(code);
        EXPECT_EQ(m.run(1).reason, cpu::ExitReason::InsnLimit);
        EXPECT_EQ(m.s().rip(), TestMachine::kCodeBase + code.size());
        return m.s().get_rflags() & STATUS;
    }
    int run_for_vector(const Bytes& code) {
        m.s().halted = false;
        m.load_code(code);
        m.run(2);
        return m.halted_vector();
    }
    uint64_t& reg(unsigned r) { return m.s().gpr[r]; }
    TestMachine m;
};

TEST_F(Atomic, CmpxchgRegisterSuccess) {
    reg(cpu::RAX) = 5;
    reg(cpu::RBX) = 0xaaaaaaaa00000005ull;
    reg(cpu::RCX) = 9;
    EXPECT_EQ(run({0x0f, 0xb1, 0xcb}), ZF | PF);  // cmpxchg ebx, ecx
    EXPECT_EQ(reg(cpu::RBX), 9u);
    EXPECT_EQ(reg(cpu::RAX), 5u);
}

TEST_F(Atomic, CmpxchgRegisterFailureLeavesDestinationAlone) {
    reg(cpu::RAX) = 0xffffffff00000001ull;
    reg(cpu::RBX) = 0xaaaaaaaa00000002ull;
    reg(cpu::RCX) = 9;
    // Flags of CMP EAX, EBX: 1 - 2.
    EXPECT_EQ(run({0x0f, 0xb1, 0xcb}), CF | SF | AF | PF);
    EXPECT_EQ(reg(cpu::RAX), 2u);                       // EAX loaded, zero-extended
    EXPECT_EQ(reg(cpu::RBX), 0xaaaaaaaa00000002ull);  // not written, so not zero-extended
}

TEST_F(Atomic, Cmpxchg8BitAndHighByte) {
    reg(cpu::RAX) = 0x1234;
    reg(cpu::RCX) = 0x3400;  // CH = 0x34 equals AL
    reg(cpu::RDX) = 0x77;
    EXPECT_EQ(run({0x0f, 0xb0, 0xd5}) & ZF, ZF);  // cmpxchg ch, dl
    EXPECT_EQ(reg(cpu::RCX), 0x7700u);
}

TEST_F(Atomic, CmpxchgMemory) {
    m.poke<uint64_t>(kData, 42);
    reg(cpu::RSI) = kData;
    reg(cpu::RAX) = 42;
    reg(cpu::RDX) = 7;
    EXPECT_EQ(run({0xf0, 0x48, 0x0f, 0xb1, 0x16}) & ZF, ZF);  // lock cmpxchg [rsi], rdx
    EXPECT_EQ(m.read<uint64_t>(kData), 7u);
    EXPECT_EQ(run({0x48, 0x0f, 0xb1, 0x16}) & ZF, 0u);  // fails now: RAX = 7
    EXPECT_EQ(reg(cpu::RAX), 7u);
    EXPECT_EQ(m.read<uint64_t>(kData), 7u);
}

TEST_F(Atomic, CmpxchgFailureStillWritesMemory) {
    // APM "CMPXCHG": the destination receives a write cycle whatever the comparison gives, so
    // a read-only destination faults even when nothing would change -- and the fault leaves
    // rAX and the flags as they were.
    m.make_read_only_2m(kRo);
    m.poke<uint32_t>(kRo, 1);
    reg(cpu::RSI) = kRo;
    reg(cpu::RAX) = 2;
    m.s().set_rflags(FIXED1 | ZF);
    EXPECT_EQ(run_for_vector({0x0f, 0xb1, 0x16}), 14);  // cmpxchg [rsi], edx
    EXPECT_EQ(reg(cpu::RAX), 2u);
    EXPECT_EQ(m.s().get_rflags() & STATUS, ZF);
}

TEST_F(Atomic, Cmpxchg8b) {
    m.poke<uint64_t>(kData, 0x1111111122222222ull);
    reg(cpu::RDI) = kData;
    reg(cpu::RDX) = 0xffffffff11111111ull;
    reg(cpu::RAX) = 0xffffffff22222222ull;
    reg(cpu::RCX) = 0x33333333;
    reg(cpu::RBX) = 0x44444444;
    EXPECT_EQ(run({0x0f, 0xc7, 0x0f}, CF), CF | ZF);  // cmpxchg8b [rdi]: only ZF written
    EXPECT_EQ(m.read<uint64_t>(kData), 0x3333333344444444ull);
    EXPECT_EQ(reg(cpu::RAX), 0xffffffff22222222ull);  // untouched on success
    EXPECT_EQ(run({0x0f, 0xc7, 0x0f}, ZF), 0u);         // now different
    EXPECT_EQ(reg(cpu::RAX), 0x44444444u);              // zero-extended on failure
    EXPECT_EQ(reg(cpu::RDX), 0x33333333u);
}

TEST_F(Atomic, Cmpxchg16b) {
    m.poke<uint64_t>(kData, 1);
    m.poke<uint64_t>(kData + 8, 2);
    reg(cpu::RDI) = kData;
    reg(cpu::RAX) = 1;
    reg(cpu::RDX) = 2;
    reg(cpu::RBX) = 3;
    reg(cpu::RCX) = 4;
    EXPECT_EQ(run({0x48, 0x0f, 0xc7, 0x0f}) & ZF, ZF);  // cmpxchg16b [rdi]
    EXPECT_EQ(m.read<uint64_t>(kData), 3u);
    EXPECT_EQ(m.read<uint64_t>(kData + 8), 4u);
    EXPECT_EQ(run({0x48, 0x0f, 0xc7, 0x0f}, ZF) & ZF, 0u);
    EXPECT_EQ(reg(cpu::RAX), 3u);
    EXPECT_EQ(reg(cpu::RDX), 4u);
}

TEST_F(Atomic, Cmpxchg16bMisalignedIsGp) {
    reg(cpu::RDI) = kData + 8;
    reg(cpu::RAX) = 0x55;
    EXPECT_EQ(run_for_vector({0x48, 0x0f, 0xc7, 0x0f}), 13);
    EXPECT_EQ(reg(cpu::RAX), 0x55u);
}

TEST_F(Atomic, RegisterFormsOfCmpxchg8bAnd16bAreUd) {
    EXPECT_EQ(run_for_vector({0x0f, 0xc7, 0xc8}), 6);        // cmpxchg8b eax
    EXPECT_EQ(run_for_vector({0x48, 0x0f, 0xc7, 0xc8}), 6);  // cmpxchg16b rax
}

struct AtomicWithoutCx16 : Atomic {
    AtomicWithoutCx16() : Atomic("max,-cx16") {}
};

TEST_F(AtomicWithoutCx16, Cmpxchg16bIsUd) {
    reg(cpu::RDI) = kData;
    EXPECT_EQ(run_for_vector({0x48, 0x0f, 0xc7, 0x0f}), 6);
}

TEST_F(Atomic, XaddRegister) {
    reg(cpu::RAX) = 0xffffffff;
    reg(cpu::RBX) = 1;
    EXPECT_EQ(run({0x0f, 0xc1, 0xd8}), CF | ZF | AF | PF);  // xadd eax, ebx
    EXPECT_EQ(reg(cpu::RAX), 0u);
    EXPECT_EQ(reg(cpu::RBX), 0xffffffffu);
    reg(cpu::RAX) = 0x21;
    run({0x0f, 0xc1, 0xc0});  // xadd eax, eax: the sum wins
    EXPECT_EQ(reg(cpu::RAX), 0x42u);
}

TEST_F(Atomic, XaddMemory) {
    m.poke<uint16_t>(kData, 0x7fff);
    reg(cpu::RSI) = kData;
    reg(cpu::RCX) = 0xabcd0001;
    EXPECT_EQ(run({0xf0, 0x66, 0x0f, 0xc1, 0x0e}) & (OF | SF), OF | SF);  // lock xadd [rsi], cx
    EXPECT_EQ(m.read<uint16_t>(kData), 0x8000u);
    EXPECT_EQ(reg(cpu::RCX), 0xabcd7fffu);
}

TEST_F(Atomic, XaddToReadOnlyMemoryChangesNothing) {
    m.make_read_only_2m(kRo);
    reg(cpu::RSI) = kRo;
    reg(cpu::RCX) = 5;
    EXPECT_EQ(run_for_vector({0x0f, 0xc1, 0x0e}), 14);
    EXPECT_EQ(reg(cpu::RCX), 5u);
}

TEST_F(Atomic, LockWithRegisterDestinationIsUd) {
    EXPECT_EQ(run_for_vector({0xf0, 0x0f, 0xc1, 0xd8}), 6);  // lock xadd eax, ebx
    EXPECT_EQ(run_for_vector({0xf0, 0x0f, 0xb1, 0xcb}), 6);  // lock cmpxchg ebx, ecx
}

}  // namespace
}  // namespace vx86::test
