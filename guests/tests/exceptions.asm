; exceptions.asm - multiboot guest raising each exception class on purpose in 32-bit protected
; mode and in 64-bit mode; prints vector, error code and the saved IP relative to the faulting label.
%include "multiboot.inc"
%include "idt.inc"
%include "paging.inc"

; CASE "name", label, vector: run after the faulting code; prints the record, checks the vector.
%macro CASE 3
    ENDTRY
    PRINT %1
    mov ebx, %2
%if __BITS__ == 64
    call report_exc64
%else
    call report_exc32
%endif
    PRINT_CHAR 10
    ASSERT_EQ dword [exc_vec], %3, %1
%endmacro

SEL_NP_DATA equ SEL_FREE         ; a data descriptor with P=0

main:
    call idt32_init
    ; not-present writable data segment for #NP / #SS
    mov dword [gdt + SEL_NP_DATA], 0x0000ffff
    mov dword [gdt + SEL_NP_DATA + 4], 0x00cf1300   ; type 3 (RW, accessed), P=0
    PRINTLN "32-bit protected mode"

    xor edx, edx
    xor ecx, ecx
    mov eax, 1
    TRY .de_r
.de: div ecx
.de_r:
    CASE "#DE div 0:     ", .de, 0
    PRINT "  eax after #DE="
    PRINT_HEX32 eax
    PRINT_CHAR 10

    mov eax, 0x80000000
    mov edx, 0xffffffff
    mov ecx, -1
    TRY .de2_r
.de2: idiv ecx
.de2_r:
    CASE "#DE idiv ovf:  ", .de2, 0

    TRY .ud_r
.ud: ud2
.ud_r:
    CASE "#UD ud2:       ", .ud, 6

    TRY .lk_r
.lk: db 0xf0, 0x90               ; LOCK NOP
.lk_r:
    CASE "#UD lock nop:  ", .lk, 6

    TRY .bp_r
.bp: int3
    nop
.bp_r:
    CASE "#BP int3:      ", .bp, 3

    mov al, 0x7f
    add al, 1                    ; OF=1
    TRY .of_r
.of: into
    nop
.of_r:
    CASE "#OF into:      ", .of, 4

    mov eax, 11
    TRY .br_r
.br: bound eax, [bounds]
.br_r:
    CASE "#BR bound:     ", .br, 5

    mov eax, 10                  ; in range: no exception
    mov dword [exc_count], 0
    bound eax, [bounds]
    ASSERT_EQ dword [exc_count], 0, "bound in range faulted"

    mov eax, cr0
    or eax, 8                    ; CR0.TS
    mov cr0, eax
    TRY .nm_r
.nm: fninit
.nm_r:
    CASE "#NM cr0.ts:    ", .nm, 7
    clts

    mov ax, 0x108                ; beyond the GDT limit
    TRY .gp_r
.gp: mov ds, ax
.gp_r:
    CASE "#GP bad sel:   ", .gp, 13

    mov ax, SEL_KCODE32          ; code segment into SS
    TRY .gp2_r
.gp2: mov ss, ax
.gp2_r:
    CASE "#GP cs in ss:  ", .gp2, 13

    TRY .gp3_r
.gp3: jmp 0:.gp3_r               ; far jump to the null selector
.gp3_r:
    CASE "#GP null jmp:  ", .gp3, 13

    mov ax, SEL_NP_DATA
    TRY .np_r
.np: mov ds, ax
.np_r:
    CASE "#NP ds:        ", .np, 11

    mov ax, SEL_NP_DATA
    TRY .ss_r
.ss: mov ss, ax
.ss_r:
    CASE "#SS ss:        ", .ss, 12

    TRY .it_r
.it: int 0x40                    ; IDT entry 0x40 is all zero: bad type -> #GP(0x40*8+2)
.it_r:
    CASE "#GP idt type:  ", .it, 13

    mov eax, 0x41                ; valid interrupt gate type, P=0 -> #NP(0x41*8+2)
    mov ebx, isr32_stubs
    mov cl, IDT_INT_GATE & 0x7f
    call idt32_set_gate
    TRY .ig_r
.ig: int 0x41
.ig_r:
    CASE "#NP idt gate:  ", .ig, 11

    TRY .sw_r
.sw: int 0x30
    nop
.sw_r:
    CASE "int 0x30:      ", .sw, 0x30

    ; #GP while delivering #GP through a not-present gate -> #NP, two contributory -> #DF(0).
    ; The IP saved for #DF is undefined (APM vol.2 8.2.9), so only vector and error code are shown.
    and byte [IDT32_BASE + 13 * 8 + 5], 0x7f
    mov ax, 0x108
    TRY .df_r
    mov ds, ax
.df_r:
    ENDTRY
    or byte [IDT32_BASE + 13 * 8 + 5], 0x80
    PRINT "#DF gp+np:      vec="
    PRINT_HEX8 [exc_vec]
    PRINT " err="
    PRINT_HEX32 [exc_err]
    PRINT_CHAR 10
    ASSERT_EQ dword [exc_vec], 8, "#DF"

    call paging_build
    LONG_MODE_ENTER
    call idt64_init
    PRINTLN "64-bit mode"

    xor edx, edx
    xor ecx, ecx
    TRY .de64_r
.de64: div rcx
.de64_r:
    CASE "#DE div 0:     ", .de64, 0

    TRY .ud64_r
.ud64: ud2
.ud64_r:
    CASE "#UD ud2:       ", .ud64, 6

    TRY .into64_r
.into64: db 0xce                 ; INTO is invalid in 64-bit mode
.into64_r:
    CASE "#UD into:      ", .into64, 6

    TRY .bp64_r
.bp64: int3
.bp64_r:
    CASE "#BP int3:      ", .bp64, 3

    mov ax, 0x108
    TRY .gp64_r
.gp64: mov ds, ax
.gp64_r:
    CASE "#GP bad sel:   ", .gp64, 13

    mov rax, 0x0000800000000000  ; first non-canonical address
    TRY .nc_r
.nc: mov rbx, [rax]
.nc_r:
    CASE "#GP noncanon:  ", .nc, 13

    TRY .it64_r
.it64: int 0x40
.it64_r:
    ; QEMU 7.2 reports 0x402/0x412 for these two 64-bit cases; the APM (Vol 2, 8.4.1 "Selector-Error
    ; Code") gives vector*8+2. The .expected file follows the manual; exceptions.qemu-diff documents it.
    CASE "#GP idt type:  ", .it64, 13

    mov eax, 0x41
    mov ebx, isr64_stubs
    mov ecx, IDT_INT_GATE & 0x7f
    call idt64_set_gate
    TRY .ig64_r
.ig64: int 0x41
.ig64_r:
    CASE "#NP idt gate:  ", .ig64, 11

    TRY .sw64_r
.sw64: int 0x31
.sw64_r:
    CASE "int 0x31:      ", .sw64, 0x31
    PRINT "  saved cs="
    PRINT_HEX16 [exc_cs]
    PRINT " ss="
    PRINT_HEX16 [exc_ss]
    PRINT " rsp ok="
    mov rax, [exc_resume_sp]
    xor ebx, ebx
    cmp rax, [exc_sp]
    sete bl
    PRINT_DEC ebx
    PRINT_CHAR 10
    PASS

align 8
bounds: dd 0, 10
