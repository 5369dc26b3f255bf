// QEMU-compatible command line: the options vx86 supports, parsed into a MachineConfig so that a
// command line written for qemu-system-x86_64 runs unchanged on vx86.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "net.h"
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
    // -incoming file:PATH, or -incoming tcp:HOST:PORT (listen, accept one migration stream)
    std::string incoming_file;
    std::optional<TcpAddress> incoming_tcp;
    // -monitor stdio|none
    bool monitor_stdio = false;
    // -snapshot-on-signal file=PATH[,exit=on]: save on SIGUSR1 at the next slice boundary.
    bool signal_snapshot_armed = false;
    std::string signal_snapshot_file;
    bool signal_snapshot_exit = false;
    bool show_help = false;
    bool show_version = false;
};

Result<Options> parse_options(const std::vector<std::string>& args);
std::string usage();

// Helpers exposed for tests.
Result<uint64_t> parse_memory_size(const std::string& text);

}  // namespace vx86::cli
