; svm_modes.asm - multiboot guest (-cpu max): a 64-bit L1 on svm.inc running L2 in every x86
; operating mode, after the kvm-unit-tests SVM list (our own equivalents):
;   mode_switch            L2 walks long -> compatibility -> 32-bit protected (paging off) ->
;                          16-bit protected -> real mode and back to long mode, VMMCALLing at six
;                          stops; L1 checks the exit and CR0/EFER/CS/RIP in the VMCB at each.
;   direct modes           VMCBs that start L2 in real mode (CS 0x7000, base 0x70000), in 32-bit
;                          protected mode without paging, with 32-bit (PSE) paging and with PAE
;                          paging; exit, RIP, CS and what the stub read through its segments.
;   svm_pae_test           (no NP) the PDPT at CR3 (32-byte aligned), CR3 bits 4:0 ignored, a CR3
;                          bit >= MAXPHYADDR -> VMEXIT_INVALID, PDPTE reserved bits (62:52, 2:1)
;                          -> VMEXIT_INVALID, PDPTE bits 11:9 ignored, a reserved bit in a
;                          non-present PDPTE legal, a non-present PDPTE0 -> #PF on the first fetch.
;   svm_pse_test           32-bit paging: CR3 bits 2:0 and 11:5 ignored; CR3 bits >= MAXPHYADDR
;                          -> VMEXIT_INVALID (the VMCB's CR3 is a 64-bit field whatever L2's mode;
;                          "any MBZ bit of CR3", as kvm-unit-tests expects of hardware).
;   svm_guest_state_test   the checks with a 64-bit host (the 32-bit-host ones are svm_checks.asm):
;                          EFER (SVME, MBZ bits, LME+PG with !PAE, !PE, CS.L+D), CR0 (NW without
;                          CD, bit 63), long-mode CR3 MBZ bits, CR4 reserved bits, DR6/DR7[63:32],
;                          IOPM/MSRPM reaching 2^MAXPHYADDR, EVENTINJ reserved type / vector; each
;                          gives VMEXIT_INVALID with L1 untouched and EXITINFO1 0. VMLOAD
;                          canonicalization of FS/GS/TR/LDTR bases and KernelGsBase. Legal
;                          oddities that must run: CR0.CD=1 (NW 0 or 1), EFER.LME with paging off,
;                          long-mode CR3 bits 11:5/2:0, bitmaps ending at 2^MAXPHYADDR - 1,
;                          EVENTINJ junk with V=0, non-canonical ES/DS/SS/GDTR/IDTR bases.
;   svm_cr4_osxsave_test   only when CPUID.1:ECX.XSAVE is offered, else one "skipped" line (vx86's
;                          CPU models have no XSAVE; QEMU's "max" does).
; Not covered: the NP variants of svm_pae_test and of the CR3 checks (this guest runs without NP).
; Nothing here needs an APIC or timer.
; Facts: AMD APM Vol 2 15.5.1 (VMRUN checks), 15.5.2 (VMLOAD/VMSAVE), 15.16 (TLB control), 15.20
; (EVENTINJ), 5.2/5.3 (PAE and 32-bit paging, CR3, PDPE); /work/shared/spec/svm.md 3.3 and 4.2.
%include "multiboot.inc"
%include "idt.inc"
%include "paging.inc"
%include "svm.inc"

STUB_BASE   equ SCRATCH             ; the 16-bit stub runs here (real-mode segment 0x7000)
STUB_SEG    equ STUB_BASE >> 4
SEL_STUB16  equ SEL_FREE            ; 16-bit code, base STUB_BASE, limit 64 KiB
SEL_STUBD16 equ SEL_FREE + 8        ; 16-bit data, same base
VMCB3       equ SVM_VMCB2 + 0x1000  ; VMSAVE target of the canonicalization test
L1_BACKUP   equ SCRATCH + 0x8000    ; L1's VMLOAD state while the canonicalization test runs
PAE_PDPT    equ PT_FREE + 0x20      ; 32-byte aligned, not page aligned; PT_FREE+0 stays zero
L1_MAGIC    equ 0x6c316c31          ; RBX while VMRUN fails: it must come back unchanged
EXC_MASK    equ (1 << 6) | (1 << 8) | (1 << 13) | (1 << 14)   ; #UD #DF #GP #PF -> exits
CR4_OSXSAVE equ 1 << 18
CR0_PE      equ 1
CR0_CD      equ 1 << 30
CR0_NW      equ 1 << 29
EFER_LMA    equ 1 << 10

; RUN_OK "name": run [SVM_VMCB]; L2 must reach its VMMCALL.
%macro RUN_OK 1
    call svm_vmrun
    EXPECT_EXIT %1, EXIT_VMMCALL
%endmacro

; RUN_INVALID "name": run [SVM_VMCB], which has one illegal field: VMEXIT_INVALID, with L1's
; registers as they were (RBX = L1_MAGIC: L2 never ran) and EXITINFO1 zero (KVM, QEMU and Bochs
; all write 0; EXITINFO2 is left alone by QEMU for some checks, and the APM does not define it
; here, so it is not checked). The last two are tallied and reported once after the group.
%macro RUN_INVALID 1
    mov qword [l2_rbx], L1_MAGIC
    mov VMCB_FIELD(VMCB_EXIT_INFO1), 0x1111
    call svm_vmrun
    EXPECT_EXIT %1, EXIT_INVALID
    inc dword [invalid_runs]
    cmp qword [l2_rbx], L1_MAGIC
    je %%regs_ok
    inc dword [invalid_l1_bad]
%%regs_ok:
    cmp VMCB_FIELD(VMCB_EXIT_INFO1), 0
    je %%info_ok
    inc dword [invalid_info_bad]
%%info_ok:
%endmacro

; SET_BIT_CL field: set bit CL (< 64) of a qword VMCB field (clobbers rax).
%macro SET_BIT_CL 1
    mov rax, 1
    shl rax, cl
    or VMCB_FIELD(%1), rax
%endmacro

bits 32
main:
    SVM_L1_ENTER

    ; The 16-bit stub goes below 1 MiB; two 16-bit descriptors with its base go in the free GDT
    ; slots (L2 runs on L1's GDT).
    mov esi, rm_stub
    mov edi, STUB_BASE
    mov ecx, rm_stub_end - rm_stub
    rep movsb
    mov rax, 0x00009b000000ffff | ((STUB_BASE & 0xffffff) << 16)
    mov [gdt_free], rax
    mov rax, 0x000093000000ffff | ((STUB_BASE & 0xffffff) << 16)
    mov [gdt_free + 8], rax
    ; MAXPHYADDR (CPUID 8000_0008 EAX[7:0]) and 1 << MAXPHYADDR.
    mov eax, 0x80000008
    cpuid
    movzx eax, al
    mov [maxphy], eax
    mov ecx, eax
    mov eax, 1
    shl rax, cl
    mov [phys_limit], rax
    ; The PAE PDPT at a 32-byte (not 4 KiB) boundary over paging.inc's four 1 GiB PDs.
    mov edi, PT_FREE
    mov ecx, 0x1000 / 8
    xor eax, eax
    rep stosq
    xor ecx, ecx
.pdpt:
    mov eax, ecx
    shl eax, 12
    add eax, PT_PD | PTE_P
    mov [PAE_PDPT + rcx * 8], rax
    inc ecx
    cmp ecx, 4
    jb .pdpt

    call test_mode_switch
    call test_direct_modes
    call test_pae
    call test_pse
    call test_guest_state
    call test_canonicalization
    call test_osxsave
    SVM_DONE

; ==== mode_switch ==============================================================================
; One L2 run through every mode; a VMMCALL at each stop, where L1 checks the VMCB and steps over
; it. Exceptions are intercepted so that a broken transition ends as an exit, not a shutdown.
bits 64
test_mode_switch:
    call vmcb_ident
    mov VMCB_FIELD(VMCB_RIP), l2_ms64
    mov dword [SVM_VMCB + VMCB_INTERCEPT_EXC], EXC_MASK
    ; stop 1: compatibility mode (EFER.LMA=1, CS = the 32-bit code segment).
    call svm_vmrun
    EXPECT_EXIT "mode_switch compat exit", EXIT_VMMCALL
    cmp rax, EXIT_VMMCALL
    jne .abort
    mov rax, VMCB_FIELD(VMCB_EFER)
    and eax, EFER_LME | EFER_LMA
    EXPECT "mode_switch compat efer.lme+lma", rax, EFER_LME | EFER_LMA
    mov eax, [SVM_VMCB + VMCB_CS]
    EXPECT "mode_switch compat cs", rax, SEL_KCODE32 | (0xc9b << 16)
    ; stop 2: 32-bit protected mode, paging off, long mode left.
    add VMCB_FIELD(VMCB_RIP), 3
    call svm_vmrun
    EXPECT_EXIT "mode_switch pm32 exit", EXIT_VMMCALL
    cmp rax, EXIT_VMMCALL
    jne .abort
    mov rax, VMCB_FIELD(VMCB_CR0)
    and eax, CR0_PG | CR0_PE
    EXPECT "mode_switch pm32 cr0.pg+pe", rax, CR0_PE
    mov rax, VMCB_FIELD(VMCB_EFER)
    and eax, EFER_LME | EFER_LMA
    EXPECT "mode_switch pm32 efer.lme+lma", rax, 0
    ; stop 3: 16-bit protected mode in the stub (CS.D=0, base STUB_BASE).
    add VMCB_FIELD(VMCB_RIP), 3
    call svm_vmrun
    EXPECT_EXIT "mode_switch pm16 exit", EXIT_VMMCALL
    cmp rax, EXIT_VMMCALL
    jne .abort
    mov eax, [SVM_VMCB + VMCB_CS]
    EXPECT "mode_switch pm16 cs", rax, SEL_STUB16 | (0x09b << 16)
    ; stop 4: real mode (CR0.PE=0), CS = STUB_SEG.
    add VMCB_FIELD(VMCB_RIP), 3
    call svm_vmrun
    EXPECT_EXIT "mode_switch real exit", EXIT_VMMCALL
    cmp rax, EXIT_VMMCALL
    jne .abort
    EXPECT "mode_switch real rip", VMCB_FIELD(VMCB_RIP), rm_stop4 - rm_stub
    mov rax, VMCB_FIELD(VMCB_CR0)
    and eax, CR0_PG | CR0_PE
    EXPECT "mode_switch real cr0.pg+pe", rax, 0
    movzx eax, word [SVM_VMCB + VMCB_CS]
    EXPECT "mode_switch real cs", rax, STUB_SEG
    EXPECT "mode_switch real cs.base", VMCB_FIELD(VMCB_CS + 8), STUB_BASE
    ; stop 5: back in 32-bit protected mode.
    add VMCB_FIELD(VMCB_RIP), 3
    call svm_vmrun
    EXPECT_EXIT "mode_switch pm32 again exit", EXIT_VMMCALL
    cmp rax, EXIT_VMMCALL
    jne .abort
    mov eax, [SVM_VMCB + VMCB_CS]
    EXPECT "mode_switch pm32 again cs", rax, SEL_KCODE32 | (0xc9b << 16)
    ; stop 6: long mode again (64-bit CS).
    add VMCB_FIELD(VMCB_RIP), 3
    call svm_vmrun
    EXPECT_EXIT "mode_switch long exit", EXIT_VMMCALL
    cmp rax, EXIT_VMMCALL
    jne .abort
    mov rax, VMCB_FIELD(VMCB_EFER)
    and eax, EFER_LME | EFER_LMA
    EXPECT "mode_switch long efer.lme+lma", rax, EFER_LME | EFER_LMA
    mov eax, [SVM_VMCB + VMCB_CS]
    EXPECT "mode_switch long cs", rax, SEL_KCODE64 | (0xa9b << 16)
    ret
.abort:
    PRINTLN "mode_switch: aborted"
    inc dword [svm_failures]
    ret

; ==== L2 starting in each mode =================================================================
; vmcb_32: a VMCB for the 32-bit stub l2_pm32: esi = CR0, edi = CR4, rdx = CR3; EFER = SVME,
; CS = the 32-bit code segment, #UD/#DF/#GP/#PF intercepted, TLB flushed at VMRUN (same ASID,
; different tables each time: without the flush stale translations may legally be used).
vmcb_32:
    call vmcb_ident
    mov dword [SVM_VMCB + VMCB_CS], SEL_KCODE32 | (0xc9b << 16)
    mov VMCB_FIELD(VMCB_EFER), EFER_SVME
    mov VMCB_FIELD(VMCB_CR0), rsi
    mov VMCB_FIELD(VMCB_CR4), rdi
    mov VMCB_FIELD(VMCB_CR3), rdx
    mov VMCB_FIELD(VMCB_RIP), l2_pm32
    mov dword [SVM_VMCB + VMCB_INTERCEPT_EXC], EXC_MASK
    mov dword [SVM_VMCB + VMCB_TLB_CONTROL], 1    ; L2's tables change between runs (15.16.2)
    ret

; vmcb_pae / vmcb_pse: the two paged 32-bit VMCBs (CR3 in rdx).
vmcb_pae:
    mov esi, CR0_PG | 0x11
    mov edi, CR4_PAE
    jmp vmcb_32
vmcb_pse:
    mov esi, CR0_PG | 0x11
    mov edi, CR4_PSE
    jmp vmcb_32

; CHECK_PM32 "name", cr0: l2_pm32 stopped at its VMMCALL with the saved state right. One check
; whose value is a mask of what is wrong: bit 0 RIP, bit 1 the CR0 value L2 read into EAX, bit 2
; the magic dword L2 read into EBX (through its segments and paging), bit 3 the saved CS selector.
%macro CHECK_PM32 2
    xor r8d, r8d
    cmp VMCB_FIELD(VMCB_RIP), l2_pm32_vmmcall
    je %%rip_ok
    or r8d, 1
%%rip_ok:
    cmp dword [SVM_VMCB + VMCB_RAX], %2
    je %%cr0_ok
    or r8d, 2
%%cr0_ok:
    cmp dword [l2_rbx], 0x32323232
    je %%read_ok
    or r8d, 4
%%read_ok:
    cmp word [SVM_VMCB + VMCB_CS], SEL_KCODE32
    je %%cs_ok
    or r8d, 8
%%cs_ok:
    EXPECT %1, r8, 0
%endmacro

test_direct_modes:
    ; Real mode: CR0.PE=0, CS:IP = STUB_SEG:offset, SS:SP inside the stub's segment, IVT IDTR.
    call vmcb_ident
    mov VMCB_FIELD(VMCB_CR0), 0x10
    mov VMCB_FIELD(VMCB_CR4), 0
    mov VMCB_FIELD(VMCB_CR3), 0
    mov VMCB_FIELD(VMCB_EFER), EFER_SVME
    mov dword [SVM_VMCB + VMCB_CS], STUB_SEG | (0x9b << 16)
    mov dword [SVM_VMCB + VMCB_CS + 4], 0xffff
    mov VMCB_FIELD(VMCB_CS + 8), STUB_BASE
%assign off VMCB_ES
%rep 4
  %if off != VMCB_CS
    mov dword [SVM_VMCB + off], STUB_SEG | (0x93 << 16)
    mov dword [SVM_VMCB + off + 4], 0xffff
    mov VMCB_FIELD(off + 8), STUB_BASE
  %endif
  %assign off off + 0x10
%endrep
    mov dword [SVM_VMCB + VMCB_IDTR + 4], 0x3ff
    mov VMCB_FIELD(VMCB_IDTR + 8), 0
    mov VMCB_FIELD(VMCB_RSP), 0xfff0
    mov VMCB_FIELD(VMCB_RIP), rm_direct - rm_stub
    mov dword [SVM_VMCB + VMCB_INTERCEPT_EXC], EXC_MASK
    mov word [STUB_BASE + 0xffee], 0
    RUN_OK "real mode vmcb exit"
    EXPECT "real mode vmcb rip", VMCB_FIELD(VMCB_RIP), rm_direct_vmmcall - rm_stub
    movzx eax, word [SVM_VMCB + VMCB_CS]
    shl rax, 32
    or rax, VMCB_FIELD(VMCB_CS + 8)
    mov r8, (STUB_SEG << 32) | STUB_BASE
    EXPECT "real mode vmcb cs sel:base", rax, r8
    EXPECT "real mode vmcb cs-relative read", qword [l2_rbx], 0xbeef
    movzx eax, word [STUB_BASE + 0xffee]
    EXPECT "real mode vmcb push at ss base", rax, 0x1234

    ; 32-bit protected mode, paging off.
    mov esi, 0x11
    xor edi, edi
    xor edx, edx
    call vmcb_32
    RUN_OK "pm32 vmcb exit"
    CHECK_PM32 "pm32 vmcb rip/cr0/data/cs wrong", 0x11

    ; 32-bit paging (4 MiB PSE pages from paging.inc).
    mov edx, PT_PD32
    call vmcb_pse
    RUN_OK "paging32 vmcb exit"
    CHECK_PM32 "paging32 vmcb rip/cr0/data/cs wrong", CR0_PG | 0x11

    ; PAE paging (our 32-byte aligned PDPT).
    mov edx, PAE_PDPT
    call vmcb_pae
    RUN_OK "pae vmcb exit"
    CHECK_PM32 "pae vmcb rip/cr0/data/cs wrong", CR0_PG | 0x11
    ret

; ==== svm_pae_test (no NP) =====================================================================
; pdpte_case "name", index, bit, expect: set one bit in PDPTE[index], run, restore.
%macro PDPTE_CASE 4
    bts qword [PAE_PDPT + %2 * 8], %3
    mov edx, PAE_PDPT
    call vmcb_pae
  %ifidn %4, invalid
    call svm_vmrun
    EXPECT_EXIT %1, EXIT_INVALID
  %else
    RUN_OK %1
  %endif
    btr qword [PAE_PDPT + %2 * 8], %3
%endmacro

test_pae:
    ; CR3 bits 4:0 are not part of the PDPT address in PAE mode.
    mov edx, PAE_PDPT | 0x1f
    call vmcb_pae
    RUN_OK "pae cr3 bits 4:0 ignored"
    ; CR3 bits at and above MAXPHYADDR.
    mov edx, PAE_PDPT
    call vmcb_pae
    mov ecx, [maxphy]
    SET_BIT_CL VMCB_CR3
    RUN_INVALID "pae cr3 bit maxphyaddr"
    ; VMRUN loads the PDPTEs (no NP): a reserved bit in any present one fails it, walked or not.
    PDPTE_CASE "pae pdpte0 bit 52", 0, 52, invalid
    PDPTE_CASE "pae pdpte3 bit 62", 3, 62, invalid
    PDPTE_CASE "pae pdpte1 bit 1", 1, 1, invalid
    ; Bits 11:9 are free for software; a non-present PDPTE's other bits are not looked at.
    or qword [PAE_PDPT], 0xe00
    mov edx, PAE_PDPT
    call vmcb_pae
    RUN_OK "pae pdpte0 bits 11:9 ignored"
    and qword [PAE_PDPT], ~0xe00
    mov rbx, [PAE_PDPT + 16]
    mov rax, 0x0010000000000000
    mov [PAE_PDPT + 16], rax
    mov edx, PAE_PDPT
    call vmcb_pae
    RUN_OK "pae non-present pdpte2 bit 52 legal"
    mov [PAE_PDPT + 16], rbx
    ; The PDPT is the one at CR3: PDPTE0 not present -> #PF on L2's first fetch (error code 0:
    ; not present, EFER.NXE=0 so no I/D bit), CR2 = EXITINFO2 = the stub's address.
    mov rbx, [PAE_PDPT]
    mov qword [PAE_PDPT], 0
    mov edx, PAE_PDPT
    call vmcb_pae
    call svm_vmrun
    EXPECT_EXIT "pae pdpte0 not present exit", EXIT_EXCP_BASE + 14
    EXPECT "pae pdpte0 not present error code", VMCB_FIELD(VMCB_EXIT_INFO1), 0
    mov r8d, l2_pm32
    EXPECT "pae pdpte0 not present address", VMCB_FIELD(VMCB_EXIT_INFO2), r8
    mov [PAE_PDPT], rbx
    ret

