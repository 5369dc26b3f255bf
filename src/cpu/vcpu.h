// One virtual CPU: owns the architectural state, MMU, decoder and code cache, and runs the
// fetch-execute loop until something must be reported to the caller (an exit).
#pragma once

#include <cstdint>

#include "bus/device.h"
#include "cpu/decode/code_cache.h"
#include "cpu/decode/decoder.h"
#include "cpu/exec/cpu.h"
#include "cpu/smm/smm.h"
#include "cpu/svm/svm.h"

namespace vx86::cpu {

class Vcpu final : private SystemTransitions {
public:
    Vcpu(mem::GuestMemory& memory, bus::PioBus& pio, CpuidModel model);
    Vcpu(const Vcpu&) = delete;
    Vcpu& operator=(const Vcpu&) = delete;

    // Runs until an exit, or until `max_insns` instructions have retired (ExitReason::InsnLimit).
    const ExitInfo& run(uint64_t max_insns = ~uint64_t{0});

    // Architectural power-on/INIT state with the CPUID signature in EDX.
    void reset();
    // After the embedder changed registers, control registers or memory mappings directly.
    void state_changed();

    CpuState& state() { return m_cpu.s; }
    const CpuState& state() const { return m_cpu.s; }
    Cpu& core() { return m_cpu; }
    const CpuidModel& cpuid() const { return m_model; }

    void set_interrupt_controller(bus::InterruptController* ic) { m_intc = ic; }
    // Called (through the machine) by devices such as isa-debug-exit; takes effect at the next
    // instruction boundary.
    void request_exit(ExitReason reason, uint32_t code = 0);
    // Latches an SMI (one deep, like KVM_SMI): recognised at the next instruction boundary, so an
    // SMI raised by a port write (APM 0xB2) is taken right after that OUT retires.
    void inject_smi();
    bool in_smm() const { return m_cpu.s.smm.in_smm; }
    // An INIT signal (as from an INIT IPI): latched while in SMM and taken after RSM; otherwise
    // the vCPU resets to the INIT state at the next boundary (SMBASE and MSRs are kept).
    void inject_init();
    // Queues an NMI (one deep; blocked while an NMI handler or SMM runs).
    void inject_nmi();
    // Replaces the SVM hooks the vCPU installs itself (nullptr: no hooks at all).
    void set_smm_vendor_hooks(SmmVendorHooks* hooks) { m_smm.set_vendor_hooks(hooks); }
    // Completes an IN that exited with ExitReason::Io: the value lands in AL/AX/EAX.
    void complete_io_in(uint32_t value);
    // Completes an access that exited with ExitReason::Mmio: `data` answers a read (ignored for a
    // write); the instruction then runs again and consumes it.
    void complete_mmio(const uint8_t* data, unsigned size);
    void set_mmio_exits(bool on) { m_cpu.mmu.mmio_exits = on; }
    const MmioAccess& mmio_access() const { return m_cpu.mmu.mmio; }

private:
    enum class Step : uint8_t { Continue, Exit };

    // The SVM side of SMM transitions, forwarded to Svm (smm and svm are siblings).
    class SvmSmmHooks final : public SmmVendorHooks {
    public:
        explicit SvmSmmHooks(Svm& svm) : m_svm(svm) {}
        bool enter_smm(Cpu& c, arch::SmramStateSave& area) override { return m_svm.enter_smm(c, area); }
        bool leave_smm(Cpu& c, const arch::SmramStateSave& area, CpuState& next) override {
            return m_svm.leave_smm(c, area, next);
        }

    private:
        Svm& m_svm;
    };

    Step deliver_pending();
    Step deliver_pending_guest();
    Step take_smi_or_init();
    void init_signal();
    ExecStatus rsm(Cpu& c) override;
    ExecStatus vmrun(Cpu& c, uint64_t vmcb_pa) override;
    ExecStatus vmexit(Cpu& c, const SvmExitRequest& r, uint64_t next_rip) override;
    void vmload(Cpu& c, uint64_t vmcb_pa) override;
    void vmsave(Cpu& c, uint64_t vmcb_pa) override;
    // #VMEXIT for an event at an instruction boundary (INTR, NMI, SMI, INIT, VINTR, NPF...).
    Step vmexit_now(uint64_t code, uint64_t info1 = 0, uint64_t info2 = 0);
    Step deliver(const struct Event& ev);
    Block* fetch_block(Block& scratch);
    bool build_block(Block& b, uint64_t gpa, const uint8_t* host, unsigned avail, bool cacheable);
    void emit_fault_insn(Block& b, Handler h);
    Step execute(Block& b, uint64_t budget, uint64_t& retired);
    Block* follow_link(Block& from);
    void add_link(Block& from, Block& to);

    CpuidModel m_model;
    Cpu m_cpu;
    Decoder m_decoder;
    CodeCache m_cache;
    Block m_scratch;  // uncached page-crossing or MMIO-resident instruction
    bus::InterruptController* m_intc = nullptr;
    Smm m_smm;
    Svm m_svm;
    SvmSmmHooks m_svm_hooks{m_svm};
    bool m_world_switch = false;     // VMRUN entered L2 or #VMEXIT left it during this block
    bool m_shadow_reloaded = false;  // RSM gave back an interrupt shadow during this block
    bool m_event_waited = false;     // an SMI/INIT waits for a restarted MMIO access to finish
    uint64_t m_event_wait_icount = 0;
};

}  // namespace vx86::cpu
