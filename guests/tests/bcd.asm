; bcd.asm - multiboot guest for the BCD adjust instructions DAA/DAS/AAA/AAS/AAM/AAD: sweeps inputs
; and input CF/AF, hashing results with only the flags each instruction defines; #UD in 64-bit mode.
%include "multiboot.inc"
%include "idt.inc"
%include "paging.inc"

F_CF equ 0x01
F_PF equ 0x04
F_AF equ 0x10
F_ZF equ 0x40
F_SF equ 0x80

; SWEEP "name", mask, al_first, al_last, ah, instruction...
; For CF/AF in {0,1}^2 and AL in [first, last]: hash = hash*31 + AX, hash = hash*31 + (flags & mask).
%macro SWEEP 6+
    xor ebp, ebp
    xor edi, edi                   ; input flag combination 0..3
%%flags:
    mov ebx, %3
%%al:
    mov eax, edi
    and eax, 1                     ; CF
    test edi, 2
    jz %%noaf
    or eax, F_AF
%%noaf:
    or eax, 2
    push eax
    mov eax, %5 << 8
    mov al, bl
    popfd
    %6
    pushfd
    pop edx
    and edx, %2
    imul ebp, ebp, 31
    movzx eax, ax
    add ebp, eax
    imul ebp, ebp, 31
    add ebp, edx
    inc ebx
    cmp ebx, %4
    jbe %%al
    inc edi
    cmp edi, 4
    jb %%flags
    PRINT %1, " hash="
    PRINT_HEX32 ebp
    PRINT_CHAR 10
%endmacro

; ONE "text", ax, flags_in, mask, instruction: print AX and defined flags after one instruction
%macro ONE 5
    PRINT %1
    push dword %3 | 2
    mov eax, %2
    popfd
    %5
    pushfd
    pop edx
    and edx, %4
    PRINT " ax="
    PRINT_HEX16 eax
    PRINT " fl="
    PRINT_HEX8 edx
    PRINT_CHAR 10
%endmacro

main:
    call idt32_init
    ONE "daa 0x9a:         ", 0x009a, 0, F_CF|F_AF|F_SF|F_ZF|F_PF, daa
    ONE "daa 0x15 af:      ", 0x0015, F_AF, F_CF|F_AF|F_SF|F_ZF|F_PF, daa
    ONE "daa 0x00 cf:      ", 0x0000, F_CF, F_CF|F_AF|F_SF|F_ZF|F_PF, daa
    ONE "das 0x03 af:      ", 0x0003, F_AF, F_CF|F_AF|F_SF|F_ZF|F_PF, das
    ONE "das 0xa0:         ", 0x00a0, 0, F_CF|F_AF|F_SF|F_ZF|F_PF, das
    ONE "aaa 0x0b:         ", 0x010b, 0, F_CF|F_AF, aaa
    ONE "aas 0x2f af:      ", 0x022f, F_AF, F_CF|F_AF, aas
    ONE "aam 10 of 0x4f:   ", 0x004f, 0, F_SF|F_ZF|F_PF, aam
    ONE "aad 10 of 0x0709: ", 0x0709, 0, F_SF|F_ZF|F_PF, aad
    ONE "aam 16 of 0xc3:   ", 0x00c3, 0, F_SF|F_ZF|F_PF, {db 0xd4, 16}
    ONE "aad 7 of 0x2305:  ", 0x2305, 0, F_SF|F_ZF|F_PF, {db 0xd5, 7}

    SWEEP "daa all       ", F_CF|F_AF|F_SF|F_ZF|F_PF, 0, 255, 0x12, daa
    SWEEP "das all       ", F_CF|F_AF|F_SF|F_ZF|F_PF, 0, 255, 0x12, das
    ; AAA/AAS: Intel adjusts AX by 0x106 (carry/borrow between AL and AH) while the AMD APM only
    ; adds/subtracts 6 to AL and steps AH; the sweeps keep AL in 06..f9 where both agree.
    SWEEP "aaa 06-f9     ", F_CF|F_AF, 0x06, 0xf9, 0x34, aaa
    SWEEP "aas 06-f9     ", F_CF|F_AF, 0x06, 0xf9, 0x34, aas
    SWEEP "aam 10 all    ", F_SF|F_ZF|F_PF, 0, 255, 0x56, aam
    SWEEP "aam 3 all     ", F_SF|F_ZF|F_PF, 0, 255, 0x56, {db 0xd4, 3}
    SWEEP "aad 10 all    ", F_SF|F_ZF|F_PF, 0, 255, 0x09, aad
    SWEEP "aad 255 all   ", F_SF|F_ZF|F_PF, 0, 255, 0xab, {db 0xd5, 255}

    mov eax, 0x55
    TRY .de_r
.de: db 0xd4, 0                              ; AAM 0 -> #DE
.de_r:
    ENDTRY
    PRINT "aam 0:"
    mov ebx, .de
    call report_exc32
    PRINT_CHAR 10

    call paging_build
    LONG_MODE_ENTER
    call idt64_init
    TRY .ud1_r
.ud1: db 0x27                                ; DAA is invalid in 64-bit mode
.ud1_r:
    ENDTRY
    PRINT "daa in 64-bit:"
    mov ebx, .ud1
    call report_exc64
    PRINT_CHAR 10
    TRY .ud2_r
.ud2: db 0xd4, 10                            ; AAM is invalid in 64-bit mode
.ud2_r:
    ENDTRY
    PRINT "aam in 64-bit:"
    mov ebx, .ud2
    call report_exc64
    PRINT_CHAR 10
    PASS
