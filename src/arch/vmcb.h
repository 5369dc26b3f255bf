// The SVM virtual machine control block: one 4 KiB page, control area at 0x000-0x3FF and the
// legacy save area from 0x400 (APM Vol 2, Appendix B "Layout of VMCB"), with every offset checked.
#pragma once

#include <cstddef>
#include <cstdint>

namespace vx86::arch {

// A segment register in the VMCB: attrib uses the 12-bit packing (type/S/DPL/P in bits 7:0,
// AVL/L/D/G in bits 11:8), the limit is byte-granular.
struct VmcbSegment {
    uint16_t selector;
    uint16_t attrib;
    uint32_t limit;
    uint64_t base;
};
static_assert(sizeof(VmcbSegment) == 16);

// Control area (APM Vol 2, Table B-1).
struct VmcbControl {
    uint16_t intercept_cr_read;     // 000: bit n = CRn
    uint16_t intercept_cr_write;    // 002
    uint16_t intercept_dr_read;     // 004
    uint16_t intercept_dr_write;    // 006
    uint32_t intercept_exceptions;  // 008: bit n = vector n
    uint32_t intercept_misc1;       // 00C: exit code 0x60 + bit (INTR ... SHUTDOWN)
    uint32_t intercept_misc2;       // 010: exit code 0x80 + bit (VMRUN ... CRn write traps)
    uint32_t intercept_misc3;       // 014: exit code 0xA0 + bit (INVLPGB ...)
    uint8_t reserved1[0x3c - 0x18];
    uint16_t pause_filter_threshold;  // 03C
    uint16_t pause_filter_count;      // 03E
    uint64_t iopm_base_pa;            // 040
    uint64_t msrpm_base_pa;           // 048
    uint64_t tsc_offset;              // 050
    uint32_t guest_asid;              // 058
    uint8_t tlb_control;              // 05C
    uint8_t reserved2[3];
    uint32_t int_ctl;                 // 060: V_TPR, V_IRQ, V_GIF, V_INTR_PRIO, V_INTR_MASKING ...
    uint32_t int_vector;              // 064
    uint64_t int_state;               // 068: bit 0 interrupt shadow, bit 1 guest RFLAGS.IF
    uint64_t exit_code;               // 070: VMEXIT_INVALID is all ones
    uint64_t exit_info_1;             // 078
    uint64_t exit_info_2;             // 080
    uint32_t exit_int_info;           // 088: event-injection format
    uint32_t exit_int_info_err;       // 08C
    uint64_t nested_ctl;              // 090: bit 0 NP_ENABLE
    uint64_t avic_apic_bar;           // 098
    uint64_t ghcb_gpa;                // 0A0
    uint32_t event_inj;               // 0A8
    uint32_t event_inj_err;           // 0AC
    uint64_t n_cr3;                   // 0B0
    uint64_t virt_ext;                // 0B8: LBR virtualization, virtual VMLOAD/VMSAVE
    uint32_t clean;                   // 0C0: VMCB clean bits
    uint32_t reserved3;
    uint64_t next_rip;                // 0C8: nRIP (NRIPS)
    uint8_t insn_len;                 // 0D0: bytes fetched (decode assists)
    uint8_t insn_bytes[15];           // 0D1
    uint64_t avic_backing_page;       // 0E0
    uint8_t reserved4[8];
    uint64_t avic_logical_id;         // 0F0
    uint64_t avic_physical_id;        // 0F8
    uint8_t reserved5[8];
    uint64_t vmsa_pa;                 // 108
    uint8_t reserved6[0x3e0 - 0x110];
    uint8_t reserved_sw[32];          // 3E0: for software (hypervisors); never interpreted
};
static_assert(sizeof(VmcbControl) == 0x400);

// Legacy save area (APM Vol 2, Table B-2), at VMCB + 0x400.
struct VmcbSave {
    VmcbSegment es, cs, ss, ds, fs, gs;  // 400
    VmcbSegment gdtr;                    // 460: limit and base only
    VmcbSegment ldtr;                    // 470
    VmcbSegment idtr;                    // 480: limit and base only
    VmcbSegment tr;                      // 490
    uint8_t reserved1[0x4ca - 0x4a0];
    uint8_t vmpl;                        // 4CA
    uint8_t cpl;                         // 4CB
    uint32_t reserved2;
    uint64_t efer;                       // 4D0
    uint8_t reserved3[0x548 - 0x4d8];
    uint64_t cr4;                        // 548
    uint64_t cr3;                        // 550
    uint64_t cr0;                        // 558
    uint64_t dr7;                        // 560
    uint64_t dr6;                        // 568
    uint64_t rflags;                     // 570
    uint64_t rip;                        // 578
    uint8_t reserved4[0x5d8 - 0x580];
    uint64_t rsp;                        // 5D8
    uint64_t s_cet;                      // 5E0
    uint64_t ssp;                        // 5E8
    uint64_t isst_addr;                  // 5F0
    uint64_t rax;                        // 5F8
    uint64_t star;                       // 600
    uint64_t lstar;                      // 608
    uint64_t cstar;                      // 610
    uint64_t sfmask;                     // 618
    uint64_t kernel_gs_base;             // 620
    uint64_t sysenter_cs;                // 628
    uint64_t sysenter_esp;               // 630
    uint64_t sysenter_eip;               // 638
    uint64_t cr2;                        // 640
    uint8_t reserved5[0x668 - 0x648];
    uint64_t g_pat;                      // 668: used only with nested paging
    uint64_t dbgctl;                     // 670
    uint64_t br_from;                    // 678
    uint64_t br_to;                      // 680
    uint64_t last_excp_from;             // 688
    uint64_t last_excp_to;               // 690
    uint8_t reserved6[0x6e0 - 0x698];
    uint64_t spec_ctrl;                  // 6E0
};
constexpr size_t kVmcbSaveLegacySize = 0x6e8 - 0x400;  // 744 bytes
static_assert(sizeof(VmcbSave) == kVmcbSaveLegacySize);

struct Vmcb {
    VmcbControl control;
    VmcbSave save;
    uint8_t reserved[0x1000 - 0x400 - kVmcbSaveLegacySize];
};
static_assert(sizeof(Vmcb) == 0x1000);

// Every field at its manual offset from the VMCB base.
#define VX86_VMCB_AT(member, off) static_assert(offsetof(Vmcb, member) == (off), #member)
VX86_VMCB_AT(control.intercept_cr_read, 0x000);
VX86_VMCB_AT(control.intercept_cr_write, 0x002);
VX86_VMCB_AT(control.intercept_dr_read, 0x004);
VX86_VMCB_AT(control.intercept_dr_write, 0x006);
VX86_VMCB_AT(control.intercept_exceptions, 0x008);
VX86_VMCB_AT(control.intercept_misc1, 0x00c);
VX86_VMCB_AT(control.intercept_misc2, 0x010);
VX86_VMCB_AT(control.intercept_misc3, 0x014);
VX86_VMCB_AT(control.pause_filter_threshold, 0x03c);
VX86_VMCB_AT(control.pause_filter_count, 0x03e);
VX86_VMCB_AT(control.iopm_base_pa, 0x040);
VX86_VMCB_AT(control.msrpm_base_pa, 0x048);
VX86_VMCB_AT(control.tsc_offset, 0x050);
VX86_VMCB_AT(control.guest_asid, 0x058);
VX86_VMCB_AT(control.tlb_control, 0x05c);
VX86_VMCB_AT(control.int_ctl, 0x060);
VX86_VMCB_AT(control.int_vector, 0x064);
VX86_VMCB_AT(control.int_state, 0x068);
VX86_VMCB_AT(control.exit_code, 0x070);
VX86_VMCB_AT(control.exit_info_1, 0x078);
VX86_VMCB_AT(control.exit_info_2, 0x080);
VX86_VMCB_AT(control.exit_int_info, 0x088);
VX86_VMCB_AT(control.exit_int_info_err, 0x08c);
VX86_VMCB_AT(control.nested_ctl, 0x090);
VX86_VMCB_AT(control.avic_apic_bar, 0x098);
VX86_VMCB_AT(control.ghcb_gpa, 0x0a0);
VX86_VMCB_AT(control.event_inj, 0x0a8);
VX86_VMCB_AT(control.event_inj_err, 0x0ac);
VX86_VMCB_AT(control.n_cr3, 0x0b0);
VX86_VMCB_AT(control.virt_ext, 0x0b8);
VX86_VMCB_AT(control.clean, 0x0c0);
VX86_VMCB_AT(control.next_rip, 0x0c8);
VX86_VMCB_AT(control.insn_len, 0x0d0);
VX86_VMCB_AT(control.insn_bytes, 0x0d1);
VX86_VMCB_AT(control.avic_backing_page, 0x0e0);
VX86_VMCB_AT(control.avic_logical_id, 0x0f0);
VX86_VMCB_AT(control.avic_physical_id, 0x0f8);
VX86_VMCB_AT(control.vmsa_pa, 0x108);
VX86_VMCB_AT(control.reserved_sw, 0x3e0);
VX86_VMCB_AT(save, 0x400);
VX86_VMCB_AT(save.es, 0x400);
VX86_VMCB_AT(save.cs, 0x410);
VX86_VMCB_AT(save.ss, 0x420);
VX86_VMCB_AT(save.ds, 0x430);
VX86_VMCB_AT(save.fs, 0x440);
VX86_VMCB_AT(save.gs, 0x450);
VX86_VMCB_AT(save.gdtr, 0x460);
VX86_VMCB_AT(save.gdtr.limit, 0x464);
VX86_VMCB_AT(save.gdtr.base, 0x468);
VX86_VMCB_AT(save.ldtr, 0x470);
VX86_VMCB_AT(save.idtr, 0x480);
VX86_VMCB_AT(save.idtr.limit, 0x484);
VX86_VMCB_AT(save.idtr.base, 0x488);
VX86_VMCB_AT(save.tr, 0x490);
VX86_VMCB_AT(save.vmpl, 0x4ca);
VX86_VMCB_AT(save.cpl, 0x4cb);
VX86_VMCB_AT(save.efer, 0x4d0);
VX86_VMCB_AT(save.cr4, 0x548);
VX86_VMCB_AT(save.cr3, 0x550);
VX86_VMCB_AT(save.cr0, 0x558);
VX86_VMCB_AT(save.dr7, 0x560);
VX86_VMCB_AT(save.dr6, 0x568);
VX86_VMCB_AT(save.rflags, 0x570);
VX86_VMCB_AT(save.rip, 0x578);
VX86_VMCB_AT(save.rsp, 0x5d8);
VX86_VMCB_AT(save.s_cet, 0x5e0);
VX86_VMCB_AT(save.ssp, 0x5e8);
VX86_VMCB_AT(save.isst_addr, 0x5f0);
VX86_VMCB_AT(save.rax, 0x5f8);
VX86_VMCB_AT(save.star, 0x600);
VX86_VMCB_AT(save.lstar, 0x608);
VX86_VMCB_AT(save.cstar, 0x610);
VX86_VMCB_AT(save.sfmask, 0x618);
VX86_VMCB_AT(save.kernel_gs_base, 0x620);
VX86_VMCB_AT(save.sysenter_cs, 0x628);
VX86_VMCB_AT(save.sysenter_esp, 0x630);
VX86_VMCB_AT(save.sysenter_eip, 0x638);
VX86_VMCB_AT(save.cr2, 0x640);
VX86_VMCB_AT(save.g_pat, 0x668);
VX86_VMCB_AT(save.dbgctl, 0x670);
VX86_VMCB_AT(save.br_from, 0x678);
VX86_VMCB_AT(save.br_to, 0x680);
VX86_VMCB_AT(save.last_excp_from, 0x688);
VX86_VMCB_AT(save.last_excp_to, 0x690);
VX86_VMCB_AT(save.spec_ctrl, 0x6e0);
#undef VX86_VMCB_AT

// int_ctl (VMCB + 0x060) fields.
namespace IntCtl {
constexpr uint32_t V_TPR_MASK = 0xf, V_IRQ = 1u << 8, V_GIF = 1u << 9, V_NMI_PENDING = 1u << 11,
                   V_NMI_BLOCKING = 1u << 12, V_INTR_PRIO_SHIFT = 16, V_INTR_PRIO_MASK = 0xfu << 16,
                   V_IGN_TPR = 1u << 20, V_INTR_MASKING = 1u << 24, V_GIF_ENABLE = 1u << 25,
                   V_NMI_ENABLE = 1u << 26;
}

// EVENTINJ / EXITINTINFO (VMCB + 0x0A8 / 0x088): vector, type, error-code valid, valid.
namespace EventInj {
constexpr uint32_t VECTOR_MASK = 0xff, TYPE_SHIFT = 8, TYPE_MASK = 7u << 8, EV = 1u << 11,
                   V = 1u << 31;
constexpr uint32_t TYPE_INTR = 0, TYPE_NMI = 2, TYPE_EXCEPTION = 3, TYPE_SOFT_INT = 4;
}

// Intercept word 3 (VMCB + 0x00C): bit b gives exit code 0x60 + b.
namespace InterceptMisc1 {
constexpr uint32_t INTR = 1u << 0, NMI = 1u << 1, SMI = 1u << 2, INIT = 1u << 3, VINTR = 1u << 4,
                   CR0_SEL_WRITE = 1u << 5, IDTR_READ = 1u << 6, GDTR_READ = 1u << 7,
                   LDTR_READ = 1u << 8, TR_READ = 1u << 9, IDTR_WRITE = 1u << 10,
                   GDTR_WRITE = 1u << 11, LDTR_WRITE = 1u << 12, TR_WRITE = 1u << 13,
                   RDTSC = 1u << 14, RDPMC = 1u << 15, PUSHF = 1u << 16, POPF = 1u << 17,
                   CPUID = 1u << 18, RSM = 1u << 19, IRET = 1u << 20, INTN = 1u << 21,
                   INVD = 1u << 22, PAUSE = 1u << 23, HLT = 1u << 24, INVLPG = 1u << 25,
                   INVLPGA = 1u << 26, IOIO_PROT = 1u << 27, MSR_PROT = 1u << 28,
                   TASK_SWITCH = 1u << 29, FERR_FREEZE = 1u << 30, SHUTDOWN = 1u << 31;
}

// Intercept word 4 (VMCB + 0x010): bit b gives exit code 0x80 + b.
namespace InterceptMisc2 {
constexpr uint32_t VMRUN = 1u << 0, VMMCALL = 1u << 1, VMLOAD = 1u << 2, VMSAVE = 1u << 3,
                   STGI = 1u << 4, CLGI = 1u << 5, SKINIT = 1u << 6, RDTSCP = 1u << 7,
                   ICEBP = 1u << 8, WBINVD = 1u << 9, MONITOR = 1u << 10, MWAIT = 1u << 11,
                   MWAIT_ARMED = 1u << 12, XSETBV = 1u << 13, RDPRU = 1u << 14;
}

// IOIO EXITINFO1 (APM Vol 2, 15.10.2 "IN and OUT Behavior"): bits 31:16 the port.
namespace IoioInfo {
constexpr uint64_t TYPE_IN = 1u << 0, STR = 1u << 2, REP = 1u << 3, SZ8 = 1u << 4, SZ16 = 1u << 5,
                   SZ32 = 1u << 6, A16 = 1u << 7, A32 = 1u << 8, A64 = 1u << 9, PORT_SHIFT = 16;
}

// Nested page fault EXITINFO1 (15.25.6): a #PF-style error code plus where the walk failed.
namespace NpfInfo {
constexpr uint64_t P = 1u << 0, RW = 1u << 1, US = 1u << 2, RSV = 1u << 3, ID = 1u << 4,
                   FINAL_GPA = 1ull << 32, TABLE_WALK = 1ull << 33;
}

constexpr uint64_t kNestedCtlNpEnable = 1;

}  // namespace vx86::arch
