// Segment family: MOV/POP Sreg checks, interrupt shadow, LDS/LES/LSS, far JMP/CALL/RET in real and
// protected mode, call gates with stack switch, LLDT/LTR, LAR/LSL/VERR/VERW and ARPL.
// The oracle is AMD APM Vol 2, 4.10-4.11 "Protection Checks" and the Vol 3 instruction pages.
#include <gtest/gtest.h>

#include <vector>

#include "support/protected_setup.h"

namespace vx86::test {
namespace {

using namespace arch;
using Bytes = std::vector<uint8_t>;

constexpr uint64_t kSlot = kFreeSlot;  // first free GDT slot (selector 0x58)
constexpr uint16_t sel_of(uint64_t slot, uint8_t rpl = 0) {
    return static_cast<uint16_t>(slot * 8 | rpl);
}

const uint64_t kCodeExecOnly = seg_desc(0, 0xfffff, access(0, 0x9), 0xc);
const uint64_t kCodeConforming = seg_desc(0, 0xfffff, access(0, 0xf), 0xc);

uint32_t error32(TestMachine& m) {
    return m.read<uint32_t>(m.s().gpr[cpu::RSP]);
}
uint64_t error64(TestMachine& m) {
    return m.read<uint64_t>(m.s().gpr[cpu::RSP]);
}

// mov ax, sel; mov <sreg>, ax   (sreg as the ModRM reg field: ES 0, SS 2, DS 3, FS 4, GS 5)
Bytes mov_sreg(uint16_t sel, unsigned sreg, bool o16 = true) {
    Bytes b;
    if (o16) b.push_back(0x66);
    b.insert(b.end(), {0xb8, static_cast<uint8_t>(sel), static_cast<uint8_t>(sel >> 8), 0x8e,
                       static_cast<uint8_t>(0xc0 | sreg << 3)});
    return b;
}

// ---- MOV Sreg --------------------------------------------------------------------------------

TEST(SegmentMovReal, BaseIsSelectorTimes16) {
    TestMachine m;
    m.enter_real16();
    m.poke<uint8_t>(0x12350, 0x5a);
    Bytes code = mov_sreg(0x1234, 3, false);
    code.insert(code.end(), {0xa0, 0x10, 0x00});  // mov al, [0x10]
    m.load_code(code);
    m.run(3);
    EXPECT_EQ(m.s().seg[cpu::DS].selector, 0x1234);
    EXPECT_EQ(m.s().seg[cpu::DS].base, 0x12340u);
    EXPECT_EQ(m.s().gpr[cpu::RAX] & 0xff, 0x5au);
}

struct LoadCase {
    const char* what;
    uint16_t sel;
    unsigned sreg;
    int vector;
    uint32_t error;
};

TEST(SegmentMovProtected, DescriptorChecks) {
    const LoadCase cases[] = {
        {"code segment into SS", TestMachine::kCode32, 2, 13, TestMachine::kCode32},
        {"RPL > DPL into DS", TestMachine::kData | 3, 3, 13, TestMachine::kData},
        {"RPL != CPL into SS", TestMachine::kData | 3, 2, 13, TestMachine::kData},
        {"DPL != CPL into SS", kUserData & ~3, 2, 13, kUserData & ~3},
        {"execute-only code into DS", sel_of(kSlot), 3, 13, sel_of(kSlot)},
        {"not-present data into DS", sel_of(kSlot + 1), 3, 11, sel_of(kSlot + 1)},
        {"not-present data into SS", sel_of(kSlot + 1), 2, 12, sel_of(kSlot + 1)},
        {"beyond the GDT limit", 0x400, 4, 13, 0x400},
        {"LDT selector without an LDT", 0x0c, 5, 13, 0x0c},
        {"system descriptor into ES", kTssSel, 0, 13, kTssSel},
        {"null selector into SS", 0, 2, 13, 0},
    };
    for (const LoadCase& c : cases) {
        TestMachine m;
        prot32(m);
        add_user_segments(m);
        set_gdt(m, kSlot, kCodeExecOnly);
        set_gdt(m, kSlot + 1, seg_desc(0, 0xfffff, access(0, 0x3, true, false), 0xc));
        const cpu::Segment before = m.s().seg[c.sreg];
        EXPECT_EQ(run_for_vector(m, mov_sreg(c.sel, c.sreg)), c.vector) << c.what;
        EXPECT_EQ(error32(m), c.error) << c.what;
        EXPECT_EQ(m.read<uint32_t>(m.s().gpr[cpu::RSP] + 4), TestMachine::kCodeBase + 4) << c.what;
        EXPECT_EQ(m.s().seg[c.sreg].selector, before.selector) << c.what;
    }
}

TEST(SegmentMovProtected, ValidLoadsFillTheCacheAndSetAccessed) {
    TestMachine m;
    prot32(m);
    set_gdt(m, kSlot, seg_desc(0x123000, 0x00fff, access(0, 0x2), 0x4));  // accessed bit clear
    set_gdt(m, kSlot + 1, seg_desc(0, 0xfffff, access(0, 0xa), 0xc));     // readable code
    Bytes code = mov_sreg(sel_of(kSlot), 3);
    const Bytes fs = mov_sreg(sel_of(kSlot + 1), 4);
    code.insert(code.end(), fs.begin(), fs.end());
    m.load_code(code);
    m.run(4);
    EXPECT_EQ(m.halted_vector(), -1);
    EXPECT_EQ(m.s().seg[cpu::DS].base, 0x123000u);
    EXPECT_EQ(m.s().seg[cpu::DS].limit, 0xfffu);
    EXPECT_TRUE(m.read<uint64_t>(TestMachine::kGdt + kSlot * 8) &
                (uint64_t{1} << 40));  // APM 4.7.2
    EXPECT_EQ(m.s().seg[cpu::FS].selector, sel_of(kSlot + 1));
}

TEST(SegmentMovProtected, NullDataSelectorLoadsButFaultsOnUse) {
    TestMachine m;
    prot32(m);
    Bytes code = mov_sreg(0, 3);
    code.insert(code.end(), {0x8b, 0x05, 0x00, 0x00, 0x20, 0x00});  // mov eax, [0x200000]
    EXPECT_EQ(run_for_vector(m, code), 13);
    EXPECT_EQ(error32(m), 0u);
    EXPECT_EQ(m.read<uint32_t>(m.s().gpr[cpu::RSP] + 4), TestMachine::kCodeBase + 6);
    EXPECT_EQ(m.s().seg[cpu::DS].selector, 0);
}

TEST(SegmentMovProtected, Cpl3CannotLoadKernelDataButMayLoadConformingCode) {
    TestMachine m;
    prot32(m);
    enter_ring3(m);
    set_gdt(m, kSlot, kCodeConforming);
    EXPECT_EQ(run_for_vector(m, mov_sreg(TestMachine::kData | 3, 3)), 13);
    EXPECT_EQ(error32(m), TestMachine::kData);

    TestMachine n;
    prot32(n);
    enter_ring3(n);
    set_gdt(n, kSlot, kCodeConforming);
    n.load_code(mov_sreg(sel_of(kSlot, 3), 3));
    n.run(2);
    EXPECT_EQ(n.halted_vector(), -1);
    EXPECT_EQ(n.s().seg[cpu::DS].selector, sel_of(kSlot, 3));
}

TEST(SegmentMov64, NullSsIsLegalAtCpl0WithMatchingRplOnly) {
    // APM Vol 3 "MOV": a null SS is allowed in 64-bit mode when CPL < 3 and RPL == CPL.
    TestMachine m;
    long64(m);
    m.load_code(mov_sreg(0, 2));
    m.run(2);
    EXPECT_EQ(m.halted_vector(), -1);
    EXPECT_EQ(m.s().seg[cpu::SS].selector, 0);
    EXPECT_EQ(m.s().cpl, 0);

    TestMachine r;
    long64(r);
    EXPECT_EQ(run_for_vector(r, mov_sreg(3, 2)), 13);
    EXPECT_EQ(error64(r), 0u);

    TestMachine u;
    long64(u);
    enter_ring3(u);
    EXPECT_EQ(run_for_vector(u, mov_sreg(3, 2)), 13);
}

// ---- interrupt shadow ------------------------------------------------------------------------

TEST(SegmentShadow, MovSsHoldsOffAnNmiForOneInstruction) {
    TestMachine m;
    long64(m);
    Bytes code = mov_sreg(TestMachine::kData, 2);  // 6 bytes
    code.insert(code.end(), {0x90, 0x90});
    m.load_code(code);
    m.run(2);
    EXPECT_TRUE(m.s().interrupt_shadow & cpu::Shadow::MOV_SS);
    m.s().nmi_pending = true;
    m.run(1);  // the NOP runs in the shadow, then the NMI is taken
    EXPECT_EQ(m.s().rip(), TestMachine::kIdtStubs + 16 * 2);
    EXPECT_EQ(m.read<uint64_t>(m.s().gpr[cpu::RSP]), TestMachine::kCodeBase + 7);

    // MOV DS opens no shadow: the NMI is taken before the NOP.
    TestMachine n;
    long64(n);
    Bytes ds = mov_sreg(TestMachine::kData, 3);
    ds.insert(ds.end(), {0x90, 0x90});
    n.load_code(ds);
    n.run(2);
    EXPECT_EQ(n.s().interrupt_shadow, 0);
    n.s().nmi_pending = true;
    n.run(1);
    EXPECT_EQ(n.halted_vector(), 2);
    EXPECT_EQ(n.read<uint64_t>(n.s().gpr[cpu::RSP]), TestMachine::kCodeBase + 6);
}

TEST(SegmentShadow, PopSsOpensShadowButLssDoesNot) {
    TestMachine m;
    prot32(m);
    m.load_code(Bytes{0x16, 0x17, 0x90});  // push ss; pop ss; nop
    m.run(2);
    EXPECT_TRUE(m.s().interrupt_shadow & cpu::Shadow::MOV_SS);
    m.run(1);
    EXPECT_EQ(m.s().interrupt_shadow, 0);

    // APM Vol 2, 8.5 "Interrupt Shadows" names only MOV SS and POP SS.
    TestMachine l;
    prot32(l);
    l.poke<uint32_t>(TestMachine::kDataBase, 0x8000);
    l.poke<uint16_t>(TestMachine::kDataBase + 4, TestMachine::kData);
    l.s().gpr[cpu::RBX] = TestMachine::kDataBase;
    l.load_code(Bytes{0x0f, 0xb2, 0x23});  // lss esp, [ebx]
    l.run(1);
    EXPECT_EQ(l.s().gpr[cpu::RSP], 0x8000u);
    EXPECT_EQ(l.s().interrupt_shadow, 0);
}

// ---- LDS / LES / LSS -------------------------------------------------------------------------

TEST(SegmentFarPointer, RealModeLesAndLss) {
    TestMachine m;
    m.enter_real16();
    m.poke<uint16_t>(0x600, 0x5678);
    m.poke<uint16_t>(0x602, 0x1234);
    m.poke<uint16_t>(0x610, 0xfff0);
    m.poke<uint16_t>(0x612, 0x3000);
    m.s().gpr[cpu::RBX] = 0x600;
    // les di, [bx]; lss sp, [bx+0x10]
    m.load_code(Bytes{0xc4, 0x3f, 0x0f, 0xb2, 0x67, 0x10});
    m.run(2);
    EXPECT_EQ(m.s().gpr[cpu::RDI] & 0xffff, 0x5678u);
    EXPECT_EQ(m.s().seg[cpu::ES].selector, 0x1234);
    EXPECT_EQ(m.s().seg[cpu::ES].base, 0x12340u);
    EXPECT_EQ(m.s().gpr[cpu::RSP] & 0xffff, 0xfff0u);
    EXPECT_EQ(m.s().seg[cpu::SS].base, 0x30000u);
}

TEST(SegmentFarPointer, ProtectedLdsChecksTheSelectorBeforeWritingTheRegister) {
    TestMachine m;
    prot32(m);
    set_gdt(m, kSlot, seg_desc(0x4000, 0xfffff, access(0, 0x3), 0xc));
    m.poke<uint32_t>(TestMachine::kDataBase, 0x11223344);
    m.poke<uint16_t>(TestMachine::kDataBase + 4, sel_of(kSlot));
    m.s().gpr[cpu::RBX] = TestMachine::kDataBase;
    m.load_code(Bytes{0xc5, 0x33});  // lds esi, [ebx]
    m.run(1);
    EXPECT_EQ(m.s().gpr[cpu::RSI], 0x11223344u);
    EXPECT_EQ(m.s().seg[cpu::DS].selector, sel_of(kSlot));
    EXPECT_EQ(m.s().seg[cpu::DS].base, 0x4000u);

    TestMachine f;
    prot32(f);
    f.poke<uint32_t>(TestMachine::kDataBase, 0x11223344);
    f.poke<uint16_t>(TestMachine::kDataBase + 4, TestMachine::kCode32);  // code into SS
    f.s().gpr[cpu::RBX] = TestMachine::kDataBase;
    f.s().gpr[cpu::RSI] = 0x77;
    EXPECT_EQ(run_for_vector(f, Bytes{0x0f, 0xb2, 0x33}), 13);  // lss esi, [ebx]
    EXPECT_EQ(error32(f), TestMachine::kCode32);
    EXPECT_EQ(f.s().gpr[cpu::RSI], 0x77u);
}

// ---- far JMP / CALL / RET --------------------------------------------------------------------

TEST(SegmentFarReal, CallRetfAndJmp) {
    TestMachine m;
    m.enter_real16();
    // call 0x2000:0x0010; jmp 0x3000:0x0030
    m.load_code(Bytes{0x9a, 0x10, 0x00, 0x00, 0x20, 0xea, 0x30, 0x00, 0x00, 0x30});
    m.poke<uint8_t>(0x20010, 0xcb);  // retf
    const uint64_t ss = m.s().seg[cpu::SS].base;
    m.run(1);
    EXPECT_EQ(m.s().seg[cpu::CS].selector, 0x2000);
    EXPECT_EQ(m.s().seg[cpu::CS].base, 0x20000u);
    EXPECT_EQ(m.s().rip(), 0x10u);
    EXPECT_EQ(m.s().gpr[cpu::RSP] & 0xffff, 0xffecu);
    EXPECT_EQ(m.read<uint16_t>(ss + 0xffec), 5u);                               // IP
    EXPECT_EQ(m.read<uint16_t>(ss + 0xffee), TestMachine::kRealCodeBase >> 4);  // CS
    m.run(1);
    EXPECT_EQ(m.s().seg[cpu::CS].selector, TestMachine::kRealCodeBase >> 4);
    EXPECT_EQ(m.s().rip(), 5u);
    EXPECT_EQ(m.s().gpr[cpu::RSP] & 0xffff, 0xfff0u);
    m.run(1);
    EXPECT_EQ(m.s().seg[cpu::CS].base, 0x30000u);
    EXPECT_EQ(m.s().rip(), 0x30u);
}

TEST(SegmentFarReal, IndirectJmpAndRetfImm) {
    TestMachine m;
    m.enter_real16();
    m.poke<uint16_t>(0x600, 0x0040);
    m.poke<uint16_t>(0x602, 0x2000);
    m.s().gpr[cpu::RBX] = 0x600;
    m.load_code(Bytes{0xff, 0x2f});  // jmp far [bx]
    m.run(1);
    EXPECT_EQ(m.s().seg[cpu::CS].base, 0x20000u);
    EXPECT_EQ(m.s().rip(), 0x40u);

    // retf 4 pops IP, CS and 4 more bytes.
    const uint64_t ss = m.s().seg[cpu::SS].base;
    m.poke<uint16_t>(ss + 0xfff0, 0x0007);
    m.poke<uint16_t>(ss + 0xfff2, 0x0900);
    m.poke<uint8_t>(0x20040, 0xca);
    m.poke<uint16_t>(0x20041, 4);
    m.run(1);
    EXPECT_EQ(m.s().seg[cpu::CS].base, 0x9000u);
    EXPECT_EQ(m.s().rip(), 7u);
    EXPECT_EQ(m.s().gpr[cpu::RSP] & 0xffff, 0xfff8u);
}

TEST(SegmentFarProtected, SamePrivilegeCallRetfAndJmpTo16BitCode) {
    TestMachine m;
    prot32(m);
    // call 0x18:kCodeBase+0x100; jmp 0x20:0x0100
    m.load_code(
        Bytes{0x9a, 0x00, 0x01, 0x10, 0x00, 0x18, 0x00, 0xea, 0x00, 0x01, 0x00, 0x00, 0x20, 0x00});
    m.poke<uint8_t>(TestMachine::kCodeBase + 0x100, 0xcb);  // retf
    m.run(1);
    EXPECT_EQ(m.s().rip(), TestMachine::kCodeBase + 0x100);
    EXPECT_EQ(m.s().gpr[cpu::RSP], TestMachine::kStackTop - 8);
    EXPECT_EQ(m.read<uint32_t>(TestMachine::kStackTop - 8), TestMachine::kCodeBase + 7);
    EXPECT_EQ(m.read<uint32_t>(TestMachine::kStackTop - 4), TestMachine::kCode32);
    m.run(1);
    EXPECT_EQ(m.s().rip(), TestMachine::kCodeBase + 7);
    EXPECT_EQ(m.s().gpr[cpu::RSP], TestMachine::kStackTop);
    m.run(1);
    EXPECT_EQ(m.s().seg[cpu::CS].selector, TestMachine::kCode16);
    EXPECT_EQ(m.s().code_size, 2);
    EXPECT_EQ(m.s().rip(), 0x100u);
}

TEST(SegmentFarProtected, TargetChecks) {
    struct Case {
        const char* what;
        uint16_t sel;
        uint32_t off;
        int vector;
        uint32_t error;
    };
    const Case cases[] = {
        {"data segment", TestMachine::kData, 0, 13, TestMachine::kData},
        {"not-present code", sel_of(kSlot), 0, 11, sel_of(kSlot)},
        {"non-conforming DPL 3 code from CPL 0", kUserCode32, 0, 13, kUserCode32 & ~3},
        {"offset beyond the limit", sel_of(kSlot + 1), 0x2000, 13, 0},
        {"null selector", 0, 0, 13, 0},
    };
    for (const Case& c : cases) {
        for (uint8_t op : {uint8_t{0xea}, uint8_t{0x9a}}) {  // jmp far, call far
            TestMachine m;
            prot32(m);
            add_user_segments(m);
            set_gdt(m, kSlot, seg_desc(0, 0xfffff, access(0, 0xb, true, false), 0xc));
            set_gdt(m, kSlot + 1, seg_desc(0, 0xfff, access(0, 0xb), 0x4));
            const Bytes code{op, static_cast<uint8_t>(c.off), static_cast<uint8_t>(c.off >> 8), 0,
                             0,  static_cast<uint8_t>(c.sel), static_cast<uint8_t>(c.sel >> 8)};
            EXPECT_EQ(run_for_vector(m, code), c.vector) << c.what << " op " << int(op);
            EXPECT_EQ(error32(m), c.error) << c.what;
            // Nothing was pushed: the frame (EIP, CS, EFLAGS, error) sits right below the top.
            EXPECT_EQ(m.s().gpr[cpu::RSP], TestMachine::kStackTop - 16) << c.what;
            EXPECT_EQ(m.s().seg[cpu::CS].selector, TestMachine::kCode32);
        }
    }
}

// A 32-bit call gate at slot kSlot (DPL 3, 2 parameters) to ring-0 code at kCodeBase + 0x100.
void setup_call_gate32(TestMachine& m) {
    prot32(m);
    enter_ring3(m);
    set_gdt(
        m, kSlot,
        gate_desc(TestMachine::kCode32, TestMachine::kCodeBase + 0x100, SysType::CALL_GATE, 3, 2));
}

TEST(SegmentCallGate, Inner32BitCallSwitchesStacksCopiesParametersAndRetfReturns) {
    TestMachine m;
    setup_call_gate32(m);
    // push 0x1111; push 0x2222; call gate:0
    m.load_code(Bytes{0x68, 0x11, 0x11, 0x00, 0x00, 0x68, 0x22, 0x22, 0x00, 0x00, 0x9a, 0x00, 0x00,
                      0x00, 0x00, static_cast<uint8_t>(sel_of(kSlot, 3)), 0x00});
    // mov ax, 0x10; mov es, ax; retf 8
    const Bytes kernel{0x66, 0xb8, 0x10, 0x00, 0x8e, 0xc0, 0xca, 0x08, 0x00};
    m.write(TestMachine::kCodeBase + 0x100, kernel.data(), kernel.size());
    m.run(3);
    ASSERT_EQ(m.halted_vector(), -1);
    EXPECT_EQ(m.s().cpl, 0);
    EXPECT_EQ(m.s().seg[cpu::CS].selector, TestMachine::kCode32);
    EXPECT_EQ(m.s().seg[cpu::SS].selector, TestMachine::kData);  // SS0 from the TSS
    EXPECT_EQ(m.s().rip(), TestMachine::kCodeBase + 0x100);
    const uint64_t sp = m.s().gpr[cpu::RSP];
    ASSERT_EQ(sp, kRsp0 - 24);
    // APM Vol 2, 4.11.2 "Control Transfers Through Call Gates", figure "Stack Switch".
    EXPECT_EQ(m.read<uint32_t>(sp), TestMachine::kCodeBase + 17);  // return EIP
    EXPECT_EQ(m.read<uint32_t>(sp + 4), kUserCode32);
    EXPECT_EQ(m.read<uint32_t>(sp + 8), 0x2222u);  // parameters keep their order
    EXPECT_EQ(m.read<uint32_t>(sp + 12), 0x1111u);
    EXPECT_EQ(m.read<uint32_t>(sp + 16), kUserStack - 8);
    EXPECT_EQ(m.read<uint32_t>(sp + 20), kUserData);

    m.run(3);
    ASSERT_EQ(m.halted_vector(), -1);
    EXPECT_EQ(m.s().cpl, 3);
    EXPECT_EQ(m.s().seg[cpu::CS].selector, kUserCode32);
    EXPECT_EQ(m.s().seg[cpu::SS].selector, kUserData);
    EXPECT_EQ(m.s().rip(), TestMachine::kCodeBase + 17);
    EXPECT_EQ(m.s().gpr[cpu::RSP], kUserStack);  // retf 8 released the parameters
    // APM Vol 3 "RET (Far)": ES held a DPL-0 data segment, so it is nulled; DS stays.
    EXPECT_EQ(m.s().seg[cpu::ES].selector, 0);
    EXPECT_FALSE(m.s().seg[cpu::ES].present());
    EXPECT_EQ(m.s().seg[cpu::DS].selector, kUserData);
}

TEST(SegmentCallGate, GateAndTargetPrivilegeChecks) {
    // Gate DPL < CPL: #GP(gate selector).
    TestMachine m;
    setup_call_gate32(m);
    set_gdt(m, kSlot,
            gate_desc(TestMachine::kCode32, TestMachine::kCodeBase + 0x100, SysType::CALL_GATE, 0));
    EXPECT_EQ(run_for_vector(m, Bytes{0x9a, 0, 0, 0, 0, static_cast<uint8_t>(sel_of(kSlot, 3)), 0}),
              13);
    EXPECT_EQ(error32(m), sel_of(kSlot));

    // JMP through a gate may not raise privilege: #GP(target selector).
    TestMachine j;
    setup_call_gate32(j);
    EXPECT_EQ(run_for_vector(j, Bytes{0xea, 0, 0, 0, 0, static_cast<uint8_t>(sel_of(kSlot, 3)), 0}),
              13);
    EXPECT_EQ(error32(j), TestMachine::kCode32);
    EXPECT_EQ(j.s().cpl, 0);  // the #GP handler runs at CPL 0
    EXPECT_EQ(j.read<uint32_t>(j.s().gpr[cpu::RSP] + 8), kUserCode32);  // from ring 3

    // A not-present gate: #NP(gate selector).
    TestMachine n;
    setup_call_gate32(n);
    set_gdt(n, kSlot,
            gate_desc(TestMachine::kCode32, 0, SysType::CALL_GATE, 3) & ~(uint64_t{1} << 47));
    EXPECT_EQ(run_for_vector(n, Bytes{0x9a, 0, 0, 0, 0, static_cast<uint8_t>(sel_of(kSlot, 3)), 0}),
              11);
    EXPECT_EQ(error32(n), sel_of(kSlot));
}

TEST(SegmentCallGate, LongModeGateSwitchesToRsp0WithNullSsAndRetfqReturns) {
    TestMachine m;
    long64(m);
    enter_ring3(m);
    const uint64_t target = TestMachine::kCodeBase + 0x100;
    set_gdt(m, kSlot, gate_desc(TestMachine::kCode64, target, SysType::CALL_GATE, 3));
    set_gdt(m, kSlot + 1, target >> 32);
    m.poke<uint32_t>(TestMachine::kDataBase, 0);
    m.poke<uint16_t>(TestMachine::kDataBase + 4, sel_of(kSlot, 3));
    m.s().gpr[cpu::RBX] = TestMachine::kDataBase;
    m.load_code(Bytes{0xff, 0x1b});    // call far [rbx]
    m.poke<uint16_t>(target, 0xcb48);  // retfq
    m.run(1);
    ASSERT_EQ(m.halted_vector(), -1);
    EXPECT_EQ(m.s().cpl, 0);
    EXPECT_EQ(m.s().mode, cpu::CpuMode::Long64);
    EXPECT_EQ(m.s().rip(), target);
    EXPECT_EQ(m.s().seg[cpu::SS].selector, 0);  // APM Vol 2, 4.11.2: SS = NULL with RPL = new CPL
    const uint64_t sp = m.s().gpr[cpu::RSP];
    ASSERT_EQ(sp, kRsp0 - 32);
    EXPECT_EQ(m.read<uint64_t>(sp), TestMachine::kCodeBase + 2);
    EXPECT_EQ(m.read<uint64_t>(sp + 8), kUserCode64);
    EXPECT_EQ(m.read<uint64_t>(sp + 16), kUserStack);
    EXPECT_EQ(m.read<uint64_t>(sp + 24), kUserData);
    m.run(1);
    ASSERT_EQ(m.halted_vector(), -1);
    EXPECT_EQ(m.s().cpl, 3);
    EXPECT_EQ(m.s().rip(), TestMachine::kCodeBase + 2);
    EXPECT_EQ(m.s().gpr[cpu::RSP], kUserStack);
    EXPECT_EQ(m.s().seg[cpu::SS].selector, kUserData);
    EXPECT_EQ(m.s().seg[cpu::CS].selector, kUserCode64);
}

TEST(SegmentCallGate, LongModeGateToCompatibilityCodeIsGp) {
    // In long mode the gate's target must be a 64-bit code segment (APM Vol 2, 4.11.2).
    TestMachine m;
    long64(m);
    enter_ring3(m);
    set_gdt(m, kSlot,
            gate_desc(TestMachine::kCode32, TestMachine::kCodeBase, SysType::CALL_GATE, 3));
    set_gdt(m, kSlot + 1, 0);
    m.poke<uint16_t>(TestMachine::kDataBase + 4, sel_of(kSlot, 3));
    m.s().gpr[cpu::RBX] = TestMachine::kDataBase;
    EXPECT_EQ(run_for_vector(m, Bytes{0xff, 0x1b}), 13);
    EXPECT_EQ(error64(m), TestMachine::kCode32);
}

// ---- LLDT / LTR / SLDT / STR -----------------------------------------------------------------

TEST(SegmentLtr, MarksTheTssBusyAndRejectsOtherTypes) {
    TestMachine m;
    prot32(m);
    set_gdt(m, kSlot, seg_desc(0x45000, 0x67, access(0, SysType::TSS_AVAIL, false), 0));
    m.s().gpr[cpu::RAX] = sel_of(kSlot);
    m.load_code(Bytes{0x0f, 0x00, 0xd8, 0x0f, 0x00, 0xc9});  // ltr ax; str ecx
    m.run(2);
    EXPECT_EQ(m.halted_vector(), -1);
    EXPECT_EQ(m.s().tr.selector, sel_of(kSlot));
    EXPECT_EQ(m.s().tr.base, 0x45000u);
    EXPECT_EQ(m.s().tr.limit, 0x67u);
    EXPECT_EQ(m.s().tr.type(), SysType::TSS_BUSY);
    EXPECT_EQ((m.read<uint64_t>(TestMachine::kGdt + kSlot * 8) >> 40) & 0xf, SysType::TSS_BUSY);
    EXPECT_EQ(m.s().gpr[cpu::RCX], sel_of(kSlot));
    // Loading the now-busy TSS again: #GP(selector).
    EXPECT_EQ(run_for_vector(m, Bytes{0x0f, 0x00, 0xd8}), 13);
    EXPECT_EQ(error32(m), sel_of(kSlot));

    for (uint16_t sel : {TestMachine::kData, uint16_t{0}}) {
        TestMachine t;
        prot32(t);
        t.s().gpr[cpu::RAX] = sel;
        EXPECT_EQ(run_for_vector(t, Bytes{0x0f, 0x00, 0xd8}), 13);
        EXPECT_EQ(error32(t), sel);
    }
}

TEST(SegmentLtr, LongModeReadsTheSixteenByteDescriptor) {
    TestMachine m;
    long64(m);
    set_gdt(m, kSlot, seg_desc(0x45000, 0x67, access(0, SysType::TSS_AVAIL, false), 0));
    set_gdt(m, kSlot + 1, 0x1);
    m.s().gpr[cpu::RAX] = sel_of(kSlot);
    m.load_code(Bytes{0x0f, 0x00, 0xd8});
    m.run(1);
    EXPECT_EQ(m.halted_vector(), -1);
    EXPECT_EQ(m.s().tr.base, 0x100045000ull);
}

TEST(SegmentLldt, LoadsTheLdtForTiSelectorsAndRejectsOtherTypes) {
    TestMachine m;
    prot32(m);
    const uint64_t ldt = 0x48000;
    m.poke<uint64_t>(ldt + 8, seg_desc(0x123000, 0xfffff, access(0, 0x3), 0xc));
    set_gdt(m, kSlot, seg_desc(ldt, 0x17, access(0, SysType::LDT, false), 0));
    m.s().gpr[cpu::RAX] = sel_of(kSlot);
    // lldt ax; sldt ecx; mov ax, 0x0c; mov ds, ax
    Bytes code{0x0f, 0x00, 0xd0, 0x0f, 0x00, 0xc1};
    const Bytes ds = mov_sreg(0x0c, 3);
    code.insert(code.end(), ds.begin(), ds.end());
    m.load_code(code);
    m.run(4);
    EXPECT_EQ(m.halted_vector(), -1);
    EXPECT_EQ(m.s().ldtr.base, ldt);
    EXPECT_EQ(m.s().ldtr.limit, 0x17u);
    EXPECT_EQ(m.s().gpr[cpu::RCX], sel_of(kSlot));
    EXPECT_EQ(m.s().seg[cpu::DS].selector, 0x0c);
    EXPECT_EQ(m.s().seg[cpu::DS].base, 0x123000u);

    TestMachine t;
    prot32(t);
    add_user_segments(t);
    t.s().gpr[cpu::RAX] = kTssSel;
    EXPECT_EQ(run_for_vector(t, Bytes{0x0f, 0x00, 0xd0}), 13);
    EXPECT_EQ(error32(t), kTssSel);
}

TEST(SegmentLldt, RealModeIsUd) {
    for (uint8_t modrm : {uint8_t{0xd0}, uint8_t{0xd8}}) {
        TestMachine m;
        m.enter_real16();
        install_ivt(m);
        m.load_code(Bytes{0x0f, 0x00, modrm});
        m.run(5);
        EXPECT_EQ(halted_real_vector(m), 6);
    }
}

// ---- LAR / LSL / VERR / VERW / ARPL ----------------------------------------------------------

struct Probe {
    bool zf;
    uint32_t value;
};

// Runs a two-operand probe (LAR/LSL: 0f 02 / 0f 03) or a one-operand VERR/VERW (0f 00 /4, /5)
// twice, starting from ZF clear and from ZF set, so a probe that leaves ZF alone cannot pass.
Probe probe(TestMachine& m, const Bytes& insn, uint16_t sel) {
    Probe r[2];
    for (int i = 0; i < 2; ++i) {
        m.s().gpr[cpu::RAX] = 0xdeadbeef;
        m.s().gpr[cpu::RCX] = sel;
        m.s().set_rflags(i ? Rflags::ZF : 0);
        m.load_code(insn);
        m.run(1);
        EXPECT_EQ(m.halted_vector(), -1);
        r[i] = {(m.s().get_rflags() & Rflags::ZF) != 0, static_cast<uint32_t>(m.s().gpr[cpu::RAX])};
    }
    EXPECT_EQ(r[0].zf, r[1].zf) << "selector " << sel;
    return r[0];
}

const Bytes kLar{0x0f, 0x02, 0xc1}, kLsl{0x0f, 0x03, 0xc1}, kVerr{0x0f, 0x00, 0xe1},
    kVerw{0x0f, 0x00, 0xe9};

TEST(SegmentProbe, LarAndLsl) {
    TestMachine m;
    prot32(m);
    set_gdt(m, kSlot, seg_desc(0, 0x1234, access(0, 0x3), 0x4));
    set_gdt(m, kSlot + 1, kCodeConforming);
    set_gdt(m, kSlot + 2, seg_desc(0x48000, 0x17, access(0, SysType::LDT, false), 0));
    set_gdt(m, kSlot + 3, gate_desc(TestMachine::kCode32, 0, SysType::INT_GATE, 0));
    set_gdt(m, kSlot + 4, gate_desc(TestMachine::kCode32, 0, SysType::CALL_GATE, 0));

    Probe p = probe(m, kLar, TestMachine::kData);
    EXPECT_TRUE(p.zf);
    EXPECT_EQ(p.value, 0x00c09300u);  // access rights masked with 00F0FF00h
    p = probe(m, kLsl, sel_of(kSlot));
    EXPECT_TRUE(p.zf);
    EXPECT_EQ(p.value, 0x1234u);
    p = probe(m, kLsl, TestMachine::kData);
    EXPECT_EQ(p.value, 0xffffffffu);  // granularity applied
    // Failures clear ZF and leave the destination alone.
    for (uint16_t bad : {uint16_t{0}, uint16_t{0x400}, uint16_t{TestMachine::kData | 3}}) {
        p = probe(m, kLar, bad);
        EXPECT_FALSE(p.zf) << bad;
        EXPECT_EQ(p.value, 0xdeadbeefu) << bad;
    }
    // Conforming code skips the privilege check.
    EXPECT_TRUE(probe(m, kLar, sel_of(kSlot + 1, 3)).zf);
    // System descriptors: LDT is valid for both, interrupt gates for neither, call gates for LAR.
    p = probe(m, kLar, sel_of(kSlot + 2));
    EXPECT_TRUE(p.zf);
    EXPECT_EQ(p.value, 0x8200u);
    EXPECT_TRUE(probe(m, kLsl, sel_of(kSlot + 2)).zf);
    EXPECT_FALSE(probe(m, kLar, sel_of(kSlot + 3)).zf);
    EXPECT_TRUE(probe(m, kLar, sel_of(kSlot + 4)).zf);
    EXPECT_FALSE(probe(m, kLsl, sel_of(kSlot + 4)).zf);
}

TEST(SegmentProbe, VerrAndVerw) {
    TestMachine m;
    prot32(m);
    set_gdt(m, kSlot, kCodeExecOnly);
    set_gdt(m, kSlot + 1, seg_desc(0, 0xfffff, access(0, 0x1), 0xc));  // read-only data
    EXPECT_FALSE(probe(m, kVerr, sel_of(kSlot)).zf);
    EXPECT_TRUE(probe(m, kVerr, TestMachine::kCode32).zf);
    EXPECT_TRUE(probe(m, kVerr, TestMachine::kData).zf);
    EXPECT_TRUE(probe(m, kVerr, sel_of(kSlot + 1)).zf);
    EXPECT_TRUE(probe(m, kVerw, TestMachine::kData).zf);
    EXPECT_FALSE(probe(m, kVerw, sel_of(kSlot + 1)).zf);
    EXPECT_FALSE(probe(m, kVerw, TestMachine::kCode32).zf);
    EXPECT_FALSE(probe(m, kVerw, 0).zf);

    TestMachine u;
    prot32(u);
    enter_ring3(u);
    EXPECT_FALSE(probe(u, kVerr, TestMachine::kData | 3).zf);
    EXPECT_FALSE(probe(u, kVerw, TestMachine::kData | 3).zf);
    EXPECT_TRUE(probe(u, kVerw, kUserData).zf);
}

TEST(SegmentProbe, RealModeIsUd) {
    TestMachine m;
    m.enter_real16();
    install_ivt(m);
    m.load_code(kLar);
    m.run(5);
    EXPECT_EQ(halted_real_vector(m), 6);
}

TEST(SegmentArpl, RaisesRplAndReportsInZf) {
    TestMachine m;
    prot32(m);
    m.s().gpr[cpu::RAX] = 0xabcd0010;
    m.s().gpr[cpu::RBX] = 0x0003;
    m.load_code(Bytes{0x63, 0xd8, 0x63, 0xd8});  // arpl ax, bx (twice)
    m.run(1);
    EXPECT_EQ(m.s().gpr[cpu::RAX], 0xabcd0013u);
    EXPECT_TRUE(m.s().get_rflags() & Rflags::ZF);
    m.run(1);
    EXPECT_EQ(m.s().gpr[cpu::RAX], 0xabcd0013u);
    EXPECT_FALSE(m.s().get_rflags() & Rflags::ZF);

    // Memory destination.
    m.poke<uint16_t>(TestMachine::kDataBase, 0x0028);
    m.s().gpr[cpu::RBX] = TestMachine::kDataBase;
    m.s().gpr[cpu::RCX] = 0x0002;
    m.load_code(Bytes{0x63, 0x0b});  // arpl [ebx], cx
    m.run(1);
    EXPECT_EQ(m.read<uint16_t>(TestMachine::kDataBase), 0x002au);
    EXPECT_TRUE(m.s().get_rflags() & Rflags::ZF);

    TestMachine r;
    r.enter_real16();
    install_ivt(r);
    r.load_code(Bytes{0x63, 0xd8});
    r.run(5);
    EXPECT_EQ(halted_real_vector(r), 6);
}

}  // namespace
}  // namespace vx86::test
