// Register state structures of the public API, shaped after KVM's kvm_regs / kvm_sregs /
// kvm_segment so that VMM authors recognise them. Plain data; no internal header is included.
#pragma once

#include <cstdint>

namespace vx86 {

struct Regs {
    uint64_t rax, rbx, rcx, rdx, rsi, rdi, rsp, rbp;
    uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
    uint64_t rip, rflags;
};

struct Segment {
    uint64_t base;
    uint32_t limit;  // byte granular
    uint16_t selector;
    uint8_t type, present, dpl, db, s, l, g, avl;
    uint8_t unusable;
};

struct Dtable {
    uint64_t base;
    uint16_t limit;
};

struct Sregs {
    Segment cs, ds, es, fs, gs, ss;
    Segment tr, ldt;
    Dtable gdt, idt;
    uint64_t cr0, cr2, cr3, cr4, cr8;
    uint64_t efer;
    uint64_t apic_base;
};

// kvm_sregs2 (KVM_GET/SET_SREGS2): Sregs plus the four PAE page-directory-pointer entries, and no
// interrupt bitmap (pending interrupts travel in VcpuEvents).
constexpr uint64_t kSregs2PdptrsValid = 1;  // KVM_SREGS2_FLAGS_PDPTRS_VALID

struct Sregs2 {
    Segment cs, ds, es, fs, gs, ss;
    Segment tr, ldt;
    Dtable gdt, idt;
    uint64_t cr0, cr2, cr3, cr4, cr8;
    uint64_t efer;
    uint64_t apic_base;
    uint64_t flags;      // kSregs2* bits
    uint64_t pdptrs[4];  // meaningful with kSregs2PdptrsValid: legacy PAE paging only
};

// kvm_debugregs (KVM_GET/SET_DEBUGREGS). DR4/DR5 are aliases of DR6/DR7 and not separate state.
struct DebugRegs {
    uint64_t db[4];  // DR0-DR3
    uint64_t dr6, dr7;
    uint64_t flags;  // none defined: must be 0
};

// kvm_mp_state (KVM_GET/SET_MP_STATE) values. vx86 has one vCPU and no local APIC, so it can be
// only RUNNABLE or HALTED; the others name states of APs, of an in-kernel LAPIC or of s390/arm64.
constexpr uint32_t kMpStateRunnable = 0;
constexpr uint32_t kMpStateUninitialized = 1;
constexpr uint32_t kMpStateInitReceived = 2;
constexpr uint32_t kMpStateHalted = 3;
constexpr uint32_t kMpStateSipiReceived = 4;
constexpr uint32_t kMpStateStopped = 5;
constexpr uint32_t kMpStateCheckStop = 6;
constexpr uint32_t kMpStateOperating = 7;
constexpr uint32_t kMpStateLoad = 8;
constexpr uint32_t kMpStateApResetHold = 9;
constexpr uint32_t kMpStateSuspended = 10;

struct MpState {
    uint32_t mp_state;
};

// One entry of kvm_msrs (KVM_GET/SET_MSRS).
struct MsrEntry {
    uint32_t index;
    uint32_t reserved;  // ignored
    uint64_t data;
};

// Nested SVM state for save/restore and migration, shaped after KVM's struct kvm_nested_state in
// its SVM format (KVM_GET/SET_NESTED_STATE), plus what seed 004 proposed on top of it.
// The L2 guest's own registers are not in it: while in guest mode, Regs/Sregs/MSRs are L2's,
// exactly as with KVM. Set those first, then the nested state.
constexpr uint16_t kNestedStateFormatSvm = 1;
constexpr uint16_t kNestedStateGuestMode = 0x1;   // KVM_STATE_NESTED_GUEST_MODE
constexpr uint16_t kNestedStateRunPending = 0x2;  // KVM_STATE_NESTED_RUN_PENDING
constexpr uint16_t kNestedStateGifSet = 0x100;    // KVM_STATE_NESTED_GIF_SET
constexpr uint32_t kNestedStateHeaderSize = 128;
constexpr uint32_t kNestedStateVmcbSize = 0x1000;

struct NestedState {
    // ---- KVM's header ----
    uint16_t flags;    // kNestedState* bits
    uint16_t format;   // kNestedStateFormatSvm
    uint32_t size;     // header + 0x1000 when `vmcb` is meaningful (guest mode), else header only
    uint64_t vmcb_pa;  // hdr.svm.vmcb_pa: VMCB12's guest-physical address; 0 outside guest mode
    // ---- KVM's data: one VMCB-shaped page ----
    // 0x000-0x3FF: VMCB12's control area as latched by VMRUN (intercepts, bitmaps, ASID, int_ctl,
    // EVENTINJ, N_CR3 ...), with V_IRQ/V_TPR/V_GIF as they are now.
    // 0x400-0x6E7: L1's state saved by VMRUN in save-area layout (ES/CS/SS/DS, GDTR/IDTR, EFER,
    // CR0/CR3/CR4, RFLAGS, RIP, RSP, RAX; G_PAT holds L1's PAT).
    uint8_t vmcb[kNestedStateVmcbSize];
    // ---- vx86 additions (seed 004) ----
    // The CR0/CR3/CR4/EFER L1 believes it has. vx86 runs L1 without shadow paging, so they equal
    // the save area's; they are checked against it on set.
    uint64_t l1_cr0, l1_cr3, l1_cr4, l1_efer;
    // The whole VMCB12 as #VMEXIT would leave it now: latched controls plus L2's current state
    // in the save area. Filled by get for inspection and tools; set ignores it.
    uint8_t vmcb12[kNestedStateVmcbSize];
    // An SMI taken in L2 suspended guest mode (vx86 keeps this in the vCPU; KVM keeps it in SMRAM
    // and the HSAVE page). Only with the vCPU in SMM; `vmcb` is then meaningful too.
    uint8_t smm_suspended;
};

}  // namespace vx86
