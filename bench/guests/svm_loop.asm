; svm_loop.asm - VMRUN/#VMEXIT round-trip benchmark guest (-bios, -cpu qemu64,+svm): an L1 in
; 32-bit protected mode runs ITER times VMRUN -> L2 executes CPUID -> CPUID intercept -> #VMEXIT.
; Runs on Bochs too (cpu model=ryzen has SVM). Prints "done <count>" (the number of exits with code 0x72, so a peer that loses exits is
; caught) and exits. bench/svm_compare.sh times two ITER values so start-up cost cancels out.
; Build: nasm -f bin -I guests/lib/ -D ITER=100000 bench/guests/svm_loop.asm -o svm_loop.bin
%ifndef ITER
%define ITER 100000
%endif
VMCB    equ 0x90000                     ; 4 KiB each, page aligned, zeroed below
HSAVE   equ 0x91000
L2_STACK equ 0x9f000
COUNT   equ 0x7100

%include "bios.inc"

bits 16
main16:
    PM32_ENTER
    ; EFER.SVME and the host save area (APM Vol 2, 15.4 and 15.30.4).
    mov ecx, 0xc0000080
    rdmsr
    or eax, 1 << 12
    wrmsr
    mov ecx, 0xc0010117
    mov eax, HSAVE
    xor edx, edx
    wrmsr
    ; Zero both pages, then fill the VMCB: L2 is flat 32-bit protected mode like L1.
    mov edi, VMCB
    mov ecx, 0x2000 / 4
    xor eax, eax
    rep stosd
    mov dword [VMCB + 0x00c], 1 << 18   ; intercept CPUID
    mov dword [VMCB + 0x010], 1         ; intercept VMRUN (required)
    mov dword [VMCB + 0x058], 1         ; ASID 1
    mov dword [VMCB + 0x400], SEL_KDATA | (0xc93 << 16)  ; ES selector, attrib
    mov dword [VMCB + 0x404], 0xffffffff
    mov dword [VMCB + 0x410], SEL_KCODE32 | (0xc9b << 16)  ; CS
    mov dword [VMCB + 0x414], 0xffffffff
    mov dword [VMCB + 0x420], SEL_KDATA | (0xc93 << 16)  ; SS
    mov dword [VMCB + 0x424], 0xffffffff
    mov dword [VMCB + 0x430], SEL_KDATA | (0xc93 << 16)  ; DS
    mov dword [VMCB + 0x434], 0xffffffff
    mov word [VMCB + 0x464], gdt_end - gdt - 1  ; GDTR limit and base
    mov dword [VMCB + 0x468], gdt
    mov dword [VMCB + 0x4d0], 1 << 12   ; EFER.SVME
    mov dword [VMCB + 0x558], 0x11      ; CR0: PE, ET
    mov dword [VMCB + 0x560], 0x400     ; DR7
    mov dword [VMCB + 0x568], 0xffff0ff0 ; DR6
    mov dword [VMCB + 0x570], 2         ; RFLAGS
    mov dword [VMCB + 0x578], l2        ; RIP
    mov dword [VMCB + 0x5d8], L2_STACK  ; RSP
    mov dword [COUNT], 0
    mov esi, ITER
.loop:
    mov eax, VMCB
    vmrun
    cmp dword [VMCB + 0x070], 0x72
    jne .skip
    inc dword [COUNT]
.skip:
    dec esi
    jnz .loop
    PRINT "done "
    PRINT_HEX32 [COUNT]
    PRINT_CHAR 10
    EXIT_ANY EXIT_SUCCESS

l2:
    cpuid
    jmp l2

BIOS_END
