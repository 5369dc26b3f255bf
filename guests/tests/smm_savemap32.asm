; smm_savemap32.asm - -bios guest for the 32-bit SMRAM save map (revision 0x00020000), which a
; CPU without long mode uses (run with -cpu qemu64,-lm; the QEMU oracle is qemu-system-i386,
; whose save map is the 32-bit one). An SMI from 32-bit protected mode: the handler copies the
; map to normal RAM and relocates SMBASE through the 32-bit field (SMBASE + 0xFEF8); the main code
; prints every defined field, then a second SMI must enter at the new base.
%include "bios.inc"
%include "smm.inc"

COPY   equ SCRATCH
RUNS   equ 0x7100
NEWBASE equ 0x50000

; F "name", offset: one 32-bit field of the copied map (offset = SMBASE + 0xFE00 + n).
%macro F 2
    PRINT " ", %1, "="
    PRINT_HEX32 [COPY + %2]
%endmacro

bits 16
main16:
    SMI_ENABLE
    COPY_TO SMBASE_DEFAULT + 0x8000, handler, handler_end
    COPY_TO NEWBASE + 0x8000, handler, handler_end
    PM32_ENTER
pm32:
    mov ax, SEL_KDATA16
    mov fs, ax
    xor ax, ax
    mov gs, ax
    mov eax, 0xa0a0a0a0
    mov ebx, 0xb0b0b0b0
    mov ecx, 0xc0c0c0c0
    mov edx, 0xd0d0d0d0
    mov esi, 0x51515151
    mov edi, 0xd1d1d1d1
    mov ebp, 0xb1b1b1b1
    mov al, 0x40
    out APM_CNT, al
    jmp short .after
.after:
    PRINT "map:"
    F "rev", 0xfc
    F "smbase", 0xf8
    F "cr0", 0x1fc
    F "cr3", 0x1f8
    F "cr4", 0x114
    F "eflags", 0x1f4
    F "dr7", 0x1c8
    PRINT_CHAR 10
    PRINT "gprs:"
    F "eax", 0x1d0
    F "ecx", 0x1d4
    F "edx", 0x1d8
    F "ebx", 0x1dc
    F "esp", 0x1e0
    F "ebp", 0x1e4
    F "esi", 0x1e8
    F "edi", 0x1ec
    PRINT_CHAR 10
    PRINT "selectors:"
    F "es", 0x1a8
    F "cs", 0x1ac
    F "ss", 0x1b0
    F "ds", 0x1b4
    F "fs", 0x1b8
    F "gs", 0x1bc
    F "ldtr", 0x1c0
    F "tr", 0x1c4
    PRINT_CHAR 10
    PRINT "cs cache:"
    F "flags", 0x190
    F "limit", 0x194
    F "base", 0x198
    PRINT " fs cache:"
    F "flags", 0x138
    F "limit", 0x13c
    PRINT_CHAR 10
    PRINT "tables:"
    F "gdtr.limit", 0x170
    F "gdtr.base", 0x174
    F "idtr.limit", 0x154
    F "idtr.base", 0x158
    PRINT_CHAR 10
    ; The saved EIP is the instruction after the OUT on vx86, after the JMP on QEMU (see
    ; smm_modes.qemu-diff); both are in [.after - 2, .after].
    mov eax, [COPY + 0x1f0]
    sub eax, .after - 2
    cmp eax, 2
    ja .bad_eip
    PRINTLN "eip: at the smi point"
    jmp .second
.bad_eip:
    PRINTLN "eip: wrong"
.second:
    mov al, 0x41
    out APM_CNT, al
    jmp short .after2
.after2:
    PRINT "second smi: smbase="
    PRINT_HEX32 [COPY + 0xf8]
    PRINT " runs="
    PRINT_HEX8 [RUNS]
    PRINT_CHAR 10
    PASS

bits 16
handler:
    mov esi, cs
    shl esi, 4
    add esi, 0xfe00                     ; SMBASE + 0xFE00 (CS = SMBASE >> 4 below 1 MiB)
    mov edi, COPY
    mov ecx, 512
    a32 rep movsb
    mov dword [cs:0xfef8], NEWBASE      ; relocation through the 32-bit map's field
    inc byte [RUNS]
    rsm
handler_end:

BIOS_END
