; smm_modes.asm - -bios guest: SMIs taken in real mode, 32-bit protected mode with PAE paging,
; 64-bit long mode and compatibility mode (run with -machine q35,smm=on). The handler copies the
; 64-bit save map (revision 0x00020064, APM Vol 2 Table 10-2) to normal RAM, where the main code
; prints it field by field, and edits it (saved RAX + 1; in some cases a new saved RIP) to show
; that RSM loads the image back in every mode.
%include "bios.inc"
%include "paging.inc"
%include "smm.inc"

COPY    equ SCRATCH                     ; the save area copied by the handler
ACTION  equ 0x7200                      ; bit 0: saved RAX += 1; bit 1: saved RIP = [TARGET]
TARGET  equ 0x7204
RUNS    equ 0x7208

; Save-map offsets (SMBASE + 0xFE00 + n).
SM_ES equ 0x00
SM_CS equ 0x10
SM_SS equ 0x20
SM_DS equ 0x30
SM_FS equ 0x40
SM_GS equ 0x50
SM_GDTR equ 0x60
SM_IDTR equ 0x80
SM_TR equ 0x90
SM_EFER equ 0xd0
SM_REV equ 0xfc
SM_SMBASE equ 0x100
SM_CR4 equ 0x148
SM_CR3 equ 0x150
SM_CR0 equ 0x158
SM_DR7 equ 0x160
SM_RFLAGS equ 0x170
SM_RIP equ 0x178
SM_GPR equ 0x180                        ; R15 first: register n at 0x1F8 - 8n

; SEGF "name", offset: selector:attributes:limit:base(low 32) of one saved segment (flat DS).
%macro SEGF 2
    PRINT " ", %1, "="
    movzx eax, word [COPY + %2]
    PRINT_HEX16 eax
    PRINT ":"
    movzx eax, word [COPY + %2 + 2]
    PRINT_HEX16 eax
    PRINT ":"
    PRINT_HEX32 [COPY + %2 + 4]
    PRINT ":"
    PRINT_HEX32 [COPY + %2 + 8]
%endmacro

; DUMP "mode": the saved control state. RFLAGS, CR0, CR4 and DR7 are printed as their low 32
; bits (QEMU stores only those; the fields are 8 bytes in the manual).
%macro DUMP 1
    PRINT %1, ":"
    SEGF "cs", SM_CS
    SEGF "ss", SM_SS
    SEGF "ds", SM_DS
    PRINT_CHAR 10
    PRINT %1, ":"
    PRINT " cr0="
    PRINT_HEX32 [COPY + SM_CR0]
    PRINT " cr3="
    PRINT_HEX32 [COPY + SM_CR3]
    PRINT " cr4="
    PRINT_HEX32 [COPY + SM_CR4]
    PRINT " efer="
    PRINT_HEX32 [COPY + SM_EFER]
    PRINT " rflags="
    PRINT_HEX32 [COPY + SM_RFLAGS]
    PRINT " dr7="
    PRINT_HEX32 [COPY + SM_DR7]
    PRINT " gdtr="
    PRINT_HEX32 [COPY + SM_GDTR + 8]
    PRINT "/"
    PRINT_HEX16 [COPY + SM_GDTR + 4]
    PRINT " rev="
    PRINT_HEX32 [COPY + SM_REV]
    PRINT " smbase="
    PRINT_HEX32 [COPY + SM_SMBASE]
    PRINT_CHAR 10
%endmacro

bits 16
main16:
    SMI_ENABLE
    COPY_TO SMBASE_DEFAULT + 0x8000, handler, handler_end

    ; --- real mode: saved RAX + 1
    mov byte [ACTION], 1
    mov eax, 0x11111111
    mov ebx, 0xb0b0b0b0
    RAISE_SMI 0x10
.real_smi_end:
    mov [0x7300], eax
    mov [0x7304], ebx
    mov ax, COPY >> 4
    mov fs, ax
    PRINT "real: eax after rsm="
    PRINT_HEX32 [0x7300]
    PRINT " ebx="
    PRINT_HEX32 [0x7304]
    PRINT " saved rbx="
    PRINT_HEX32 [fs:SM_GPR + 0x78 - 8 * 3]
    PRINT " runs="
    PRINT_HEX8 [RUNS]
    PRINT_CHAR 10
    ; Where the SMI was taken: right after the OUT on vx86 (the chipset asserts SMI# during the
    ; write); QEMU 7.2 checks for it only at the end of the translation block, after the JMP
    ; that RAISE_SMI adds (smm_modes.qemu-diff).
    mov eax, [fs:SM_RIP]
    sub eax, .real_smi_end - 2
    PRINT "real: saved rip - end of out="
    PRINT_HEX8 eax
    PRINT_CHAR 10
    xor ax, ax
    mov fs, ax

    PM32_ENTER
