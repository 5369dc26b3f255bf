; svm_events.asm - multiboot guest (-cpu max): a 64-bit L1 on svm.inc checking SVM event injection,
; virtual interrupts and GIF, after the event tests of the kvm-unit-tests SVM list (our own
; equivalents; AMD APM Vol 2, 15.17-15.21 and 15.33):
;   exc_inject                 EVENTINJ (15.20): illegal encodings -> VMEXIT_INVALID; #DE delivered
;                              once and EVENTINJ.V cleared; EV pushes the error code (and only EV
;                              does); INTR, NMI, INTn (type 4) and #BP (type 3) injection, whose
;                              return address is nRIP for the soft ones when NRIPS is offered.
;   EXITINTINFO (15.7.2)       an injected event whose delivery faults (#NP from a not-present
;                              gate, #NP intercepted), and an L2 #UD / INT n whose delivery faults
;                              (IDT limit, not-present gate) with the fault intercepted.
;   virq_inject                V_IRQ held by L2's IF=0 and taken after STI; the VINTR intercept
;                              exits first with V_IRQ still set; V_IRQ cleared once taken;
;                              V_INTR_PRIO below V_TPR holds it (no VINTR exit), above V_TPR or
;                              with V_IGN_TPR it is taken (15.21.4).
;   virq_inject_within_shadow  int_state.shadow=1 at VMRUN: the V_IRQ comes after exactly one L2
;                              instruction; the shadow bit #VMEXIT writes (15.21.5).
;   V_INTR_MASKING             L2's CR8 is V_TPR with it, the real CR8 without it (15.21.1).
;   svm_test_singlestep        L2 RFLAGS.TF: #DB after L2's first instruction, intercepted (0x41,
;                              DR6.BS) or delivered to L2's handler.
;   host_rflags                L1's TF on VMRUN: the #DB comes in L1 after the #VMEXIT, at the
;                              instruction after VMRUN (the breakpoint/RF parts are not covered).
;   vgif                       V_GIF_ENABLE (15.33): L2 STGI/CLGI set/clear V_GIF without exiting,
;                              exit 0x84/0x85 when intercepted; V_GIF=0 holds a V_IRQ.
;   GIF in L2                  an unintercepted L2 CLGI without vGIF clears the real GIF, which
;                              holds a V_IRQ until L2's STGI (15.17, "INTR and virtual interrupts").
;   svm_no_nm_test             L2 with CR0.TS=EM=0 in the VMCB runs FNINIT/FLD1 without #NM while
;                              L1's CR0.TS=1. vx86 has no x87 (CPUID.1:EDX[0]=0): there the same
;                              code must give #UD, not #NM, so the expectation follows CPUID.
; Skipped (vx86 has no LAPIC, PIC or second vCPU): pending_event, pending_event_cli, interrupt,
; nmi, nmi_hlt, svm_intr_intercept_mix_if/_gif/_gif2/_nmi/_smi, svm_init_startup_test,
; svm_init_intercept_test; host_rflags' DR-breakpoint/RF stages.
; L2 runs on its own IDT (l2_idt: every vector records itself; see l2h_common) unless noted.
%include "multiboot.inc"
%include "idt.inc"
%include "paging.inc"
%include "svm.inc"

; ---- local constants (APM Vol 2, 15.20, 15.21, Appendix B) ------------------------------------
L2_IDT       equ SCRATCH            ; 256 x 16-byte gates
L2_IDT_LIMIT equ 256 * 16 - 1
V_TPR_MASK      equ 0xf             ; int_ctl
V_IRQ           equ 1 << 8
V_GIF           equ 1 << 9
V_PRIO_SHIFT    equ 16
V_IGN_TPR       equ 1 << 20
V_INTR_MASKING  equ 1 << 24
V_GIF_ENABLE    equ 1 << 25
EVT_RSVD5       equ 5 << 8          ; a reserved EVENTINJ type
VMCB_EXIT_INT_ERR equ 0x08c
VMCB_EVENT_ERR  equ 0x0ac
RFLAGS_TF  equ 1 << 8
RFLAGS_IF  equ 1 << 9
DR6_BS     equ 1 << 14
CR0_MP     equ 1 << 1
CR0_EM     equ 1 << 2
CR0_TS     equ 1 << 3
VIRQ_VEC   equ 0x40                 ; V_IRQ / injected INTR vector
SOFT_VEC   equ 0x30                 ; injected INT n
NP_SOFT_VEC equ 0x31                ; gate not present
NP_EXC_VEC equ 10                   ; #TS: gate not present
; L2 takes every event on SVM_L2_STACK (16-aligned): the frame starts here without/with error code.
FRAME_NOERR equ SVM_L2_STACK - 40
FRAME_ERR   equ SVM_L2_STACK - 48

; EXPECT_D "name", dword operand, expected: EXPECT on a zero-extended 32-bit value.
%macro EXPECT_D 3
    push rcx
    mov ecx, %2
    EXPECT %1, rcx, %3
    pop rcx
