// Nested SVM state through the public API (KVM_GET/SET_NESTED_STATE shape): a vCPU stopped inside
// L2 is copied to a fresh machine through Regs/Sregs/events/MSRs/nested state and both finish
// identically; malformed states are refused with a message and change nothing.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "api/vcpu_impl.h"
#include "arch/msr.h"
#include "arch/vmcb.h"
#include "support/svm_vmcb.h"
#include "support/test_machine.h"

namespace vx86 {
namespace {

using namespace arch;
using test::TestMachine;

constexpr uint64_t kVmcb = 0x300000, kHsave = 0x301000, kL2Code = 0x400000, kL2Stack = 0x480000;

// L1 runs `vmrun; hlt` on a VMCB whose L2 counts in RBX, hits an intercepted CPUID, and ends
// with VMMCALL.
void prepare(TestMachine& m) {
    m.enter_long64();
    m.install_idt64();
    cpu::CpuState& s = m.s();
    s.efer |= Efer::SVME;
    s.msr.vm_hsave_pa = kHsave;
    m.vcpu->state_changed();
    const uint8_t l1[] = {0x0f, 0x01, 0xd8, 0xf4};
    m.load_code(l1);
    s.gpr[cpu::RAX] = kVmcb;
    s.gpr[cpu::RSP] = TestMachine::kStackTop;
    Vmcb b = test::identity_vmcb(s, kL2Code, kL2Stack);
    b.control.intercept_misc1 = InterceptMisc1::CPUID;
    b.control.tsc_offset = 1000;
    b.control.int_ctl = IntCtl::V_INTR_MASKING | 3;
    m.write(kVmcb, &b, sizeof b);
    // inc rbx x4; cpuid; inc rbx; rdtsc; vmmcall
    const uint8_t l2[] = {0x48, 0xff, 0xc3, 0x48, 0xff, 0xc3, 0x48, 0xff, 0xc3, 0x48, 0xff, 0xc3,
                          0x0f, 0xa2, 0x48, 0xff, 0xc3, 0x0f, 0x31, 0x0f, 0x01, 0xd9};
    m.write(kL2Code, l2);
}

void copy_ram(TestMachine& from, TestMachine& to) {
    std::vector<uint8_t> buf(1 << 20);
    for (uint64_t a = 0; a < TestMachine::kRamSize; a += buf.size()) {
        from.memory.read(0, a, buf);
        to.memory.write(0, a, buf);
    }
}

// Moves the vCPU state the way a VMM would: Sregs, Regs, MSRs, events, then the nested state.
void migrate(api::VcpuImpl& a, api::VcpuImpl& b) {
    ASSERT_TRUE(b.set_sregs(a.get_sregs()));
    ASSERT_TRUE(b.set_regs(a.get_regs()));
    for (uint32_t msr : {msr_index(Msr::VM_HSAVE_PA), msr_index(Msr::VM_CR), msr_index(Msr::PAT),
                         msr_index(Msr::TSC)})
        ASSERT_TRUE(b.set_msr(msr, *a.get_msr(msr))) << std::hex << msr;
    ASSERT_TRUE(b.set_vcpu_events(a.get_vcpu_events()));
    const Status st = b.set_nested_state(a.get_nested_state());
    ASSERT_TRUE(st) << st.message();
}

TEST(NestedState, MigrationInsideL2FinishesLikeTheOriginal) {
    for (uint64_t stop : {1, 2, 3, 4, 5}) {
        SCOPED_TRACE(stop);
        TestMachine a, ref, b;
        prepare(a);
        prepare(ref);
        api::VcpuImpl va(*a.vcpu), vb(*b.vcpu);
        a.run(stop);  // VMRUN plus stop-1 L2 instructions
        ASSERT_TRUE(a.s().svm.guest_mode);
        const NestedState n = va.get_nested_state();
        EXPECT_EQ(n.flags, kNestedStateGuestMode | kNestedStateGifSet);
        EXPECT_EQ(n.size, kNestedStateHeaderSize + kNestedStateVmcbSize);
        EXPECT_EQ(n.vmcb_pa, kVmcb);
        Vmcb data;
        std::memcpy(&data, n.vmcb, sizeof data);
        EXPECT_EQ(data.save.rip, TestMachine::kCodeBase + 3);  // L1 resumes after VMRUN
        EXPECT_EQ(data.control.tsc_offset, 1000u);
        copy_ram(a, b);
        migrate(va, vb);
        // Both machines and an uninterrupted reference end in L1's HLT with the same state.
        EXPECT_EQ(a.run(1000).reason, cpu::ExitReason::Hlt);
        EXPECT_EQ(b.run(1000).reason, cpu::ExitReason::Hlt);
        EXPECT_EQ(ref.run(1000).reason, cpu::ExitReason::Hlt);
        for (TestMachine* m : {&a, &b}) {
            EXPECT_FALSE(m->s().svm.guest_mode);
            EXPECT_EQ(m->s().rip(), ref.s().rip());
            for (unsigned r = 0; r < 16; ++r) EXPECT_EQ(m->s().gpr[r], ref.s().gpr[r]) << r;
            const Vmcb va12 = m->read<Vmcb>(kVmcb), vr = ref.read<Vmcb>(kVmcb);
            EXPECT_EQ(std::memcmp(&va12, &vr, sizeof va12), 0);
        }
        EXPECT_EQ(b.read<Vmcb>(kVmcb).control.exit_code, 0x72u);
    }
}

TEST(NestedState, OutsideGuestModeIsJustGif) {
    TestMachine a;
    prepare(a);
    api::VcpuImpl va(*a.vcpu);
    NestedState n = va.get_nested_state();
    EXPECT_EQ(n.flags, kNestedStateGifSet);
    EXPECT_EQ(n.size, kNestedStateHeaderSize);
    EXPECT_EQ(n.vmcb_pa, 0u);
    n.flags = 0;
    ASSERT_TRUE(va.set_nested_state(n));
    EXPECT_FALSE(a.s().svm.gif);
}

TEST(NestedState, BadStatesAreRefusedAndChangeNothing) {
    TestMachine a;
    prepare(a);
    api::VcpuImpl va(*a.vcpu);
    a.run(2);
    const NestedState good = va.get_nested_state();
    const cpu::SvmState before = a.s().svm;
    struct Case {
        const char* name;
        void (*edit)(NestedState&);
    } cases[] = {
        {"format", [](NestedState& n) { n.format = 0; }},
        {"flags", [](NestedState& n) { n.flags |= 0x4; }},
        {"run pending", [](NestedState& n) { n.flags |= kNestedStateRunPending; }},
        {"size", [](NestedState& n) { n.size = kNestedStateHeaderSize; }},
        {"vmcb_pa", [](NestedState& n) { n.vmcb_pa = 0x300010; }},
        {"asid 0", [](NestedState& n) {
             Vmcb v;
             std::memcpy(&v, n.vmcb, sizeof v);
             v.control.guest_asid = 0;
             std::memcpy(n.vmcb, &v, sizeof v);
         }},
        {"L1 in real mode", [](NestedState& n) {
             Vmcb v;
             std::memcpy(&v, n.vmcb, sizeof v);
             v.save.cr0 &= ~(Cr0::PE | Cr0::PG);
             std::memcpy(n.vmcb, &v, sizeof v);
         }},
        {"L1 without SVME", [](NestedState& n) {
             Vmcb v;
             std::memcpy(&v, n.vmcb, sizeof v);
             v.save.efer &= ~Efer::SVME;
             std::memcpy(n.vmcb, &v, sizeof v);
         }},
        {"guest-visible CR3", [](NestedState& n) { n.l1_cr3 ^= 0x1000; }},
        {"smm_suspended outside SMM", [](NestedState& n) {
             n.flags &= ~kNestedStateGuestMode;
             n.smm_suspended = 1;
         }},
        {"both modes", [](NestedState& n) { n.smm_suspended = 1; }},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(c.name);
        NestedState n = good;
        c.edit(n);
        const Status st = va.set_nested_state(n);
        EXPECT_FALSE(st);
        EXPECT_FALSE(st.message().empty());
        EXPECT_EQ(a.s().svm, before);
    }
    // Guest mode needs EFER.SVME in the vCPU first.
    a.s().efer &= ~Efer::SVME;
    EXPECT_FALSE(va.set_nested_state(good));
}

TEST(NestedState, SvmMsrsThroughTheApiAreChecked) {
    TestMachine a;
    api::VcpuImpl va(*a.vcpu);
    EXPECT_TRUE(va.set_msr(msr_index(Msr::VM_HSAVE_PA), 0x5000));
    EXPECT_EQ(*va.get_msr(msr_index(Msr::VM_HSAVE_PA)), 0x5000u);
    const Status mis = va.set_msr(msr_index(Msr::VM_HSAVE_PA), 0x5008);
    EXPECT_FALSE(mis);
    EXPECT_FALSE(mis.message().empty());
    EXPECT_FALSE(va.set_msr(msr_index(Msr::VM_CR), 1u << 5));
    EXPECT_TRUE(va.set_msr(msr_index(Msr::VM_CR), kVmCrLock));
    EXPECT_EQ(*va.get_msr(msr_index(Msr::VM_CR)), kVmCrLock);
}

TEST(NestedState, SmmEnteredFromL2MigratesAndResumesL2) {
    TestMachine a, b;
    prepare(a);
    api::VcpuImpl va(*a.vcpu), vb(*b.vcpu);
    a.memory.write(1, kSmbaseReset + kSmmEntryOffset, std::vector<uint8_t>{0x0f, 0xaa});  // rsm
    a.run(2);
    a.vcpu->inject_smi();
    a.run(0);
    ASSERT_TRUE(a.vcpu->in_smm());
    const NestedState n = va.get_nested_state();
    EXPECT_EQ(n.smm_suspended, 1);
    EXPECT_EQ(n.flags & kNestedStateGuestMode, 0);
    copy_ram(a, b);
    // SMRAM here is plain RAM shared by both spaces (no SMRAM slot in the test machine).
    migrate(va, vb);
    ASSERT_TRUE(b.vcpu->in_smm());
    EXPECT_EQ(b.run(1).reason, cpu::ExitReason::InsnLimit);  // RSM
    EXPECT_TRUE(b.s().svm.guest_mode);
    EXPECT_EQ(b.run(1000).reason, cpu::ExitReason::Hlt);
    EXPECT_EQ(b.read<Vmcb>(kVmcb).control.exit_code, 0x72u);
}

}  // namespace
}  // namespace vx86
