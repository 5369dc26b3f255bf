// libFuzzer target: the VMCB is guest memory, so VMRUN must take any 4 KiB. The first byte picks
// how the input becomes the VMCB (raw, or flipped over a valid identity VMCB so that entries into
// L2 are explored too); L2 then runs a short budget. VMRUN must either fail with VMEXIT_INVALID
// and leave L1 untouched, or enter L2; the emulator must never crash or break an invariant.
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "arch/vmcb.h"
#include "cpu/svm/svm.h"
#include "support/svm_vmcb.h"
#include "support/test_machine.h"

namespace {

using namespace vx86;
using namespace vx86::arch;

constexpr uint64_t kVmcb = 0x300000, kHsave = 0x301000;

test::TestMachine& machine() {
    static test::TestMachine* m = new test::TestMachine("max");
    return *m;
}

Vmcb identity(const cpu::CpuState& s) {
    Vmcb b = test::identity_vmcb(s, 0x400000, 0x480000);
    b.control.intercept_misc1 = InterceptMisc1::SHUTDOWN;
    b.control.iopm_base_pa = 0x302000;
    b.control.msrpm_base_pa = 0x305000;
    return b;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1) return 0;
    const bool overlay = data[0] & 1;
    ++data;
    --size;
    test::TestMachine& m = machine();
    m.vcpu->reset();
    m.enter_long64();
    m.install_idt64();
    cpu::CpuState& s = m.s();
    s.efer |= Efer::SVME;
    s.msr.vm_hsave_pa = kHsave;
    m.vcpu->state_changed();
    const uint8_t l1[] = {0x0f, 0x01, 0xd8, 0xf4};  // vmrun; hlt
    m.load_code(l1);
    s.gpr[cpu::RAX] = kVmcb;
    s.gpr[cpu::RSP] = test::TestMachine::kStackTop;
    const uint8_t l2[] = {0x90, 0x0f, 0xa2, 0x0f, 0x01, 0xd9};  // nop; cpuid; vmmcall
    m.write(0x400000, l2);

    Vmcb v{};
    if (overlay) {
        v = identity(s);
        auto* b = reinterpret_cast<uint8_t*>(&v);
        // Pairs (offset, value): sparse edits keep most of the VMCB valid.
        for (size_t i = 0; i + 2 < size; i += 3) b[((data[i] << 8) | data[i + 1]) % sizeof v] ^= data[i + 2];
    } else {
        std::memcpy(&v, data, size < sizeof v ? size : sizeof v);
    }
    m.write(kVmcb, &v, sizeof v);
    const cpu::VmcbCheck verdict = cpu::check_vmcb(v, m.vcpu->core().features, m.memory, 0);
    const cpu::CpuState before = s;

    m.run(1);  // VMRUN alone
    if (verdict != cpu::VmcbCheck::None) {
        // VMEXIT_INVALID: nothing loaded, L1 after VMRUN, exit code all ones.
        const Vmcb r = m.read<Vmcb>(kVmcb);
        if (s.svm.guest_mode || r.control.exit_code != ~uint64_t{0}) std::abort();
        if (s.rip() != test::TestMachine::kCodeBase + 3 || s.gpr[cpu::RAX] != before.gpr[cpu::RAX] ||
            s.cr0 != before.cr0 || s.cr3 != before.cr3 || s.efer != before.efer)
            std::abort();
        return 0;
    }
    // Entered (an injected event may already have exited again); let L2 run a little.
    m.run(64);
    if (!s.svm.guest_mode) {
        // Back in L1: its state is what VMRUN saved.
        if (s.cr3 != before.cr3 || s.gpr[cpu::RAX] != before.gpr[cpu::RAX] || s.svm.gif) std::abort();
        if (!(s.cr0 & Cr0::PE) || s.cpl != 0) std::abort();
    }
    return 0;
}