%endmacro
; EXPECT_BITS "name", dword operand, mask, expected: (operand & mask) == expected.
%macro EXPECT_BITS 4
    push rcx
    mov ecx, %2
    and ecx, %3
    EXPECT %1, rcx, %4
    pop rcx
%endmacro
; L2 entry: vmcb_ident, RIP = entry, L2's own IDT, event record cleared.
%macro L2 1
    mov eax, %1
    call l2_prep
%endmacro
; EXPECT_VMMCALL "name", label: the exit is L2's VMMCALL at `label` (one line: a wrong RIP shows
; as got=<rip - label>_<exit code>), not the one in l2h_common after an unexpected event.
%macro EXPECT_VMMCALL 2
    push rcx
    mov rcx, VMCB_FIELD(VMCB_RIP)
    sub rcx, %2
    shl rcx, 16
    add rcx, VMCB_FIELD(VMCB_EXIT_CODE)
    EXPECT %1, rcx, EXIT_VMMCALL
    pop rcx
%endmacro
; EXPECT_AT "name", operand, label: operand == label, reported as the offset from it.
%macro EXPECT_AT 3
    push rcx
    mov rcx, %2
    sub rcx, %3
    EXPECT %1, rcx, 0
    pop rcx
%endmacro
%define CTL(off) dword [SVM_VMCB + (off)]

