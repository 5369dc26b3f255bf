// Interpreter throughput on a register/memory/branch loop in 64-bit mode: the per-instruction
// cost of the cached fetch-execute path (reported as instructions per second = MIPS * 1e6).
#include <benchmark/benchmark.h>

#include "support/test_machine.h"

namespace {

// loop: add rax, [rbx]; mov [rbx+8], rax; add rbx, 0 ; inc rcx; cmp rcx, rdx; jne loop; hlt
const uint8_t kLoop[] = {0x48, 0x03, 0x03, 0x48, 0x89, 0x43, 0x08, 0x48, 0x83, 0xc3, 0x00,
                         0x48, 0xff, 0xc1, 0x48, 0x39, 0xd1, 0x75, 0xee, 0xf4};
constexpr uint64_t kInsnsPerIter = 6;

void BM_IntegerLoop(benchmark::State& state) {
    vx86::test::TestMachine m("max");
    m.enter_long64();
    const uint64_t iters = static_cast<uint64_t>(state.range(0));
    uint64_t total = 0;
    for (auto _ : state) {
        m.s().halted = false;
        m.s().gpr[vx86::cpu::RAX] = 0;
        m.s().gpr[vx86::cpu::RBX] = vx86::test::TestMachine::kDataBase;
        m.s().gpr[vx86::cpu::RCX] = 0;
        m.s().gpr[vx86::cpu::RDX] = iters;
        m.load_code(kLoop);
        const uint64_t before = m.s().icount;
        m.run();
        total += m.s().icount - before;
    }
    state.counters["insns"] = benchmark::Counter(static_cast<double>(total), benchmark::Counter::kIsRate);
    state.counters["insns_per_iter"] = kInsnsPerIter;
}
BENCHMARK(BM_IntegerLoop)->Arg(1000000)->Unit(benchmark::kMillisecond);

}  // namespace
