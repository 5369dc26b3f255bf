; smm_invalid_efer.asm - -bios guest: an SMM handler leaves an architecturally invalid image and RSMs.
; Saved EFER.LME=1 with CR0.PG=1 but CR4.PAE=0 is a state no MOV CR0 can reach (APM Vol 2,
; 14.6.1); RSM must shut down on it (APM Vol 3 / SDM Vol 2B "RSM"; SDM 34.11); with -no-reboot the machine stops with status 0
; and nothing after "rsm with efer.lme=1 cr0.pg=1 cr4.pae=0" is printed (smm_invalid_efer.status).
; QEMU 7.2 loads the image unchecked and runs on (smm_invalid_efer.qemu-diff).
%include "bios.inc"
%include "smm.inc"

bits 16
main16:
    SMI_ENABLE
    COPY_TO SMBASE_DEFAULT + 0x8000, handler, handler_end
    PRINTLN "rsm with efer.lme=1 cr0.pg=1 cr4.pae=0"
    RAISE_SMI 0x30
    PRINTLN "rsm returned"
    PASS

handler:
    or dword [cs:0xfed0], 0x100          ; saved EFER.LME = 1
    or dword [cs:0xff58], 0x80000001    ; saved CR0.PG = PE = 1, CR4.PAE stays 0
    rsm
handler_end:

BIOS_END
