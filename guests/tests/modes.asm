; modes.asm - -bios guest walking the CPU through every operating mode and back: real -> 16-bit PM
; -> 32-bit PM -> 64-bit long -> compatibility -> 64-bit -> 32-bit PM (long mode off) -> real.
%include "bios.inc"
%include "paging.inc"

; STAGE "name": print the stage name, CR0, EFER and the stack slot width seen by PUSH.
%macro STAGE 1
    PRINT %1
    PRINT " cr0="
%if __BITS__ == 64
    mov rax, cr0
%else
    mov eax, cr0
%endif
    PRINT_HEX32 eax
    PRINT " efer="
    mov ecx, MSR_EFER
    rdmsr
    PRINT_HEX32 eax
    PRINT " push="
%if __BITS__ == 16
    mov bx, sp
    push ax
    sub bx, sp
    pop ax
    movzx ebx, bx
%elif __BITS__ == 32
    mov ebx, esp
    push eax
    sub ebx, esp
    pop eax
%else
    mov rbx, rsp
    push rax
    sub rbx, rsp
    pop rax
%endif
    PRINT_DEC ebx
    PRINT_CHAR 10
%endmacro

bits 16
main16:
    STAGE "real mode"
    ; real-mode segmentation: 0x1234:0x0010 and 0x1000:0x2350 are the same linear byte 0x12350
    mov ax, 0x1234
    mov ds, ax
    mov word [0x10], 0xbeef
    mov ax, 0x1000
    mov es, ax
    movzx ebx, word [es:0x2350]
    xor ax, ax
    mov ds, ax
    mov es, ax
    PRINT "real mode 1000:2350="
    PRINT_HEX16 ebx
    PRINT_CHAR 10

    lgdt [gdtr]
    mov eax, cr0
    or eax, 1
    mov cr0, eax
    jmp SEL_KCODE16:pm16
pm16:
    mov ax, SEL_KDATA16
    mov ds, ax
    mov es, ax
    mov ss, ax
    STAGE "16-bit protected mode"
    jmp dword SEL_KCODE32:pm32

bits 32
pm32:
    mov ax, SEL_KDATA
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov esp, RM_STACK_TOP
    STAGE "32-bit protected mode"
    call paging_build
    LONG_MODE_ENTER
    STAGE "64-bit long mode"
    mov rax, 0x123456789abcdef0
    ror rax, 8
    PRINT "64-bit ror: "
    PRINT_HEX64 rax
    PRINT_CHAR 10
    push SEL_KCODE32
    push compat
    o64 retf

bits 32
compat:
    STAGE "compatibility mode"
    jmp SEL_KCODE64:long_again
bits 64
long_again:
    STAGE "64-bit again"
    LONG_MODE_LEAVE
    STAGE "32-bit protected mode, long mode off"
    jmp SEL_KCODE16:pm16_back

bits 16
pm16_back:
    mov ax, SEL_KDATA16
    mov ds, ax
    mov es, ax
    mov ss, ax
    STAGE "16-bit protected mode again"
    mov eax, cr0
    and eax, ~1
    mov cr0, eax
    jmp 0:real_again
real_again:
    xor ax, ax
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov sp, RM_STACK_TOP
    STAGE "real mode again"
    PASS

BIOS_END