bits 32
main:
    SVM_L1_ENTER
    call l2_idt_build

    ; ================= exc_inject =================================================================
    ; Exception type with the NMI vector, a reserved type, an exception vector >= 32: VMRUN fails
    ; its consistency checks (15.20 "Event Injection").
    L2 l2_vmmcall
    mov CTL(VMCB_EVENT_INJ), EVT_V | EVT_EXC | 2
    call svm_vmrun
    EXPECT_EXIT "exc_inject exception vector 2", EXIT_INVALID
    L2 l2_vmmcall
    mov CTL(VMCB_EVENT_INJ), EVT_V | EVT_RSVD5 | 0x20
    call svm_vmrun
    EXPECT_EXIT "exc_inject reserved type 5", EXIT_INVALID
    L2 l2_vmmcall
    mov CTL(VMCB_EVENT_INJ), EVT_V | EVT_EXC | 32
    call svm_vmrun
    EXPECT_EXIT "exc_inject exception vector 32", EXIT_INVALID

    ; #DE: delivered through L2's IDT before its first instruction, once; the handler IRETQs to
    ; the VMCB RIP, which VMMCALLs. EVENTINJ.V is clear afterwards and a second VMRUN of the same
    ; VMCB injects nothing.
    L2 l2_two_vmmcalls
    mov qword [l2h_iret], 1
    mov CTL(VMCB_EVENT_INJ), EVT_V | EVT_EXC | 0
    call svm_vmrun
    EXPECT_VMMCALL "exc_inject #de exit", l2_two_vmmcalls
    EXPECT "exc_inject #de delivered", [ev_count], 1
    EXPECT "exc_inject #de vector", [ev_vec], 0
    EXPECT "exc_inject #de no error code", [ev_err], -1
    EXPECT_BITS "exc_inject eventinj.v cleared", CTL(VMCB_EVENT_INJ), EVT_V, 0
    EXPECT_BITS "exc_inject exitintinfo.v clear", CTL(VMCB_EXIT_INT_INFO), EVT_V, 0
    add VMCB_FIELD(VMCB_RIP), 3
    call svm_vmrun
    EXPECT_VMMCALL "exc_inject rerun exit", l2_two_vmmcalls + 3
    EXPECT "exc_inject #de delivered once", [ev_count], 1

    ; #GP with EV: the error code is pushed.
    L2 l2_vmmcall
    mov qword [l2h_iret], 1
    mov CTL(VMCB_EVENT_INJ), EVT_V | EVT_EV | EVT_EXC | 13
    mov CTL(VMCB_EVENT_ERR), 0x1234
    call svm_vmrun
    EXPECT_VMMCALL "exc_inject #gp exit", l2_vmmcall
    EXPECT "exc_inject #gp error code", [ev_err], 0x1234
    ; EV alone decides: #GP without EV pushes none, #DE with EV pushes one (15.20 "EV").
    L2 l2_vmmcall
    mov qword [l2h_iret], 1
    mov CTL(VMCB_EVENT_INJ), EVT_V | EVT_EXC | 13
    mov CTL(VMCB_EVENT_ERR), 0x1234
    call svm_vmrun
    EXPECT "exc_inject #gp without ev: no error code", [ev_err], -1
    L2 l2_vmmcall
    mov qword [l2h_iret], 1
    mov CTL(VMCB_EVENT_INJ), EVT_V | EVT_EV | EVT_EXC | 0
    mov CTL(VMCB_EVENT_ERR), 0x55
    call svm_vmrun
    EXPECT "exc_inject #de with ev: error code", [ev_err], 0x55

    ; External interrupt (type 0) and NMI (type 2): no error code, return to the VMCB RIP.
    L2 l2_vmmcall
    mov qword [l2h_iret], 1
    mov CTL(VMCB_EVENT_INJ), EVT_V | EVT_INTR | VIRQ_VEC
    call svm_vmrun
    EXPECT_VMMCALL "exc_inject intr exit", l2_vmmcall
    EXPECT "exc_inject intr vector", [ev_vec], VIRQ_VEC
    EXPECT "exc_inject intr frame", [ev_frame], FRAME_NOERR
    L2 l2_vmmcall
    mov qword [l2h_iret], 1
    mov CTL(VMCB_EVENT_INJ), EVT_V | EVT_NMI | 2
    call svm_vmrun
    EXPECT_VMMCALL "exc_inject nmi exit", l2_vmmcall
    EXPECT "exc_inject nmi vector", [ev_vec], 2

    ; INT n (type 4) and #BP (type 3, vector 3): soft events return to nRIP when NRIPS is offered
    ; (KVM's re-injection relies on it), else to the VMCB RIP.
    SVM_FEATURE SVM_FEAT_NRIPS
    mov r12d, 0
    mov eax, 3
    cmovc r12d, eax                     ; return offset from l2_two_vmmcalls
    L2 l2_two_vmmcalls
    mov qword [l2h_iret], 1
    mov VMCB_FIELD(VMCB_NEXT_RIP), l2_two_vmmcalls + 3
    mov CTL(VMCB_EVENT_INJ), EVT_V | EVT_SOFT | SOFT_VEC
    call svm_vmrun
    EXPECT "exc_inject int n vector", [ev_vec], SOFT_VEC
    mov rax, [ev_rip]
    sub rax, l2_two_vmmcalls
    EXPECT "exc_inject int n return rip", rax, r12
    EXPECT "exc_inject int n frame", [ev_frame], FRAME_NOERR
    L2 l2_two_vmmcalls
    mov qword [l2h_iret], 1
    mov VMCB_FIELD(VMCB_NEXT_RIP), l2_two_vmmcalls + 3
    mov CTL(VMCB_EVENT_INJ), EVT_V | EVT_EXC | 3
    call svm_vmrun
    EXPECT "exc_inject #bp vector", [ev_vec], 3
    mov rax, [ev_rip]
    sub rax, l2_two_vmmcalls
    EXPECT "exc_inject #bp return rip", rax, r12

    ; ================= EXITINTINFO (15.7.2) =======================================================
    ; Injected INT n through a not-present gate, #NP intercepted: #NP(IDT selector, EXT=0 for a
    ; software interrupt), the injected event in EXITINTINFO, RIP still the VMCB's.
    L2 l2_vmmcall
    mov CTL(VMCB_INTERCEPT_EXC), 1 << 11
    mov VMCB_FIELD(VMCB_NEXT_RIP), l2_vmmcall + 3
    mov CTL(VMCB_EVENT_INJ), EVT_V | EVT_SOFT | NP_SOFT_VEC
    call svm_vmrun
    EXPECT_EXIT "exitintinfo inject int n: #np exit", EXIT_EXCP_BASE + 11
    EXPECT "exitintinfo inject int n: exitinfo1", VMCB_FIELD(VMCB_EXIT_INFO1), NP_SOFT_VEC * 8 + 2
    EXPECT_D "exitintinfo inject int n", CTL(VMCB_EXIT_INT_INFO), EVT_V | EVT_SOFT | NP_SOFT_VEC
    EXPECT_AT "exitintinfo inject int n: rip", VMCB_FIELD(VMCB_RIP), l2_vmmcall
    EXPECT_BITS "exitintinfo inject int n: eventinj.v cleared", CTL(VMCB_EVENT_INJ), EVT_V, 0
    ; Injected #TS with error code through a not-present gate: #NP(IDT selector | EXT), the
    ; event with EV and its error code in EXITINTINFO.
    L2 l2_vmmcall
    mov CTL(VMCB_INTERCEPT_EXC), 1 << 11
    mov CTL(VMCB_EVENT_INJ), EVT_V | EVT_EV | EVT_EXC | NP_EXC_VEC
    mov CTL(VMCB_EVENT_ERR), 0x5678
    call svm_vmrun
    EXPECT_EXIT "exitintinfo inject #ts: #np exit", EXIT_EXCP_BASE + 11
    EXPECT "exitintinfo inject #ts: exitinfo1", VMCB_FIELD(VMCB_EXIT_INFO1), NP_EXC_VEC * 8 + 3
    EXPECT_D "exitintinfo inject #ts", CTL(VMCB_EXIT_INT_INFO), EVT_V | EVT_EV | EVT_EXC | NP_EXC_VEC
    EXPECT_D "exitintinfo inject #ts: error code", CTL(VMCB_EXIT_INT_ERR), 0x5678
    ; L2's own #UD beyond its IDT limit, #GP intercepted: #GP(6*8+2+EXT), #UD in flight.
    L2 l2_ud2
    mov CTL(VMCB_IDTR + 4), 6 * 16 - 1
    mov CTL(VMCB_INTERCEPT_EXC), 1 << 13
    call svm_vmrun
    EXPECT_EXIT "exitintinfo l2 #ud: #gp exit", EXIT_EXCP_BASE + 13
    EXPECT "exitintinfo l2 #ud: exitinfo1", VMCB_FIELD(VMCB_EXIT_INFO1), 6 * 8 + 3
    EXPECT_D "exitintinfo l2 #ud", CTL(VMCB_EXIT_INT_INFO), EVT_V | EVT_EXC | 6
    EXPECT_AT "exitintinfo l2 #ud: rip", VMCB_FIELD(VMCB_RIP), l2_ud2
    ; L2's INT 0x31 through a not-present gate, #NP intercepted: a software interrupt in flight.
    L2 l2_int31
    mov CTL(VMCB_INTERCEPT_EXC), 1 << 11
    call svm_vmrun
    EXPECT_EXIT "exitintinfo l2 int n: #np exit", EXIT_EXCP_BASE + 11
    EXPECT "exitintinfo l2 int n: exitinfo1", VMCB_FIELD(VMCB_EXIT_INFO1), NP_SOFT_VEC * 8 + 2
    EXPECT_D "exitintinfo l2 int n", CTL(VMCB_EXIT_INT_INFO), EVT_V | EVT_SOFT | NP_SOFT_VEC
    EXPECT_AT "exitintinfo l2 int n: rip", VMCB_FIELD(VMCB_RIP), l2_int31

    ; ================= virq_inject (15.21.4) ======================================================
    ; L2 starts with IF=0: the V_IRQ waits for STI and its shadow (one instruction).
    L2 l2_virq
    mov qword [l2h_iret], 1
    mov CTL(VMCB_INT_CTL), V_INTR_MASKING | V_IRQ | (0xf << V_PRIO_SHIFT)
    mov CTL(VMCB_INT_VECTOR), VIRQ_VEC
    call svm_vmrun
    EXPECT_VMMCALL "virq_inject exit", l2_virq_end
    EXPECT "virq_inject held while if=0", [l2_r12], 0
    EXPECT "virq_inject taken after sti", [l2_r13], 1
    EXPECT "virq_inject vector", [ev_vec], VIRQ_VEC
    EXPECT_AT "virq_inject return rip", [ev_rip], l2_virq_after
    EXPECT "virq_inject no error code", [ev_frame], FRAME_NOERR
    EXPECT_BITS "virq_inject v_irq cleared", CTL(VMCB_INT_CTL), V_IRQ, 0
    ; The VINTR intercept exits when the V_IRQ would be taken, before it is; V_IRQ stays set.
    L2 l2_virq
    mov qword [l2h_iret], 1
    mov CTL(VMCB_INT_CTL), V_INTR_MASKING | V_IRQ | (0xf << V_PRIO_SHIFT)
    mov CTL(VMCB_INT_VECTOR), VIRQ_VEC
    or CTL(VMCB_MISC1), INTERCEPT_VINTR
    call svm_vmrun
    EXPECT_EXIT "virq_inject vintr intercept", EXIT_VINTR
    EXPECT_AT "virq_inject vintr rip", VMCB_FIELD(VMCB_RIP), l2_virq_after
    EXPECT_BITS "virq_inject vintr: v_irq still set", CTL(VMCB_INT_CTL), V_IRQ, V_IRQ
    and CTL(VMCB_MISC1), ~INTERCEPT_VINTR
    call svm_vmrun
    EXPECT_VMMCALL "virq_inject after vintr exit", l2_virq_end
    EXPECT "virq_inject after vintr: taken", [ev_count], 1
    EXPECT_AT "virq_inject after vintr: return rip", [ev_rip], l2_virq_after
    EXPECT_BITS "virq_inject after vintr: v_irq cleared", CTL(VMCB_INT_CTL), V_IRQ, 0
    ; V_INTR_PRIO 2 below V_TPR 8: held, and the VINTR intercept does not fire.
    L2 l2_virq
    mov qword [l2h_iret], 1
    mov CTL(VMCB_INT_CTL), V_INTR_MASKING | V_IRQ | (2 << V_PRIO_SHIFT) | 8
    mov CTL(VMCB_INT_VECTOR), VIRQ_VEC
    or CTL(VMCB_MISC1), INTERCEPT_VINTR
    call svm_vmrun
    EXPECT_VMMCALL "virq_inject prio < tpr: no vintr exit", l2_virq_end
    EXPECT "virq_inject prio < tpr: not taken", [ev_count], 0
    EXPECT_BITS "virq_inject prio < tpr: v_irq and v_tpr kept", CTL(VMCB_INT_CTL), V_IRQ | V_TPR_MASK, V_IRQ | 8
    ; V_INTR_PRIO 10 above V_TPR 8: taken.
    L2 l2_virq
    mov qword [l2h_iret], 1
    mov CTL(VMCB_INT_CTL), V_INTR_MASKING | V_IRQ | (10 << V_PRIO_SHIFT) | 8
    mov CTL(VMCB_INT_VECTOR), VIRQ_VEC
    call svm_vmrun
    EXPECT "virq_inject prio > tpr: taken", [ev_count], 1
    ; V_IGN_TPR: priority 2 under V_TPR 8 is taken anyway.
    L2 l2_virq
    mov qword [l2h_iret], 1
    mov CTL(VMCB_INT_CTL), V_INTR_MASKING | V_IRQ | V_IGN_TPR | (2 << V_PRIO_SHIFT) | 8
    mov CTL(VMCB_INT_VECTOR), VIRQ_VEC + 1
    call svm_vmrun
    EXPECT "virq_inject v_ign_tpr: taken", [ev_count], 1
    EXPECT "virq_inject v_ign_tpr: vector", [ev_vec], VIRQ_VEC + 1

    ; ================= virq_inject_within_shadow (15.21.5) ========================================
    ; IF=1 and the VMCB's interrupt shadow: one L2 instruction runs before the V_IRQ.
    L2 l2_shadow
    mov qword [l2h_iret], 1
    mov CTL(VMCB_INT_CTL), V_INTR_MASKING | V_IRQ | (0xf << V_PRIO_SHIFT)
    mov CTL(VMCB_INT_VECTOR), VIRQ_VEC
    mov CTL(VMCB_INT_STATE), 1
    mov VMCB_FIELD(VMCB_RFLAGS), 2 | RFLAGS_IF
    call svm_vmrun
    EXPECT_VMMCALL "virq_inject_within_shadow exit", l2_shadow_end
    EXPECT_AT "virq_inject_within_shadow return rip", [ev_rip], l2_shadow_1
    EXPECT "virq_inject_within_shadow one insn first", [ev_rbx], 1
    EXPECT_BITS "virq_inject_within_shadow shadow clear at exit", CTL(VMCB_INT_STATE), 1, 0
    ; A #VMEXIT inside an STI shadow writes the shadow bit as 1.
    L2 l2_sti_vmmcall
    call svm_vmrun
    EXPECT_VMMCALL "int_state sti shadow exit", l2_sti_vmmcall + 1
    EXPECT_BITS "int_state sti shadow at exit", CTL(VMCB_INT_STATE), 1, 1

    ; ================= V_INTR_MASKING and CR8 (15.21.1) ===========================================
    mov eax, 2
    mov cr8, rax
    L2 l2_cr8
    mov CTL(VMCB_INT_CTL), V_INTR_MASKING | 3
    call svm_vmrun
    EXPECT_VMMCALL "v_intr_masking cr8 exit", l2_cr8_end
    EXPECT "v_intr_masking l2 cr8 read is v_tpr", [l2_rbx], 3
    EXPECT "v_intr_masking l2 cr8 reads back", [l2_rsi], 9
    EXPECT_BITS "v_intr_masking l2 cr8 write is v_tpr", CTL(VMCB_INT_CTL), V_TPR_MASK, 9
    mov rax, cr8
    EXPECT "v_intr_masking l1 cr8 untouched", rax, 2
    L2 l2_cr8
    mov CTL(VMCB_INT_CTL), 3
    call svm_vmrun
    EXPECT_VMMCALL "no v_intr_masking cr8 exit", l2_cr8_end
    EXPECT "no v_intr_masking l2 cr8 read is l1's", [l2_rbx], 2
    mov rax, cr8
    EXPECT "no v_intr_masking l2 cr8 write is l1's", rax, 9
    xor eax, eax
    mov cr8, rax

    ; ================= svm_test_singlestep (APM Vol 2, 13.1.4; 15.5.1) ============================
    ; L2 RFLAGS.TF=1: the trap follows L2's first instruction, not VMRUN. #DB intercepted:
    L2 l2_step
    mov VMCB_FIELD(VMCB_RFLAGS), 2 | RFLAGS_TF
    mov CTL(VMCB_INTERCEPT_EXC), 1 << 1
    call svm_vmrun
    EXPECT_EXIT "svm_test_singlestep #db intercepted", EXIT_EXCP_BASE + 1
    EXPECT_AT "svm_test_singlestep #db rip", VMCB_FIELD(VMCB_RIP), l2_step_1
    EXPECT "svm_test_singlestep one insn", [l2_rbx], 1
    EXPECT_BITS "svm_test_singlestep dr6.bs", CTL(VMCB_DR6), DR6_BS, DR6_BS
    ; ... and delivered to L2's own handler (which stops with VMMCALL):
    L2 l2_step
    mov VMCB_FIELD(VMCB_RFLAGS), 2 | RFLAGS_TF
    call svm_vmrun
    EXPECT "svm_test_singlestep l2 #db vector", [ev_vec], 1
    EXPECT_AT "svm_test_singlestep l2 #db rip", [ev_rip], l2_step_1
    EXPECT_BITS "svm_test_singlestep l2 #db pushed tf", [ev_flags], RFLAGS_TF, RFLAGS_TF

    ; ================= host_rflags (15.5.1, "VMRUN" and single-step) ===============================
    ; L1 sets TF with POPF: #DB after the next instruction (at VMRUN), then VMRUN runs L2 to its
    ; VMMCALL and the trap VMRUN owes comes in L1 at the instruction after it.
    mov eax, 1
    mov ebx, l1_db
    mov ecx, IDT_INT_GATE
    call idt64_set_gate
    xor eax, eax
    mov [db_n], rax
    mov eax, 0xffff0ff0
    mov dr6, rax
    L2 l2_vmmcall
    mov rax, SVM_VMCB
    clgi
    vmload
    pushfq
    or qword [rsp], RFLAGS_TF
    popfq
    nop
