; smm_reloc.asm - -bios guest for SMBASE relocation and SMRAM open/closed/locked on q35 (run with
; -machine q35,smm=on): the first SMI enters at the default SMBASE 0x30000 and relocates to
; 0xA0000; later SMIs enter at 0xA8000 in SMRAM, which normal code sees only while D_OPEN is set.
%include "bios.inc"
%include "smm.inc"

OBS equ 0x7100                          ; what the handlers saw (SMM DS base is 0)

bits 16
main16:
    SMI_ENABLE
    CFG_R8 PCI_MCH, MCH_SMRAM
    PRINT "smram reset="
    PRINT_HEX8 eax
    CFG_R8 PCI_MCH, MCH_ESMRAMC
    PRINT " esmramc reset="
    PRINT_HEX8 eax
    PRINT_CHAR 10

    CFG_W8 PCI_MCH, MCH_SMRAM, 0x4a     ; D_OPEN | G_SMRAME: firmware sets SMRAM up
    COPY_TO SMBASE_DEFAULT + 0x8000, h1, h1_end
    COPY_TO 0xa8000, h2, h2_end
    RAISE_SMI 0x00
    PRINT "smi 1: revision="
    PRINT_HEX32 [OBS + 0]
    PRINT " smbase="
    PRINT_HEX32 [OBS + 4]
    PRINT " runs="
    PRINT_HEX8 [OBS + 8]
    PRINT_CHAR 10
    ; Entry state (APM Vol 2 ch. 10 "SMM Register Initialization"): real-mode-like CS =
    ; SMBASE>>4, CR0.PE/PG clear, EFER 0, RFLAGS 2.
    PRINT "smi 1 entry: cs="
    PRINT_HEX16 [OBS + 0x2c]
    PRINT " cr0.pe/pg="
    mov eax, [OBS + 0x20]
    and eax, 0x80000001
    PRINT_HEX32 eax
    PRINT " efer="
    PRINT_HEX32 [OBS + 0x24]
    PRINT " rflags="
    PRINT_HEX32 [OBS + 0x28]
    PRINT_CHAR 10
    ; The first save area stayed in normal RAM at 0x3FE00 (SMBASE 0x30000 is not SMRAM).
    mov ax, SMBASE_DEFAULT >> 4
    mov es, ax
    mov eax, [es:0xfefc]
    mov ebx, [es:0xff00]
    xor cx, cx
    mov es, cx
    PRINT "save area at 0x3fe00: revision="
    PRINT_HEX32 eax
    PRINT " smbase field="
    PRINT_HEX32 ebx
    PRINT_CHAR 10

    CFG_W8 PCI_MCH, MCH_SMRAM, 0x0a     ; closed, not locked
    RAISE_SMI 0x01
    in al, APM_CNT
    movzx ebx, al
    PRINT "smi 2: cs="
    PRINT_HEX16 [OBS + 0x10]
    PRINT " smbase="
    PRINT_HEX32 [OBS + 0x14]
    PRINT " runs="
    PRINT_HEX8 [OBS + 0x18]
    PRINT " first handler runs="
    PRINT_HEX8 [OBS + 8]
    PRINT " apm_cnt="
    PRINT_HEX8 ebx
    PRINT_CHAR 10
    ; Closed: the marker the handler wrote into SMRAM is invisible to normal code. QEMU 7.2 TCG
    ; still shows it here: its TLB entry for the page, filled in SMM, survives RSM until the next
    ; memory-map change (see smm_reloc.qemu-diff); the chipset rule is the same in both.
    call show_marker
    CFG_W8 PCI_MCH, MCH_SMRAM, 0x02     ; a map change makes QEMU drop the stale entry
    CFG_W8 PCI_MCH, MCH_SMRAM, 0x0a
    call show_marker
    CFG_W8 PCI_MCH, MCH_SMRAM, 0x4a
    call show_marker                    ; open: visible
    mov ax, 0xa000
    mov es, ax
    mov eax, [es:0xff00]
    xor cx, cx
    mov es, cx
    PRINT "open: smbase field in smram="
    PRINT_HEX32 eax
    PRINT_CHAR 10

    ; D_LCK: D_OPEN is cleared and cannot be set again; ESMRAMC is frozen.
    CFG_W8 PCI_MCH, MCH_SMRAM, 0x1a
    CFG_W8 PCI_MCH, MCH_SMRAM, 0x4a
    CFG_R8 PCI_MCH, MCH_SMRAM
    PRINT "locked: smram="
    PRINT_HEX8 eax
    CFG_W8 PCI_MCH, MCH_ESMRAMC, 0x81
    CFG_R8 PCI_MCH, MCH_ESMRAMC
    PRINT " esmramc after write="
    PRINT_HEX8 eax
    PRINT_CHAR 10
    call show_marker
    RAISE_SMI 0x05                      ; SMIs keep working in locked SMRAM
    PRINT "smi 3: runs="
    PRINT_HEX8 [OBS + 0x18]
    PRINT_CHAR 10
    PASS

show_marker:
    mov ax, 0xa000
    mov es, ax
    mov al, [es:0x0100]
    xor cx, cx
    mov es, cx
    cmp al, 0x5a
    je .visible
    PRINTLN "smram marker visible to normal code: no"
    ret
.visible:
    PRINTLN "smram marker visible to normal code: yes"
    ret

; Handlers run with CS = SMBASE >> 4 and DS base 0; [cs:0xfexx] is the save area.
h1:
    mov eax, [cs:0xfefc]
    mov [OBS + 0], eax
    mov eax, [cs:0xff00]
    mov [OBS + 4], eax
    mov dword [cs:0xff00], 0xa0000     ; SMBASE relocation (64-bit map field at SMBASE+0xFF00)
    inc byte [OBS + 8]
    mov eax, cr0
    mov [OBS + 0x20], eax
    mov ecx, 0xc0000080
    rdmsr
    mov [OBS + 0x24], eax
    pushfd
    pop eax
    mov [OBS + 0x28], eax
    mov [OBS + 0x2c], cs
    rsm
h1_end:

h2:
    mov [OBS + 0x10], cs
    mov eax, [cs:0xff00]
    mov [OBS + 0x14], eax
    inc byte [OBS + 0x18]
    mov byte [cs:0x100], 0x5a           ; a marker inside SMRAM (0xA0100)
    rsm
h2_end:

BIOS_END