pm32:
    call paging_build
    ; --- 32-bit protected mode with PAE paging: saved RAX + 1, new saved RIP
    mov eax, cr4
    or eax, CR4_PAE
    mov cr4, eax
    mov eax, PT_PDPT
    mov cr3, eax
    mov eax, cr0
    or eax, CR0_PG
    mov cr0, eax
    mov byte [ACTION], 3
    mov dword [TARGET], .pm_target
    mov eax, 0x22222222
    RAISE_SMI 0x11
    PRINTLN "pm32: FAIL resumed at the interrupted code"
    EXIT EXIT_FAILURE
.pm_target:
    mov [0x7300], eax
    PRINT "pm32: resumed at the handler's rip, eax="
    PRINT_HEX32 [0x7300]
    PRINT_CHAR 10
    DUMP "pm32"
    mov eax, cr0
    and eax, ~CR0_PG
    mov cr0, eax
    mov eax, cr4
    and eax, ~CR4_PAE
    mov cr4, eax

    LONG_MODE_ENTER
    ; --- 64-bit long mode: every GPR distinct, FS base set, saved RAX + 1
    mov ecx, 0xc0000100                 ; FS.base
    mov eax, 0x9abcdef0
    mov edx, 0x12345678 & 0x7fff
    wrmsr
    mov byte [ACTION], 1
    mov rax, 0x0101010101010101
    mov rbx, 0x0303030303030303
    mov rcx, 0x0202020202020202
    mov rdx, 0x0404040404040404
    mov rsi, 0x0606060606060606
    mov rdi, 0x0707070707070707
    mov r8, 0x0808080808080808
    mov r9, 0x0909090909090909
    mov r10, 0x0a0a0a0a0a0a0a0a
    mov r11, 0x0b0b0b0b0b0b0b0b
    mov r12, 0x0c0c0c0c0c0c0c0c
    mov r13, 0x0d0d0d0d0d0d0d0d
    mov r14, 0x0e0e0e0e0e0e0e0e
    mov r15, 0x0f0f0f0f0f0f0f0f
    mov al, 0x12
    out APM_CNT, al
    jmp short .long_after
.long_after:
    mov [0x7300], rax
    mov [0x7308], r15
    PRINT "long: rax after rsm="
    PRINT_HEX64 [0x7300]
    PRINT " r15="
    PRINT_HEX64 [0x7308]
    PRINT_CHAR 10
    PRINT "long: saved"
    mov ecx, 15
.gprs:
    mov rax, [COPY + SM_GPR + rcx * 8]
    PRINT " "
    PRINT_HEX8 eax
    dec ecx
    jns .gprs
    PRINT " fs.base="
    PRINT_HEX64 [COPY + SM_FS + 8]
    PRINT_CHAR 10
    DUMP "long"

    ; --- compatibility mode (32-bit code under long mode): saved RAX + 1, new saved RIP
    push SEL_KCODE32
    push compat
    o64 retf
bits 32
compat:
    mov byte [ACTION], 3
    mov dword [TARGET], .compat_target
    mov eax, 0x33333333
    RAISE_SMI 0x13
    PRINTLN "compat: FAIL resumed at the interrupted code"
    EXIT EXIT_FAILURE
.compat_target:
    mov [0x7300], eax
    PRINT "compat: resumed at the handler's rip, eax="
    PRINT_HEX32 [0x7300]
    PRINT_CHAR 10
    DUMP "compat"
    PRINT "runs="
    PRINT_HEX8 [RUNS]
    PRINT_CHAR 10
    PASS

; The handler (16-bit, at SMBASE + 0x8000, DS/ES base 0 with 4 GiB limits).
bits 16
handler:
    mov esi, SMBASE_DEFAULT + 0xfe00
    mov edi, COPY
    mov ecx, 512
    a32 rep movsb
    test byte [ACTION], 1
    jz .no_rax
    inc dword [cs:0xfff8]
.no_rax:
    test byte [ACTION], 2
    jz .no_rip
    mov eax, [TARGET]
    mov [cs:0xff78], eax
    mov dword [cs:0xff7c], 0
.no_rip:
    inc byte [RUNS]
    rsm
handler_end:

BIOS_END
