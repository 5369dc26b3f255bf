// Whole-machine snapshots: the board's configuration, RAM (both address spaces live in the RAM
// blocks; SMRAM and TSEG are views of low RAM), every device with state and the vCPU, in one
// container (state/container.h). Saving reads only; restoring decodes and validates every record
// before it changes anything, then applies the whole state in one step.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"
#include "machine/board.h"

namespace vx86::state {

struct SaveOptions {
    int drop_cpu_field = -1;  // tests only: see encode_cpu
};

// The snapshot of `board` at the current instruction boundary (between Board::run calls).
std::vector<uint8_t> save_machine(machine::Board& board, const SaveOptions& options = {});

// Restores a snapshot taken of a board built with the same options (the same -m, -cpu, -machine,
// -bios/-kernel images...): differences are listed in the error. Nothing changes on error.
base::Status restore_machine(machine::Board& board, std::span<const uint8_t> bytes);

// A readable dump, record by record: header, configuration, memory summary, devices, the vCPU
// field by field, the SMRAM state-save map when the vCPU is in SMM, and VMCB12 decoded when the
// vCPU is in (or suspended from) SVM guest mode. Errors only for a damaged container.
base::Result<std::string> describe_snapshot(std::span<const uint8_t> bytes);

// Writes `bytes` to PATH.tmp, syncs it and renames it over PATH, so an existing file is either
// the old snapshot or the new one, never a torn mix.
base::Status write_file_atomically(const std::string& path, std::span<const uint8_t> bytes);
base::Result<std::vector<uint8_t>> read_snapshot_file(const std::string& path);

}  // namespace vx86::state
