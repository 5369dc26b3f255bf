// KVM's selftest smm_test, through the public API: SMRAM that exists only in address space 1, a
// host-set SMBASE, a real-mode handler at SMBASE + 0x8000 that reports stage 0xFE and RSMs, SMIs
// injected by the host (KVM_SMI and KVM_SET_VCPU_EVENTS), and the whole vCPU moved to a fresh Vm
// at every stage, including inside SMM and with an SMI pending. (The nested-SVM stages of the KVM
// test arrive with the SVM issue.)
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "vx86/vm.h"

namespace vx86 {
namespace {

constexpr uint64_t kRamSize = 32ull << 20;
constexpr uint64_t kSmramGpa = 0x1000000;  // SMRAM_GPA of the KVM test: inside normal RAM too
constexpr uint64_t kSmramSize = 0x10000;
constexpr uint16_t kSyncPort = 0x0e;
constexpr uint64_t kPml4 = 0x2000, kPdpt = 0x3000, kPd = 0x4000, kGdt = 0x5000, kCode = 0x10000;
constexpr uint32_t kMsrSmbase = 0x9e, kMsrSmiCount = 0x34, kMsrEfer = 0xc0000080;

// The guest: sync(n) = "mov al, n; in al, 0x0e".
std::vector<uint8_t> guest_code() {
    std::vector<uint8_t> c;
    for (uint8_t stage : {1, 2, 4, 5, 7, 0xff}) {
        c.insert(c.end(), {0xb0, stage, 0xe4, static_cast<uint8_t>(kSyncPort)});
    }
    c.push_back(0xf4);
    return c;
}

// The SMI handler of the KVM test: mov al, 0xfe; in al, 0x0e; rsm.
constexpr uint8_t kHandler[] = {0xb0, 0xfe, 0xe4, kSyncPort, 0x0f, 0xaa};

struct Machine {
    std::vector<uint8_t>* ram;
    std::vector<uint8_t>* smram;
    std::unique_ptr<Vm> vm;
    Vcpu* vcpu = nullptr;

