// The public API as an embedder uses it: create a Vm, add memory, create a vCPU, set registers,
// run until an exit. Also the errors-as-values contract for bad requests.
#include "vx86/vm.h"

#include <gtest/gtest.h>

#include <cstring>

namespace vx86 {
namespace {

Sregs flat_real_mode(Vcpu& v) {
    Sregs s = v.get_sregs();
    for (Segment* seg : {&s.cs, &s.ds, &s.es, &s.ss, &s.fs, &s.gs}) {
        seg->base = 0;
        seg->selector = 0;
        seg->limit = 0xffff;
    }
    return s;
}

TEST(VmApi, RunsRealModeCodeToHalt) {
    auto vm = Vm::create("qemu64");
    ASSERT_TRUE(vm) << vm.message();
    ASSERT_TRUE((*vm)->set_user_memory_region({0, 0, 0, 0, 1 << 20, nullptr}));
    // mov ax, 0x1234; add ax, ax; hlt
    const uint8_t code[] = {0xb8, 0x34, 0x12, 0x01, 0xc0, 0xf4};
    ASSERT_TRUE((*vm)->write_phys(0x1000, code, sizeof code));
    auto vcpu = (*vm)->create_vcpu();
    ASSERT_TRUE(vcpu) << vcpu.message();
    Vcpu& v = **vcpu;
    ASSERT_TRUE(v.set_sregs(flat_real_mode(v)));
    Regs r = v.get_regs();
    r.rip = 0x1000;
    ASSERT_TRUE(v.set_regs(r));
    auto exit = v.run();
    ASSERT_TRUE(exit);
    EXPECT_EQ(exit->reason, ExitReason::Hlt);
    EXPECT_EQ(v.get_regs().rax & 0xffff, 0x2468u);
    EXPECT_EQ(v.get_regs().rip, 0x1006u);
    EXPECT_EQ(v.instructions_retired(), 3u);
}

TEST(VmApi, InstructionBudgetStopsTheRun) {
    auto vm = Vm::create();
    ASSERT_TRUE(vm);
    ASSERT_TRUE((*vm)->set_user_memory_region({0, 0, 0, 0, 1 << 20, nullptr}));
    const uint8_t loop[] = {0xeb, 0xfe};  // jmp $
    ASSERT_TRUE((*vm)->write_phys(0x1000, loop, sizeof loop));
    Vcpu& v = **(*vm)->create_vcpu();
    ASSERT_TRUE(v.set_sregs(flat_real_mode(v)));
    Regs r = v.get_regs();
    r.rip = 0x1000;
    v.set_regs(r);
    auto exit = v.run(1000);
    ASSERT_TRUE(exit);
    EXPECT_EQ(exit->reason, ExitReason::InsnLimit);
    EXPECT_EQ(v.instructions_retired(), 1000u);
}

TEST(VmApi, AFaultLoopStillReturnsWithTheBudgetUsed) {
    auto vm = Vm::create();
    ASSERT_TRUE(vm);
    ASSERT_TRUE((*vm)->set_user_memory_region({0, 0, 0, 0, 1 << 20, nullptr}));
    // Real mode, IVT all zeros: every vector points at 0000:0000, which holds UD2 -> #UD forever.
    const uint8_t ud2[] = {0x0f, 0x0b};
    ASSERT_TRUE((*vm)->write_phys(0, ud2, sizeof ud2));
    Vcpu& v = **(*vm)->create_vcpu();
    Sregs s = flat_real_mode(v);
    s.idt = {0, 0x3ff};
    ASSERT_TRUE(v.set_sregs(s));
    Regs r = v.get_regs();
    r.rip = 0;
    r.rsp = 0x8000;
    v.set_regs(r);
    auto e = v.run(500);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->reason, ExitReason::InsnLimit);
    EXPECT_EQ(v.instructions_retired(), 0u);
}

TEST(VmApi, BadRequestsAreErrorsWithMessages) {
    EXPECT_FALSE(Vm::create("pentium9"));
    EXPECT_EQ(Vm::create("qemu64,+avic").status().code(), ErrorCode::Unsupported);
    auto vm = Vm::create();
    ASSERT_TRUE(vm);
    const Status mis = (*vm)->set_user_memory_region({0, 0, 0, 0x123, 0x1000, nullptr});
    EXPECT_EQ(mis.code(), ErrorCode::Misaligned);
    EXPECT_FALSE(mis.message().empty());
    ASSERT_TRUE((*vm)->set_user_memory_region({1, 0, 0, 0, 0x10000, nullptr}));
    EXPECT_EQ((*vm)->set_user_memory_region({2, 0, 0, 0x8000, 0x10000, nullptr}).code(), ErrorCode::Overlap);
    auto v = (*vm)->create_vcpu();
    ASSERT_TRUE(v);
    EXPECT_EQ((*vm)->create_vcpu().status().code(), ErrorCode::Unsupported);
    Sregs s = (*v)->get_sregs();
    s.efer = 1u << 10;  // LMA without LME and paging
    EXPECT_EQ((*v)->set_sregs(s).code(), ErrorCode::InvalidArgument);
    s = (*v)->get_sregs();
    s.cr0 = 0x80000000;  // PG without PE
    EXPECT_FALSE((*v)->set_sregs(s));
    EXPECT_EQ((*vm)->get_dirty_log(1).status().code(), ErrorCode::State);
    uint8_t b = 0;
    EXPECT_FALSE((*vm)->read_phys(0, &b, 1, 7));
}

TEST(VmApi, DirtyLogSeesGuestWrites) {
    auto vm = Vm::create();
    ASSERT_TRUE(vm);
    ASSERT_TRUE((*vm)->set_user_memory_region({0, 0, kMemLogDirty, 0, 1 << 20, nullptr}));
    // mov byte [0x5000], 1; hlt
    const uint8_t code[] = {0xc6, 0x06, 0x00, 0x50, 0x01, 0xf4};
    ASSERT_TRUE((*vm)->write_phys(0x1000, code, sizeof code));
    (void)(*vm)->get_dirty_log(0);  // clear what write_phys marked
    Vcpu& v = **(*vm)->create_vcpu();
    ASSERT_TRUE(v.set_sregs(flat_real_mode(v)));
    Regs r = v.get_regs();
    r.rip = 0x1000;
    v.set_regs(r);
    ASSERT_EQ(v.run()->reason, ExitReason::Hlt);
    auto log = (*vm)->get_dirty_log(0);
    ASSERT_TRUE(log);
    EXPECT_EQ((*log)[0], uint64_t{1} << 5);
}

TEST(VmApi, MmioExitsForUnbackedMemoryAndRestartsTheInstruction) {
    auto vm = Vm::create();
    ASSERT_TRUE(vm);
    ASSERT_TRUE((*vm)->set_user_memory_region({0, 0, 0, 0, 1 << 20, nullptr}));
    // mov ax, [0xf000:0x0010] via ES=0xf000 outside RAM? Use flat: mov eax, [0x200000] needs
    // 32-bit addressing in real mode: a32 mov eax, [0x200000]; a32 mov [0x200004], eax; hlt
    const uint8_t code[] = {0x67, 0x66, 0xa1, 0x00, 0x00, 0x20, 0x00,
                            0x67, 0x66, 0xa3, 0x04, 0x00, 0x20, 0x00, 0xf4};
    ASSERT_TRUE((*vm)->write_phys(0x1000, code, sizeof code));
    Vcpu& v = **(*vm)->create_vcpu();
    Sregs s = flat_real_mode(v);
    s.ds.limit = 0xffffffff;  // big real mode, so 32-bit offsets pass the limit check
    ASSERT_TRUE(v.set_sregs(s));
    Regs r = v.get_regs();
    r.rip = 0x1000;
    v.set_regs(r);
    auto e = v.run();
    ASSERT_TRUE(e);
    ASSERT_EQ(e->reason, ExitReason::Mmio);
    EXPECT_EQ(e->mmio.phys_addr, 0x200000u);
    EXPECT_EQ(e->mmio.len, 4);
    EXPECT_FALSE(e->mmio.is_write);
    EXPECT_EQ(v.get_regs().rip, 0x1000u) << "the access restarts its instruction";
    const uint8_t answer[4] = {0x78, 0x56, 0x34, 0x12};
    v.complete_mmio(answer, 4);
    e = v.run();
    ASSERT_EQ(e->reason, ExitReason::Mmio);
    EXPECT_TRUE(e->mmio.is_write);
    EXPECT_EQ(e->mmio.phys_addr, 0x200004u);
    EXPECT_EQ(e->mmio.data[0], 0x78);
    EXPECT_EQ(e->mmio.data[3], 0x12);
    EXPECT_EQ(v.get_regs().rax & 0xffffffff, 0x12345678u);
    v.complete_mmio();
    e = v.run();
    EXPECT_EQ(e->reason, ExitReason::Hlt);
    EXPECT_EQ(v.instructions_retired(), 3u);
}

}  // namespace
}  // namespace vx86
