// The destination's answers on the migration socket: a container of its own whose records are
// verdicts (kRecVerdict: accepted u8, then the reason as text). One after the setup records
// (early rejection: another machine, another format) and one after the end record (everything
// checked and loaded, or why not).
#pragma once

#include <cstdint>
#include <string_view>

#include "base/result.h"
#include "state/container.h"

namespace vx86::state {

inline constexpr uint16_t kVerdictVersion = 1;

void add_verdict(ContainerWriter& out, bool accepted, std::string_view reason);
// Ok for an acceptance; otherwise InvalidArgument "the destination refused the stream: <reason>".
base::Status decode_verdict(const Record& rec);
uint16_t verdict_supported_version(uint32_t type);

}  // namespace vx86::state
