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
