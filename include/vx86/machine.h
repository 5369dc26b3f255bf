// The ready-made PC (q35-style board: RAM, firmware, COM1, isa-debug-exit) that the vx86 program
// runs. Configuration mirrors QEMU's options; the CLI maps its command line onto MachineConfig.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "vx86/migration.h"
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

    // The whole machine (configuration, RAM of both address spaces, devices, vCPU with its SMM
    // and nested-SVM state) as one snapshot, taken at the current instruction boundary, i.e.
    // between run() calls. Saving never changes the machine. Format: docs/snapshot-format.md.
    virtual std::vector<uint8_t> save_snapshot() = 0;
    // Decodes and validates the whole snapshot first, then replaces the machine's state in one
    // step. The machine must have been created with the same configuration (the error lists the
    // differences); on any error nothing changed.
    virtual Status restore_snapshot(std::span<const uint8_t> snapshot) = 0;
    // The same through a file. Saving writes PATH.tmp, syncs it and renames it over PATH, so a
    // failed save never damages an existing snapshot.
    virtual Status save_snapshot_file(const std::string& path) = 0;
    virtual Status restore_snapshot_file(const std::string& path) = 0;

    // Live migration (vx86/migration.h). `fd` is a connected stream socket, owned (and closed) by
    // the migration from here on. Refused while another migration of this machine is active.
    virtual Result<std::unique_ptr<OutgoingMigration>> migrate(int fd,
                                                               const MigrationParameters& p) = 0;
    // The destination: reads a whole migration stream from `fd` (blocking), checks it like
    // restore_snapshot does, loads it, answers the source, and leaves the machine ready to run
    // from where the source stopped. Only on a machine that has not run yet. On failure the
    // source is told why, and the machine is back at its power-on state.
    virtual Status migrate_incoming(int fd) = 0;
};

// The snapshot decoded section by section (`vx86 inspect`): configuration, memory, devices, the
// vCPU field by field, the SMRAM state-save map while in SMM, VMCB12 while in SVM guest mode.
Result<std::string> describe_snapshot(std::span<const uint8_t> snapshot);
Result<std::string> describe_snapshot_file(const std::string& path);

}  // namespace vx86
