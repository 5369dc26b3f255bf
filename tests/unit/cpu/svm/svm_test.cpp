// SVM in the vCPU: VMRUN and its consistency checks, #VMEXIT write-back, instruction, exception
// and event intercepts with their exit information, EVENTINJ/EXITINTINFO, virtual interrupts,
// GIF, VMLOAD/VMSAVE and SMIs taken in guest mode.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "arch/msr.h"
#include "arch/smram.h"
#include "arch/vectors.h"
#include "arch/vmcb.h"
#include "support/svm_vmcb.h"
#include "support/test_machine.h"

namespace vx86::cpu {
namespace {

using namespace arch;
using test::TestMachine;

constexpr uint64_t kVmcb = 0x300000, kHsave = 0x301000, kIopm = 0x302000, kMsrpm = 0x305000;
constexpr uint64_t kL2Code = 0x400000, kL2Stack = 0x480000;
constexpr uint8_t kVmrunHlt[] = {0x0f, 0x01, 0xd8, 0xf4};  // vmrun; hlt
constexpr uint8_t kVmmcall[] = {0x0f, 0x01, 0xd9};

class Svm : public ::testing::Test {
protected:
    explicit Svm(const char* model = "max") : m(model) {
        setup_l1();
        v = default_vmcb();
    }

    // L1 in flat long mode with SVME and a host save area, about to run `vmrun; hlt`.
    void setup_l1() {
        m.vcpu->reset();
        m.enter_long64();
        m.install_idt64();
        m.s().efer |= Efer::SVME;
        m.s().msr.vm_hsave_pa = kHsave;
        m.vcpu->state_changed();
        m.load_code(kVmrunHlt);
        m.s().gpr[RAX] = kVmcb;
        m.s().gpr[RSP] = TestMachine::kStackTop;
    }

    Vmcb default_vmcb() {
        Vmcb b = test::identity_vmcb(m.s(), kL2Code, kL2Stack);
        b.control.intercept_misc1 = InterceptMisc1::SHUTDOWN;
        b.control.iopm_base_pa = kIopm;
        b.control.msrpm_base_pa = kMsrpm;
        return b;
    }
    void l2_code(std::span<const uint8_t> code) { m.write(kL2Code, code); }
    Vmcb vmcb() {
        Vmcb b;
        m.memory.read(0, kVmcb, {reinterpret_cast<uint8_t*>(&b), sizeof b});
        return b;
    }
    // Runs VMRUN with `v` until L1 halts after the #VMEXIT (or the budget ends).
    Vmcb run_l2(uint64_t budget = 10000) {
        m.write(kVmcb, &v, sizeof v);
        const ExitReason r = m.run(budget).reason;
        EXPECT_EQ(r, ExitReason::Hlt);
        EXPECT_FALSE(m.s().svm.guest_mode);
        return vmcb();
    }
    // L1 again at its VMRUN, after a previous run halted.
    void restart() {
        m.load_code(kVmrunHlt);
        m.s().gpr[RAX] = kVmcb;
        m.s().halted = false;
    }
    uint64_t l1_after_vmrun() const { return TestMachine::kCodeBase + 3; }

