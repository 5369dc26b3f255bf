; smm_savemap.asm - -bios guest (run with -machine q35,smm=on): the AMD64 SMM state-save map
; (revision 0x00020064, AMD APM Vol 2 Table 10-2 "AMD64 Architecture SMM State-Save Area") of
; SMIs taken from (a) real mode, (b) 32-bit protected mode with 4 MiB-page paging, (c) 64-bit
; mode, each with distinct values in every register the map holds. The SMM handler records the
; state it was entered with, copies the 512-byte save area to normal RAM and RSMs; the 64-bit
; main code then prints every defined field and checks it against the value it had set
; ("(want x)" after a wrong field, then FAIL).
;
; Printed widths: RFLAGS, CR0, CR4, DR6 and DR7 are 8-byte fields in the APM, but QEMU stores
; only their low 32 bits (the high halves keep stale memory), so only those are printed.
; Reserved bytes, the I/O-restart / auto-halt / SVM / SSP fields and the GDTR/IDTR selector and
; attribute slots are not printed either (QEMU leaves them untouched, vx86 writes zeros).
;
; Where the SMI is taken: each OUT 0xB2 follows a MOV SS. QEMU 7.2 checks for interrupts only
; between translation blocks, and an instruction in a MOV SS shadow ends its block, so QEMU too
; takes the SMI right after the OUT - the boundary the manuals give (SDM Vol 3 Table 6-2) - and
; the saved RIP can be checked exactly. (smm_modes shows QEMU's late SMI without this trick.)
%include "bios.inc"
%include "paging.inc"
%include "smm.inc"

COPY     equ SCRATCH                    ; per SMI: 0x400 bytes = save area + entry state at +0x200
STRIDE   equ 0x400
ENT      equ 0x7400                     ; entry state, written by the handler (DS base 0)
MODE     equ 0x7480                     ; which SMI this is: 0 real, 1 pm32, 2 long
FAILED   equ 0x7484
H_STACK  equ 0x6800                     ; the handler's stack (SS base 0 in SMM)
LDT_BASE equ 0x7800
CMD      equ 0xa0                       ; APM command byte (any value but 0x02/0x03)

; Save-map offsets (area+n = SMBASE + 0xFE00 + n).
SM_ES equ 0x00
SM_CS equ 0x10
SM_SS equ 0x20
SM_DS equ 0x30
SM_FS equ 0x40
SM_GS equ 0x50
SM_GDTR equ 0x60                        ; limit u32 at +4, base u64 at +8
SM_LDTR equ 0x70
SM_IDTR equ 0x80
SM_TR equ 0x90
SM_EFER equ 0xd0
SM_REV equ 0xfc
SM_SMBASE equ 0x100
SM_CR4 equ 0x148
SM_CR3 equ 0x150
SM_CR0 equ 0x158
SM_DR7 equ 0x160
SM_DR6 equ 0x168
SM_RFLAGS equ 0x170
SM_RIP equ 0x178
%define SM_GPR(n) (0x1f8 - 8 * (n))     ; RAX=0 RCX=1 RDX=2 RBX=3 RSP=4 RBP=5 RSI=6 RDI=7 R8..R15

; Entry-state record (ENT, copied to +0x200 of each slot).
E_GPR   equ 0x00                        ; 8 x 32-bit, EAX..EDI as found by the first instruction
E_CS    equ 0x20                        ; selectors: CS SS DS ES FS GS (16-bit each)
E_CR0   equ 0x2c
E_CR4   equ 0x30
E_EFER  equ 0x34
E_RFL   equ 0x38
E_DR7   equ 0x3c
E_CSB   equ 0x40                        ; CS base as probed (0x30000 if [cs:x] is linear 0x30000+x)
E_DSB   equ 0x44                        ; DS base as probed (0 if [ds:0x30000+x] is [cs:x])

; Values the main code sets (real / pm32 / long).
RF_SET  equ 0x00247cd7                  ; ID AC NT IOPL=3 OF DF SF ZF AF PF CF (+ bit 1)
FS_BASE64 equ 0x0000123456789ab0
GS_BASE64 equ 0xffff800013579bd0

; ---- check tables: entries of {dq want; dw offset; db size; db kind; name, 0} ----
; kind 1: start a line (name = label), 2: print the field, 3: print and check it, 4: print it
; ANDed with the 'want' quadword (a mask), unchecked.
%macro T_LINE 1
    dq 0
    dw 0
    db 0, 1
    db %1, 0
%endmacro
%macro T_P 3                            ; name, offset, size
    dq 0
    dw %2
    db %3, 2
    db %1, 0
%endmacro
%macro T_C 4                            ; name, offset, size, wanted value
    dq %4
    dw %2
    db %3, 3
    db %1, 0
%endmacro
%macro T_M 4                            ; name, offset, size, mask: print value & mask
    dq %4
    dw %2
    db %3, 4
    db %1, 0
%endmacro
%macro T_END 0
    dq 0
    dw 0
    db 0, 0
%endmacro
; T_SEG "es", offset, sel, attr, limit, base   (all checked)
%macro T_SEG 6
    T_LINE %1
    T_C "sel", %2, 2, %3
    T_C "attr", %2 + 2, 2, %4
    T_C "limit", %2 + 4, 4, %5
    T_C "base", %2 + 8, 8, %6
%endmacro
; T_RSEG "es", offset, sel: real mode - selector and base = sel << 4 checked; the hidden limit and
; attributes are whatever the last load left (reset values here) and are only printed.
%macro T_RSEG 3
    T_LINE %1
    T_C "sel", %2, 2, %3
    T_P "attr", %2 + 2, 2
    T_P "limit", %2 + 4, 4
    T_C "base", %2 + 8, 8, (%3) << 4
%endmacro
; T_TR: TR after LTR SEL_TSS, attributes printed with the busy bit (type bit 1) masked off. LTR
; marks the GDT descriptor busy; whether the TR cache holds the busy type is worded differently
; by the manuals (APM Vol 3 "LTR": the descriptor is loaded into the hidden portion, then the GDT
; copy is marked busy; SDM Vol 3C 26.3.1.2 requires the busy type of a VM-entry guest's TR in
; IA-32e mode). QEMU 7.2 saves 0x89 here, vx86 0x8b (as VMX hardware and KVM do).
%macro T_TR 0
    T_LINE "tr"
    T_C "sel", SM_TR, 2, SEL_TSS
    T_M "attr&fffd", SM_TR + 2, 2, 0xfffd
    T_C "limit", SM_TR + 4, 4, TSS_IOPB + 0x2000
    T_C "base", SM_TR + 8, 8, TSS_BASE
%endmacro
; T_GPRS 16 wanted values, RAX..R15
%macro T_GPRS 16
    T_LINE "gpr"
    T_C "rax", SM_GPR(0), 8, %1
    T_C "rcx", SM_GPR(1), 8, %2
    T_C "rdx", SM_GPR(2), 8, %3
    T_C "rbx", SM_GPR(3), 8, %4
    T_LINE "gpr"
    T_C "rsp", SM_GPR(4), 8, %5
    T_C "rbp", SM_GPR(5), 8, %6
    T_C "rsi", SM_GPR(6), 8, %7
    T_C "rdi", SM_GPR(7), 8, %8
    T_LINE "gpr"
    T_C "r8", SM_GPR(8), 8, %9
    T_C "r9", SM_GPR(9), 8, %10
    T_C "r10", SM_GPR(10), 8, %11
    T_C "r11", SM_GPR(11), 8, %12
    T_LINE "gpr"
    T_C "r12", SM_GPR(12), 8, %13
    T_C "r13", SM_GPR(13), 8, %14
    T_C "r14", SM_GPR(14), 8, %15
    T_C "r15", SM_GPR(15), 8, %16
%endmacro
; T_ENTRY cr0: the state the handler found (AMD APM Vol 2 Table 10-3 "SMM Register
; Initialization"; SDM Vol 3 Table 34-4): CS = SMBASE >> 4 with base SMBASE, other selectors 0
; with base 0 and 4 GiB limits (the a32 accesses above 64 KiB prove the limit), RFLAGS = 2,
; CR0 = the interrupted CR0 without PE, EM, TS, PG; CR4 = 0; EFER = 0; DR7 = 0x400. IDTR after
; entry is not specified by the manuals (KVM and vx86 clear it, QEMU keeps it): not printed.
%macro T_ENTRY 1
    T_LINE "entry"
    T_C "cs", 0x200 + E_CS, 2, 0x3000
    T_C "cs.base", 0x200 + E_CSB, 4, 0x30000
    T_C "ds.base", 0x200 + E_DSB, 4, 0
    T_C "ss", 0x200 + E_CS + 2, 2, 0
    T_C "ds", 0x200 + E_CS + 4, 2, 0
    T_C "es", 0x200 + E_CS + 6, 2, 0
    T_C "fs", 0x200 + E_CS + 8, 2, 0
    T_C "gs", 0x200 + E_CS + 10, 2, 0
    T_LINE "entry"
    T_C "cr0", 0x200 + E_CR0, 4, %1
    T_C "cr4", 0x200 + E_CR4, 4, 0
    T_C "efer", 0x200 + E_EFER, 4, 0
    T_C "rflags", 0x200 + E_RFL, 4, 2
    T_C "dr7", 0x200 + E_DR7, 4, 0x400
%endmacro
; T_ENTRY_GPRS: entry leaves the GPRs alone (their low 32 bits as the handler saw them)
%macro T_ENTRY_GPRS 8
    T_LINE "entry"
    T_C "eax", 0x200 + E_GPR + 0, 4, (%1) & 0xffffffff
    T_C "ecx", 0x200 + E_GPR + 4, 4, (%2) & 0xffffffff
    T_C "edx", 0x200 + E_GPR + 8, 4, (%3) & 0xffffffff
    T_C "ebx", 0x200 + E_GPR + 12, 4, (%4) & 0xffffffff
    T_C "esp", 0x200 + E_GPR + 16, 4, (%5) & 0xffffffff
    T_C "ebp", 0x200 + E_GPR + 20, 4, (%6) & 0xffffffff
    T_C "esi", 0x200 + E_GPR + 24, 4, (%7) & 0xffffffff
    T_C "edi", 0x200 + E_GPR + 28, 4, (%8) & 0xffffffff
%endmacro
; T_COMMON cr0 cr3 cr4 efer dr7 rip gdtr_limit gdtr_base idtr_limit idtr_base
%macro T_COMMON 10
    T_LINE "gdtr"
    T_C "limit", SM_GDTR + 4, 4, %7
    T_C "base", SM_GDTR + 8, 8, %8
    T_LINE "idtr"
    T_C "limit", SM_IDTR + 4, 4, %9
    T_C "base", SM_IDTR + 8, 8, %10
    T_LINE "ctl"
    T_C "cr0", SM_CR0, 4, %1
    T_C "cr3", SM_CR3, 8, %2
    T_C "cr4", SM_CR4, 4, %3
    T_C "efer", SM_EFER, 8, %4
    T_LINE "ctl"
    T_C "dr6", SM_DR6, 4, 0xffff0ff0    ; untouched since reset (SDM Vol 3A Table 10-1)
    T_C "dr7", SM_DR7, 4, %5
    T_C "rflags", SM_RFLAGS, 4, RF_SET
    T_C "rip", SM_RIP, 8, %6
    T_LINE "id"
    T_C "revision", SM_REV, 4, 0x00020064
    T_C "smbase", SM_SMBASE, 4, 0x30000
%endmacro

; GPR values, distinct per mode (RAX's low byte is the APM command).
R_EAX equ 0x111111a0
R_ECX equ 0x22222222
R_EDX equ 0x33333333
R_EBX equ 0x44444444
R_ESP equ 0x00006ff0
R_EBP equ 0x66666666
R_ESI equ 0x77777777
R_EDI equ 0x88888888
P_EAX equ 0x9999a0a1
P_ECX equ 0xaaaaaaaa
P_EDX equ 0xbbbbbbbb
P_EBX equ 0xcccccccc
P_ESP equ 0x0005fff0
P_EBP equ 0xdddddddd
P_ESI equ 0xeeeeeeee
P_EDI equ 0xffff0000
L_RAX equ 0x01010101010101a2
L_RCX equ 0x0202020202020202
L_RDX equ 0x0303030303030303
L_RBX equ 0x0404040404040404
L_RSP equ 0x000076543210fed0            ; canonical, never used as a stack before it is reset
L_RBP equ 0x0606060606060606
L_RSI equ 0x0707070707070707
L_RDI equ 0x0808080808080808
L_R8  equ 0x8888888888888808
L_R9  equ 0x9999999999999909
L_R10 equ 0xaaaaaaaaaaaaaa10
L_R11 equ 0xbbbbbbbbbbbbbb11
L_R12 equ 0xcccccccccccccc12
L_R13 equ 0xdddddddddddddd13
L_R14 equ 0xeeeeeeeeeeeeee14
L_R15 equ 0xffffffffffffff15

; Segments: real-mode selectors; extra GDT entries in the free slots.
RS_DS equ 0x0456
RS_ES equ 0x1234
RS_FS equ 0x2345
RS_GS equ 0x3456
RS_SS equ 0x0567
SEL_LDT equ SEL_FREE                    ; 16 bytes (a 64-bit LDT descriptor), LDT_BASE, limit 0x17
SEL_FSD equ SEL_FREE + 0x10             ; data, base 0x12345678, 4 GiB (G, D/B)
SEL_GSD equ SEL_FREE + 0x18             ; data, base 0x0abcdef0, byte-granular limit 0x12345, D/B

bits 16
main16:
    SMI_ENABLE
    COPY_TO SMBASE_DEFAULT + 0x8000, handler, handler_end
    mov byte [MODE], 0
    mov byte [FAILED], 0
    ; GDT additions (the GDT lives in the image copy, which is RAM).
    mov si, extra_desc
    mov di, gdt + SEL_FREE
    mov cx, extra_desc_end - extra_desc
    rep movsb

    ; ---------------- (a) real mode ----------------
    lgdt [gdtr]
    lidt [idtr_real]
    mov eax, 0x00abc000                 ; CR3 is just a register while paging is off
    mov cr3, eax
    mov ecx, MSR_EFER
    xor edx, edx
    mov eax, EFER_SCE
    wrmsr
    mov eax, 0x500                      ; DR7: LE, no breakpoint enabled
    mov dr7, eax
    mov ax, RS_ES
    mov es, ax
    mov ax, RS_FS
    mov fs, ax
    mov ax, RS_GS
    mov gs, ax
    mov ax, RS_DS
    mov ds, ax
    push dword RF_SET
    popfd                               ; DF=1 from here: no string instructions
    mov eax, R_EAX
    mov ecx, R_ECX
    mov edx, R_EDX
    mov ebx, R_EBX
    mov ebp, R_EBP
    mov esi, R_ESI
    mov edi, R_EDI
    mov esp, R_ESP
    mov ss, [cs:ss_real]                ; the MOV SS shadow: see the top of the file
    out APM_CNT, al
real_rip:
    xor ax, ax
    mov ss, ax
    mov esp, RM_STACK_TOP
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax
    push dword 2
    popfd

    ; ---------------- (b) 32-bit protected mode, 4 MiB pages ----------------
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
    mov fs, ax
    mov gs, ax
    mov esp, STACK0_TOP
    call paging_build
    mov ax, SEL_LDT
    lldt ax
    LOAD_TR
    lidt [idtr_pm]
    mov eax, CR4_PSE | 0x80             ; PSE, PGE
    mov cr4, eax
    mov eax, PT_PD32 | 0x18             ; PWT, PCD
    mov cr3, eax
    mov eax, 0x80010031                 ; PG WP NE ET PE (CD, NW cleared)
    mov cr0, eax
    jmp .flush
.flush:
    mov ecx, MSR_EFER
    xor edx, edx
    mov eax, EFER_NXE | EFER_SCE
    wrmsr
    mov eax, 0x600                      ; DR7: GE
    mov dr7, eax
    mov byte [MODE], 1
    mov ax, SEL_KDATA16
    mov es, ax
    mov ax, SEL_FSD
    mov fs, ax
    mov ax, SEL_GSD
    mov gs, ax
    push dword RF_SET
    popfd
    mov eax, P_EAX
    mov ecx, P_ECX
    mov edx, P_EDX
    mov ebx, P_EBX
    mov ebp, P_EBP
    mov esi, P_ESI
    mov edi, P_EDI
    mov esp, P_ESP
    mov ss, [ss_pm]
    out APM_CNT, al
pm_rip:
    mov ax, SEL_KDATA
    mov ss, ax
    mov es, ax
    mov esp, STACK0_TOP
    push dword 2
    popfd

    ; ---------------- (c) 64-bit mode ----------------
    mov eax, cr0
    and eax, ~CR0_PG
    mov cr0, eax
    mov eax, CR4_PAE | 0x80 | 0x10 | 0x8 | 0x4  ; PAE PGE PSE DE TSD
    mov cr4, eax
    mov eax, PT_PML4 | 0x8              ; PWT
    mov cr3, eax
    mov ecx, MSR_EFER
    xor edx, edx
    mov eax, EFER_NXE | EFER_LME | EFER_SCE
    wrmsr
    mov eax, 0x80010033                 ; PG WP NE ET MP PE
    mov cr0, eax
    jmp SEL_KCODE64:long64

bits 64
long64:
    mov ax, SEL_KDATA64
    mov ds, ax
    mov ss, ax
    mov ax, SEL_KDATA16
    mov es, ax
    mov ax, SEL_FSD
    mov fs, ax
    mov ax, SEL_GSD
    mov gs, ax
    mov ax, SEL_LDT                     ; 16-byte LDT descriptor in long mode
    lldt ax
    LOAD_TR                             ; the 16-byte 64-bit TSS descriptor
    lidt [idtr_long]
    mov eax, 0x700                      ; DR7: LE GE
    mov dr7, rax
    mov ecx, 0xc0000100                 ; FS.base: the full 64 bits only WRMSR can set
    mov rax, FS_BASE64
    mov rdx, rax
    shr rdx, 32
    wrmsr
    mov ecx, 0xc0000101                 ; GS.base
    mov rax, GS_BASE64
    mov rdx, rax
    shr rdx, 32
    wrmsr
    mov byte [MODE], 2
    push RF_SET
    popfq
    mov rax, L_RAX
    mov rcx, L_RCX
    mov rdx, L_RDX
    mov rbx, L_RBX
    mov rbp, L_RBP
    mov rsi, L_RSI
    mov rdi, L_RDI
    mov r8, L_R8
    mov r9, L_R9
    mov r10, L_R10
    mov r11, L_R11
    mov r12, L_R12
    mov r13, L_R13
    mov r14, L_R14
    mov r15, L_R15
    mov rsp, L_RSP
    mov ss, [ss_long]
    out APM_CNT, al
long_rip:
    mov rsp, STACK0_TOP
    push 2
    popfq

    mov ebx, tab_real
    mov ebp, COPY
    mov r12d, name_real
    call dump
    mov ebx, tab_pm
    mov ebp, COPY + STRIDE
    mov r12d, name_pm
    call dump
    mov ebx, tab_long
    mov ebp, COPY + 2 * STRIDE
    mov r12d, name_long
    call dump
    cmp byte [FAILED], 0
    jne .failed
    PASS
.failed:
    FAIL "save map fields differ from the state set before the SMI"

; dump: walk the table at rbx for the copy at rbp, printing lines prefixed with the string at r12.
dump:
    xor r13d, r13d                      ; 0 until the first line has started
.entry:
    movzx eax, byte [rbx + 11]
    lea rsi, [rbx + 12]
    test eax, eax
    jz .end
    cmp eax, 1
    jne .field
    test r13d, r13d
    jz .first
    PRINT_CHAR 10
.first:
    mov r13d, 1
    push rsi
    mov rsi, r12
    call puts64
    pop rsi
    call puts64
    PRINT ":"
    jmp .skip
.field:
    PRINT " "
    call puts64
    PRINT "="
    movzx edx, word [rbx + 8]
    movzx ecx, byte [rbx + 10]
    mov rax, [rbp + rdx]
    cmp ecx, 8
    je .full
    mov r8d, ecx                        ; keep the low `size` bytes
    shl r8d, 3
    mov r9, 1
    xchg rcx, r8
    shl r9, cl
    xchg rcx, r8
    dec r9
    and rax, r9
.full:
    cmp byte [rbx + 11], 4
    jne .unmasked
    and rax, [rbx]
.unmasked:
    mov r10, rax
    shl cl, 1                           ; nibbles
    call puthex64
    cmp byte [rbx + 11], 3
    jne .skip
    cmp r10, [rbx]
    je .skip
    PRINT "(want "
    mov rax, [rbx]
    call puthex64
    PRINT ")"
    mov byte [FAILED], 1
.skip:
    cmp byte [rsi], 0                   ; past the name's NUL
    lea rsi, [rsi + 1]
    jne .skip
    mov rbx, rsi
    jmp .entry
.end:
    PRINT_CHAR 10
    ret

name_real: db "real ", 0
name_pm:   db "pm32 ", 0
name_long: db "long ", 0

; The handler: 16-bit code at SMBASE + 0x8000 = 0x38000 (CS = 0x3000, DS/ES/SS base 0).
bits 16
handler:
    mov [ENT + E_GPR + 0], eax          ; first, as entry left them
    mov [ENT + E_GPR + 4], ecx
    mov [ENT + E_GPR + 8], edx
    mov [ENT + E_GPR + 12], ebx
    mov [ENT + E_GPR + 16], esp
    mov [ENT + E_GPR + 20], ebp
    mov [ENT + E_GPR + 24], esi
    mov [ENT + E_GPR + 28], edi
    mov [ENT + E_CS], cs
    mov [ENT + E_CS + 2], ss
    mov [ENT + E_CS + 4], ds
    mov [ENT + E_CS + 6], es
    mov [ENT + E_CS + 8], fs
    mov [ENT + E_CS + 10], gs
    mov esp, H_STACK                    ; ESP is the interrupted one: use our own stack
    pushfd
    pop dword [ENT + E_RFL]
    mov eax, cr0
    mov [ENT + E_CR0], eax
    mov eax, cr4
    mov [ENT + E_CR4], eax
    mov eax, dr7
    mov [ENT + E_DR7], eax
    mov ecx, MSR_EFER
    rdmsr
    mov [ENT + E_EFER], eax
    ; CS base: a dword written through CS must appear at linear 0x30000 + offset (read through
    ; DS with a 32-bit address above 64 KiB, which also needs DS's 4 GiB limit).
    mov dword [ENT + E_CSB], 0xffffffff
    mov dword [cs:h_probe - handler + 0x8000], 0x5a5a0001
    mov ebx, SMBASE_DEFAULT + 0x8000 + h_probe - handler
    a32 cmp dword [ebx], 0x5a5a0001
    jne .csb_done
    mov dword [ENT + E_CSB], SMBASE_DEFAULT
.csb_done:
    ; DS base: a dword written through DS at 0x38000 + offset must be read back through CS.
    mov dword [ENT + E_DSB], 0xffffffff
    a32 mov dword [ebx], 0x5a5a0002
    cmp dword [cs:h_probe - handler + 0x8000], 0x5a5a0002
    jne .dsb_done
    mov dword [ENT + E_DSB], 0
.dsb_done:
    ; Copy the save area and the entry record to COPY + MODE * STRIDE (DF=0: RFLAGS is 2).
    movzx edi, byte [MODE]
    shl edi, 10
    add edi, COPY
    mov esi, SMBASE_DEFAULT + 0xfe00
    mov ecx, 0x200
    a32 rep movsb
    mov esi, ENT
    mov ecx, 0x48
    a32 rep movsb
    rsm
h_probe: dd 0
handler_end:

ss_real: dw RS_SS
ss_pm:   dw SEL_KDATA
ss_long: dw SEL_KDATA64

idtr_real:
    dw 0x3ff
    dd 0
idtr_pm:
    dw 0x7ff
    dd IDT32_BASE
align 8
idtr_long:
    dw 0xfff
    dq IDT64_BASE

extra_desc:
    DESC LDT_BASE, 0x17, 0x82, 0        ; SEL_LDT (+ 8 zero bytes: base 63:32)
    dq 0
    DESC 0x12345678, 0xfffff, 0x93, 0xc ; SEL_FSD
    DESC 0x0abcdef0, 0x12345, 0x93, 0x4 ; SEL_GSD
extra_desc_end:

; ---- what each save map must hold ----
tab_real:
    T_RSEG "es", SM_ES, RS_ES
    T_RSEG "cs", SM_CS, 0
    T_RSEG "ss", SM_SS, RS_SS
    T_RSEG "ds", SM_DS, RS_DS
    T_RSEG "fs", SM_FS, RS_FS
    T_RSEG "gs", SM_GS, RS_GS
    ; LDTR and TR were never loaded: reset state, selector 0, base 0, limit 0xFFFF (SDM Vol 3A
    ; Table 10-1, "Table 9-1" in older editions). The SDM gives the TR attributes after reset only
    ; as "present, R/W"; QEMU holds 0x8b (32-bit busy TSS), vx86 0x83 (16-bit busy TSS, as KVM on
    ; SVM): not printed.
    T_LINE "ldtr"
    T_C "sel", SM_LDTR, 2, 0
    T_P "attr", SM_LDTR + 2, 2
    T_C "limit", SM_LDTR + 4, 4, 0xffff
    T_C "base", SM_LDTR + 8, 8, 0
    T_LINE "tr"
    T_C "sel", SM_TR, 2, 0
    T_C "limit", SM_TR + 4, 4, 0xffff
    T_C "base", SM_TR + 8, 8, 0
    T_COMMON 0x60000010, 0x00abc000, 0, EFER_SCE, 0x500, real_rip, gdt_end - gdt - 1, gdt, 0x3ff, 0
    T_GPRS R_EAX, R_ECX, R_EDX, R_EBX, R_ESP, R_EBP, R_ESI, R_EDI, 0, 0, 0, 0, 0, 0, 0, 0
    T_ENTRY 0x60000010
    T_ENTRY_GPRS R_EAX, R_ECX, R_EDX, R_EBX, R_ESP, R_EBP, R_ESI, R_EDI
    T_END

tab_pm:
    T_SEG "es", SM_ES, SEL_KDATA16, 0x0093, 0xffff, 0
    T_SEG "cs", SM_CS, SEL_KCODE32, 0xc09b, 0xffffffff, 0
    T_SEG "ss", SM_SS, SEL_KDATA, 0xc093, 0xffffffff, 0
    T_SEG "ds", SM_DS, SEL_KDATA, 0xc093, 0xffffffff, 0
    T_SEG "fs", SM_FS, SEL_FSD, 0xc093, 0xffffffff, 0x12345678
    T_SEG "gs", SM_GS, SEL_GSD, 0x4093, 0x12345, 0x0abcdef0
    T_SEG "ldtr", SM_LDTR, SEL_LDT, 0x0082, 0x17, LDT_BASE
    T_TR
    T_COMMON 0x80010031, PT_PD32 | 0x18, CR4_PSE | 0x80, EFER_NXE | EFER_SCE, 0x600, pm_rip, \
             gdt_end - gdt - 1, gdt, 0x7ff, IDT32_BASE
    T_GPRS P_EAX, P_ECX, P_EDX, P_EBX, P_ESP, P_EBP, P_ESI, P_EDI, 0, 0, 0, 0, 0, 0, 0, 0
    T_ENTRY 0x00010030
    T_ENTRY_GPRS P_EAX, P_ECX, P_EDX, P_EBX, P_ESP, P_EBP, P_ESI, P_EDI
    T_END

tab_long:
    T_SEG "es", SM_ES, SEL_KDATA16, 0x0093, 0xffff, 0
    T_SEG "cs", SM_CS, SEL_KCODE64, 0xa09b, 0xffffffff, 0
    T_SEG "ss", SM_SS, SEL_KDATA64, 0xc093, 0xffffffff, 0
    T_SEG "ds", SM_DS, SEL_KDATA64, 0xc093, 0xffffffff, 0
    T_SEG "fs", SM_FS, SEL_FSD, 0xc093, 0xffffffff, FS_BASE64
    T_SEG "gs", SM_GS, SEL_GSD, 0x4093, 0x12345, GS_BASE64
    T_SEG "ldtr", SM_LDTR, SEL_LDT, 0x0082, 0x17, LDT_BASE
    T_TR
    ; EFER with LMA (bit 10), set by the CPU when paging came on with LME.
    T_COMMON 0x80010033, PT_PML4 | 0x8, CR4_PAE | 0x9c, EFER_NXE | 0x400 | EFER_LME | EFER_SCE, \
             0x700, long_rip, gdt_end - gdt - 1, gdt, 0xfff, IDT64_BASE
    T_GPRS L_RAX, L_RCX, L_RDX, L_RBX, L_RSP, L_RBP, L_RSI, L_RDI, \
           L_R8, L_R9, L_R10, L_R11, L_R12, L_R13, L_R14, L_R15
    T_ENTRY 0x00010032
    T_ENTRY_GPRS L_RAX, L_RCX, L_RDX, L_RBX, L_RSP, L_RBP, L_RSI, L_RDI
    T_END

BIOS_END
