; svm_smoke.asm - -bios guest (-cpu qemu64,+svm): a self-contained 32-bit protected-mode L1 that
; runs L2 (flat 32-bit, sharing L1's GDT) through the basic SVM paths and prints one line each:
; VMMCALL exit, CPUID intercept with the guest RIP left at CPUID, VMEXIT_INVALID for ASID 0 and
; for a clear VMRUN intercept (L1 state intact), IOIO EXITINFO1/2, MSRPM write intercept, #UD
; intercept, EVENTINJ of a #DE handled by L2 (EVENTINJ.V cleared), V_IRQ delivered through L2's IDT,
; VMLOAD/VMSAVE of FS, and CLGI/STGI. The values printed are the same on QEMU TCG and the AMD
; manual (qemu64 offers no NRIPS, so nRIP is not printed here).
%include "bios.inc"
%include "svm32.inc"

VMCB     equ 0x90000                    ; the VMCB L1 runs
HSAVE    equ 0x91000
TEMPLATE equ 0x92000                    ; a clean copy, restored before each test
VMCB2    equ 0x93000                    ; VMLOAD/VMSAVE scratch
IOPM     equ 0x94000                    ; 12 KiB
MSRPM    equ 0x97000                    ; 8 KiB
L2_IDT   equ 0x99000                    ; 32 gates + 0x50
L2_STACK equ 0x9f000
MARK     equ 0x7100                     ; L2 handlers record what they saw here

; VMCB offsets (APM Vol 2, Appendix B).
V_MISC1  equ 0x00c
V_MISC2  equ 0x010
V_EXC    equ 0x008
V_IOPM   equ 0x040
V_MSRPM  equ 0x048
V_ASID   equ 0x058
V_INTCTL equ 0x060
V_INTVEC equ 0x064
V_CODE   equ 0x070
V_INFO1  equ 0x078
V_INFO2  equ 0x080
V_EVTINJ equ 0x0a8
V_RIP    equ 0x578
V_RFLAGS equ 0x570
V_FS     equ 0x440

; RUN_L2 entry: restore the template, point L2 at `entry`; the caller then edits fields.
%macro RESET_VMCB 1
    mov esi, TEMPLATE
    mov edi, VMCB
    mov ecx, 0x1000 / 4
    rep movsd
    mov dword [VMCB + V_RIP], %1
%endmacro

; GO "name": VMRUN and print "name: exit=<code>".
%macro GO 1
    mov eax, VMCB
    vmrun
    PRINT %1, ": exit="
    PRINT_HEX32 [VMCB + V_CODE + 4]
    PRINT_HEX32 [VMCB + V_CODE]
%endmacro

bits 16
main16:
    PM32_ENTER
    SVM_SETUP HSAVE
    mov edi, VMCB                       ; zero everything from VMCB to the L2 IDT
    mov ecx, (L2_IDT + 0x1000 - VMCB) / 4
    xor eax, eax
    rep stosd
    ; The template: flat 32-bit L2 intercepting VMRUN and VMMCALL, ASID 1, bitmaps, its own IDT.
    VMCB_FLAT32 TEMPLATE, 0, L2_STACK
    mov dword [TEMPLATE + VMCB_IOPM], IOPM
    mov dword [TEMPLATE + VMCB_MSRPM], MSRPM
    mov word [TEMPLATE + VMCB_IDTR + 4], 0x50 * 8 + 7
    mov dword [TEMPLATE + VMCB_IDTR + 8], L2_IDT
    ; L2's IDT: #DE -> l2_de, vector 0x50 -> l2_irq (32-bit interrupt gates).
    mov eax, l2_de
    mov edi, L2_IDT
    call set_gate
    mov eax, l2_irq
    mov edi, L2_IDT + 0x50 * 8
    call set_gate

    ; 1. The null guest: VMMCALL exits with 0x81 and RIP at the VMMCALL.
    RESET_VMCB l2_vmmcall
    GO "vmmcall"
    mov eax, [VMCB + V_RIP]
    sub eax, l2_vmmcall
    PRINT " rip=+"
    PRINT_HEX8 eax
    PRINT_CHAR 10

    ; 2. CPUID intercept: RIP stays at CPUID, L2's EAX/EBX untouched by the exit.
    RESET_VMCB l2_cpuid
    or dword [VMCB + V_MISC1], 1 << 18
    GO "cpuid"
    mov eax, [VMCB + V_RIP]
    sub eax, l2_cpuid
    PRINT " rip=+"
    PRINT_HEX8 eax
    PRINT_CHAR 10

    ; 3. VMEXIT_INVALID: ASID 0, then no VMRUN intercept. L1 continues; ESP and EBX survive.
    RESET_VMCB l2_vmmcall
    mov dword [VMCB + V_ASID], 0
    mov ebx, 0x5a5a5a5a
    GO "asid0"
    PRINT " ebx="
    PRINT_HEX32 ebx
    PRINT_CHAR 10
    RESET_VMCB l2_vmmcall
    mov dword [VMCB + V_MISC2], 2
    GO "no-vmrun-intercept"
    PRINT_CHAR 10

    ; 4. IOIO: OUT DX, AL to port 0x1234 with its IOPM bit set.
    mov eax, 0x1234                     ; a register bit offset reaches past the first dword
    bts [IOPM], eax
    RESET_VMCB l2_out
    or dword [VMCB + V_MISC1], 1 << 27
    GO "ioio"
    PRINT " info1="
    PRINT_HEX32 [VMCB + V_INFO1]
    mov eax, [VMCB + V_INFO2]
    sub eax, l2_out
    PRINT " info2=+"
    PRINT_HEX8 eax
    PRINT_CHAR 10

    ; 5. MSRPM: EFER (C000_0080) write intercepted, read not: RDMSR runs, WRMSR exits.
    mov eax, 0x80 * 2 + 1
    bts [MSRPM + 0x800], eax
    RESET_VMCB l2_msr
    or dword [VMCB + V_MISC1], 1 << 28
    GO "msr"
    PRINT " info1="
    PRINT_HEX32 [VMCB + V_INFO1]
    mov eax, [VMCB + V_RIP]
    sub eax, l2_msr
    PRINT " rip=+"
    PRINT_HEX8 eax
    PRINT_CHAR 10

    ; 6. #UD intercept (vector 6).
    RESET_VMCB l2_ud
    mov dword [VMCB + V_EXC], 1 << 6
    GO "ud"
    PRINT_CHAR 10

    ; 7. EVENTINJ #DE (type 3): L2's handler runs, then VMMCALL; V is clear afterwards.
    RESET_VMCB l2_vmmcall
    mov dword [VMCB + V_EVTINJ], 0x80000300
    mov dword [MARK], 0
    GO "inject-de"
    PRINT " mark="
    PRINT_HEX32 [MARK]
    PRINT " eventinj="
    PRINT_HEX32 [VMCB + V_EVTINJ]
    PRINT_CHAR 10

    ; 8. V_IRQ vector 0x50, priority 15: taken once L2 sets IF, before its VMMCALL.
    RESET_VMCB l2_sti
    mov dword [VMCB + V_INTCTL], (1 << 8) | (0xf << 16)
    mov dword [VMCB + V_INTVEC], 0x50
    mov dword [MARK], 0
    GO "virq"
    PRINT " mark="
    PRINT_HEX32 [MARK]
    PRINT " v_irq="
    mov eax, [VMCB + V_INTCTL]
    shr eax, 8
    and eax, 1
    PRINT_HEX8 eax
    PRINT_CHAR 10

    ; 9. VMLOAD/VMSAVE move FS with its hidden base.
    mov dword [VMCB2 + V_FS], SEL_KDATA | (0xc93 << 16)
    mov dword [VMCB2 + V_FS + 4], 0xffffffff
    mov dword [VMCB2 + V_FS + 8], 0x71000
    mov eax, VMCB2
    vmload
    mov dword [0x71004], 0x600dcafe
    mov eax, [fs:4]
    PRINT "vmload: fs:[4]="
    PRINT_HEX32 eax
    mov dword [VMCB2 + V_FS + 8], 0
    mov eax, VMCB2
    vmsave
    PRINT " saved base="
    PRINT_HEX32 [VMCB2 + V_FS + 8]
    PRINT_CHAR 10

    ; 10. CLGI/STGI execute in L1 (GIF is not readable; they must not fault).
    clgi
    stgi
    PRINT "gif: ok", 10
    PASS

set_gate:                               ; EAX = handler, EDI = gate
    mov [edi], ax
    mov word [edi + 2], SEL_KCODE32
    mov word [edi + 4], 0x8e00
    shr eax, 16
    mov [edi + 6], ax
    ret

; ---- L2 code -----------------------------------------------------------------------------
l2_vmmcall:
    vmmcall
l2_cpuid:
    xor eax, eax
    cpuid
    vmmcall
l2_out:
    mov dx, 0x1234
    out dx, al
    vmmcall
l2_msr:
    mov ecx, 0xc0000080
    rdmsr
    wrmsr
    vmmcall
l2_ud:
    ud2
l2_sti:
    sti
    nop
    nop
    vmmcall
l2_de:
    mov dword [MARK], 0xde
    iretd
l2_irq:
    mov dword [MARK], 0x50
    iretd

BIOS_END
