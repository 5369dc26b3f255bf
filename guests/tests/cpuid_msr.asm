; cpuid_msr.asm - multiboot guest for model-independent MSR behaviour: STAR/LSTAR/CSTAR/SFMASK/
; FS/GS/KERNEL_GS_BASE round trips, SWAPGS, TSC monotonic, #GP for RDMSR/SWAPGS at CPL 3.
%include "multiboot.inc"
%include "idt.inc"
%include "paging.inc"

MSR_TSC       equ 0x10
MSR_STAR      equ 0xc0000081
MSR_LSTAR     equ 0xc0000082
MSR_CSTAR     equ 0xc0000083
MSR_SFMASK    equ 0xc0000084
MSR_FS_BASE   equ 0xc0000100
MSR_GS_BASE   equ 0xc0000101
MSR_KGS_BASE  equ 0xc0000102

bits 64
; ROUNDTRIP "name", msr, value64: write, read back, print what came back
%macro ROUNDTRIP 3
    mov ecx, %2
    mov rax, %3
    mov rdx, rax
    shr rdx, 32
    wrmsr
    xor eax, eax
    xor edx, edx
    rdmsr
    shl rdx, 32
    or rax, rdx
    PRINT %1
    PRINT_HEX64 rax
    PRINT_CHAR 10
%endmacro

%macro RDMSR64 1 ; msr -> rax
    mov ecx, %1
    rdmsr
    shl rdx, 32
    or rax, rdx
%endmacro

bits 32
main:
    call idt32_init
    ; CPUID: only shape checks, never values (vx86's CPU model differs from qemu64)
    xor eax, eax
    cpuid
    xor esi, esi
    cmp eax, 1
    setae cl
    or esi, ecx
    mov eax, 0x80000000
    cpuid
    cmp eax, 0x80000001
    setae cl
    shl ecx, 1
    or esi, ecx
    PRINT "cpuid max leaves sane: "
    PRINT_HEX8 esi
    PRINT_CHAR 10

    call paging_build
    LONG_MODE_ENTER
    call idt64_init
    call tss_init64
    LOAD_TR
    mov rax, 0xffff800012345678
    mov r15, rax
    ROUNDTRIP "star:    ", MSR_STAR, 0x0023001000000000 | 0x1234
    ROUNDTRIP "lstar:   ", MSR_LSTAR, r15
    ROUNDTRIP "cstar:   ", MSR_CSTAR, 0x00007fffdeadbee0
    ROUNDTRIP "sfmask:  ", MSR_SFMASK, 0x47700
    ROUNDTRIP "fs base: ", MSR_FS_BASE, 0x0000000000071000
    ROUNDTRIP "gs base: ", MSR_GS_BASE, 0x0000000000072000
    ROUNDTRIP "kgs base:", MSR_KGS_BASE, 0x0000000000073000

    mov dword [0x71000], 0xf5f5f5f5
    mov dword [0x72000], 0x65656565
    mov dword [0x73000], 0x4b4b4b4b
    mov eax, [fs:0]
    PRINT "fs:[0]="
    PRINT_HEX32 eax
    mov eax, [gs:0]
    PRINT " gs:[0]="
    PRINT_HEX32 eax
    swapgs
    mov eax, [gs:0]
    PRINT " after swapgs gs:[0]="
    PRINT_HEX32 eax
    RDMSR64 MSR_GS_BASE
    PRINT " gs_base="
    PRINT_HEX32 eax
    RDMSR64 MSR_KGS_BASE
    PRINT " kgs_base="
    PRINT_HEX32 eax
    swapgs
    RDMSR64 MSR_GS_BASE
    PRINT " swapped back="
    PRINT_HEX32 eax
    PRINT_CHAR 10

    ; TSC: strictly increasing across reads; writable
    rdtsc
    shl rdx, 32
    or rax, rdx
    mov r12, rax
    mov ecx, 1000
.spin:
    loop .spin
    rdtsc
    shl rdx, 32
    or rax, rdx
    mov r13, rax
    rdtsc
    shl rdx, 32
    or rax, rdx
    xor ebx, ebx
    cmp r13, r12
    seta bl
    cmp rax, r13
    seta cl
    and bl, cl
    PRINT "rdtsc increasing="
    PRINT_DEC ebx
    PRINT_CHAR 10
    ; Left out because QEMU 7.2 TCG gets them wrong:
    ; - WRMSR to the TSC (0x10) must reload the counter (AMD APM vol.2 13.2.4 "Time-Stamp Counter");
    ;   QEMU stores the value but RDTSC ignores it.
    ; - RDMSR/WRMSR of an unimplemented MSR such as 0x12345678 must raise #GP(0) (AMD APM vol.3,
    ;   RDMSR/WRMSR exceptions); QEMU returns 0 / ignores the write.

    PRINT "rdmsr at cpl3:  "
    TRY .gp3_r
    mov ebx, user_rdmsr
    mov ecx, SEL_UCODE64 | 3
    mov edx, 2
    call user_call64
.gp3_r:
    ENDTRY
    mov ebx, user_rdmsr
    call report_exc64
    PRINT_CHAR 10
    PRINT "swapgs at cpl3: "
    TRY .gp4_r
    mov ebx, user_swapgs
    mov ecx, SEL_UCODE64 | 3
    mov edx, 2
    call user_call64
.gp4_r:
    ENDTRY
    mov ebx, user_swapgs
    call report_exc64
    PRINT_CHAR 10
    PASS

user_rdmsr:
    mov ecx, MSR_STAR
    rdmsr
    USER_RETURN
user_swapgs:
    swapgs
    USER_RETURN
