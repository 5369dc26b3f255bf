// libFuzzer target: the multiboot/ELF32 kernel loader must reject or load any byte string without
// touching memory outside guest RAM.
#include <cstdint>
#include <vector>

#include "cpu/state/cpu_state.h"
#include "machine/loaders.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static vx86::mem::GuestMemory* memory = [] {
        auto* m = new vx86::mem::GuestMemory();
        (void)m->set_slot({0, 0, 0, 8u << 20, nullptr, 0});
        return m;
    }();
    std::vector<uint8_t> image(data, data + size);
    vx86::cpu::CpuState cpu;
    (void)vx86::machine::load_multiboot(image, "console=ttyS0", *memory, 8u << 20, 0, cpu);
    return 0;
}
