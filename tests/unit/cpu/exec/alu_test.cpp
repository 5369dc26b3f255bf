// ALU family through the full decode-bind-execute path in 64-bit, 32-bit and real mode.
// Flag results are checked against hand-computed values; the host oracle covers random operands.
#include <gtest/gtest.h>

#include "support/test_machine.h"

namespace vx86::test {
namespace {

using namespace arch::Rflags;

TEST(Alu, AddSetsCarryAndZeroIn64BitMode) {
    TestMachine m;
    m.enter_long64();
    m.s().gpr[cpu::RAX] = ~uint64_t{0};
    m.s().gpr[cpu::RBX] = 1;
    const uint8_t code[] = {0x48, 0x01, 0xd8};  // add rax, rbx
    m.load_code(code);
    EXPECT_EQ(m.run(1).reason, cpu::ExitReason::InsnLimit);
    EXPECT_EQ(m.s().gpr[cpu::RAX], 0u);
    const uint64_t f = m.s().get_rflags();
    EXPECT_TRUE(f & CF);
    EXPECT_TRUE(f & ZF);
    EXPECT_TRUE(f & AF);
    EXPECT_FALSE(f & OF);
    EXPECT_EQ(m.s().rip(), TestMachine::kCodeBase + 3);
}

TEST(Alu, Sub32ZeroExtendsAndSetsSignOverflow) {
    TestMachine m;
    m.enter_long64();
    m.s().gpr[cpu::RCX] = 0xffffffff80000000ull;
    const uint8_t code[] = {0x83, 0xe9, 0x01};  // sub ecx, 1
    m.load_code(code);
    m.run(1);
    EXPECT_EQ(m.s().gpr[cpu::RCX], 0x7fffffffu);
    EXPECT_TRUE(m.s().get_rflags() & OF);
    EXPECT_FALSE(m.s().get_rflags() & SF);
}

TEST(Alu, IncKeepsCarryAndMemoryFormWorks) {
    TestMachine m;
    m.enter_long64();
    m.poke<uint32_t>(TestMachine::kDataBase, 0x7fffffff);
    m.s().gpr[cpu::RBX] = TestMachine::kDataBase;
    // stc; inc dword [rbx]
    const uint8_t code[] = {0xf9, 0xff, 0x03};
    m.load_code(code);
    m.run(2);
    EXPECT_EQ(m.read<uint32_t>(TestMachine::kDataBase), 0x80000000u);
    const uint64_t f = m.s().get_rflags();
    EXPECT_TRUE(f & CF);
    EXPECT_TRUE(f & OF);
    EXPECT_TRUE(f & SF);
}

TEST(Alu, HighByteRegistersInRealMode) {
    TestMachine m;
    m.enter_real16();
    m.s().gpr[cpu::RAX] = 0x1234;
    const uint8_t code[] = {0x00, 0xe0};  // add al, ah
    m.load_code(code);
    m.run(1);
    EXPECT_EQ(m.s().gpr[cpu::RAX] & 0xffff, 0x1246u);
}

TEST(Alu, LockWithRegisterDestinationIsUd) {
    TestMachine m;
    m.enter_long64();
    // IDT absent: #UD during delivery escalates; just check the fault is raised, RIP unchanged.
    const uint8_t code[] = {0xf0, 0x01, 0xd8};  // lock add eax, ebx
    m.load_code(code);
    const auto& e = m.run(1);
    EXPECT_EQ(e.reason, cpu::ExitReason::Shutdown);  // #UD -> #GP (IDT limit) -> #DF -> triple
}

}  // namespace
}  // namespace vx86::test
