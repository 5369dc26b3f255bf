; iret.asm - -bios guest for IRET in every flavour: 16/32-bit IRET in real mode, same-privilege
; IRETD/IRETW, ring 3 and back through a DPL3 gate with a TSS stack switch, IRETQ, and the IST.
%include "bios.inc"
%include "idt.inc"
%include "paging.inc"

bits 16
main16:
    mov word [0x60 * 4], rm_handler         ; IVT[0x60] = 0000:rm_handler
    mov word [0x60 * 4 + 2], 0
    clc
    mov bx, sp
    int 0x60
    setc cl
    sub bx, sp
    PRINT "real mode int/iret: calls="
    PRINT_DEC [rm_count]
    PRINT " cf="
    movzx ecx, cl
    PRINT_DEC ecx
    PRINT " sp delta="
    movzx ebx, bx
    PRINT_DEC ebx
    PRINT " handler flags="
    PRINT_HEX16 [rm_flags]
    PRINT_CHAR 10
    pushfd                                  ; IRETD in real mode: EIP, CS, EFLAGS as dwords
    push dword 0
    push dword .after_iretd
    mov bx, sp
    iretd
.after_iretd:
    sub bx, sp
    neg bx
    movzx ebx, bx
    PRINT "real mode iretd: sp delta="
    PRINT_DEC ebx
    PRINT_CHAR 10

    lgdt [gdtr]
    mov eax, cr0
    or eax, 1
    mov cr0, eax
    jmp dword SEL_KCODE32:pm32

rm_handler:
    inc word [rm_count]
    push bp
    mov bp, sp
    mov ax, [bp + 6]                        ; [bp+2]=IP [bp+4]=CS [bp+6]=FLAGS
    mov [rm_flags], ax
    or word [bp + 6], 1                     ; return with CF set
    pop bp
    iret

; ------------------------------------------------------------------ 32-bit protected mode
bits 32
pm32:
    mov ax, SEL_KDATA
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov esp, STACK0_TOP
    call idt32_init
    xor eax, eax
    call tss_init
    LOAD_TR
    mov eax, 0x61
    mov ebx, h_same32
    mov cl, IDT_INT_GATE
    call idt32_set_gate
    mov eax, 0x62
    mov ebx, h_user32
    mov cl, IDT_INT_GATE | IDT_DPL3
    call idt32_set_gate
    mov eax, 0x63
    mov ebx, h_exit32
    call idt32_set_gate

    o16 pushf                               ; IRETW: 16-bit IP, CS, FLAGS (target is below 64 KiB)
    push word SEL_KCODE32
    push word .after_iretw
    mov ebx, esp
    o16 iret
.after_iretw:
    sub ebx, esp
    neg ebx
    PRINT "pm32 iretw: esp delta="
    PRINT_DEC ebx
    PRINT_CHAR 10

    stc
    mov ebp, esp
    int 0x61
    setc cl
    sub ebp, [h_sp]
    PRINT "pm32 same-ring int/iretd: frame="
    PRINT_DEC ebp
    PRINT " cs="
    PRINT_HEX16 [h_cs]
    PRINT " cf after="
    movzx ecx, cl
    PRINT_DEC ecx
    PRINT_CHAR 10

    mov [kern_sp], esp
    push SEL_UDATA | 3
    push STACK3_TOP
    push 0x2
    push SEL_UCODE32 | 3
    push user32
    iretd
back32:
    PRINT "pm32 ring3: ds after iret="
    PRINT_HEX16 [u_ds]
    PRINT " cs="
    PRINT_HEX16 [u_cs]
    PRINT " gate frame cs="
    PRINT_HEX16 [h_cs]
    PRINT " ss="
    PRINT_HEX16 [h_ss]
    PRINT " esp0 used="
    mov eax, STACK_PRIV_TOP
    sub eax, [h_sp]
    PRINT_DEC eax
    PRINT " user esp kept="
    mov eax, [u_sp_after]
    cmp eax, [u_sp_before]
    sete al
    movzx eax, al
    PRINT_DEC eax
    PRINT_CHAR 10

    TRY .gp_back                            ; INT to a DPL0 gate from ring 3 -> #GP(0x61*8+2)
    push SEL_UDATA | 3
    push STACK3_TOP
    push 0x2
    push SEL_UCODE32 | 3
    push user32_bad
    iretd
.gp_back:
    ENDTRY
    PRINT "pm32 ring3 int to dpl0 gate:"
    mov ebx, user32_bad
    call report_exc32
    PRINT_CHAR 10
    jmp long_tests

user32:
    mov ax, ds
    mov [ss:u_ds], ax                       ; DS (DPL0) was nulled by the IRET to ring 3
    mov ax, cs
    mov [ss:u_cs], ax
    mov ax, SEL_UDATA | 3
    mov ds, ax
    mov [u_sp_before], esp
    int 0x62
    mov [u_sp_after], esp
    int 0x63
user32_bad:
    int 0x61