host_vmrun:
    vmrun
host_after:
    vmsave
    stgi
    mov eax, 1
    mov ebx, isr64_stubs + 16
    mov ecx, IDT_INT_GATE
    call idt64_set_gate
    EXPECT_VMMCALL "host_rflags exit", l2_vmmcall
    EXPECT "host_rflags traps", [db_n], 2
    EXPECT_AT "host_rflags #db before vmrun", [db_rip0], host_vmrun
    EXPECT_AT "host_rflags #db after vmrun", [db_rip1], host_after
    EXPECT_BITS "host_rflags dr6.bs", [db_dr6_1], DR6_BS, DR6_BS

    ; ================= vgif (15.33) ===============================================================
    SVM_FEATURE SVM_FEAT_VGIF
    jc .vgif
    PRINTLN "vgif: skipped (no vGIF)"
    jmp .vgif_done
.vgif:
    L2 l2_clgi
    mov CTL(VMCB_INT_CTL), V_GIF_ENABLE | V_GIF
    call svm_vmrun
    EXPECT_VMMCALL "vgif clgi exit", l2_clgi + 3
    EXPECT_BITS "vgif clgi clears v_gif", CTL(VMCB_INT_CTL), V_GIF | V_GIF_ENABLE, V_GIF_ENABLE
    L2 l2_stgi
    mov CTL(VMCB_INT_CTL), V_GIF_ENABLE
    call svm_vmrun
    EXPECT_VMMCALL "vgif stgi exit", l2_stgi + 3
    EXPECT_BITS "vgif stgi sets v_gif", CTL(VMCB_INT_CTL), V_GIF | V_GIF_ENABLE, V_GIF | V_GIF_ENABLE
    ; Intercepted, they exit and leave V_GIF alone.
    L2 l2_clgi_stgi
    mov CTL(VMCB_INT_CTL), V_GIF_ENABLE | V_GIF
    or CTL(VMCB_MISC2), INTERCEPT_STGI | INTERCEPT_CLGI
    call svm_vmrun
    EXPECT_EXIT "vgif clgi intercepted", EXIT_CLGI
    EXPECT_AT "vgif clgi intercepted rip", VMCB_FIELD(VMCB_RIP), l2_clgi_stgi
    EXPECT_BITS "vgif clgi intercepted: v_gif kept", CTL(VMCB_INT_CTL), V_GIF, V_GIF
    and CTL(VMCB_INT_CTL), ~V_GIF
    add VMCB_FIELD(VMCB_RIP), 3
    call svm_vmrun
    EXPECT_EXIT "vgif stgi intercepted", EXIT_STGI
    EXPECT_BITS "vgif stgi intercepted: v_gif kept", CTL(VMCB_INT_CTL), V_GIF, 0
    ; V_GIF=0 holds a V_IRQ (and its VINTR exit) until L2's STGI.
    L2 l2_gif_virq
    mov qword [l2h_iret], 1
    mov CTL(VMCB_INT_CTL), V_GIF_ENABLE | V_INTR_MASKING | V_IRQ | (0xf << V_PRIO_SHIFT)
    mov CTL(VMCB_INT_VECTOR), VIRQ_VEC
    mov VMCB_FIELD(VMCB_RFLAGS), 2 | RFLAGS_IF
    or CTL(VMCB_MISC1), INTERCEPT_VINTR
    call svm_vmrun
    EXPECT_EXIT "vgif v_gif=0 holds v_irq: vintr after stgi", EXIT_VINTR
    EXPECT_AT "vgif v_gif=0 holds v_irq: rip", VMCB_FIELD(VMCB_RIP), l2_gif_virq_after
    EXPECT "vgif v_gif=0 holds v_irq: insns", [l2_rbx], 2
    and CTL(VMCB_MISC1), ~INTERCEPT_VINTR
    call svm_vmrun
    EXPECT_VMMCALL "vgif v_irq taken exit", l2_gif_virq_end
    EXPECT_AT "vgif v_irq taken after stgi", [ev_rip], l2_gif_virq_after
    EXPECT_BITS "vgif v_irq taken: v_irq clear, v_gif set", CTL(VMCB_INT_CTL), V_IRQ | V_GIF, V_GIF
