; smm_rsm_modes.asm - -bios guest (run with -machine q35,smm=on): RSM executed from a handler that
; has changed its own mode, back into every mode the interrupted code can be in. SeaBIOS's
; handler switches to 32-bit protected mode inside SMM and executes RSM there; OVMF's runs in
; 64-bit paged mode. RSM must then tear the handler's mode down (CR0.PG/PE, CR4.PAE, EFER.LME/LMA,
; its GDTR and CS) and load the interrupted state from the save area, including values the
; handler edited (APM Vol 2 10.3.4 / SDM Vol 3 34.11 "RSM"; KVM and vx86 first go back to real
; mode, then load CR3, CR4, CR0 in that order, see shared/spec/smm.md 4.2).
;
;   case  interrupted mode             handler runs RSM in   save-area edits
;   A     real mode                    32-bit protected      RAX+1, RIP+2 (skips MOV BL), DS base
;   B     real mode                    64-bit long mode      RAX+1
;   C     32-bit protected, PAE paging 64-bit long mode      RAX+1
;   D     64-bit, RIP above 4 GiB      32-bit protected      RAX+1, RIP+2 (a 64-bit RIP add)
;   E     compatibility mode           64-bit long mode      RAX+1, RIP+2
;
; After each RSM the main code prints EAX, whether the skipped instruction ran, the mode the
; handler was in when it executed RSM, and CS/CR0/CR4/EFER/GDTR as RSM left them. The SMIs are
; raised by an OUT in a MOV SS shadow so that QEMU 7.2 too takes them right after the OUT (see
; smm_savemap.asm); the RIP edits depend on that.
%include "bios.inc"
%include "paging.inc"
%include "smm.inc"

E_RAXADD equ 0x7100                     ; edits the handler makes (DS base 0 / flat in every mode)
E_RIPADD equ 0x7104
E_DSBASE equ 0x7108                     ; 0: leave the saved DS base alone
HMODE    equ 0x710c                     ; 1: handler enters 32-bit protected mode, 2: long mode
RUNS     equ 0x7110
HOBS     equ 0x7120                     ; the handler's CR0, CS and EFER just before its RSM
SAVE     equ 0x7140                     ; main code scratch
SGDT_BUF equ 0x7160
MARK     equ 0x7180                     ; DS-base probe: linear MARK and MARK + 0x10000
SA       equ SMBASE_DEFAULT + 0xfe00
HIGH     equ 0x100000000                ; long-mode alias of the low 1 GiB (case D)

; Handler GDT selectors.
H_CODE32 equ 0x08
H_DATA   equ 0x10
H_CODE64 equ 0x18
%define HLIN(l) (SMBASE_DEFAULT + 0x8000 + (l) - handler)     ; linear address inside the handler

; SETUP rax_add, rip_add, ds_base, handler_mode  (any mode, flat or DS base 0)
%macro SETUP 4
    mov dword [E_RAXADD], %1
    mov dword [E_RIPADD], %2
    mov dword [E_DSBASE], %3
    mov dword [HMODE], %4
%endmacro

; SMI_SHADOW ss_source: MOV SS then OUT 0xB2 (AL = the command); the SMI is taken after the OUT.
%macro SMI_SHADOW 1
    mov ss, %1
    out APM_CNT, al
%endmacro

; HANDLER_SEEN: the mode the handler executed RSM in.
%macro HANDLER_SEEN 1
    PRINT %1, " handler rsm from: cs="
    PRINT_HEX16 [HOBS + 4]
    PRINT " cr0="
    PRINT_HEX32 [HOBS]
    PRINT " efer="
    PRINT_HEX32 [HOBS + 8]
    PRINT_CHAR 10
%endmacro

; AFTER "case": the state RSM left (clobbers eax, ecx, edx).
%macro AFTER 1
    PRINT %1, " after rsm: cs="
    mov ax, cs
    movzx eax, ax
    PRINT_HEX16 eax
    PRINT " cr0="
%if __BITS__ == 64
    mov rax, cr0
%else
    mov eax, cr0
%endif
    PRINT_HEX32 eax
    PRINT " cr3="
%if __BITS__ == 64
    mov rax, cr3
%else
    mov eax, cr3
%endif
    PRINT_HEX32 eax
    PRINT " cr4="
%if __BITS__ == 64
    mov rax, cr4
%else
    mov eax, cr4
%endif
    PRINT_HEX32 eax
    mov ecx, MSR_EFER
    rdmsr
    PRINT " efer="
    PRINT_HEX32 eax
%if __BITS__ == 16
    o32 sgdt [SGDT_BUF]
%else
    sgdt [SGDT_BUF]
%endif
    PRINT " gdtr="
    PRINT_HEX16 [SGDT_BUF]
    PRINT ":"
    PRINT_HEX32 [SGDT_BUF + 2]
    PRINT_CHAR 10
%endmacro

