// The execution context every instruction handler receives: architectural state, the MMU, the
// port bus and the CPUID model, plus what to report when a handler stops the run (an exit).
#pragma once

#include <cstdint>

#include "bus/range_bus.h"
#include "cpu/decode/insn.h"
#include "cpu/mmu/mmu.h"
#include "cpu/state/cpu_state.h"
#include "cpu/state/cpuid_model.h"

namespace vx86::cpu {

enum class ExitReason : uint8_t {
    None,
    Hlt,        // HLT with nothing that could wake the vCPU now
    Io,         // port access no in-process device claims (KVM_EXIT_IO)
    Mmio,       // memory access nothing backs, with MMIO exits enabled (KVM_EXIT_MMIO)
    Shutdown,   // triple fault or shutdown condition (KVM_EXIT_SHUTDOWN)
    DebugExit,  // a device (isa-debug-exit) asked to stop the machine
    InsnLimit,  // the instruction budget of this run is used up
    Stopped,    // the embedder asked the vCPU to stop
};

struct IoExit {
    uint16_t port = 0;
    uint8_t size = 0;  // 1, 2 or 4
    bool in = false;
    uint32_t data = 0;  // OUT: the value written; IN: filled by the embedder before resuming
};

struct ExitInfo {
    ExitReason reason = ExitReason::None;
    IoExit io;
    uint32_t debug_exit_code = 0;
};

struct Cpu;

// Instructions whose behaviour lives above the executor (src/cpu/smm, src/cpu/svm): the vCPU
// implements this and the handlers in exec call through it.
class SystemTransitions {
public:
    virtual ExecStatus rsm(Cpu& c) = 0;
    // VMRUN after its instruction checks; RIP points past it.
    virtual ExecStatus vmrun(Cpu& c, uint64_t vmcb_pa) = 0;
    // #VMEXIT to L1; `next_rip` is what NRIPS reports (0 for exits not caused by an instruction).
    virtual ExecStatus vmexit(Cpu& c, const SvmExitRequest& r, uint64_t next_rip) = 0;
    virtual void vmload(Cpu& c, uint64_t vmcb_pa) = 0;
    virtual void vmsave(Cpu& c, uint64_t vmcb_pa) = 0;

protected:
    ~SystemTransitions() = default;
};

struct Cpu {
    Cpu(mem::GuestMemory& memory, bus::PioBus& pio_bus, const CpuidModel& model)
        : mmu(s, memory), pio(&pio_bus), cpuid(&model), features(CpuFeatures::of(model)) {}
    Cpu(const Cpu&) = delete;
    Cpu& operator=(const Cpu&) = delete;

    CpuState s;
    Mmu mmu;
    bus::PioBus* pio;
    const CpuidModel* cpuid;
    CpuFeatures features;  // what handlers test; never a by-name CPUID lookup on the hot path
    ExitInfo exit;
    // Set by devices (through the machine) to stop the run at the next instruction boundary.
    ExitReason requested_exit = ExitReason::None;
    uint32_t requested_code = 0;
    // An IN that exited to the embedder completes into this register slot on the next run.
    bool pio_in_pending = false;
    SystemTransitions* transitions = nullptr;
};

}  // namespace vx86::cpu
