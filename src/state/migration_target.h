// The destination side of live migration: reads the stream as it arrives, checks the setup
// records against this machine and answers at once (so a mismatch is refused before any RAM is
// sent), stores RAM pages as they come, decodes and checks the final device and vCPU records,
// and only when the end record has verified the whole stream applies the state and says yes.
#pragma once

#include <functional>
#include <span>

#include "base/result.h"
#include "machine/board.h"
#include "state/container.h"

namespace vx86::state {

// Blocks until the stream ends. On any error the source is told why (when the socket still
// works) and the board is put back to its power-on state (RAM cleared, devices and CPU reset).
// Migration streams are untrusted input: every record goes through the same checks as a file.
base::Status receive_migration(machine::Board& board, int fd);
// The same over any byte source, with the answers handed to `reply` (fuzzing, tests).
using ReplySink = std::function<void(std::span<const uint8_t>)>;
base::Status receive_migration(machine::Board& board, ByteSource& in, const ReplySink& reply);

}  // namespace vx86::state
