// The embedding API: a Vm owns guest memory and vCPUs; a Vcpu runs until an exit. Modelled on
// the KVM ioctl surface (memory regions, KVM_RUN exits, get/set regs). Errors are values.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "vx86/state.h"
#include "vx86/status.h"

namespace vx86 {

// Memory region flags (KVM_MEM_READONLY, KVM_MEM_LOG_DIRTY_PAGES).
constexpr uint32_t kMemReadonly = 1u << 0;
constexpr uint32_t kMemLogDirty = 1u << 1;

struct MemoryRegion {
    uint32_t slot = 0;
    uint8_t address_space = 0;  // 0: normal; 1: what the CPU sees in SMM (overlays 0)
    uint32_t flags = 0;
    uint64_t guest_phys_addr = 0;
    uint64_t memory_size = 0;         // 0 deletes the slot
    void* userspace_addr = nullptr;   // nullptr: vx86 allocates zeroed memory
};

enum class ExitReason : uint8_t {
    Io,         // port access no device handled; complete an IN with Vcpu::complete_io_in
    Mmio,       // access to guest-physical memory no region backs; see Vcpu::complete_mmio
    Hlt,        // HLT with nothing to wake the vCPU
    Shutdown,   // triple fault
    DebugExit,  // isa-debug-exit written (Machine only)
    InsnLimit,  // run() reached its instruction budget
};

struct IoExit {
    bool in;
    uint8_t size;  // 1, 2 or 4
    uint16_t port;
    uint32_t data;  // value written by an OUT
};

struct MmioExit {
    uint64_t phys_addr;
    uint8_t data[8];  // the bytes a write stores
    uint8_t len;
    bool is_write;
};

struct Exit {
    ExitReason reason;
    IoExit io;
    MmioExit mmio;
    uint32_t debug_exit_code;
    // The vCPU was in SMM when it exited (KVM_RUN_X86_SMM): route I/O and MMIO to the SMM view.
    bool smm;
};

// Interrupt-shadow bits as KVM numbers them (KVM_X86_SHADOW_INT_MOV_SS / _STI).
constexpr uint8_t kShadowMovSs = 1, kShadowSti = 2;

// Pending and in-service events, shaped after KVM_GET/SET_VCPU_EVENTS with every
// KVM_VCPUEVENT_VALID_* flag and the EXCEPTION_PAYLOAD and TRIPLE_FAULT_EVENT capabilities in
// effect: all fields are always meaningful, so there is no `flags` word. Every field is 0 or 1
// unless it says otherwise. vx86 delivers exceptions, interrupts, NMIs and triple faults within
// the instruction (or at the boundary) where they arise, so of the KVM parts it can hold only: a
// pending single-step #DB owed after an instruction that exited to the embedder, a queued or
// blocked NMI, the interrupt shadow and the SMM bits. The others read as 0 and set accepts only
// 0 for them (ErrorCode::Unsupported otherwise).
struct VcpuEvents {
    struct {
        uint8_t injected;        // delivery started and must be re-injected (vx86: always 0)
        uint8_t nr;              // vector 0-31, never 2 (NMI); ignored unless injected or pending
        uint8_t has_error_code;
        uint8_t pending;         // raised, not yet delivered (vx86: only #DB, vector 1)
        uint32_t error_code;
    } exception;
    struct {
        uint8_t injected;  // an external or soft interrupt in delivery (vx86: always 0)
        uint8_t nr;        // ignored unless injected
        uint8_t soft;      // INTn rather than external
    } interrupt;
    uint8_t interrupt_shadow;  // KVM's interrupt.shadow: kShadow* bits of the current code (the SMM
                               // code while in SMM)
    struct {
        uint8_t injected;  // an NMI in delivery (vx86: always 0)
        uint8_t pending;   // an NMI is queued
        uint8_t masked;    // NMIs blocked (an NMI handler or SMM is running)
    } nmi;
    // vx86: the shadow of the code the SMI interrupted, kept in the vCPU rather than in SMRAM
    // (seed 001) and given back by RSM. Meaningful only with smi.smm = 1.
    uint8_t smm_saved_shadow;
    struct {
        uint8_t smm;             // in System Management Mode
        uint8_t pending;         // one latched SMI
        uint8_t smm_inside_nmi;  // SMM entered from an NMI handler: RSM keeps NMIs blocked
        uint8_t latched_init;    // INIT received in SMM, taken after RSM
    } smi;
    struct {
        uint8_t pending;  // a triple fault not yet turned into a shutdown (vx86: always 0)
    } triple_fault;
    uint8_t exception_has_payload;  // only with exception.pending (vx86: always 0)
    uint8_t reserved[2];            // ignored; spelled out so the struct has no padding
    uint64_t exception_payload;     // CR2 for #PF, DR6 bits for #DB
};

// What KVM_GET/SET_MSRS return: the entries are handled in order and the first one that fails
// stops the call. `processed` counts the entries handled before it; `status` says why it failed
// (ok when all were handled). Entries before the failing one have taken effect, as with KVM.
struct MsrsOutcome {
    uint32_t processed;
    Status status;
};

class Vcpu {
public:
    virtual ~Vcpu() = default;
    // Runs until an exit. Legal only from one thread at a time per Vcpu. `max_insns` bounds the
    // run: every retired instruction uses one unit, and so does every fault delivered without an
    // instruction retiring (so a guest stuck in a fault loop still returns, with InsnLimit).
    virtual Result<Exit> run(uint64_t max_insns = ~uint64_t{0}) = 0;
    virtual Regs get_regs() const = 0;
    virtual Status set_regs(const Regs& regs) = 0;
    virtual Sregs get_sregs() const = 0;
    // Validates the values (CR0/CR4/EFER bits of this CPU model, consistent long mode, CR3
    // within MAXPHYADDR, APIC base reserved bits) before taking them.
    virtual Status set_sregs(const Sregs& sregs) = 0;
    virtual Result<uint64_t> get_msr(uint32_t index) const = 0;
    virtual Status set_msr(uint32_t index, uint64_t value) = 0;
    // Finishes an IN that exited with ExitReason::Io.
    virtual void complete_io_in(uint32_t value) = 0;
    // Answers an ExitReason::Mmio exit: `data` (len bytes) is what a read returns; for a write
    // pass nothing. The interrupted instruction runs again on the next run() and completes.
    virtual void complete_mmio(const uint8_t* data = nullptr, unsigned len = 0) = 0;
    virtual uint64_t instructions_retired() const = 0;

