// QEMU-compatible command line: the options vx86 supports, parsed into a MachineConfig so that a
// command line written for qemu-system-x86_64 runs unchanged on vx86.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "vx86/machine.h"
#include "vx86/status.h"

namespace vx86::cli {

struct Options {
    MachineConfig machine;
    std::string serial = "none";  // "stdio", "file:PATH", "none"
    uint64_t max_insns = ~uint64_t{0};
    bool stats = false;
    // -snapshot-at N,file=PATH[,exit=on]: save once the guest has retired N instructions.
    bool snapshot_armed = false;
    uint64_t snapshot_at = 0;
    std::string snapshot_file;
    bool snapshot_exit = false;
    // -incoming file:PATH
    std::string incoming_file;
    bool show_help = false;
    bool show_version = false;
};

Result<Options> parse_options(const std::vector<std::string>& args);
std::string usage();

// Helpers exposed for tests.
Result<uint64_t> parse_memory_size(const std::string& text);

}  // namespace vx86::cli
