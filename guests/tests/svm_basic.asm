; svm_basic.asm - multiboot guest (-cpu max): a 64-bit L1 on svm.inc running the basic entry/exit
; checks of the kvm-unit-tests SVM list (our own equivalents): null, vmrun, vmrun intercept check,
; asid_zero, next_rip, rsm, svm_vmload_vmsave, svm_unsupported_instruction_intercept_test,
; svm_shutdown_intercept_test, svm_vmrun_errata_test, plus the L2 general registers surviving a
; round trip. One "name: ok" line per check.
%include "multiboot.inc"
%include "idt.inc"
%include "paging.inc"
%include "svm.inc"

bits 32
main:
    SVM_L1_ENTER

    ; null: L2 VMMCALLs; exit 0x81 with RIP at the VMMCALL (it is not skipped).
    call vmcb_ident
    mov VMCB_FIELD(VMCB_RIP), l2_vmmcall
    call svm_vmrun
    EXPECT_EXIT "null", EXIT_VMMCALL
    EXPECT "null rip", VMCB_FIELD(VMCB_RIP), l2_vmmcall

    ; registers: L2 sees l2_regs and its changes come back; RAX through the VMCB.
    call vmcb_ident
    mov VMCB_FIELD(VMCB_RIP), l2_regs_fn
    mov qword [l2_rbx], 0x1111
    mov qword [l2_r15], 0x2222
    mov VMCB_FIELD(VMCB_RAX), 0x3333
    call svm_vmrun
    EXPECT_EXIT "regs exit", EXIT_VMMCALL
    EXPECT "regs rbx", [l2_rbx], 0x1112
    EXPECT "regs r15", [l2_r15], 0x4444
    EXPECT "regs rax", VMCB_FIELD(VMCB_RAX), 0x3336

    ; vmrun: L2 executes VMRUN, intercepted (the VMRUN intercept is mandatory) -> 0x80.
    call vmcb_ident
    mov VMCB_FIELD(VMCB_RIP), l2_vmrun
    mov VMCB_FIELD(VMCB_RAX), SVM_VMCB2
    call svm_vmrun
    EXPECT_EXIT "vmrun", EXIT_VMRUN

    ; vmrun intercept check: VMRUN intercept clear -> VMEXIT_INVALID (APM 15.5.1).
    call vmcb_ident
    mov VMCB_FIELD(VMCB_RIP), l2_vmmcall
    and dword [SVM_VMCB + VMCB_MISC2], ~INTERCEPT_VMRUN
    call svm_vmrun
    EXPECT_EXIT "vmrun intercept check", EXIT_INVALID

    ; asid_zero: ASID 0 is the host's -> VMEXIT_INVALID.
    call vmcb_ident
    mov VMCB_FIELD(VMCB_RIP), l2_vmmcall
    mov dword [SVM_VMCB + VMCB_ASID], 0
    call svm_vmrun
    EXPECT_EXIT "asid_zero", EXIT_INVALID

    ; next_rip: RDTSC intercepted; with NRIPS the VMCB's nRIP is the address after RDTSC (APM 15.7.1).
    call vmcb_ident
    mov VMCB_FIELD(VMCB_RIP), l2_rdtsc
    or dword [SVM_VMCB + VMCB_MISC1], INTERCEPT_RDTSC
    call svm_vmrun
    EXPECT_EXIT "next_rip exit", EXIT_RDTSC
    SVM_FEATURE SVM_FEAT_NRIPS
    jnc .no_nrips
    EXPECT "next_rip", VMCB_FIELD(VMCB_NEXT_RIP), l2_rdtsc_end
    jmp .nrips_done
.no_nrips:
    PRINTLN "next_rip: skipped (no NRIPS)"
