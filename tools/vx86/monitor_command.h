// The monitor's command language: a small subset of QEMU's human monitor (HMP), one command per
// line. Parsing and the migration-parameter rules are pure functions so they can be tested alone.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "vx86/migration.h"
#include "vx86/status.h"

namespace vx86::cli {

enum class MonitorVerb : uint8_t {
    None,  // a blank line
    Help,
    Info,  // `info` alone: the list of what it can show
    InfoStatus,
    InfoMigrate,
    InfoMigrateParameters,
    InfoMigrateCapabilities,
    InfoRegisters,
    Migrate,
    MigrateCancel,
    MigrateSetParameter,
    MigrateSetCapability,
    Stop,
    Cont,
    Quit,
};

struct MonitorCommand {
    MonitorVerb verb = MonitorVerb::None;
    bool detach = false;  // migrate -d
    std::string uri;      // migrate
    // migrate_set_parameter / migrate_set_capability: validated and applied only by
    // set_migration_parameter / set_migration_capability, so a bad value changes nothing.
    std::string name;
    std::string value;
};

// One line of input. The error's message is what the monitor prints, e.g. "unknown command: 'x'".
Result<MonitorCommand> parse_monitor_command(std::string_view line);

// The text `help` prints.
std::string monitor_help();

// HMP's size syntax for max-bandwidth (QEMU qemu_strtosz_MiB): a bare number is MiB, suffixes
// B, K, M, G, T (either case) are powers of 1024. Returns bytes.
Result<uint64_t> parse_size_mib(const std::string& text);

// `migrate_set_parameter NAME VALUE` with QEMU's names and ranges; on error `p` is unchanged.
Status set_migration_parameter(MigrationParameters& p, const std::string& name,
                               const std::string& value);
// `migrate_set_capability NAME on|off`; vx86 has auto-converge.
Status set_migration_capability(MigrationParameters& p, const std::string& name,
                                const std::string& value);

}  // namespace vx86::cli
