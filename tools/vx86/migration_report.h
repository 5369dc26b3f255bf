// How the command line reports a migration: the monitor's `info migrate`,
// `info migrate_parameters` and `info migrate_capabilities` blocks (QEMU HMP's field names and
// units), and the progress lines vx86 prints on stderr while one runs.
#pragma once

#include <cstdint>
#include <string>

#include "vx86/migration.h"

namespace vx86::cli {

std::string format_info_migrate(const MigrationInfo& info);
std::string format_migrate_parameters(const MigrationParameters& p);
std::string format_migrate_capabilities(const MigrationParameters& p);

// "vx86: migration: pass N: ..." for a step that completed a pass; `pages_in_pass` is what that
// pass sent (data and zero pages).
std::string format_pass_line(const MigrationInfo& info, uint64_t pages_in_pass);
// The last line: completed, failed or cancelled (each says what happens to the guest).
std::string format_end_line(const MigrationInfo& info);

}  // namespace vx86::cli
