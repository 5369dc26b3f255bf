; smm_invalid.asm - -bios guest: an SMM handler leaves an architecturally invalid image and RSMs.
; The manuals (SDM Vol 2B and APM Vol 3, "RSM": CR0.PG=1 with CR0.PE=0 is an illegal
; combination; SDM 34.11) require a shutdown; with -no-reboot the machine stops with status 0
; and nothing after "rsm with pg=1 pe=0" is printed (expected status in smm_invalid.status).
; QEMU 7.2 loads the image unchecked (helper_rsm; -d int shows CR0=e0000010 after RSM), then the
; next instruction fetch walks page tables at CR3=0, finds no present PDE and takes #PF, #PF
; while delivering it, #DF, #PF: a triple fault. So QEMU too stops with status 0 and no further
; output - one instruction later than the manuals say, invisible here, hence no .qemu-diff.
; The unit tests check that vx86 shuts down at the RSM itself and leaves the CPU untouched.
%include "bios.inc"
%include "smm.inc"

bits 16
main16:
    SMI_ENABLE
    COPY_TO SMBASE_DEFAULT + 0x8000, handler, handler_end
    PRINTLN "rsm with pg=1 pe=0"
    RAISE_SMI 0x30
    PRINTLN "rsm returned"
    PASS

handler:
    or dword [cs:0xff58], 0x80000000    ; saved CR0.PG = 1, PE stays 0
    rsm
handler_end:

BIOS_END
