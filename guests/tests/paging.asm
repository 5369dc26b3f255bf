; paging.asm - multiboot guest checking #PF error codes and CR2, A/D bits, CR0.WP, U/S, NX,
; reserved bits, INVLPG and large pages under 32-bit (PSE), PAE and 4-level (compat mode) paging.
%include "multiboot.inc"
%include "idt.inc"
%include "paging.inc"

PT_SMALL32 equ PT_FREE            ; 4 KiB PTEs for 0x800000.. under 32-bit paging (PDE 2)
PT_SMALL64 equ PT_FREE + 0x1000   ; 8-byte PTEs for 0x800000.. under PAE / 4-level (PD entry 4)
PAGE       equ 0x1000
%define P(i) (TEST_AREA + (i) * PAGE)

main:
    call idt32_init
    call paging_build
    mov dword [P(7)], 0x77777777
    mov dword [P(8)], 0x88888888

    PRINTLN "== 32-bit paging, 4 MiB PSE pages"
    mov dword [PT_PD32 + 2 * 4], PT_SMALL32 | 7
    mov dword [pt_addr], PT_SMALL32
    mov dword [pte_size], 4
    xor eax, eax
    call tss_init
    LOAD_TR
    mov eax, cr4
    or eax, CR4_PSE
    mov cr4, eax
    mov eax, PT_PD32
    mov cr3, eax
    mov eax, cr0
    or eax, CR0_PG | CR0_WP
    mov cr0, eax
    call suite
    ; 4 MiB page at 0x1000000 mapped onto physical 0x800000; A/D in that PDE
    mov dword [PT_PD32 + 4 * 4], 0x800000 | PTE_P | PTE_RW | PTE_PS
    invlpg [0x1000000]
    mov eax, [0x1000000 + 7 * PAGE]
    PRINT "4M page read="
    PRINT_HEX32 eax
    mov eax, [PT_PD32 + 4 * 4]
    and eax, PTE_A | PTE_D
    PRINT " pde a/d after read="
    PRINT_HEX8 eax
    mov dword [0x1000000 + 0x10], 1
    mov eax, [PT_PD32 + 4 * 4]
    and eax, PTE_A | PTE_D
    PRINT " after write="
    PRINT_HEX8 eax
    PRINT_CHAR 10
    mov eax, cr0
    and eax, ~CR0_PG
    mov cr0, eax

    PRINTLN "== PAE paging, 2 MiB pages"
    call paging_build
    mov dword [PT_PD + 4 * 8], PT_SMALL64 | 7
    mov dword [pt_addr], PT_SMALL64
    mov dword [pte_size], 8
    mov eax, cr4
    and eax, ~CR4_PSE
    or eax, CR4_PAE
    mov cr4, eax
    mov eax, PT_PDPT
    mov cr3, eax
    mov eax, cr0
    or eax, CR0_PG | CR0_WP
    mov cr0, eax
    call suite
    call big_page_64
    mov eax, cr0
    and eax, ~CR0_PG
    mov cr0, eax

    call paging_build
    mov dword [PT_PD + 4 * 8], PT_SMALL64 | 7
    LONG_MODE_ENTER
    call idt64_init
    push SEL_KCODE32
    push compat
    o64 retf
bits 32
compat:
    PRINTLN "== 4-level paging, compatibility mode"
    mov eax, 1
    call tss_init
    LOAD_TR
    mov eax, cr0
    or eax, CR0_WP
    mov cr0, eax
    call suite
    call big_page_64
    PASS

; --------------------------------------------------------------------------- helpers (32-bit)
pt_addr:  dd 0
pte_size: dd 0

; set_pte: eax = page index, edx = low dword, ebx = high dword (ignored for 4-byte PTEs); INVLPG.
set_pte:
    push edi
    mov edi, eax
    imul edi, [pte_size]
    add edi, [pt_addr]
    mov [edi], edx
    cmp dword [pte_size], 8
    jne .done
    mov [edi + 4], ebx
.done:
    mov edi, eax
    shl edi, 12
    add edi, TEST_AREA
    invlpg [edi]
    pop edi
    ret

; get_pte: eax = page index -> eax = low dword of the PTE
get_pte:
    imul eax, [pte_size]
    add eax, [pt_addr]
    mov eax, [eax]
    ret

%macro PTE 3 ; index, low, high
    mov eax, %1
    mov edx, %2
    mov ebx, %3
    call set_pte
%endmacro

; report_pf_rsvd: reserved-bit faults on a present entry must report P=1|RSV=1 (AMD APM vol.2
; 8.4.2, "Page-Fault Error Code"), but QEMU 7.2 TCG reports RSV alone; P is masked so the
; remaining bits still compare.
report_pf_rsvd:
    and dword [exc_err], ~1
; report_pf: " err=EE cr2=+OOOOO" (cr2 relative to TEST_AREA)
report_pf:
    ENDTRY
    PRINT " vec="
    PRINT_HEX8 [exc_vec]
    PRINT " err="
    PRINT_HEX8 [exc_err]
    PRINT " cr2=+"
    mov eax, [exc_cr2]
    sub eax, TEST_AREA
    PRINT_HEX32 eax
    PRINT_CHAR 10
    ret

; to_user: iret to ring 3 at ebx (32-bit user code, flat); the user code must fault.
to_user:
    push SEL_UDATA | 3
    push STACK3_TOP
    push 0x2
    push SEL_UCODE32 | 3
    push ebx
    iretd