.vgif_done:

    ; ================= GIF in L2 without vGIF (15.17) =============================================
    ; An unintercepted CLGI in L2 clears the real GIF: L2's STI does not let the V_IRQ in (nor its
    ; VINTR exit) until L2's STGI.
    L2 l2_gif_clgi_virq
    mov qword [l2h_iret], 1
    mov CTL(VMCB_INT_CTL), V_INTR_MASKING | V_IRQ | (0xf << V_PRIO_SHIFT)
    mov CTL(VMCB_INT_VECTOR), VIRQ_VEC
    or CTL(VMCB_MISC1), INTERCEPT_VINTR
    call svm_vmrun
    EXPECT_EXIT "gif l2 clgi holds v_irq: vintr after stgi", EXIT_VINTR
    EXPECT_AT "gif l2 clgi holds v_irq: rip", VMCB_FIELD(VMCB_RIP), l2_gif_virq_after
    EXPECT "gif l2 clgi holds v_irq: insns", [l2_rbx], 2

    ; ================= svm_no_nm_test (15.5.1: CR0 comes from the VMCB) ===========================
    ; L1 runs with CR0.TS=1; L2 with TS=EM=0 must not get #NM from FNINIT/FLD1. With no x87 in
    ; the CPU model the instructions are #UD instead (CPUID.1:EDX[0]).
    mov rax, cr0
    or eax, CR0_TS
    mov cr0, rax
    mov eax, 1
    cpuid
    mov r12d, EXIT_EXCP_BASE + 6
    mov eax, EXIT_VMMCALL
    bt edx, 0
    cmovc r12d, eax
    L2 l2_fpu
    and VMCB_FIELD(VMCB_CR0), ~(CR0_TS | CR0_EM)
    mov CTL(VMCB_INTERCEPT_EXC), (1 << 6) | (1 << 7)
    call svm_vmrun
    EXPECT_EXIT "svm_no_nm_test ts=0 em=0: no #nm", r12
    ; Control: TS=1 or EM=1 in the VMCB gives #NM.
    L2 l2_fpu
    mov CTL(VMCB_INTERCEPT_EXC), (1 << 6) | (1 << 7)
    call svm_vmrun
    EXPECT_EXIT "svm_no_nm_test ts=1: #nm", EXIT_EXCP_BASE + 7
    L2 l2_fpu
    and VMCB_FIELD(VMCB_CR0), ~CR0_TS
    or VMCB_FIELD(VMCB_CR0), CR0_EM
    mov CTL(VMCB_INTERCEPT_EXC), (1 << 6) | (1 << 7)
    call svm_vmrun
    EXPECT_EXIT "svm_no_nm_test em=1: #nm", EXIT_EXCP_BASE + 7
    mov rax, cr0
    EXPECT_BITS "svm_no_nm_test l1 cr0.ts after exit", eax, CR0_TS, CR0_TS
    and eax, ~CR0_TS
    mov cr0, rax

    SVM_DONE

