// vx86: run a guest on the software x86-64 CPU with a QEMU-compatible command line.
// Exit status follows QEMU: isa-debug-exit gives (v << 1) | 1, a shutdown with -no-reboot gives 0.
#include <chrono>
#include <cstdio>
#include <fmt/core.h>
#include <memory>

#include "qemu_options.h"
#include "vx86/machine.h"

int main(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    auto opts = vx86::cli::parse_options(args);
    if (!opts) {
        fmt::print(stderr, "vx86: {}\n", opts.message());
        return 1;
    }
    if (opts->show_help) {
        fmt::print("{}", vx86::cli::usage());
        return 0;
    }
    if (opts->show_version) {
        fmt::print("vx86 0.1 (x86-64 software CPU; QEMU-compatible command line)\n");
        return 0;
    }
    FILE* serial = nullptr;
    if (opts->serial == "stdio") {
        serial = stdout;
    } else if (opts->serial.rfind("file:", 0) == 0) {
        serial = std::fopen(opts->serial.c_str() + 5, "wb");
        if (!serial) {
            fmt::print(stderr, "vx86: -serial {}: cannot open for writing\n", opts->serial);
            return 1;
        }
    }
    vx86::MachineConfig cfg = opts->machine;
    if (serial) {
        cfg.serial_out = [serial](uint8_t b) {
            std::fputc(b, serial);
            if (b == '\n') std::fflush(serial);
        };
    }
    auto machine = vx86::Machine::create(cfg);
    if (!machine) {
        fmt::print(stderr, "vx86: {}\n", machine.message());
        return 1;
    }
    const auto t0 = std::chrono::steady_clock::now();
    const vx86::MachineResult r = (*machine)->run(opts->max_insns);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (serial) std::fflush(serial);
    if (serial && serial != stdout) std::fclose(serial);
    if (opts->stats)
        fmt::print(stderr, "vx86: {} instructions in {:.3f} s ({:.1f} MIPS)\n", r.instructions, secs,
                   secs > 0 ? r.instructions / secs / 1e6 : 0.0);
    switch (r.outcome) {
        case vx86::MachineOutcome::DebugExit: return r.exit_status;
        case vx86::MachineOutcome::Shutdown: return 0;
        case vx86::MachineOutcome::InsnLimit:
            fmt::print(stderr, "vx86: stopped after {} instructions (--max-insns)\n", r.instructions);
            return 0;
        case vx86::MachineOutcome::Halted:
            fmt::print(stderr, "vx86: the guest halted with nothing left to wake it\n");
            return 0;
    }
    return 0;
}
