// The running guest as the monitor sees it: QEMU's run states (running, paused, postmigrate) and
// at most one outgoing migration, stepped at instruction boundaries between guest slices.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#include "net.h"
#include "vx86/machine.h"
#include "vx86/migration.h"
#include "vx86/status.h"

namespace vx86::cli {

enum class RunState : uint8_t {
    Running,
    Paused,       // `stop`
    PostMigrate,  // a migration completed: the guest lives on at the destination (QEMU's name)
};

// What `info status` says after "VM status: ".
const char* run_state_text(RunState s);

class Session {
  public:
    // `serial` (may be null) is flushed before every save and migration step, so that the
    // output printed here and the output the restored guest prints concatenate exactly.
    // Progress lines go to `log`.
    Session(Machine& machine, std::FILE* serial, std::FILE* log);
    ~Session();

    Machine& machine() { return m_machine; }
    RunState state() const { return m_state; }
    void stop();
    void cont();
    void flush_serial();
    // A line for the log (stderr): progress, saves.
    void log(const std::string& text);

    // The parameters the next migration starts with; set_* also change the active one.
    const MigrationParameters& parameters() const { return m_params; }
    Status set_parameter(const std::string& name, const std::string& value);
    Status set_capability(const std::string& name, const std::string& value);

    // tcp:HOST:PORT connects and starts a live migration, stepped by step_migration();
    // file:PATH saves the machine at this boundary (QEMU 8.2's file: migration) and completes at
    // once. Either way a completed migration leaves the guest in PostMigrate.
    Status start_migration(const std::string& uri);
    bool migrating() const;
    void cancel_migration();
    // One step (about 50 ms of sending): a progress line per finished pass, the end line.
    void step_migration();
    // How long the guest runs between steps (the throttle shrinks it).
    uint64_t guest_slice_ms() const;
    // The auto-converge throttle in force (%), 0 without a migration.
    uint64_t throttle_percent() const;
    // The active or last migration's figures (status None before the first).
    MigrationInfo migration_info() const;

  private:
    Status migrate_to_file(const std::string& path);
    Status migrate_to_tcp(const TcpAddress& where);
    // The outcome of a migration that has no OutgoingMigration (file:, or tcp: that could not
    // start), for `info migrate`.
    void record(MigrationStatus status, const std::string& error, uint64_t ms, uint64_t bytes);
    void report_end(const MigrationInfo& info);

    Machine& m_machine;
    std::FILE* m_serial;
    std::FILE* m_log;
    RunState m_state = RunState::Running;
    MigrationParameters m_params;
    std::unique_ptr<OutgoingMigration> m_migration;
    MigrationInfo m_last;  // see record()
    uint64_t m_pages_at_last_pass = 0;
};

}  // namespace vx86::cli
