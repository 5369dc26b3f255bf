; segments.asm - multiboot guest for protected-mode segmentation: LAR/LSL/VERR/VERW over many
; descriptor kinds, LDT use, limits and expand-down, far CALL/RET through call gates and conforming code.
%include "multiboot.inc"
%include "idt.inc"

SEL_LDT     equ 0x80
SEL_GATE0   equ 0x88                 ; call gate, DPL3, to gate_target, 2 parameters
SEL_CONF    equ 0x90                 ; conforming code, DPL0
SEL_XONLY   equ 0x98                 ; execute-only code
SEL_RODATA  equ 0xa0
SEL_SMALL   equ 0xa8                 ; data, base SCRATCH, limit 0xfff
SEL_EXPDN   equ 0xb0                 ; expand-down data, limit 0xfff, B=1
SEL_NP      equ 0xb8                 ; not-present data
LDT_DATA    equ 0x0c                 ; LDT entry 1, TI=1, RPL0
LDT_CODE    equ 0x14                 ; LDT entry 2
LDT_BASE    equ SCRATCH + 0xf000     ; the LDT is copied here (descriptor bases must be constants)

; SETDESC sel, base, limit, access, flags
%macro SETDESC 5
    mov dword [gdt + %1], ((%2) & 0xffff) << 16 | ((%3) & 0xffff)
    mov dword [gdt + %1 + 4], ((%2) & 0xff000000) | (((%5) & 0xf) << 20) | (((%3) >> 16 & 0xf) << 16) | ((%4) << 8) | (((%2) >> 16) & 0xff)
%endmacro

main:
    call idt32_init
    xor eax, eax
    call tss_init
    LOAD_TR
    mov esi, ldt_table
    mov edi, LDT_BASE
    mov ecx, 6
    rep movsd
    SETDESC SEL_LDT, LDT_BASE, 0x17, 0x82, 0
    mov eax, gate_target                     ; call gate: offset, selector, DPL3, type 0xc, 2 params
    mov word [gdt + SEL_GATE0], ax
    mov word [gdt + SEL_GATE0 + 2], SEL_KCODE32
    shr eax, 16
    mov word [gdt + SEL_GATE0 + 6], ax
    mov word [gdt + SEL_GATE0 + 4], 0xec02
    SETDESC SEL_CONF, 0, 0xfffff, 0x9f, 0xc
    SETDESC SEL_XONLY, 0, 0xfffff, 0x99, 0xc
    SETDESC SEL_RODATA, 0, 0xfffff, 0x91, 0xc
    SETDESC SEL_SMALL, SCRATCH, 0xfff, 0x93, 0x4
    SETDESC SEL_EXPDN, 0, 0xfff, 0x97, 0x4
    SETDESC SEL_NP, 0, 0xfffff, 0x13, 0xc
    mov ax, SEL_LDT
    lldt ax

    PRINTLN "sel  lar            lsl            verr verw"
    mov esi, selectors
.next_sel:
    movzx ebx, word [esi]
    cmp ebx, 0xffff
    je .sel_done
    call probe
    add esi, 2
    jmp .next_sel
