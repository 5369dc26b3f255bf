// Delivery of exceptions and interrupts through the IVT (real mode) or IDT (protected and long
// mode), with stack switches, IST, #DF combination and triple fault (AMD APM Vol 2, chapter 8).
#pragma once

#include <cstdint>

#include "cpu/mmu/mmu.h"

namespace vx86::cpu {

enum class EventType : uint8_t {
    Exception,          // fault or trap raised by the CPU
    External,           // INTR from the interrupt controller
    Nmi,
    Software,           // INT n: gate DPL is checked against CPL
    SoftwareException,  // INT3, INTO: like INT n, but reported as exceptions
    PrivSoftware,       // INT1 (ICEBP): no DPL check
};

struct Event {
    uint8_t vector = 0;
    EventType type = EventType::Exception;
    bool has_error = false;
    uint32_t error = 0;
    uint64_t cr2 = 0;
    // Where a fault during delivery points: the instruction that raised the event (or, for
    // external events, the interrupted instruction). CpuState::rip is the address pushed.
    uint64_t insn_rip = 0;
    bool injected = false;  // from VMCB EVENTINJ: not subject to exception intercepts (15.20)
};

// VmExit: in SVM guest mode an exception intercept, a nested page fault or the SHUTDOWN
// intercept stopped delivery; `*vmexit` says what to report and the caller performs #VMEXIT.
enum class DeliveryResult : uint8_t { Delivered, TripleFault, VmExit };

// Delivers `ev`. Faults during delivery are combined per APM Vol 2, 8.2.9 (#DF) and delivered in
// turn; a fault while delivering #DF is a triple fault (the caller enters shutdown). Without
// `vmexit` SVM intercepts are not consulted (callers outside guest mode, tests).
DeliveryResult deliver_event(CpuState& s, Mmu& mmu, const Event& ev,
                             SvmExitRequest* vmexit = nullptr);

// The EVENTINJ/EXITINTINFO encoding of an event (APM Vol 2, 15.20).
uint32_t exit_int_info_of(const Event& ev);

// Exception from an instruction fault recorded in s.fault, at instruction address `insn_rip`.
inline Event event_from_fault(const Fault& f, uint64_t insn_rip) {
    return Event{f.vector, EventType::Exception, f.has_error, f.error, f.cr2, insn_rip};
}

}  // namespace vx86::cpu
