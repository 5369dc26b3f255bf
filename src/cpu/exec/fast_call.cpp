// Instruction family placeholder: binds nothing yet, so every form raises #UD.
// Being replaced in this session by the family's real handlers.
#include "cpu/exec/families.h"

namespace vx86::cpu {

Handler bind_fast_call(const Insn&) { return nullptr; }

}  // namespace vx86::cpu
