; migrate_inc_l2.asm - G-inc variant (e) of state.md 6.1: the incrementer of migrate_inc.asm runs
; as an SVM L2 guest (flat 32-bit, no nested paging), so a live migration catches the vCPU in
; guest mode while L2 writes memory. L2 runs one pass, then VMMCALLs; L1 prints "pass N ok" and
; resumes it after the VMMCALL; after the check-only pass L1 prints the checksum and PASS. L2 reaches
; the serial port and the exit port directly (no IOIO intercept), so a wrong page still ends the
; run with the FAIL line. Needs -cpu qemu64,+svm. Same -D parameters as migrate_inc.asm.
%include "multiboot.inc"
%include "svm32.inc"
%include "migrate_inc.inc"

VMCB      equ SCRATCH               ; L2's VMCB
HSAVE     equ SCRATCH + 0x1000      ; VM_HSAVE_PA
L2_STACK  equ SCRATCH + 0x10000     ; L2's stack top (the end of the scratch area)
EXIT_VMMCALL equ 0x81               ; APM Vol 2, Appendix C

main:
    INC_HEADER "migrate_inc_l2"
    SVM_SETUP HSAVE
    VMCB_FLAT32 VMCB, l2_main, L2_STACK
.run:
    VMRUN_AT VMCB
    mov eax, [VMCB + VMCB_EXIT_CODE]
    cmp eax, EXIT_VMMCALL
    jne .unexpected
    add dword [VMCB + VMCB_RIP], 3      ; past VMMCALL (0f 01 d9); no next-RIP needed
    mov eax, [l2_pass]
    cmp eax, PASSES
    ja .verified
    PRINT "pass "
    PRINT_DEC eax
    PRINTLN " ok"
    jmp .run
.unexpected:
    PRINT "FAIL: #VMEXIT code "
    PRINT_HEX32 eax
    PRINTLN ", expected VMMCALL"
    EXIT EXIT_FAILURE
.verified:
    PRINT "verify ok, checksum "
    call range_checksum
    PRINT_HEX32 eax
    PRINT_CHAR 10
    PASS

; L2: pass after pass, each followed by a VMMCALL to L1; the pass number lives in memory because
; L1 sees L2's registers only through the VMCB.
l2_main:
    mov dword [l2_pass], 1
.pass:
    mov ebp, [l2_pass]
    call inc_pass
    vmmcall
    inc dword [l2_pass]
    jmp .pass

align 4
l2_pass: dd 0
