// String family through decode-bind-execute: MOVS/STOS/LODS/CMPS/SCAS with REP prefixes, both
// directions, 16/32/64-bit address sizes, faults in the middle of a REP, yields, and MMIO.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "arch/vectors.h"
#include "support/test_machine.h"

namespace vx86::test {
namespace {

using namespace arch::Rflags;
using cpu::RAX, cpu::RCX, cpu::RSI, cpu::RDI;

constexpr uint64_t kSrc = TestMachine::kDataBase;            // 0x200000
constexpr uint64_t kDst = TestMachine::kDataBase + 0x40000;  // 0x240000
constexpr uint8_t kHlt = 0xf4;

std::vector<uint8_t> pattern(size_t n, uint8_t seed = 1) {
    std::vector<uint8_t> v(n);
    for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(seed + i * 7 + (i >> 8));
    return v;
}

// Runs code that ends in HLT at CPL 0 until it halts.
void run_to_hlt(TestMachine& m) {
    ASSERT_EQ(m.run(1'000'000).reason, cpu::ExitReason::Hlt);
}

TEST(String, RepMovsbCopiesAcrossPagesAndAdvancesRegisters) {
    TestMachine m;
    m.enter_long64();
    const auto data = pattern(10000);
    m.write(kSrc + 0x10, data.data(), data.size());
    m.s().gpr[RSI] = kSrc + 0x10;
    m.s().gpr[RDI] = kDst + 0x7f0;  // source and destination cross pages at different offsets
    m.s().gpr[RCX] = data.size();
    const uint8_t code[] = {0xf3, 0xa4, kHlt};  // rep movsb
    m.load_code(code);
    run_to_hlt(m);
    std::vector<uint8_t> out(data.size());
    m.memory.read(0, kDst + 0x7f0, out);
    EXPECT_EQ(out, data);
    EXPECT_EQ(m.s().gpr[RCX], 0u);
    EXPECT_EQ(m.s().gpr[RSI], kSrc + 0x10 + data.size());
    EXPECT_EQ(m.s().gpr[RDI], kDst + 0x7f0 + data.size());
    EXPECT_EQ(m.s().rip(), TestMachine::kCodeBase + 3);
}

// Reference semantics: one element at a time, exactly as the manual's loop.
void reference_movs(std::vector<uint8_t>& mem, uint64_t si, uint64_t di, uint64_t n, unsigned size,
                    bool down) {
    for (uint64_t i = 0; i < n; ++i) {
        uint8_t tmp[8];
        std::memcpy(tmp, &mem[si], size);
        std::memcpy(&mem[di], tmp, size);
        si += down ? -int64_t(size) : size;
        di += down ? -int64_t(size) : size;
    }
}

TEST(String, RepMovsMatchesElementByElementSemanticsIncludingOverlap) {
    std::mt19937 rng(1234);
    constexpr uint64_t kWindow = 0x8000;  // all traffic stays inside [kSrc, kSrc + kWindow)
    for (int round = 0; round < 120; ++round) {
        TestMachine m;
        m.enter_long64();
        const unsigned size = 1u << (rng() % 4);
        const bool down = rng() % 2;
        const uint64_t n = 1 + rng() % 3000 / size;
        const uint64_t span = n * size;
        // Overlap is likely: pick both pointers in a small window.
        uint64_t si = 0x1000 + rng() % (kWindow - 2 * 0x1000 - span);
        uint64_t di = (rng() % 3 == 0) ? si + (rng() % 24) - 12
                                       : 0x1000 + rng() % (kWindow - 2 * 0x1000 - span);
        if (down) si += span - size, di += span - size;
        auto mem = pattern(kWindow, static_cast<uint8_t>(round));
        m.write(kSrc, mem.data(), mem.size());
        reference_movs(mem, si, di, n, size, down);

        m.s().gpr[RSI] = kSrc + si;
        m.s().gpr[RDI] = kSrc + di;
        m.s().gpr[RCX] = n;
        if (down) m.s().rflags |= DF;
        const uint8_t op[] = {0xa4, 0x66, 0xa5, 0xa5, 0x48, 0xa5};
        std::vector<uint8_t> code = {0xf3};
        if (size == 1) code.push_back(op[0]);
        if (size == 2) code.insert(code.begin(), op[1]), code.push_back(op[2]);
        if (size == 4) code.push_back(op[3]);
        if (size == 8) code.push_back(op[4]), code.push_back(op[5]);
        code.push_back(kHlt);
        m.load_code(code);
        run_to_hlt(m);
        std::vector<uint8_t> out(kWindow);
        m.memory.read(0, kSrc, out);
        ASSERT_EQ(out, mem) << "round " << round << " size " << size << " down " << down << " n "
                            << n << " si " << si << " di " << di;
        const uint64_t moved = down ? uint64_t(0) - span : span;
        EXPECT_EQ(m.s().gpr[RSI], kSrc + si + moved);
        EXPECT_EQ(m.s().gpr[RDI], kSrc + di + moved);
        EXPECT_EQ(m.s().gpr[RCX], 0u);
    }
}

TEST(String, RepMovsbForwardOverlapReplicatesPattern) {
    TestMachine m;
    m.enter_long64();
    m.poke<uint8_t>(kSrc, 0x5a);
    m.s().gpr[RSI] = kSrc;
    m.s().gpr[RDI] = kSrc + 1;
    m.s().gpr[RCX] = 300;
    const uint8_t code[] = {0xf3, 0xa4, kHlt};
    m.load_code(code);
    run_to_hlt(m);
    for (uint64_t i = 0; i <= 300; ++i) ASSERT_EQ(m.read<uint8_t>(kSrc + i), 0x5a) << i;
}

TEST(String, RepnePrefixRepeatsMovsLikeRep) {
    TestMachine m;
    m.enter_long64();
    m.s().gpr[RSI] = kSrc;
    m.s().gpr[RDI] = kDst;
    m.s().gpr[RCX] = 5;
    const uint8_t code[] = {0xf2, 0xa4, kHlt};  // repne movsb: F2 repeats non-comparing string ops
    m.load_code(code);
    run_to_hlt(m);
    EXPECT_EQ(m.s().gpr[RCX], 0u);
    EXPECT_EQ(m.s().gpr[RDI], kDst + 5);
}

TEST(String, StdRepMovsdCopiesDownward) {
    TestMachine m;
    m.enter_long64();
    for (uint32_t i = 0; i < 4; ++i) m.poke<uint32_t>(kSrc + 4 * i, 0x11111111u * (i + 1));
    m.s().gpr[RSI] = kSrc + 12;
    m.s().gpr[RDI] = kDst + 12;
    m.s().gpr[RCX] = 4;
    const uint8_t code[] = {0xfd, 0xf3, 0xa5, kHlt};  // std; rep movsd
    m.load_code(code);
    run_to_hlt(m);
    for (uint32_t i = 0; i < 4; ++i)
        EXPECT_EQ(m.read<uint32_t>(kDst + 4 * i), 0x11111111u * (i + 1));
    EXPECT_EQ(m.s().gpr[RSI], kSrc - 4);
    EXPECT_EQ(m.s().gpr[RDI], kDst - 4);
}

TEST(String, RepWithZeroCountDoesNothing) {
    TestMachine m;
    m.enter_long64();
    m.poke<uint64_t>(kDst, 0x1234);
    m.s().gpr[RAX] = 0xffff;
    m.s().gpr[RDI] = kDst;
    m.s().gpr[RCX] = 0;
    m.s().set_rflags(FIXED1 | CF);
    // rep stosq; repe scasb
    const uint8_t code[] = {0xf3, 0x48, 0xab, 0xf3, 0xae, kHlt};
    m.load_code(code);
    run_to_hlt(m);
    EXPECT_EQ(m.read<uint64_t>(kDst), 0x1234u);
    EXPECT_EQ(m.s().gpr[RDI], kDst);
    EXPECT_EQ(m.s().gpr[RCX], 0u);
    EXPECT_TRUE(m.s().get_rflags() & CF);  // SCAS with count 0 leaves the flags alone
}

TEST(String, AddressSize32In64BitModeZeroesUpperHalves) {
    TestMachine m;
    m.enter_long64();
    m.s().gpr[RAX] = 0xab;
    m.s().gpr[RDI] = 0xdead'0000'0000'0000ull | kDst;
    m.s().gpr[RCX] = 0xbeef'0000'0000'0010ull;
    const uint8_t code[] = {0x67, 0xf3, 0xaa, kHlt};  // rep stos byte [edi], al
    m.load_code(code);
    run_to_hlt(m);
    EXPECT_EQ(m.s().gpr[RCX], 0u);
    EXPECT_EQ(m.s().gpr[RDI], kDst + 0x10);
    for (uint64_t i = 0; i < 0x10; ++i) EXPECT_EQ(m.read<uint8_t>(kDst + i), 0xab);
    EXPECT_EQ(m.read<uint8_t>(kDst + 0x10), 0);
}

TEST(String, AddressSize16WrapsIndexAndKeepsUpperBits) {
    TestMachine m;
    m.enter_real16();
    m.s().seg[cpu::ES].base = 0x30000;
    m.s().seg[cpu::ES].selector = 0x3000;
    m.vcpu->state_changed();
    m.s().gpr[RAX] = 0x77;
    m.s().gpr[RDI] = 0x1234'0000'ffc0ull;
    m.s().gpr[RCX] = 0x5678'0000'0080ull;
    const uint8_t code[] = {0xf3, 0xaa, kHlt};  // rep stosb: DI wraps from 0xffff to 0
    m.load_code(code);
    run_to_hlt(m);
    for (uint64_t a = 0x3ffc0; a < 0x40000; ++a) ASSERT_EQ(m.read<uint8_t>(a), 0x77) << a;
    for (uint64_t a = 0x30000; a < 0x30040; ++a) ASSERT_EQ(m.read<uint8_t>(a), 0x77) << a;
    EXPECT_EQ(m.read<uint8_t>(0x30040), 0);
    EXPECT_EQ(m.read<uint8_t>(0x40000), 0);
    EXPECT_EQ(m.s().gpr[RDI], 0x1234'0000'0040ull);
    EXPECT_EQ(m.s().gpr[RCX], 0x5678'0000'0000ull);
}

TEST(String, SourceSegmentOverrideButDestinationAlwaysEs) {
    TestMachine m;
    m.enter_long64();
    m.s().seg[cpu::FS].base = 0x1000;
    m.s().seg[cpu::ES].base = 0x7000;  // ignored in 64-bit mode: ES is flat
    m.vcpu->state_changed();
    m.poke<uint16_t>(kSrc + 0x1000, 0xbeef);
    m.poke<uint16_t>(kSrc, 0x1111);
    m.s().gpr[RSI] = kSrc;
    m.s().gpr[RDI] = kDst;
    const uint8_t code[] = {0x64, 0x66, 0xa5, kHlt};  // movsw word es:[rdi], fs:[rsi]
    m.load_code(code);
    run_to_hlt(m);
    EXPECT_EQ(m.read<uint16_t>(kDst), 0xbeef);
    EXPECT_EQ(m.s().gpr[RSI], kSrc + 2);
    EXPECT_EQ(m.s().gpr[RDI], kDst + 2);
}

TEST(String, SegmentBasesApplyInProtectedMode) {
    TestMachine m;
    m.enter_protected32();
    m.s().seg[cpu::DS].base = 0x10000;
    m.s().seg[cpu::ES].base = 0x20000;
    m.vcpu->state_changed();
    m.poke<uint32_t>(0x10000 + 0x100, 0xcafef00d);
    m.s().gpr[RSI] = 0x100;
    m.s().gpr[RDI] = 0x200;
    m.s().gpr[RCX] = 1;
    const uint8_t code[] = {0xf3, 0xa5, kHlt};  // rep movsd
    m.load_code(code);
    run_to_hlt(m);
    EXPECT_EQ(m.read<uint32_t>(0x20000 + 0x200), 0xcafef00du);
}

TEST(String, LodsLoadsAccumulator) {
    TestMachine m;
    m.enter_long64();
    m.poke<uint64_t>(kSrc, 0x8877665544332211ull);
    m.s().gpr[RAX] = ~uint64_t{0};
    m.s().gpr[RSI] = kSrc;
    const uint8_t code[] = {0x66, 0xad, 0xad, 0x48, 0xad, kHlt};  // lodsw; lodsd; lodsq
    m.load_code(code);
    m.run(1);
    EXPECT_EQ(m.s().gpr[RAX], 0xffffffffffff2211ull);
    m.run(1);
    EXPECT_EQ(m.s().gpr[RAX], 0x66554433ull);  // 32-bit load zero-extends
    EXPECT_EQ(m.s().gpr[RSI], kSrc + 6);
}

TEST(String, RepeCmpsbStopsAtFirstMismatch) {
    TestMachine m;
    m.enter_long64();
    m.write(kSrc, "abcdX....", 9);
    m.write(kDst, "abcdY....", 9);
    m.s().gpr[RSI] = kSrc;
    m.s().gpr[RDI] = kDst;
    m.s().gpr[RCX] = 9;
    const uint8_t code[] = {0xf3, 0xa6, kHlt};  // repe cmpsb
    m.load_code(code);
    run_to_hlt(m);
    EXPECT_EQ(m.s().gpr[RCX], 4u);
    EXPECT_EQ(m.s().gpr[RSI], kSrc + 5);
    EXPECT_EQ(m.s().gpr[RDI], kDst + 5);
    const uint64_t f = m.s().get_rflags();
    EXPECT_FALSE(f & ZF);
    EXPECT_TRUE(f & CF);  // 'X' < 'Y'
    EXPECT_TRUE(f & SF);
}

TEST(String, RepeCmpsqAllEqualRunsToEnd) {
    TestMachine m;
    m.enter_long64();
    for (int i = 0; i < 3; ++i) {
        m.poke<uint64_t>(kSrc + 8 * i, 0x0102030405060708ull * (i + 1));
        m.poke<uint64_t>(kDst + 8 * i, 0x0102030405060708ull * (i + 1));
    }
    m.s().gpr[RSI] = kSrc;
    m.s().gpr[RDI] = kDst;
    m.s().gpr[RCX] = 3;
    const uint8_t code[] = {0xf3, 0x48, 0xa7, kHlt};  // repe cmpsq
    m.load_code(code);
    run_to_hlt(m);
    EXPECT_EQ(m.s().gpr[RCX], 0u);
    EXPECT_TRUE(m.s().get_rflags() & ZF);
}

TEST(String, RepneScasbFindsTerminator) {
    TestMachine m;
    m.enter_long64();
    m.write(kDst, "hello\0world", 12);
    m.s().gpr[RAX] = 0xff00;  // AL = 0
    m.s().gpr[RDI] = kDst;
    m.s().gpr[RCX] = ~uint64_t{0};
    const uint8_t code[] = {0xf2, 0xae, kHlt};  // repne scasb
    m.load_code(code);
    run_to_hlt(m);
    EXPECT_EQ(m.s().gpr[RDI], kDst + 6);
    EXPECT_EQ(~uint64_t{0} - m.s().gpr[RCX], 6u);
    EXPECT_TRUE(m.s().get_rflags() & ZF);
}

TEST(String, ScaswComparesAccumulatorWithMemoryLikeCmp) {
    TestMachine m;
    m.enter_long64();
    m.poke<uint16_t>(kDst, 0x8000);
    m.s().gpr[RAX] = 0x7fff;
    m.s().gpr[RDI] = kDst;
    const uint8_t code[] = {0x66, 0xaf, kHlt};  // scasw
    m.load_code(code);
    run_to_hlt(m);
    const uint64_t f = m.s().get_rflags();
    EXPECT_TRUE(f & CF);
    EXPECT_TRUE(f & OF);  // 0x7fff - 0x8000 overflows
    EXPECT_TRUE(f & SF);
    EXPECT_FALSE(f & ZF);
}

TEST(String, LongRepYieldsWithRipAtTheInstruction) {
    TestMachine m;
    m.enter_long64();
    m.s().gpr[RSI] = kSrc;
    m.s().gpr[RCX] = 5000;
    const uint8_t code[] = {0xf3, 0xac, kHlt};  // rep lodsb: per element
    m.load_code(code);
    m.run(1);
    EXPECT_EQ(m.s().rip(), TestMachine::kCodeBase);
    EXPECT_EQ(m.s().gpr[RCX], 5000u - 1024);
    EXPECT_EQ(m.s().gpr[RSI], kSrc + 1024);
    run_to_hlt(m);
    EXPECT_EQ(m.s().gpr[RCX], 0u);
    EXPECT_EQ(m.s().gpr[RSI], kSrc + 5000);

    // The bulk path yields too, after a bounded amount of work.
    TestMachine b;
    b.enter_long64();
    b.s().gpr[RAX] = 0x3c;
    b.s().gpr[RDI] = kDst;
    b.s().gpr[RCX] = 1 << 20;
    const uint8_t stos[] = {0xf3, 0xaa, kHlt};
    b.load_code(stos);
    b.run(1);
    EXPECT_EQ(b.s().rip(), TestMachine::kCodeBase);
    EXPECT_GT(b.s().gpr[RCX], 0u);
    EXPECT_LT(b.s().gpr[RCX], (1u << 20) - 1024);  // page runs do more than the per-element cap
    EXPECT_EQ(b.s().gpr[RDI], kDst + (1 << 20) - b.s().gpr[RCX]);
    run_to_hlt(b);
    EXPECT_EQ(b.read<uint8_t>(kDst + (1 << 20) - 1), 0x3c);
    EXPECT_EQ(b.read<uint8_t>(kDst + (1 << 20)), 0);
}

TEST(String, SingleStepTrapsAfterEachRepIteration) {
    TestMachine m;
    m.enter_long64();
    m.install_idt64();
    m.s().gpr[RSI] = kSrc;
    m.s().gpr[RDI] = kDst;
    m.s().gpr[RCX] = 300;  // long enough for the bulk path, which single-stepping must not take
    m.s().rflags |= TF;
    const uint8_t code[] = {0xf3, 0xa4, kHlt};
    m.load_code(code);
    m.run(10);
    ASSERT_EQ(m.halted_vector(), 1);
    EXPECT_EQ(m.s().gpr[RCX], 299u);
    EXPECT_EQ(m.s().gpr[RDI], kDst + 1);
    EXPECT_EQ(m.read<uint64_t>(m.s().gpr[cpu::RSP]), TestMachine::kCodeBase);  // RIP at the REP
}

// Makes the 2 MiB page at `gpa` not present.
void unmap_2m(TestMachine& m, uint64_t gpa) {
    m.poke<uint64_t>(TestMachine::kPd + (gpa >> 21) * 8, 0);
}

TEST(String, PageFaultMidRepMovsbLeavesCompletedIterations) {
    TestMachine m;
    m.enter_long64();
    m.install_idt64();
    constexpr uint64_t kHole = 0x600000;
    unmap_2m(m, kHole);
    const auto data = pattern(4096);
    m.write(kSrc, data.data(), data.size());
    m.s().gpr[RSI] = kSrc;
    m.s().gpr[RDI] = kHole - 1000;
    m.s().gpr[RCX] = 4096;
    const uint8_t code[] = {0xf3, 0xa4, kHlt};
    m.load_code(code);
    m.run(100);
    ASSERT_EQ(m.halted_vector(), 14);
    EXPECT_EQ(m.s().cr2, kHole);
    EXPECT_EQ(m.s().gpr[RCX], 4096u - 1000);
    EXPECT_EQ(m.s().gpr[RSI], kSrc + 1000);
    EXPECT_EQ(m.s().gpr[RDI], kHole);
    const uint64_t rsp = m.s().gpr[cpu::RSP];
    EXPECT_EQ(m.read<uint64_t>(rsp), arch::PfErr::W);              // not present, write
    EXPECT_EQ(m.read<uint64_t>(rsp + 8), TestMachine::kCodeBase);  // RIP at the REP
    std::vector<uint8_t> out(1000);
    m.memory.read(0, kHole - 1000, out);
    EXPECT_TRUE(std::equal(out.begin(), out.end(), data.begin()));
}

TEST(String, PageFaultOnSourceWhileMovingDown) {
    TestMachine m;
    m.enter_long64();
    m.install_idt64();
    constexpr uint64_t kHole = 0x600000;
    unmap_2m(m, kHole - 0x200000);  // source runs down into the page below 0x600000
    m.s().gpr[RSI] = kHole + 6;
    m.s().gpr[RDI] = kDst + 0x100;
    m.s().gpr[RCX] = 100;
    const uint8_t code[] = {0xfd, 0xf3, 0x66, 0xa5, kHlt};  // std; rep movsw
    m.load_code(code);
    m.run(100);
    ASSERT_EQ(m.halted_vector(), 14);
    EXPECT_EQ(m.s().cr2, kHole - 2);
    EXPECT_EQ(m.s().gpr[RCX], 96u);  // elements at +6, +4, +2, +0 were copied
    EXPECT_EQ(m.s().gpr[RSI], kHole - 2);
    EXPECT_EQ(m.s().gpr[RDI], kDst + 0x100 - 8);
    EXPECT_EQ(m.read<uint64_t>(m.s().gpr[cpu::RSP] + 8), TestMachine::kCodeBase + 1);
}

TEST(String, SegmentLimitFaultMidRepInProtectedMode) {
    TestMachine m;
    m.enter_protected32();
    m.s().seg[cpu::ES].limit = 0x2000ff;  // writes past this offset raise #GP(0)
    m.vcpu->state_changed();
    m.s().gpr[RAX] = 0x11;
    m.s().gpr[RDI] = 0x200000 - 0x100;
    m.s().gpr[RCX] = 0x1000;
    const uint8_t code[] = {0xf3, 0xaa};  // rep stosb
    m.load_code(code);
    EXPECT_EQ(m.run(10).reason, cpu::ExitReason::Shutdown);  // no IDT: #GP escalates
    EXPECT_EQ(m.s().gpr[RDI], 0x200100u);
    EXPECT_EQ(m.s().gpr[RCX], 0x1000u - 0x200);
    EXPECT_EQ(m.read<uint8_t>(0x2000ff), 0x11);
    EXPECT_EQ(m.read<uint8_t>(0x200100), 0);
}

TEST(String, StosOverwritingDecodedCodeTakesEffect) {
    TestMachine m;
    m.enter_long64();
    // rep stosb overwrites the following "mov al, 1" (b0 01) with "nop; nop" before it runs.
    m.s().gpr[RAX] = 0x90;
    m.s().gpr[RDI] = TestMachine::kCodeBase + 2;
    m.s().gpr[RCX] = 2;
    const uint8_t code[] = {0xf3, 0xaa, 0xb0, 0x01, kHlt};
    m.load_code(code);
    run_to_hlt(m);
    EXPECT_EQ(m.s().gpr[RAX] & 0xff, 0x90u);
}

// With MMIO exits on, each element to unbacked memory is its own exit; the REP resumes at the
// element that exited, with rCX/rDI describing the elements already done.
TEST(String, RepStoswToUnbackedMemoryExitsPerElementAndResumes) {
    TestMachine m;
    m.enter_long64();
    m.vcpu->set_mmio_exits(true);
    constexpr uint64_t kUnbacked = 0x8000000;  // above RAM, identity-mapped
    m.s().gpr[RAX] = 0xabcd;
    m.s().gpr[RDI] = kUnbacked;
    m.s().gpr[RCX] = 3;
    const uint8_t code[] = {0x66, 0xf3, 0xab, kHlt};  // rep stosw
    m.load_code(code);
    for (uint64_t i = 0; i < 3; ++i) {
        ASSERT_EQ(m.run(100).reason, cpu::ExitReason::Mmio) << i;
        EXPECT_EQ(m.s().gpr[RCX], 3 - i);
        EXPECT_EQ(m.s().rip(), TestMachine::kCodeBase);
        const auto& a = m.vcpu->mmio_access();
        EXPECT_TRUE(a.write);
        EXPECT_EQ(a.gpa, kUnbacked + 2 * i);
        EXPECT_EQ(a.size, 2);
        EXPECT_EQ(a.data[0] | a.data[1] << 8, 0xabcd);
        m.vcpu->complete_mmio(nullptr, 0);
    }
    EXPECT_EQ(m.run(100).reason, cpu::ExitReason::Hlt);
    EXPECT_EQ(m.s().gpr[RCX], 0u);
    EXPECT_EQ(m.s().gpr[RDI], kUnbacked + 6);
}

// MMIO: element accesses must reach the device one by one, with the element size.
struct RecordingMmio : bus::MmioDevice {
    struct Access {
        uint64_t offset;
        size_t size;
        uint64_t value;
    };
    std::vector<Access> writes;
    unsigned reads = 0;
    void mmio_read(uint64_t offset, std::span<uint8_t> data) override {
        ++reads;
        for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(offset + i);
    }
    void mmio_write(uint64_t offset, std::span<const uint8_t> data) override {
        uint64_t v = 0;
        std::memcpy(&v, data.data(), data.size());
        writes.push_back({offset, data.size(), v});
    }
};

TEST(String, RepMovsToAndFromMmioGoesElementByElement) {
    constexpr uint64_t kMmio = 0xfe000000;
    bus::MmioBus mmio;
    RecordingMmio dev;
    ASSERT_TRUE(mmio.insert(kMmio, 0x1000, &dev));
    mem::GuestMemory memory(&mmio);
    ASSERT_TRUE(memory.set_slot({0, 0, 0, 16 << 20, nullptr, 0}));
    bus::PioBus pio;
    auto model = cpu::CpuidModel::from_cpu_option("max");
    ASSERT_TRUE(model);
    cpu::Vcpu vcpu(memory, pio, *model);
    // Flat 32-bit protected mode, paging off.
    auto& s = vcpu.state();
    s.cr0 = arch::Cr0::PE | arch::Cr0::ET;
    const uint16_t data_attr = arch::Attr::P | arch::Attr::S | arch::Attr::W_R | arch::Attr::A |
                               arch::Attr::DB | arch::Attr::G;
    for (unsigned r = 0; r < cpu::kNumSegRegs; ++r)
        s.seg[r] = cpu::Segment{0x10, data_attr, 0xffffffff, 0};
    s.seg[cpu::CS] =
        cpu::Segment{0x18, static_cast<uint16_t>(data_attr | arch::Attr::CODE), 0xffffffff, 0};
    vcpu.state_changed();
    for (uint16_t i = 0; i < 4; ++i) {
        const uint16_t v = static_cast<uint16_t>(0x1111 * (i + 1));
        memory.write(0, 0x2000 + 2 * i, {reinterpret_cast<const uint8_t*>(&v), 2});
    }
    // rep movsw (RAM -> MMIO); then rep movsb (MMIO -> RAM); hlt
    const uint8_t code[] = {0x66, 0xf3, 0xa5, 0xbe, 0x10, 0x00, 0x00, 0xfe, 0xbf, 0x00, 0x30,
                            0x00, 0x00, 0xb9, 0x80, 0x00, 0x00, 0x00, 0xf3, 0xa4, kHlt};
    memory.write(0, 0x1000, code);
    s.rip() = 0x1000;
    s.gpr[RSI] = 0x2000;
    s.gpr[RDI] = kMmio + 8;
    s.gpr[RCX] = 4;
    ASSERT_EQ(vcpu.run(100).reason, cpu::ExitReason::Hlt);
    ASSERT_EQ(dev.writes.size(), 4u);
    for (unsigned i = 0; i < 4; ++i) {
        EXPECT_EQ(dev.writes[i].offset, 8u + 2 * i);
        EXPECT_EQ(dev.writes[i].size, 2u);
        EXPECT_EQ(dev.writes[i].value, 0x1111u * (i + 1));
    }
    EXPECT_EQ(dev.reads, 0x80u);
    uint8_t out[0x80];
    memory.read(0, 0x3000, out);
    for (unsigned i = 0; i < 0x80; ++i) ASSERT_EQ(out[i], static_cast<uint8_t>(0x10 + i));
}

}  // namespace
}  // namespace vx86::test
