; smm_smram.asm - -bios guest for the q35 SMRAM windows: TSEG (1, 2, 8 MiB and QEMU's extended
; size from EXT_TSEG_MBYTES), the A/B segment written by normal code while open and read by SMM
; while closed, and high SMRAM at 0xFEDA0000 (H_SMRAME). D_LCK is in smm_reloc.
; Normal code sees TSEG as all-ones with writes ignored; SMM code sees the RAM (run with
; -machine q35,smm=on -m 128, so low RAM ends at 0x8000000).
%include "bios.inc"
%include "smm.inc"

RAM_TOP equ 0x8000000
OBS     equ 0x7100
PROBE   equ 0x7200                      ; linear address the handler reads and then writes
PVAL    equ 0x7204                      ; value it writes

; TSEG_AT esmramc: program ESMRAMC (G_SMRAME stays on) and print what normal code reads just
; below and at the start of the TSEG that size implies.
%macro TSEG_CHECK 2
    CFG_W8 PCI_MCH, MCH_ESMRAMC, %1
    PRINT "tseg ", %2, ": below="
    PRINT_HEX32 [ebp - 4]
    PRINT " first="
    PRINT_HEX32 [ebp]
    PRINT_CHAR 10
%endmacro

bits 16
main16:
    SMI_ENABLE
    COPY_TO SMBASE_DEFAULT + 0x8000, handler, handler_end
    CFG_W16 PCI_MCH, MCH_EXT_TSEG, 0xffff
    CFG_R16 PCI_MCH, MCH_EXT_TSEG
    PRINT "ext tseg mbytes="
    PRINT_HEX16 eax
    PRINT_CHAR 10
    PM32_ENTER
pm32:
    ; Fill the top 16 MiB boundaries with recognisable values while TSEG is off.
    mov dword [RAM_TOP - 0x100000 - 4], 0xaaaa0001
    mov dword [RAM_TOP - 0x100000], 0xbbbb0001
    mov dword [RAM_TOP - 0x200000 - 4], 0xaaaa0002
    mov dword [RAM_TOP - 0x200000], 0xbbbb0002
    mov dword [RAM_TOP - 0x800000 - 4], 0xaaaa0008
    mov dword [RAM_TOP - 0x800000], 0xbbbb0008
    mov dword [RAM_TOP - 0x1000000 - 4], 0xaaaa0010
    mov dword [RAM_TOP - 0x1000000], 0xbbbb0010

    ; T_EN without G_SMRAME: no TSEG.
    CFG_W8 PCI_MCH, MCH_ESMRAMC, 0x01
    PRINT "t_en without g_smrame: first="
    PRINT_HEX32 [RAM_TOP - 0x100000]
    PRINT_CHAR 10
    CFG_W8 PCI_MCH, MCH_SMRAM, 0x0a     ; G_SMRAME
    mov ebp, RAM_TOP - 0x100000
    TSEG_CHECK 0x01, "1m"
    mov ebp, RAM_TOP - 0x200000
    TSEG_CHECK 0x03, "2m"
    mov ebp, RAM_TOP - 0x800000
    TSEG_CHECK 0x05, "8m"
    mov ebp, RAM_TOP - 0x1000000
    TSEG_CHECK 0x07, "ext"

    ; 1 MiB TSEG: normal writes are dropped, SMM reads and writes the RAM.
    CFG_W8 PCI_MCH, MCH_ESMRAMC, 0x01
    mov dword [RAM_TOP - 0x100000], 0xcccccccc
    PRINT "normal write ignored: first="
    PRINT_HEX32 [RAM_TOP - 0x100000]
    PRINT_CHAR 10
    mov dword [PROBE], RAM_TOP - 0x100000
    mov dword [PVAL], 0xdddd0001
    RAISE_SMI 0x20
    PRINT "smm read tseg="
    PRINT_HEX32 [OBS]
    PRINT_CHAR 10
    CFG_W8 PCI_MCH, MCH_ESMRAMC, 0x00   ; TSEG off: the SMM write reached RAM
    PRINT "tseg off: first="
    PRINT_HEX32 [RAM_TOP - 0x100000]
    PRINT_CHAR 10

    ; A/B segment: RAM written by normal code while open (D_OPEN) is what SMM reads once it is
    ; closed, and SMM's write is what normal code sees after reopening. (What normal code reads
    ; while closed is not printed: QEMU's VGA answers there, vx86 has open bus.)
    CFG_W8 PCI_MCH, MCH_SMRAM, 0x4a
    mov dword [0xa0300], 0x66660001
    CFG_W8 PCI_MCH, MCH_SMRAM, 0x0a
    mov dword [PROBE], 0xa0300
    mov dword [PVAL], 0x66660002
    RAISE_SMI 0x22
    PRINT "smm read a-seg="
    PRINT_HEX32 [OBS]
    PRINT_CHAR 10
    CFG_W8 PCI_MCH, MCH_SMRAM, 0x4a
    PRINT "a-seg reopened: "
    PRINT_HEX32 [0xa0300]
    PRINT_CHAR 10
    CFG_W8 PCI_MCH, MCH_SMRAM, 0x0a

    ; High SMRAM: the A/B-segment RAM answers at 0xFEDA0000 (H_SMRAME), to normal code only
    ; while D_OPEN is set.
    CFG_W8 PCI_MCH, MCH_SMRAM, 0x4a     ; open at 0xA0000
    mov dword [0xa0200], 0x77770001
    CFG_W8 PCI_MCH, MCH_ESMRAMC, 0x80   ; H_SMRAME
    PRINT "high open: "
    PRINT_HEX32 [0xfeda0200]
    PRINT_CHAR 10
    CFG_W8 PCI_MCH, MCH_SMRAM, 0x0a     ; closed
    cmp dword [0xfeda0200], 0x77770001
    je .visible
    PRINTLN "high closed: hidden"
    jmp .smm_high
.visible:
    PRINTLN "high closed: visible"
.smm_high:
    mov dword [PROBE], 0xfeda0200
    mov dword [PVAL], 0x77770002
    RAISE_SMI 0x21
    PRINT "smm read high="
    PRINT_HEX32 [OBS]
    PRINT_CHAR 10
    CFG_W8 PCI_MCH, MCH_SMRAM, 0x4a
    PRINT "high reopened: "
    PRINT_HEX32 [0xfeda0200]
    PRINT_CHAR 10
    PASS

; Real-mode SMM handler (DS base 0, 4 GiB limits): read [PROBE] into OBS, write PVAL there.
bits 16
handler:
    mov ebx, [PROBE]
    a32 mov eax, [ebx]
    mov [OBS], eax
    mov eax, [PVAL]
    a32 mov [ebx], eax
    rsm
handler_end:

BIOS_END