; ---- L1 helpers ------------------------------------------------------------------------------
bits 64
; l2_prep: rax = L2 entry. vmcb_ident, RIP, L2's own IDT; clears the event record.
l2_prep:
    call vmcb_ident
    mov [SVM_VMCB + VMCB_RIP], rax
    mov qword [SVM_VMCB + VMCB_IDTR + 8], L2_IDT
    mov dword [SVM_VMCB + VMCB_IDTR + 4], L2_IDT_LIMIT
    mov qword [ev_count], 0
    mov qword [ev_vec], -1
    mov qword [ev_rip], 0
    mov qword [ev_err], 0
    mov qword [ev_frame], 0
    mov qword [ev_flags], 0
    mov qword [ev_rbx], -1
    mov qword [l2h_iret], 0
    ret

; l2_idt_build: every gate of L2_IDT -> l2h_stubs + 16 * vector (64-bit interrupt gates), except
; the two vectors used for not-present gates.
l2_idt_build:
    xor eax, eax
.gate:
    mov edx, eax
    shl edx, 4
    lea rbx, [l2h_stubs + rdx]
    lea rdi, [L2_IDT + rdx]
    mov [rdi], bx
    mov word [rdi + 2], SEL_KCODE64
    mov word [rdi + 4], IDT_INT_GATE << 8
    shr rbx, 16
    mov [rdi + 6], bx
    shr rbx, 16
    mov [rdi + 8], ebx
    mov dword [rdi + 12], 0
    inc eax
    cmp eax, 256
    jb .gate
    and byte [L2_IDT + NP_SOFT_VEC * 16 + 5], 0x7f
    and byte [L2_IDT + NP_EXC_VEC * 16 + 5], 0x7f
    ret