    // Latches an SMI, taken at the next instruction boundary outside SMM (KVM_SMI).
    virtual void inject_smi() = 0;
    // Queues an NMI (KVM_NMI).
    virtual void inject_nmi() = 0;
    // An INIT signal: latched while in SMM, otherwise the vCPU goes to its INIT state.
    virtual void inject_init() = 0;
    virtual VcpuEvents get_vcpu_events() const = 0;
    // Validates like KVM (0/1 flags, known shadow bits, exception vector 0-31 and not NMI) plus
    // SMM coherence, and refuses parts vx86 cannot hold (see VcpuEvents) as Unsupported. Changes
    // nothing when it fails. A change of smi.smm leaves SVM guest mode (and an SMM-suspended L2)
    // as KVM does, without a #VMEXIT: set the nested state after the events.
    virtual Status set_vcpu_events(const VcpuEvents& events) = 0;
    // Nested SVM state (KVM_GET/SET_NESTED_STATE). Set after Sregs (EFER.SVME) and the vCPU
    // events (SMM); set validates it like KVM and VMRUN do and changes nothing when it fails.
    virtual NestedState get_nested_state() const = 0;
    virtual Status set_nested_state(const NestedState& state) = 0;

    // KVM_GET/SET_SREGS2. Get reports the PDPTEs (kSregs2PdptrsValid) when legacy PAE paging is on
    // (CR0.PG, CR4.PAE, not EFER.LMA), read without side effects from the RAM at CR3 that the
    // vCPU sees now (the SMM view while in SMM): vx86 keeps no PDPTE registers and reads them on
    // each page walk, so memory is its cache. Not reported in SVM guest mode with nested paging
    // (reading them would walk L1's table and set its accessed bits) or when no RAM is at CR3.
    // Set with the flag outside PAE paging is InvalidArgument (EINVAL in KVM); with the flag,
    // PDPTEs that differ from memory are Unsupported, since vx86 cannot hold them; without it,
    // vx86 uses memory as KVM's reload does. Checks as set_sregs.
    virtual Sregs2 get_sregs2() const = 0;
    virtual Status set_sregs2(const Sregs2& sregs) = 0;
    // KVM_GET/SET_DEBUGREGS. Set rejects DR6/DR7 bits 63:32 and non-zero flags (EINVAL in KVM) and
    // stores DR6/DR7 as MOV DR does (fixed bits forced).
    virtual DebugRegs get_debugregs() const = 0;
    virtual Status set_debugregs(const DebugRegs& regs) = 0;
    // KVM_GET/SET_MP_STATE: kMpStateRunnable or kMpStateHalted (after HLT, until an event wakes
    // the vCPU). Set refuses the other KVM states as Unsupported, unknown values as
    // InvalidArgument.
    virtual MpState get_mp_state() const = 0;
    virtual Status set_mp_state(const MpState& state) = 0;
    // KVM_GET_MSR_INDEX_LIST: the MSRs that hold vCPU state not carried by Sregs (EFER, FS/GS
    // base and APIC base are there), i.e. what a save/restore must move with get/set_msrs.
    // Depends on the CPU model (TSC_AUX with rdtscp, VM_CR/VM_HSAVE_PA with svm).
    virtual std::vector<uint32_t> get_msr_index_list() const = 0;
    // KVM_GET/SET_MSRS over get_msr/set_msr.
    virtual MsrsOutcome get_msrs(std::span<MsrEntry> entries) const = 0;
    virtual MsrsOutcome set_msrs(std::span<const MsrEntry> entries) = 0;
};

class Vm {
public:
    // `cpu` takes QEMU's -cpu syntax, e.g. "qemu64,+svm" or "max".
    static Result<std::unique_ptr<Vm>> create(std::string_view cpu = "qemu64");
    virtual ~Vm() = default;

    virtual Status set_user_memory_region(const MemoryRegion& region) = 0;
    // One vCPU per Vm in this version; a second call fails with ErrorCode::Unsupported.
    virtual Result<Vcpu*> create_vcpu() = 0;
    // Dirty pages of a LOG_DIRTY slot since the last call, one bit per 4 KiB page.
    virtual Result<std::vector<uint64_t>> get_dirty_log(uint32_t slot) = 0;
    virtual Status read_phys(uint64_t gpa, void* out, uint64_t size, uint8_t address_space = 0) = 0;
    virtual Status write_phys(uint64_t gpa, const void* in, uint64_t size,
                              uint8_t address_space = 0) = 0;
};

}  // namespace vx86
