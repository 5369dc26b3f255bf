// libFuzzer target: the guest owns SMRAM, so RSM must take any 512 bytes of save area. The first
// byte picks the CPU model (64-bit or 32-bit map) and the mode the SMI interrupted; the rest is the
// save area. RSM must either resume with a consistent CPU or shut down leaving the CPU in SMM.
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "arch/smram.h"
#include "support/test_machine.h"

namespace {

using namespace vx86;

test::TestMachine* machine(bool lm) {
    static test::TestMachine* m64 = new test::TestMachine("max");
    static test::TestMachine* m32 = new test::TestMachine("qemu64,-lm");
    return lm ? m64 : m32;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1) return 0;
    const bool lm = data[0] & 1;
    const uint8_t mode = (data[0] >> 1) % 3;
    ++data;
    --size;
    test::TestMachine& m = *machine(lm);
    m.vcpu->reset();
    switch (mode) {
        case 0: m.enter_real16(); break;
        case 1: m.enter_protected32(); break;
        default:
            if (lm) {
                m.enter_long64();
                m.install_idt64();
            } else {
                m.enter_protected32();
            }
            break;
    }
    const uint8_t code[] = {0x90, 0x90, 0xf4};
    m.load_code(code);
    const uint8_t rsm[] = {0x0f, 0xaa};
    m.memory.write(1, arch::kSmbaseReset + arch::kSmmEntryOffset, rsm);
    m.vcpu->inject_smi();
    m.run(0);
    if (!m.vcpu->in_smm()) std::abort();
    // The fuzz input becomes the save area (missing bytes stay as the CPU wrote them).
    m.memory.write(1, arch::kSmbaseReset + arch::kSmramSaveOffset,
                   {data, size < 512 ? size : size_t{512}});
    const auto& e = m.run(1);
    if (e.reason == cpu::ExitReason::Shutdown) {
        if (!m.vcpu->in_smm()) std::abort();  // an invalid image must not half-leave SMM
    } else {
        if (m.vcpu->in_smm() || m.vcpu->core().mmu.address_space() != 0) std::abort();
        const cpu::CpuState& s = m.s();
        // Architectural invariants RSM must never break.
        if ((s.cr0 & arch::Cr0::PG) && !(s.cr0 & arch::Cr0::PE)) std::abort();
        if ((s.efer & arch::Efer::LMA) && !(s.cr0 & arch::Cr0::PG)) std::abort();
        if ((s.efer & arch::Efer::LMA) && !(s.cr4 & arch::Cr4::PAE)) std::abort();
        // Whatever was loaded, running on from it must stay inside the emulator's rules.
        m.run(64);
    }
    return 0;
}
