// SMI round trip inside the vCPU: SMI taken from 64-bit long mode -> a three-instruction handler
// at SMBASE + 0x8000 -> RSM back, repeated; reported as nanoseconds per round trip. (The guest-
// level figure with the chipset's APM port against QEMU TCG is in bench/compare.sh.)
#include <benchmark/benchmark.h>

#include "arch/smram.h"
#include "support/test_machine.h"

namespace {

using namespace vx86;

void BM_SmiRoundTrip(benchmark::State& state) {
    test::TestMachine m("max");
    m.enter_long64();
    const uint8_t code[] = {0x90, 0xeb, 0xfd};  // loop: nop; jmp loop
    m.load_code(code);
    // Handler: inc ax; inc ax; rsm.
    const uint8_t handler[] = {0x40, 0x40, 0x0f, 0xaa};
    m.memory.write(1, arch::kSmbaseReset + arch::kSmmEntryOffset, handler);
    for (auto _ : state) {
        m.vcpu->inject_smi();
        m.run(3);  // SMI entry, the handler's three instructions including RSM
    }
    if (m.vcpu->in_smm()) state.SkipWithError("still in SMM");
    state.counters["smi_count"] = static_cast<double>(m.s().smm.smi_count);
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SmiRoundTrip)->Unit(benchmark::kNanosecond);

}  // namespace
