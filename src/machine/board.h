// The q35-style PC vx86 emulates: RAM with the legacy holes, firmware ROM, COM1, isa-debug-exit
// and one vCPU, wired explicitly, plus the run loop that turns vCPU exits into machine outcomes.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "bus/range_bus.h"
#include "cpu/vcpu.h"
#include "devices/debug_exit.h"
#include "devices/uart16550.h"
#include "mem/guest_memory.h"

namespace vx86::machine {

struct BoardConfig {
    uint64_t ram_bytes = 128ull << 20;
    std::string cpu = "qemu64";
    std::string bios_path;       // flat firmware image (-bios)
    std::string kernel_path;     // multiboot ELF32 kernel (-kernel)
    std::string kernel_cmdline;  // -append
    bool smm = true;             // -machine q35,smm=on|off (accepted; SMM arrives with its issue)
    bool no_reboot = false;
    bool debug_exit = false;
    uint16_t debug_exit_iobase = 0x501;
    uint16_t debug_exit_iosize = 2;
    std::function<void(uint8_t)> serial_out;  // COM1 output sink (nullptr: discarded)
};

enum class Outcome : uint8_t {
    DebugExit,      // isa-debug-exit was written: status = (v << 1) | 1
    Shutdown,       // triple fault with -no-reboot (QEMU exits with status 0)
    Halted,         // HLT with interrupts disabled and nothing that could wake the CPU
    InsnLimit,      // the instruction budget given to run() was used up
};

struct RunResult {
    Outcome outcome;
    int exit_status = 0;
    uint64_t instructions = 0;
};

class Board {
public:
    static base::Result<std::unique_ptr<Board>> create(const BoardConfig& config);

    // Runs until the machine stops; `max_insns` bounds the run (tests and benchmarks).
    RunResult run(uint64_t max_insns = ~uint64_t{0});

    cpu::Vcpu& vcpu() { return *m_vcpu; }
    mem::GuestMemory& memory() { return m_memory; }
    bus::PioBus& pio() { return m_pio; }

private:
    explicit Board(const BoardConfig& config);
    base::Status build();
    base::Status load_images();

    BoardConfig m_config;
    bus::MmioBus m_mmio;
    mem::GuestMemory m_memory{&m_mmio};
    bus::PioBus m_pio;
    std::unique_ptr<cpu::Vcpu> m_vcpu;
    std::unique_ptr<devices::Uart16550> m_com1;
    std::unique_ptr<devices::DebugExit> m_debug_exit;
    std::vector<uint8_t> m_firmware;
    std::vector<uint8_t> m_kernel;
    uint64_t m_low_ram = 0, m_high_ram = 0;
};

}  // namespace vx86::machine
