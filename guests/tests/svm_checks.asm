; svm_checks.asm - -bios guest (-cpu qemu64,+svm): VMRUN's consistency checks (APM Vol 2, 15.5.1)
; one at a time on a valid flat 32-bit VMCB. Each broken field must give VMEXIT_INVALID with L1
; continuing after VMRUN (ESI/EBX intact); the legal oddities at the end must run L2 to its
; VMMCALL (exit 0x81). Only the low half of EXITCODE is printed: QEMU's 32-bit VMEXIT_INVALID is
; documented in svm_smoke.qemu-diff.
%include "bios.inc"
%include "svm32.inc"

VMCB     equ 0x90000
HSAVE    equ 0x91000
IOPM     equ 0x92000
L2_STACK equ 0x9f000

; RUN_CASE "name": VMRUN the prepared VMCB and print the exit code and an L1 register.
%macro RUN_CASE 1
    mov ebx, 0x600dd00d
    VMRUN_AT VMCB
    PRINT %1, ": exit="
    PRINT_HEX32 [VMCB + VMCB_EXIT_CODE]
    PRINT " l1="
    PRINT_HEX32 ebx
    PRINT_CHAR 10
%endmacro

; CASE "name", field, value, how(mov|or): rebuild the VMCB, break one field, run.
%macro CASE 4
    VMCB_FLAT32 VMCB, l2, L2_STACK
    %4 dword [VMCB + %2], %3
    RUN_CASE %1
%endmacro

; CASE2 "name", field1, value1, field2, value2: two fields set at once.
%macro CASE2 5
    VMCB_FLAT32 VMCB, l2, L2_STACK
    mov dword [VMCB + %2], %3
    mov dword [VMCB + %4], %5
    RUN_CASE %1
%endmacro

bits 16
main16:
    PM32_ENTER
    SVM_SETUP HSAVE
    CASE "asid 0", VMCB_ASID, 0, mov
    CASE "vmrun intercept clear", VMCB_INTERCEPT_MISC2, 2, mov
    CASE "efer.svme clear", VMCB_EFER, 0, mov
    CASE "efer bit 9", VMCB_EFER, 1 << 9, or
    CASE "efer bit 40", VMCB_EFER + 4, 1 << 8, or
    CASE "cr0 nw without cd", VMCB_CR0, 1 << 29, or
    CASE "cr0 bit 32", VMCB_CR0 + 4, 1, or
    CASE "cr3 bit 52", 0x550 + 4, 1 << 20, or
    CASE "cr4 bit 31", 0x548, 1 << 31, or
    CASE "dr6 bit 32", VMCB_DR6 + 4, 1, or
    CASE "dr7 bit 32", VMCB_DR7 + 4, 1, or
    CASE2 "lme+pg without pae", VMCB_CR0, 0x80000011, VMCB_EFER, (1 << 12) | (1 << 8)
    CASE "eventinj nmi vector", VMCB_EVENT_INJ, 0x80000302, mov
    CASE "eventinj type 1", VMCB_EVENT_INJ, 0x80000120, mov
    CASE "iopm beyond maxphyaddr", VMCB_IOPM + 4, 0x100, mov  ; base 2^40
    ; Legal: ignored CR3 low bits, an unknown TLB_CONTROL value, a non-canonical ES base.
    CASE "cr3 low bits", 0x550, 0x18, or
    CASE "tlb_control 2", 0x05c, 2, mov
    CASE "es base high", VMCB_ES + 12, 0x80000000, mov
    PASS

l2:
    vmmcall

BIOS_END
