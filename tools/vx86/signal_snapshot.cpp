// SIGUSR1 as a snapshot request (see signal_snapshot.h). The flag is process-wide because a
// signal is; it is the program's only global and nothing in the library sees it.
#include "signal_snapshot.h"

#include <csignal>

namespace vx86::cli {

namespace {
volatile std::sig_atomic_t g_snapshot_requested = 0;

void on_sigusr1(int) {
    g_snapshot_requested = 1;
}
}  // namespace

void install_snapshot_signal() {
    struct sigaction sa {};
    sa.sa_handler = on_sigusr1;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;
    sigaction(SIGUSR1, &sa, nullptr);
}

bool take_snapshot_signal() {
    if (!g_snapshot_requested) return false;
    g_snapshot_requested = 0;
    return true;
}

}  // namespace vx86::cli