; l1_db: L1's #DB handler for host_rflags: records RIP and DR6 of the first two traps, resets
; DR6, and clears TF in the frame at the second (the one VMRUN owes).
l1_db:
    push rax
    push rbx
    mov rax, [db_n]
    mov rbx, [rsp + 16]
    cmp rax, 2
    jae .count
    mov [db_rip0 + rax * 8], rbx
    push rbx
    mov rbx, dr6
    mov [db_dr6_0 + rax * 8], rbx
    mov ebx, 0xffff0ff0
    mov dr6, rbx
    pop rbx
.count:
    inc qword [db_n]
    cmp qword [db_n], 2
    jb .out
    and qword [rsp + 32], ~RFLAGS_TF
.out:
    pop rbx
    pop rax
    iretq

align 8
ev_count: dq 0          ; events L2's handlers took
ev_vec:   dq 0          ; the last one's vector
ev_rip:   dq 0          ; its pushed return RIP
ev_err:   dq 0          ; its pushed error code, -1 when none was pushed
ev_frame: dq 0          ; where its frame began (FRAME_NOERR / FRAME_ERR)
ev_flags: dq 0          ; its pushed RFLAGS
ev_rbx:   dq 0          ; L2's RBX when it came (L2 code counts instructions in RBX)
l2h_iret: dq 0          ; nonzero: the handler IRETQs; zero: it VMMCALLs
db_n:     dq 0
db_rip0:  dq 0
db_rip1:  dq 0
db_dr6_0: dq 0
db_dr6_1: dq 0