; SKIPPED: print whether MOV BL, 0xEE (the instruction a RIP+2 edit skips) ran.
%macro SKIPPED 0
    PRINT " skipped mov="
    cmp bl, 0xee
    je %%ran
    PRINT "yes"
    jmp %%done
%%ran:
    PRINT "no"
%%done:
%endmacro

bits 16
main16:
    SMI_ENABLE
    COPY_TO SMBASE_DEFAULT + 0x8000, handler, handler_end
    mov dword [RUNS], 0
    ; DS-base probe values: what DS:MARK reads with base 0 and with base 0x10000.
    mov dword [MARK], 0x1111aaaa
    mov ax, 0x1000
    mov es, ax
    mov dword [es:MARK], 0x2222bbbb
    xor ax, ax
    mov es, ax
    ; A trip through protected mode to build the identity page tables (and the alias of the low
    ; 1 GiB at 4 GiB for case D), then back to real mode with 64 KiB segments.
    lgdt [gdtr]
    mov eax, cr0
    or al, 1
    mov cr0, eax
    jmp dword SEL_KCODE32:.build
bits 32
.build:
    mov ax, SEL_KDATA
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov esp, RM_STACK_TOP
    call paging_build
    mov dword [PT_PDPT4 + 4 * 8], PT_PD | PTE_P | PTE_RW | PTE_US
    mov dword [PT_PDPT4 + 4 * 8 + 4], 0
    mov ax, SEL_KDATA16
    mov ds, ax
    mov es, ax
    mov ss, ax
    jmp SEL_KCODE16:.pm16
bits 16
.pm16:
    mov eax, cr0
    and al, ~1
    mov cr0, eax
    jmp 0:.real
