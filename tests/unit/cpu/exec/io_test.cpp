// Port I/O family: IN/OUT to claimed ports and as exits, INS/OUTS with REP, and the protected-mode
// permission rules (IOPL, I/O-permission bitmap in the TSS, virtual-8086 mode).
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "support/test_machine.h"

namespace vx86::test {
namespace {

using namespace arch;
using cpu::RAX, cpu::RCX, cpu::RDX, cpu::RSI, cpu::RDI;

constexpr uint8_t kHlt = 0xf4;
constexpr uint64_t kBuf = TestMachine::kDataBase;

struct RecordingPio : bus::PioDevice {
    struct Write {
        uint16_t offset;
        size_t size;
        uint32_t value;
    };
    std::vector<Write> writes;
    uint8_t next = 0x40;  // reads return an incrementing byte stream
    void pio_read(uint16_t, std::span<uint8_t> data) override {
        for (auto& b : data) b = next++;
    }
    void pio_write(uint16_t offset, std::span<const uint8_t> data) override {
        uint32_t v = 0;
        std::memcpy(&v, data.data(), data.size());
        writes.push_back({offset, data.size(), v});
    }
};

// A device claiming ports 0x70..0x8f.
struct IoMachine : TestMachine {
    RecordingPio dev;
    IoMachine() {
        if (!pio.insert(0x70, 0x20, &dev)) throw std::runtime_error("pio insert");
    }
};

TEST(Io, ClaimsReportsDeviceRanges) {
    IoMachine m;
    EXPECT_FALSE(m.pio.claims(0x6f));
    EXPECT_TRUE(m.pio.claims(0x70));
    EXPECT_TRUE(m.pio.claims(0x8f));
    EXPECT_FALSE(m.pio.claims(0x90));
}

TEST(Io, OutToClaimedPortsReachesDevice) {
    IoMachine m;
    m.enter_long64();
    m.s().gpr[RAX] = 0x11223344;
    m.s().gpr[RDX] = 0x71;
    // out 0x80, al; out dx, ax; out dx, eax; hlt
    const uint8_t code[] = {0xe6, 0x80, 0x66, 0xef, 0xef, kHlt};
    m.load_code(code);
    EXPECT_EQ(m.run(100).reason, cpu::ExitReason::Hlt);
    ASSERT_EQ(m.dev.writes.size(), 3u);
    EXPECT_EQ(m.dev.writes[0].offset, 0x10);
    EXPECT_EQ(m.dev.writes[0].size, 1u);
    EXPECT_EQ(m.dev.writes[0].value, 0x44u);
    EXPECT_EQ(m.dev.writes[1].offset, 1);
    EXPECT_EQ(m.dev.writes[1].size, 2u);
    EXPECT_EQ(m.dev.writes[1].value, 0x3344u);
    EXPECT_EQ(m.dev.writes[2].size, 4u);
    EXPECT_EQ(m.dev.writes[2].value, 0x11223344u);
}

TEST(Io, InFromClaimedPortZeroExtendsEax) {
    IoMachine m;
    m.enter_long64();
    m.s().gpr[RAX] = ~uint64_t{0};
    const uint8_t code[] = {0xe4, 0x70, 0xe5, 0x70, kHlt};  // in al, 0x70; in eax, 0x70
    m.load_code(code);
    m.run(1);
    EXPECT_EQ(m.s().gpr[RAX], 0xffffffffffffff40ull);
    m.run(1);
    EXPECT_EQ(m.s().gpr[RAX], 0x44434241ull);
}

TEST(Io, OutToUnclaimedPortExitsAfterTheInstruction) {
    IoMachine m;
    m.enter_long64();
    m.s().gpr[RAX] = 0xa5;
    m.s().gpr[RDX] = 0x1234;
    const uint8_t code[] = {0xee, kHlt};  // out dx, al
    m.load_code(code);
    const auto& e = m.run(100);
    ASSERT_EQ(e.reason, cpu::ExitReason::Io);
    EXPECT_EQ(e.io.port, 0x1234);
    EXPECT_EQ(e.io.size, 1);
    EXPECT_FALSE(e.io.in);
    EXPECT_EQ(e.io.data, 0xa5u);
    EXPECT_EQ(m.s().rip(), TestMachine::kCodeBase + 1);
    EXPECT_EQ(m.run(100).reason, cpu::ExitReason::Hlt);
}

TEST(Io, InFromUnclaimedPortExitsAndCompletesIntoAccumulator) {
    IoMachine m;
    m.enter_long64();
    m.s().gpr[RAX] = 0x1111'2222'3333'4444ull;
    m.s().gpr[RDX] = 0x5658;
    // in ax, dx; mov rbx, rax; hlt
    const uint8_t code[] = {0x66, 0xed, 0x48, 0x89, 0xc3, kHlt};
    m.load_code(code);
    const auto& e = m.run(100);
    ASSERT_EQ(e.reason, cpu::ExitReason::Io);
    EXPECT_TRUE(e.io.in);
    EXPECT_EQ(e.io.port, 0x5658);
    EXPECT_EQ(e.io.size, 2);
    EXPECT_TRUE(m.vcpu->core().pio_in_pending);
    m.vcpu->complete_io_in(0xbeef);
    EXPECT_FALSE(m.vcpu->core().pio_in_pending);
    EXPECT_EQ(m.run(100).reason, cpu::ExitReason::Hlt);
    EXPECT_EQ(m.s().gpr[cpu::RBX], 0x1111'2222'3333'beefull);
}

TEST(Io, RepInsbFillsMemoryFromDevice) {
    IoMachine m;
    m.enter_long64();
    m.s().gpr[RDX] = 0x75;
    m.s().gpr[RDI] = kBuf;
    m.s().gpr[RCX] = 16;
    const uint8_t code[] = {0xf3, 0x6c, kHlt};  // rep insb
    m.load_code(code);
    EXPECT_EQ(m.run(100).reason, cpu::ExitReason::Hlt);
    for (unsigned i = 0; i < 16; ++i) EXPECT_EQ(m.read<uint8_t>(kBuf + i), 0x40 + i);
    EXPECT_EQ(m.s().gpr[RDI], kBuf + 16);
    EXPECT_EQ(m.s().gpr[RCX], 0u);
}

TEST(Io, StdRepOutswSendsWordsDownward) {
    IoMachine m;
    m.enter_long64();
    for (uint16_t i = 0; i < 3; ++i)
        m.poke<uint16_t>(kBuf + 2 * i, static_cast<uint16_t>(0x100 + i));
    m.s().gpr[RDX] = 0x72;
    m.s().gpr[RSI] = kBuf + 4;
    m.s().gpr[RCX] = 3;
    const uint8_t code[] = {0xfd, 0x66, 0xf3, 0x6f, kHlt};  // std; rep outsw
    m.load_code(code);
    EXPECT_EQ(m.run(100).reason, cpu::ExitReason::Hlt);
    ASSERT_EQ(m.dev.writes.size(), 3u);
    for (unsigned i = 0; i < 3; ++i) {
        EXPECT_EQ(m.dev.writes[i].offset, 2);
        EXPECT_EQ(m.dev.writes[i].size, 2u);
        EXPECT_EQ(m.dev.writes[i].value, 0x102u - i);
    }
    EXPECT_EQ(m.s().gpr[RSI], kBuf - 2);
}

TEST(Io, StringIoToUnclaimedPortsDoesNotExit) {
    IoMachine m;
    m.enter_long64();
    m.s().gpr[RDX] = 0x1234;
    m.s().gpr[RDI] = kBuf;
    m.s().gpr[RSI] = kBuf + 0x100;
    // insd; outsb; hlt
    const uint8_t code[] = {0x6d, 0x6e, kHlt};
    m.load_code(code);
    EXPECT_EQ(m.run(100).reason, cpu::ExitReason::Hlt);
    EXPECT_EQ(m.read<uint32_t>(kBuf), 0xffffffffu);
    EXPECT_EQ(m.s().gpr[RDI], kBuf + 4);
    EXPECT_EQ(m.s().gpr[RSI], kBuf + 0x101);
}

TEST(Io, RepInsbPageFaultKeepsProgressAndDeviceData) {
    IoMachine m;
    m.enter_long64();
    m.install_idt64();
    m.poke<uint64_t>(TestMachine::kPd + 3 * 8, 0);  // 0x600000.. not present
    m.s().gpr[RDX] = 0x70;
    m.s().gpr[RDI] = 0x600000 - 4;
    m.s().gpr[RCX] = 10;
    const uint8_t code[] = {0xf3, 0x6c, kHlt};
    m.load_code(code);
    m.run(100);
    ASSERT_EQ(m.halted_vector(), 14);
    EXPECT_EQ(m.s().gpr[RCX], 6u);
    EXPECT_EQ(m.s().gpr[RDI], 0x600000u);
    EXPECT_EQ(m.dev.next, 0x44);  // the faulting element did not read the port
}

// ---- permission ------------------------------------------------------------------------------

constexpr uint64_t kTss = 0x40000;
constexpr uint64_t kIopbOffset = 0x68;

// 64-bit mode at CPL 3 with a TSS whose bitmap denies every port; `limit` is the TR limit.
void enter_user64_with_tss(TestMachine& m, uint32_t limit = kIopbOffset + 8192) {
    m.enter_long64();
    m.install_idt64();
    m.poke<uint64_t>(kTss + 4, 0x70000);  // RSP0 for delivery from ring 3
    m.poke<uint16_t>(kTss + 0x66, kIopbOffset);
    std::vector<uint8_t> ones(8192 + 1, 0xff);
    m.write(kTss + kIopbOffset, ones.data(), ones.size());
    m.s().tr = cpu::Segment{0x40, Attr::P | SysType::TSS_BUSY, limit, kTss};
    m.s().seg[cpu::CS] = cpu::Segment{
        0x3b, Attr::P | Attr::S | Attr::CODE | Attr::W_R | Attr::L | (3 << Attr::DPL_SHIFT),
        0xffffffff, 0};
    m.s().seg[cpu::SS] = cpu::Segment{
        0x33, Attr::P | Attr::S | Attr::W_R | Attr::DB | (3 << Attr::DPL_SHIFT), 0xffffffff, 0};
    m.s().gpr[cpu::RSP] = 0x50000;
    m.vcpu->state_changed();
}

void allow_port(TestMachine& m, uint16_t port) {
    const uint64_t a = kTss + kIopbOffset + port / 8;
    m.poke<uint8_t>(a, static_cast<uint8_t>(m.read<uint8_t>(a) & ~(1u << (port & 7))));
}

// Runs `code` at CPL 3 followed by an INT3 and returns the vector whose stub halted the vCPU:
// 3 when the code passed, the fault's vector otherwise.
int run_user(TestMachine& m, std::vector<uint8_t> code) {
    code.push_back(0xcc);  // int3
    uint64_t lo = m.read<uint64_t>(TestMachine::kIdt + 16 * 3);
    m.poke<uint64_t>(TestMachine::kIdt + 16 * 3,
                     lo | (uint64_t{3} << 45));  // INT3 allowed from ring 3
    m.load_code(code);
    m.run(100);
    return m.halted_vector();
}

TEST(Io, BitmapGrantsSinglePortsAtCpl3) {
    IoMachine m;
    enter_user64_with_tss(m);
    ASSERT_EQ(m.s().cpl, 3);
    allow_port(m, 0x80);
    EXPECT_EQ(run_user(m, {0xe6, 0x80}), 3);  // out 0x80, al: allowed
    EXPECT_EQ(m.dev.writes.size(), 1u);

    IoMachine d;
    enter_user64_with_tss(d);
    allow_port(d, 0x80);
    EXPECT_EQ(run_user(d, {0xe6, 0x81}), 13);              // out 0x81, al: denied
    EXPECT_EQ(d.read<uint64_t>(d.s().gpr[cpu::RSP]), 0u);  // #GP(0)
    EXPECT_TRUE(d.dev.writes.empty());
}

TEST(Io, BitmapChecksEveryByteOfTheAccessAcrossBitmapBytes) {
    IoMachine m;
    enter_user64_with_tss(m);
    for (uint16_t p = 0x7e; p <= 0x81; ++p) allow_port(m, p);
    m.s().gpr[RDX] = 0x7e;
    EXPECT_EQ(run_user(m, {0xef}), 3);  // out dx, eax: ports 0x7e..0x81 straddle two bitmap bytes

    IoMachine d;
    enter_user64_with_tss(d);
    for (uint16_t p = 0x7e; p <= 0x80; ++p) allow_port(d, p);
    d.s().gpr[RDX] = 0x7e;
    EXPECT_EQ(run_user(d, {0xef}), 13);  // 0x81 is still denied
    EXPECT_TRUE(d.dev.writes.empty());
}

TEST(Io, BitmapBeyondTssLimitFaults) {
    // The limit ends the TSS at bitmap byte 0x0f (ports 0x78..0x7f).
    IoMachine m;
    enter_user64_with_tss(m, kIopbOffset + 0x0f);
    allow_port(m, 0x78);
    // The bit is clear, but the processor reads two bitmap bytes and the second lies past the
    // limit.
    EXPECT_EQ(run_user(m, {0xe6, 0x78}), 13);

    IoMachine ok;
    enter_user64_with_tss(ok, kIopbOffset + 0x0f);
    allow_port(ok, 0x70);
    EXPECT_EQ(run_user(ok, {0xe6, 0x70}), 3);  // bytes 0x0e and 0x0f are both within the limit

    IoMachine past;
    enter_user64_with_tss(past, kIopbOffset + 0x0f);
    EXPECT_EQ(run_user(past, {0xe6, 0x80}), 13);
}

TEST(Io, IoplAtLeastCplBypassesBitmap) {
    IoMachine m;
    enter_user64_with_tss(m);
    m.s().rflags |= Rflags::IOPL;  // IOPL 3
    EXPECT_EQ(run_user(m, {0xe6, 0x81}), 3);
    EXPECT_EQ(m.dev.writes.size(), 1u);
}

TEST(Io, StringIoChecksBitmapToo) {
    IoMachine m;
    enter_user64_with_tss(m);
    m.s().gpr[RDX] = 0x80;
    m.s().gpr[RSI] = kBuf;
    EXPECT_EQ(run_user(m, {0x6e}), 13);  // outsb to a denied port
    EXPECT_TRUE(m.dev.writes.empty());
}

TEST(Io, SixteenBitTssHasNoBitmap) {
    IoMachine m;
    enter_user64_with_tss(m);
    allow_port(m, 0x80);
    m.s().tr.attrib = Attr::P | SysType::TSS16_BUSY;
    EXPECT_EQ(run_user(m, {0xe6, 0x80}), 13);
}

// Virtual-8086 mode consults the bitmap even with IOPL 3 (IN/OUT are not IOPL-sensitive there).
TEST(Io, Virtual8086ModeAlwaysConsultsBitmap) {
    for (const bool allowed : {true, false}) {
        IoMachine m;
        m.enter_protected32();
        m.poke<uint16_t>(kTss + 0x66, kIopbOffset);
        std::vector<uint8_t> ones(8192 + 1, 0xff);
        m.write(kTss + kIopbOffset, ones.data(), ones.size());
        if (allowed) allow_port(m, 0x80);
        auto& s = m.s();
        s.tr = cpu::Segment{0x40, Attr::P | SysType::TSS_BUSY, kIopbOffset + 8192, kTss};
        for (unsigned r = 0; r < cpu::kNumSegRegs; ++r)
            s.seg[r] = cpu::Segment{
                0x800, Attr::P | Attr::S | Attr::W_R | Attr::A | (3 << Attr::DPL_SHIFT), 0xffff,
                0x8000};
        s.seg[cpu::CS].attrib |= Attr::CODE;
        s.rflags |= Rflags::VM | Rflags::IOPL;
        m.vcpu->state_changed();
        ASSERT_EQ(s.mode, cpu::CpuMode::Virtual8086);
        const uint8_t code[] = {0xe6, 0x80, 0x90};  // out 0x80, al; nop
        m.write(0x8000, code, sizeof code);
        s.rip() = 0;
        const auto reason = m.run(2).reason;
        if (allowed) {
            EXPECT_EQ(reason, cpu::ExitReason::InsnLimit);
            EXPECT_EQ(m.dev.writes.size(), 1u);
        } else {
            EXPECT_EQ(reason, cpu::ExitReason::Shutdown);  // #GP with no IDT escalates
            EXPECT_TRUE(m.dev.writes.empty());
        }
    }
}

TEST(Io, RealModeHasNoPermissionCheck) {
    IoMachine m;
    m.enter_real16();
    const uint8_t code[] = {0xe6, 0x80, kHlt};
    m.load_code(code);
    EXPECT_EQ(m.run(10).reason, cpu::ExitReason::Hlt);
    EXPECT_EQ(m.dev.writes.size(), 1u);
}

}  // namespace
}  // namespace vx86::test
