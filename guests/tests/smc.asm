; smc.asm - multiboot guest for self-modifying code: patching the next instruction in the same
; block, patching code inside a loop, REP MOVS over following code, copied code, aliased pages.
%include "multiboot.inc"
%include "idt.inc"
%include "paging.inc"

%macro RESULT 2 ; "label", value
    PRINT %1
    PRINT_HEX32 %2
    PRINT_CHAR 10
%endmacro

main:
    call idt32_init
    ; 1. store into the immediate of the very next instruction
    mov dword [.next + 1], 0x22222222
.next:
    mov eax, 0x11111111
    RESULT "next insn imm: ", eax

    ; 2. opcode patch: the next instruction changes from INC EAX to DEC EAX
    mov eax, 10
    mov byte [.op], 0x48                     ; 0x40 = inc eax, 0x48 = dec eax
.op:
    inc eax
    RESULT "next insn opcode: ", eax

    ; 3. a loop that bumps the immediate of its own ADD every iteration
    xor eax, eax
    mov ecx, 10
    mov dword [.add + 1], 1
.loop:
.add:
    add eax, strict dword 1
    inc dword [.add + 1]
    loop .loop
    RESULT "loop patch sum: ", eax

    ; 4. the loop body rewrites an instruction later in the same loop body
    xor eax, eax
    xor edx, edx
    mov ecx, 6
.loop2:
    mov ebx, ecx
    and ebx, 1
    mov bl, [opcodes + ebx]
    mov [.alt], bl
.alt:
    inc eax                                  ; alternates inc eax / inc edx
    loop .loop2
    PRINT "alternating patch: eax="
    PRINT_HEX32 eax
    PRINT " edx="
    PRINT_HEX32 edx
    PRINT_CHAR 10

    ; 5. REP MOVSB over the instructions right after it
    mov esi, mov_eax_2
    mov edi, .repdst
    mov ecx, 5
    rep movsb
.repdst:
    mov eax, 1
    RESULT "rep movsb over code: ", eax

    ; 6. copy a function to a fresh page, run, patch the copy, run again, replace it, run again
    mov esi, func_a
    mov edi, SCRATCH
    mov ecx, func_a_end - func_a
    rep movsb
    call SCRATCH
    RESULT "copied func: ", eax
    mov dword [SCRATCH + 1], 0x0badf00d
    call SCRATCH
    RESULT "patched copy: ", eax
    mov esi, func_b
    mov edi, SCRATCH
    mov ecx, func_b_end - func_b
    rep movsb
    mov eax, 5
    call SCRATCH
    RESULT "replaced func: ", eax

    ; 7. write through a second virtual mapping of the code page (4 MiB PSE alias)
    call paging_build
    mov dword [PT_PD32 + 4 * 4], TEST_AREA | PTE_P | PTE_RW | PTE_PS   ; 0x1000000 -> 0x800000
    mov eax, cr4
    or eax, CR4_PSE
    mov cr4, eax
    mov eax, PT_PD32
    mov cr3, eax
    mov eax, cr0
    or eax, CR0_PG
    mov cr0, eax
    mov esi, func_a
    mov edi, TEST_AREA
    mov ecx, func_a_end - func_a
    rep movsb
    call TEST_AREA
    RESULT "alias before: ", eax
    mov dword [0x1000000 + 1], 0x600dc0de     ; patch via the alias
    call TEST_AREA
    RESULT "alias after (phys addr): ", eax
    call 0x1000000
    RESULT "alias after (alias addr): ", eax
    mov dword [TEST_AREA + 1], 0x12345678     ; patch via the identity address, run the alias
    call 0x1000000
    RESULT "alias run after identity patch: ", eax
    PASS

opcodes:   db 0x42, 0x40                      ; inc edx, inc eax
mov_eax_2: mov eax, 2
func_a:
    mov eax, 0xaaaa0001
    ret
func_a_end:
func_b:
    imul eax, eax, 7
    add eax, 3
    ret
func_b_end:
