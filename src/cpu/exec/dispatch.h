// Binding decoded instructions to handlers through the instruction table (insn_table.inc).
// Runs once per decoded instruction, never on the per-instruction hot path.
#pragma once

#include "cpu/decode/insn.h"

namespace vx86::cpu {

// Sets in.fn and in.meta. Always succeeds: unknown or invalid forms bind to #UD.
void bind(Insn& in);

// Handler id for inspection and statistics: the row of insn_table.inc, or 0 for #UD.
const char* handler_name(const Insn& in);

}  // namespace vx86::cpu
