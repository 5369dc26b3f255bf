; migrate_inc.asm - G-inc, the live-migration workload (state.md 6.1): a QEMU-style incrementer
; that checks itself. Pass p = 1..PASSES visits every 4 KiB page of [RANGE_START, RANGE_END): the
; page's first 64 bytes must hold the pattern of pass p-1 (first byte (p-1) & 0xff, all zero before
; pass 1), then get the pattern of pass p; DELAY iterations of a spin loop between pages set the
; dirty rate. A final pass only checks, then a checksum of every dword of the range is printed, so
; a page lost or damaged by a migration shows as FAIL or as a different checksum. No timers, no
; RDTSC: the output is the same on every emulator and after any number of migrations.
; Build variants with nasm -D: RANGE_START, RANGE_END (page aligned, below the RAM size), PASSES
; (1..2^31-1; the first byte wraps after 255), DELAY (0 = no delay); SKIP_STORE=address makes
; pass 2 leave that page alone, a negative control: pass 3 must then FAIL on it.
%include "multiboot.inc"
%include "migrate_inc.inc"

main:
    INC_HEADER "migrate_inc"
    mov ebp, 1                          ; ebp = pass p; pass PASSES + 1 only checks
.pass:
    call inc_pass
    cmp ebp, PASSES
    ja .verified
    PRINT "pass "
    PRINT_DEC ebp
    PRINTLN " ok"
    inc ebp
    jmp .pass

.verified:
    PRINT "verify ok, checksum "
    call range_checksum
    PRINT_HEX32 eax
    PRINT_CHAR 10
    PASS
