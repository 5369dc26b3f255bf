// vx86: run a guest on the software x86-64 CPU with a QEMU-compatible command line.
// Exit status follows QEMU: isa-debug-exit gives (v << 1) | 1, a shutdown with -no-reboot gives 0.
#include <chrono>
#include <cstdio>
#include <fmt/core.h>
#include <algorithm>
#include <memory>

#include "qemu_options.h"
#include "vx86/machine.h"

int main(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    if (!args.empty() && args[0] == "inspect") {
        if (args.size() != 2) {
            fmt::print(stderr, "usage: vx86 inspect SNAPSHOT\n");
            return 1;
        }
        auto text = vx86::describe_snapshot_file(args[1]);
        if (!text) {
            fmt::print(stderr, "vx86: inspect: {}\n", text.message());
            return 1;
        }
        fmt::print("{}", *text);
        return 0;
    }
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
    vx86::Machine& m = **machine;
    if (!opts->incoming_file.empty()) {
        if (auto st = m.restore_snapshot_file(opts->incoming_file); !st) {
            fmt::print(stderr, "vx86: -incoming: {}\n", st.message());
            return 1;
        }
    }
    const auto t0 = std::chrono::steady_clock::now();
    vx86::MachineResult r{vx86::MachineOutcome::InsnLimit, 0, 0};
    uint64_t budget = opts->max_insns;
    if (opts->snapshot_armed) {
        // Run up to the requested instruction count (counted from power-on, so it carries on
        // across -incoming), save there, then go on or stop.
        const uint64_t now = m.vcpu().instructions_retired();
        if (opts->snapshot_at < now) {
            fmt::print(stderr, "vx86: -snapshot-at {}: the restored guest has already retired {} "
                               "instructions\n", opts->snapshot_at, now);
            return 1;
        }
        const uint64_t until = opts->snapshot_at > now ? opts->snapshot_at - now : 0;
        if (until) r = m.run(std::min(until, budget));
        if (r.outcome == vx86::MachineOutcome::InsnLimit && r.instructions == until) {
            if (serial) std::fflush(serial);
            if (auto st = m.save_snapshot_file(opts->snapshot_file); !st) {
                fmt::print(stderr, "vx86: -snapshot-at: {}\n", st.message());
                return 1;
            }
            if (opts->snapshot_exit) {
                if (serial && serial != stdout) std::fclose(serial);
                return 0;
            }
            budget = budget == ~uint64_t{0} ? budget : budget - r.instructions;
            const uint64_t before = r.instructions;
            r = m.run(budget);
            r.instructions += before;
        } else {
            fmt::print(stderr, "vx86: -snapshot-at: the guest stopped after {} instructions, before "
                               "instruction {}; no snapshot written\n", now + r.instructions,
                       opts->snapshot_at);
        }
    } else {
        r = m.run(budget);
    }
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