; ---- L2 --------------------------------------------------------------------------------------
; L2's IDT stubs: push the vector, then the common recorder.
align 16
l2h_stubs:
%assign v 0
%rep 256
    align 16, db 0xcc
    push strict qword v
    jmp near l2h_common
%assign v v+1
%endrep

l2h_common:
    push rax
    inc qword [ev_count]
    mov rax, [rsp + 8]
    mov [ev_vec], rax
    mov [ev_rbx], rbx
    lea rax, [rsp + 16]
    mov [ev_frame], rax
    cmp rax, FRAME_ERR
    jne .noerr
    mov rax, [rsp + 16]
    mov [ev_err], rax
    mov rax, [rsp + 24]
    mov [ev_rip], rax
    mov rax, [rsp + 40]
    mov [ev_flags], rax
    pop rax
    cmp qword [l2h_iret], 0
    je .stop
    add rsp, 16
    iretq
.noerr:
    mov qword [ev_err], -1
    mov rax, [rsp + 16]
    mov [ev_rip], rax
    mov rax, [rsp + 32]
    mov [ev_flags], rax
    pop rax
    cmp qword [l2h_iret], 0
    je .stop
    add rsp, 8
    iretq
.stop:
    vmmcall

l2_vmmcall:
    vmmcall
l2_two_vmmcalls:
    vmmcall
    vmmcall
l2_ud2:
    ud2
l2_int31:
    int NP_SOFT_VEC
    vmmcall

; virq_inject: r12 = events seen before STI, r13 after; RBX counts instructions after STI.
l2_virq:
    xor ebx, ebx
    nop
    mov r12, [ev_count]
    sti
    inc ebx                     ; in STI's shadow
l2_virq_after:
    inc ebx
    mov r13, [ev_count]
l2_virq_end:
    vmmcall

l2_shadow:
    inc ebx                     ; in the VMCB's interrupt shadow
l2_shadow_1:
    inc ebx
l2_shadow_end:
    vmmcall

l2_sti_vmmcall:
    sti
    vmmcall

l2_cr8:
    mov rbx, cr8
    mov ecx, 9
    mov cr8, rcx
    mov rsi, cr8
l2_cr8_end:
    vmmcall

l2_step:
    inc ebx
l2_step_1:
    inc ebx
    vmmcall

l2_clgi_stgi:
    clgi
    stgi
    vmmcall
l2_clgi:
    clgi
    vmmcall
l2_stgi:
    stgi
    vmmcall

; V_IRQ held by GIF/V_GIF = 0: two instructions, STGI, then the V_IRQ's boundary.
l2_gif_virq:
    inc ebx
    inc ebx
    stgi
l2_gif_virq_after:
    inc ebx
l2_gif_virq_end:
    vmmcall

; The same with the real GIF: CLGI and STI first (IF=0 at entry), RBX counts from zero.
l2_gif_clgi_virq:
    clgi
    sti
    xor ebx, ebx
    jmp l2_gif_virq

l2_fpu:
    fninit
    fld1
    vmmcall
