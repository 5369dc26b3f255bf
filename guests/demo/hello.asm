; hello.asm - the bundled vx86 demo guest (multiboot): prints a banner and the CPUID vendor,
; enters long mode, prints the first 20 primes and a checksum, then exits with success.
%include "multiboot.inc"
%include "paging.inc"

main:
    PRINTLN "vx86 demo guest"
    xor eax, eax
    cpuid
    mov [vendor], ebx
    mov [vendor + 4], edx
    mov [vendor + 8], ecx
    PRINT "cpu vendor: "
    mov esi, vendor
    call puts32
    PRINT_CHAR 10

    call paging_build
    LONG_MODE_ENTER
    PRINTLN "long mode: on"
    ; first 20 primes by trial division, summed into a checksum
    PRINT "primes:"
    xor r12d, r12d              ; primes found
    xor r13, r13                ; checksum
    mov r14d, 2                 ; candidate
.candidate:
    mov ecx, 2
.trial:
    mov eax, ecx
    mul ecx
    cmp eax, r14d
    ja .prime
    mov eax, r14d
    xor edx, edx
    div ecx
    test edx, edx
    jz .next
    inc ecx
    jmp .trial
.prime:
    PRINT_CHAR ' '
    PRINT_DEC r14d
    imul r13, r13, 31
    add r13, r14
    inc r12d
.next:
    inc r14d
    cmp r12d, 20
    jb .candidate
    PRINT_CHAR 10
    PRINT "checksum: "
    PRINT_HEX64 r13
    PRINT_CHAR 10
    PASS

vendor: times 13 db 0