; ==== svm_pse_test =============================================================================
test_pse:
    mov edx, PT_PD32 | 0xfe7
    call vmcb_pse
    RUN_OK "pse cr3 bits 2:0,11:5 ignored"
    mov edx, PT_PD32
    call vmcb_pse
    mov ecx, [maxphy]
    SET_BIT_CL VMCB_CR3
    RUN_INVALID "pse cr3 bit maxphyaddr"
    mov edx, PT_PD32
    call vmcb_pse
    bts VMCB_FIELD(VMCB_CR3), 63
    RUN_INVALID "pse cr3 bit 63"
    ret

; ==== svm_guest_state_test, 64-bit host ========================================================
; vmcb_gs: the default long-mode VMCB running l2_gs.
vmcb_gs:
    call vmcb_ident
    mov VMCB_FIELD(VMCB_RIP), l2_gs
    ret

test_guest_state:
    call vmcb_gs
    RUN_OK "guest_state baseline"

    ; EFER
    call vmcb_gs
    btr VMCB_FIELD(VMCB_EFER), 12
    RUN_INVALID "efer.svme=0"
    call vmcb_gs
    bts VMCB_FIELD(VMCB_EFER), 9
    RUN_INVALID "efer bit 9"
    call vmcb_gs
    bts VMCB_FIELD(VMCB_EFER), 63
    RUN_INVALID "efer bit 63"
    ; EFER.LME with CR0.PG: PAE, PE and CS.L+D.
    call vmcb_gs
    btr VMCB_FIELD(VMCB_CR4), 5
    RUN_INVALID "efer.lme cr0.pg without cr4.pae"
    call vmcb_gs
    btr VMCB_FIELD(VMCB_CR0), 0
    RUN_INVALID "efer.lme cr0.pg without cr0.pe"
    call vmcb_gs
    or word [SVM_VMCB + VMCB_CS + 2], 0x600          ; L and D
    RUN_INVALID "efer.lme cr0.pg cr4.pae cs.l+d"
    ; CR0: CD/NW combinations and the high half.
    call vmcb_gs
    bts VMCB_FIELD(VMCB_CR0), 29
    btr VMCB_FIELD(VMCB_CR0), 30
    RUN_INVALID "cr0 cd=0 nw=1"
    call vmcb_gs
    bts VMCB_FIELD(VMCB_CR0), 30
    RUN_OK "cr0 cd=1 nw=0 legal"
    call vmcb_gs
    or VMCB_FIELD(VMCB_CR0), CR0_CD | CR0_NW
    RUN_OK "cr0 cd=1 nw=1 legal"
    call vmcb_gs
    bts VMCB_FIELD(VMCB_CR0), 63
    RUN_INVALID "cr0 bit 63"
    ; CR3 in long mode: bits MAXPHYADDR..63 are MBZ; 11:5 and 2:0 are ignored (PCIDE=0).
    call vmcb_gs
    mov ecx, [maxphy]
    SET_BIT_CL VMCB_CR3
    RUN_INVALID "long cr3 bit maxphyaddr"
    call vmcb_gs
    bts VMCB_FIELD(VMCB_CR3), 63
    RUN_INVALID "long cr3 bit 63"
    call vmcb_gs
    or VMCB_FIELD(VMCB_CR3), 0xfe7
    RUN_OK "long cr3 bits 2:0,11:5 ignored"
    ; CR4 reserved bits.
    call vmcb_gs
    bts VMCB_FIELD(VMCB_CR4), 25
    RUN_INVALID "cr4 bit 25"
    call vmcb_gs
    bts VMCB_FIELD(VMCB_CR4), 63
    RUN_INVALID "cr4 bit 63"
    ; DR6/DR7 high halves.
    call vmcb_gs
    bts VMCB_FIELD(VMCB_DR6), 32
    RUN_INVALID "dr6 bit 32"
    call vmcb_gs
    bts VMCB_FIELD(VMCB_DR7), 63
    RUN_INVALID "dr7 bit 63"
    ; The 12 KiB IOPM and 8 KiB MSRPM must end below 2^MAXPHYADDR.
    call vmcb_gs
    mov rax, [phys_limit]
    sub rax, 0x3000
    mov VMCB_FIELD(VMCB_IOPM_PA), rax
    RUN_OK "iopm ends at maxphyaddr legal"
    call vmcb_gs
    mov rax, [phys_limit]
    sub rax, 0x2000
    mov VMCB_FIELD(VMCB_IOPM_PA), rax
    RUN_INVALID "iopm crosses maxphyaddr"
    call vmcb_gs
    mov rax, [phys_limit]
    sub rax, 0x2000
    mov VMCB_FIELD(VMCB_MSRPM_PA), rax
    RUN_OK "msrpm ends at maxphyaddr legal"
    call vmcb_gs
    mov rax, [phys_limit]
    sub rax, 0x1000
    mov VMCB_FIELD(VMCB_MSRPM_PA), rax
    RUN_INVALID "msrpm crosses maxphyaddr"
    ; EVENTINJ: reserved types and an exception type with a non-exception vector.
    call vmcb_gs
    mov dword [SVM_VMCB + VMCB_EVENT_INJ], EVT_V | (7 << 8) | 0x20
    RUN_INVALID "eventinj type 7"
    call vmcb_gs
    mov dword [SVM_VMCB + VMCB_EVENT_INJ], EVT_V | EVT_EXC | 0x40
    RUN_INVALID "eventinj exception vector 64"
    call vmcb_gs
    mov dword [SVM_VMCB + VMCB_EVENT_INJ], (7 << 8) | 0x20
    RUN_OK "eventinj type 7 without v legal"
    ; Legal: EFER.LME with paging off (32-bit protected mode); LMA stays 0.
    mov esi, 0x11
    xor edi, edi
    xor edx, edx
    call vmcb_32
    bts VMCB_FIELD(VMCB_EFER), 8
    RUN_OK "efer.lme paging off legal"
    EXPECT "efer.lme paging off efer", VMCB_FIELD(VMCB_EFER), EFER_SVME | EFER_LME
    ; Legal: non-canonical ES/SS/DS and GDTR/IDTR bases (VMRUN does not check them).
    call vmcb_gs
    mov rax, 0x0000800000000000
    or VMCB_FIELD(VMCB_ES + 8), rax
    or VMCB_FIELD(VMCB_DS + 8), rax
    or VMCB_FIELD(VMCB_SS + 8), rax
    RUN_OK "non-canonical es/ds/ss bases legal"
    call vmcb_gs
    mov rax, 0x8000000000000000
    or VMCB_FIELD(VMCB_GDTR + 8), rax
    or VMCB_FIELD(VMCB_IDTR + 8), rax
    RUN_OK "non-canonical gdtr/idtr bases legal"

    mov eax, [invalid_runs]
    PRINT "invalid runs: "
    PRINT_DEC eax
    PRINT_CHAR 10
    mov eax, [invalid_l1_bad]
    EXPECT "invalid runs left l1 registers alone", rax, 0
    mov eax, [invalid_info_bad]
    EXPECT "invalid runs exitinfo1 zero", rax, 0
    ret

; ==== VMLOAD canonicalization ==================================================================
; FS/GS/TR/LDTR bases and KernelGsBase loaded non-canonical come back from VMSAVE canonical:
; sign-extended from the top implemented linear-address bit (CPUID 8000_0008 EAX[15:8] - 1: bit
; 47 on vx86, bit 56 on a CPU model with LA57, as kvm-unit-tests computes it). Every value below
; is non-canonical for both widths. L1's own VMLOAD state is saved first and restored after.
; CANON_EXPECT "name", field, value: compare the VMSAVEd field with value made canonical.
%macro CANON_EXPECT 3
    mov r8, %3
    mov ecx, [canon_shift]
    shl r8, cl
    sar r8, cl
    EXPECT %1, qword [VMCB3 + %2], r8
%endmacro
CANON_FS   equ 0x0100800000001000
CANON_GS   equ 0x8000000000002000
CANON_LDTR equ 0x7f00ffffffff3000
CANON_TR   equ 0x1234000000023000
CANON_KGS  equ 0x80abcdef00004000

test_canonicalization:
    mov eax, 0x80000008
    cpuid
    movzx eax, ah
    mov ecx, 64
    sub ecx, eax
    mov [canon_shift], ecx
    mov eax, L1_BACKUP
    vmsave
    mov eax, SVM_VMCB2
    vmsave
    mov rax, CANON_FS
    mov [SVM_VMCB2 + VMCB_FS + 8], rax
    mov rax, CANON_GS
    mov [SVM_VMCB2 + VMCB_GS + 8], rax
    mov rax, CANON_LDTR
    mov [SVM_VMCB2 + VMCB_LDTR + 8], rax
    mov rax, CANON_TR
    mov [SVM_VMCB2 + VMCB_TR + 8], rax
    mov rax, CANON_KGS
    mov [SVM_VMCB2 + VMCB_KGSBASE], rax
    mov eax, SVM_VMCB2
    vmload
    mov eax, VMCB3
    vmsave
    mov eax, L1_BACKUP
    vmload
    CANON_EXPECT "vmload canonical fs.base", VMCB_FS + 8, CANON_FS
    CANON_EXPECT "vmload canonical gs.base", VMCB_GS + 8, CANON_GS
    CANON_EXPECT "vmload canonical ldtr.base", VMCB_LDTR + 8, CANON_LDTR
    CANON_EXPECT "vmload canonical tr.base", VMCB_TR + 8, CANON_TR
    CANON_EXPECT "vmload canonical kernelgsbase", VMCB_KGSBASE, CANON_KGS
    ret

