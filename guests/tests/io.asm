; io.asm - multiboot guest for port I/O: IN/OUT/INS/OUTS on the UART scratch register 0x3ff, and
; ring-3 I/O permission (IOPL, TSS I/O bitmap, bitmap beyond the TSS limit) in 32- and 64-bit mode.
%include "multiboot.inc"
%include "idt.inc"
%include "paging.inc"

SCR equ 0x3ff                                ; 16550 scratch register: plain read/write storage

; RING3 "text", entry, eflags: run ring-3 code (32-bit) and print either "ok" or the exception
%macro RING3 3
    PRINT %1
    mov dword [u_val], 0xffffffff
    TRY %%back
    mov ebx, %2
    mov ecx, SEL_UCODE32 | 3
    mov edx, %3
    call user_call32
%%back:
    ENDTRY
    call verdict32
%endmacro
%macro RING3_64 3
    PRINT %1
    mov dword [u_val], 0xffffffff
    TRY %%back
    mov ebx, %2
    mov ecx, SEL_UCODE64 | 3
    mov edx, %3
    call user_call64
%%back:
    ENDTRY
    call verdict64
%endmacro

main:
    call idt32_init
    xor eax, eax
    call tss_init
    btr dword [TSS_BASE + TSS_IOPB + SCR / 8], SCR % 8     ; allow 0x3ff only
    LOAD_TR

    mov dx, SCR
    mov al, 0x5a
    out dx, al
    xor eax, eax
    in al, dx
    PRINT "out/in 3ff: "
    PRINT_HEX8 eax
    mov esi, pattern
    mov ecx, 4
    rep outsb
    mov edi, inbuf
    mov ecx, 3
    rep insb
    PRINT " rep outsb+insb: "
    PRINT_HEX32 [inbuf]
    std
    mov esi, pattern + 3
    mov ecx, 2
    rep outsb                                ; DF=1: 'D' then 'C'
    cld
    in al, dx
    PRINT " outsb df=1 last: "
    PRINT_HEX8 eax
    PRINT " esi=+"
    lea eax, [esi - pattern + 1]
    PRINT_HEX8 eax
    PRINT_CHAR 10

    RING3 "iopl0 3ff allowed:  ", user_ok, 0x2
    RING3 "iopl0 3f9 denied:   ", user_denied, 0x2
    RING3 "iopl0 word 3fe:     ", user_word, 0x2
    RING3 "iopl0 cli:          ", user_cli, 0x2
    RING3 "iopl0 rep outsb:    ", user_outs, 0x2
    RING3 "iopl3 3f9 + cli:    ", user_iopl3, 0x3002
    mov word [TSS_BASE + 0x66], 0x4000       ; bitmap offset past the TSS limit: all denied
    RING3 "bitmap past limit:  ", user_ok, 0x2
    mov word [TSS_BASE + 0x66], TSS_IOPB

    call paging_build
    LONG_MODE_ENTER
    call idt64_init
    call tss_init64
    btr dword [TSS_BASE + TSS_IOPB + SCR / 8], SCR % 8
    LOAD_TR
    RING3_64 "64-bit 3ff allowed: ", user64_ok, 0x2
    RING3_64 "64-bit 3f9 denied:  ", user64_denied, 0x2
    RING3_64 "64-bit iopl3 3f9:   ", user64_denied, 0x3002
    PASS

bits 32
verdict32:
    cmp dword [exc_vec], 0xffffffff
    jne .exc
    PRINT "ok val="
    PRINT_HEX8 [u_val]
    PRINT_CHAR 10
    ret
.exc:
    mov ebx, [exc_ip]                        ; ip printed relative to itself: always +0000
    call report_exc32
    PRINT_CHAR 10
    ret

user_ok:
    mov ax, SEL_UDATA | 3
    mov ds, ax
    mov dx, SCR
    mov al, 0x77
    out dx, al
    in al, dx
    mov [u_val], al
    USER_RETURN
user_denied:
    mov dx, 0x3f9
    xor al, al
    out dx, al
    USER_RETURN
user_word:
    mov dx, 0x3fe                            ; spans 0x3fe (denied) and 0x3ff (allowed)
    in ax, dx
    USER_RETURN
user_cli:
    cli
    USER_RETURN
user_outs:
    mov ax, SEL_UDATA | 3
    mov ds, ax
    mov esi, pattern
    mov dx, SCR
    mov ecx, 3
    rep outsb
    in al, dx
    mov [u_val], al
    USER_RETURN
user_iopl3:
    mov ax, SEL_UDATA | 3
    mov ds, ax
    mov dx, 0x3f9
    xor al, al
    out dx, al                               ; IER = 0 (unchanged)
    cli
    mov dx, SCR
    mov al, 0x33
    out dx, al
    in al, dx
    mov [u_val], al
    USER_RETURN

bits 64
verdict64:
    cmp dword [exc_vec], 0xffffffff
    jne .exc
    PRINT "ok val="
    PRINT_HEX8 [u_val]
    PRINT_CHAR 10
    ret
.exc:
    mov rbx, [exc_ip]
    call report_exc64
    PRINT_CHAR 10
    ret
user64_ok:
    mov dx, SCR
    mov al, 0x64
    out dx, al
    in al, dx
    mov [u_val], al
    USER_RETURN
user64_denied:
    mov dx, 0x3f9
    xor al, al
    out dx, al
    mov dx, SCR
    in al, dx
    mov [u_val], al
    USER_RETURN

align 4
u_val:   dd 0
pattern: db "ABCD"
inbuf:   dd 0
