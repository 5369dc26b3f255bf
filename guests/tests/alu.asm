; alu.asm - multiboot guest hashing integer ALU results over pseudo-random operands: add/sub/logic,
; mul/div, shifts/rotates, bit ops, bit counts, cmpxchg/xadd/bswap, setcc; only DEFINED flags count.
; POPCNT/LZCNT/TZCNT need the CPUID bits that alu.args turns on for QEMU (-cpu qemu64,+popcnt,...).
%include "multiboot.inc"
%include "idt.inc"
%include "paging.inc"

ALL6  equ 0x8d5                  ; OF SF ZF AF PF CF
LOGIC equ 0x8c5                  ; AF is undefined after AND/OR/XOR/TEST/shifts
OFCF  equ 0x801                  ; MUL/IMUL define only OF and CF
N     equ 300                    ; iterations per operation

; RND_BODY: xorshift32 on [rstate] -> eax (flags clobbered)
%macro RND_BODY 0
    mov eax, [rstate]
    mov edx, eax
    shl edx, 13
    xor eax, edx
    mov edx, eax
    shr edx, 17
    xor eax, edx
    mov edx, eax
    shl edx, 5
    xor eax, edx
    mov [rstate], eax
%endmacro

; ALU "name", flagmask, body...: eax=a ebx=b ecx=c edx=d random, flags random; after the body
; hash eax, ebx, edx, edi and flags & flagmask (flagmask may be a memory operand set per iteration).
; Each body instruction is one macro parameter: ALU "add32", ALL6, {add eax, ebx}
%macro ALU 3-*
    %push alu
    %xdefine %$name %1
    %xdefine %$mask %2
    xor ebp, ebp
    mov dword [iter], N
%$loop:
    call prepare32
    popfd
    %rotate 2
    %rep %0 - 2
    %1
    %rotate 1
    %endrep
    pushfd
    pop esi
    and esi, %$mask
    call mix32
    dec dword [iter]
    jnz %$loop
    PRINT %$name, " "
    PRINT_HEX32 ebp
    PRINT_CHAR 10
    %pop
%endmacro

%macro ALU64 3-*
    %push alu
    %xdefine %$name %1
    %xdefine %$mask %2
    xor ebp, ebp
    mov dword [iter], N
%$loop:
    call prepare64
    popfq
    %rotate 2
    %rep %0 - 2
    %1
    %rotate 1
    %endrep
    pushfq
    pop rsi
    and esi, %$mask
    call mix64
    dec dword [iter]
    jnz %$loop
    PRINT %$name, " "
    PRINT_HEX32 ebp
    PRINT_CHAR 10
    %pop
%endmacro

main:
    call idt32_init
    mov eax, 1
    cpuid
    bt ecx, 23
    jnc .nofeat
    mov eax, 0x80000001
    cpuid
    bt ecx, 5                                ; ABM (LZCNT)
    jnc .nofeat
    mov eax, 7
    xor ecx, ecx
    cpuid
    bt ebx, 3                                ; BMI1 (TZCNT)
    jc .feat
.nofeat:
    FAIL "CPUID lacks POPCNT/ABM/BMI1 (QEMU needs the flags in alu.args)"
.feat:
    ALU "add32  ", ALL6, {add eax, ebx}
    ALU "adc32  ", ALL6, {adc eax, ebx}
    ALU "sub32  ", ALL6, {sub eax, ebx}
    ALU "sbb32  ", ALL6, {sbb eax, ebx}
    ALU "cmp32  ", ALL6, {cmp eax, ebx}
    ALU "neg32  ", ALL6, {neg eax}
    ALU "inc32  ", ALL6, {inc eax}
    ALU "dec32  ", ALL6, {dec eax}
    ALU "add8   ", ALL6, {add al, bl}
    ALU "adc8hi ", ALL6, {adc ah, bh}
    ALU "sbb16  ", ALL6, {sbb ax, bx}
    ALU "and32  ", LOGIC, {and eax, ebx}
    ALU "or32   ", LOGIC, {or eax, ebx}
    ALU "xor16  ", LOGIC, {xor ax, bx}
    ALU "test8  ", LOGIC, {test al, bl}
    ALU "mul32  ", OFCF, {mul ebx}
    ALU "mul8   ", OFCF, {mul bl}
    ALU "imul1  ", OFCF, {imul ebx}
    ALU "imul2  ", OFCF, {imul eax, ebx}
    ALU "imul3  ", OFCF, {imul eax, ebx, -12345}
    ALU "imul16 ", OFCF, {imul bx}
    ALU "div32  ", 0, {and edx, 0xffff}, {or ebx, 0x10000000}, {div ebx}
    ALU "div8   ", 0, {and ah, 0x7f}, {or bl, 0x80}, {div bl}
    ALU "idiv32 ", 0, {and ebx, 0x7fffffff}, {or ebx, 3}, {mov esi, ecx}, {and esi, 1}, {neg esi}, {xor ebx, esi}, {sub ebx, esi}, {cdq}, {idiv ebx}
    ALU "shl32  ", [shmask], {shl eax, cl}
    ALU "shr32  ", [shmask], {shr eax, cl}
    ALU "sar32  ", [shmask], {sar eax, cl}
    ALU "shl1   ", LOGIC, {shl eax, 1}
    ALU "sar1   ", LOGIC, {sar eax, 1}
    ALU "shld32 ", [shmask], {shld eax, ebx, cl}
    ALU "shrd32 ", [shmask], {shrd eax, ebx, cl}
    ALU "rol32  ", [rotmask], {rol eax, cl}
    ALU "ror32  ", [rotmask], {ror eax, cl}
    ALU "rcl32  ", [rotmask], {rcl eax, cl}
    ALU "rcr32  ", [rotmask], {rcr eax, cl}
    ALU "rcl1   ", ALL6, {rcl eax, 1}
    ALU "bt     ", 1, {bt eax, ebx}
    ALU "bts    ", 1, {bts eax, ebx}
    ALU "btr    ", 1, {btr eax, ebx}
    ALU "btc    ", 1, {btc eax, ecx}
    ALU "btsmem ", 1, {and ebx, 0x3ff}, {sub ebx, 0x200}, {bts [bitbuf + 0x40], ebx}, {mov edi, ebx}, {sar edi, 5}, {mov edi, [bitbuf + 0x40 + edi * 4]}
    mov esi, bitbuf
    xor ebp, ebp
    mov ecx, 0x80 / 4
.bufhash:
    lodsd
    imul ebp, ebp, 31
    add ebp, eax
    loop .bufhash
    PRINT "bitbuf  "
    PRINT_HEX32 ebp
    PRINT_CHAR 10
    ALU "bsf    ", 0x40, {shr ebx, cl}, {mov edx, 0x100000}, {cmovz ebx, edx}, {bsf eax, ebx}
    ALU "bsr    ", 0x40, {shr ebx, cl}, {mov edx, 0x100000}, {cmovz ebx, edx}, {bsr eax, ebx}
    ALU "bsf0   ", 0x40, {xor ebx, ebx}, {mov eax, 0}, {bsf ebx, ebx}, {mov ebx, 0}
    ALU "popcnt ", ALL6, {shr ebx, cl}, {popcnt eax, ebx}
    ALU "lzcnt  ", 0x41, {shr ebx, cl}, {lzcnt eax, ebx}
    ALU "tzcnt  ", 0x41, {shl ebx, cl}, {tzcnt eax, ebx}
    ALU "lzcnt16", 0x41, {shr bx, cl}, {lzcnt ax, bx}
    ALU "cmpxchg", ALL6, {test cl, 1}, {cmovnz ebx, eax}, {mov [cmpmem], ebx}, {cmpxchg [cmpmem], edx}, {mov ebx, [cmpmem]}
    ALU "cmpxch8", ALL6, {test cl, 2}, {cmovnz ebx, eax}, {cmpxchg bl, dl}
    ALU "xadd   ", ALL6, {xadd eax, ebx}
    ALU "xadd16 ", ALL6, {xadd bx, ax}
    ALU "bswap  ", ALL6, {bswap eax}
    ALU "setcc  ", ALL6, {cmp eax, ebx}, {call setcc_all}
    ALU "setcc8 ", ALL6, {cmp al, bl}, {call setcc_all}
    ALU "movsx  ", ALL6, {movsx eax, bl}, {movsx edx, cx}, {movzx ebx, ch}

    call paging_build
    LONG_MODE_ENTER
    mov dword [countmask], 63
    PRINTLN "64-bit:"
    ALU64 "add64  ", ALL6, {add rax, rbx}
    ALU64 "sbb64  ", ALL6, {sbb rax, rbx}
    ALU64 "mul64  ", OFCF, {mul rbx}
    ALU64 "imul64 ", OFCF, {imul rax, rbx}
    ALU64 "imul1q ", OFCF, {imul rbx}
    ALU64 "div64  ", 0, {shr rdx, 8}, {bts rbx, 63}, {div rbx}
    ALU64 "shl64  ", [shmask], {shl rax, cl}
    ALU64 "sar64  ", [shmask], {sar rax, cl}
    ALU64 "rol64  ", [rotmask], {rol rax, cl}
    ALU64 "shrd64 ", [shmask], {shrd rax, rbx, cl}
    ALU64 "bswap64", ALL6, {bswap rax}
    ALU64 "popcnt ", ALL6, {popcnt rax, rbx}
    ALU64 "lzcnt  ", 0x41, {shr rbx, cl}, {lzcnt rax, rbx}
    ALU64 "tzcnt  ", 0x41, {shl rbx, cl}, {tzcnt rax, rbx}
    ALU64 "xadd   ", ALL6, {xadd rax, rbx}
    ALU64 "mov32z ", ALL6, {mov eax, ebx}, {mov edx, edx}
    PASS