    // A Vm over the given backings (the embedder owns guest memory, as with KVM).
    static Machine create(std::vector<uint8_t>& ram, std::vector<uint8_t>& smram) {
        Machine m{&ram, &smram, nullptr, nullptr};
        auto vm = Vm::create("qemu64");
        EXPECT_TRUE(vm) << vm.message();
        m.vm = std::move(*vm);
        EXPECT_TRUE(m.vm->set_user_memory_region({0, 0, 0, 0, kRamSize, ram.data()}));
        // Slot 1 in address space 1 only: invisible outside SMM.
        EXPECT_TRUE(m.vm->set_user_memory_region({1, 1, 0, kSmramGpa, kSmramSize, smram.data()}));
        auto v = m.vm->create_vcpu();
        EXPECT_TRUE(v) << v.message();
        m.vcpu = *v;
        return m;
    }
};

void enter_long_mode(Machine& m) {
    auto put = [&](uint64_t gpa, uint64_t v) { std::memcpy(m.ram->data() + gpa, &v, 8); };
    put(kPml4, kPdpt | 3);
    put(kPdpt, kPd | 3);
    for (uint64_t i = 0; i < 512; ++i) put(kPd + 8 * i, (i << 21) | 0x83);
    put(kGdt + 8, 0x00af9a000000ffffull);   // 64-bit code
    put(kGdt + 16, 0x00cf92000000ffffull);  // data
    Sregs s = m.vcpu->get_sregs();
    s.cr0 = 0x80000011;
    s.cr3 = kPml4;
    s.cr4 = 0x20;
    s.efer = 0x500;
    s.gdt = {kGdt, 23};
    s.cs = Segment{0, 0xffffffff, 8, 0xb, 1, 0, 0, 1, 1, 1, 0, 0};
    for (Segment* seg : {&s.ds, &s.es, &s.ss, &s.fs, &s.gs}) *seg = Segment{0, 0xffffffff, 16, 3, 1, 0, 1, 1, 0, 1, 0, 0};
    ASSERT_TRUE(m.vcpu->set_sregs(s));
    Regs r = m.vcpu->get_regs();
    r.rip = kCode;
    r.rsp = 0x80000;
    ASSERT_TRUE(m.vcpu->set_regs(r));
}

// Everything vcpu_save_state() of the KVM test carries that vx86 models, moved into a fresh Vm.
void save_and_restore(Machine& m) {
    const Regs regs = m.vcpu->get_regs();
    const Sregs sregs = m.vcpu->get_sregs();
    const VcpuEvents events = m.vcpu->get_vcpu_events();
    std::vector<std::pair<uint32_t, uint64_t>> msrs;
    for (uint32_t i : {kMsrSmbase, kMsrSmiCount}) {
        auto v = m.vcpu->get_msr(i);
        ASSERT_TRUE(v) << v.message();
        msrs.emplace_back(i, *v);
    }
    m.vm.reset();
    m = Machine::create(*m.ram, *m.smram);
    ASSERT_TRUE(m.vcpu->set_sregs(sregs));
    ASSERT_TRUE(m.vcpu->set_regs(regs));
    for (auto [i, v] : msrs) ASSERT_TRUE(m.vcpu->set_msr(i, v));
    ASSERT_TRUE(m.vcpu->set_vcpu_events(events));
    const VcpuEvents back = m.vcpu->get_vcpu_events();
    EXPECT_EQ(std::memcmp(&back, &events, sizeof back), 0);
}

TEST(SmmApi, KvmSmmTestStagesWithSaveRestoreEverywhere) {
    std::vector<uint8_t> ram(kRamSize), smram(kSmramSize);
    Machine m = Machine::create(ram, smram);
    const auto code = guest_code();
    std::memcpy(ram.data() + kCode, code.data(), code.size());
    std::memcpy(smram.data() + 0x8000, kHandler, sizeof kHandler);
    ASSERT_TRUE(m.vcpu->set_msr(kMsrSmbase, kSmramGpa));
    enter_long_mode(m);

    unsigned stage = 1;
    unsigned handler_runs = 0;
    for (;; ++stage) {
        auto exit = m.vcpu->run(100000);
        ASSERT_TRUE(exit);
        ASSERT_EQ(exit->reason, ExitReason::Io) << "stage " << stage;
        ASSERT_EQ(exit->io.port, kSyncPort);
        const unsigned reported = m.vcpu->get_regs().rax & 0xff;
        m.vcpu->complete_io_in(reported);
        if (reported == 0xff) break;
        ASSERT_TRUE(reported == stage || reported == 0xfe) << "stage " << stage << " reported " << reported;
        EXPECT_EQ(exit->smm, reported == 0xfe);
        if (reported == 0xfe) {
            ++handler_runs;
            // In SMM: real-mode code at SMBASE + 0x8000, EFER clear, SMRAM visible.
            const Sregs s = m.vcpu->get_sregs();
            EXPECT_EQ(s.cs.base, kSmramGpa);
            EXPECT_EQ(s.efer, 0u);
            EXPECT_TRUE(m.vcpu->get_vcpu_events().smi.smm);
        }
        if (stage == 2) m.vcpu->inject_smi();  // KVM_SMI (the KVM test self-IPIs an SMI here)
        if (stage == 5) {
            // KVM_SET_VCPU_EVENTS with smi.pending = 1: the pending SMI must survive the move.
            VcpuEvents e = m.vcpu->get_vcpu_events();
            e.smi.pending = 1;
            ASSERT_TRUE(m.vcpu->set_vcpu_events(e));
        }
        save_and_restore(m);
    }
    EXPECT_EQ(stage, 8u);
    EXPECT_EQ(handler_runs, 2u);
    auto count = m.vcpu->get_msr(kMsrSmiCount);
    ASSERT_TRUE(count);
    EXPECT_EQ(*count, 2u);
    // The save area went to SMRAM only; normal RAM at the same address was never written.
    uint32_t rev = 0;
    std::memcpy(&rev, smram.data() + 0xfefc, 4);
    EXPECT_EQ(rev, 0x00020064u);
    std::memcpy(&rev, ram.data() + kSmramGpa + 0xfefc, 4);
    EXPECT_EQ(rev, 0u);
    auto efer = m.vcpu->get_msr(kMsrEfer);
    ASSERT_TRUE(efer);
    EXPECT_EQ(*efer, 0x500u);  // back in long mode after both RSMs
}

TEST(SmmApi, SmramIsInvisibleOutsideSmmThroughTheApiToo) {
    std::vector<uint8_t> ram(kRamSize), smram(kSmramSize);
    Machine m = Machine::create(ram, smram);
    smram[0x100] = 0x5a;
    uint8_t b = 0;
    ASSERT_TRUE(m.vm->read_phys(kSmramGpa + 0x100, &b, 1, 1));
    EXPECT_EQ(b, 0x5a);
    ASSERT_TRUE(m.vm->read_phys(kSmramGpa + 0x100, &b, 1, 0));
    EXPECT_EQ(b, 0);
}

TEST(SmmApi, BadEventsAndMsrsAreRejected) {
    std::vector<uint8_t> ram(kRamSize), smram(kSmramSize);
    Machine m = Machine::create(ram, smram);
    VcpuEvents e = m.vcpu->get_vcpu_events();
    e.smi.pending = 2;
    EXPECT_EQ(m.vcpu->set_vcpu_events(e).code(), ErrorCode::InvalidArgument);
    e = m.vcpu->get_vcpu_events();
    e.smi.smm_inside_nmi = 1;  // only meaningful in SMM
    EXPECT_EQ(m.vcpu->set_vcpu_events(e).code(), ErrorCode::InvalidArgument);
    e = m.vcpu->get_vcpu_events();
    e.interrupt_shadow = 4;
    EXPECT_EQ(m.vcpu->set_vcpu_events(e).code(), ErrorCode::InvalidArgument);
    EXPECT_EQ(m.vcpu->set_msr(kMsrSmbase, 1ull << 32).code(), ErrorCode::InvalidArgument);
    auto smbase = m.vcpu->get_msr(kMsrSmbase);
    ASSERT_TRUE(smbase);
    EXPECT_EQ(*smbase, 0x30000u);  // reset value
}

TEST(SmmApi, GuestCannotReadOrWriteSmbaseMsr) {
    std::vector<uint8_t> ram(kRamSize), smram(kSmramSize);
    Machine m = Machine::create(ram, smram);
    enter_long_mode(m);
    // rdmsr with ecx = 0x9e under a zero-limit IDT: #GP -> #DF -> triple fault = shutdown.
    const uint8_t code[] = {0xb9, 0x9e, 0x00, 0x00, 0x00, 0x0f, 0x32, 0xf4};
    std::memcpy(ram.data() + kCode, code, sizeof code);
    Sregs s = m.vcpu->get_sregs();
    s.idt = {0, 0};
    ASSERT_TRUE(m.vcpu->set_sregs(s));
    auto exit = m.vcpu->run(1000);
    ASSERT_TRUE(exit);
    EXPECT_EQ(exit->reason, ExitReason::Shutdown);
}

}  // namespace
}  // namespace vx86
