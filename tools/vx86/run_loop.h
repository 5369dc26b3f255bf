// Runs the guest to its end: in one Machine::run() call when nothing can interrupt it, otherwise
// in slices with the monitor, the migration and the snapshot signal served between them. vx86 is
// deterministic and a run split into slices retires exactly what one run would, so slicing never
// changes the guest's output or instruction count.
#pragma once

#include <cstdint>
#include <string>

#include "monitor.h"
#include "session.h"
#include "vx86/machine.h"

namespace vx86::cli {

struct RunPlan {
    uint64_t max_insns = ~uint64_t{0};  // --max-insns, counted in run() units from here
    // -snapshot-at: save once the vCPU has retired `snapshot_at` instructions since power-on.
    bool snapshot_armed = false;
    uint64_t snapshot_at = 0;
    std::string snapshot_file;
    bool snapshot_exit = false;
    // -snapshot-on-signal
    bool signal_armed = false;
    std::string signal_file;
    bool signal_exit = false;
};

enum class RunEnd : uint8_t {
    Guest,     // the guest stopped by itself: `result` says how
    Budget,    // --max-insns ran out
    Quit,      // `quit`, or the monitor closed with the guest stopped for good
    Snapshot,  // a snapshot with exit=on was saved
    Error,     // a message is on stderr
};

struct RunOutcome {
    RunEnd end = RunEnd::Guest;
    MachineResult result{MachineOutcome::InsnLimit, 0, 0};  // result.instructions: all slices
};

// `monitor` may be null (no -monitor stdio).
RunOutcome run_guest(Session& session, Monitor* monitor, const RunPlan& plan);

}  // namespace vx86::cli