; ==== svm_cr4_osxsave_test =====================================================================
; L1 runs with CR4.OSXSAVE=1; L2 clears its own; after the exit L1's CPUID.1:ECX.OSXSAVE (bit 27)
; must again reflect L1's CR4.
test_osxsave:
    mov eax, 1
    cpuid
    bt ecx, 26
    jc .xsave
    PRINTLN "svm_cr4_osxsave_test: skipped (no XSAVE)"
    ret
.xsave:
    mov rax, cr4
    bts rax, 18
    mov cr4, rax
    mov eax, 1
    cpuid
    shr ecx, 27
    and ecx, 1
    EXPECT "osxsave cpuid before vmrun", rcx, 1
    call vmcb_ident
    mov VMCB_FIELD(VMCB_RIP), l2_osxsave
    RUN_OK "osxsave l2 exit"
    mov rax, VMCB_FIELD(VMCB_CR4)
    and eax, CR4_OSXSAVE
    EXPECT "osxsave l2 cr4 cleared", rax, 0
    mov eax, 1
    cpuid
    shr ecx, 27
    and ecx, 1
    EXPECT "osxsave cpuid after vmexit", rcx, 1
    mov rax, cr4
    btr rax, 18
    mov cr4, rax
    ret

align 8
maxphy:           dd 0
canon_shift:      dd 0
invalid_runs:     dd 0
invalid_l1_bad:   dd 0
invalid_info_bad: dd 0
phys_limit:       dq 0

