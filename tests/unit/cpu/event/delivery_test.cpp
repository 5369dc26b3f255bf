// Event delivery: real-mode IVT frames, 64-bit IDT frames with and without privilege change and
// IST, error codes, #DF combination and triple fault (AMD APM Vol 2, chapter 8).
#include "cpu/event/delivery.h"

#include <gtest/gtest.h>

#include "arch/vectors.h"
#include "support/test_machine.h"

namespace vx86::test {
namespace {

using namespace arch;

TEST(Delivery, LongModeExceptionPushesFrameAndErrorCode) {
    TestMachine m;
    m.enter_long64();
    m.install_idt64();
    // mov ax, 0x33 ; mov ds, ax  -> #GP(0x30): selector beyond the GDT limit
    const uint8_t code[] = {0x66, 0xb8, 0x33, 0x00, 0x8e, 0xd8};
    m.load_code(code);
    m.run(10);
    ASSERT_EQ(m.halted_vector(), 13);
    const uint64_t rsp = m.s().gpr[cpu::RSP];
    EXPECT_EQ(m.read<uint64_t>(rsp), 0x30u);                              // error code
    EXPECT_EQ(m.read<uint64_t>(rsp + 8), TestMachine::kCodeBase + 4);     // faulting RIP
    EXPECT_EQ(m.read<uint64_t>(rsp + 16), TestMachine::kCode64);          // CS
    EXPECT_EQ(m.read<uint64_t>(rsp + 32), TestMachine::kStackTop);        // old RSP
    EXPECT_EQ(rsp, TestMachine::kStackTop - 48);
    EXPECT_FALSE(m.s().rflags & Rflags::IF);
}

TEST(Delivery, UserModeInterruptSwitchesToTssStackAndIst) {
    TestMachine m;
    m.enter_long64();
    m.install_idt64();
    // TSS at 0x40000: RSP0 = 0x70000, IST1 = 0x60000.
    m.poke<uint64_t>(0x40000 + 4, 0x70000);
    m.poke<uint64_t>(0x40000 + 0x24, 0x60000);
    m.s().tr = cpu::Segment{0x38, Attr::P | SysType::TSS_BUSY, 0x67, 0x40000};
    // Gate 0x80 usable from ring 3 (DPL 3); gate 3 uses IST1.
    uint64_t lo = m.read<uint64_t>(TestMachine::kIdt + 16 * 0x80);
    m.poke<uint64_t>(TestMachine::kIdt + 16 * 0x80, lo | (uint64_t{3} << 45));
    lo = m.read<uint64_t>(TestMachine::kIdt + 16 * 3);
    m.poke<uint64_t>(TestMachine::kIdt + 16 * 3, lo | (uint64_t{1} << 32) | (uint64_t{3} << 45));
    // Ring-3 code and stack segments: GDT entries 6 (0x30 data) and 7 (0x38 code64) DPL 3.
    m.poke<uint64_t>(TestMachine::kGdt + 6 * 8, 0x00cff3000000ffffull);
    m.poke<uint64_t>(TestMachine::kGdt + 7 * 8, 0x00affb000000ffffull);
    m.s().gdtr.limit = 8 * 8 - 1;
    m.s().seg[cpu::CS] = cpu::Segment{0x3b, Attr::P | Attr::S | Attr::CODE | Attr::W_R | Attr::L |
                                                (3 << Attr::DPL_SHIFT), 0xffffffff, 0};
    m.s().seg[cpu::SS] = cpu::Segment{0x33, Attr::P | Attr::S | Attr::W_R | Attr::DB | (3 << Attr::DPL_SHIFT),
                                      0xffffffff, 0};
    m.s().gpr[cpu::RSP] = 0x50008;
    m.vcpu->state_changed();
    ASSERT_EQ(m.s().cpl, 3);
    const uint8_t code[] = {0xcd, 0x80};  // int 0x80
    m.load_code(code);
    m.run(5);
    ASSERT_EQ(m.halted_vector(), 0x80);
    EXPECT_EQ(m.s().cpl, 0);
    EXPECT_EQ(m.s().gpr[cpu::RSP], 0x70000u - 40);
    EXPECT_EQ(m.read<uint64_t>(0x70000 - 40), TestMachine::kCodeBase + 2);  // return RIP
    EXPECT_EQ(m.read<uint64_t>(0x70000 - 16), 0x50008u);                    // user RSP
    EXPECT_EQ(m.read<uint64_t>(0x70000 - 8), 0x33u);                        // user SS
    EXPECT_EQ(m.s().seg[cpu::SS].selector, 0u);                             // null SS at CPL 0

    // INT3 through the IST gate: the stack comes from IST1, aligned to 16 bytes.
    m.s().halted = false;
    m.s().seg[cpu::CS].selector = 0x3b;
    m.s().seg[cpu::CS].attrib |= 3 << Attr::DPL_SHIFT;
    m.s().seg[cpu::SS] = cpu::Segment{0x33, Attr::P | Attr::S | Attr::W_R | Attr::DB | (3 << Attr::DPL_SHIFT),
                                      0xffffffff, 0};
    m.vcpu->state_changed();
    const uint8_t int3[] = {0xcc};
    m.load_code(int3, TestMachine::kCodeBase + 0x100);
    m.run(5);
    ASSERT_EQ(m.halted_vector(), 3);
    EXPECT_EQ(m.s().gpr[cpu::RSP], 0x60000u - 40);
}

TEST(Delivery, RealModeUsesIvtAndPushesFlagsCsIp) {
    TestMachine m;
    m.enter_real16();
    // IVT entry 0x21 -> 0x2000:0x0010, where a HLT waits.
    m.poke<uint32_t>(0x21 * 4, 0x20000010);
    m.poke<uint8_t>(0x20010, 0xf4);
    m.s().idtr = {0, 0x3ff};
    m.s().rflags |= Rflags::IF;
    const uint8_t code[] = {0xcd, 0x21};
    m.load_code(code);
    m.run(5);
    EXPECT_EQ(m.s().seg[cpu::CS].selector, 0x2000);
    EXPECT_EQ(m.s().rip(), 0x11u);
    const uint64_t sp = m.s().seg[cpu::SS].base + (m.s().gpr[cpu::RSP] & 0xffff);
    EXPECT_EQ(m.read<uint16_t>(sp), 2u);                                          // IP after INT
    EXPECT_EQ(m.read<uint16_t>(sp + 2), TestMachine::kRealCodeBase >> 4);         // CS
    EXPECT_TRUE(m.read<uint16_t>(sp + 4) & Rflags::IF);                            // FLAGS
    EXPECT_FALSE(m.s().rflags & Rflags::IF);
}

TEST(Delivery, FaultDuringDeliveryBecomesDoubleFaultThenTripleFault) {
    TestMachine m;
    m.enter_long64();
    m.install_idt64();
    // Make the #GP gate not present: #GP while delivering #GP -> #NP is contributory -> #DF.
    uint64_t lo = m.read<uint64_t>(TestMachine::kIdt + 16 * 13);
    m.poke<uint64_t>(TestMachine::kIdt + 16 * 13, lo & ~(uint64_t{1} << 47));
    const uint8_t code[] = {0x66, 0xb8, 0x33, 0x00, 0x8e, 0xd8};
    m.load_code(code);
    m.run(10);
    ASSERT_EQ(m.halted_vector(), 8);
    EXPECT_EQ(m.read<uint64_t>(m.s().gpr[cpu::RSP]), 0u);  // #DF error code is zero
    // With the #DF gate gone too, the machine shuts down.
    TestMachine t;
    t.enter_long64();
    t.install_idt64();
    for (unsigned v : {8u, 13u}) {
        lo = t.read<uint64_t>(TestMachine::kIdt + 16 * v);
        t.poke<uint64_t>(TestMachine::kIdt + 16 * v, lo & ~(uint64_t{1} << 47));
    }
    t.load_code(code);
    EXPECT_EQ(t.run(10).reason, cpu::ExitReason::Shutdown);
}

TEST(Delivery, PageFaultSetsCr2AndBenignThenPageFaultIsNotDoubleFault) {
    TestMachine m;
    m.enter_long64();
    m.install_idt64();
    // mov rax, [0x8000000000] (non-present: PML4 entry 1 is empty)
    const uint8_t code[] = {0x48, 0xa1, 0, 0, 0, 0, 0x80, 0, 0, 0};
    m.load_code(code);
    m.run(5);
    ASSERT_EQ(m.halted_vector(), 14);
    EXPECT_EQ(m.s().cr2, 0x8000000000ull);
    EXPECT_EQ(m.read<uint64_t>(m.s().gpr[cpu::RSP]), 0u);  // not present, read, supervisor
}

TEST(Delivery, ExternalInterruptHonoursIfAndStiShadow) {
    struct OneShot : bus::InterruptController {
        bool pending = true;
        bool has_interrupt() const override { return pending; }
        uint8_t acknowledge() override {
            pending = false;
            return 0x40;
        }
    } pic;
    TestMachine m;
    m.enter_long64();
    m.install_idt64();
    m.vcpu->set_interrupt_controller(&pic);
    // nop; nop; sti; nop; nop   -- the interrupt arrives after the instruction following STI
    const uint8_t code[] = {0x90, 0x90, 0xfb, 0x90, 0x90};
    m.load_code(code);
    m.run(2);
    EXPECT_TRUE(pic.pending) << "IF=0 must block the interrupt";
    m.run(1);  // STI
    EXPECT_TRUE(pic.pending) << "the STI shadow covers the next instruction";
    EXPECT_EQ(m.s().rip(), TestMachine::kCodeBase + 3);
    m.run(1);  // the shadowed NOP, then the interrupt is taken at the next boundary
    EXPECT_FALSE(pic.pending);
    m.run(1);  // the handler's HLT
    EXPECT_EQ(m.halted_vector(), 0x40);
    EXPECT_EQ(m.read<uint64_t>(m.s().gpr[cpu::RSP]), TestMachine::kCodeBase + 4);
}

}  // namespace
}  // namespace vx86::test
