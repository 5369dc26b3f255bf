// libFuzzer target: arbitrary bytes executed as guest code in real, 32-bit and 64-bit mode. The
// decoder, every handler and event delivery must give architectural results, never a host crash.
#include <cstdint>

#include "support/test_machine.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1) return 0;
    static vx86::test::TestMachine* m = new vx86::test::TestMachine("max");
    const uint8_t mode = data[0] % 3;
    ++data;
    --size;
    if (size > 4096) size = 4096;
    switch (mode) {
        case 0: m->enter_real16(); break;
        case 1: m->enter_protected32(); break;
        default: m->enter_long64(); m->install_idt64(); break;
    }
    m->s().halted = false;
    // Registers point into RAM so memory operands mostly hit mapped pages.
    for (unsigned r = 0; r < 16; ++r)
        if (r != vx86::cpu::RSP) m->s().gpr[r] = vx86::test::TestMachine::kDataBase + r * 64;
    m->load_code({data, size});
    m->run(256);
    return 0;
}