    TestMachine m;
    Vmcb v;
};

TEST_F(Svm, NullGuestExitsOnVmmcall) {
    l2_code(kVmmcall);
    const Vmcb r = run_l2();
    EXPECT_EQ(r.control.exit_code, 0x81u);
    EXPECT_EQ(r.save.rip, kL2Code);                 // the intercepted instruction
    EXPECT_EQ(r.control.next_rip, kL2Code + 3);     // NRIPS
    EXPECT_EQ(m.s().rip(), l1_after_vmrun() + 1);   // L1 ran its HLT
    EXPECT_FALSE(m.s().svm.gif);                    // #VMEXIT clears GIF
    EXPECT_EQ(m.s().gpr[RAX], kVmcb);               // restored from the host save
    EXPECT_EQ(m.s().dr[7], kDr7Reset);
}

TEST_F(Svm, VmrunWithoutSvmeIsUd) {
    m.s().efer &= ~Efer::SVME;
    m.vcpu->state_changed();
    m.write(kVmcb, &v, sizeof v);
    m.run(10);
    EXPECT_EQ(m.halted_vector(), static_cast<int>(Vector::UD));
}

TEST_F(Svm, VmrunUnalignedRaxIsGp) {
    m.s().gpr[RAX] = kVmcb + 8;
    m.run(10);
    EXPECT_EQ(m.halted_vector(), static_cast<int>(Vector::GP));
}

struct CheckCase {
    const char* name;
    void (*edit)(Vmcb&);
};

// VMRUN consistency checks (APM Vol 2, 15.5.1): each gives VMEXIT_INVALID and L1 runs on.
TEST_F(Svm, ConsistencyChecksGiveVmexitInvalid) {
    const CheckCase cases[] = {
        {"vmrun intercept", [](Vmcb& b) { b.control.intercept_misc2 &= ~InterceptMisc2::VMRUN; }},
        {"asid 0", [](Vmcb& b) { b.control.guest_asid = 0; }},
        {"svme", [](Vmcb& b) { b.save.efer &= ~Efer::SVME; }},
        {"efer mbz", [](Vmcb& b) { b.save.efer |= 1u << 9; }},
        {"efer high", [](Vmcb& b) { b.save.efer |= 1ull << 40; }},
        {"cd/nw", [](Vmcb& b) { b.save.cr0 = (b.save.cr0 & ~Cr0::CD) | Cr0::NW; }},
        {"cr0 high", [](Vmcb& b) { b.save.cr0 |= 1ull << 32; }},
        {"cr3 mbz", [](Vmcb& b) { b.save.cr3 |= 1ull << 52; }},
        {"cr4 mbz", [](Vmcb& b) { b.save.cr4 |= 1ull << 31; }},
        {"dr6 high", [](Vmcb& b) { b.save.dr6 |= 1ull << 32; }},
        {"dr7 high", [](Vmcb& b) { b.save.dr7 |= 1ull << 32; }},
        {"lme pg !pae", [](Vmcb& b) { b.save.cr4 &= ~Cr4::PAE; }},
        {"lme pg !pe", [](Vmcb& b) { b.save.cr0 &= ~Cr0::PE; }},
        {"cs.l cs.d", [](Vmcb& b) { b.save.cs.attrib |= Attr::DB; }},
        {"iopm", [](Vmcb& b) { b.control.iopm_base_pa = kPhysAddrMask & ~uint64_t{0xfff}; }},
        {"msrpm", [](Vmcb& b) { b.control.msrpm_base_pa = kPhysAddrMask & ~uint64_t{0xfff}; }},
        {"eventinj nmi vector", [](Vmcb& b) { b.control.event_inj = EventInj::V | (3u << 8) | 2; }},
        {"eventinj type 1", [](Vmcb& b) { b.control.event_inj = EventInj::V | (1u << 8) | 0x20; }},
        {"eventinj vector 32", [](Vmcb& b) { b.control.event_inj = EventInj::V | (3u << 8) | 32; }},
        {"g_pat", [](Vmcb& b) {
             b.control.nested_ctl = kNestedCtlNpEnable;
             b.save.g_pat = 0x0007040600070402ull;
         }},
    };
    l2_code(kVmmcall);
    for (const CheckCase& c : cases) {
        SCOPED_TRACE(c.name);
        v = default_vmcb();
        c.edit(v);
        restart();
        m.s().svm.gif = true;
        const Vmcb r = run_l2();
        EXPECT_EQ(r.control.exit_code, ~uint64_t{0});
        EXPECT_EQ(r.control.exit_info_1, 0u);
        EXPECT_EQ(m.s().rip(), l1_after_vmrun() + 1);
        EXPECT_EQ(m.s().gpr[RAX], kVmcb);
        EXPECT_FALSE(m.s().svm.gif);
    }
}

TEST_F(Svm, LegalOdditiesStillRun) {
    // Ignored CR3 low bits, a non-canonical data-segment base, a reserved TLB_CONTROL value.
    l2_code(kVmmcall);
    v.save.cr3 |= 0x018;
    v.save.es.base = 0x8000000000000000ull;
    v.control.tlb_control = 2;
    EXPECT_EQ(run_l2().control.exit_code, 0x81u);
}

TEST_F(Svm, CpuidInterceptAndPassThrough) {
    const uint8_t code[] = {0x31, 0xc0, 0x0f, 0xa2, 0x0f, 0x01, 0xd9};  // xor eax,eax; cpuid; vmmcall
    l2_code(code);
    v.control.intercept_misc1 |= InterceptMisc1::CPUID;
    Vmcb r = run_l2();
    EXPECT_EQ(r.control.exit_code, 0x72u);
    EXPECT_EQ(r.save.rip, kL2Code + 2);
    EXPECT_EQ(r.control.next_rip, kL2Code + 4);
    // Without the intercept CPUID runs in L2 and the VMMCALL exits.
    v = default_vmcb();
    restart();
    r = run_l2();
    EXPECT_EQ(r.control.exit_code, 0x81u);
    EXPECT_NE(r.save.rax, 0u);  // leaf 0's maximum
}

TEST_F(Svm, IoioExitInfo) {
    // mov dx, 0x1234; out dx, al
    const uint8_t out8[] = {0x66, 0xba, 0x34, 0x12, 0xee};
    l2_code(out8);
    v.control.intercept_misc1 |= InterceptMisc1::IOIO_PROT;
    m.poke<uint8_t>(kIopm + 0x1234 / 8, 1u << (0x1234 % 8));
    Vmcb r = run_l2();
    EXPECT_EQ(r.control.exit_code, 0x7bu);
    EXPECT_EQ(r.control.exit_info_1, (0x1234ull << 16) | 0x10 | 0x200);  // OUT, 8-bit, A64
    EXPECT_EQ(r.control.exit_info_2, kL2Code + 5);
    // A dword IN from the port below: its 4 bits reach 0x1234, so it exits too.
    const uint8_t in32[] = {0x66, 0xba, 0x31, 0x12, 0xed};
    l2_code(in32);
    v = default_vmcb();
    v.control.intercept_misc1 |= InterceptMisc1::IOIO_PROT;
    restart();
    r = run_l2();
    EXPECT_EQ(r.control.exit_code, 0x7bu);
    EXPECT_EQ(r.control.exit_info_1, (0x1231ull << 16) | 0x40 | 0x200 | 1);
    // rep insb with a 32-bit address size: STR, REP, A32.
    const uint8_t insb[] = {0x66, 0xba, 0x34, 0x12, 0x67, 0xf3, 0x6c};
    l2_code(insb);
    restart();
    r = run_l2();
    EXPECT_EQ(r.control.exit_info_1, (0x1234ull << 16) | 0x10 | 0x100 | 1 | 4 | 8);
}

TEST_F(Svm, MsrpmDecidesRdmsrAndWrmsr) {
    // mov ecx, 0xc0000080 (EFER); rdmsr; wrmsr; vmmcall
    const uint8_t code[] = {0xb9, 0x80, 0x00, 0x00, 0xc0, 0x0f, 0x32, 0x0f, 0x30, 0x0f, 0x01, 0xd9};
    l2_code(code);
    v.control.intercept_misc1 |= InterceptMisc1::MSR_PROT;
    // EFER is MSR C000_0080: range 2 (offset 0x800), bits 0x80*2 (read) and +1 (write).
    m.poke<uint8_t>(kMsrpm + 0x800 + 0x100 / 8, 2);  // write bit only
    Vmcb r = run_l2();
    EXPECT_EQ(r.control.exit_code, 0x7cu);
    EXPECT_EQ(r.control.exit_info_1, 1u);
    EXPECT_EQ(r.save.rip, kL2Code + 7);  // RDMSR ran, WRMSR exited
    // An MSR outside the three ranges always exits when MSR_PROT is on.
    const uint8_t code2[] = {0xb9, 0x00, 0x00, 0x00, 0x40, 0x0f, 0x32};
    l2_code(code2);
    restart();
    r = run_l2();
    EXPECT_EQ(r.control.exit_code, 0x7cu);
    EXPECT_EQ(r.control.exit_info_1, 0u);
}

TEST_F(Svm, ExceptionInterceptsAndPageFaultInfo) {
    const uint8_t ud2[] = {0x0f, 0x0b};
    l2_code(ud2);
    v.control.intercept_exceptions = 1u << 6;
    Vmcb r = run_l2();
    EXPECT_EQ(r.control.exit_code, 0x46u);
    EXPECT_EQ(r.save.rip, kL2Code);
    // Not intercepted: L2's own IDT takes it (the shared IDT's stub halts L2).
    v = default_vmcb();
    restart();
    m.write(kVmcb, &v, sizeof v);
    EXPECT_EQ(m.run(100).reason, ExitReason::Hlt);
    EXPECT_TRUE(m.s().svm.guest_mode);
    EXPECT_EQ(m.halted_vector(), static_cast<int>(Vector::UD));
}

TEST_F(Svm, PageFaultInterceptReportsErrorAndAddress) {
    // mov rax, [0x7000000000] (unmapped: not canonical-invalid, not present in the PML4).
    const uint8_t code[] = {0x48, 0xa1, 0x00, 0x00, 0x00, 0x00, 0x70, 0x00, 0x00, 0x00};
    l2_code(code);
    v.control.intercept_exceptions = 1u << 14;
    const Vmcb r = run_l2();
    EXPECT_EQ(r.control.exit_code, 0x4eu);
    EXPECT_EQ(r.control.exit_info_1, 0u);  // not present, read, supervisor
    EXPECT_EQ(r.control.exit_info_2, 0x7000000000ull);
}

TEST_F(Svm, EventInjectionDeliversOnceAndClearsValid) {
    l2_code(kVmmcall);
    v.control.event_inj = EventInj::V | (EventInj::TYPE_EXCEPTION << 8) | 0;  // #DE
    m.write(kVmcb, &v, sizeof v);
    EXPECT_EQ(m.run(100).reason, ExitReason::Hlt);
    EXPECT_TRUE(m.s().svm.guest_mode);
    EXPECT_EQ(m.halted_vector(), 0);
    // The stub's HLT is in L2; make L2's next step a VMMCALL and check EVENTINJ.V is clear.
    m.write(m.s().rip(), kVmmcall);
    m.s().halted = false;
    EXPECT_EQ(m.run(100).reason, ExitReason::Hlt);
    const Vmcb r = vmcb();
    EXPECT_EQ(r.control.exit_code, 0x81u);
    EXPECT_EQ(r.control.event_inj & EventInj::V, 0u);
    EXPECT_EQ(r.control.exit_int_info, 0u);
}

TEST_F(Svm, InterruptedInjectionIsInExitIntInfo) {
    // Inject #GP(0x1234) through a gate that is not present, with #NP intercepted.
    l2_code(kVmmcall);
    const uint64_t gate = TestMachine::kIdt + 13 * 16;
    const uint64_t lo = m.read<uint64_t>(gate);
    m.poke<uint64_t>(gate, lo & ~(uint64_t{0x80} << 40));
    v.control.event_inj = EventInj::V | EventInj::EV | (EventInj::TYPE_EXCEPTION << 8) | 13;
    v.control.event_inj_err = 0x1234;
    v.control.intercept_exceptions = 1u << 11;
    const Vmcb r = run_l2();
    EXPECT_EQ(m.halted_vector(), -1) << std::hex << m.s().rip();
    EXPECT_EQ(r.control.exit_code, 0x4bu);
    EXPECT_EQ(r.control.exit_info_1, 13u * 8 + 2 + 1);  // IDT, EXT
    EXPECT_EQ(r.control.exit_int_info, EventInj::V | EventInj::EV | (3u << 8) | 13);
    EXPECT_EQ(r.control.exit_int_info_err, 0x1234u);
    EXPECT_EQ(r.control.event_inj & EventInj::V, 0u);
}

TEST_F(Svm, VirtualInterruptTakenWhenIfSet) {
    const uint8_t code[] = {0xfb, 0x90, 0x0f, 0x01, 0xd9};  // sti; nop; vmmcall
    l2_code(code);
    v.control.int_ctl = IntCtl::V_IRQ | (0xfu << IntCtl::V_INTR_PRIO_SHIFT);
    v.control.int_vector = 0x50;
    m.write(kVmcb, &v, sizeof v);
    EXPECT_EQ(m.run(100).reason, ExitReason::Hlt);
    EXPECT_TRUE(m.s().svm.guest_mode);
    EXPECT_EQ(m.halted_vector(), 0x50);
    EXPECT_EQ(m.s().svm.ctl.int_ctl & IntCtl::V_IRQ, 0u);
}

TEST_F(Svm, VintrInterceptExitsBeforeDelivery) {
    const uint8_t code[] = {0xfb, 0x90, 0x0f, 0x01, 0xd9};
    l2_code(code);
    v.control.int_ctl = IntCtl::V_IRQ | (0xfu << IntCtl::V_INTR_PRIO_SHIFT);
    v.control.int_vector = 0x50;
    v.control.intercept_misc1 |= InterceptMisc1::VINTR;
    const Vmcb r = run_l2();
    EXPECT_EQ(r.control.exit_code, 0x64u);
    EXPECT_NE(r.control.int_ctl & IntCtl::V_IRQ, 0u);  // still pending
    EXPECT_EQ(r.save.rip, kL2Code + 2);                  // after STI's shadow: one more insn ran
}

TEST_F(Svm, VirtualInterruptBelowTprWaits) {
    const uint8_t code[] = {0xfb, 0x90, 0x0f, 0x01, 0xd9};
    l2_code(code);
    v.control.int_ctl = IntCtl::V_IRQ | (0x8u << IntCtl::V_INTR_PRIO_SHIFT) | 0xa;
    v.control.int_vector = 0x50;
    const Vmcb r = run_l2();
    EXPECT_EQ(r.control.exit_code, 0x81u);
    EXPECT_NE(r.control.int_ctl & IntCtl::V_IRQ, 0u);
}

TEST_F(Svm, InterruptShadowFromVmcb) {
    // IF=1 in L2 with a VMCB shadow: the V_IRQ waits for exactly one instruction.
    const uint8_t code[] = {0x90, 0x90, 0x0f, 0x01, 0xd9};
    l2_code(code);
    v.save.rflags |= Rflags::IF;
    v.control.int_state = 1;
    v.control.int_ctl = IntCtl::V_IRQ | (0xfu << IntCtl::V_INTR_PRIO_SHIFT);
    v.control.intercept_misc1 |= InterceptMisc1::VINTR;
    const Vmcb r = run_l2();
    EXPECT_EQ(r.control.exit_code, 0x64u);
    EXPECT_EQ(r.save.rip, kL2Code + 1);
    EXPECT_EQ(r.control.int_state & 1, 0u);
}

TEST_F(Svm, ShutdownInterceptAndWholeMachineShutdown) {
    const uint8_t ud2[] = {0x0f, 0x0b};
    l2_code(ud2);
    v.save.idtr.limit = 0;  // #UD -> #GP -> #DF -> triple fault
    Vmcb r = run_l2();
    EXPECT_EQ(r.control.exit_code, 0x7fu);
    v = default_vmcb();
    v.save.idtr.limit = 0;
    v.control.intercept_misc1 = 0;
    restart();
    m.write(kVmcb, &v, sizeof v);
    EXPECT_EQ(m.run(100).reason, ExitReason::Shutdown);
}

TEST_F(Svm, SelectiveCr0Write) {
    // mov rax, cr0; xor eax, 2 (MP); mov cr0, rax; or eax, 0x40000000 (CD); mov cr0, rax
    const uint8_t code[] = {0x0f, 0x20, 0xc0, 0x83, 0xf0, 0x02, 0x0f, 0x22, 0xc0,
                            0x0d, 0x00, 0x00, 0x00, 0x40, 0x0f, 0x22, 0xc0};
    l2_code(code);
    v.control.intercept_misc1 |= InterceptMisc1::CR0_SEL_WRITE;
    Vmcb r = run_l2();
    EXPECT_EQ(r.control.exit_code, 0x65u);
    EXPECT_EQ(r.save.rip, kL2Code + 14);
    // With the full CR0 write intercept too, 0x10 wins at the first write.
    v.control.intercept_cr_write = 1;
    restart();
    r = run_l2();
    EXPECT_EQ(r.control.exit_code, 0x10u);
    EXPECT_EQ(r.save.rip, kL2Code + 6);
}

TEST_F(Svm, VmloadVmsaveRoundTripAndCanonicalise) {
    Vmcb b{};
    b.save.fs = VmcbSegment{0x33, Attr::P | Attr::S | Attr::W_R, 0xfff, 0x0000900000001000ull};
    b.save.gs = VmcbSegment{0x2b, Attr::P | Attr::S | Attr::W_R, 0xffff, 0x1234};
    b.save.tr = VmcbSegment{0x40, Attr::P | SysType::TSS_BUSY, 0x67, 0x5000};
    b.save.ldtr = VmcbSegment{0x48, Attr::P | SysType::LDT, 0x1f, 0x6000};
    b.save.kernel_gs_base = 0x0000800000000000ull;
    b.save.star = 1;
    b.save.lstar = 2;
    b.save.cstar = 3;
    b.save.sfmask = 4;
    b.save.sysenter_cs = 5;
    b.save.sysenter_esp = 6;
    b.save.sysenter_eip = 7;
    b.save.rip = 0xdead;  // not VMLOAD state
    m.write(kVmcb + 0x1000, &b, sizeof b);
    // vmload; vmsave (rax+0x2000 via second VMCB); hlt
    const uint8_t code[] = {0x0f, 0x01, 0xda, 0x48, 0x05, 0x00, 0x10, 0x00, 0x00, 0x0f, 0x01, 0xdb, 0xf4};
    m.load_code(code);
    m.s().gpr[RAX] = kVmcb + 0x1000;
    EXPECT_EQ(m.run(100).reason, ExitReason::Hlt);
    EXPECT_EQ(m.s().seg[FS].base, 0xffff900000001000ull);
    EXPECT_EQ(m.s().msr.kernel_gs_base, 0xffff800000000000ull);
    EXPECT_EQ(m.s().tr.selector, 0x40);
    Vmcb out;
    m.memory.read(0, kVmcb + 0x2000, {reinterpret_cast<uint8_t*>(&out), sizeof out});
    EXPECT_EQ(out.save.fs.base, 0xffff900000001000ull);
    EXPECT_EQ(out.save.gs.selector, 0x2b);
    EXPECT_EQ(out.save.ldtr.base, 0x6000u);
    EXPECT_EQ(out.save.sysenter_eip, 7u);
    EXPECT_EQ(out.save.rip, 0u);  // VMSAVE writes only its own fields
}

TEST_F(Svm, GifHoldsSmiUntilStgi) {
    // clgi; nop; stgi; nop; hlt
    const uint8_t code[] = {0x0f, 0x01, 0xdd, 0x90, 0x0f, 0x01, 0xdc, 0x90, 0xf4};
    m.load_code(code);
    m.run(1);  // CLGI
    EXPECT_FALSE(m.s().svm.gif);
    m.vcpu->inject_smi();
    m.run(1);
    EXPECT_FALSE(m.vcpu->in_smm());  // held
    m.run(1);                        // STGI
    m.run(0);
    EXPECT_TRUE(m.vcpu->in_smm());
}

TEST_F(Svm, SmiInterceptedInGuestStaysPending) {
    const uint8_t code[] = {0x90, 0x90, 0x0f, 0x01, 0xd9};
    l2_code(code);
    v.control.intercept_misc1 |= InterceptMisc1::SMI;
    m.write(kVmcb, &v, sizeof v);
    m.run(2);  // VMRUN, one L2 NOP
    ASSERT_TRUE(m.s().svm.guest_mode);
    m.vcpu->inject_smi();
    m.run(1);
    EXPECT_FALSE(m.s().svm.guest_mode);
    EXPECT_EQ(vmcb().control.exit_code, 0x62u);
    EXPECT_FALSE(m.vcpu->in_smm());  // GIF=0 after the exit holds it
    EXPECT_TRUE(m.s().smm.smi_pending);
}

TEST_F(Svm, SmiInGuestSuspendsAndRsmResumes) {
    const uint8_t code[] = {0x90, 0x90, 0x0f, 0x01, 0xd9};
    l2_code(code);
    m.memory.write(1, kSmbaseReset + kSmmEntryOffset, std::vector<uint8_t>{0x0f, 0xaa});  // rsm
    m.write(kVmcb, &v, sizeof v);
    m.run(2);
    ASSERT_TRUE(m.s().svm.guest_mode);
    m.vcpu->inject_smi();
    m.run(0);
    ASSERT_TRUE(m.vcpu->in_smm());
    EXPECT_FALSE(m.s().svm.guest_mode);
    EXPECT_TRUE(m.s().svm.smm_suspended);
    SmramStateSave a;
    uint8_t b[512];
    m.memory.read(1, kSmbaseReset + kSmramSaveOffset, b);
    std::memcpy(&a, b, sizeof a);
    EXPECT_EQ(a.s64.svm_guest_flag, 1u);
    EXPECT_EQ(a.s64.svm_guest_vmcb_gpa, kVmcb);
    EXPECT_EQ(a.s64.rip, kL2Code + 1);
    EXPECT_EQ(vmcb().control.exit_code, 0u);  // no #VMEXIT was reported
    m.run(1);  // RSM
    EXPECT_FALSE(m.vcpu->in_smm());
    EXPECT_TRUE(m.s().svm.guest_mode);
    EXPECT_EQ(m.s().rip(), kL2Code + 1);
    EXPECT_EQ(m.run(100).reason, ExitReason::Hlt);
    EXPECT_EQ(vmcb().control.exit_code, 0x81u);
}

TEST_F(Svm, RsmInterceptOutranksUd) {
    const uint8_t rsm[] = {0x0f, 0xaa};
    l2_code(rsm);
    v.control.intercept_misc1 |= InterceptMisc1::RSM;
    EXPECT_EQ(run_l2().control.exit_code, 0x73u);
    v = default_vmcb();
    v.control.intercept_exceptions = 1u << 6;
    restart();
    EXPECT_EQ(run_l2().control.exit_code, 0x46u);
}

TEST_F(Svm, UninterceptedVmmcallIsUdInGuest) {
    l2_code(kVmmcall);
    v.control.intercept_misc2 = InterceptMisc2::VMRUN;
    v.control.intercept_exceptions = 1u << 6;
    EXPECT_EQ(run_l2().control.exit_code, 0x46u);
}

TEST_F(Svm, L2ClearingSvmeShutsDown) {
    // mov ecx, EFER; rdmsr; btr eax, 12; wrmsr
    const uint8_t code[] = {0xb9, 0x80, 0x00, 0x00, 0xc0, 0x0f, 0x32, 0x0f, 0xba, 0xf0, 0x0c, 0x0f, 0x30};
    l2_code(code);
    m.write(kVmcb, &v, sizeof v);
    EXPECT_EQ(m.run(100).reason, ExitReason::Shutdown);
}

// WRMSR ECX=msr, EDX:EAX=value in L1; returns the vector it faulted with, or -1.
int wrmsr_in_l1(TestMachine& m, uint32_t msr, uint64_t value) {
    const uint8_t code[] = {0x0f, 0x30, 0xf4};  // wrmsr; hlt
    m.load_code(code);
    m.s().halted = false;
    m.s().gpr[RCX] = msr;
    m.s().gpr[RAX] = static_cast<uint32_t>(value);
    m.s().gpr[RDX] = value >> 32;
    m.run(10);
    return m.halted_vector();
}

TEST_F(Svm, VmCrSvmdisAndHsaveValidation) {
    constexpr uint32_t kVmCr = 0xc0010114, kHsavePa = 0xc0010117, kEfer = 0xc0000080;
    // VM_HSAVE_PA: unaligned or above MAXPHYADDR is #GP (APM Vol 2, 15.30.4).
    EXPECT_EQ(wrmsr_in_l1(m, kHsavePa, 0x1008), static_cast<int>(Vector::GP));
    EXPECT_EQ(wrmsr_in_l1(m, kHsavePa, 1ull << 40), static_cast<int>(Vector::GP));
    EXPECT_EQ(m.s().msr.vm_hsave_pa, kHsave);
    // VM_CR: reserved bits #GP; SVMDIS cannot be set while EFER.SVME is.
    EXPECT_EQ(wrmsr_in_l1(m, kVmCr, 1u << 5), static_cast<int>(Vector::GP));
    EXPECT_EQ(wrmsr_in_l1(m, kVmCr, kVmCrSvmDis), static_cast<int>(Vector::GP));
    // With SVME clear, SVMDIS sticks and then setting SVME is #GP.
    const uint64_t efer = m.s().efer;
    EXPECT_EQ(wrmsr_in_l1(m, kEfer, efer & ~Efer::SVME), -1);
    EXPECT_EQ(wrmsr_in_l1(m, kVmCr, kVmCrSvmDis | kVmCrLock), -1);
    EXPECT_EQ(wrmsr_in_l1(m, kEfer, efer), static_cast<int>(Vector::GP));
    // LOCK freezes LOCK and SVMDIS; the low bits stay writable.
    EXPECT_EQ(wrmsr_in_l1(m, kVmCr, kVmCrDpd), -1);
    EXPECT_EQ(m.s().msr.vm_cr, kVmCrDpd | kVmCrSvmDis | kVmCrLock);
}

TEST_F(Svm, ClearingSvmeInL1SetsGif) {
    // clgi; wrmsr (EFER without SVME); hlt
    const uint8_t code[] = {0x0f, 0x01, 0xdd, 0x0f, 0x30, 0xf4};
    m.load_code(code);
    m.s().gpr[RCX] = 0xc0000080;
    m.s().gpr[RAX] = static_cast<uint32_t>(m.s().efer & ~Efer::SVME);
    m.s().gpr[RDX] = 0;
    m.run(1);
    EXPECT_FALSE(m.s().svm.gif);
    m.run(10);
    EXPECT_TRUE(m.s().svm.gif);
    EXPECT_EQ(m.s().efer & Efer::SVME, 0u);
}

TEST_F(Svm, Cr8IsVTprWithVIntrMasking) {
    // mov rax, cr8 (reads V_TPR 5); mov cr8, 9 (via rcx); vmmcall
    const uint8_t code[] = {0x44, 0x0f, 0x20, 0xc0, 0xb9, 0x09, 0x00, 0x00, 0x00, 0x44, 0x0f, 0x22, 0xc1,
                            0x0f, 0x01, 0xd9};
    l2_code(code);
    v.control.int_ctl = IntCtl::V_INTR_MASKING | 5;
    const Vmcb r = run_l2();
    EXPECT_EQ(r.control.exit_code, 0x81u);
    EXPECT_EQ(r.save.rax, 5u);
    EXPECT_EQ(r.control.int_ctl & IntCtl::V_TPR_MASK, 9u);
    EXPECT_EQ(m.s().cr8, 0u);  // L1's TPR untouched
}

struct InsnIntercept {
    const char* name;
    std::vector<uint8_t> code;  // ends with the intercepted instruction at offset `at`
    uint32_t misc1, misc2;
    uint16_t cr_read, cr_write, dr_read, dr_write;
    uint64_t exit;
    uint64_t at;
};

// One intercept each (APM Vol 2, 15.9-15.14, Appendix C): the exit code, the guest RIP at the
// intercepted instruction, and without the intercept no exit at that instruction.
TEST_F(Svm, InstructionInterceptsTable) {
    const InsnIntercept cases[] = {
        {"hlt", {0xf4}, InterceptMisc1::HLT, 0, 0, 0, 0, 0, 0x78, 0},
        {"rdtsc", {0x0f, 0x31}, InterceptMisc1::RDTSC, 0, 0, 0, 0, 0, 0x6e, 0},
        {"invlpg", {0x0f, 0x01, 0x38}, InterceptMisc1::INVLPG, 0, 0, 0, 0, 0, 0x79, 0},
        {"pushf", {0x9c}, InterceptMisc1::PUSHF, 0, 0, 0, 0, 0, 0x70, 0},
        {"popf", {0x9c, 0x9d}, InterceptMisc1::POPF, 0, 0, 0, 0, 0, 0x71, 1},
        {"int 0x80", {0xcd, 0x80}, InterceptMisc1::INTN, 0, 0, 0, 0, 0, 0x75, 0},
        {"iretq", {0x48, 0xcf}, InterceptMisc1::IRET, 0, 0, 0, 0, 0, 0x74, 0},
        {"pause", {0x90, 0xf3, 0x90}, InterceptMisc1::PAUSE, 0, 0, 0, 0, 0, 0x77, 1},
        {"invd", {0x0f, 0x08}, InterceptMisc1::INVD, 0, 0, 0, 0, 0, 0x76, 0},
        {"wbinvd", {0x0f, 0x09}, 0, InterceptMisc2::WBINVD, 0, 0, 0, 0, 0x89, 0},
        {"icebp", {0xf1}, 0, InterceptMisc2::ICEBP, 0, 0, 0, 0, 0x88, 0},
        {"sidt", {0x0f, 0x01, 0x0c, 0x24}, InterceptMisc1::IDTR_READ, 0, 0, 0, 0, 0, 0x66, 0},
        {"sgdt", {0x0f, 0x01, 0x04, 0x24}, InterceptMisc1::GDTR_READ, 0, 0, 0, 0, 0, 0x67, 0},
        {"lidt", {0x0f, 0x01, 0x1c, 0x24}, InterceptMisc1::IDTR_WRITE, 0, 0, 0, 0, 0, 0x6a, 0},
        {"lgdt", {0x0f, 0x01, 0x14, 0x24}, InterceptMisc1::GDTR_WRITE, 0, 0, 0, 0, 0, 0x6b, 0},
        {"sldt", {0x0f, 0x00, 0xc0}, InterceptMisc1::LDTR_READ, 0, 0, 0, 0, 0, 0x68, 0},
        {"str", {0x0f, 0x00, 0xc8}, InterceptMisc1::TR_READ, 0, 0, 0, 0, 0, 0x69, 0},
        {"mov rax, cr3", {0x0f, 0x20, 0xd8}, 0, 0, 1u << 3, 0, 0, 0, 0x03, 0},
        {"mov cr4, rax", {0x0f, 0x20, 0xe0, 0x0f, 0x22, 0xe0}, 0, 0, 0, 1u << 4, 0, 0, 0x14, 3},
        {"smsw", {0x0f, 0x01, 0xe0}, 0, 0, 1u << 0, 0, 0, 0, 0x00, 0},
        {"clts", {0x0f, 0x06}, 0, 0, 0, 1u << 0, 0, 0, 0x10, 0},
        {"mov rax, dr7", {0x0f, 0x21, 0xf8}, 0, 0, 0, 0, 1u << 7, 0, 0x27, 0},
        {"mov dr0, rax", {0x0f, 0x23, 0xc0}, 0, 0, 0, 0, 0, 1u << 0, 0x30, 0},
    };
    for (const InsnIntercept& c : cases) {
        SCOPED_TRACE(c.name);
        std::vector<uint8_t> code = c.code;
        code.insert(code.end(), {0x0f, 0x01, 0xd9});  // vmmcall after it
        l2_code(code);
        for (bool on : {true, false}) {
            setup_l1();  // the run without the intercept may have ended inside L2
            v = default_vmcb();
            if (on) {
                v.control.intercept_misc1 |= c.misc1;
                v.control.intercept_misc2 |= c.misc2;
                v.control.intercept_cr_read = c.cr_read;
                v.control.intercept_cr_write = c.cr_write;
                v.control.intercept_dr_read = c.dr_read;
                v.control.intercept_dr_write = c.dr_write;
            }
            // Everything L2 might fault on is intercepted, so a fault shows as 0x40+vector.
            v.control.intercept_exceptions = 0xffffffffu & ~(1u << 1);
            m.write(kVmcb, &v, sizeof v);
            m.run(10000);
            const Vmcb r = vmcb();
            if (on) {
                EXPECT_EQ(r.control.exit_code, c.exit);
                EXPECT_EQ(r.save.rip, kL2Code + c.at);
            } else {
                EXPECT_NE(r.control.exit_code, c.exit);
            }
        }
    }
}

TEST_F(Svm, TscOffsetAppliesInGuest) {
    const uint8_t code[] = {0x0f, 0x31, 0x0f, 0x01, 0xd9};  // rdtsc; vmmcall
    l2_code(code);
    v.control.tsc_offset = 1ull << 40;
    const Vmcb r = run_l2();
    EXPECT_EQ(r.control.exit_code, 0x81u);
    // RDX is not switched by VMRUN/#VMEXIT, so L1 sees L2's TSC high half: 2^40 >> 32.
    EXPECT_EQ(m.s().gpr[RDX], 0x100u);
}

TEST_F(Svm, VgifL2StgiClgiToggleVGif) {
    // clgi; stgi; clgi; vmmcall - with V_GIF_ENABLE none of them exits; V_GIF ends clear.
    const uint8_t code[] = {0x0f, 0x01, 0xdd, 0x0f, 0x01, 0xdc, 0x0f, 0x01, 0xdd, 0x0f, 0x01, 0xd9};
    l2_code(code);
    v.control.int_ctl = IntCtl::V_GIF_ENABLE | IntCtl::V_GIF;
    m.write(kVmcb, &v, sizeof v);
    m.run(3);  // VMRUN, CLGI, STGI
    EXPECT_TRUE(m.s().svm.guest_mode);
    EXPECT_TRUE(m.s().svm.gif);  // the real GIF stays set
    EXPECT_NE(m.s().svm.ctl.int_ctl & IntCtl::V_GIF, 0u);
    EXPECT_EQ(m.run(100).reason, ExitReason::Hlt);
    const Vmcb r = vmcb();
    EXPECT_EQ(r.control.exit_code, 0x81u);
    EXPECT_EQ(r.control.int_ctl & IntCtl::V_GIF, 0u);
}

TEST_F(Svm, VgifClearHoldsVirtualInterrupts) {
    const uint8_t code[] = {0xfb, 0x90, 0x0f, 0x01, 0xd9};  // sti; nop; vmmcall
    l2_code(code);
    v.control.int_ctl = IntCtl::V_GIF_ENABLE | IntCtl::V_IRQ | (0xfu << IntCtl::V_INTR_PRIO_SHIFT);
    v.control.int_vector = 0x50;
    const Vmcb r = run_l2();
    EXPECT_EQ(r.control.exit_code, 0x81u);
    EXPECT_NE(r.control.int_ctl & IntCtl::V_IRQ, 0u);
}

TEST_F(Svm, StgiClgiInterceptsAndSkinitUd) {
    const uint8_t clgi[] = {0x0f, 0x01, 0xdd};
    l2_code(clgi);
    v.control.intercept_misc2 |= InterceptMisc2::CLGI;
    EXPECT_EQ(run_l2().control.exit_code, 0x85u);
    // SKINIT is not offered: #UD even with its intercept set.
    const uint8_t skinit[] = {0x0f, 0x01, 0xde};
    l2_code(skinit);
    v = default_vmcb();
    v.control.intercept_misc2 |= InterceptMisc2::SKINIT;
    v.control.intercept_exceptions = 1u << 6;
    restart();
    EXPECT_EQ(run_l2().control.exit_code, 0x46u);
}

TEST_F(Svm, InvlpgaInterceptAndExecution) {
    // mov ecx, 1; invlpga; vmmcall (rAX = the L2 code address).
    const uint8_t code[] = {0xb9, 0x01, 0x00, 0x00, 0x00, 0x0f, 0x01, 0xdf, 0x0f, 0x01, 0xd9};
    l2_code(code);
    v.control.intercept_misc1 |= InterceptMisc1::INVLPGA;
    v.save.rax = kL2Code;
    Vmcb r = run_l2();
    EXPECT_EQ(r.control.exit_code, 0x7au);
    EXPECT_EQ(r.save.rip, kL2Code + 5);
    // In L1 INVLPGA just invalidates and execution continues.
    const uint8_t l1[] = {0x31, 0xc9, 0x0f, 0x01, 0xdf, 0xf4};  // xor ecx, ecx; invlpga; hlt
    m.load_code(l1);
    m.s().halted = false;
    EXPECT_EQ(m.run(10).reason, ExitReason::Hlt);
    EXPECT_EQ(m.halted_vector(), -1);
}

// A one-line interrupt controller for the INTR tests.
class OneIrq : public bus::InterruptController {
public:
    bool has_interrupt() const override { return pending; }
    uint8_t acknowledge() override {
        pending = false;
        ++acks;
        return vector;
    }
    bool pending = false;
    uint8_t vector = 0x40;
    int acks = 0;
};

TEST_F(Svm, IntrInterceptExitsWithoutAcknowledging) {
    const uint8_t code[] = {0xfb, 0x90, 0x90, 0x0f, 0x01, 0xd9};  // sti; nop; nop; vmmcall
    l2_code(code);
    OneIrq irq;
    m.vcpu->set_interrupt_controller(&irq);
    v.control.intercept_misc1 |= InterceptMisc1::INTR;
    m.write(kVmcb, &v, sizeof v);
    m.run(2);  // VMRUN, STI
    irq.pending = true;
    EXPECT_EQ(m.run(100).reason, ExitReason::Hlt);
    EXPECT_EQ(vmcb().control.exit_code, 0x60u);
    EXPECT_EQ(irq.acks, 0);
    // The interrupt is still pending for L1, which takes it once GIF and IF allow.
    EXPECT_FALSE(m.s().svm.gif);
    m.vcpu->set_interrupt_controller(nullptr);
}

TEST_F(Svm, IntrWithoutInterceptGoesToL2) {
    const uint8_t code[] = {0xfb, 0x90, 0x90, 0x0f, 0x01, 0xd9};
    l2_code(code);
    OneIrq irq;
    m.vcpu->set_interrupt_controller(&irq);
    m.write(kVmcb, &v, sizeof v);
    m.run(2);
    irq.pending = true;
    EXPECT_EQ(m.run(100).reason, ExitReason::Hlt);
    EXPECT_TRUE(m.s().svm.guest_mode);
    EXPECT_EQ(m.halted_vector(), 0x40);
    EXPECT_EQ(irq.acks, 1);
    m.vcpu->set_interrupt_controller(nullptr);
}

TEST_F(Svm, VIntrMaskingGatesOnL1If) {
    // L1 ran VMRUN with IF=0 and V_INTR_MASKING: an interrupt waits although L2 has IF=1.
    const uint8_t code[] = {0xfb, 0x90, 0x90, 0x0f, 0x01, 0xd9};
    l2_code(code);
    OneIrq irq;
    m.vcpu->set_interrupt_controller(&irq);
    v.control.int_ctl = IntCtl::V_INTR_MASKING;
    v.control.intercept_misc1 |= InterceptMisc1::INTR;
    m.write(kVmcb, &v, sizeof v);
    m.run(2);
    irq.pending = true;
    EXPECT_EQ(m.run(100).reason, ExitReason::Hlt);
    EXPECT_EQ(vmcb().control.exit_code, 0x81u);
    EXPECT_EQ(irq.acks, 0);
    m.vcpu->set_interrupt_controller(nullptr);
}

TEST_F(Svm, NmiInterceptAndGifHold) {
    const uint8_t code[] = {0x90, 0x90, 0x0f, 0x01, 0xd9};
    l2_code(code);
    v.control.intercept_misc1 |= InterceptMisc1::NMI;
    m.write(kVmcb, &v, sizeof v);
    m.run(2);
    m.vcpu->inject_nmi();
    EXPECT_EQ(m.run(100).reason, ExitReason::Hlt);
    EXPECT_EQ(vmcb().control.exit_code, 0x61u);
    EXPECT_TRUE(m.s().nmi_pending);  // held by GIF=0 for L1
}

TEST_F(Svm, InitInterceptStaysLatched) {
    const uint8_t code[] = {0x90, 0x90, 0x0f, 0x01, 0xd9};
    l2_code(code);
    v.control.intercept_misc1 |= InterceptMisc1::INIT;
    m.write(kVmcb, &v, sizeof v);
    m.run(2);
    m.vcpu->inject_init();
    EXPECT_EQ(m.run(100).reason, ExitReason::Hlt);
    EXPECT_EQ(vmcb().control.exit_code, 0x63u);
    EXPECT_TRUE(m.s().smm.init_latched);
    EXPECT_EQ(m.s().efer & Efer::SVME, Efer::SVME);  // not reset: GIF=0 holds the INIT
}

TEST_F(Svm, HostSingleStepTrapsAfterTheExit) {
    l2_code(kVmmcall);
    m.s().set_rflags(m.s().get_rflags() | Rflags::TF);
    m.write(kVmcb, &v, sizeof v);
    m.run(1);  // VMRUN: no #DB yet, L2's first instruction is next
    EXPECT_TRUE(m.s().svm.guest_mode);
    EXPECT_EQ(m.s().rip(), kL2Code);
    m.run(1);  // VMMCALL exits; the host's TF trap follows
    EXPECT_FALSE(m.s().svm.guest_mode);
    m.run(0);
    EXPECT_EQ(m.halted_vector(), -1);
    EXPECT_EQ(m.s().rip(), TestMachine::kIdtStubs + 16 * 1);  // at the #DB stub
}

// Nested paging: L2 runs with NP on an NPT that maps L2-physical 0..1 GiB to L1-physical
// +64 MiB... except the L2 code and VMCB pages, which are identity mapped via a 2 MiB region.
class SvmNpt : public Svm {
protected:
    static constexpr uint64_t kNpml4 = 0x500000, kNpdpt = 0x501000, kNpd = 0x502000;
    void build_identity_npt(uint64_t pde_flags = Pte::P | Pte::RW | Pte::US) {
        m.poke<uint64_t>(kNpml4, kNpdpt | Pte::P | Pte::RW | Pte::US);
        m.poke<uint64_t>(kNpdpt, kNpd | Pte::P | Pte::RW | Pte::US);
        for (uint64_t i = 0; i < 512; ++i)
            m.poke<uint64_t>(kNpd + i * 8, (i << 21) | pde_flags | Pte::PS);
        v.control.nested_ctl = kNestedCtlNpEnable;
        v.control.n_cr3 = kNpml4;
        v.control.tlb_control = 1;
    }
};

TEST_F(SvmNpt, IdentityNptRunsL2) {
    l2_code(kVmmcall);
    build_identity_npt();
    EXPECT_EQ(run_l2().control.exit_code, 0x81u);
}

TEST_F(SvmNpt, NotPresentFinalPageIsNpf) {
    // mov eax, [0x600000]; the NPT leaves 0x600000..0x7fffff not present.
    const uint8_t code[] = {0x8b, 0x04, 0x25, 0x00, 0x00, 0x60, 0x00};
    l2_code(code);
    build_identity_npt();
    m.poke<uint64_t>(kNpd + 3 * 8, 0);
    const Vmcb r = run_l2();
    EXPECT_EQ(r.control.exit_code, 0x400u);
    EXPECT_EQ(r.control.exit_info_1, 0x100000004ull);
    EXPECT_EQ(r.control.exit_info_2, 0x600000u);
    EXPECT_EQ(r.save.rip, kL2Code);
}

TEST_F(SvmNpt, ReadOnlyGuestTableIsTableWalkNpf) {
    // L2's page tables (shared with L1, at 0x10000..) sit in the first 2 MiB: make it read-only
    // in the NPT; L2's first fetch walks them and faults with bit 33 and RW.
    l2_code(kVmmcall);
    build_identity_npt();
    m.poke<uint64_t>(kNpd, Pte::P | Pte::US | Pte::PS);
    const Vmcb r = run_l2();
    EXPECT_EQ(r.control.exit_code, 0x400u);
    EXPECT_EQ(r.control.exit_info_1, 0x200000007ull);
    EXPECT_EQ(r.control.exit_info_2 & ~uint64_t{0xfff}, TestMachine::kPml4);
}

TEST_F(SvmNpt, NpfWhileDeliveringReportsTheEventInFlight) {
    // L2's IDT lives at 0x600000, which the NPT leaves not present: injecting #DE faults on the
    // gate read, a final-address NPF with the injected event in EXITINTINFO.
    l2_code(kVmmcall);
    build_identity_npt();
    m.poke<uint64_t>(kNpd + 3 * 8, 0);
    v.save.idtr = VmcbSegment{0, 0, 0xfff, 0x600000};
    v.control.event_inj = EventInj::V | (EventInj::TYPE_EXCEPTION << 8) | 0;
    const Vmcb r = run_l2();
    EXPECT_EQ(r.control.exit_code, 0x400u);
    EXPECT_EQ(r.control.exit_info_1, 0x100000004ull);
    EXPECT_EQ(r.control.exit_info_2, 0x600000u);
    EXPECT_EQ(r.control.exit_int_info, EventInj::V | (3u << 8) | 0);
    EXPECT_EQ(r.control.event_inj, 0u);
}

TEST_F(SvmNpt, GuestPatIsL2sPat) {
    // rdmsr PAT in L2 sees G_PAT; L1's PAT comes back after the exit.
    const uint8_t code[] = {0xb9, 0x77, 0x02, 0x00, 0x00, 0x0f, 0x32, 0x0f, 0x01, 0xd9};
    l2_code(code);
    build_identity_npt();
    v.save.g_pat = 0x0000000000000006ull;
    const Vmcb r = run_l2();
    EXPECT_EQ(r.control.exit_code, 0x81u);
    EXPECT_EQ(r.save.rax, 6u);
    EXPECT_EQ(r.save.g_pat, 6u);
    EXPECT_EQ(m.s().msr.pat, kPatReset);
}

class SvmQemu64 : public Svm {
protected:
    SvmQemu64() : Svm("qemu64") {}
};

TEST_F(SvmQemu64, NoNripsWithoutTheFeature) {
    l2_code(kVmmcall);
    v.control.next_rip = 0x5555;
    const Vmcb r = run_l2();
    EXPECT_EQ(r.control.exit_code, 0x81u);
    EXPECT_EQ(r.control.next_rip, 0x5555u);  // field untouched without NRIPS
}

}  // namespace
}  // namespace vx86::cpu