h_same32:
    mov [h_sp], esp
    mov eax, [esp + 4]
    mov [h_cs], eax
    and dword [esp + 8], ~1                 ; clear CF in the saved EFLAGS
    iretd
h_user32:
    mov [h_sp], esp
    mov eax, [esp + 4]
    mov [h_cs], eax
    mov eax, [esp + 16]
    mov [h_ss], eax
    iretd
h_exit32:
    mov ax, SEL_KDATA
    mov ds, ax
    mov es, ax
    mov esp, [kern_sp]
    jmp back32

; ------------------------------------------------------------------ 64-bit
long_tests:
    call paging_build
    LONG_MODE_ENTER
    call idt64_init
    call tss_init64
    mov dword [TSS_BASE + 0x24], IST1_TOP   ; TSS.IST1
    LOAD_TR
    mov eax, 0x61
    mov ebx, h_same64
    mov ecx, IDT_INT_GATE
    call idt64_set_gate
    mov eax, 0x62
    mov ebx, h_user64
    mov ecx, IDT_INT_GATE | IDT_DPL3
    call idt64_set_gate
    mov eax, 0x63
    mov ebx, h_exit64
    call idt64_set_gate
    mov eax, 0x64
    mov ebx, h_same64
    mov ecx, IDT_INT_GATE | 0x100           ; IST1
    call idt64_set_gate

    mov rbx, rsp                            ; IRETQ as a same-ring far jump
    push SEL_KDATA64
    push rbx
    pushfq
    push SEL_KCODE64
    push .after_iretq
    iretq
.after_iretq:
    sub rbx, rsp
    PRINT "long iretq same ring: rsp delta="
    PRINT_DEC ebx
    PRINT_CHAR 10

    mov rbp, rsp
    sub rsp, 8                              ; misaligned: the CPU aligns RSP to 16 first
    mov rbx, rsp
    int 0x61
    mov rsp, rbp
    sub rbx, [h_sp]
    PRINT "long int from rsp%16=8: frame="
    PRINT_DEC ebx
    PRINT " saved rsp ok="
    mov rax, [h_rsp]
    lea rcx, [rbp - 8]
    cmp rax, rcx
    sete al
    movzx eax, al
    PRINT_DEC eax
    PRINT_CHAR 10

    int 0x64
    PRINT "long int via IST1: used="
    mov eax, IST1_TOP
    sub eax, [h_sp]
    PRINT_DEC eax
    PRINT_CHAR 10

    mov [kern_sp], rsp
    push SEL_UDATA | 3
    push STACK3_TOP
    push 0x2
    push SEL_UCODE64 | 3
    push user64
    iretq
back64:
    PRINT "long ring3 64-bit:"
    call report_user64
    mov [kern_sp], rsp
    push SEL_UDATA | 3
    push STACK3_TOP
    push 0x2
    push SEL_UCODE32 | 3
    push user_compat
    iretq
back_compat:
    PRINT "long ring3 compat:"
    call report_user64
    PASS

report_user64:
    PRINT " ds after iretq="
    PRINT_HEX16 [u_ds]
    PRINT " cs="
    PRINT_HEX16 [u_cs]
    PRINT " gate frame cs="
    PRINT_HEX16 [h_cs]
    PRINT " ss="
    PRINT_HEX16 [h_ss]
    PRINT " handler ss="
    PRINT_HEX16 [h_curss]
    PRINT " rsp0 used="
    mov eax, STACK_PRIV_TOP
    sub eax, [h_sp]
    PRINT_DEC eax
    PRINT_CHAR 10
    ret

user64:
    mov ax, ds
    mov [u_ds], ax
    mov ax, cs
    mov [u_cs], ax
    int 0x62
    mov qword [exit_to], back64
    int 0x63
bits 32
user_compat:
    mov ax, ds
    mov [ss:u_ds], ax
    mov ax, cs
    mov [ss:u_cs], ax
    mov ax, SEL_UDATA | 3
    mov ds, ax
    int 0x62
    mov dword [exit_to], back_compat
    int 0x63
bits 64
h_same64:
    mov [h_sp], rsp
    mov rax, [rsp + 24]
    mov [h_rsp], rax
    iretq
h_user64:
    mov [h_sp], rsp
    mov rax, [rsp + 8]
    mov [h_cs], eax
    mov rax, [rsp + 32]
    mov [h_ss], eax
    mov ax, ss
    mov [h_curss], ax
    iretq
h_exit64:
    mov ax, SEL_KDATA64
    mov ss, ax
    mov rsp, [kern_sp]
    jmp [exit_to]

align 8
rm_count:    dd 0
rm_flags:    dd 0
h_sp:        dq 0
h_rsp:       dq 0
h_cs:        dd 0
h_ss:        dd 0
h_curss:     dd 0
kern_sp:     dq 0
exit_to:     dq 0
u_ds:        dd 0
u_cs:        dd 0
u_sp_before: dd 0
u_sp_after:  dd 0

BIOS_END
