// Internal alias of the public Status/Result types so that every layer speaks the same errors.
// The public header is self-contained; this file only re-exports it under vx86::base.
#pragma once

#include "vx86/status.h"

namespace vx86::base {
using vx86::ErrorCode;
using vx86::Result;
using vx86::Status;
}  // namespace vx86::base