; ---- L2 ------------------------------------------------------------------------------------
bits 64
l2_gs:
    mov ebx, 0x600d
    vmmcall
l2_osxsave:
    mov rax, cr4
    btr rax, 18
    mov cr4, rax
    vmmcall

; mode_switch, 64-bit start: far return into the 32-bit code segment (compatibility mode).
l2_ms64:
    push SEL_KCODE32
    push l2_ms_compat
    o64 retf
bits 32
l2_ms_compat:
l2_ms_stop1:
    vmmcall
    mov eax, cr0                        ; leave long mode (CS.L=0 here)
    and eax, ~CR0_PG
    mov cr0, eax
    mov ecx, MSR_EFER
    rdmsr
    and eax, ~EFER_LME
    wrmsr
    mov eax, cr4
    and eax, ~CR4_PAE
    mov cr4, eax
    mov ax, SEL_KDATA
    mov ds, ax
    mov es, ax
    mov ss, ax
l2_ms_stop2:
    vmmcall
    jmp SEL_STUB16:(rm_pm16 - rm_stub)
l2_ms_back32:                           ; from real mode via the 32-bit code segment
    mov ax, SEL_KDATA
    mov ds, ax
    mov es, ax
    mov ss, ax
l2_ms_stop5:
    vmmcall
    mov eax, cr4
    or eax, CR4_PAE
    mov cr4, eax
    mov ecx, MSR_EFER
    rdmsr
    or eax, EFER_LME
    wrmsr
    mov eax, cr0
    or eax, CR0_PG
    mov cr0, eax
    jmp SEL_KCODE64:l2_ms_back64