.real:
    xor ax, ax
    mov ds, ax
    mov es, ax
    mov ss, ax

    ; ---- A: real mode; handler in 32-bit protected mode edits RAX, RIP and the DS base ----
    SETUP 1, 2, 0x10000, 1
    mov eax, 0x11111111
    xor bl, bl
    SMI_SHADOW [cs:zero16]
    mov bl, 0xee                        ; skipped by the RIP edit
    ; DS now has base 0x10000 with selector 0 (RSM loads the hidden part from the save area, as
    ; SeaBIOS's CALL32_SMM state swap needs): read the probe through it, then reload DS.
    mov [cs:SAVE], eax
    mov ecx, [MARK]
    mov [cs:SAVE + 4], ecx
    xor ax, ax
    mov ds, ax
    PRINT "A real: eax="
    PRINT_HEX32 [SAVE]
    SKIPPED
    PRINT " ds:mark="
    PRINT_HEX32 [SAVE + 4]
    PRINT_CHAR 10
    HANDLER_SEEN "A"
    AFTER "A"
    ASSERT_EQ dword [SAVE], 0x11111112, "A: saved eax + 1"
    ASSERT_EQ dword [SAVE + 4], 0x2222bbbb, "A: ds base from the save area"

    ; ---- B: real mode; handler in 64-bit mode ----
    SETUP 1, 0, 0, 2
    mov eax, 0x22222222
    xor bl, bl
    SMI_SHADOW [cs:zero16]
    mov [SAVE], eax
    PRINT "B real: eax="
    PRINT_HEX32 [SAVE]
    PRINT_CHAR 10
    HANDLER_SEEN "B"
    AFTER "B"
    ASSERT_EQ dword [SAVE], 0x22222223, "B: saved eax + 1"

    ; ---- C: 32-bit protected mode with PAE paging; handler in 64-bit mode ----
    lgdt [gdtr]
    mov eax, cr0
    or al, 1
    mov cr0, eax
    jmp dword SEL_KCODE32:pm32
bits 32
pm32:
    mov ax, SEL_KDATA
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov esp, STACK0_TOP
    mov eax, CR4_PAE
    mov cr4, eax
    mov eax, PT_PDPT
    mov cr3, eax
    mov ecx, MSR_EFER
    xor edx, edx
    mov eax, EFER_NXE
    wrmsr
    mov eax, cr0
    or eax, CR0_PG
    mov cr0, eax
    SETUP 1, 0, 0, 2
    mov eax, 0x33333333
    SMI_SHADOW [ss_kdata]
    mov [SAVE], eax
    PRINT "C pm32: eax="
    PRINT_HEX32 [SAVE]
    PRINT_CHAR 10
    HANDLER_SEEN "C"
    AFTER "C"
    ASSERT_EQ dword [SAVE], 0x33333334, "C: saved eax + 1"

    ; ---- D: 64-bit mode at RIP above 4 GiB; handler in 32-bit protected mode ----
    mov eax, cr0
    and eax, ~CR0_PG
    mov cr0, eax
    mov eax, PT_PML4
    mov cr3, eax
    mov ecx, MSR_EFER
    xor edx, edx
    mov eax, EFER_NXE | EFER_LME
    wrmsr
    mov eax, cr0
    or eax, CR0_PG
    mov cr0, eax
    jmp SEL_KCODE64:long64
bits 64
long64:
    mov ax, SEL_KDATA64
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov rax, HIGH + .high
    jmp rax                             ; continue in the alias above 4 GiB
.high:
    SETUP 1, 2, 0, 1
    mov rax, 0x4444444444444444
    xor bl, bl
    SMI_SHADOW [ss_kdata64]
    mov bl, 0xee                        ; skipped by the RIP edit
    lea rcx, [rel $]                    ; where execution resumed
    mov [SAVE], rax
    mov [SAVE + 8], rcx
    mov rax, .low
    jmp rax
.low:
    PRINT "D long: rax="
    PRINT_HEX64 [SAVE]
    SKIPPED
    PRINT " rip after rsm="
    PRINT_HEX64 [SAVE + 8]
    PRINT_CHAR 10
    HANDLER_SEEN "D"
    AFTER "D"
    mov rax, 0x4444444444444445
    ASSERT_EQ64 [SAVE], rax, "D: saved rax + 1"
    mov rax, [SAVE + 8]
    shr rax, 32
    ASSERT_EQ64 rax, 1, "D: resumed above 4 GiB"

    ; ---- E: compatibility mode; handler in 64-bit mode ----
    push SEL_KCODE32
    push compat
    o64 retf
bits 32
compat:
    SETUP 1, 2, 0, 2
    mov eax, 0x55555555
    xor bl, bl
    SMI_SHADOW [ss_kdata64]
    mov bl, 0xee                        ; skipped by the RIP edit
    mov [SAVE], eax
    PRINT "E compat: eax="
    PRINT_HEX32 [SAVE]
    SKIPPED
    PRINT_CHAR 10
    HANDLER_SEEN "E"
    AFTER "E"
    ASSERT_EQ dword [SAVE], 0x55555556, "E: saved eax + 1"
    ; Back to 64-bit code through the main GDT (RSM restored GDTR from the save area).
    jmp SEL_KCODE64:.back64
bits 64
.back64:
    PRINT "runs="
    PRINT_DEC [RUNS]
    PRINT_CHAR 10
    PASS

zero16:     dw 0
ss_kdata:   dw SEL_KDATA
ss_kdata64: dw SEL_KDATA64

; EDITS: apply E_RAXADD / E_RIPADD (64-bit adds) and E_DSBASE to the save area, then note the
; mode the handler is in (CR0, CS, EFER) and execute RSM. Emitted for 16-, 32- and 64-bit code.
%macro EDITS_RSM 0
%if __BITS__ == 64
  %define _B rbx
%else
  %define _B ebx
%endif
    mov ebx, SA
    mov eax, [E_RAXADD]
    add [_B + 0x1f8], eax               ; RAX at SMBASE + 0xFFF8
    adc dword [_B + 0x1fc], 0
    mov eax, [E_RIPADD]
    add [_B + 0x178], eax               ; RIP at SMBASE + 0xFF78
    adc dword [_B + 0x17c], 0
    mov eax, [E_DSBASE]
    test eax, eax
    jz %%nods
    mov [_B + 0x38], eax                ; DS base at SMBASE + 0xFE38
    mov dword [_B + 0x3c], 0
%%nods:
%if __BITS__ == 64
    mov rax, cr0
%else
    mov eax, cr0
%endif
    mov [HOBS], eax
    mov [HOBS + 4], cs
    mov ecx, MSR_EFER
    rdmsr
    mov [HOBS + 8], eax
    inc dword [RUNS]
    rsm
%endmacro

; The handler: entered at 0x38000 in SMM's real-mode-like state (CS = 0x3000, DS base 0).
bits 16
handler:
    cmp dword [HMODE], 0
    jne .pm
    EDITS_RSM
.pm:
    o32 lgdt [cs:hgdtr - handler + 0x8000]
    mov eax, cr0
    or al, 1
    mov cr0, eax
    jmp dword H_CODE32:HLIN(h32)
bits 32
h32:
    mov ax, H_DATA
    mov ds, ax
    mov es, ax
    mov ss, ax
    cmp dword [HMODE], 1
    jne .long
    EDITS_RSM                           ; RSM from 32-bit protected mode (SeaBIOS)
.long:
    mov eax, CR4_PAE
    mov cr4, eax
    mov eax, PT_PML4
    mov cr3, eax
    mov ecx, MSR_EFER
    rdmsr
    or eax, EFER_LME
    wrmsr
    mov eax, cr0
    or eax, CR0_PG
    mov cr0, eax
    jmp H_CODE64:HLIN(h64)
bits 64
h64:
    EDITS_RSM                           ; RSM from 64-bit mode (OVMF)
align 8
hgdt:
    dq 0
    DESC 0, 0xfffff, 0x9b, 0xc          ; H_CODE32
    DESC 0, 0xfffff, 0x93, 0xc          ; H_DATA
    DESC 0, 0xfffff, 0x9b, 0xa          ; H_CODE64
hgdtr:
    dw 4 * 8 - 1
    dd HLIN(hgdt)
handler_end:

BIOS_END