%macro USER_ENTRY 0
    mov ax, SEL_UDATA | 3
    mov ds, ax
    mov es, ax
%endmacro

suite:
    ; identity PTEs, user+RW, A=D=0, for pages 0..15
    xor ecx, ecx
.init:
    mov eax, ecx
    mov edx, ecx
    shl edx, 12
    add edx, TEST_AREA | 7
    xor ebx, ebx
    call set_pte
    inc ecx
    cmp ecx, 16
    jb .init

    PRINT "a/d: clean="
    xor eax, eax
    call get_pte
    and eax, PTE_A | PTE_D
    PRINT_HEX8 eax
    mov eax, [P(0)]
    xor eax, eax
    call get_pte
    and eax, PTE_A | PTE_D
    PRINT " read="
    PRINT_HEX8 eax
    mov dword [P(0)], 5
    xor eax, eax
    call get_pte
    and eax, PTE_A | PTE_D
    PRINT " write="
    PRINT_HEX8 eax
    PRINT_CHAR 10

    PTE 1, P(1) | 6, 0                      ; not present
    PRINT "not-present read: "
    TRY .np1
    mov eax, [P(1) + 0x123]
.np1:
    call report_pf
    PRINT "not-present write:"
    TRY .np2
    mov dword [P(1) + 0xffc], 1
.np2:
    call report_pf

    PTE 2, P(2) | 5, 0                      ; read-only, user
    PRINT "ro write wp=1:    "
    TRY .ro1
    mov dword [P(2) + 8], 1
.ro1:
    call report_pf
    mov eax, cr0
    and eax, ~CR0_WP
    mov cr0, eax
    mov dword [P(2) + 8], 0x2a
    mov eax, cr0
    or eax, CR0_WP
    mov cr0, eax
    PRINT "ro write wp=0: ok, value="
    PRINT_HEX8 [P(2) + 8]
    PRINT_CHAR 10

    PTE 3, P(3) | 3, 0                      ; supervisor only
    PRINT "user read sup:    "
    TRY .us1
    mov ebx, .user_read
    jmp to_user
.us1:
    call report_pf
    PRINT "user write ro:    "
    TRY .us2
    mov ebx, .user_write
    jmp to_user
.us2:
    call report_pf

    PTE 6, P(7) | 7, 0                      ; remap page 6 -> frame 7, then frame 8
    mov eax, [P(6)]
    PRINT "remap: "
    PRINT_HEX32 eax
    PTE 6, P(8) | 7, 0
    mov eax, [P(6)]
    PRINT " after invlpg: "
    PRINT_HEX32 eax
    PRINT_CHAR 10
    PTE 6, 0, 0
    PRINT "unmapped+invlpg:  "
    TRY .inv
    mov eax, [P(6)]
.inv:
    call report_pf

    cmp dword [pte_size], 8
    jne .done
    PTE 5, P(5) | 7, 1 << 19                ; bit 51: reserved for any MAXPHYADDR < 52
    PRINT "reserved bit 51 (P masked):"
    TRY .rs1
    mov eax, [P(5)]
.rs1:
    call report_pf_rsvd
    mov byte [P(4)], 0xc3                   ; ret
    PTE 4, P(4) | 7, 0x80000000             ; XD with EFER.NXE=0: reserved bit
    PRINT "xd with nxe=0 (P masked):  "
    TRY .rs2
    mov eax, [P(4)]
.rs2:
    call report_pf_rsvd
    mov ecx, MSR_EFER
    rdmsr
    or eax, EFER_NXE
    wrmsr
    PTE 4, P(4) | 7, 0x80000000
    mov eax, [P(4)]                         ; data reads of an XD page are fine
    PRINT "nx fetch:         "
    TRY .nx1
    call P(4)
.nx1:
    call report_pf
    PRINT "  fault ip=+"
    mov eax, [exc_ip]
    sub eax, TEST_AREA
    PRINT_HEX32 eax
    PRINT_CHAR 10
    PRINT "np fetch nxe=1:   "
    TRY .nx2
    call P(1)
.nx2:
    call report_pf
    mov ecx, MSR_EFER
    rdmsr
    and eax, ~EFER_NXE
    wrmsr
.done:
    ret

.user_read:
    USER_ENTRY
    mov eax, [P(3)]
    ud2
.user_write:
    USER_ENTRY
    mov dword [P(2) + 0x10], 1
    ud2

; big_page_64: 2 MiB page at 0x1000000 onto physical 0x800000 (PAE / 4-level PD entry 8).
big_page_64:
    mov dword [PT_PD + 8 * 8], 0x800000 | PTE_P | PTE_RW | PTE_PS
    mov dword [PT_PD + 8 * 8 + 4], 0
    invlpg [0x1000000]
    mov eax, [0x1000000 + 7 * PAGE]
    PRINT "2M page read="
    PRINT_HEX32 eax
    mov eax, [PT_PD + 8 * 8]
    and eax, PTE_A | PTE_D
    PRINT " pde a/d after read="
    PRINT_HEX8 eax
    mov dword [0x1000000 + 0x10], 1
    mov eax, [PT_PD + 8 * 8]
    and eax, PTE_A | PTE_D
    PRINT " after write="
    PRINT_HEX8 eax
    PRINT_CHAR 10
    ret
