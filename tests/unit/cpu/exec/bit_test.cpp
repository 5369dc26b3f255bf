// Bit family: BT* register and memory forms (signed bit offsets that reach outside the operand),
// BSF/BSR with a zero source (AMD: destination unchanged), LZCNT/TZCNT/POPCNT, BMI1, the vx86
// choices for undefined flags, CPUID gating and fault atomicity.
#include <gtest/gtest.h>

#include <vector>

#include "support/test_machine.h"

namespace vx86::test {
namespace {

using namespace arch::Rflags;
using Bytes = std::vector<uint8_t>;

constexpr uint64_t kData = TestMachine::kDataBase + 0x100;

struct Bit : ::testing::Test {
    explicit Bit(const char* cpu = "max") : m(cpu) {
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
        m.load_code(code);
        m.run(2);
        return m.halted_vector();
    }
    uint64_t& reg(unsigned r) { return m.s().gpr[r]; }
    TestMachine m;
};

TEST_F(Bit, BtRegisterOffsetIsTakenModuloTheWidth) {
    reg(cpu::RAX) = 0x8;
    reg(cpu::RCX) = 35;
    // AMD vector: OF/SF/AF/PF (undefined) are left as they were.
    EXPECT_EQ(run({0x0f, 0xa3, 0xc8}, OF | SF | AF | PF), CF | OF | SF | AF | PF);  // bt eax, ecx
    reg(cpu::RCX) = 36;
    EXPECT_EQ(run({0x0f, 0xa3, 0xc8}, CF), 0u);
}

TEST_F(Bit, BtsBtrBtcRegisterForms) {
    reg(cpu::RAX) = 0;
    EXPECT_EQ(run({0x48, 0x0f, 0xba, 0xe8, 0x3f}), 0u);  // bts rax, 63
    EXPECT_EQ(reg(cpu::RAX), 0x8000000000000000ull);
    EXPECT_EQ(run({0x48, 0x0f, 0xba, 0xf0, 0x7f}), CF);  // btr rax, 127 -> bit 63
    EXPECT_EQ(reg(cpu::RAX), 0u);
    reg(cpu::RAX) = 0xffffffff00000000ull;
    EXPECT_EQ(run({0x0f, 0xba, 0xf8, 0x21}), 0u);  // btc eax, 33 -> bit 1, zero-extends
    EXPECT_EQ(reg(cpu::RAX), 2u);
    reg(cpu::RAX) = 0xffff0000;
    reg(cpu::RCX) = 0x10;
    EXPECT_EQ(run({0x66, 0x0f, 0xbb, 0xc8}), 0u);  // btc ax, cx: bit 0 of AX
    EXPECT_EQ(reg(cpu::RAX), 0xffff0001u);
}

TEST_F(Bit, MemoryFormWithNegativeRegisterOffsetAddressesBelowTheOperand) {
    m.poke<uint32_t>(kData - 4, 0);
    m.poke<uint32_t>(kData, 0);
    reg(cpu::RBX) = kData;
    reg(cpu::RCX) = ~uint64_t{0};  // -1: bit 31 of the dword at kData - 4
    EXPECT_EQ(run({0x0f, 0xab, 0x0b}), 0u);  // bts [rbx], ecx
    EXPECT_EQ(m.read<uint32_t>(kData - 4), 0x80000000u);
    EXPECT_EQ(m.read<uint32_t>(kData), 0u);
    reg(cpu::RCX) = static_cast<uint64_t>(-33);  // dword at kData - 8, bit 31
    m.poke<uint32_t>(kData - 8, 0x80000000);
    EXPECT_EQ(run({0x0f, 0xb3, 0x0b}), CF);  // btr [rbx], ecx
    EXPECT_EQ(m.read<uint32_t>(kData - 8), 0u);
}

TEST_F(Bit, MemoryFormWithLargeOffsetsPerOperandSize) {
    m.poke<uint64_t>(kData + 8, 0x20);
    reg(cpu::RBX) = kData;
    reg(cpu::RCX) = 64 + 5;
    EXPECT_EQ(run({0x48, 0x0f, 0xa3, 0x0b}), CF);  // bt [rbx], rcx: qword at +8, bit 5
    m.poke<uint16_t>(kData + 2, 0);
    reg(cpu::RCX) = 0xffff0011;  // 16-bit offset 17 (upper bits ignored): word at +2, bit 1
    EXPECT_EQ(run({0x66, 0x0f, 0xab, 0x0b}), 0u);  // bts [rbx], cx
    EXPECT_EQ(m.read<uint16_t>(kData + 2), 2u);
    reg(cpu::RCX) = 0x10000000;  // 2^28 bits = 32 MiB above
    m.poke<uint32_t>(kData + 0x2000000, 1);
    EXPECT_EQ(run({0x0f, 0xa3, 0x0b}), CF);  // bt [rbx], ecx
}

TEST(BitReal, NegativeBitOffsetWrapsWithTheAddressSize) {
    TestMachine m;
    m.enter_real16();
    m.poke<uint16_t>(0xfffe, 0x8000);
    m.s().gpr[cpu::RBX] = 0;
    m.s().gpr[cpu::RAX] = 0xffff;  // -1: bit 15 of the word at DS:(0 - 2) = DS:0xfffe
    m.load_code(Bytes{0x0f, 0xb3, 0x07});  // btr [bx], ax
    m.run(1);
    EXPECT_EQ(m.read<uint16_t>(0xfffe), 0u);
    EXPECT_TRUE(m.s().get_rflags() & CF);
}

TEST_F(Bit, MemoryFormWithImmediateStaysInsideTheOperand) {
    m.poke<uint32_t>(kData, 0);
    reg(cpu::RBX) = kData;
    run({0x0f, 0xba, 0x2b, 0x25});  // bts dword [rbx], 37 -> bit 5
    EXPECT_EQ(m.read<uint32_t>(kData), 0x20u);
}

TEST_F(Bit, BtsToReadOnlyMemoryFaultsWithNothingChanged) {
    constexpr uint64_t kRo = 0x400000;
    m.make_read_only_2m(kRo);
    m.poke<uint32_t>(kRo, 0);
    reg(cpu::RBX) = kRo;
    reg(cpu::RCX) = 3;
    m.s().set_rflags(FIXED1 | CF);
    EXPECT_EQ(run_for_vector({0xf0, 0x0f, 0xab, 0x0b}), 14);  // lock bts [rbx], ecx
    EXPECT_EQ(m.read<uint32_t>(kRo), 0u);
    EXPECT_EQ(m.s().get_rflags() & STATUS, CF);
}

TEST_F(Bit, BsfBsrZeroSourceLeavesDestinationAndSetsZf) {
    reg(cpu::RAX) = 0xdeadbeef12345678ull;
    reg(cpu::RBX) = 0xffffffff00000000ull;
    // AMD: "does not change the destination" -- all 64 bits, no zero-extension; other flags kept.
    EXPECT_EQ(run({0x0f, 0xbc, 0xc3}, CF | SF), CF | SF | ZF);  // bsf eax, ebx
    EXPECT_EQ(reg(cpu::RAX), 0xdeadbeef12345678ull);
    EXPECT_EQ(run({0x66, 0x0f, 0xbd, 0xc3}), ZF);  // bsr ax, bx
    EXPECT_EQ(reg(cpu::RAX), 0xdeadbeef12345678ull);
}

TEST_F(Bit, BsfBsrFindBits) {
    reg(cpu::RBX) = 0x8000000000000000ull;
    // AMD vector: CF/OF/SF/AF cleared, PF from the index (63 = six ones: even).
    EXPECT_EQ(run({0x48, 0x0f, 0xbc, 0xc3}, STATUS), PF);  // bsf rax, rbx
    EXPECT_EQ(reg(cpu::RAX), 63u);
    reg(cpu::RBX) = 0x00f0;
    EXPECT_EQ(run({0x0f, 0xbd, 0xc3}), 0u);  // bsr eax, ebx: 7 (three ones: odd)
    EXPECT_EQ(reg(cpu::RAX), 7u);
    reg(cpu::RAX) = 0xffffffffffffffffull;
    run({0x66, 0x0f, 0xbc, 0xc3});  // bsf ax, bx: 4, merged
    EXPECT_EQ(reg(cpu::RAX), 0xffffffffffff0004ull);
}

TEST_F(Bit, LzcntTzcnt) {
    reg(cpu::RBX) = 0;
    EXPECT_EQ(run({0xf3, 0x0f, 0xbd, 0xc3}), CF);  // lzcnt eax, ebx: 32
    EXPECT_EQ(reg(cpu::RAX), 32u);
    reg(cpu::RBX) = 0x8000;
    EXPECT_EQ(run({0x66, 0xf3, 0x0f, 0xbd, 0xc3}, SF | OF), ZF | SF | OF);  // lzcnt ax, bx: 0
    EXPECT_EQ(reg(cpu::RAX) & 0xffff, 0u);
    reg(cpu::RBX) = 0;
    EXPECT_EQ(run({0xf3, 0x48, 0x0f, 0xbc, 0xc3}), CF);  // tzcnt rax, rbx: 64
    EXPECT_EQ(reg(cpu::RAX), 64u);
    reg(cpu::RBX) = 0x100;
    EXPECT_EQ(run({0xf3, 0x0f, 0xbc, 0xc3}), 0u);  // tzcnt eax, ebx: 8
    EXPECT_EQ(reg(cpu::RAX), 8u);
}

TEST_F(Bit, Popcnt) {
    reg(cpu::RBX) = 0xf0f0f0f0f0f0f0f0ull;
    EXPECT_EQ(run({0xf3, 0x48, 0x0f, 0xb8, 0xc3}, STATUS), 0u);  // popcnt rax, rbx
    EXPECT_EQ(reg(cpu::RAX), 32u);
    reg(cpu::RBX) = 0;
    EXPECT_EQ(run({0xf3, 0x0f, 0xb8, 0xc3}, CF | OF), ZF);
    EXPECT_EQ(reg(cpu::RAX), 0u);
}

TEST_F(Bit, Andn) {
    reg(cpu::RBX) = 0xff00;  // vvvv
    reg(cpu::RCX) = 0xfff0;
    // andn eax, ebx, ecx. AMD vector: AF cleared, PF (undefined) kept.
    EXPECT_EQ(run({0xc4, 0xe2, 0x60, 0xf2, 0xc1}, CF | OF | AF | PF), PF);
    EXPECT_EQ(reg(cpu::RAX), 0xf0u);
    reg(cpu::RBX) = ~uint64_t{0};
    EXPECT_EQ(run({0xc4, 0xe2, 0xe0, 0xf2, 0xc1}), ZF);  // andn rax, rbx, rcx
}

TEST_F(Bit, Bextr) {
    reg(cpu::RCX) = 0x12345678;
    reg(cpu::RBX) = 0x0804;  // start 4, length 8
    EXPECT_EQ(run({0xc4, 0xe2, 0x60, 0xf7, 0xc1}, CF | OF | SF), 0u);  // bextr eax, ecx, ebx
    EXPECT_EQ(reg(cpu::RAX), 0x67u);
    reg(cpu::RBX) = 0xff20;  // start 32 >= 32: zero
    EXPECT_EQ(run({0xc4, 0xe2, 0x60, 0xf7, 0xc1}), ZF);
    EXPECT_EQ(reg(cpu::RAX), 0u);
    reg(cpu::RCX) = 0x8000000000000000ull;
    reg(cpu::RBX) = 0xff3f;  // start 63, length 255: one bit
    run({0xc4, 0xe2, 0xe0, 0xf7, 0xc1});  // bextr rax, rcx, rbx
    EXPECT_EQ(reg(cpu::RAX), 1u);
}

TEST_F(Bit, BlsiBlsmskBlsr) {
    reg(cpu::RCX) = 0x0ff0;
    EXPECT_EQ(run({0xc4, 0xe2, 0x78, 0xf3, 0xd9}), CF);  // blsi eax, ecx: 0x10
    EXPECT_EQ(reg(cpu::RAX), 0x10u);
    EXPECT_EQ(run({0xc4, 0xe2, 0x78, 0xf3, 0xd1}), 0u);  // blsmsk eax, ecx: 0x1f
    EXPECT_EQ(reg(cpu::RAX), 0x1fu);
    EXPECT_EQ(run({0xc4, 0xe2, 0x78, 0xf3, 0xc9}), 0u);  // blsr eax, ecx: 0xfe0
    EXPECT_EQ(reg(cpu::RAX), 0xfe0u);
    reg(cpu::RCX) = 0;
    EXPECT_EQ(run({0xc4, 0xe2, 0xf8, 0xf3, 0xd1}), CF | SF);  // blsmsk rax, rcx: all ones
    EXPECT_EQ(reg(cpu::RAX), ~uint64_t{0});
    EXPECT_EQ(run({0xc4, 0xe2, 0xf8, 0xf3, 0xc9}), CF | ZF);  // blsr rax, rcx: 0
    EXPECT_EQ(run({0xc4, 0xe2, 0xf8, 0xf3, 0xd9}), ZF);       // blsi rax, rcx: 0, CF = 0
}

TEST_F(Bit, BlsiFromMemory) {
    m.poke<uint64_t>(kData, 0x600);
    reg(cpu::RBX) = kData;
    run({0xc4, 0xe2, 0xf8, 0xf3, 0x1b});  // blsi rax, [rbx]
    EXPECT_EQ(reg(cpu::RAX), 0x200u);
}

struct BitWithoutBmi : Bit {
    BitWithoutBmi() : Bit("max,-bmi1,-abm,-popcnt") {}
};

TEST_F(BitWithoutBmi, Bmi1AndPopcntAreUd) {
    EXPECT_EQ(run_for_vector({0xc4, 0xe2, 0x60, 0xf2, 0xc1}), 6);  // andn
    m.s().halted = false;
    EXPECT_EQ(run_for_vector({0xf3, 0x0f, 0xb8, 0xc3}), 6);  // popcnt
}

TEST_F(BitWithoutBmi, LzcntWithoutAbmExecutesAsBsr) {
    // F3 0F BD is BSR with an ignored REP prefix on a CPU without LZCNT.
    reg(cpu::RBX) = 0x100;
    run({0xf3, 0x0f, 0xbd, 0xc3});
    EXPECT_EQ(reg(cpu::RAX), 8u);
}

}  // namespace
}  // namespace vx86::test
