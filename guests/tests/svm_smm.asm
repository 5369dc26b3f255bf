; svm_smm.asm - -bios guest (-machine q35,smm=on -cpu qemu64,+svm): SMIs raised by L2 through the
; APM port. With the SMI intercept set the SMI becomes #VMEXIT(SMI) and stays pending until L1's
; STGI, when L1 takes it. Without it the SMI is taken from guest mode: the SMM handler finds the
; AMD64 save area's SVM guest flag (SMBASE+0xFED8) = 1 and the VMCB address (+0xFEE0), and RSM
; resumes L2, whose VMMCALL then exits to L1 (APM Vol 2, 15.22; KVM's semantics). QEMU TCG runs
; the handler inside guest mode and writes neither field (see svm_smm.qemu-diff).
%include "bios.inc"
%include "smm.inc"
%include "svm32.inc"

VMCB     equ 0x90000
HSAVE    equ 0x91000
L2_STACK equ 0x9f000
SEEN     equ 0x7100                     ; handler: count, guest flag, VMCB address, saved RIP
SAVE     equ SMBASE_DEFAULT + 0xfe00    ; the AMD64 save map

bits 16
main16:
    SMI_ENABLE
    COPY_TO SMBASE_DEFAULT + 0x8000, handler, handler_end
    mov dword [SEEN], 0
    PM32_ENTER
    SVM_SETUP HSAVE
    VMCB_FLAT32 VMCB, l2, L2_STACK
    mov dword [VMCB + VMCB_INTERCEPT_MISC1], 1 << 2  ; intercept SMI (cleared for the second test)

    ; 1. Intercepted: #VMEXIT(SMI) after the OUT retires; L1's STGI lets the SMI in.
    mov eax, VMCB
    vmrun
    PRINT "intercepted: exit="
    PRINT_HEX32 [VMCB + 0x070]
    mov eax, [VMCB + 0x578]
    sub eax, l2
    PRINT " rip=+"
    PRINT_HEX8 eax
    PRINT " smis before stgi="
    PRINT_HEX8 [SEEN]
    stgi
    nop
    PRINT " after="
    PRINT_HEX8 [SEEN]
    PRINT " flag="
    PRINT_HEX32 [SEEN + 4]
    PRINT_CHAR 10

    ; 2. Not intercepted: SMM from guest mode, then back into L2 up to its VMMCALL.
    mov dword [VMCB + 0x00c], 0
    mov dword [VMCB + 0x578], l2
    mov eax, VMCB
    vmrun
    PRINT "from guest: exit="
    PRINT_HEX32 [VMCB + 0x070]
    PRINT " smis="
    PRINT_HEX8 [SEEN]
    mov eax, [SEEN + 12]
    sub eax, l2
    PRINT " saved rip=+"
    PRINT_HEX8 eax
    PRINT_CHAR 10
    PRINT "from guest: svm guest flag="
    PRINT_HEX32 [SEEN + 4]
    PRINT " vmcb="
    PRINT_HEX32 [SEEN + 8]
    PRINT_CHAR 10
    PASS

l2:
    RAISE_SMI 0x42
    vmmcall

; The SMM handler (16-bit, CS base = SMBASE, 4 GiB data segments): record and resume.
bits 16
handler:
    a32 inc dword [dword SEEN]
    mov eax, [dword SAVE + 0xd8]        ; SVM guest flag
    mov [dword SEEN + 4], eax
    mov eax, [dword SAVE + 0xe0]        ; SVM guest VMCB physical address
    mov [dword SEEN + 8], eax
    mov eax, [dword SAVE + 0x178]       ; saved RIP
    mov [dword SEEN + 12], eax
    rsm
handler_end:

BIOS_END
