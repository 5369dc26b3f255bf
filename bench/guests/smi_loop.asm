; smi_loop.asm - SMI round-trip benchmark guest (-bios, -machine q35,smm=on): ITER times
; OUT 0xB2 -> SMI -> a three-instruction handler at 0x38000 -> RSM, from 32-bit protected mode.
; Prints "done <count>" (the handler's own count, so a peer that drops SMIs is caught) and exits.
; bench/smi_compare.sh times two ITER values so that start-up cost cancels out.
; Build: nasm -f bin -I guests/lib/ -D ITER=100000 bench/guests/smi_loop.asm -o smi_loop.bin
%ifndef ITER
%define ITER 100000
%endif
COUNT equ 0x7100

%include "bios.inc"
%include "smm.inc"

bits 16
main16:
    SMI_ENABLE
    COPY_TO SMBASE_DEFAULT + 0x8000, handler, handler_end
    mov dword [COUNT], 0
    PM32_ENTER
pm32:
    mov ecx, ITER
.loop:
    out APM_CNT, al
    jmp short .next                     ; QEMU recognises the SMI at the end of a block
.next:
    dec ecx
    jnz .loop
    PRINT "done "
    PRINT_HEX32 [COUNT]
    PRINT_CHAR 10
    EXIT EXIT_SUCCESS

bits 16
handler:
    inc dword [COUNT]
    nop
    rsm
handler_end:

BIOS_END
