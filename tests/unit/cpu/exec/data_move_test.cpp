// Data movement family: MOVZX/MOVSX/MOVSXD, XCHG, LEA by address size, CBW..CQO, CMOVcc, SETcc,
// BSWAP, LAHF/SAHF, XLAT and the flag-bit instructions (AMD APM Vol 3 instruction pages).
#include <gtest/gtest.h>

#include <vector>

#include "support/protected_setup.h"

namespace vx86::test {
namespace {

using namespace arch;
using Bytes = std::vector<uint8_t>;

uint64_t& reg(TestMachine& m, unsigned r) {
    return m.s().gpr[r];
}

// Runs one instruction in 64-bit mode from the given register state.
void run1(TestMachine& m, const Bytes& code) {
    m.load_code(code);
    m.run(1);
    EXPECT_EQ(m.halted_vector(), -1);
    EXPECT_EQ(m.s().rip(), TestMachine::kCodeBase + code.size());
}

TEST(DataMoveExtend, MovzxMovsxMovsxd) {
    TestMachine m;
    long64(m);
    reg(m, cpu::RBX) = 0x8182;
    reg(m, cpu::RAX) = ~uint64_t{0};
    run1(m, {0x0f, 0xb6, 0xc3});  // movzx eax, bl
    EXPECT_EQ(reg(m, cpu::RAX), 0x82u);
    run1(m, {0x0f, 0xbe, 0xc3});               // movsx eax, bl
    EXPECT_EQ(reg(m, cpu::RAX), 0xffffff82u);  // 32-bit result zero-extends into RAX
    run1(m, {0x48, 0x0f, 0xbf, 0xc3});         // movsx rax, bx
    EXPECT_EQ(reg(m, cpu::RAX), 0xffffffffffff8182ull);
    reg(m, cpu::RAX) = 0x1234567890abcdefull;
    run1(m, {0x66, 0x0f, 0xbe, 0xc3});  // movsx ax, bl: merges
    EXPECT_EQ(reg(m, cpu::RAX), 0x1234567890abff82ull);
    reg(m, cpu::RBX) = 0x80000000;
    run1(m, {0x48, 0x63, 0xc3});  // movsxd rax, ebx
    EXPECT_EQ(reg(m, cpu::RAX), 0xffffffff80000000ull);
    m.poke<uint16_t>(TestMachine::kDataBase, 0xfedc);
    reg(m, cpu::RBX) = TestMachine::kDataBase;
    run1(m, {0x48, 0x0f, 0xb7, 0x03});  // movzx rax, word [rbx]
    EXPECT_EQ(reg(m, cpu::RAX), 0xfedcu);
}

TEST(DataMoveXchg, RegisterAndMemoryForms) {
    TestMachine m;
    long64(m);
    reg(m, cpu::RAX) = 0xffffffff00000001ull;
    reg(m, cpu::RCX) = 0xffffffff00000002ull;
    run1(m, {0x91});  // xchg eax, ecx: both zero-extend
    EXPECT_EQ(reg(m, cpu::RAX), 2u);
    EXPECT_EQ(reg(m, cpu::RCX), 1u);
    reg(m, cpu::RAX) = 0xffffffff00000001ull;
    run1(m, {0x87, 0xc0});  // xchg eax, eax (87 /r) is a real 32-bit write
    EXPECT_EQ(reg(m, cpu::RAX), 1u);
    reg(m, cpu::RAX) = 0xffffffff00000001ull;
    run1(m, {0x90});  // but 90 is NOP in 64-bit mode (APM Vol 3 "XCHG")
    EXPECT_EQ(reg(m, cpu::RAX), 0xffffffff00000001ull);
    reg(m, cpu::RAX) = 0x1111;
    reg(m, cpu::RCX) = 0xaaaa2222;
    run1(m, {0x66, 0x91});  // xchg ax, cx
    EXPECT_EQ(reg(m, cpu::RAX), 0x2222u);
    EXPECT_EQ(reg(m, cpu::RCX), 0xaaaa1111u);
    m.poke<uint64_t>(TestMachine::kDataBase, 0x5555);
    reg(m, cpu::RBX) = TestMachine::kDataBase;
    reg(m, cpu::RCX) = 0x6666;
    run1(m, {0x48, 0x87, 0x0b});  // xchg [rbx], rcx
    EXPECT_EQ(reg(m, cpu::RCX), 0x5555u);
    EXPECT_EQ(m.read<uint64_t>(TestMachine::kDataBase), 0x6666u);
}

TEST(DataMoveLea, AddressAndOperandSizes) {
    TestMachine m;
    long64(m);
    reg(m, cpu::RBX) = 0xffffffff00001000ull;
    reg(m, cpu::RCX) = 0x10;
    run1(m, {0x48, 0x8d, 0x44, 0x8b, 0x10});  // lea rax, [rbx+rcx*4+0x10]
    EXPECT_EQ(reg(m, cpu::RAX), 0xffffffff00001050ull);
    run1(m, {0x8d, 0x44, 0x8b, 0x10});  // lea eax, [...]: truncated to 32 bits
    EXPECT_EQ(reg(m, cpu::RAX), 0x1050u);
    reg(m, cpu::RBX) = 0xfffffff0;
    run1(m, {0x67, 0x48, 0x8d, 0x04, 0x0b});  // lea rax, [ebx+ecx]: 32-bit address wraps
    EXPECT_EQ(reg(m, cpu::RAX), 0u);
    reg(m, cpu::RAX) = 0x1234567800000000ull;
    reg(m, cpu::RBX) = 0x1fff0;
    run1(m, {0x66, 0x8d, 0x04, 0x0b});  // lea ax, [rbx+rcx]: 16-bit result merges
    EXPECT_EQ(reg(m, cpu::RAX), 0x1234567800000000ull);

    // 16-bit address size in 32-bit mode: [bx+si+disp] wraps at 64 KiB.
    TestMachine p;
    p.enter_protected32();
    p.s().gpr[cpu::RBX] = 0x0001fff0;
    p.s().gpr[cpu::RSI] = 0x0020;
    p.load_code(Bytes{0x67, 0x8d, 0x40, 0x10});  // lea eax, [bx+si+0x10]
    p.run(1);
    EXPECT_EQ(p.s().gpr[cpu::RAX], 0x20u);
}

TEST(DataMoveConvert, CbwThroughCqo) {
    TestMachine m;
    long64(m);
    reg(m, cpu::RAX) = 0x1234567800000080ull;
    run1(m, {0x66, 0x98});  // cbw
    EXPECT_EQ(reg(m, cpu::RAX), 0x123456780000ff80ull);
    run1(m, {0x98});  // cwde
    EXPECT_EQ(reg(m, cpu::RAX), 0xffffff80u);
    run1(m, {0x48, 0x98});  // cdqe
    EXPECT_EQ(reg(m, cpu::RAX), 0xffffffffffffff80ull);
    reg(m, cpu::RDX) = 0x1111111111111111ull;
    reg(m, cpu::RAX) = 0x8000;
    run1(m, {0x66, 0x99});  // cwd
    EXPECT_EQ(reg(m, cpu::RDX), 0x111111111111ffffull);
    run1(m, {0x99});  // cdq: EAX positive
    EXPECT_EQ(reg(m, cpu::RDX), 0u);
    reg(m, cpu::RAX) = 0x8000000000000000ull;
    run1(m, {0x48, 0x99});  // cqo
    EXPECT_EQ(reg(m, cpu::RDX), ~uint64_t{0});
}

TEST(DataMoveCmov, MovesOnConditionAnd32BitAlwaysZeroExtends) {
    TestMachine m;
    long64(m);
    reg(m, cpu::RCX) = 0x2222;
    reg(m, cpu::RAX) = 0xffffffff11111111ull;
    m.s().set_rflags(0);
    run1(m, {0x0f, 0x44, 0xc1});               // cmovz eax, ecx, not taken
    EXPECT_EQ(reg(m, cpu::RAX), 0x11111111u);  // APM Vol 3 "CMOVcc": zero-extended anyway
    reg(m, cpu::RAX) = 0xffffffff11111111ull;
    run1(m, {0x66, 0x0f, 0x44, 0xc1});  // cmovz ax, cx, not taken: untouched
    EXPECT_EQ(reg(m, cpu::RAX), 0xffffffff11111111ull);
    run1(m, {0x48, 0x0f, 0x44, 0xc1});  // cmovz rax, rcx, not taken
    EXPECT_EQ(reg(m, cpu::RAX), 0xffffffff11111111ull);
    m.s().set_rflags(Rflags::ZF);
    run1(m, {0x48, 0x0f, 0x44, 0xc1});  // taken
    EXPECT_EQ(reg(m, cpu::RAX), 0x2222u);
    m.poke<uint32_t>(TestMachine::kDataBase, 0x3333);
    reg(m, cpu::RBX) = TestMachine::kDataBase;
    run1(m, {0x0f, 0x44, 0x03});  // cmovz eax, [rbx]
    EXPECT_EQ(reg(m, cpu::RAX), 0x3333u);
}

TEST(DataMoveSetcc, AllSixteenConditions) {
    // Flags: CF=1, ZF=0, SF=1, OF=0, PF=1. Expected for cc = 0..15 (O NO B NB Z NZ BE NBE S NS P
    // NP L NL LE NLE).
    const uint64_t flags = Rflags::CF | Rflags::SF | Rflags::PF;
    const bool want[16] = {false, true,  true, false, false, true,  true, false,
                           true,  false, true, false, true,  false, true, false};
    for (unsigned cc = 0; cc < 16; ++cc) {
        TestMachine m;
        long64(m);
        m.s().set_rflags(flags);
        reg(m, cpu::RAX) = 0xffffff55;
        run1(m, {0x0f, static_cast<uint8_t>(0x90 + cc), 0xc0});  // setcc al
        EXPECT_EQ(reg(m, cpu::RAX), 0xffffff00u + want[cc]) << cc;
    }
    TestMachine m;
    long64(m);
    m.s().set_rflags(Rflags::ZF);
    m.poke<uint16_t>(TestMachine::kDataBase, 0xaaaa);
    reg(m, cpu::RBX) = TestMachine::kDataBase;
    run1(m, {0x0f, 0x94, 0x03});  // setz byte [rbx]
    EXPECT_EQ(m.read<uint16_t>(TestMachine::kDataBase), 0xaa01u);
}

TEST(DataMoveBswap, ThirtyTwoAndSixtyFourBit) {
    TestMachine m;
    long64(m);
    reg(m, cpu::RAX) = 0xffffffff11223344ull;
    run1(m, {0x0f, 0xc8});  // bswap eax
    EXPECT_EQ(reg(m, cpu::RAX), 0x44332211u);
    reg(m, cpu::RAX) = 0x0102030405060708ull;
    run1(m, {0x48, 0x0f, 0xc8});
    EXPECT_EQ(reg(m, cpu::RAX), 0x0807060504030201ull);
}

TEST(DataMoveFlags, LahfSahf) {
    TestMachine m;
    long64(m);
    m.s().set_rflags(Rflags::CF | Rflags::ZF | Rflags::OF);
    reg(m, cpu::RAX) = 0xffff;
    run1(m, {0x9f});                       // lahf
    EXPECT_EQ(reg(m, cpu::RAX), 0x43ffu);  // SF ZF 0 AF 0 PF 1 CF
    reg(m, cpu::RAX) = 0xd5 << 8;          // SF ZF AF PF CF
    m.s().set_rflags(Rflags::OF);
    run1(m, {0x9e});  // sahf
    const uint64_t f = m.s().get_rflags();
    EXPECT_EQ(f & Rflags::STATUS, Rflags::SF | Rflags::ZF | Rflags::AF | Rflags::PF | Rflags::CF |
                                      Rflags::OF);  // OF untouched

    // In 64-bit mode they need CPUID LahfSahf (APM Vol 3 "LAHF").
    TestMachine n("max,-lahf-lm");
    long64(n);
    n.load_code(Bytes{0x9f});
    n.run(5);
    EXPECT_EQ(n.halted_vector(), 6);
}

TEST(DataMoveXlat, IndexesTheTableAtRbxAndHonoursSegmentOverride) {
    TestMachine m;
    long64(m);
    m.poke<uint8_t>(TestMachine::kDataBase + 0x80, 0x5a);
    reg(m, cpu::RBX) = TestMachine::kDataBase;
    reg(m, cpu::RAX) = 0x1280;
    run1(m, {0xd7});
    EXPECT_EQ(reg(m, cpu::RAX), 0x125au);

    TestMachine p;
    p.enter_protected32();
    set_gdt(p, kFreeSlot, seg_desc(0x10000, 0xfffff, access(0, 0x3), 0xc));
    p.s().seg[cpu::ES] = cache(kFreeSlot * 8, seg_desc(0x10000, 0xfffff, access(0, 0x3), 0xc));
    p.vcpu->state_changed();
    p.poke<uint8_t>(0x10000 + 0x2003, 0x77);
    p.s().gpr[cpu::RBX] = 0x2000;
    p.s().gpr[cpu::RAX] = 3;
    p.load_code(Bytes{0x26, 0xd7});  // xlat es:[ebx+al]
    p.run(1);
    EXPECT_EQ(p.s().gpr[cpu::RAX], 0x77u);
}

TEST(DataMoveFlags, CarryAndDirectionFlags) {
    TestMachine m;
    long64(m);
    m.s().set_rflags(Rflags::ZF);
    run1(m, {0xf9});  // stc
    EXPECT_EQ(m.s().get_rflags() & Rflags::STATUS, Rflags::CF | Rflags::ZF);
    run1(m, {0xf5});  // cmc
    EXPECT_EQ(m.s().get_rflags() & Rflags::STATUS, Rflags::ZF);
    run1(m, {0xf5});
    EXPECT_TRUE(m.s().get_rflags() & Rflags::CF);
    run1(m, {0xf8});  // clc
    EXPECT_EQ(m.s().get_rflags() & Rflags::STATUS, Rflags::ZF);
    run1(m, {0xfd});  // std
    EXPECT_TRUE(m.s().get_rflags() & Rflags::DF);
    run1(m, {0xfc});  // cld
    EXPECT_FALSE(m.s().get_rflags() & Rflags::DF);

    // CF after an arithmetic result kept lazily: CMC must complement the computed carry.
    reg(m, cpu::RAX) = ~uint64_t{0};
    m.load_code(Bytes{0x48, 0x83, 0xc0, 0x01, 0xf5});  // add rax, 1 (CF=1); cmc
    m.run(2);
    EXPECT_FALSE(m.s().get_rflags() & Rflags::CF);
    EXPECT_TRUE(m.s().get_rflags() & Rflags::ZF);
}

}  // namespace
}  // namespace vx86::test
