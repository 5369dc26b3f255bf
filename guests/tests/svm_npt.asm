; svm_npt.asm - multiboot guest (-cpu max): a 64-bit L1 on svm.inc checking nested paging (APM Vol 2,
; 15.25; spec/svm.md 5) with our own equivalents of the kvm-unit-tests svm_npt list: npt_nx, npt_np,
; npt_us, npt_rw, npt_rw_pfwalk, npt_rw_l1mmio, svm_npt_rsvd_bits_test (host/guest EFER.NXE and
; CR4.SMEP combinations), the nested-paging half of svm_pae_test, svm_nested_pat_test (G_PAT), an
; L2 with paging off under NPT, and TLB_CONTROL / INVLPGA after an NPT edit. Every #NPF check
; compares EXITCODE, EXITINFO1 and EXITINFO2 at once and prints one "name: ok" line.
;
; Skipped: npt_l1mmio (L2 reading L1's APIC through the identity NPT) - vx86 has no LAPIC or any
; other MMIO device that q35 on QEMU also has, so no device-backed GPA reads alike on both;
; npt_rw_l1mmio is kept (the #NPF comes before any device access). npt_gmet_* - GMET is offered by
; neither. TLB_CONTROL=0 after an NPT edit and INVLPGA followed by TLB_CONTROL=0 are run for their
; side effects only: the APM lets a stale translation be used until a flush, so neither outcome is
; asserted (only that INVLPGA itself completes without an exception).
[warning -zext-reloc]               ; CHECK3 takes labels as 64-bit wants
%include "multiboot.inc"
%include "idt.inc"
%include "paging.inc"
%include "svm.inc"

; ---- memory ------------------------------------------------------------------------------------
L1_PML4      equ 0x530000           ; L1's own top level: PT_PDPT4 with U/S=0, so CR4.SMEP can be on
PG_IDENT     equ 0x801000           ; 4 KiB test pages, each with its own NPT PTE
PG_REMAP     equ 0x802000           ; GPA whose NPT PTE points at PG_REMAP_HPA
PG_REMAP_HPA equ 0x803000
PG_AD        equ 0x804000
PG_NX        equ 0x805000
PG_NP        equ 0x806000
PG_US        equ 0x807000
PG_RO        equ 0x808000
PG_PDE       equ 0x809000
PG_RSVD      equ 0x80a000           ; a VMMCALL to fetch in the reserved-bit tests
PG_TLB       equ 0x80b000
PG_FLAT      equ 0x80c000           ; paging-off L2
PG_FLAT_HPA  equ 0x80d000
PG_FLAT_NP   equ 0x80e000
L2_PML4      equ 0x810000           ; L2's own 4-level table (guest-physical = L1-physical)
L2_PDPT      equ 0x811000           ; PML4E 0: 0..4 GiB through L1's identity PDs
L2_PDPT2     equ 0x812000           ; PML4E 1: 512 GiB.. (PDPTE 5 used by the walk test)
L2_PAE_PDPT  equ 0x813000           ; a legacy-PAE L2's four PDPTEs
L2_PML4_COPY equ 0x815000           ; L1-physical page the NPT may map L2_PML4's GPA to
BIG_PAGE     equ 0xa00000           ; NPT PD entry 5: a 2 MiB NPT leaf
GB_PAGE      equ 0x40000000         ; NPT PDPT entry 1: 1..2 GiB
APIC_REG     equ 0xfee00030         ; L1's APIC version register (device MMIO on real q35)

%define NPTE(x) (NPT_PT + (((x) - TEST_AREA) >> 12) * 8)
NPT_PDE_BIG  equ NPT_PD + (BIG_PAGE >> 21) * 8
NPT_PDE_APIC equ NPT_PD + (APIC_REG >> 21) * 8

NPF_FINAL    equ 1 << 32            ; EXITINFO1: fault on the final guest-physical address
NPF_WALK     equ 1 << 33            ; EXITINFO1: fault on a guest page-table access
NPF_P        equ 1
NPF_W        equ 2
NPF_US       equ 4
NPF_RSV      equ 8
NPF_ID       equ 0x10
BIT51        equ 1 << 51            ; above MAXPHYADDR (40 on both emulators; checked below)
CR4_SMEP     equ 1 << 20
EXIT_PF      equ EXIT_EXCP_BASE + 14
PAT_GUEST    equ 0x0606060606060606 ; all WB: differs from the power-on PAT
PAT_L2_WRITE equ 0x0505050505050505 ; all WP
FETCH_VMMCALL equ 0xccd9010f        ; VMMCALL; INT3 - mode-independent code for fetch targets
MAGIC        equ 0x5a5a1234

; CHECK3 "name", code, info1, info2: EXITCODE, EXITINFO1 and EXITINFO2 of the last VMRUN.
%macro CHECK3 4
    jmp %%go
%%name: db %1, 0
%%go:
    push rsi
    push r8
    push r9
    push r10
    mov esi, %%name
    mov r8, %2
    mov r9, %3
    mov r10, %4
    call check_exit3
    pop r10
    pop r9
    pop r8
    pop rsi
%endmacro
%macro NPF_CHECK 3
    CHECK3 %1, EXIT_NPF, %2, %3
%endmacro

; PREP rip: the default VMCB (nested paging on), every exception intercepted, L2 starting at rip.
%macro PREP 1
    mov edx, %1
    call l2_prep
%endmacro

; RSVD "name", entry, bits, rip, flags, info1, info2: OR bits into an NPT entry, run L2 from rip
; with the flags' host/guest EFER.NXE and CR4.SMEP, restore the entry, check the #NPF.
F_HNX  equ 1
F_GNX  equ 2
F_HSMEP equ 4
F_GSMEP equ 8
%macro RSVD 7
    mov edi, %2
    mov rsi, %3
    mov edx, %4
    mov r8d, %5
    call rsvd_run
    CHECK3 {%1}, EXIT_NPF, %6, %7
%endmacro

; RSVD4 "name", entry, bits, rip, info1 without ID, info2, walk: the four host x guest NXE
; combinations; a final-translation fetch gets ID when host NXE=1, a table-walk fault never does.
%macro RSVD4 7
  %if %7
    RSVD {%1, " hnx0 gnx0"}, %2, %3, %4, 0, %5, %6
    RSVD {%1, " hnx0 gnx1"}, %2, %3, %4, F_GNX, %5, %6
    RSVD {%1, " hnx1 gnx0"}, %2, %3, %4, F_HNX, %5, %6
    RSVD {%1, " hnx1 gnx1"}, %2, %3, %4, F_HNX | F_GNX, %5, %6
  %else
    RSVD {%1, " hnx0 gnx0"}, %2, %3, %4, 0, %5, %6
    RSVD {%1, " hnx0 gnx1"}, %2, %3, %4, F_GNX, %5, %6
    RSVD {%1, " hnx1 gnx0"}, %2, %3, %4, F_HNX, (%5) | NPF_ID, %6
    RSVD {%1, " hnx1 gnx1"}, %2, %3, %4, F_HNX | F_GNX, (%5) | NPF_ID, %6
  %endif
%endmacro

bits 32
main:
    call paging_build
    LONG_MODE_ENTER
    call idt64_init
    ; L1 runs on its own supervisor-only PML4 (so CR4.SMEP may be set) with EFER.NXE=1.
    mov edi, L1_PML4
    mov ecx, 512
    xor eax, eax
    rep stosq
    mov qword [L1_PML4], PT_PDPT4 | PTE_P | PTE_RW
    mov eax, L1_PML4
    mov cr3, rax
    mov ecx, MSR_EFER
    rdmsr
    or eax, EFER_NXE
    wrmsr
    mov ecx, MSR_PAT
    rdmsr
    mov [l1_pat], eax
    mov [l1_pat + 4], edx

    SVM_FEATURE SVM_FEAT_NPT
    jc .have_npt
    PRINTLN "svm_npt: skipped (no NPT in CPUID 8000_000A EDX[0])"
    SVM_DONE
.have_npt:
    mov eax, 0x80000008
    cpuid
    cmp al, 51
    jbe .maxphy_ok
    PRINTLN "svm_npt: skipped (MAXPHYADDR > 51: bit 51 is not reserved)"
    SVM_DONE
.maxphy_ok:
    call svm_init
    mov dword [svm_use_npt], 1
    call l2_tables_build

    ; ---- basics: identity and remapped GPAs, accessed/dirty bits in the NPT -------------------
    ; npt identity: L2 reads what L1 wrote and writes back through the identity NPT.
    mov qword [PG_IDENT + 8], MAGIC
    PREP l2_read_write
    mov qword [l2_rbx], PG_IDENT + 8
    mov qword [l2_rsi], PG_IDENT + 16
    mov qword [l2_rcx], 0x77
    call svm_vmrun
    EXPECT_EXIT "npt identity exit", EXIT_VMMCALL
    EXPECT "npt identity read", VMCB_FIELD(VMCB_RAX), MAGIC
    EXPECT "npt identity write", qword [PG_IDENT + 16], 0x77

    ; npt remap: the NPT PTE of PG_REMAP points at PG_REMAP_HPA; L2 reads the latter's data.
    mov qword [PG_REMAP + 0x10], 0x1111
    mov qword [PG_REMAP_HPA + 0x10], 0x2222
    mov qword [NPTE(PG_REMAP)], PG_REMAP_HPA | 7
    PREP l2_read
    mov qword [l2_rbx], PG_REMAP + 0x10
    call svm_vmrun
    EXPECT "npt remap read", VMCB_FIELD(VMCB_RAX), 0x2222
    call npt_build

    ; NPT accessed/dirty: a read sets A only, a write then sets D (APM 15.25.5: the nested walk
    ; updates the nested table like any page walk).
    and qword [NPTE(PG_AD)], ~(PTE_A | PTE_D)
    PREP l2_read
    mov qword [l2_rbx], PG_AD
    call svm_vmrun
    mov rax, [NPTE(PG_AD)]
    and eax, PTE_A | PTE_D
    EXPECT "npt accessed on read", rax, PTE_A
    PREP l2_write
    mov qword [l2_rbx], PG_AD
    call svm_vmrun
    mov rax, [NPTE(PG_AD)]
    and eax, PTE_A | PTE_D
    EXPECT "npt dirty on write", rax, PTE_A | PTE_D

    ; ---- permission faults on the final guest-physical address ---------------------------------
    ; npt_nx: host EFER.NXE=1, L2's EFER.NXE=0; NX in the NPT PTE still applies (ID set).
    mov dword [PG_NX], FETCH_VMMCALL
    mov qword [PG_NX + 8], MAGIC
    bts qword [NPTE(PG_NX)], 63
    PREP PG_NX
    and dword [SVM_VMCB + VMCB_EFER], ~EFER_NXE
    call svm_vmrun
    NPF_CHECK "npt_nx", NPF_FINAL | NPF_ID | NPF_US | NPF_P, PG_NX
    PREP l2_read
    and dword [SVM_VMCB + VMCB_EFER], ~EFER_NXE
    mov qword [l2_rbx], PG_NX + 8
    call svm_vmrun
    EXPECT "npt_nx data read allowed", VMCB_FIELD(VMCB_RAX), MAGIC
    call npt_build

    ; npt_np: not-present NPT PTE; read, write and (host NXE=1) fetch.
    mov dword [PG_NP], FETCH_VMMCALL
    and qword [NPTE(PG_NP)], ~PTE_P
    PREP l2_read
    mov qword [l2_rbx], PG_NP + 0x128
    call svm_vmrun
    NPF_CHECK "npt_np read", NPF_FINAL | NPF_US, PG_NP + 0x128
    PREP l2_write
    mov qword [l2_rbx], PG_NP + 0x130
    call svm_vmrun
    NPF_CHECK "npt_np write", NPF_FINAL | NPF_US | NPF_W, PG_NP + 0x130
    PREP PG_NP
    call svm_vmrun
    NPF_CHECK "npt_np fetch", NPF_FINAL | NPF_ID | NPF_US, PG_NP
    call npt_build

    ; npt_us: NPT PTE with U/S=0; nested accesses are user accesses.
    and qword [NPTE(PG_US)], ~PTE_US
    PREP l2_read
    mov qword [l2_rbx], PG_US + 0x40
    call svm_vmrun
    NPF_CHECK "npt_us", NPF_FINAL | NPF_US | NPF_P, PG_US + 0x40
    call npt_build

    ; npt_rw: read-only NPT PTE: a write faults (CR0.WP plays no role), a read does not.
    and qword [NPTE(PG_RO)], ~PTE_RW
    PREP l2_write
    mov qword [l2_rbx], PG_RO + 0x80
    call svm_vmrun
    NPF_CHECK "npt_rw", NPF_FINAL | NPF_US | NPF_W | NPF_P, PG_RO + 0x80
    mov qword [PG_RO + 0x88], MAGIC
    PREP l2_read
    mov qword [l2_rbx], PG_RO + 0x88
    call svm_vmrun
    EXPECT "npt_rw read allowed", VMCB_FIELD(VMCB_RAX), MAGIC
    call npt_build

    ; Upper levels: the NPT PDE above TEST_AREA's PTEs read-only / not present.
    and qword [NPT_TEST_PD], ~PTE_RW
    PREP l2_write
    mov qword [l2_rbx], PG_PDE + 0x100
    call svm_vmrun
    NPF_CHECK "npt pde read-only", NPF_FINAL | NPF_US | NPF_W | NPF_P, PG_PDE + 0x100
    and qword [NPT_TEST_PD], ~PTE_P
    PREP l2_read
    mov qword [l2_rbx], PG_PDE + 0x108
    call svm_vmrun
    NPF_CHECK "npt pde not present", NPF_FINAL | NPF_US, PG_PDE + 0x108
    call npt_build

    ; npt_rw_l1mmio: L2 writes L1's APIC page through a read-only 2 MiB NPT leaf.
    and qword [NPT_PDE_APIC], ~PTE_RW
    PREP l2_write
    mov rax, APIC_REG
    mov [l2_rbx], rax
    call svm_vmrun
    NPF_CHECK "npt_rw_l1mmio", NPF_FINAL | NPF_US | NPF_W | NPF_P, APIC_REG
    call npt_build

    ; ---- npt_rw_pfwalk: L2's own page tables under the NPT ------------------------------------
    ; L2's PML4 GPA mapped to another L1-physical page: the walk reads and sets A there.
    mov esi, L2_PML4
    mov edi, L2_PML4_COPY
    mov ecx, 512
    rep movsq
    and qword [L2_PML4], ~PTE_A
    and qword [L2_PML4_COPY], ~PTE_A
    mov qword [NPTE(L2_PML4)], L2_PML4_COPY | 7
    PREP l2_vmmcall
    mov VMCB_FIELD(VMCB_CR3), L2_PML4
    call svm_vmrun
    EXPECT_EXIT "l2 own tables exit", EXIT_VMMCALL
    mov rax, [L2_PML4_COPY]
    and eax, PTE_A
    EXPECT "l2 pml4e accessed through npt", rax, PTE_A
    mov rax, [L2_PML4]
    and eax, PTE_A
    EXPECT "l2 pml4e gpa page untouched", rax, 0
    call npt_build

    ; The PML4 page read-only in the NPT: the walk's access counts as a write (A/D updates).
    and qword [NPTE(L2_PML4)], ~PTE_RW
    PREP l2_vmmcall
    mov VMCB_FIELD(VMCB_CR3), L2_PML4
    call svm_vmrun
    NPF_CHECK "npt_rw_pfwalk pml4", NPF_WALK | NPF_US | NPF_W | NPF_P, L2_PML4
    call npt_build
    ; A PDPT entry at a nonzero index: EXITINFO2 is the entry's guest-physical address.
    and qword [NPTE(L2_PDPT2)], ~PTE_RW
    PREP l2_read
    mov VMCB_FIELD(VMCB_CR3), L2_PML4
    mov rax, 0x8140000000               ; PML4E 1, PDPTE 5
    mov [l2_rbx], rax
    call svm_vmrun
    NPF_CHECK "npt_rw_pfwalk pdpte", NPF_WALK | NPF_US | NPF_W | NPF_P, L2_PDPT2 + 5 * 8
    call npt_build
    and qword [NPTE(L2_PML4)], ~PTE_P
    PREP l2_vmmcall
    mov VMCB_FIELD(VMCB_CR3), L2_PML4
    call svm_vmrun
    NPF_CHECK "npt_np pfwalk", NPF_WALK | NPF_US | NPF_W, L2_PML4
    call npt_build
    ; L2's own not-present PML4E: a #PF in L2 (intercepted), not an #NPF.
    PREP l2_read
    mov VMCB_FIELD(VMCB_CR3), L2_PML4
    mov rax, 0x10000000000              ; PML4E 2
    mov [l2_rbx], rax
    call svm_vmrun
    CHECK3 "l2 #pf not npf", EXIT_PF, 0, 0x10000000000

    ; ---- svm_npt_rsvd_bits_test -----------------------------------------------------------------
    ; Final-translation faults: L2 fetches a VMMCALL at a GPA whose NPT PTE / PDE (2 MiB leaf) /
    ; PDPE (1 GiB leaf) has a reserved bit. Table-walk faults: a reserved bit in the NPT PML4E or
    ; PDPE that maps L2's own PML4 (at L1_PML4) stops L2's walk first.
    mov dword [PG_RSVD], FETCH_VMMCALL
    mov dword [BIG_PAGE], FETCH_VMMCALL
    RSVD4 "rsvd pte bit 51", NPTE(PG_RSVD), BIT51, PG_RSVD, NPF_FINAL | NPF_RSV | NPF_US | NPF_P, PG_RSVD, 0
    RSVD4 "rsvd pde 2m bit 13", NPT_PDE_BIG, 1 << 13, BIG_PAGE, NPF_FINAL | NPF_RSV | NPF_US | NPF_P, BIG_PAGE, 0
    mov qword [NPT_PDPT + 8], GB_PAGE | PTE_PS | 7
    RSVD4 "rsvd pdpe 1g bit 13", NPT_PDPT + 8, 1 << 13, GB_PAGE, NPF_FINAL | NPF_RSV | NPF_US | NPF_P, GB_PAGE, 0
    call npt_build
    RSVD4 "rsvd pml4e ps", NPT_PML4, PTE_PS, l2_vmmcall, NPF_WALK | NPF_RSV | NPF_W | NPF_US | NPF_P, L1_PML4, 1
    RSVD "rsvd pdpe bit 51 walk", NPT_PDPT, BIT51, l2_vmmcall, F_HNX, NPF_WALK | NPF_RSV | NPF_W | NPF_US | NPF_P, L1_PML4
    ; CR4.SMEP of the host also makes the ID bit appear; L2's own SMEP does not.
    RSVD "rsvd pte hsmep", NPTE(PG_RSVD), BIT51, PG_RSVD, F_HSMEP | F_GSMEP, NPF_FINAL | NPF_ID | NPF_RSV | NPF_US | NPF_P, PG_RSVD
    RSVD "rsvd pte gsmep only", NPTE(PG_RSVD), BIT51, PG_RSVD, F_GSMEP, NPF_FINAL | NPF_RSV | NPF_US | NPF_P, PG_RSVD
    ; NX is a reserved bit of the NPT when the host has EFER.NXE=0, whatever L2's EFER.NXE.
    RSVD "rsvd nx host nxe0 fetch", NPTE(PG_RSVD), 0x8000000000000000, PG_RSVD, F_GNX, NPF_FINAL | NPF_RSV | NPF_US | NPF_P, PG_RSVD
    mov edi, NPTE(PG_RSVD)
    mov rsi, 0x8000000000000000
    mov edx, l2_read
    mov qword [l2_rbx_init], PG_RSVD + 0x18
    mov r8d, F_GNX
    call rsvd_run
    NPF_CHECK "rsvd nx host nxe0 read", NPF_FINAL | NPF_RSV | NPF_US | NPF_P, PG_RSVD + 0x18

    ; ---- L2 with paging off: GPA = linear, straight through the NPT ----------------------------
    mov dword [PG_FLAT + 0x20], 0x1111
    mov dword [PG_FLAT_HPA + 0x20], 0x2222
    mov qword [NPTE(PG_FLAT)], PG_FLAT_HPA | 7
    PREP l2_32_read
    call vmcb_flat32
    mov qword [l2_rbx], PG_FLAT + 0x20
    call svm_vmrun
    mov eax, [SVM_VMCB + VMCB_RAX]
    EXPECT "paging off remapped read", rax, 0x2222
    and qword [NPTE(PG_FLAT_NP)], ~PTE_P
    PREP l2_32_read
    call vmcb_flat32
    mov qword [l2_rbx], PG_FLAT_NP + 0x24
    call svm_vmrun
    NPF_CHECK "paging off npt not present", NPF_FINAL | NPF_US, PG_FLAT_NP + 0x24
    and qword [NPTE(PG_FLAT)], ~PTE_RW
    PREP l2_32_write
    call vmcb_flat32
    mov qword [l2_rbx], PG_FLAT + 0x28
    call svm_vmrun
    NPF_CHECK "paging off npt read-only", NPF_FINAL | NPF_US | NPF_W | NPF_P, PG_FLAT + 0x28
    call npt_build
    ; With no guest tables, a reserved bit in the NPT PML4E is hit by the final translation.
    mov edi, NPT_PML4
    mov rsi, BIT51
    mov edx, PG_RSVD
    mov r8d, F_HNX | 0x100              ; 0x100: L2 in flat 32-bit protected mode
    call rsvd_run
    NPF_CHECK "paging off rsvd pml4e", NPF_FINAL | NPF_ID | NPF_RSV | NPF_US | NPF_P, PG_RSVD

    ; ---- svm_pae_test with nested paging: a legacy-PAE L2's PDPTEs are read by its walks --------
    PREP l2_32_vmmcall
    call vmcb_pae32
    call svm_vmrun
    EXPECT_EXIT "pae np exit", EXIT_VMMCALL
    ; A reserved bit in a PDPTE L2 never uses: VMRUN does not load PDPTEs with NP.
    bts qword [L2_PAE_PDPT + 3 * 8], 51
    PREP l2_32_vmmcall
    call vmcb_pae32
    call svm_vmrun
    EXPECT_EXIT "pae np unused pdpte rsvd", EXIT_VMMCALL
    call l2_tables_build
    ; In PDPTE 0, which maps L2's code: #PF (P|RSV, no ID: L2 has NXE=0, SMEP=0) at its RIP.
    bts qword [L2_PAE_PDPT], 51
    PREP l2_32_vmmcall
    call vmcb_pae32
    call svm_vmrun
    CHECK3 "pae np pdpte0 bit 51", EXIT_PF, 9, l2_32_vmmcall
    call l2_tables_build
    ; Bits 63:52 of a legacy PAE PDPTE are reserved as well (APM Vol 2, 5.4.1, Figure 5-10).
    bts qword [L2_PAE_PDPT], 52
    PREP l2_32_vmmcall
    call vmcb_pae32
    call svm_vmrun
    CHECK3 "pae np pdpte0 bit 52", EXIT_PF, 9, l2_32_vmmcall
    call l2_tables_build
    ; Bits 1 and 2 are MBZ in a legacy PAE PDPTE too (APM Vol 2, 5.4.1, Figure 5-10).
    or qword [L2_PAE_PDPT], PTE_RW
    PREP l2_32_vmmcall
    call vmcb_pae32
    call svm_vmrun
    CHECK3 "pae np pdpte0 bit 1", EXIT_PF, 9, l2_32_vmmcall
    call l2_tables_build
    ; Bits 11:9 are available to software.
    or qword [L2_PAE_PDPT], 0xe00
    PREP l2_32_vmmcall
    call vmcb_pae32
    call svm_vmrun
    EXPECT_EXIT "pae np pdpte0 bits 11:9", EXIT_VMMCALL
    call l2_tables_build
    ; The PDPT page itself not present in the NPT: a table-walk #NPF at PDPTE 0's GPA.
    and qword [NPTE(L2_PAE_PDPT)], ~PTE_P
    PREP l2_32_vmmcall
    call vmcb_pae32
    call svm_vmrun
    NPF_CHECK "pae np pdpt not present", NPF_WALK | NPF_US | NPF_W, L2_PAE_PDPT
    call npt_build

    ; ---- G_PAT (APM 15.25.8; spec 3.3 row 17, 5.5) ------------------------------------------------
    ; With NP, a reserved memory type in any G_PAT byte fails VMRUN.
    PREP l2_vmmcall
    mov byte [SVM_VMCB + VMCB_G_PAT], 0x02         ; L1's PAT with type 2 in entry 0
    call svm_vmrun
    CHECK3 "gpat type 2 invalid", EXIT_INVALID, 0, 0
    PREP l2_vmmcall
    mov rax, 0x0807040600070406
    mov VMCB_FIELD(VMCB_G_PAT), rax
    call svm_vmrun
    CHECK3 "gpat type 8 invalid", EXIT_INVALID, 0, 0
    ; A valid G_PAT is L2's PAT; L1's PAT is back after #VMEXIT.
    PREP l2_rdpat
    mov rax, PAT_GUEST
    mov VMCB_FIELD(VMCB_G_PAT), rax
    call svm_vmrun
    mov r12, PAT_GUEST
    EXPECT "gpat seen by l2", VMCB_FIELD(VMCB_RAX), r12
    call l1_pat_read
    EXPECT "gpat l1 pat kept", rax, [l1_pat]
    ; L2's WRMSR PAT lands in G_PAT at #VMEXIT, not in L1's PAT.
    PREP l2_wrpat
    mov rax, PAT_GUEST
    mov VMCB_FIELD(VMCB_G_PAT), rax
    mov rax, PAT_L2_WRITE
    mov [l2_rbx], rax
    call svm_vmrun
    mov r12, PAT_L2_WRITE
    EXPECT "gpat l2 write saved", VMCB_FIELD(VMCB_G_PAT), r12
    call l1_pat_read
    EXPECT "gpat l2 write not in l1", rax, [l1_pat]
    call l1_pat_restore
    ; Without NP, G_PAT is ignored: a reserved type is no error and L2 uses L1's PAT.
    mov dword [svm_use_npt], 0
    PREP l2_rdpat
    mov byte [SVM_VMCB + VMCB_G_PAT], 0x02
    call svm_vmrun
    mov dword [svm_use_npt], 1
    EXPECT_EXIT "gpat ignored without np", EXIT_VMMCALL
    EXPECT "gpat no np l2 sees l1 pat", VMCB_FIELD(VMCB_RAX), [l1_pat]
    call l1_pat_restore

    ; ---- NPT edits and the TLB (APM 15.16: TLB_CONTROL, INVLPGA; spec 3.5, 5.3) -----------------
    ; L2 (ASID 1) writes PG_TLB; L1 then makes its NPT PTE read-only. TLB_CONTROL=1 flushes, so
    ; the next write must fault.
    PREP l2_write
    mov dword [SVM_VMCB + VMCB_TLB_CONTROL], 0
    mov qword [l2_rbx], PG_TLB
    call svm_vmrun
    EXPECT_EXIT "tlb warm write", EXIT_VMMCALL
    and qword [NPTE(PG_TLB)], ~PTE_RW
    PREP l2_write
    mov qword [l2_rbx], PG_TLB + 8
    call svm_vmrun
    NPF_CHECK "tlb_control 1 sees npt edit", NPF_FINAL | NPF_US | NPF_W | NPF_P, PG_TLB + 8
    ; INVLPGA of the page in ASID 1, then a run without a flush: not asserted (see header).
    TRY .invlpga_done
    mov eax, PG_TLB
    mov ecx, 1
    invlpga
.invlpga_done:
    ENDTRY
    EXPECT "invlpga completes", qword [exc_vec], 0xffffffffffffffff
    PREP l2_write
    mov dword [SVM_VMCB + VMCB_TLB_CONTROL], 0
    mov qword [l2_rbx], PG_TLB + 16
    call svm_vmrun
    ; FLUSHBYASID: TLB_CONTROL=3 flushes this guest's ASID, so the edit is seen there too.
    or qword [NPTE(PG_TLB)], PTE_RW
    PREP l2_write
    mov qword [l2_rbx], PG_TLB + 24
    call svm_vmrun
    EXPECT_EXIT "tlb rewarm write", EXIT_VMMCALL
    mov eax, 0x8000000a
    cpuid
    bt edx, 6
    jc .flushbyasid
    PRINTLN "tlb_control 3: skipped (no FLUSHBYASID)"
    jmp .tlb_done
.flushbyasid:
    and qword [NPTE(PG_TLB)], ~PTE_RW
    PREP l2_write
    mov dword [SVM_VMCB + VMCB_TLB_CONTROL], 3
    mov qword [l2_rbx], PG_TLB + 32
    call svm_vmrun
    NPF_CHECK "tlb_control 3 sees npt edit", NPF_FINAL | NPF_US | NPF_W | NPF_P, PG_TLB + 32
.tlb_done:
    call npt_build

    SVM_DONE

; ---- L1 helpers --------------------------------------------------------------------------------
bits 64
align 8
l1_pat:      dq 0
l2_rbx_init: dq 0                    ; rsvd_run: L2's RBX (for a data access), cleared after use

; l2_prep: rdx = L2's RIP. The default VMCB with nested paging, every exception intercepted.
l2_prep:
    call vmcb_ident
    mov dword [SVM_VMCB + VMCB_INTERCEPT_EXC], 0xffffffff
    mov [SVM_VMCB + VMCB_RIP], rdx
    ret

; vmcb_flat32: turn the prepared VMCB into flat 32-bit protected mode, paging off.
vmcb_flat32:
    mov dword [SVM_VMCB + VMCB_CS], SEL_KCODE32 | (0xc9b << 16)
    mov dword [SVM_VMCB + VMCB_DS], SEL_KDATA | (0xc93 << 16)
    mov dword [SVM_VMCB + VMCB_ES], SEL_KDATA | (0xc93 << 16)
    mov dword [SVM_VMCB + VMCB_SS], SEL_KDATA | (0xc93 << 16)
    mov qword [SVM_VMCB + VMCB_CR0], 0x11
    mov qword [SVM_VMCB + VMCB_CR4], 0
    mov qword [SVM_VMCB + VMCB_EFER], EFER_SVME
    ret

; vmcb_pae32: 32-bit protected mode with legacy PAE paging on L2_PAE_PDPT.
vmcb_pae32:
    call vmcb_flat32
    mov dword [SVM_VMCB + VMCB_CR0], 0x80000011
    mov qword [SVM_VMCB + VMCB_CR4], CR4_PAE
    mov qword [SVM_VMCB + VMCB_CR3], L2_PAE_PDPT
    ret

; l2_tables_build: L2's own 4-level table and legacy-PAE PDPT in TEST_AREA, mapping 0..4 GiB
; through L1's identity PDs (PT_PD); PML4E 1 -> L2_PDPT2, whose PDPTE 5 -> PT_PD.
l2_tables_build:
    push rax
    push rcx
    push rdi
    mov edi, L2_PML4
    mov ecx, 4 * 512
    xor eax, eax
    rep stosq
    mov qword [L2_PML4], L2_PDPT | 7
    mov qword [L2_PML4 + 8], L2_PDPT2 | 7
    mov qword [L2_PDPT2 + 5 * 8], PT_PD | 7
    xor ecx, ecx
.pdpt:
    mov eax, ecx
    shl eax, 12
    add eax, PT_PD
    lea rdi, [rax + 7]
    mov [L2_PDPT + rcx * 8], rdi
    lea rdi, [rax + 1]
    mov [L2_PAE_PDPT + rcx * 8], rdi
    inc ecx
    cmp ecx, 4
    jb .pdpt
    pop rdi
    pop rcx
    pop rax
    ret

; rsvd_run: rdi = NPT entry, rsi = bits to OR into it, rdx = L2's RIP, r8d = F_* flags (0x100: L2
; in flat 32-bit mode). Runs L2 once with the bits set and restores the entry, host EFER.NXE=1
; and host CR4.SMEP=0.
rsvd_run:
    push rax
    push rcx
    push rdx
    push r11
    mov r11, rdx
    mov ecx, MSR_EFER
    rdmsr
    and eax, ~EFER_NXE
    test r8d, F_HNX
    jz .efer
    or eax, EFER_NXE
.efer:
    wrmsr
    mov rax, cr4
    and eax, ~CR4_SMEP
    test r8d, F_HSMEP
    jz .cr4
    or eax, CR4_SMEP
.cr4:
    mov cr4, rax
    mov rdx, r11
    call l2_prep
    mov rax, [l2_rbx_init]
    mov [l2_rbx], rax
    mov qword [l2_rbx_init], 0
    test r8d, 0x100
    jz .paged
    call vmcb_flat32
.paged:
    and dword [SVM_VMCB + VMCB_EFER], ~EFER_NXE
    test r8d, F_GNX
    jz .gnx
    or dword [SVM_VMCB + VMCB_EFER], EFER_NXE
.gnx:
    and dword [SVM_VMCB + VMCB_CR4], ~CR4_SMEP
    test r8d, F_GSMEP
    jz .gsmep
    or dword [SVM_VMCB + VMCB_CR4], CR4_SMEP
.gsmep:
    mov r11, [rdi]
    or [rdi], rsi
    call svm_vmrun
    mov [rdi], r11
    mov rax, cr4
    and eax, ~CR4_SMEP
    mov cr4, rax
    mov ecx, MSR_EFER
    rdmsr
    or eax, EFER_NXE
    wrmsr
    pop r11
    pop rdx
    pop rcx
    pop rax
    ret

; l1_pat_read: rax = L1's PAT MSR.
l1_pat_read:
    push rcx
    push rdx
    mov ecx, MSR_PAT
    rdmsr
    shl rdx, 32
    or rax, rdx
    pop rdx
    pop rcx
    ret

; l1_pat_restore: L1's PAT back to its boot value (an emulator that lets L2 write it leaks it).
l1_pat_restore:
    push rax
    push rcx
    push rdx
    mov ecx, MSR_PAT
    mov eax, [l1_pat]
    mov edx, [l1_pat + 4]
    wrmsr
    pop rdx
    pop rcx
    pop rax
    ret

; check_exit3: rsi = name, r8/r9/r10 = wanted EXITCODE/EXITINFO1/EXITINFO2.
check_exit3:
    push rbx
    mov rbx, [svm_vmcb_pa]
    inc dword [svm_checks]
    cmp [rbx + VMCB_EXIT_CODE], r8
    jne .bad
    cmp [rbx + VMCB_EXIT_INFO1], r9
    jne .bad
    cmp [rbx + VMCB_EXIT_INFO2], r10
    jne .bad
    call puts64
    PRINT ": ok", 10
    pop rbx
    ret
.bad:
    inc dword [svm_failures]
    call puts64
    PRINT ": FAIL got="
    PRINT_HEX64 [rbx + VMCB_EXIT_CODE]
    PRINT_CHAR '/'
    PRINT_HEX64 [rbx + VMCB_EXIT_INFO1]
    PRINT_CHAR '/'
    PRINT_HEX64 [rbx + VMCB_EXIT_INFO2]
    PRINT " want="
    PRINT_HEX64 r8
    PRINT_CHAR '/'
    PRINT_HEX64 r9
    PRINT_CHAR '/'
    PRINT_HEX64 r10
    PRINT_CHAR 10
    pop rbx
    ret

; ---- L2 ------------------------------------------------------------------------------------
l2_vmmcall:
    vmmcall
l2_read:
    mov rax, [rbx]
    vmmcall
l2_write:
    mov [rbx], rcx
    vmmcall
l2_read_write:
    mov rax, [rbx]
    mov [rsi], rcx
    vmmcall
l2_rdpat:
    mov ecx, MSR_PAT
    rdmsr
    shl rdx, 32
    or rax, rdx
    vmmcall
l2_wrpat:
    mov ecx, MSR_PAT
    mov rax, rbx
    mov rdx, rbx
    shr rdx, 32
    wrmsr
    vmmcall
bits 32
l2_32_vmmcall:
    vmmcall
l2_32_read:
    mov eax, [ebx]
    vmmcall
l2_32_write:
    mov [ebx], ecx
    vmmcall
bits 64