bits 64
l2_ms_back64:
    mov ax, SEL_KDATA64
    mov ds, ax
    mov es, ax
    mov ss, ax
l2_ms_stop6:
    vmmcall
    jmp l2_ms_stop6

; The 32-bit stub of the direct-mode and paging tests.
bits 32
l2_pm32:
    mov eax, cr0
    mov ebx, [pm32_magic]
l2_pm32_vmmcall:
    vmmcall
    jmp l2_pm32
pm32_magic: dd 0x32323232

; ---- 16-bit stub, copied to STUB_BASE (position independent: offsets from rm_stub) ---------
bits 16
rm_stub:
rm_pm16:                                ; 16-bit protected mode, CS = SEL_STUB16
    mov ax, SEL_STUBD16
    mov ds, ax
    mov es, ax
    mov ss, ax
rm_stop3:
    vmmcall
    mov eax, cr0
    and eax, ~CR0_PE
    mov cr0, eax
    jmp STUB_SEG:(rm_real - rm_stub)
rm_real:
    mov ax, cs
    mov ds, ax
    mov es, ax
    mov ss, ax
rm_stop4:
    vmmcall
    mov eax, cr0
    or eax, CR0_PE
    mov cr0, eax
    jmp dword SEL_KCODE32:l2_ms_back32
; A VMCB that starts L2 in real mode runs this.
rm_direct:
    mov ax, cs
    mov bx, [cs:rm_magic - rm_stub]
    push word 0x1234
    pop cx
rm_direct_vmmcall:
    vmmcall
    jmp rm_direct_vmmcall
rm_magic: dw 0xbeef
rm_stub_end:
