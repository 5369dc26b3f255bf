// SMM in the vCPU: SMI delivery and priority, the entry state, both save-map layouts, RSM into
// every mode, SMBASE relocation, invalid images (shutdown, CPU untouched), NMI/INIT latching,
// the interrupt shadow across SMI/RSM, auto-halt restart and SMRAM-only code.
#include <gtest/gtest.h>

#include <cstring>

#include "arch/smram.h"
#include "support/test_machine.h"

namespace vx86::cpu {
namespace {

using namespace arch;
using test::TestMachine;

constexpr uint8_t kRsm[] = {0x0f, 0xaa};

class Smm : public ::testing::Test {
protected:
    explicit Smm(const char* model = "max") : m(model) {}

    // Handler at SMBASE + 0x8000 in the SMM address space (RAM is shared unless an AS-1 slot
    // overlays it).
    void install_handler(std::span<const uint8_t> code, uint64_t smbase = kSmbaseReset) {
        m.memory.write(1, smbase + kSmmEntryOffset, code);
    }
    SmramStateSave area(uint64_t smbase = kSmbaseReset) {
        SmramStateSave a;
        uint8_t b[512];
        m.memory.read(1, smbase + kSmramSaveOffset, b);
        std::memcpy(&a, b, sizeof a);
        return a;
    }
    void write_area(const SmramStateSave& a, uint64_t smbase = kSmbaseReset) {
        uint8_t b[512];
        std::memcpy(b, &a, sizeof b);
        m.memory.write(1, smbase + kSmramSaveOffset, b);
    }
    // Takes the SMI at the current boundary without running anything else.
    void take_smi() {
        m.vcpu->inject_smi();
        m.run(0);
        ASSERT_TRUE(m.vcpu->in_smm());
    }
    void rsm() {
        const auto& e = m.run(1);
        ASSERT_EQ(e.reason, ExitReason::InsnLimit);
        ASSERT_FALSE(m.vcpu->in_smm());
    }
    // Everything RSM must give back unchanged.
    static void expect_same(const CpuState& a, const CpuState& b) {
        for (unsigned i = 0; i < 16; ++i) EXPECT_EQ(a.gpr[i], b.gpr[i]) << "gpr " << i;
        EXPECT_EQ(a.rip(), b.rip());
        EXPECT_EQ(a.get_rflags(), b.get_rflags());
        EXPECT_EQ(a.cr0, b.cr0);
        EXPECT_EQ(a.cr3, b.cr3);
        EXPECT_EQ(a.cr4, b.cr4);
        EXPECT_EQ(a.efer, b.efer);
        EXPECT_EQ(a.dr[6], b.dr[6]);
        EXPECT_EQ(a.dr[7], b.dr[7]);
        for (unsigned r = 0; r < kNumSegRegs; ++r) EXPECT_EQ(a.seg[r], b.seg[r]) << "seg " << r;
        EXPECT_EQ(a.ldtr, b.ldtr);
        EXPECT_EQ(a.tr, b.tr);
        EXPECT_EQ(a.gdtr, b.gdtr);
        EXPECT_EQ(a.idtr, b.idtr);
        EXPECT_EQ(a.mode, b.mode);
        EXPECT_EQ(a.cpl, b.cpl);
    }
    void distinct_gprs() {
        for (unsigned i = 0; i < 16; ++i)
            if (i != RSP) m.s().gpr[i] = 0x1111111111111111ull * (i + 1) + i;
    }

    TestMachine m;
};

class Smm32 : public Smm {
protected:
    Smm32() : Smm("qemu64,-lm") {}
};

TEST_F(Smm, EntryStateFromLongModeAndSaveMap64) {
    m.enter_long64();
    m.install_idt64();
    distinct_gprs();
    m.s().seg[FS].base = 0x123456789a;
    m.s().dr[7] = 0x455;
    m.vcpu->state_changed();
    m.load_code(std::vector<uint8_t>{0x90, 0x90, 0xf4});
    m.run(1);
    const CpuState before = m.s();
    take_smi();
    const CpuState& s = m.s();
    EXPECT_EQ(s.rip(), 0x8000u);
    EXPECT_EQ(s.get_rflags(), 2u);
    EXPECT_EQ(s.seg[CS].selector, 0x3000);
    EXPECT_EQ(s.seg[CS].base, 0x30000u);
    EXPECT_EQ(s.seg[CS].limit, 0xffffffffu);
    EXPECT_EQ(s.seg[CS].attrib, Attr::P | Attr::S | Attr::W_R | Attr::A | Attr::G);
    for (SegReg r : {ES, SS, DS, FS, GS}) {
        EXPECT_EQ(s.seg[r].selector, 0);
        EXPECT_EQ(s.seg[r].base, 0u);
        EXPECT_EQ(s.seg[r].limit, 0xffffffffu);
    }
    EXPECT_EQ(s.cr0 & (Cr0::PE | Cr0::PG | Cr0::EM | Cr0::TS), 0u);
    EXPECT_EQ(s.cr0 & Cr0::NE, Cr0::NE);  // other bits unchanged
    EXPECT_EQ(s.cr4, 0u);
    EXPECT_EQ(s.efer, 0u);
    EXPECT_EQ(s.dr[7], 0x400u);
    EXPECT_EQ(s.cr3, before.cr3);
    EXPECT_EQ(s.gdtr, before.gdtr);
    EXPECT_EQ(s.mode, CpuMode::Real);
    EXPECT_TRUE(s.nmi_blocked);
    EXPECT_EQ(s.smm.smi_count, 1u);
    EXPECT_EQ(m.vcpu->core().mmu.address_space(), 1u);

    const SmramState64 a = area().s64;
    EXPECT_EQ(a.smm_revision, kSmmRevision64);
    EXPECT_EQ(a.smbase, 0x30000u);
    EXPECT_EQ(a.rip, before.rip());
    EXPECT_EQ(a.rflags, before.get_rflags());
    EXPECT_EQ(a.gprs[15], before.gpr[RAX]);  // RAX at FFF8
    EXPECT_EQ(a.gprs[0], before.gpr[R15]);   // R15 at FF80
    EXPECT_EQ(a.gprs[15 - RSP], before.gpr[RSP]);
    EXPECT_EQ(a.efer, before.efer);
    EXPECT_EQ(a.cr0, before.cr0);
    EXPECT_EQ(a.cr3, before.cr3);
    EXPECT_EQ(a.cr4, before.cr4);
    EXPECT_EQ(a.dr7, 0x455u);
    EXPECT_EQ(a.cs.selector, TestMachine::kCode64);
    EXPECT_EQ(a.cs.attributes, smram_attr_from_vmcb(before.seg[CS].attrib));
    EXPECT_EQ(a.cs.attributes & 0x2000, 0x2000);  // L at bit 13 of the 16-bit word
    EXPECT_EQ(a.fs.base, 0x123456789aull);
    EXPECT_EQ(a.gdtr.base, before.gdtr.base);
    EXPECT_EQ(a.gdtr.limit, before.gdtr.limit);
    EXPECT_EQ(a.idtr.base, TestMachine::kIdt);
    EXPECT_EQ(a.auto_hlt_restart, 0);
    // The vx86 decision of seed 001: the interrupt shadow is not written to SMRAM.
    const SmramStateSave raw = area();
    EXPECT_EQ(raw.bytes[0xcb], 0);
    // Reserved bytes are zero.
    for (unsigned i = 0xf0; i < 0xfc; ++i) EXPECT_EQ(raw.bytes[i], 0) << i;
}

TEST_F(Smm, RsmRestoresLongModeAboveFourGiB) {
    m.enter_long64();
    m.install_idt64();
    // Map VA 4 GiB + x onto PA x through PDPT entry 4, and run code there.
    m.poke<uint64_t>(TestMachine::kPdpt + 4 * 8, TestMachine::kPd | Pte::P | Pte::RW);
    m.write(TestMachine::kCodeBase, std::vector<uint8_t>{0x48, 0xff, 0xc0, 0x48, 0xff, 0xc0, 0xf4});
    distinct_gprs();
    m.vcpu->state_changed();
    m.s().rip() = 0x100000000ull + TestMachine::kCodeBase;
    install_handler(kRsm);
    m.run(1);  // inc rax
    const CpuState before = m.s();
    take_smi();
    rsm();
    expect_same(before, m.s());
    EXPECT_EQ(m.s().rip(), 0x100000003ull + TestMachine::kCodeBase);
    EXPECT_FALSE(m.s().nmi_blocked);
    EXPECT_EQ(m.vcpu->core().mmu.address_space(), 0u);
    m.run(1);
    EXPECT_EQ(m.s().gpr[RAX], before.gpr[RAX] + 1);
}

TEST_F(Smm, RsmRestoresRealProtectedAndCompatibilityMode) {
    install_handler(kRsm);
    // Real mode.
    m.enter_real16();
    m.load_code(std::vector<uint8_t>{0x40, 0x40, 0xf4});
    m.run(1);
    CpuState before = m.s();
    take_smi();
    rsm();
    expect_same(before, m.s());
    // 32-bit protected mode with PAE paging off and DR6 state.
    m.enter_protected32();
    m.s().dr[6] = 0xffff4ff1;
    m.load_code(std::vector<uint8_t>{0x40, 0x40, 0xf4});
    m.run(1);
    before = m.s();
    take_smi();
    rsm();
    expect_same(before, m.s());
    // Compatibility mode: 32-bit code segment under long mode.
    m.enter_long64();
    m.s().seg[CS] = Segment{TestMachine::kCode32, Attr::P | Attr::S | Attr::CODE | Attr::W_R | Attr::DB | Attr::G,
                            0xffffffff, 0};
    m.vcpu->state_changed();
    ASSERT_EQ(m.s().mode, CpuMode::Compatibility);
    m.load_code(std::vector<uint8_t>{0x40, 0x40, 0xf4});
    m.run(1);
    before = m.s();
    take_smi();
    rsm();
    expect_same(before, m.s());
    EXPECT_EQ(m.s().mode, CpuMode::Compatibility);
}

TEST_F(Smm, RsmTearsDownAHandlerThatEnteredProtectedMode) {
    m.enter_real16();
    m.load_code(std::vector<uint8_t>{0x40, 0xf4});
    const CpuState before = m.s();
    // Handler: mov eax, cr0; or al, 1; mov cr0, eax; rsm  (RSM from 16-bit protected mode).
    install_handler(std::vector<uint8_t>{0x0f, 0x20, 0xc0, 0x0c, 0x01, 0x0f, 0x22, 0xc0, 0x0f, 0xaa});
    take_smi();
    m.run(3);
    ASSERT_TRUE(m.s().protected_mode());
    rsm();
    expect_same(before, m.s());
}

TEST_F(Smm, SmbaseRelocationMovesTheNextEntry) {
    m.enter_real16();
    m.load_code(std::vector<uint8_t>{0x90, 0x90, 0x90, 0xf4});
    // mov dword [cs:0xff00], 0x50000 ; rsm
    install_handler(std::vector<uint8_t>{0x2e, 0x66, 0xc7, 0x06, 0x00, 0xff, 0x00, 0x00, 0x05, 0x00, 0x0f, 0xaa});
    install_handler(kRsm, 0x50000);
    take_smi();
    m.run(1);
    rsm();
    EXPECT_EQ(m.s().smm.smbase, 0x50000u);
    take_smi();
    EXPECT_EQ(m.s().seg[CS].selector, 0x5000);
    EXPECT_EQ(m.s().seg[CS].base, 0x50000u);
    EXPECT_EQ(area(0x50000).s64.smbase, 0x50000u);
    EXPECT_EQ(m.s().smm.smi_count, 2u);
    rsm();
}

TEST_F(Smm, ApiStyleSmbaseAndSmramOnlySlotDoNotConfuseTheCodeCache) {
    // KVM's smm_test layout: SMRAM at 16 MiB exists only in address space 1, over normal RAM.
    constexpr uint64_t kSmram = 0x1000000;
    ASSERT_TRUE(m.memory.set_slot({9, 1, kSmram, 0x10000, nullptr, 0}));
    m.enter_protected32();
    // Normal RAM at kSmram + 0x8000 holds other code, executed (and cached) first.
    m.write(kSmram + 0x8000, std::vector<uint8_t>{0x40, 0xf4});  // inc eax; hlt
    m.s().rip() = kSmram + 0x8000;
    m.s().gpr[RAX] = 0;
    ASSERT_EQ(m.run().reason, ExitReason::Hlt);
    EXPECT_EQ(m.s().gpr[RAX], 1u);
    // SMRAM handler: mov al, 0xfe; rsm.
    install_handler(std::vector<uint8_t>{0xb0, 0xfe, 0x0f, 0xaa}, kSmram);
    m.s().smm.smbase = kSmram;
    m.s().halted = false;
    m.load_code(std::vector<uint8_t>{0x90, 0xf4});
    take_smi();
    m.run(1);
    EXPECT_EQ(m.s().gpr[RAX] & 0xff, 0xfeu);
    rsm();
    // The save area went to SMRAM, not to the RAM below it.
    EXPECT_EQ(area(kSmram).s64.smm_revision, kSmmRevision64);
    EXPECT_EQ(m.read<uint32_t>(kSmram + 0xfefc), 0u);
}

TEST_F(Smm, DirtyLoggingSeesWritesInBothAddressSpaces) {
    constexpr uint64_t kSmram = 0x1000000;
    ASSERT_TRUE(m.memory.set_slot({9, 1, kSmram, 0x10000, nullptr, mem::SlotFlag::LOG_DIRTY}));
    // Normal RAM slot 0 with dirty logging too: SMM code writing normal RAM must be seen there.
    ASSERT_TRUE(m.memory.set_slot({0, 0, 0, TestMachine::kRamSize, nullptr, mem::SlotFlag::LOG_DIRTY}));
    m.enter_real16();
    m.load_code(std::vector<uint8_t>{0x90, 0xf4});
    // Handler: mov dword [0x5000], 1 (DS base 0 in SMM: normal RAM) ; rsm
    install_handler(std::vector<uint8_t>{0x66, 0xc7, 0x06, 0x00, 0x50, 0x01, 0x00, 0x00, 0x00, 0x0f, 0xaa}, kSmram);
    m.s().smm.smbase = kSmram;
    ASSERT_TRUE(m.memory.get_and_clear_dirty(9));
    ASSERT_TRUE(m.memory.get_and_clear_dirty(0));
    take_smi();
    m.run(1);
    rsm();
    auto smram_dirty = m.memory.get_and_clear_dirty(9);
    ASSERT_TRUE(smram_dirty);
    EXPECT_EQ((*smram_dirty)[0], uint64_t{1} << 15);  // the page holding SMBASE + 0xFE00
    auto ram_dirty = m.memory.get_and_clear_dirty(0);
    ASSERT_TRUE(ram_dirty);
    EXPECT_EQ((*ram_dirty)[0], uint64_t{1} << 5);     // 0x5000
    EXPECT_EQ(m.read<uint32_t>(0x5000), 1u);
}

TEST_F(Smm, AnsweredMmioReadCompletesBeforeTheSmi) {
    m.enter_protected32();
    m.vcpu->set_mmio_exits(true);
    install_handler(kRsm);
    m.load_code(std::vector<uint8_t>{0xa1, 0x00, 0x00, 0x00, 0x50, 0x90, 0xf4});  // mov eax, [0x50000000]
    ASSERT_EQ(m.run().reason, ExitReason::Mmio);
    m.vcpu->inject_smi();
    const uint8_t data[4] = {0x44, 0x33, 0x22, 0x11};
    m.vcpu->complete_mmio(data, 4);
    m.run(0);
    EXPECT_FALSE(m.vcpu->in_smm());  // the answered instruction has not run yet
    m.run(1);
    EXPECT_EQ(m.s().gpr[RAX], 0x11223344u);
    m.run(0);
    EXPECT_TRUE(m.vcpu->in_smm());
    EXPECT_EQ(area().s64.rip, TestMachine::kCodeBase + 5);
    EXPECT_EQ(area().s64.gprs[15], 0x11223344u);
}

TEST_F(Smm, HandlerRewrittenThroughTheOpenNormalViewRunsNew) {
    // An open SMRAM window: the same host RAM is an AS-1 slot and part of the AS-0 RAM slot.
    constexpr uint64_t kSmram = 0x1000000;
    uint8_t* ram = m.memory.slot_by_id(0)->host;
    ASSERT_TRUE(m.memory.set_slot({9, 1, kSmram, 0x10000, ram + kSmram, 0}));
    EXPECT_TRUE(m.memory.cross_space_alias());
    m.s().smm.smbase = kSmram;
    m.enter_real16();
    m.load_code(std::vector<uint8_t>{0x90, 0x90, 0x90, 0xf4});
    m.write(kSmram + 0x8000, std::vector<uint8_t>{0xb0, 0x01, 0x0f, 0xaa});  // mov al, 1; rsm
    take_smi();
    m.run(1);
    EXPECT_EQ(m.s().gpr[RAX] & 0xff, 1u);
    rsm();
    // Normal code (here: the embedder through AS 0) rewrites the handler it decoded through AS 1.
    m.write(kSmram + 0x8001, std::vector<uint8_t>{0x02});  // mov al, 2
    take_smi();
    m.run(1);
    EXPECT_EQ(m.s().gpr[RAX] & 0xff, 2u);
    rsm();
    ASSERT_TRUE(m.memory.delete_slot(9));
    EXPECT_FALSE(m.memory.cross_space_alias());
}

TEST_F(Smm, InvalidImagesShutDownAndLeaveTheCpuInSmm) {
    struct Case {
        const char* what;
        void (*corrupt)(SmramState64&);
    };
    const Case cases[] = {
        {"CR0.PG without PE", [](SmramState64& a) { a.cr0 = (a.cr0 | Cr0::PG) & ~Cr0::PE; }},
        {"CR0.NW without CD", [](SmramState64& a) { a.cr0 = (a.cr0 | Cr0::NW) & ~Cr0::CD; }},
        {"CR0 bits 63:32", [](SmramState64& a) { a.cr0 |= 1ull << 40; }},
        {"reserved CR4 bit", [](SmramState64& a) { a.cr4 |= 1ull << 30; }},
        {"CR4.PCIDE (no PCID in the model)", [](SmramState64& a) { a.cr4 |= Cr4::PCIDE; }},
        {"reserved EFER bit", [](SmramState64& a) { a.efer |= 1ull << 20; }},
        {"long mode without PAE", [](SmramState64& a) { a.cr4 &= ~Cr4::PAE; }},
        {"DR7 bits 63:32", [](SmramState64& a) { a.dr7 |= 1ull << 33; }},
        {"DR6 bits 63:32", [](SmramState64& a) { a.dr6 |= 1ull << 40; }},
        {"RFLAGS.VM in long mode", [](SmramState64& a) { a.rflags |= Rflags::VM; }},
        {"RFLAGS bits 63:32", [](SmramState64& a) { a.rflags |= 1ull << 32; }},
        {"CR3 above MAXPHYADDR in long mode", [](SmramState64& a) { a.cr3 |= 1ull << 62; }},
    };
    install_handler(kRsm);
    for (const Case& c : cases) {
        SCOPED_TRACE(c.what);
        m.vcpu->reset();
        m.enter_long64();
        m.load_code(std::vector<uint8_t>{0x90, 0xf4});
        take_smi();
        SmramStateSave a = area();
        c.corrupt(a.s64);
        write_area(a);
        const CpuState in_smm = m.s();
        EXPECT_EQ(m.run(1).reason, ExitReason::Shutdown);
        EXPECT_TRUE(m.vcpu->in_smm());
        EXPECT_EQ(m.s().cr0, in_smm.cr0);
        EXPECT_EQ(m.s().efer, in_smm.efer);
        EXPECT_EQ(m.s().seg[CS], in_smm.seg[CS]);
        EXPECT_EQ(m.vcpu->core().mmu.address_space(), 1u);
    }
}

TEST_F(Smm, HandlerCanReturnToADifferentValidState) {
    // SeaBIOS' CALL32_SMM: the handler edits the image so RSM "returns" into another mode.
    m.enter_real16();
    m.load_code(std::vector<uint8_t>{0x90, 0xf4});
    install_handler(kRsm);
    take_smi();
    SmramStateSave a = area();
    a.s64.cr0 |= Cr0::PE;
    a.s64.cs = {TestMachine::kCode32, smram_attr_from_vmcb(Attr::P | Attr::S | Attr::CODE | Attr::W_R | Attr::DB | Attr::G),
                0xffffffff, 0};
    a.s64.rip = TestMachine::kCodeBase;
    a.s64.gprs[15] = 0xdeadbeef;
    write_area(a);
    m.write(TestMachine::kCodeBase, std::vector<uint8_t>{0x40, 0xf4});
    rsm();
    EXPECT_EQ(m.s().mode, CpuMode::Protected);
    EXPECT_EQ(m.s().code_size, 4);
    EXPECT_EQ(m.run().reason, ExitReason::Hlt);
    EXPECT_EQ(m.s().gpr[RAX], 0xdeadbef0u);
}

TEST_F(Smm, SmiIsBlockedInSmmAndOneStaysLatched) {
    m.enter_real16();
    m.load_code(std::vector<uint8_t>{0x90, 0x90, 0xf4});
    install_handler(kRsm);
    take_smi();
    m.vcpu->inject_smi();
    m.vcpu->inject_smi();
    m.run(0);
    EXPECT_EQ(m.s().smm.smi_count, 1u);
    EXPECT_TRUE(m.s().smm.smi_pending);
    m.run(1);  // RSM; the latched SMI is taken at the next boundary
    m.run(0);
    EXPECT_TRUE(m.vcpu->in_smm());
    EXPECT_EQ(m.s().smm.smi_count, 2u);
    EXPECT_FALSE(m.s().smm.smi_pending);
    rsm();
    EXPECT_EQ(m.run().reason, ExitReason::Hlt);
    EXPECT_EQ(m.s().smm.smi_count, 2u);
}

TEST_F(Smm, SmiOutranksNmiAndNmiWaitsForRsm) {
    m.enter_long64();
    m.install_idt64();
    m.load_code(std::vector<uint8_t>{0x90, 0x90, 0xf4});
    install_handler(std::vector<uint8_t>{0x90, 0x0f, 0xaa});
    m.vcpu->inject_nmi();
    take_smi();                  // both pending: the SMI goes first
    EXPECT_TRUE(m.s().nmi_pending);
    m.run(1);                    // nop in SMM: the NMI stays blocked
    EXPECT_TRUE(m.s().nmi_pending);
    EXPECT_TRUE(m.vcpu->in_smm());
    m.run(1);                    // RSM unblocks NMIs; the NMI is delivered next
    m.run();
    EXPECT_EQ(m.halted_vector(), 2);
}

TEST_F(Smm, SmiInsideAnNmiHandlerKeepsNmisBlockedAfterRsm) {
    m.enter_long64();
    m.install_idt64();
    m.load_code(std::vector<uint8_t>{0x90, 0xf4});
    install_handler(kRsm);
    m.vcpu->inject_nmi();
    m.run(0);  // NMI delivered: its handler (a HLT stub) is about to run, NMIs blocked
    ASSERT_TRUE(m.s().nmi_blocked);
    take_smi();
    EXPECT_TRUE(m.s().smm.inside_nmi);
    rsm();
    EXPECT_TRUE(m.s().nmi_blocked);  // still inside the NMI handler
    EXPECT_FALSE(m.s().smm.inside_nmi);
    m.vcpu->inject_nmi();
    m.run(0);
    EXPECT_TRUE(m.s().nmi_pending);  // not nested into the running NMI handler
}

TEST_F(Smm, IretInsideSmmUnblocksNmis) {
    m.enter_real16();
    m.load_code(std::vector<uint8_t>{0x90, 0xf4});
    // Handler: push flags/cs/ip of the next instruction, iret, then rsm (real-mode frame).
    // 0x8000: pushf; push cs; push 0x800a; iret; ... 0x800a: rsm
    install_handler(std::vector<uint8_t>{0x9c, 0x0e, 0x68, 0x0a, 0x80, 0xcf, 0x90, 0x90, 0x90, 0x90, 0x0f, 0xaa});
    take_smi();
    m.s().gpr[RSP] = 0x7000;
    m.vcpu->state_changed();
    EXPECT_TRUE(m.s().nmi_blocked);
    m.run(4);
    EXPECT_EQ(m.s().rip(), 0x800au);
    EXPECT_FALSE(m.s().nmi_blocked);
    EXPECT_TRUE(m.vcpu->in_smm());
}

TEST_F(Smm, InitIsLatchedInSmmAndTakenAfterRsm) {
    m.enter_real16();
    m.load_code(std::vector<uint8_t>{0x90, 0xf4});
    // mov dword [cs:0xff00], 0x60000 ; rsm
    install_handler(std::vector<uint8_t>{0x2e, 0x66, 0xc7, 0x06, 0x00, 0xff, 0x00, 0x00, 0x06, 0x00, 0x0f, 0xaa});
    m.s().msr.star = 0x1234;
    take_smi();
    m.vcpu->inject_init();
    m.run(1);
    EXPECT_TRUE(m.vcpu->in_smm());  // INIT does not throw the CPU out of SMM
    EXPECT_TRUE(m.s().smm.init_latched);
    rsm();
    m.run(0);
    EXPECT_FALSE(m.s().smm.init_latched);
    EXPECT_EQ(m.s().rip(), 0xfff0u);
    EXPECT_EQ(m.s().seg[CS].base, 0xffff0000u);
    EXPECT_EQ(m.s().smm.smbase, 0x60000u);  // INIT keeps SMBASE
    EXPECT_EQ(m.s().msr.star, 0x1234u);
}

TEST_F(Smm, SmiWinsOverASimultaneousInit) {
    m.enter_real16();
    m.load_code(std::vector<uint8_t>{0x90, 0xf4});
    install_handler(kRsm);
    m.vcpu->inject_init();
    take_smi();
    EXPECT_TRUE(m.s().smm.init_latched);
    rsm();
    m.run(0);
    EXPECT_EQ(m.s().rip(), 0xfff0u);
}

class FixedIrq : public bus::InterruptController {
public:
    bool has_interrupt() const override { return true; }
    uint8_t acknowledge() override { return 0x40; }
};

TEST_F(Smm, SmiRightAfterStiKeepsTheShadow) {
    m.enter_long64();
    m.install_idt64();
    FixedIrq irq;
    m.vcpu->set_interrupt_controller(&irq);
    m.load_code(std::vector<uint8_t>{0xfb, 0x48, 0xff, 0xc0, 0x90, 0xf4});  // sti; inc rax; nop; hlt
    m.s().gpr[RAX] = 0;
    install_handler(kRsm);
    m.run(1);  // STI: interrupts are recognised only after the next instruction
    ASSERT_EQ(m.s().interrupt_shadow, Shadow::STI);
    take_smi();
    EXPECT_EQ(m.s().interrupt_shadow, 0);        // the SMM code runs without it
    EXPECT_EQ(m.s().smm.saved_shadow, Shadow::STI);
    rsm();
    EXPECT_EQ(m.s().interrupt_shadow, Shadow::STI);
    m.run(1);  // the instruction after STI runs before the interrupt
    EXPECT_EQ(m.s().gpr[RAX], 1u);
    m.run();
    EXPECT_EQ(m.halted_vector(), 0x40);
}

TEST_F(Smm, ShadowGivenBackByRsmSurvivesAShadowInTheHandler) {
    m.enter_long64();
    m.install_idt64();
    FixedIrq irq;
    m.vcpu->set_interrupt_controller(&irq);
    m.load_code(std::vector<uint8_t>{0xfb, 0x48, 0xff, 0xc0, 0x90, 0xf4});
    m.s().gpr[RAX] = 0;
    install_handler(std::vector<uint8_t>{0xfb, 0x0f, 0xaa});  // sti; rsm (RSM in the handler's shadow)
    m.run(1);
    take_smi();
    m.run(1);
    rsm();
    EXPECT_EQ(m.s().interrupt_shadow, Shadow::STI);
    m.run(1);
    EXPECT_EQ(m.s().gpr[RAX], 1u);
}

TEST_F(Smm, SmiDuringHltUsesAutoHaltRestart) {
    m.enter_real16();
    m.load_code(std::vector<uint8_t>{0xf4, 0x40, 0xf4});
    install_handler(kRsm);
    ASSERT_EQ(m.run().reason, ExitReason::Hlt);
    const uint64_t after_hlt = m.s().rip();
    take_smi();  // wakes the halted CPU
    EXPECT_FALSE(m.s().halted);
    EXPECT_EQ(area().s64.auto_hlt_restart, kAutoHaltRestart);
    EXPECT_EQ(area().s64.rip, after_hlt);
    EXPECT_EQ(m.run(1).reason, ExitReason::Hlt);  // RSM with bit 0 still set: back to the HLT
    EXPECT_FALSE(m.vcpu->in_smm());
    EXPECT_TRUE(m.s().halted);
    EXPECT_EQ(m.s().rip(), after_hlt);
    // A handler that clears the bit resumes after the HLT instead.
    take_smi();
    SmramStateSave a = area();
    a.s64.auto_hlt_restart = 0;
    write_area(a);
    rsm();
    EXPECT_FALSE(m.s().halted);
    EXPECT_EQ(m.s().rip(), after_hlt);
    m.s().gpr[RAX] = 0;
    EXPECT_EQ(m.run().reason, ExitReason::Hlt);
    EXPECT_EQ(m.s().gpr[RAX], 1u);
}

TEST_F(Smm, RsmOutsideSmmIsUd) {
    m.enter_long64();
    m.install_idt64();
    m.load_code(kRsm);
    m.run();
    EXPECT_EQ(m.halted_vector(), 6);
}

TEST_F(Smm32, ModelWithoutLongModeUsesThe32BitMap) {
    m.enter_protected32();
    m.s().gpr[RAX] = 0xa1;
    m.s().gpr[RDI] = 0xd1;
    m.s().seg[DS].selector = TestMachine::kData;
    m.s().dr[7] = 0x401;
    m.s().tr = Segment{0x38, Attr::P | SysType::TSS_BUSY, 0x67, 0x5000};
    m.vcpu->state_changed();
    m.load_code(std::vector<uint8_t>{0x90, 0x40, 0xf4});
    install_handler(kRsm);
    m.run(1);
    const CpuState before = m.s();
    take_smi();
    const SmramState32 a = area().s32;
    EXPECT_EQ(a.smm_revision, kSmmRevision32);
    EXPECT_EQ(a.smbase, 0x30000u);
    EXPECT_EQ(a.eip, before.rip());
    EXPECT_EQ(a.gprs[0], 0xa1u);
    EXPECT_EQ(a.gprs[7], 0xd1u);
    EXPECT_EQ(a.cs_sel, TestMachine::kCode32);
    EXPECT_EQ(a.ds_sel, TestMachine::kData);
    EXPECT_EQ(a.cs.flags, smram32_flags_from_vmcb(before.seg[CS].attrib));
    EXPECT_EQ((a.cs.flags >> 23) & 1, 1u);  // G in descriptor position
    EXPECT_EQ(a.cs.limit, 0xffffffffu);
    EXPECT_EQ(a.tr_sel, 0x38u);
    EXPECT_EQ(a.tr.base, 0x5000u);
    EXPECT_EQ(a.dr7, 0x401u);
    EXPECT_EQ(a.cr0, before.cr0);
    EXPECT_EQ(a.eflags, before.get_rflags());
    // The 64-bit revision field's position holds nothing of the 64-bit map.
    EXPECT_EQ(area().bytes[0xfc], 0x00);
    EXPECT_EQ(area().bytes[0xfe], 0x02);
    rsm();
    expect_same(before, m.s());
    EXPECT_EQ(m.s().tr, before.tr);
}

TEST_F(Smm32, RelocationThroughThe32BitMap) {
    m.enter_real16();
    m.load_code(std::vector<uint8_t>{0x90, 0xf4});
    // mov dword [cs:0xfef8], 0x70000 ; rsm
    install_handler(std::vector<uint8_t>{0x2e, 0x66, 0xc7, 0x06, 0xf8, 0xfe, 0x00, 0x00, 0x07, 0x00, 0x0f, 0xaa});
    take_smi();
    m.run(1);
    rsm();
    EXPECT_EQ(m.s().smm.smbase, 0x70000u);
}

TEST_F(Smm32, InvalidCr0InThe32BitMapShutsDown) {
    m.enter_protected32();
    m.load_code(std::vector<uint8_t>{0x90, 0xf4});
    install_handler(kRsm);
    take_smi();
    SmramStateSave a = area();
    a.s32.cr0 = (a.s32.cr0 | Cr0::PG) & ~Cr0::PE;
    write_area(a);
    EXPECT_EQ(m.run(1).reason, ExitReason::Shutdown);
    EXPECT_TRUE(m.vcpu->in_smm());
}

// What the SVM issue will do in its hooks: mark the save area on entry, veto RSM on a bad image.
class RecordingHooks : public SmmVendorHooks {
public:
    bool enter_smm(Cpu& c, SmramStateSave& area) override {
        ++entered;
        saw_smm_on_entry = c.s.smm.in_smm;
        area.s64.svm_guest_flag = 1;
        area.s64.svm_guest_vmcb_gpa = 0x1234000;
        return true;
    }
    bool leave_smm(Cpu&, const SmramStateSave& area, CpuState&) override {
        ++left;
        seen_gpa = area.s64.svm_guest_vmcb_gpa;
        return allow_leave;
    }
    int entered = 0, left = 0;
    bool saw_smm_on_entry = true;
    bool allow_leave = true;
    uint64_t seen_gpa = 0;
};

TEST_F(Smm, VendorHooksRunOnEntryAndRsm) {
    RecordingHooks hooks;
    m.vcpu->set_smm_vendor_hooks(&hooks);
    m.enter_long64();
    m.load_code(std::vector<uint8_t>{0x90, 0x90, 0xf4});
    install_handler(kRsm);
    take_smi();
    EXPECT_EQ(hooks.entered, 1);
    EXPECT_FALSE(hooks.saw_smm_on_entry);  // runs before the switch to SMM
    EXPECT_EQ(area().s64.svm_guest_flag, 1u);
    EXPECT_EQ(area().s64.svm_guest_vmcb_gpa, 0x1234000u);
    rsm();
    EXPECT_EQ(hooks.left, 1);
    EXPECT_EQ(hooks.seen_gpa, 0x1234000u);
    // A hook that refuses the image makes RSM shut down, with the CPU still in SMM.
    hooks.allow_leave = false;
    take_smi();
    EXPECT_EQ(m.run(1).reason, ExitReason::Shutdown);
    EXPECT_TRUE(m.vcpu->in_smm());
    m.vcpu->set_smm_vendor_hooks(nullptr);
}

TEST(SmramLayout, AttributePackingsRoundTrip) {
    for (uint32_t a = 0; a < 0x1000; ++a) {
        const auto v = static_cast<uint16_t>(a);
        EXPECT_EQ(vmcb_attr_from_smram(smram_attr_from_vmcb(v)), v);
        EXPECT_EQ(vmcb_attr_from_smram32(smram32_flags_from_vmcb(v)), v);
    }
    // A flat 32-bit code segment: descriptor high dword 0x00CF9A00 -> 32-bit map flags 0x00C09A00.
    EXPECT_EQ(smram32_flags_from_vmcb(Attr::P | Attr::S | Attr::CODE | Attr::W_R | Attr::DB | Attr::G), 0x00c09a00u);
    EXPECT_EQ(smram_attr_from_vmcb(Attr::P | Attr::S | Attr::CODE | Attr::W_R | Attr::L | Attr::G), 0xa09a);
}

}  // namespace
}  // namespace vx86::cpu