; --------------------------------------------------------------------------- 32-bit helpers
bits 32
; prepare32: random eax..edx, per-count flag masks, and random input flags pushed under the return
prepare32:
    RND_BODY
    mov [opc], eax
    RND_BODY
    mov [opb], eax
    RND_BODY
    mov [opd], eax
    RND_BODY
    mov [opa], eax
    mov ecx, [opc]
    call count_masks
    pop esi                                  ; return address
    mov eax, [opd]
    and eax, ALL6
    or eax, 2
    push eax                                 ; input flags for the caller's POPFD
    push esi
    mov eax, [opa]
    mov ebx, [opb]
    mov ecx, [opc]
    mov edx, [opd]
    xor edi, edi
    ret

; count_masks: ecx = count -> [shmask], [rotmask] (32-bit operands count mod 32; 64-bit mod 64)
count_masks:
    mov eax, ecx
    and eax, [countmask]
    mov dword [shmask], ALL6                 ; count 0: flags unchanged
    mov dword [rotmask], ALL6
    jz .done
    mov dword [shmask], LOGIC                ; count 1: OF defined too
    cmp eax, 1
    je .done
    mov dword [shmask], LOGIC & ~0x800       ; count > 1: OF undefined
    mov dword [rotmask], ALL6 & ~0x800
.done:
    ret

mix32:
    imul ebp, ebp, 31
    add ebp, eax
    imul ebp, ebp, 31
    add ebp, ebx
    imul ebp, ebp, 31
    add ebp, edx
    imul ebp, ebp, 31
    add ebp, edi
    imul ebp, ebp, 31
    add ebp, esi
    ret

; setcc_all: evaluate all 16 conditions of the current flags into eax/ebx/edx/edi (flags kept)
setcc_all:
    seto  [cc + 0]
    setno [cc + 1]
    setb  [cc + 2]
    setae [cc + 3]
    sete  [cc + 4]
    setne [cc + 5]
    setbe [cc + 6]
    seta  [cc + 7]
    sets  [cc + 8]
    setns [cc + 9]
    setp  [cc + 10]
    setnp [cc + 11]
    setl  [cc + 12]
    setge [cc + 13]
    setle [cc + 14]
    setg  [cc + 15]
    mov eax, [cc]
    mov ebx, [cc + 4]
    mov edx, [cc + 8]
    mov edi, [cc + 12]
    ret

; --------------------------------------------------------------------------- 64-bit
bits 64

prepare64:
    RND_BODY
    mov [opc], eax
    RND_BODY
    mov [opc + 4], eax
    RND_BODY
    mov [opb], eax
    RND_BODY
    mov [opb + 4], eax
    RND_BODY
    mov [opd], eax
    RND_BODY
    mov [opd + 4], eax
    RND_BODY
    mov [opa], eax
    RND_BODY
    mov [opa + 4], eax
    mov ecx, [opc]
    mov eax, ecx
    and eax, 63
    mov dword [shmask], ALL6
    mov dword [rotmask], ALL6
    jz .done
    mov dword [shmask], LOGIC
    cmp eax, 1
    je .done
    mov dword [shmask], LOGIC & ~0x800
    mov dword [rotmask], ALL6 & ~0x800
.done:
    pop rsi
    mov eax, [opd]
    and eax, ALL6
    or eax, 2
    push rax
    push rsi
    mov rax, [opa]
    mov rbx, [opb]
    mov rcx, [opc]
    mov rdx, [opd]
    xor edi, edi
    ret

mix64:
    push rcx
    mov ecx, 4
.next:
    imul ebp, ebp, 31
    add ebp, eax
    imul ebp, ebp, 31
    shr rax, 32
    add ebp, eax
    mov rax, rbx
    mov rbx, rdx
    mov rdx, rsi
    loop .next
    pop rcx
    ret

align 8
rstate:    dd 0x2545f491
iter:      dd 0
countmask: dd 31
shmask:    dd 0
rotmask:   dd 0
opa:       dq 0
opb:       dq 0
opc:       dq 0
opd:       dq 0
cmpmem:    dd 0
cc:        times 16 db 0
bitbuf:    times 0x80 db 0
