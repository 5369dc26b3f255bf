; syscall.asm - multiboot guest for fast system calls: SYSENTER/SYSEXIT and legacy SYSCALL/SYSRET in
; 32-bit protected mode, SYSCALL/SYSRET from 64-bit and compatibility mode (LSTAR/CSTAR/SFMASK).
%include "multiboot.inc"
%include "idt.inc"
%include "paging.inc"

MSR_SYSENTER_CS  equ 0x174
MSR_SYSENTER_ESP equ 0x175
MSR_SYSENTER_EIP equ 0x176
MSR_STAR   equ 0xc0000081
MSR_LSTAR  equ 0xc0000082
MSR_CSTAR  equ 0xc0000083
MSR_SFMASK equ 0xc0000084

%macro WRMSR 3 ; msr, edx, eax
    mov ecx, %1
    mov edx, %2
    mov eax, %3
    wrmsr
%endmacro

; SHOW "label", var: print label and a 16-bit hex value
%macro SHOW16 2
    PRINT %1
    PRINT_HEX16 [%2]
%endmacro
%macro SHOW32 2
    PRINT %1
    PRINT_HEX32 [%2]
%endmacro

main:
    call idt32_init
    xor eax, eax
    call tss_init
    LOAD_TR
    PRINTLN "32-bit protected mode"

    WRMSR MSR_SYSENTER_CS, 0, 0
    TRY .se_gp
.se0: sysenter                               ; SYSENTER_CS = 0 -> #GP(0)
.se_gp:
    ENDTRY
    PRINT "sysenter with cs=0:"
    mov ebx, .se0
    call report_exc32
    PRINT_CHAR 10

    WRMSR MSR_SYSENTER_CS, 0, SEL_SE_BASE
    WRMSR MSR_SYSENTER_ESP, 0, STACK_PRIV_TOP - 0x100
    WRMSR MSR_SYSENTER_EIP, 0, se_entry
    mov ebx, user_se
    mov ecx, SEL_UCODE32 | 3
    mov edx, 0x2
    call user_call32
    SHOW16 "sysenter: cs=", k_cs
    SHOW16 " ss=", k_ss
    PRINT " esp=msr:"
    mov eax, [k_sp]
    sub eax, STACK_PRIV_TOP - 0x100
    PRINT_DEC eax
    SHOW16 " | sysexit: cs=", u_cs
    SHOW16 " ss=", u_ss
    PRINT " esp=ecx:"
    mov eax, [u_sp]
    cmp eax, [u_sp2]
    sete al
    movzx eax, al
    PRINT_DEC eax
    PRINT_CHAR 10

    ; legacy-mode SYSCALL: EIP = STAR[31:0], CS = STAR[47:32], SS = +8; SYSRET CS = STAR[63:48]|3
    mov ecx, MSR_EFER
    rdmsr
    or eax, EFER_SCE
    wrmsr
    WRMSR MSR_STAR, (SEL_UCODE32 << 16) | SEL_KCODE32, sc_legacy
    mov ebx, user_sc32
    mov ecx, SEL_UCODE32 | 3
    mov edx, 0x2 | 0x400 | 0x1               ; DF, CF
    call user_call32
    SHOW16 "legacy syscall: cs=", k_cs
    SHOW16 " ss=", k_ss
    PRINT " eflags="
    mov eax, [k_flags]
    and eax, 0x3f7fd7                        ; defined bits, RF masked
    PRINT_HEX32 eax
    PRINT " ecx=+"
    mov eax, [k_rcx]
    sub eax, user_sc32
    PRINT_HEX16 eax
    SHOW16 " | sysret: cs=", u_cs
    SHOW16 " ss=", u_ss
    SHOW32 " eflags=", u_flags
    PRINT_CHAR 10

    call paging_build
    LONG_MODE_ENTER
    call idt64_init
    call tss_init64
    LOAD_TR
    PRINTLN "64-bit mode"

    mov ecx, MSR_EFER
    rdmsr
    and eax, ~EFER_SCE
    wrmsr
    TRY .sc_ud
