// The SMRAM state-save area at SMBASE + 0xFE00: one union of the AMD64 64-bit layout, the 32-bit
// (P6-derived) layout and its 512 raw bytes, with every field's offset checked at compile time.
#pragma once

#include <cstddef>
#include <cstdint>

namespace vx86::arch {

constexpr uint64_t kSmramSaveOffset = 0xfe00;  // save area: SMBASE + 0xFE00 .. SMBASE + 0xFFFF
constexpr uint64_t kSmmEntryOffset = 0x8000;   // first instruction: SMBASE + 0x8000
constexpr uint64_t kSmbaseReset = 0x30000;
constexpr uint32_t kSmmRevision64 = 0x00020064;  // AMD64 format, SMBASE relocation (bit 17)
constexpr uint32_t kSmmRevision32 = 0x00020000;
constexpr uint8_t kAutoHaltRestart = 1;          // bit 0: SMI interrupted HLT

// 64-bit segment record (APM Vol 2, Table 10-2): the attribute word of the descriptor (G at bit
// 15), not the 12-bit VMCB packing.
struct SmramSegment64 {
    uint16_t selector;
    uint16_t attributes;
    uint32_t limit;
    uint64_t base;
};
static_assert(sizeof(SmramSegment64) == 16);

// 32-bit segment record: attributes in descriptor-high-dword positions (type at bit 8 ... G at
// bit 23), i.e. the VMCB packing shifted left by 8.
struct SmramSegment32 {
    uint32_t flags;
    uint32_t limit;
    uint32_t base;
};
static_assert(sizeof(SmramSegment32) == 12);

// AMD64 state-save format, revision 0x00020064 (APM Vol 2, Table 10-2 "AMD64 Architecture SMM State-Save Area").
struct SmramState64 {
    SmramSegment64 es, cs, ss, ds, fs, gs;  // FE00
    SmramSegment64 gdtr;                    // FE60: limit and base only
    SmramSegment64 ldtr;                    // FE70
    SmramSegment64 idtr;                    // FE80: limit and base only
    SmramSegment64 tr;                      // FE90
    uint64_t io_restart_rip;                // FEA0
    uint64_t io_restart_rcx;
    uint64_t io_restart_rsi;
    uint64_t io_restart_rdi;
    uint32_t io_restart_dword;              // FEC0
    uint32_t reserved1;
    uint8_t io_inst_restart;                // FEC8
    uint8_t auto_hlt_restart;               // FEC9
    uint8_t nmi_mask;                       // FECA
    uint8_t reserved2[5];                   // FECB (KVM keeps its interrupt shadow here; vx86 does not)
    uint64_t efer;                          // FED0
    uint64_t svm_guest_flag;                // FED8
    uint64_t svm_guest_vmcb_gpa;            // FEE0
    uint64_t svm_guest_virtual_int;         // FEE8
    uint32_t reserved3[3];                  // FEF0
    uint32_t smm_revision;                  // FEFC
    uint32_t smbase;                        // FF00
    uint32_t reserved4[5];
    uint64_t ssp;                           // FF18
    uint64_t svm_guest_pat;                 // FF20
    uint64_t svm_host_efer;
    uint64_t svm_host_cr4;
    uint64_t svm_host_cr3;
    uint64_t svm_host_cr0;
    uint64_t cr4;                           // FF48
    uint64_t cr3;
    uint64_t cr0;
    uint64_t dr7;
    uint64_t dr6;
    uint64_t rflags;
    uint64_t rip;                           // FF78
    uint64_t gprs[16];                      // FF80: R15 first ... RAX last (register n at FFF8 - 8n)
};

// 32-bit state-save format, revision 0x00020000 (Intel SDM Vol 3, Table 34-1, P6 layout).
struct SmramState32 {
    uint32_t reserved1[62];                 // FE00
    uint32_t smbase;                        // FEF8
    uint32_t smm_revision;                  // FEFC
    uint16_t io_inst_restart;               // FF00
    uint16_t auto_hlt_restart;              // FF02
    uint32_t io_restart_rdi;
    uint32_t io_restart_rcx;
    uint32_t io_restart_rsi;
    uint32_t io_restart_rip;
    uint32_t cr4;                           // FF14
    uint16_t reserved2;
    uint8_t reserved_shadow;                // FF1A (KVM's interrupt-shadow byte; reserved in vx86)
    uint8_t reserved3[17];
    SmramSegment32 ds, fs, gs;              // FF2C
    SmramSegment32 idtr;                    // FF50
    SmramSegment32 tr;                      // FF5C
    uint32_t reserved4;
    SmramSegment32 gdtr;                    // FF6C
    SmramSegment32 ldtr;                    // FF78
    SmramSegment32 es, cs, ss;              // FF84
    uint32_t es_sel, cs_sel, ss_sel, ds_sel, fs_sel, gs_sel, ldtr_sel, tr_sel;  // FFA8
    uint32_t dr7;                           // FFC8
    uint32_t dr6;
    uint32_t gprs[8];                       // FFD0: EAX, ECX, EDX, EBX, ESP, EBP, ESI, EDI
    uint32_t eip;                           // FFF0
    uint32_t eflags;
    uint32_t cr3;
    uint32_t cr0;
};

// The area is written as one whole (zeroed, then one layout filled) and read as one whole (512
// bytes copied in, which in C++20 implicitly begins the lifetime of the member then read).
union SmramStateSave {
    SmramState64 s64;
    SmramState32 s32;
    uint8_t bytes[512];
};

static_assert(sizeof(SmramState64) == 512 && sizeof(SmramState32) == 512);
static_assert(sizeof(SmramStateSave) == 512);

// Every field at its manual offset (SMBASE + 0xFExx - 0xFE00).
#define VX86_SMRAM_AT(type, field, smbase_offset) \
    static_assert(offsetof(type, field) == (smbase_offset) - 0xfe00, #field)
VX86_SMRAM_AT(SmramState64, es, 0xfe00);
VX86_SMRAM_AT(SmramState64, cs, 0xfe10);
VX86_SMRAM_AT(SmramState64, ss, 0xfe20);
VX86_SMRAM_AT(SmramState64, ds, 0xfe30);
VX86_SMRAM_AT(SmramState64, fs, 0xfe40);
VX86_SMRAM_AT(SmramState64, gs, 0xfe50);
VX86_SMRAM_AT(SmramState64, gdtr, 0xfe60);
VX86_SMRAM_AT(SmramState64, ldtr, 0xfe70);
VX86_SMRAM_AT(SmramState64, idtr, 0xfe80);
VX86_SMRAM_AT(SmramState64, tr, 0xfe90);
VX86_SMRAM_AT(SmramState64, io_restart_rip, 0xfea0);
VX86_SMRAM_AT(SmramState64, io_restart_rcx, 0xfea8);
VX86_SMRAM_AT(SmramState64, io_restart_rsi, 0xfeb0);
VX86_SMRAM_AT(SmramState64, io_restart_rdi, 0xfeb8);
VX86_SMRAM_AT(SmramState64, io_restart_dword, 0xfec0);
VX86_SMRAM_AT(SmramState64, reserved1, 0xfec4);
VX86_SMRAM_AT(SmramState64, io_inst_restart, 0xfec8);
VX86_SMRAM_AT(SmramState64, auto_hlt_restart, 0xfec9);
VX86_SMRAM_AT(SmramState64, nmi_mask, 0xfeca);
VX86_SMRAM_AT(SmramState64, reserved2, 0xfecb);
VX86_SMRAM_AT(SmramState64, efer, 0xfed0);
VX86_SMRAM_AT(SmramState64, svm_guest_flag, 0xfed8);
VX86_SMRAM_AT(SmramState64, svm_guest_vmcb_gpa, 0xfee0);
VX86_SMRAM_AT(SmramState64, svm_guest_virtual_int, 0xfee8);
VX86_SMRAM_AT(SmramState64, reserved3, 0xfef0);
VX86_SMRAM_AT(SmramState64, smm_revision, 0xfefc);
VX86_SMRAM_AT(SmramState64, smbase, 0xff00);
VX86_SMRAM_AT(SmramState64, reserved4, 0xff04);
VX86_SMRAM_AT(SmramState64, ssp, 0xff18);
VX86_SMRAM_AT(SmramState64, svm_guest_pat, 0xff20);
VX86_SMRAM_AT(SmramState64, svm_host_efer, 0xff28);
VX86_SMRAM_AT(SmramState64, svm_host_cr4, 0xff30);
VX86_SMRAM_AT(SmramState64, svm_host_cr3, 0xff38);
VX86_SMRAM_AT(SmramState64, svm_host_cr0, 0xff40);
VX86_SMRAM_AT(SmramState64, cr4, 0xff48);
VX86_SMRAM_AT(SmramState64, cr3, 0xff50);
VX86_SMRAM_AT(SmramState64, cr0, 0xff58);
VX86_SMRAM_AT(SmramState64, dr7, 0xff60);
VX86_SMRAM_AT(SmramState64, dr6, 0xff68);
VX86_SMRAM_AT(SmramState64, rflags, 0xff70);
VX86_SMRAM_AT(SmramState64, rip, 0xff78);
VX86_SMRAM_AT(SmramState64, gprs, 0xff80);

VX86_SMRAM_AT(SmramState32, reserved1, 0xfe00);
VX86_SMRAM_AT(SmramState32, smbase, 0xfef8);
VX86_SMRAM_AT(SmramState32, smm_revision, 0xfefc);
VX86_SMRAM_AT(SmramState32, io_inst_restart, 0xff00);
VX86_SMRAM_AT(SmramState32, auto_hlt_restart, 0xff02);
VX86_SMRAM_AT(SmramState32, io_restart_rdi, 0xff04);
VX86_SMRAM_AT(SmramState32, io_restart_rcx, 0xff08);
VX86_SMRAM_AT(SmramState32, io_restart_rsi, 0xff0c);
VX86_SMRAM_AT(SmramState32, io_restart_rip, 0xff10);
VX86_SMRAM_AT(SmramState32, cr4, 0xff14);
VX86_SMRAM_AT(SmramState32, reserved2, 0xff18);
VX86_SMRAM_AT(SmramState32, reserved_shadow, 0xff1a);
VX86_SMRAM_AT(SmramState32, reserved3, 0xff1b);
VX86_SMRAM_AT(SmramState32, ds, 0xff2c);
VX86_SMRAM_AT(SmramState32, fs, 0xff38);
VX86_SMRAM_AT(SmramState32, gs, 0xff44);
VX86_SMRAM_AT(SmramState32, idtr, 0xff50);
VX86_SMRAM_AT(SmramState32, tr, 0xff5c);
VX86_SMRAM_AT(SmramState32, reserved4, 0xff68);
VX86_SMRAM_AT(SmramState32, gdtr, 0xff6c);
VX86_SMRAM_AT(SmramState32, ldtr, 0xff78);
VX86_SMRAM_AT(SmramState32, es, 0xff84);
VX86_SMRAM_AT(SmramState32, cs, 0xff90);
VX86_SMRAM_AT(SmramState32, ss, 0xff9c);
VX86_SMRAM_AT(SmramState32, es_sel, 0xffa8);
VX86_SMRAM_AT(SmramState32, cs_sel, 0xffac);
VX86_SMRAM_AT(SmramState32, ss_sel, 0xffb0);
VX86_SMRAM_AT(SmramState32, ds_sel, 0xffb4);
VX86_SMRAM_AT(SmramState32, fs_sel, 0xffb8);
VX86_SMRAM_AT(SmramState32, gs_sel, 0xffbc);
VX86_SMRAM_AT(SmramState32, ldtr_sel, 0xffc0);
VX86_SMRAM_AT(SmramState32, tr_sel, 0xffc4);
VX86_SMRAM_AT(SmramState32, dr7, 0xffc8);
VX86_SMRAM_AT(SmramState32, dr6, 0xffcc);
VX86_SMRAM_AT(SmramState32, gprs, 0xffd0);
VX86_SMRAM_AT(SmramState32, eip, 0xfff0);
VX86_SMRAM_AT(SmramState32, eflags, 0xfff4);
VX86_SMRAM_AT(SmramState32, cr3, 0xfff8);
VX86_SMRAM_AT(SmramState32, cr0, 0xfffc);
#undef VX86_SMRAM_AT

// Attribute packings. The save maps keep the descriptor's high-dword attribute bits: the 64-bit
// map as a word (bits 0-7 type/S/DPL/P, 12-15 AVL/L/D/G; KVM and QEMU agree), the 32-bit map in
// place (type at bit 8 ... G at bit 23). The CPU state uses the 12-bit VMCB packing (AVL..G in
// bits 8-11, APM Vol 2, 15.5.1 "VMCB Layout").
constexpr uint16_t smram_attr_from_vmcb(uint16_t a) {
    return static_cast<uint16_t>((a & 0xff) | ((a & 0xf00) << 4));
}
constexpr uint16_t vmcb_attr_from_smram(uint16_t a) {
    return static_cast<uint16_t>((a & 0xff) | ((a >> 4) & 0xf00));
}
constexpr uint32_t smram32_flags_from_vmcb(uint16_t a) { return uint32_t{smram_attr_from_vmcb(a)} << 8; }
constexpr uint16_t vmcb_attr_from_smram32(uint32_t flags) {
    return vmcb_attr_from_smram(static_cast<uint16_t>((flags >> 8) & 0xf0ff));
}
static_assert(smram_attr_from_vmcb(0x893) == 0x8093 && vmcb_attr_from_smram(0x8093) == 0x893);

}  // namespace vx86::arch
