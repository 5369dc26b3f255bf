// The vCPU's architectural state as plain data: registers, segment caches, control registers,
// MSRs, flags, interrupt shadow and pending events. No behaviour beyond derived-field updates.
#pragma once

#include <array>
#include <cstdint>

#include "arch/control_regs.h"
#include "cpu/state/lazy_flags.h"
#include "cpu/state/segment.h"
#include "cpu/state/svm_state.h"

namespace vx86::cpu {

// Register file indices. RIP lives beside the GPRs so effective-address arithmetic can name it as
// a base register (RIP-relative addressing); kZeroReg always reads zero (no base / no index).
enum Gpr : uint8_t {
    RAX = 0, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8, R9, R10, R11, R12, R13, R14, R15,
    kRipReg = 16,
    kZeroReg = 17,
    kNumRegSlots = 18,
};

enum class CpuMode : uint8_t { Real, Protected, Virtual8086, Compatibility, Long64 };

// Interrupt shadow sources (APM Vol 2, 8.5 "Interrupt Shadow"): STI and MOV SS/POP SS.
namespace Shadow {
constexpr uint8_t STI = 1, MOV_SS = 2;
}

struct Msrs {
    uint64_t tsc_offset = 0;  // guest TSC = instructions retired + tsc_offset
    uint64_t apic_base = 0;
    uint64_t star = 0, lstar = 0, cstar = 0, sfmask = 0;
    uint64_t kernel_gs_base = 0;
    uint64_t sysenter_cs = 0, sysenter_esp = 0, sysenter_eip = 0;
    uint64_t pat = 0;
    uint64_t mtrr_def_type = 0;
    std::array<uint64_t, 16> mtrr_var{};   // PHYSBASE0, PHYSMASK0, ... PHYSMASK7
    std::array<uint64_t, 11> mtrr_fixed{};
    uint64_t tsc_aux = 0;
    uint64_t mcg_status = 0;
    uint64_t vm_cr = 0;
    uint64_t vm_hsave_pa = 0;
    bool operator==(const Msrs&) const = default;
};

// Not an architectural vector: an access reached guest-physical memory nobody backs and the
// embedder asked to see such accesses (an MMIO exit). The instruction restarts when resumed.
constexpr uint8_t kMmioExitVector = 0xff;
// Not an architectural vector: a nested page fault (APM Vol 2, 15.25.6) while L2 runs with nested
// paging. Fault::npf_info holds EXITINFO1 and Fault::cr2 the faulting guest-physical address.
constexpr uint8_t kNpfVector = 0xfe;

// A fault raised while executing an instruction, handed from the handler to event delivery.
struct Fault {
    uint8_t vector = 0;
    bool has_error = false;
    uint32_t error = 0;
    uint64_t cr2 = 0;  // for #PF; the guest-physical address for kNpfVector
    uint64_t npf_info = 0;  // kNpfVector: EXITINFO1 (arch::NpfInfo bits)
};

// SMM bookkeeping kept in the vCPU, not in SMRAM (seed 001): migrated with the vCPU events.
struct SmmState {
    bool in_smm = false;
    bool smi_pending = false;     // one latched SMI (APM Vol 2, 10.3.1)
    bool inside_nmi = false;      // SMM was entered with NMIs already blocked
    bool init_latched = false;    // INIT received while in SMM, delivered after RSM
    uint8_t saved_shadow = 0;     // interrupt shadow of the interrupted code, restored by RSM
    uint64_t smbase = 0x30000;    // IA32_SMBASE (reset value; kept across INIT)
    uint64_t smi_count = 0;       // MSR_SMI_COUNT (0x34)
    bool operator==(const SmmState&) const = default;
};

struct CpuState {
    std::array<uint64_t, kNumRegSlots> gpr{};
    uint64_t rflags = arch::Rflags::FIXED1;  // status flags valid only when lf.op == None
    LazyFlags lf;

    std::array<Segment, kNumSegRegs> seg{};
    Segment ldtr, tr;
    DescriptorTable gdtr, idtr;
    uint64_t cr0 = 0, cr2 = 0, cr3 = 0, cr4 = 0, cr8 = 0, efer = 0;
    std::array<uint64_t, 8> dr{};
    Msrs msr;

    uint8_t interrupt_shadow = 0;  // Shadow:: bits; blocks interrupts for one instruction
    bool halted = false;
    bool nmi_blocked = false;      // between NMI delivery and the next IRET
    bool nmi_pending = false;
    bool db_trap_pending = false;  // single-step #DB owed after an instruction that exited
    SmmState smm;
    SvmState svm;
    uint64_t icount = 0;           // instructions retired
    bool block_break = false;      // stop the current block after this instruction (SMC, exits)

    // Derived from the above by update_mode(); never set directly.
    CpuMode mode = CpuMode::Real;
    uint8_t cpl = 0;
    uint8_t code_size = 2;     // default operand/address size of CS: 2, 4 or 8
    uint64_t sp_mask = 0xffff; // SS.B-derived stack pointer width
    uint64_t la_mask = 0xffffffff;
    std::array<SegCheck, kNumSegRegs> segc{};

    Fault fault;  // valid when a handler returns ExecStatus::Fault

    uint64_t& rip() { return gpr[kRipReg]; }
    uint64_t rip() const { return gpr[kRipReg]; }

    uint64_t get_rflags() const { return materialize_rflags(lf, rflags); }
    void set_rflags(uint64_t v) {
        rflags = (v & arch::Rflags::SUPPORTED) | arch::Rflags::FIXED1;
        lf.op = FlagOp::None;
    }
    bool flag(uint64_t bit) const { return get_rflags() & bit; }

    bool long_mode() const { return efer & arch::Efer::LMA; }
    bool protected_mode() const { return cr0 & arch::Cr0::PE; }
    bool paging() const { return cr0 & arch::Cr0::PG; }
    bool in_64bit_code() const { return mode == CpuMode::Long64; }
    uint8_t iopl() const { return (rflags >> arch::Rflags::IOPL_SHIFT) & 3; }

    // Recompute mode, CPL, default sizes and segment check bounds after CR0/EFER/CS/SS/RFLAGS.VM
    // or any segment register changed.
    void update_mode();
    void update_segment_checks();
    // Architectural power-on state (APM Vol 2, 14.1.3 "Processor Initialization State").
    void reset();
};

}  // namespace vx86::cpu
