// Live migration of a Machine over a connected stream socket: pre-copy as QEMU does it (bulk pass,
// then the pages the dirty log reports, pass after pass, then stop-and-copy once the rest fits the
// downtime limit). The stream is the snapshot container (docs/snapshot-format.md) sent record by
// record; the destination answers on the same socket. Parameter names follow QEMU's
// migrate_set_parameter / migrate_set_capability.
#pragma once

#include <cstdint>
#include <string>

namespace vx86 {

struct MigrationParameters {
    uint64_t downtime_limit_ms = 300;  // downtime-limit: switch over once the rest fits this
    uint64_t max_bandwidth = 0;        // max-bandwidth in bytes/s; 0 = as fast as the socket goes
    bool auto_converge = false;        // capability auto-converge: throttle the guest when the
                                       // dirty rate outruns the transfer (QEMU's rule)
    uint32_t cpu_throttle_initial = 20;    // cpu-throttle-initial (%)
    uint32_t cpu_throttle_increment = 10;  // cpu-throttle-increment (%)
    uint32_t max_cpu_throttle = 99;        // max-cpu-throttle (%)
    uint32_t max_passes = 0;  // x-max-passes (vx86): fail "did not converge" after this many
                              // passes; 0 = keep going until cancelled, as QEMU does
};

enum class MigrationStatus : uint8_t { None, Setup, Active, Completed, Failed, Cancelled };

const char* migration_status_name(MigrationStatus s);  // QEMU's words: "setup", "active", ...

// What `info migrate` shows. Times are wall-clock milliseconds; rates are per second.
struct MigrationInfo {
    MigrationStatus status = MigrationStatus::None;
    uint64_t passes = 0;             // dirty-sync-count: completed passes over the dirty log
    uint64_t pages_sent = 0;         // pages sent with data (QEMU "normal")
    uint64_t zero_pages = 0;         // pages sent as zero markers
    uint64_t bytes_sent = 0;         // everything written to the socket
    uint64_t total_pages = 0;        // guest RAM in pages
    uint64_t remaining_pages = 0;    // dirty at the last harvest, not yet sent
    uint64_t dirty_pages_rate = 0;   // pages dirtied per second, measured over the last pass
    uint64_t bandwidth = 0;          // bytes per second, measured over the last pass
    uint64_t expected_downtime_ms = 0;
    uint64_t throttle_percent = 0;   // auto-converge throttle in force
    uint64_t total_time_ms = 0;      // since start (final once completed)
    uint64_t downtime_ms = 0;        // guest stopped until the destination's answer (completed)
    uint64_t switchover_icount = 0;  // instructions the guest had retired when it stopped
    std::string error;               // why it failed (Failed) or was cancelled
};

// The source side. Created by Machine::migrate; the Machine must outlive it. Nothing here runs
// the guest: the caller alternates step() with Machine::run() slices.
class OutgoingMigration {
public:
    virtual ~OutgoingMigration() = default;
    // Does a bounded amount of migration work at the current instruction boundary (about
    // `slice_ms` of sending), and when the remaining dirty pages fit the downtime limit, stops
    // the guest's world for good: sends the rest, the devices and the vCPU, and waits for the
    // destination's verdict. Returns the status after the step. On failure the source machine is
    // exactly as it was (the guest just continues) and the dirty log keeps every page not
    // acknowledged by the destination; `info().error` says why.
    virtual MigrationStatus step(uint64_t slice_ms = 50) = 0;
    // Ends the migration with status Cancelled; the source goes on running. No-op once finished.
    virtual void cancel() = 0;
    virtual const MigrationInfo& info() const = 0;
    // How long the guest should run before the next step(), in ms: the throttle (auto-converge)
    // shrinks it. The guest and the migration share one host thread.
    virtual uint64_t guest_slice_ms() const = 0;
    virtual MigrationParameters& parameters() = 0;
};

}  // namespace vx86
