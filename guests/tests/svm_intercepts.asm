; svm_intercepts.asm - multiboot guest (-cpu max): a 64-bit L1 on svm.inc checking the SVM
; intercepts of the kvm-unit-tests SVM list (our own equivalents, APM Vol 2, 15.8-15.13 and
; Appendix C): ioio, sel cr0 write intercept / priority / nointercept, sel cr0 lmsw intercept,
; cr3 read intercept / nointercept (plus CR0/CR3/CR4/CR8 reads and writes, CR8 pass-through),
; dr intercept check, msr intercept check, the instruction intercepts (CPUID, HLT, INVLPG, INVD,
; WBINVD, PAUSE, PUSHF, POPF, IRET, INTn, ICEBP, RDTSC, SIDT/SGDT/SLDT/STR/LIDT/LGDT/LLDT/LTR,
; INVLPGA, STGI, CLGI, VMMCALL) and svm_exception_test (#DE #BP #UD #GP #PF #NP #SS, handled in L2
; through L1's IDT when not intercepted, #VMEXIT 0x40+vector when intercepted).
; vx86 offers no decode assists, so EXITINFO1 of CR/DR/INVLPG/INTn exits is 0 (APM 15.33).
; Skipped: the "... emulate" variants (KVM's forced-emulation prefix), "cr3 read intercept emulate"
; (needs a second vCPU), #AC (needs a ring-3 L2 with a TSS), #DB from breakpoints.
; Every check prints "name: ok"; intercepted instructions are checked for their exit code and for
; the RIP left on the instruction in one line (a wrong RIP shows as got=<offset>_<code>).
%include "multiboot.inc"
%include "idt.inc"
%include "paging.inc"
%include "svm.inc"

; ---- local constants (APM Vol 2, 15.9 / 15.10.2 / Appendix C) ---------------------------------
IO_IN   equ 1 << 0                  ; EXITINFO1 of IOIO exits
IO_STR  equ 1 << 2
IO_REP  equ 1 << 3
IO_SZ8  equ 1 << 4
IO_SZ16 equ 1 << 5
IO_SZ32 equ 1 << 6
IO_A32  equ 1 << 8
IO_A64  equ 1 << 9

INTERCEPT_IDTR_READ  equ 1 << 6     ; MISC1
INTERCEPT_GDTR_READ  equ 1 << 7
INTERCEPT_LDTR_READ  equ 1 << 8
INTERCEPT_TR_READ    equ 1 << 9
INTERCEPT_IDTR_WRITE equ 1 << 10
INTERCEPT_GDTR_WRITE equ 1 << 11
INTERCEPT_LDTR_WRITE equ 1 << 12
INTERCEPT_TR_WRITE   equ 1 << 13
INTERCEPT_WBINVD     equ 1 << 9     ; MISC2
; svm.inc's INTERCEPT_PUSHF/INTERCEPT_POPF are bits 15/16; the APM (Appendix B, offset 0Ch) has
; RDPMC at 15, PUSHF at 16, POPF at 17 (exit codes 0x6F/0x70/0x71). The correct bits:
INTERCEPT_PUSHF_B    equ 1 << 16
INTERCEPT_POPF_B     equ 1 << 17

EXIT_IDTR_READ  equ 0x66
EXIT_GDTR_READ  equ 0x67
EXIT_LDTR_READ  equ 0x68
EXIT_TR_READ    equ 0x69
EXIT_IDTR_WRITE equ 0x6a
EXIT_GDTR_WRITE equ 0x6b
EXIT_LDTR_WRITE equ 0x6c
EXIT_TR_WRITE   equ 0x6d
EXIT_PUSHF      equ 0x70
EXIT_POPF       equ 0x71
EXIT_INVD       equ 0x76
EXIT_ICEBP      equ 0x88
EXIT_WBINVD     equ 0x89

CR0_MP  equ 1 << 1
CR0_EM  equ 1 << 2
CR0_TS  equ 1 << 3
CR0_CD  equ 1 << 30

MSR_SYSENTER_CS equ 0x174
MSR_STAR        equ 0xc0000081
MSR_GS_BASE     equ 0xc0000101
MSR_KGSBASE     equ 0xc0000102
MSR_TSC_AUX     equ 0xc0000103

IO_BUF    equ SCRATCH               ; INS/OUTS buffer
PF_ADDR   equ 0x123456788           ; above the 4 GiB identity map: not present
SEL_NP    equ SEL_FREE + 8          ; a writable data descriptor with P=0
SEL_BEYOND equ 0x1f8                ; beyond the GDT limit

; ---- local macros -----------------------------------------------------------------------------
; L2_AT label: a fresh identity VMCB whose L2 starts at label.
%macro L2_AT 1
    call vmcb_ident
    mov VMCB_FIELD(VMCB_RIP), %1
%endmacro

; EXPECT_AT "name", code, label: the last exit has EXITCODE code with RIP left at label; the
; actual value is EXITCODE + ((RIP - label) << 32).
%macro EXPECT_AT 3
    push rax
    mov rax, VMCB_FIELD(VMCB_RIP)
    sub rax, %3
    shl rax, 32
    add rax, VMCB_FIELD(VMCB_EXIT_CODE)
    EXPECT %1, rax, %2
    pop rax
%endmacro

; STEP "name", code, label, next: check the exit, OR its EXITINFO1 into r15, resume L2 at next.
%macro STEP 4
    EXPECT_AT %1, %2, %3
    or r15, VMCB_FIELD(VMCB_EXIT_INFO1)
    mov VMCB_FIELD(VMCB_RIP), %4
    call svm_vmrun
%endmacro

; INSN "name", word offset, bit, code, start[, at]: L2 runs from start; the intercepted
; instruction is at `at` (default: start).
%macro INSN 5-6
    L2_AT %5
    or dword [SVM_VMCB + %2], %3
    call svm_vmrun
%if %0 == 6
    EXPECT_AT %1, %4, %6
%else
    EXPECT_AT %1, %4, %5
%endif
%endmacro

; IOPM_BIT port: intercept port (one bit per port; bits beyond 0xFFFF are the third page's).
%macro IOPM_BIT 1
    or byte [SVM_IOPM + (%1) / 8], 1 << ((%1) % 8)
%endmacro

; MSRPM_BIT msr, w: intercept RDMSR (w=0) or WRMSR (w=1) of msr (APM 15.11).
%macro MSRPM_BIT 2
%if (%1) <= 0x1fff
  %assign %%base 0
%elif (%1) >= 0xc0000000 && (%1) <= 0xc0001fff
  %assign %%base 0x800
%else
  %assign %%base 0x1000
%endif
%assign %%bit ((%1) & 0x1fff) * 2 + (%2)
    or byte [SVM_MSRPM + %%base + %%bit / 8], 1 << (%%bit % 8)
%endmacro

; MSR_RUN label, msr: L2 at label with MSR_PROT and ECX = msr (MSRPM untouched).
%macro MSR_RUN 2
    L2_AT %1
    or dword [SVM_VMCB + VMCB_MISC1], INTERCEPT_MSR
    mov dword [l2_rcx], %2
%endmacro

; EXC_L2 "name", label, vector, error: L2 at label takes the exception itself; exc_vec/exc_err.
%macro EXC_L2 4
    L2_AT %2
    call svm_vmrun
    EXPECT %1, [exc_vec], ((%4) << 32) | (%3)
%endmacro
; EXC_EXIT "name", label, vector, error: the exception is intercepted.
%macro EXC_EXIT 4
    L2_AT %2
    mov dword [SVM_VMCB + VMCB_INTERCEPT_EXC], 1 << (%3)
    call svm_vmrun
    EXPECT_AT %1, EXIT_EXCP_BASE + (%3), %2.i
    EXPECT {%1, " exitinfo1"}, VMCB_FIELD(VMCB_EXIT_INFO1), %4
%endmacro

bits 32
main:
    SVM_L1_ENTER
    mov rax, cr0
    mov [l1_cr0], rax
    mov rax, cr3
    mov [l1_cr3], rax
    mov rax, cr4
    mov [l1_cr4], rax
    ; the not-present data descriptor for #NP / #SS
    mov dword [gdt_free + 8], 0x0000ffff
    mov dword [gdt_free + 12], 0x00cf1300

    ; ================================ ioio (APM 15.10) ========================================
    ; IOPM: 0x84, 0x87 (a word OUT at 0x86 overlaps it), 0x5000, 0x5008 (a word at 0x5007
    ; crosses into it), 0x5013 (the last byte of a dword at 0x5010), 0x8000 (the second IOPM
    ; page: a word at 0x7FFF reaches it), 0x10000 (third page: a dword at 0xFFFF reaches it).
    IOPM_BIT 0x84
    IOPM_BIT 0x87
    IOPM_BIT 0x5000
    IOPM_BIT 0x5008
    IOPM_BIT 0x5013
    IOPM_BIT 0x8000
    IOPM_BIT 0x10000
    mov dword [IO_BUF + 0x100], 0x2211
    L2_AT l2_io
    or dword [SVM_VMCB + VMCB_MISC1], INTERCEPT_IOIO
    mov qword [l2_rdi], IO_BUF
    mov qword [l2_rsi], IO_BUF
    call svm_vmrun
    EXPECT_AT "ioio inb imm8", EXIT_IOIO, l2_io.i1
    EXPECT "ioio inb imm8 exitinfo1", VMCB_FIELD(VMCB_EXIT_INFO1), (0x84 << 16) | IO_A64 | IO_SZ8 | IO_IN
    EXPECT "ioio inb imm8 exitinfo2 = next rip", VMCB_FIELD(VMCB_EXIT_INFO2), l2_io.i2
    call io_next
    EXPECT_AT "ioio outw imm8 partial overlap", EXIT_IOIO, l2_io.i2
    EXPECT "ioio outw imm8 exitinfo1", VMCB_FIELD(VMCB_EXIT_INFO1), (0x86 << 16) | IO_A64 | IO_SZ16
    call io_next
    EXPECT_AT "ioio inl dx", EXIT_IOIO, l2_io.i3
    EXPECT "ioio inl dx exitinfo1", VMCB_FIELD(VMCB_EXIT_INFO1), (0x5000 << 16) | IO_A64 | IO_SZ32 | IO_IN
    EXPECT "ioio inl dx exitinfo2 = next rip", VMCB_FIELD(VMCB_EXIT_INFO2), l2_io.i3_end
    call io_next
    ; inb 0x5001 and inl 0x5004 (0x5004..0x5007 clear) ran in L2 without exiting
    EXPECT_AT "ioio inw dx crossing a byte of the map", EXIT_IOIO, l2_io.i4
    EXPECT "ioio inw dx exitinfo1", VMCB_FIELD(VMCB_EXIT_INFO1), (0x5007 << 16) | IO_A64 | IO_SZ16 | IO_IN
    call io_next
    EXPECT_AT "ioio outl dx last byte overlaps", EXIT_IOIO, l2_io.i5
    EXPECT "ioio outl dx exitinfo1", VMCB_FIELD(VMCB_EXIT_INFO1), (0x5010 << 16) | IO_A64 | IO_SZ32
    call io_next
    ; inw 0x5010 ran (0x5010/0x5011 clear)
    EXPECT_AT "ioio inw 0x7fff crossing 0x8000", EXIT_IOIO, l2_io.i6
    EXPECT "ioio inw 0x7fff exitinfo1", VMCB_FIELD(VMCB_EXIT_INFO1), (0x7fff << 16) | IO_A64 | IO_SZ16 | IO_IN
    call io_next
    ; inb 0x7fff and inb 0xffff ran
    EXPECT_AT "ioio inl 0xffff third page", EXIT_IOIO, l2_io.i7
    EXPECT "ioio inl 0xffff exitinfo1", VMCB_FIELD(VMCB_EXIT_INFO1), (0xffff << 16) | IO_A64 | IO_SZ32 | IO_IN
    call io_next
    EXPECT_AT "ioio insb", EXIT_IOIO, l2_io.i8
    EXPECT "ioio insb exitinfo1", VMCB_FIELD(VMCB_EXIT_INFO1), (0x5000 << 16) | IO_A64 | IO_SZ8 | IO_STR | IO_IN
    call io_next
    EXPECT_AT "ioio rep outsw", EXIT_IOIO, l2_io.i9
    EXPECT "ioio rep outsw exitinfo1", VMCB_FIELD(VMCB_EXIT_INFO1), (0x5000 << 16) | IO_A64 | IO_SZ16 | IO_REP | IO_STR
    EXPECT "ioio rep outsw exitinfo2 = next rip", VMCB_FIELD(VMCB_EXIT_INFO2), l2_io.i10
    EXPECT "ioio rep outsw before any iteration", [l2_rcx], 3
    call io_next
    EXPECT_AT "ioio a32 rep insd", EXIT_IOIO, l2_io.i10
    EXPECT "ioio a32 rep insd exitinfo1", VMCB_FIELD(VMCB_EXIT_INFO1), (0x5000 << 16) | IO_A32 | IO_SZ32 | IO_REP | IO_STR | IO_IN
    call io_next
    EXPECT_AT "ioio unintercepted ports no exit", EXIT_VMMCALL, l2_io.done
    EXPECT "ioio com1 scratch out/in in l2", [l2_rbx], 0x5a
    EXPECT "ioio rep outsb performed", [l2_r8], 0x22
    EXPECT "ioio rep outsb rcx", [l2_r9], 0
    mov dx, COM1 + 7
    xor eax, eax
    in al, dx
    EXPECT "ioio com1 scratch seen by l1", rax, 0xa5

    ; ============================ selective CR0 (APM 15.9.1) ==================================
    L2_AT l2_cr0_cd
    or dword [SVM_VMCB + VMCB_MISC1], INTERCEPT_SEL_CR0
    call svm_vmrun
    EXPECT_AT "sel cr0 write intercept", EXIT_CR0_SEL, l2_cr0_cd.w
    EXPECT "sel cr0 write intercept exitinfo1", VMCB_FIELD(VMCB_EXIT_INFO1), 0
    EXPECT "sel cr0 write intercept cr0 kept", VMCB_FIELD(VMCB_CR0), [l1_cr0]

    L2_AT l2_cr0_cd
    or dword [SVM_VMCB + VMCB_MISC1], INTERCEPT_SEL_CR0
    mov word [SVM_VMCB + VMCB_CR_WRITE], 1
    call svm_vmrun
    EXPECT_AT "sel cr0 write intercept priority", EXIT_WRITE_CR0, l2_cr0_cd.w

    L2_AT l2_cr0_tsmp
    or dword [SVM_VMCB + VMCB_MISC1], INTERCEPT_SEL_CR0
    call svm_vmrun
    EXPECT_AT "sel cr0 write nointercept", EXIT_VMMCALL, l2_cr0_tsmp.done
    mov rax, [l1_cr0]
    xor rax, CR0_TS | CR0_MP
    EXPECT "sel cr0 write nointercept ts/mp written", VMCB_FIELD(VMCB_CR0), rax

    ; LMSW: clearing PE changes nothing (LMSW cannot clear PE), TS alone is not selective,
    ; setting EM is.
    L2_AT l2_lmsw
    or dword [SVM_VMCB + VMCB_MISC1], INTERCEPT_SEL_CR0
    call svm_vmrun
    EXPECT_AT "sel cr0 lmsw intercept", EXIT_CR0_SEL, l2_lmsw.em
    mov rax, [l1_cr0]
    xor rax, CR0_TS
    EXPECT "sel cr0 lmsw pe kept, ts written", VMCB_FIELD(VMCB_CR0), rax

    L2_AT l2_lmsw
    mov word [SVM_VMCB + VMCB_CR_WRITE], 1
    call svm_vmrun
    EXPECT_AT "lmsw cr0 write intercept", EXIT_WRITE_CR0, l2_lmsw.pe

    ; CLTS writes CR0 but is never a selective write.
    L2_AT l2_clts
    or dword [SVM_VMCB + VMCB_MISC1], INTERCEPT_SEL_CR0
    or VMCB_FIELD(VMCB_CR0), CR0_TS
    call svm_vmrun
    EXPECT_AT "clts sel cr0 nointercept", EXIT_VMMCALL, l2_clts.done
    EXPECT "clts cleared ts", VMCB_FIELD(VMCB_CR0), [l1_cr0]
    L2_AT l2_clts
    mov word [SVM_VMCB + VMCB_CR_WRITE], 1
    call svm_vmrun
    EXPECT_AT "clts cr0 write intercept", EXIT_WRITE_CR0, l2_clts.i

    ; ============================ CR reads and writes (APM 15.8) ==============================
    L2_AT l2_cr3_read
    mov word [SVM_VMCB + VMCB_CR_READ], 1 << 3
    call svm_vmrun
    EXPECT_AT "cr3 read intercept", EXIT_READ_CR0 + 3, l2_cr3_read.i
    L2_AT l2_cr3_read
    mov word [SVM_VMCB + VMCB_CR_READ], ~(1 << 3) & 0xffff
    call svm_vmrun
    EXPECT_AT "cr3 read nointercept", EXIT_VMMCALL, l2_cr3_read.done
    EXPECT "cr3 read nointercept value", VMCB_FIELD(VMCB_RAX), [l1_cr3]

    ; CR0/CR3/CR4/CR8 reads and writes all intercepted: each exits in turn, EXITINFO1 = 0.
    L2_AT l2_crs
    mov dword [SVM_VMCB + VMCB_CR_READ], 0x119 | (0x119 << 16)
    mov rax, [l1_cr0]
    mov [l2_rbx], rax
    mov rax, [l1_cr3]
    mov [l2_rcx], rax
    mov rax, [l1_cr4]
    xor rax, 1 << 7                     ; PGE toggled: must not reach CR4
    mov [l2_rdx], rax
    xor r15, r15
    call svm_vmrun
    STEP "cr0 read intercept", EXIT_READ_CR0, l2_crs.r0, l2_crs.r3
    STEP "cr3 read intercept (all cr intercepts)", EXIT_READ_CR0 + 3, l2_crs.r3, l2_crs.r4
    STEP "cr4 read intercept", EXIT_READ_CR0 + 4, l2_crs.r4, l2_crs.r8
    STEP "cr8 read intercept", EXIT_READ_CR0 + 8, l2_crs.r8, l2_crs.smsw
    STEP "smsw cr0 read intercept", EXIT_READ_CR0, l2_crs.smsw, l2_crs.w0
    STEP "cr0 write intercept", EXIT_WRITE_CR0, l2_crs.w0, l2_crs.w3
    STEP "cr3 write intercept", EXIT_WRITE_CR0 + 3, l2_crs.w3, l2_crs.w4
    STEP "cr4 write intercept", EXIT_WRITE_CR0 + 4, l2_crs.w4, l2_crs.w8
    STEP "cr8 write intercept", EXIT_WRITE_CR0 + 8, l2_crs.w8, l2_crs.done
    EXPECT_AT "cr intercepts done", EXIT_VMMCALL, l2_crs.done
    EXPECT "cr exits exitinfo1 0", r15, 0
    EXPECT "cr4 write not performed", VMCB_FIELD(VMCB_CR4), [l1_cr4]

    ; CR8 not intercepted and no V_INTR_MASKING: L2 writes the real TPR, which L1 then reads.
    L2_AT l2_cr8
    call svm_vmrun
    EXPECT "cr8 l2 write/read", [l2_rbx], 7
    mov rax, cr8
    EXPECT "cr8 l2 write seen by l1", rax, 7
    xor eax, eax
    mov cr8, rax

    ; ============================ dr intercept check (APM 15.8) ===============================
    L2_AT l2_dr
    mov dword [SVM_VMCB + VMCB_DR_READ], 0x00ff00ff
    xor r15, r15
    call svm_vmrun
%assign n 0
%rep 8
    %substr dig "01234567" n + 1
    %strcat nm "dr", dig, " read intercept"
    STEP nm, EXIT_READ_DR0 + n, l2_dr.r %+ n, l2_dr.r %+ n %+ _end
%assign n n + 1
%endrep
%assign n 0
%rep 8
    %substr dig "01234567" n + 1
    %strcat nm "dr", dig, " write intercept"
    STEP nm, EXIT_WRITE_DR0 + n, l2_dr.w %+ n, l2_dr.w %+ n %+ _end
%assign n n + 1
%endrep
    EXPECT_AT "dr intercepts done", EXIT_VMMCALL, l2_dr.done
    EXPECT "dr exits exitinfo1 0", r15, 0
    ; not intercepted: DR0 is shared with L1 (VMRUN does not switch DR0-DR3).
    L2_AT l2_dr0
    call svm_vmrun
    EXPECT "dr0 l2 write/read", [l2_rbx], 0x123450
    mov rax, dr0
    EXPECT "dr0 l2 write seen by l1", rax, 0x123450
    xor eax, eax
    mov dr0, rax

    ; ============================ msr intercept check (APM 15.11) =============================
    ; MSR 0x174 (range 0000_0000): read bit only -> RDMSR exits (EXITINFO1 0), WRMSR runs.
    call msrpm_clear
    MSRPM_BIT MSR_SYSENTER_CS, 0
    MSR_RUN l2_rdwrmsr, MSR_SYSENTER_CS
    mov VMCB_FIELD(VMCB_RAX), 0x10
    call svm_vmrun
    EXPECT_AT "msr 0x174 read intercept", EXIT_MSR, l2_rdwrmsr.r
    EXPECT "msr 0x174 read exitinfo1", VMCB_FIELD(VMCB_EXIT_INFO1), 0
    mov VMCB_FIELD(VMCB_RIP), l2_rdwrmsr.w
    call svm_vmrun
    EXPECT_AT "msr 0x174 write not intercepted", EXIT_VMMCALL, l2_rdwrmsr.done
    EXPECT "msr 0x174 l2 write lands in vmcb", VMCB_FIELD(VMCB_SYSENTER_CS), 0x10
    ; write bit only -> RDMSR runs (reads the VMLOADed value), WRMSR exits (EXITINFO1 1).
    call msrpm_clear
    MSRPM_BIT MSR_SYSENTER_CS, 1
    MSR_RUN l2_rdwrmsr, MSR_SYSENTER_CS
    mov VMCB_FIELD(VMCB_SYSENTER_CS), 0x28
    call svm_vmrun
    EXPECT_AT "msr 0x174 write intercept", EXIT_MSR, l2_rdwrmsr.w
    EXPECT "msr 0x174 write exitinfo1", VMCB_FIELD(VMCB_EXIT_INFO1), 1
    EXPECT "msr 0x174 l2 read value", VMCB_FIELD(VMCB_RAX), 0x28
    ; STAR (range C000_0000) read and write bits: both exit in turn.
    call msrpm_clear
    MSRPM_BIT MSR_STAR, 0
    MSRPM_BIT MSR_STAR, 1
    MSR_RUN l2_rdwrmsr, MSR_STAR
    call svm_vmrun
    EXPECT_AT "msr star read intercept", EXIT_MSR, l2_rdwrmsr.r
    mov VMCB_FIELD(VMCB_RIP), l2_rdwrmsr.w
    call svm_vmrun
    EXPECT_AT "msr star write intercept", EXIT_MSR, l2_rdwrmsr.w
    EXPECT "msr star write exitinfo1", VMCB_FIELD(VMCB_EXIT_INFO1), 1
    ; STAR not intercepted (neighbours are): L2 reads what L1 put in the VMCB.
    call msrpm_clear
    MSRPM_BIT MSR_STAR - 1, 0
    MSRPM_BIT MSR_STAR + 1, 0
    MSRPM_BIT MSR_STAR, 1
    MSR_RUN l2_rdmsr, MSR_STAR
    mov dword [SVM_VMCB + VMCB_STAR], 0x9abcdef0
    mov dword [SVM_VMCB + VMCB_STAR + 4], 0x00230010
    call svm_vmrun
    EXPECT_AT "msr star read nointercept", EXIT_VMMCALL, l2_rdmsr.done
    EXPECT "msr star l2 read eax", VMCB_FIELD(VMCB_RAX), 0x9abcdef0
    EXPECT "msr star l2 read edx", [l2_rdx], 0x00230010
    ; KERNEL_GS_BASE not intercepted: L2's WRMSR reaches the VMCB (VMSAVE) and L1's RDMSR.
    call msrpm_clear
    MSRPM_BIT MSR_GS_BASE, 1
    MSRPM_BIT MSR_TSC_AUX, 1
    MSRPM_BIT MSR_KGSBASE, 0
    MSR_RUN l2_wrmsr, MSR_KGSBASE
    mov VMCB_FIELD(VMCB_RAX), 0x56789abc
    mov qword [l2_rdx], 0x1234
    call svm_vmrun
    EXPECT_AT "msr kgsbase write nointercept", EXIT_VMMCALL, l2_wrmsr.done
    mov rbx, 0x123456789abc
    EXPECT "msr kgsbase l2 write in vmcb", VMCB_FIELD(VMCB_KGSBASE), rbx
    mov ecx, MSR_KGSBASE
    rdmsr
    shl rdx, 32
    or rax, rdx
    EXPECT "msr kgsbase l2 write seen by l1", rax, rbx
    ; VM_HSAVE_PA (range C001_0000): write bit only -> RDMSR runs, WRMSR exits.
    call msrpm_clear
    MSRPM_BIT MSR_VM_HSAVE_PA, 1
    MSR_RUN l2_rdwrmsr, MSR_VM_HSAVE_PA
    call svm_vmrun
    EXPECT_AT "msr hsave_pa write intercept", EXIT_MSR, l2_rdwrmsr.w
    EXPECT "msr hsave_pa l2 read value", VMCB_FIELD(VMCB_RAX), SVM_HSAVE
    call msrpm_clear
    MSRPM_BIT MSR_VM_HSAVE_PA, 0
    MSR_RUN l2_rdmsr, MSR_VM_HSAVE_PA
    call svm_vmrun
    EXPECT_AT "msr hsave_pa read intercept", EXIT_MSR, l2_rdmsr.i
    ; the last bits of ranges 0 and 2 (these MSRs do not exist: #GP in L2 if they ran)
    call msrpm_clear
    MSRPM_BIT 0x1fff, 1
    MSR_RUN l2_wrmsr, 0x1fff
    call svm_vmrun
    EXPECT_AT "msr 0x1fff write intercept", EXIT_MSR, l2_wrmsr.i
    call msrpm_clear
    MSRPM_BIT 0xc0011fff, 0
    MSR_RUN l2_rdmsr, 0xc0011fff
    call svm_vmrun
    EXPECT_AT "msr 0xc0011fff read intercept", EXIT_MSR, l2_rdmsr.i
    ; MSRs outside the three ranges always exit, with an empty MSRPM.
    call msrpm_clear
    MSR_RUN l2_rdmsr, 0x2000
    call svm_vmrun
    EXPECT_AT "msr 0x2000 out of range", EXIT_MSR, l2_rdmsr.i
    MSR_RUN l2_rdmsr, 0xc0002000
    call svm_vmrun
    EXPECT_AT "msr 0xc0002000 out of range", EXIT_MSR, l2_rdmsr.i
    MSR_RUN l2_wrmsr, 0xc0012000
    call svm_vmrun
    EXPECT_AT "msr 0xc0012000 wrmsr out of range", EXIT_MSR, l2_wrmsr.i
    EXPECT "msr out of range wrmsr exitinfo1", VMCB_FIELD(VMCB_EXIT_INFO1), 1
    MSR_RUN l2_rdmsr, 0x40000000
    call svm_vmrun
    EXPECT_AT "msr 0x40000000 out of range", EXIT_MSR, l2_rdmsr.i
    ; without MSR_PROT nothing exits: STAR read passes through.
    L2_AT l2_rdmsr
    mov dword [l2_rcx], MSR_STAR
    call svm_vmrun
    EXPECT_AT "msr no msr_prot no exit", EXIT_VMMCALL, l2_rdmsr.done

    ; ============================ instruction intercepts ======================================
    INSN "cpuid intercept", VMCB_MISC1, INTERCEPT_CPUID, EXIT_CPUID, l2_cpuid
    INSN "hlt intercept", VMCB_MISC1, INTERCEPT_HLT, EXIT_HLT, l2_hlt
    INSN "invlpg intercept", VMCB_MISC1, INTERCEPT_INVLPG, EXIT_INVLPG, l2_invlpg
    EXPECT "invlpg exitinfo1", VMCB_FIELD(VMCB_EXIT_INFO1), 0
    INSN "invd intercept", VMCB_MISC1, INTERCEPT_INVD, EXIT_INVD, l2_invd
    INSN "wbinvd intercept", VMCB_MISC2, INTERCEPT_WBINVD, EXIT_WBINVD, l2_wbinvd
    INSN "pause intercept (not nop)", VMCB_MISC1, INTERCEPT_PAUSE, EXIT_PAUSE, l2_pause, l2_pause.i
    INSN "pushf intercept", VMCB_MISC1, INTERCEPT_PUSHF_B, EXIT_PUSHF, l2_pushf
    INSN "popf intercept", VMCB_MISC1, INTERCEPT_POPF_B, EXIT_POPF, l2_popf, l2_popf.i
    INSN "rdtsc intercept", VMCB_MISC1, INTERCEPT_RDTSC, EXIT_RDTSC, l2_rdtsc
    INSN "iret intercept", VMCB_MISC1, INTERCEPT_IRET, EXIT_IRET, l2_iret, l2_iret.i
    and dword [SVM_VMCB + VMCB_MISC1], ~INTERCEPT_IRET
    call svm_vmrun
    EXPECT_AT "iret runs once not intercepted", EXIT_VMMCALL, l2_iret.after
    INSN "intn intercept", VMCB_MISC1, INTERCEPT_INTN, EXIT_SWINT, l2_intn, l2_intn.i
    EXPECT "intn exitinfo1", VMCB_FIELD(VMCB_EXIT_INFO1), 0
    L2_AT l2_intn
    call svm_vmrun
    EXPECT_AT "intn nointercept", EXIT_VMMCALL, l2_intn.done
    EXPECT "intn delivered in l2", [exc_vec], 0x30
    mov rax, [exc_ip]
    sub rax, l2_intn.r
    EXPECT "intn l2 return rip (after int)", rax, 0
    INSN "icebp intercept", VMCB_MISC2, INTERCEPT_ICEBP, EXIT_ICEBP, l2_icebp, l2_icebp.i
    L2_AT l2_icebp
    call svm_vmrun
    EXPECT_AT "icebp nointercept", EXIT_VMMCALL, l2_icebp.done
    EXPECT "icebp #db in l2", [exc_vec], 1
    mov rax, [exc_ip]
    sub rax, l2_icebp.r
    EXPECT "icebp #db l2 return rip (trap: after int1)", rax, 0
    INSN "sidt intercept", VMCB_MISC1, INTERCEPT_IDTR_READ, EXIT_IDTR_READ, l2_sidt
    INSN "sgdt intercept", VMCB_MISC1, INTERCEPT_GDTR_READ, EXIT_GDTR_READ, l2_sgdt
    INSN "sldt intercept", VMCB_MISC1, INTERCEPT_LDTR_READ, EXIT_LDTR_READ, l2_sldt
    INSN "str intercept", VMCB_MISC1, INTERCEPT_TR_READ, EXIT_TR_READ, l2_str
    INSN "lidt intercept", VMCB_MISC1, INTERCEPT_IDTR_WRITE, EXIT_IDTR_WRITE, l2_lidt
    INSN "lgdt intercept", VMCB_MISC1, INTERCEPT_GDTR_WRITE, EXIT_GDTR_WRITE, l2_lgdt
    INSN "lldt intercept", VMCB_MISC1, INTERCEPT_LDTR_WRITE, EXIT_LDTR_WRITE, l2_lldt, l2_lldt.i
    INSN "ltr intercept", VMCB_MISC1, INTERCEPT_TR_WRITE, EXIT_TR_WRITE, l2_ltr, l2_ltr.i
    INSN "invlpga intercept", VMCB_MISC1, INTERCEPT_INVLPGA, EXIT_INVLPGA, l2_invlpga, l2_invlpga.i
    INSN "stgi intercept", VMCB_MISC2, INTERCEPT_STGI, EXIT_STGI, l2_stgi
    INSN "clgi intercept", VMCB_MISC2, INTERCEPT_CLGI, EXIT_CLGI, l2_clgi
    INSN "vmmcall intercept", VMCB_MISC2, INTERCEPT_VMMCALL, EXIT_VMMCALL, l2_vmmcall
    ; INT3 is an exception (#BP), not INTn: the INTn intercept does not apply (APM 15.12).
    INSN "int3 not intn intercept", VMCB_MISC1, INTERCEPT_INTN, EXIT_VMMCALL, l2_bp, l2_bp.done
    EXPECT "int3 not intn: #bp in l2", [exc_vec], 3

    ; ============================ svm_exception_test (APM 15.12) ==============================
    ; Not intercepted: L2 takes the exception through its IDT (L1's) and records it.
    mov dword [exc_count], 0
    EXC_L2 "#de handled in l2", l2_de, 0, 0
    EXC_L2 "#bp handled in l2", l2_bp, 3, 0
    EXC_L2 "#ud handled in l2", l2_ud, 6, 0
    EXC_L2 "#gp handled in l2", l2_gp, 13, SEL_BEYOND
    EXC_L2 "#pf handled in l2", l2_pf, 14, 2
    EXPECT "#pf l2 cr2", [exc_cr2], PF_ADDR
    EXPECT "#pf l2 cr2 in vmcb", VMCB_FIELD(VMCB_CR2), PF_ADDR
    EXC_L2 "#np handled in l2", l2_np, 11, SEL_NP
    EXC_L2 "#ss handled in l2", l2_ss, 12, SEL_NP
    mov eax, [exc_count]
    EXPECT "l2 exceptions delivered", rax, 7
    ; Intercepted: #VMEXIT 0x40+vector, RIP at the faulting instruction, EXITINFO1 = error code.
    mov dword [exc_count], 0
    EXC_EXIT "#de intercepted", l2_de, 0, 0
    EXC_EXIT "#bp intercepted", l2_bp, 3, 0
    EXC_EXIT "#ud intercepted", l2_ud, 6, 0
    EXC_EXIT "#gp intercepted", l2_gp, 13, SEL_BEYOND
    L2_AT l2_pf
    mov dword [SVM_VMCB + VMCB_INTERCEPT_EXC], 1 << 14
    mov VMCB_FIELD(VMCB_CR2), 0x5a5a000
    call svm_vmrun
    EXPECT_AT "#pf intercepted", EXIT_EXCP_BASE + 14, l2_pf.i
    EXPECT "#pf intercepted exitinfo1", VMCB_FIELD(VMCB_EXIT_INFO1), 2
    mov rax, PF_ADDR
    EXPECT "#pf intercepted exitinfo2", VMCB_FIELD(VMCB_EXIT_INFO2), rax
    EXPECT "#pf intercepted cr2 not written", VMCB_FIELD(VMCB_CR2), 0x5a5a000
    EXC_EXIT "#np intercepted", l2_np, 11, SEL_NP
    EXC_EXIT "#ss intercepted", l2_ss, 12, SEL_NP
    mov eax, [exc_count]
    EXPECT "intercepted exceptions not delivered in l2", rax, 0
    ENDTRY

    SVM_DONE


; ---- L1 helpers ------------------------------------------------------------------------------
; io_next: resume L2 at EXITINFO2 (the instruction after the intercepted I/O).
io_next:
    push rax
    mov rax, VMCB_FIELD(VMCB_EXIT_INFO2)
    mov VMCB_FIELD(VMCB_RIP), rax
    call svm_vmrun
    pop rax
    ret

msrpm_clear:
    push rax
    push rcx
    push rdi
    mov edi, SVM_MSRPM
    mov ecx, 0x2000 / 8
    xor eax, eax
    rep stosq
    pop rdi
    pop rcx
    pop rax
    ret

align 8
l1_cr0: dq 0
l1_cr3: dq 0
l1_cr4: dq 0

; ---- L2 --------------------------------------------------------------------------------------
bits 64
l2_io:
.i1: in al, 0x84
.i2: out 0x86, ax
    mov dx, 0x5000
.i3: in eax, dx
.i3_end:
    mov dx, 0x5001
    in al, dx
    mov dx, 0x5004
    in eax, dx
    mov dx, 0x5007
.i4: in ax, dx
    mov dx, 0x5010
.i5: out dx, eax
    in ax, dx
    mov dx, 0x7fff
.i6: in ax, dx
    in al, dx
    mov dx, 0xffff
    in al, dx
.i7: in eax, dx
    mov dx, 0x5000
.i8: insb
    mov ecx, 3
.i9: rep outsw
.i10: a32 rep insd
    mov dx, COM1 + 7                    ; the 16550 scratch register: real I/O
    mov al, 0x5a
    out dx, al
    xor eax, eax
    in al, dx
    mov ebx, eax
    mov esi, IO_BUF + 0x100
    mov ecx, 2
    rep outsb
    xor eax, eax
    in al, dx
    mov r8, rax
    mov r9, rcx
    mov al, 0xa5
    out dx, al
.done:
    vmmcall

l2_cr0_cd:
    mov rax, cr0
    bts rax, 30
.w: mov cr0, rax
    vmmcall
l2_cr0_tsmp:
    mov rax, cr0
    xor rax, CR0_TS | CR0_MP
    mov cr0, rax
.done:
    vmmcall
l2_lmsw:
    mov rax, cr0
    and eax, ~1
.pe: lmsw ax
    mov rax, cr0
    xor eax, CR0_TS
.ts: lmsw ax
    mov rax, cr0
    or eax, CR0_EM
.em: lmsw ax
    vmmcall
l2_clts:
.i: clts
.done:
    vmmcall
l2_cr3_read:
.i: mov rax, cr3
.done:
    vmmcall
l2_crs:
.r0: mov rax, cr0
.r3: mov rax, cr3
.r4: mov rax, cr4
.r8: mov rax, cr8
.smsw: smsw eax
.w0: mov cr0, rbx
.w3: mov cr3, rcx
.w4: mov cr4, rdx
.w8: mov cr8, rsi
.done:
    vmmcall
l2_cr8:
    mov eax, 7
    mov cr8, rax
    mov rbx, cr8
    vmmcall

l2_dr:
%assign n 0
%rep 8
.r %+ n: mov rax, dr %+ n
.r %+ n %+ _end:
%assign n n + 1
%endrep
    xor eax, eax
%assign n 0
%rep 8
.w %+ n: mov dr %+ n, rax
.w %+ n %+ _end:
%assign n n + 1
%endrep
.done:
    vmmcall
l2_dr0:
    mov eax, 0x123450
    mov dr0, rax
    mov rbx, dr0
    vmmcall

; MSR snippets: a #GP from an MSR that should have exited is caught and ends at the VMMCALL.
l2_rdmsr:
    TRY .c
.i: rdmsr
.c: ENDTRY
.done:
    vmmcall
l2_wrmsr:
    TRY .c
.i: wrmsr
.c: ENDTRY
.done:
    vmmcall
l2_rdwrmsr:
    TRY .c
.r: rdmsr
    TRY .c
.w: wrmsr
.c: ENDTRY
.done:
    vmmcall

l2_cpuid:
    cpuid
    vmmcall
l2_hlt:
    hlt
    vmmcall
l2_invlpg:
    invlpg [IO_BUF]
    vmmcall
l2_invd:
    invd
    vmmcall
l2_wbinvd:
    wbinvd
    vmmcall
l2_pause:
    nop
.i: pause
    vmmcall
l2_pushf:
    pushfq
    vmmcall
l2_popf:
    pushfq
.i: popfq
    vmmcall
l2_rdtsc:
    rdtsc
    vmmcall
l2_iret:
    mov rax, rsp
    push SEL_KDATA64
    push rax
    pushfq
    push SEL_KCODE64
    push .after
.i: iretq
.after:
    vmmcall
l2_intn:
    TRY .r
.i: int 0x30
.r: ENDTRY
.done:
    vmmcall
l2_icebp:
    TRY .r
.i: int1
.r: ENDTRY
.done:
    vmmcall
l2_sidt:
    sidt [IO_BUF]
    vmmcall
l2_sgdt:
    sgdt [IO_BUF]
    vmmcall
l2_sldt:
    sldt ax
    vmmcall
l2_str:
    str ax
    vmmcall
l2_lidt:
    lidt [idt64r]
    vmmcall
l2_lgdt:
    lgdt [gdtr]
    vmmcall
l2_lldt:
    xor eax, eax
.i: lldt ax
    vmmcall
l2_ltr:
    mov eax, SEL_TSS
.i: ltr ax
    vmmcall
l2_invlpga:
    mov eax, IO_BUF
    mov ecx, 1
.i: invlpga
    vmmcall
l2_stgi:
    stgi
    vmmcall
l2_clgi:
    clgi
    vmmcall
l2_vmmcall:
    vmmcall

; exception snippets: .i faults; L2's own handler (TRY) resumes at .done.
l2_de:
    TRY .c
    xor ecx, ecx
    xor edx, edx
.i: div ecx
.c: ENDTRY
.done:
    vmmcall
l2_bp:
    TRY .c
.i: int3
.c: ENDTRY
.done:
    vmmcall
l2_ud:
    TRY .c
.i: ud2
.c: ENDTRY
.done:
    vmmcall
l2_gp:
    TRY .c
    mov eax, SEL_BEYOND
.i: mov ds, ax
.c: ENDTRY
.done:
    vmmcall
l2_pf:
    TRY .c
    mov rax, PF_ADDR
.i: mov [rax], ecx
.c: ENDTRY
.done:
    vmmcall
l2_np:
    TRY .c
    mov eax, SEL_NP
.i: mov ds, ax
.c: ENDTRY
.done:
    vmmcall
l2_ss:
    TRY .c
    mov eax, SEL_NP
.i: mov ss, ax
.c: ENDTRY
.done:
    vmmcall
