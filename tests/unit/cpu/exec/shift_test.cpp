// Shift and rotate family through decode-bind-execute: count masking, count 0, RCL/RCR modulo,
// the vx86 choices for undefined flags (AMD vectors the Intel host oracle cannot check), memory
// forms and faults. Random register forms are covered by the host oracle.
#include <gtest/gtest.h>

#include <vector>

#include "support/test_machine.h"

namespace vx86::test {
namespace {

using namespace arch::Rflags;
using Bytes = std::vector<uint8_t>;

struct Shift : ::testing::Test {
    Shift() {
        m.enter_long64();
        m.install_idt64();
    }
    // Runs `code` as one instruction from the given flags; returns the status flags after it.
    uint64_t run(const Bytes& code, uint64_t flags = 0) {
        m.s().set_rflags(FIXED1 | flags);
        m.load_code(code);
        EXPECT_EQ(m.run(1).reason, cpu::ExitReason::InsnLimit);
        EXPECT_EQ(m.s().rip(), TestMachine::kCodeBase + code.size());
        return m.s().get_rflags() & STATUS;
    }
    uint64_t& reg(unsigned r) { return m.s().gpr[r]; }
    TestMachine m;
};

TEST_F(Shift, ShlByOneSetsCarryAndOverflow) {
    reg(cpu::RAX) = 0xc0;
    EXPECT_EQ(run({0xd0, 0xe0}), CF | SF);  // shl al, 1: 0x80, CF = 1, OF = MSB ^ CF = 0
    EXPECT_EQ(reg(cpu::RAX), 0x80u);
    reg(cpu::RAX) = 0x40;
    EXPECT_EQ(run({0xd0, 0xe0}), OF | SF);  // 0x80: sign changed
}

TEST_F(Shift, CountZeroChangesNoFlagsButZeroExtends32BitRegister) {
    reg(cpu::RAX) = 0xdeadbeef12345678ull;
    reg(cpu::RCX) = 0x100;  // CL = 0
    EXPECT_EQ(run({0xd3, 0xe0}, STATUS), STATUS);  // shl eax, cl
    EXPECT_EQ(reg(cpu::RAX), 0x12345678u);
    reg(cpu::RAX) = 0xdeadbeef12345678ull;
    EXPECT_EQ(run({0x66, 0xc1, 0xe8, 0x20}, CF | OF), CF | OF);  // shr ax, 32: masked to 0
    EXPECT_EQ(reg(cpu::RAX), 0xdeadbeef12345678ull);
}

TEST_F(Shift, CountIsMaskedToFiveBitsOrSixFor64Bit) {
    reg(cpu::RAX) = 1;
    run({0xc1, 0xe0, 0x21});  // shl eax, 33 -> shl eax, 1
    EXPECT_EQ(reg(cpu::RAX), 2u);
    reg(cpu::RAX) = 1;
    run({0x48, 0xc1, 0xe0, 0x41});  // shl rax, 65 -> shl rax, 1
    EXPECT_EQ(reg(cpu::RAX), 2u);
    reg(cpu::RAX) = 1;
    run({0x48, 0xc1, 0xe0, 0x21});  // shl rax, 33 stays 33
    EXPECT_EQ(reg(cpu::RAX), 1ull << 33);
}

TEST_F(Shift, ByteShiftsPastTheWidth) {
    // AMD vector (CF undefined per the APM for counts >= width): vx86 shifts bit by bit.
    reg(cpu::RAX) = 0xff;
    EXPECT_EQ(run({0xc0, 0xe0, 0x09}, CF | AF), ZF | PF);  // shl al, 9: CF = 0, AF cleared
    EXPECT_EQ(reg(cpu::RAX) & 0xff, 0u);
    reg(cpu::RAX) = 0x81;
    EXPECT_EQ(run({0xc0, 0xe0, 0x08}), CF | OF | ZF | PF);  // shl al, 8: last bit out is bit 0
    reg(cpu::RAX) = 0x80;
    EXPECT_EQ(run({0xc0, 0xf8, 0x14}), CF | SF | PF);  // sar al, 20: 0xff, CF = sign
    EXPECT_EQ(reg(cpu::RAX) & 0xff, 0xffu);
}

TEST_F(Shift, OverflowForMultiBitShiftsIsTheLastStep) {
    // AMD vectors for OF, undefined for counts > 1: vx86 gives the flag of the final 1-bit step.
    reg(cpu::RAX) = 0x20;
    EXPECT_EQ(run({0xc0, 0xe0, 0x02}) & (OF | CF), OF);  // shl al, 2: 0x80, CF = 0, OF = 1
    reg(cpu::RAX) = 0x80;
    EXPECT_EQ(run({0xc0, 0xe8, 0x02}) & OF, 0u);  // shr al, 2: the last step shifted 0x40
    reg(cpu::RAX) = 0x80;
    EXPECT_EQ(run({0xd0, 0xe8}) & OF, OF);  // shr al, 1: OF = original MSB
    reg(cpu::RAX) = 0x80;
    EXPECT_EQ(run({0xd0, 0xf8}) & OF, 0u);  // sar al, 1: OF = 0
}

TEST_F(Shift, RotatesTouchOnlyCarryAndOverflow) {
    reg(cpu::RAX) = 0x81;
    // rol al, 1: 0x03; ZF/SF/AF/PF untouched.
    EXPECT_EQ(run({0xd0, 0xc0}, ZF | SF | AF | PF), CF | OF | ZF | SF | AF | PF);
    EXPECT_EQ(reg(cpu::RAX) & 0xff, 0x03u);
    reg(cpu::RAX) = 0x01;
    EXPECT_EQ(run({0xd0, 0xc8}), CF | OF);  // ror al, 1: 0x80, CF = MSB, OF = MSB ^ bit 6
    reg(cpu::RAX) = 0x12345678;
    run({0xc1, 0xc0, 0x08});  // rol eax, 8
    EXPECT_EQ(reg(cpu::RAX), 0x34567812u);
}

TEST_F(Shift, ByteRotateByAMultipleOfTheWidthWritesFlags) {
    reg(cpu::RAX) = 0x81;
    EXPECT_EQ(run({0xc0, 0xc0, 0x10}), CF);  // rol al, 16: value kept, CF = bit 0, OF = 1 ^ 1
    EXPECT_EQ(reg(cpu::RAX) & 0xff, 0x81u);
}

TEST_F(Shift, RotateThroughCarryTakesByteCountsModuloNine) {
    reg(cpu::RAX) = 0x80;
    EXPECT_EQ(run({0xc0, 0xd0, 0x0a}), CF | OF);  // rcl al, 10 == rcl al, 1: 0x00, CF = 1
    EXPECT_EQ(reg(cpu::RAX) & 0xff, 0u);
    // AMD vector: a count that is a multiple of 9 is a no-op and changes no flag.
    reg(cpu::RAX) = 0x80;
    EXPECT_EQ(run({0xc0, 0xd0, 0x12}, OF | ZF), OF | ZF);  // rcl al, 18
    EXPECT_EQ(reg(cpu::RAX) & 0xff, 0x80u);
    reg(cpu::RAX) = 0x1234;
    EXPECT_EQ(run({0x66, 0xc1, 0xd8, 0x11}, CF), CF);  // rcr ax, 17
    EXPECT_EQ(reg(cpu::RAX) & 0xffff, 0x1234u);
}

TEST_F(Shift, RotateThroughCarryUsesIncomingCarry) {
    reg(cpu::RAX) = 1;
    EXPECT_EQ(run({0xd1, 0xd8}, CF), CF | OF);  // rcr eax, 1 with CF = 1: 0x80000000
    EXPECT_EQ(reg(cpu::RAX), 0x80000000u);
    reg(cpu::RAX) = 0x8000000000000000ull;
    EXPECT_EQ(run({0x48, 0xc1, 0xd0, 0x02}, CF), 0u);  // rcl rax, 2: CF in at bit 1
    EXPECT_EQ(reg(cpu::RAX), 3u);
}

TEST_F(Shift, ShldShrd32And64) {
    reg(cpu::RDX) = 0x12345678;
    reg(cpu::RAX) = 0x9abcdef0;
    EXPECT_EQ(run({0x0f, 0xac, 0xc2, 0x08}) & (CF | SF | OF | AF), SF);  // shrd edx, eax, 8
    EXPECT_EQ(reg(cpu::RDX), 0xf0123456u);
    reg(cpu::RDX) = 0x8000000000000001ull;
    reg(cpu::RAX) = 0xc000000000000000ull;
    reg(cpu::RCX) = 2;
    EXPECT_EQ(run({0x48, 0x0f, 0xa5, 0xc2}) & CF, 0u);  // shld rdx, rax, cl
    EXPECT_EQ(reg(cpu::RDX), 0x7u);
    reg(cpu::RDX) = 0x80000000;
    reg(cpu::RAX) = 0;
    EXPECT_EQ(run({0x0f, 0xa4, 0xc2, 0x01}), CF | OF | ZF | PF);  // shld edx, eax, 1: 0
}

TEST_F(Shift, Shld16PastSixteenShiftsDstSrcDst) {
    // AMD vector for an undefined result: vx86 shifts the 48-bit value dst:src:dst (the Intel
    // host agrees).
    reg(cpu::RAX) = 0x1234;  // dst
    reg(cpu::RBX) = 0x5678;  // src
    const uint64_t f = run({0x66, 0x0f, 0xa4, 0xd8, 0x14});  // shld ax, bx, 20
    EXPECT_EQ(reg(cpu::RAX) & 0xffff, 0x6781u);
    EXPECT_TRUE(f & CF);  // bit 28 of 0x123456781234
    reg(cpu::RAX) = 0x1234;
    run({0x66, 0x0f, 0xac, 0xd8, 0x14});  // shrd ax, bx, 20
    EXPECT_EQ(reg(cpu::RAX) & 0xffff, 0x4567u);
}

TEST_F(Shift, MemoryDestination) {
    m.poke<uint32_t>(TestMachine::kDataBase, 0x0fffffff);
    reg(cpu::RBX) = TestMachine::kDataBase;
    EXPECT_EQ(run({0xc1, 0x23, 0x04}), SF | PF | OF);  // shl dword [rbx], 4
    EXPECT_EQ(m.read<uint32_t>(TestMachine::kDataBase), 0xfffffff0u);
    m.poke<uint16_t>(TestMachine::kDataBase, 0x8001);
    reg(cpu::RCX) = 1;
    EXPECT_EQ(run({0x66, 0xd3, 0x0b}), CF);  // ror word [rbx], cl: 0xc000
    EXPECT_EQ(m.read<uint16_t>(TestMachine::kDataBase), 0xc000u);
}

TEST_F(Shift, ReadOnlyMemoryFaultsWithNothingChanged) {
    constexpr uint64_t kRo = 0x400000;
    m.make_read_only_2m(kRo);
    m.poke<uint32_t>(kRo, 0x11223344);
    reg(cpu::RBX) = kRo;
    m.s().set_rflags(FIXED1 | CF | ZF);
    m.load_code(Bytes{0xd1, 0x23});  // shl dword [rbx], 1
    m.run(2);
    EXPECT_EQ(m.halted_vector(), 14);
    EXPECT_EQ(m.read<uint32_t>(kRo), 0x11223344u);
    EXPECT_EQ(m.s().get_rflags() & STATUS, CF | ZF);
}

TEST_F(Shift, SixteenBitOperandsMergeInRealMode) {
    TestMachine r;
    r.enter_real16();
    r.s().gpr[cpu::RAX] = 0xabcd8001;
    r.load_code(Bytes{0xd1, 0xf8});  // sar ax, 1
    r.run(1);
    EXPECT_EQ(r.s().gpr[cpu::RAX], 0xabcdc000u);
    EXPECT_TRUE(r.s().get_rflags() & CF);
}

}  // namespace
}  // namespace vx86::test
