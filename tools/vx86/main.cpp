// vx86: run a guest on the software x86-64 CPU with a QEMU-compatible command line.
// Exit status follows QEMU: isa-debug-exit gives (v << 1) | 1, a shutdown with -no-reboot gives 0;
// `quit` on the monitor and a snapshot with exit=on give 0.
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <memory>
#include <optional>

#include <fmt/core.h>

#include "monitor.h"
#include "net.h"
#include "qemu_options.h"
#include "run_loop.h"
#include "session.h"
#include "signal_snapshot.h"
#include "vx86/machine.h"

namespace {

// -incoming tcp:HOST:PORT: listen, take one connection, load the stream it carries.
vx86::Status receive_migration(vx86::Machine& m, const vx86::cli::TcpAddress& where) {
    auto listeners = vx86::cli::tcp_listen(where);
    if (!listeners) return listeners.status();
    auto fd = vx86::cli::tcp_accept_one(*listeners);
    if (!fd) return fd.status();
    return m.migrate_incoming(*fd);  // takes the socket
}

}  // namespace

int main(int argc, char** argv) {
    // A destination that goes away must give a failed migration, not kill the source.
    std::signal(SIGPIPE, SIG_IGN);
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
    // Before anything that may wait (an incoming migration), so SIGUSR1 never kills the process.
    if (opts->signal_snapshot_armed) vx86::cli::install_snapshot_signal();
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
    } else if (opts->incoming_tcp) {
        if (auto st = receive_migration(m, *opts->incoming_tcp); !st) {
            fmt::print(stderr, "vx86: -incoming: {}\n", st.message());
            return 1;
        }
    }
    vx86::cli::Session session(m, serial, stderr);
    std::optional<vx86::cli::Monitor> monitor;
    if (opts->monitor_stdio) monitor.emplace(session, STDIN_FILENO, stdout);
    vx86::cli::RunPlan plan;
    plan.max_insns = opts->max_insns;
    plan.snapshot_armed = opts->snapshot_armed;
    plan.snapshot_at = opts->snapshot_at;
    plan.snapshot_file = opts->snapshot_file;
    plan.snapshot_exit = opts->snapshot_exit;
    plan.signal_armed = opts->signal_snapshot_armed;
    plan.signal_file = opts->signal_snapshot_file;
    plan.signal_exit = opts->signal_snapshot_exit;

    const auto t0 = std::chrono::steady_clock::now();
    const vx86::cli::RunOutcome o = vx86::cli::run_guest(session, monitor ? &*monitor : nullptr, plan);
    const vx86::MachineResult& r = o.result;
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (serial) std::fflush(serial);
    if (serial && serial != stdout) std::fclose(serial);
    if (opts->stats)
        fmt::print(stderr, "vx86: {} instructions in {:.3f} s ({:.1f} MIPS)\n", r.instructions, secs,
                   secs > 0 ? r.instructions / secs / 1e6 : 0.0);
    switch (o.end) {
        case vx86::cli::RunEnd::Error: return 1;
        case vx86::cli::RunEnd::Quit:
        case vx86::cli::RunEnd::Snapshot: return 0;
        case vx86::cli::RunEnd::Budget:
            fmt::print(stderr, "vx86: stopped after {} instructions (--max-insns)\n", r.instructions);
            return 0;
        case vx86::cli::RunEnd::Guest: break;
    }
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
