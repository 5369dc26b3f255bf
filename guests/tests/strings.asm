; strings.asm - multiboot guest for string instructions: REP MOVS/STOS/CMPS/SCAS/LODS with DF=0/1,
; REP with a zero count, overlapping copies, 16-bit address size in 32-bit code, 64-bit forms.
%include "multiboot.inc"
%include "idt.inc"
%include "paging.inc"

SRC equ SCRATCH
DST equ SCRATCH + 0x1000
ARITH equ 0x8d5                            ; OF SF ZF AF PF CF

; REGS: print " esi=+.. edi=+.. ecx=.." relative to SRC/DST (32-bit code)
%macro REGS 0
    PRINT " esi=+"
    lea eax, [esi - SRC]
    PRINT_HEX16 eax
    PRINT " edi=+"
    lea eax, [edi - DST]
    PRINT_HEX16 eax
    PRINT " ecx="
    PRINT_HEX32 ecx
%endmacro
%macro FLAGS 0
    pushfd
    pop eax
    and eax, ARITH | 0x400
    PRINT " flags="
    PRINT_HEX16 eax
%endmacro
; DUMP n: print n bytes of DST as hex
%macro DUMP 1
    PRINT " dst="
    push esi
    push ecx
    mov esi, DST
    mov ecx, %1
%%l:
    PRINT_HEX8 [esi]
    inc esi
    loop %%l
    pop ecx
    pop esi
%endmacro

main:
    call idt32_init
    mov esi, text
    mov edi, SRC
    mov ecx, text_end - text
    rep movsb                               ; SRC = "hello world, hello there"
    call clear_dst

    PRINT "movsb df=0:"
    mov esi, SRC
    mov edi, DST
    mov ecx, 11
    rep movsb
    REGS
    DUMP 12
    PRINT_CHAR 10

    call clear_dst
    PRINT "movsd df=1:"
    std
    mov esi, SRC + 12
    mov edi, DST + 12
    mov ecx, 3
    rep movsd
    cld
    REGS
    DUMP 16
    PRINT_CHAR 10

    call clear_dst
    PRINT "stosw df=0:"
    mov edi, DST
    mov ax, 0xa55a
    mov ecx, 3
    rep stosw
    REGS
    DUMP 8
    PRINT_CHAR 10
    PRINT "stosb df=1:"
    std
    mov edi, DST + 7
    mov al, 0x11
    mov ecx, 2
    rep stosb
    cld
    REGS
    DUMP 8
    PRINT_CHAR 10

    PRINT "repe cmpsb:"
    mov esi, SRC                             ; "hello world" vs "hello there"
    mov edi, SRC + 13
    mov ecx, 11
    repe cmpsb
    FLAGS
    lea edi, [edi - SRC - 13 + DST]
    REGS
    PRINT_CHAR 10

    PRINT "repne scasb:"
    mov edi, SRC
    mov al, ','
    mov ecx, 100
    repne scasb
    FLAGS
    lea edi, [edi - SRC + DST]
    xor esi, esi
    add esi, SRC
    REGS
    PRINT_CHAR 10

    PRINT "repe scasb miss:"
    mov edi, SRC
    mov al, 'h'
    mov ecx, 5
    repe scasb
    FLAGS
    lea edi, [edi - SRC + DST]
    mov esi, SRC
    REGS
    PRINT_CHAR 10

    PRINT "lodsb/lodsd:"
    mov esi, SRC
    xor ebx, ebx
    mov ecx, 4
.lods:
    lodsb
    movzx eax, al
    add ebx, eax
    loop .lods
    std
    mov esi, SRC + 8
    lodsd
    cld
    add ebx, eax
    PRINT " sum="
    PRINT_HEX32 ebx
    mov edi, DST
    REGS
    PRINT_CHAR 10

    PRINT "rep ecx=0:"
    mov esi, SRC
    mov edi, DST
    xor ecx, ecx
    mov eax, 0x7f
    add al, 1                                ; OF SF AF set: must survive REPE CMPSB with ECX=0
    rep movsb
    repe cmpsb
    rep stosd
    FLAGS
    REGS
    PRINT_CHAR 10

    call clear_dst
    PRINT "overlap movsb:"
    mov byte [DST], 0x77
    mov esi, DST
    mov edi, DST + 1
    mov ecx, 7
    rep movsb
    DUMP 8
    PRINT_CHAR 10

    ; 16-bit address size: SI/DI/CX wrap at 64 KiB and the upper halves stay untouched
    mov dword [0xfffe], 0x44332211
    mov word [0x0000], 0x6655
    PRINT "a16 movsb wrap:"
    mov esi, 0x5555fffe
    mov edi, 0x66661000                      ; DI = 0x1000: writes linear 0x1000..0x1003
    mov ecx, 0x77770004
    a16 rep movsb
    PRINT " esi="
    PRINT_HEX32 esi
    PRINT " edi="
    PRINT_HEX32 edi
    PRINT " ecx="
    PRINT_HEX32 ecx
    PRINT " bytes="
    PRINT_HEX32 [0x1000]
    PRINT_CHAR 10

    call paging_build
    LONG_MODE_ENTER
    PRINT "64-bit movsq df=1:"
    mov rax, 0x1122334455667788
    mov [SRC + 0x100], rax
    not rax
    mov [SRC + 0x108], rax
    std
    mov esi, SRC + 0x108
    mov edi, DST + 0x108
    mov ecx, 2
    rep movsq
    cld
    PRINT " rsi=+"
    lea rax, [rsi - SRC]
    PRINT_HEX16 eax
    PRINT " rdi=+"
    lea rax, [rdi - DST]
    PRINT_HEX16 eax
    PRINT " q0="
    PRINT_HEX64 [DST + 0x100]
    PRINT " q1="
    PRINT_HEX64 [DST + 0x108]
    PRINT_CHAR 10
    PRINT "64-bit stosq/scasq:"
    mov edi, DST
    mov rax, 0x0123456789abcdef
    mov ecx, 4
    rep stosq
    mov edi, DST
    mov ecx, 8
    repe scasq
    pushfq
    pop rax
    and eax, ARITH
    PRINT " flags="
    PRINT_HEX16 eax
    PRINT " rcx="
    PRINT_DEC ecx
    PRINT " rdi=+"
    lea rax, [rdi - DST]
    PRINT_HEX16 eax
    PRINT_CHAR 10
    PASS

bits 32
clear_dst:
    push edi
    push ecx
    push eax
    mov edi, DST
    mov ecx, 0x400
    xor eax, eax
    rep stosd
    pop eax
    pop ecx
    pop edi
    ret

text: db "hello world, hello there"
text_end:
