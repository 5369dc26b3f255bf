// Runs the guest to its end (see run_loop.h). Between slices, in this order: -snapshot-at,
// SIGUSR1, monitor input, a migration step. A migration shares the thread with the guest: after
// each step the guest runs for guest_slice_ms() of wall time (the auto-converge throttle shrinks
// it), sized in instructions from the rate the last slices ran at.
#include "run_loop.h"

#include <fmt/format.h>
#include <poll.h>

#include <algorithm>
#include <chrono>

#include "signal_snapshot.h"

namespace vx86::cli {

namespace {

using Clock = std::chrono::steady_clock;

constexpr uint64_t kSliceInsns = 1'000'000;  // a few ms of guest time: the monitor's latency
constexpr uint64_t kMinMigrationSlice = 1'000;
constexpr int kPausedWaitMs = 100;          // a stopped guest: how often to look at signals
constexpr int kMigratingWaitMs = 10;        // a stopped guest being migrated: pause between steps
constexpr uint64_t kThrottlePeriodMs = 50;  // the throttle takes its share of each such period

// Waits up to `ms` for monitor input (or just waits); a signal ends the wait early.
void wait_ms(Monitor* mon, int ms) {
    if (mon && mon->reading())
        mon->poll(ms);
    else
        ::poll(nullptr, 0, ms);
}

}  // namespace

RunOutcome run_guest(Session& s, Monitor* mon, const RunPlan& plan) {
    Machine& m = s.machine();
    RunOutcome out;
    uint64_t budget = plan.max_insns;  // run() units left; ~0: no limit
    bool snapshot_pending = plan.snapshot_armed;
    if (snapshot_pending && plan.snapshot_at < m.vcpu().instructions_retired()) {
        fmt::print(
            stderr,
            "vx86: -snapshot-at {}: the restored guest has already retired {} instructions\n",
            plan.snapshot_at, m.vcpu().instructions_retired());
        out.end = RunEnd::Error;
        return out;
    }
    const bool sliced = mon || plan.signal_armed;
    Clock::time_point next_step = Clock::now(), guest_resume = next_step;
    double insns_per_ms = 0;  // measured over the last slice

    auto missed_snapshot = [&] {
        if (snapshot_pending)
            fmt::print(stderr,
                       "vx86: -snapshot-at: the guest stopped after {} instructions, before "
                       "instruction {}; no snapshot written\n",
                       m.vcpu().instructions_retired(), plan.snapshot_at);
    };

    // -snapshot-at once the guest is there; false when the run ends here (out.end says why).
    auto snapshot_at_point = [&] {
        if (!snapshot_pending || m.vcpu().instructions_retired() != plan.snapshot_at) return true;
        snapshot_pending = false;
        s.flush_serial();
        if (auto st = m.save_snapshot_file(plan.snapshot_file); !st) {
            fmt::print(stderr, "vx86: -snapshot-at: {}\n", st.message());
            out.end = RunEnd::Error;
            return false;
        }
        out.end = RunEnd::Snapshot;
        return !plan.snapshot_exit;
    };

    for (;;) {
        if (!snapshot_at_point()) return out;
        if (plan.signal_armed && take_snapshot_signal()) {
            s.flush_serial();
            if (auto st = m.save_snapshot_file(plan.signal_file); !st) {
                s.log(fmt::format("vx86: -snapshot-on-signal: {}; the guest runs on\n",
                                  st.message()));
            } else {
                s.log(fmt::format("vx86: snapshot saved to {} at instruction {}\n",
                                  plan.signal_file, m.vcpu().instructions_retired()));
                if (plan.signal_exit) {
                    out.end = RunEnd::Snapshot;
                    return out;
                }
            }
        }
        if (mon) {
            mon->poll(0);
            if (mon->quit_requested()) {
                out.end = RunEnd::Quit;
                return out;
            }
        }
        if (s.migrating() && Clock::now() >= next_step) {
            const auto t0 = Clock::now();
            s.step_migration();
            // QEMU's throttle keeps the vCPU asleep for its share of every period, also when the
            // step ended early (max-bandwidth reached): the guest waits out the rest of it.
            guest_resume =
                t0 + std::chrono::milliseconds(kThrottlePeriodMs * s.throttle_percent() / 100);
            next_step = std::max(Clock::now(), guest_resume) +
                        std::chrono::milliseconds(s.guest_slice_ms());
        }
        if (s.state() == RunState::Running && s.migrating() && Clock::now() < guest_resume) {
            const auto left =
                std::chrono::ceil<std::chrono::milliseconds>(guest_resume - Clock::now());
            wait_ms(mon, static_cast<int>(std::min<int64_t>(left.count(), kMigratingWaitMs)));
            continue;
        }
        if (s.state() != RunState::Running) {
            // Nothing can start the guest again once the monitor has gone and no migration is
            // under way (QEMU would wait forever); stop like `quit`.
            if (!s.migrating() && (!mon || mon->closed())) {
                out.end = RunEnd::Quit;
                return out;
            }
            wait_ms(mon, s.migrating() ? kMigratingWaitMs : kPausedWaitMs);
            continue;
        }

        uint64_t n = budget;
        if (snapshot_pending) n = std::min(n, plan.snapshot_at - m.vcpu().instructions_retired());
        if (s.migrating()) {
            const auto left =
                std::chrono::duration<double, std::milli>(next_step - Clock::now()).count();
            const double want = insns_per_ms > 0 ? insns_per_ms * std::max(0.0, left) : 100'000.0;
            n = std::min(n,
                         std::clamp(static_cast<uint64_t>(want), kMinMigrationSlice, kSliceInsns));
        } else if (sliced) {
            n = std::min(n, kSliceInsns);
        }
        if (n == 0) {  // --max-insns 0
            missed_snapshot();
            out.end = RunEnd::Budget;
            return out;
        }
        const auto t0 = Clock::now();
        const MachineResult r = m.run(n);
        const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
        if (r.instructions >= kMinMigrationSlice && ms > 0) insns_per_ms = r.instructions / ms;
        out.result.instructions += r.instructions;
        if (r.outcome != MachineOutcome::InsnLimit) {
            out.result.outcome = r.outcome;
            out.result.exit_status = r.exit_status;
            missed_snapshot();
            out.end = RunEnd::Guest;
            return out;
        }
        if (budget != ~uint64_t{0}) budget -= n;  // InsnLimit: all n units are used
        if (budget == 0) {
            if (!snapshot_at_point()) return out;
            missed_snapshot();
            out.end = RunEnd::Budget;
            return out;
        }
    }
}

}  // namespace vx86::cli