.nrips_done:

    ; rsm: intercepted RSM exits 0x73 (the intercept is checked before RSM's #UD outside SMM);
    ; without the intercept RSM raises #UD, intercepted as 0x46.
    call vmcb_ident
    mov VMCB_FIELD(VMCB_RIP), l2_rsm
    or dword [SVM_VMCB + VMCB_MISC1], INTERCEPT_RSM
    call svm_vmrun
    EXPECT_EXIT "rsm intercept", EXIT_RSM
    call vmcb_ident
    mov VMCB_FIELD(VMCB_RIP), l2_rsm
    mov dword [SVM_VMCB + VMCB_INTERCEPT_EXC], 1 << 6
    call svm_vmrun
    EXPECT_EXIT "rsm #ud", EXIT_EXCP_BASE + 6

    ; svm_vmload_vmsave: L2 runs VMLOAD then VMSAVE on SVM_VMCB2; with both intercepts each exits
    ; (RIP left on it, so L1 steps over); with neither they run in L2.
    call vmcb_ident
    mov VMCB_FIELD(VMCB_RIP), l2_vmload_vmsave
    mov VMCB_FIELD(VMCB_RAX), SVM_VMCB2
    or dword [SVM_VMCB + VMCB_MISC2], INTERCEPT_VMLOAD | INTERCEPT_VMSAVE
    call svm_vmrun
    EXPECT_EXIT "vmload intercepted", EXIT_VMLOAD
    add VMCB_FIELD(VMCB_RIP), 3
    call svm_vmrun
    EXPECT_EXIT "vmsave intercepted", EXIT_VMSAVE
    add VMCB_FIELD(VMCB_RIP), 3
    call svm_vmrun
    EXPECT_EXIT "vmload/vmsave then vmmcall", EXIT_VMMCALL
    call vmcb_ident
    mov VMCB_FIELD(VMCB_RIP), l2_vmload_vmsave
    mov VMCB_FIELD(VMCB_RAX), SVM_VMCB2
    mov qword [SVM_VMCB2 + VMCB_STAR], 0x12345678
    call svm_vmrun
    EXPECT_EXIT "vmload/vmsave not intercepted", EXIT_VMMCALL
    EXPECT "vmload/vmsave star round trip", qword [SVM_VMCB2 + VMCB_STAR], 0x12345678

    ; svm_unsupported_instruction_intercept_test: an instruction the CPU model lacks raises #UD
    ; even with its intercept set (APM 15.9: exceptions that precede the intercept check).
    ; SKINIT is not offered by vx86; RDTSCP per CPUID 8000_0001 EDX[27].
    call vmcb_ident
    mov VMCB_FIELD(VMCB_RIP), l2_rdtscp
    or dword [SVM_VMCB + VMCB_MISC2], INTERCEPT_RDTSCP
    mov dword [SVM_VMCB + VMCB_INTERCEPT_EXC], 1 << 6
    call svm_vmrun
    mov eax, 0x80000001
    cpuid
    mov eax, EXIT_EXCP_BASE + 6
    mov ecx, EXIT_RDTSCP
    bt edx, 27
    cmovc eax, ecx
    EXPECT_EXIT "rdtscp intercept vs cpuid", rax
    EXPECT "rdtscp intercept bit kept", qword [SVM_VMCB + VMCB_MISC2], INTERCEPT_VMRUN | INTERCEPT_VMMCALL | INTERCEPT_RDTSCP

    ; svm_shutdown_intercept_test: L2 with an empty IDT triple-faults -> SHUTDOWN exit 0x7f.
    call vmcb_ident
    mov VMCB_FIELD(VMCB_RIP), l2_ud
    mov dword [SVM_VMCB + VMCB_IDTR + 4], 0
    call svm_vmrun
    EXPECT_EXIT "shutdown intercept", EXIT_SHUTDOWN

    ; svm_vmrun_errata_test: VMSAVE from L2 at any page below 4 GiB exits (0x83), never #GP:
    ; every 2 MiB below 0xF0000000, then every 4 KiB page of the top 256 MiB, where the
    ; addresses real parts reserve (APIC, flash, HyperTransport) lie. 67456 round trips.
    call vmcb_ident
    or dword [SVM_VMCB + VMCB_MISC2], INTERCEPT_VMSAVE
    mov dword [SVM_VMCB + VMCB_INTERCEPT_EXC], 1 << 13
    xor r12, r12                        ; the address L2 will VMSAVE
    xor r13, r13                        ; exits counted
    mov r14, 0x200000                   ; the step
.errata:
    mov VMCB_FIELD(VMCB_RAX), r12
    mov VMCB_FIELD(VMCB_RIP), l2_vmsave_loop
    call svm_vmrun
    cmp rax, EXIT_VMSAVE
    jne .errata_end
    inc r13
    add r12, r14
    mov eax, 0xf0000000
    cmp r12, rax
    jb .errata
    mov r14, 0x1000
    mov rax, 0x100000000
    cmp r12, rax
    jb .errata
.errata_end:
    EXPECT "vmsave errata exits", r13, 1920 + 65536

    SVM_DONE

; ---- L2 ------------------------------------------------------------------------------------
bits 64
l2_vmmcall:
    vmmcall
l2_regs_fn:
    inc rbx
    add r15, r15
    add rax, 3
    vmmcall
l2_vmrun:
    vmrun
    vmmcall
l2_rdtsc:
    rdtsc
l2_rdtsc_end:
    vmmcall
l2_rsm:
    rsm
    vmmcall
l2_vmload_vmsave:
    vmload
    vmsave
    vmmcall
l2_rdtscp:
    rdtscp
    vmmcall
l2_ud:
    ud2
l2_vmsave_loop:
    vmsave
    vmmcall