.sel_done:

    sgdt [scratch_dt]
    PRINT "sgdt limit="
    PRINT_HEX16 [scratch_dt]
    PRINT " base ok="
    mov eax, [scratch_dt + 2]
    xor ecx, ecx
    cmp eax, gdt
    sete cl
    PRINT_DEC ecx
    sidt [scratch_dt]
    PRINT " sidt="
    PRINT_HEX16 [scratch_dt]
    PRINT ":"
    PRINT_HEX32 [scratch_dt + 2]
    sldt ax
    PRINT " sldt="
    PRINT_HEX16 eax
    str ax
    PRINT " str="
    PRINT_HEX16 eax
    PRINT_CHAR 10

    ; LDT data segment: base SCRATCH
    mov dword [SCRATCH + 0x10], 0xfeedface
    mov ax, LDT_DATA
    mov fs, ax
    mov eax, [fs:0x10]
    PRINT "ldt data read="
    PRINT_HEX32 eax
    call LDT_CODE:ldt_code_fn              ; far call into an LDT code segment
    PRINT " ldt far call cs="
    PRINT_HEX16 [seen_cs]
    PRINT_CHAR 10

    ; base/limit/expand-down segments, in-limit accesses only: QEMU 7.2 TCG does not enforce data
    ; segment limits in protected mode (AMD APM vol.2 4.12 "Segment-Limit Checks" requires #GP/#SS),
    ; so out-of-limit accesses are left out.
    mov dword [SCRATCH + 0xffc], 0x0badcafe
    mov ax, SEL_SMALL
    mov fs, ax
    mov eax, [fs:0xffc]
    PRINT "base+limit: [fs:ffc]="
    PRINT_HEX32 eax
    mov ax, SEL_EXPDN
    mov fs, ax
    mov eax, [fs:0x70010]
    PRINT " expand-down: [fs:70010]="
    PRINT_HEX32 eax
    PRINT_CHAR 10
    mov ax, SEL_XONLY
    TRY .xo_r
.xo: mov fs, ax                              ; execute-only code is not readable: #GP(sel)
.xo_r:
    ENDTRY
    PRINT "execute-only into fs:"
    mov ebx, .xo
    call report_exc32
    PRINT_CHAR 10

    ; far call/ret to a code segment and through the call gate at ring 0
    call SEL_KCODE32:far_fn
    PRINT "far call cs="
    PRINT_HEX16 [seen_cs]
    call SEL_GATE0:0
    PRINT " gate call (ring 0) caller cs="
    PRINT_HEX16 [seen_cs]
    PRINT_CHAR 10
    jmp far [far_ptr]
.after_jmp:
    PRINTLN "far jmp via m16:32 ok"

    ; ring 3: gate call to ring 0 with 2 parameters copied, RETF 8 back; conforming call
    mov ebx, user_code
    mov ecx, SEL_UCODE32 | 3
    mov edx, 2
    call user_call32
    PRINT "gate 3->0: cs="
    PRINT_HEX16 [seen_cs]
    PRINT " params="
    PRINT_HEX32 [seen_p1]
    PRINT ","
    PRINT_HEX32 [seen_p2]
    PRINT " ss="
    PRINT_HEX16 [seen_ss]
    PRINT " esp0 used="
    mov eax, STACK_PRIV_TOP
    sub eax, [seen_sp]
    PRINT_DEC eax
    PRINT " user esp restored="
    PRINT_DEC [user_ok]
    PRINT_CHAR 10
    PRINT "conforming call from ring 3: cs="
    PRINT_HEX16 [conf_cs]
    PRINT_CHAR 10
    PASS

; probe: ebx = selector; print LAR / LSL / VERR / VERW results (ZF and value)
probe:
    PRINT_HEX16 ebx
    mov eax, 0xdeadbeef
    lar eax, ebx
    call zf_value
    mov eax, 0xdeadbeef
    lsl eax, ebx
    call zf_value
    verr bx
    call zf_only
    PRINT "    "
    verw bx
    call zf_only
    PRINT_CHAR 10
    ret
zf_value:                                    ; " Z:XXXXXXXX" (flags from the caller's instruction)
    pushfd
    PRINT " "
    test byte [esp], 0x40
    setnz cl
    movzx ecx, cl
    PRINT_DEC ecx
    PRINT ":"
    PRINT_HEX32 eax
    popfd
    ret
zf_only:
    pushfd
    PRINT "  "
    test byte [esp], 0x40
    setnz cl
    movzx ecx, cl
    PRINT_DEC ecx
    popfd
    ret

far_fn:
    mov eax, [esp + 4]
    mov [seen_cs], eax
    retf
gate_target:                                 ; reached through SEL_GATE0 from ring 0 or ring 3
    mov eax, [esp + 4]
    mov [seen_cs], eax
    test al, 3
    jz .same
    mov [seen_sp], esp
    mov eax, [esp + 8]
    mov [seen_p1], eax
    mov eax, [esp + 12]
    mov [seen_p2], eax
    mov eax, [esp + 20]
    mov [seen_ss], eax
    retf 8
.same:
    retf 8                                   ; at ring 0 the two "parameters" are the caller's
ldt_code_fn:
    mov dword [seen_cs], 0
    mov [seen_cs], cs
    retf
conf_fn:
    mov [conf_cs], cs
    retf

user_code:
    mov ax, SEL_UDATA | 3
    mov ds, ax
    mov es, ax
    mov ebp, esp
    push 0x11111111
    push 0x22222222
    call (SEL_GATE0 | 3):0
    xor eax, eax
    cmp esp, ebp
    sete al
    mov [user_ok], eax
    call SEL_CONF:conf_fn
    USER_RETURN

align 8
ldt_table:
    dq 0
    DESC SCRATCH, 0xffff, 0x93, 0x0
    DESC 0, 0xfffff, 0x9b, 0xc
far_ptr: dd main.after_jmp
         dw SEL_KCODE32
selectors:
    dw 0, SEL_KCODE32, SEL_KDATA, SEL_KCODE16, SEL_KCODE64, SEL_UCODE32 | 3, SEL_UDATA | 3
    dw SEL_KDATA | 3, SEL_TSS, SEL_LDT, SEL_GATE0, SEL_CONF | 3, SEL_XONLY, SEL_RODATA
    dw SEL_SMALL, SEL_EXPDN, SEL_NP, LDT_DATA, LDT_CODE, 0x1f8, 0x100, 0x1c, 0xffff
scratch_dt: times 8 db 0
seen_cs: dd 0
seen_sp: dd 0
seen_p1: dd 0
seen_p2: dd 0
seen_ss: dd 0
conf_cs: dd 0
user_ok: dd 0
