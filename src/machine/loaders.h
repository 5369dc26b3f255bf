// Boot loaders: a flat firmware image mapped below 4 GiB (and its last 128 KiB at 0xE0000), and a
// multiboot v1 loader for ELF32 kernels with the boot information structure.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"
#include "cpu/state/cpu_state.h"
#include "mem/guest_memory.h"

namespace vx86::machine {

base::Result<std::vector<uint8_t>> read_file(const std::string& path, uint64_t max_size);

// Validates a firmware image: non-empty, a multiple of 4 KiB, at most 16 MiB.
base::Status check_firmware(const std::vector<uint8_t>& image, const std::string& path);

struct MultibootInfoPlacement {
    uint32_t info = 0x9000, cmdline = 0x9400, mmap = 0x9800, gdt = 0x9c00;
};

// Loads the kernel's PT_LOAD segments into RAM and prepares the CPU state the multiboot v1 spec
// requires (section 3.2 "Machine state"). `low_ram` is the RAM size below 4 GiB.
base::Status load_multiboot(const std::vector<uint8_t>& elf, const std::string& cmdline,
                            mem::GuestMemory& memory, uint64_t low_ram, uint64_t high_ram,
                            cpu::CpuState& cpu);

}  // namespace vx86::machine
