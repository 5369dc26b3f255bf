// SVM intercept predicates the instruction handlers consult while L2 runs (APM Vol 2, 15.9-15.13):
// the latched intercept vectors, the I/O and MSR permission maps in L1 memory, and the step that
// turns an intercepted instruction into #VMEXIT. Kept in exec (below src/cpu/svm) because the
// handlers call them; the world switch itself is behind SystemTransitions.
#pragma once

#include <cstdint>

#include "cpu/exec/cpu.h"
#include "cpu/event/delivery.h"

namespace vx86::cpu {

// The intercepted instruction ends in #VMEXIT(code): the VMCB gets the instruction's address as
// RIP and the next one as nRIP. Call with RIP already past the instruction (as handlers run).
ExecStatus svm_exit(Cpu& c, const Insn& in, uint64_t code, uint64_t info1 = 0, uint64_t info2 = 0);

// MSRPM (15.11): two bits per MSR in three 2 KiB ranges; MSRs outside them always exit.
bool svm_msr_intercepted(Cpu& c, uint32_t msr, bool write);
// IOPM (15.10.1): one bit per port; an access exits if any of its bytes' bits is set.
bool svm_io_intercepted(Cpu& c, uint16_t port, unsigned size);

// Delivers an event raised by an instruction (INT n, INT3, ...) with the intercept checks guest
// mode needs: an intercepted exception or nested page fault becomes #VMEXIT, a triple fault a
// SHUTDOWN exit or shutdown.
ExecStatus deliver_from_insn(Cpu& c, const Event& ev);

}  // namespace vx86::cpu
