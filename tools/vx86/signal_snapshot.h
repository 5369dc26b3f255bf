// `-snapshot-on-signal file=PATH[,exit=on]`: SIGUSR1 asks for a snapshot; the run loop takes it at
// the next slice boundary. The handler only sets a flag (a signal handler may do little else).
#pragma once

namespace vx86::cli {

// Installs the SIGUSR1 handler (without SA_RESTART, so a wait for monitor input ends early).
void install_snapshot_signal();
// True once for each time SIGUSR1 arrived since the last call.
bool take_snapshot_signal();

}  // namespace vx86::cli