.sc0: syscall                                ; EFER.SCE = 0 -> #UD
.sc_ud:
    ENDTRY
    PRINT "syscall with sce=0:"
    mov ebx, .sc0
    call report_exc64
    PRINT_CHAR 10
    mov ecx, MSR_EFER
    rdmsr
    or eax, EFER_SCE
    wrmsr
    WRMSR MSR_STAR, (SEL_UCODE32 << 16) | SEL_KCODE64, 0
    WRMSR MSR_LSTAR, 0, sc64
    WRMSR MSR_CSTAR, 0, sc_compat
    WRMSR MSR_SFMASK, 0, 0x40401             ; AC, DF, CF

    mov ebx, user_sc64
    mov ecx, SEL_UCODE64 | 3
    mov edx, 0x2 | 0x40000 | 0x400 | 0x80 | 0x1   ; AC, DF, SF, CF
    call user_call64
    PRINT "syscall 64:"
    call report_sc
    mov ebx, user_sccompat
    mov ecx, SEL_UCODE32 | 3
    mov edx, 0x2 | 0x400 | 0x40 | 0x1        ; DF, ZF, CF
    call user_call64
    PRINT "syscall compat:"
    call report_sc
    PASS

; Long-mode SYSCALL must leave RFLAGS = RFLAGS & ~SFMASK (AMD APM vol.3, SYSCALL), but QEMU 7.2
; TCG also clears OF/SF/ZF/AF/PF/CF; so only the non-arithmetic bits of the kernel RFLAGS are shown
; (SFMASK's effect on AC and DF is still checked; R11 carries the full user RFLAGS).
report_sc:
    SHOW16 " cs=", k_cs
    SHOW16 " ss=", k_ss
    PRINT " rflags(no arith)="
    mov eax, [k_flags]
    and eax, 0x3f7fd7 & ~0x8d5
    PRINT_HEX32 eax
    SHOW32 " r11=", k_r11
    PRINT " rcx=+"
    mov eax, [k_rcx]
    sub eax, [u_entry]
    PRINT_HEX16 eax
    PRINT " rsp kept="
    mov eax, [k_sp]
    xor ecx, ecx
    cmp eax, [u_sp]
    sete cl
    PRINT_DEC ecx
    SHOW16 " | sysret: cs=", u_cs
    SHOW16 " ss=", u_ss
    SHOW32 " rflags=", u_flags
    PRINT_CHAR 10
    ret

; ---------------------------------------------------------------- ring-3 and kernel entry code
bits 32
user_se:
    mov ax, SEL_UDATA | 3
    mov ds, ax
    mov es, ax
    mov [u_sp], esp
    mov ecx, esp                             ; SYSEXIT: ESP = ECX, EIP = EDX
    mov edx, .back
    sysenter
.back:
    mov [u_sp2], esp
    mov [u_cs], cs
    mov [u_ss], ss
    USER_RETURN
se_entry:
    mov [k_cs], cs
    mov [k_ss], ss
    mov [k_sp], esp
    sysexit

user_sc32:
    mov ax, SEL_UDATA | 3
    mov ds, ax
    syscall
    mov [u_cs], cs
    mov [u_ss], ss
    pushfd
    pop dword [u_flags]
    and dword [u_flags], 0x3f7fd7
    USER_RETURN
sc_legacy:
    mov [k_cs], cs
    mov [k_ss], ss
    mov [k_rcx], ecx
    pushfd
    pop dword [k_flags]
    sysret                                   ; legacy SYSRET also sets EFLAGS.IF

bits 64
user_sc64:
    mov dword [u_entry], user_sc64
    mov [u_sp], rsp
    syscall
    mov [u_cs], cs
    mov [u_ss], ss
    pushfq
    pop rax
    and eax, 0x3f7fd7
    mov [u_flags], eax
    USER_RETURN
sc64:
    mov [k_cs], cs
    mov [k_ss], ss
    mov [k_sp], rsp                          ; SYSCALL does not switch stacks
    mov [k_rcx], rcx
    mov [k_r11], r11d
    pushfq
    pop qword [k_flags]
    o64 sysret

bits 32
user_sccompat:
    mov ax, SEL_UDATA | 3
    mov ds, ax
    mov dword [u_entry], user_sccompat
    mov [u_sp], esp
    syscall                                  ; compatibility mode: enters at CSTAR (AMD)
    mov [u_cs], cs
    mov [u_ss], ss
    pushfd
    pop eax
    and eax, 0x3f7fd7
    mov [u_flags], eax
    USER_RETURN
bits 64
sc_compat:
    mov [k_cs], cs
    mov [k_ss], ss
    mov [k_sp], rsp
    mov [k_rcx], rcx
    mov [k_r11], r11d
    pushfq
    pop qword [k_flags]
    sysret                                   ; 32-bit operand size: back to compatibility mode

align 8
k_cs:    dd 0
k_ss:    dd 0
k_sp:    dq 0
k_rcx:   dq 0
k_r11:   dd 0
k_flags: dq 0
u_cs:    dd 0
u_ss:    dd 0
u_sp:    dq 0
u_sp2:   dq 0
u_flags: dd 0
u_entry: dd 0
