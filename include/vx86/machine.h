// The ready-made PC (q35-style board: RAM, firmware, COM1, isa-debug-exit) that the vx86 program
// runs. Configuration mirrors QEMU's options; the CLI maps its command line onto MachineConfig.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "vx86/status.h"
#include "vx86/vm.h"

namespace vx86 {

struct MachineConfig {
    uint64_t ram_bytes = 128ull << 20;
    std::string cpu = "qemu64";
    std::string bios_path;
    std::string kernel_path;
    std::string kernel_cmdline;
    bool smm = true;
    bool no_reboot = false;
    bool debug_exit = false;
    uint16_t debug_exit_iobase = 0x501;
    uint16_t debug_exit_iosize = 2;
    std::function<void(uint8_t)> serial_out;  // COM1 bytes; empty: discarded
};

enum class MachineOutcome : uint8_t { DebugExit, Shutdown, Halted, InsnLimit };

struct MachineResult {
    MachineOutcome outcome;
    int exit_status;        // what the vx86 program exits with (QEMU's convention)
    uint64_t instructions;  // retired during this run
};

class Machine {
public:
    static Result<std::unique_ptr<Machine>> create(const MachineConfig& config);
    virtual ~Machine() = default;
    virtual MachineResult run(uint64_t max_insns = ~uint64_t{0}) = 0;
    virtual Vcpu& vcpu() = 0;
};

}  // namespace vx86
