; intloop.asm - CPU-bound -bios benchmark guest: an integer loop of loads, stores and branches with
; an exactly known instruction count; prints "done <checksum>" on COM1 and exits (QEMU and Bochs).
;
; Mode: 32-bit flat protected mode without paging. It is the smallest setup that runs ordinary
; 32-bit code on every peer (QEMU TCG, Bochs, vx86); long mode would add page tables and a TLB to
; the measurement without exercising anything the loop needs.
;
; Instruction count: the loop body below is exactly 15 instructions per iteration on both branch
; paths (odd: jz not taken, add, jmp; even: jz taken, sub, nop). The code before and after the loop
; (mode switch, table init, printing) is the same for every ITER except UART polling, so
;     instructions(ITER_large) - instructions(ITER_small) = 15 * (ITER_large - ITER_small).
; Build: nasm -f bin -I guests/lib/ -D ITER=10000000 bench/guests/intloop.asm -o intloop.bin
%ifndef ITER
%define ITER 10000000
%endif
INSNS_PER_ITER equ 15
DATA equ 0x200000                ; 256-dword table, 2 MiB away from the code at 0x8000

%include "bios.inc"

bits 16
main16:
    lgdt [gdtr]
    mov eax, cr0
    or eax, 1
    mov cr0, eax
    jmp dword SEL_KCODE32:pm32

bits 32
pm32:
    mov ax, SEL_KDATA
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov esp, STACK0_TOP
    mov esi, DATA
    mov ecx, 256
.fill:
    mov [esi + ecx * 4 - 4], ecx
    loop .fill

    mov ecx, ITER
    xor eax, eax                 ; checksum
    mov ebx, 0x12345678          ; LCG state
align 16
.loop:                           ; 15 instructions per iteration
    mov edx, ecx
    and edx, 0xff
    mov edi, [esi + edx * 4]     ; load
    add edi, ebx
    imul ebx, ebx, 1103515245
    add ebx, 12345
    mov [esi + edx * 4], edi     ; store
    xor eax, edi
    rol eax, 5
    test edi, 1
    jz .even                     ; data-dependent branch
    add eax, ecx
    jmp .join
.even:
    sub eax, ecx
    nop
.join:
    dec ecx
    jnz .loop

    PRINT "done "
    PRINT_HEX32 eax
    PRINT_CHAR 10
    EXIT_ANY EXIT_SUCCESS

BIOS_END
