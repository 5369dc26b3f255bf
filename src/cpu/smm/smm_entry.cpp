// SMI entry: save the interrupted state into SMRAM through the save-area union, run the vendor
// hook, switch the CPU to the SMM address space and load the architectural entry state.
#include <cstring>

#include "cpu/smm/smm.h"

namespace vx86::cpu {

using namespace arch;

SmmStatus Smm::enter(Cpu& c) {
    CpuState& s = c.s;
    // Value-initialising the layout in use zeroes all 512 bytes (neither layout has padding), so
    // unused and reserved fields read as zero.
    SmramStateSave area;
    if (uses_64bit_map(c)) {
        area.s64 = SmramState64{};
        save_state_64(s, area.s64);
    } else {
        area.s32 = SmramState32{};
        save_state_32(s, area.s32);
    }
    // The vendor hook runs before the switch to SMRAM (it may leave guest mode and rewrite state).
    if (m_hooks && !m_hooks->enter_smm(c, area)) return SmmStatus::Shutdown;

    s.smm.in_smm = true;
    c.mmu.set_address_space(1);
    // A save area that lands where no memory answers is lost, as on hardware; the handler then
    // runs from whatever the bus returns.
    uint8_t bytes[sizeof area];
    std::memcpy(bytes, &area, sizeof bytes);
    (void)c.mmu.memory().write(1, s.smm.smbase + kSmramSaveOffset, bytes);

    // NMIs are blocked in SMM; remember whether they already were (SMI inside an NMI handler),
    // so RSM does not unblock them early (as KVM and QEMU; SDM 34.8 "NMI Handling While in SMM").
    if (s.nmi_blocked) s.smm.inside_nmi = true;
    else s.nmi_blocked = true;
    // The interrupted code's STI/MOV SS shadow stays in the vCPU, not in SMRAM (seed 001); RSM
    // gives it back so the SMI is invisible to that code.
    s.smm.saved_shadow = s.interrupt_shadow;
    s.interrupt_shadow = 0;
    s.halted = false;
    ++s.smm.smi_count;

    // Entry state (APM Vol 2 ch. 10, "SMM Register Initialization"; SDM Table 34-4).
    s.set_rflags(Rflags::FIXED1);
    s.rip() = kSmmEntryOffset;
    s.cr0 &= ~(Cr0::PE | Cr0::EM | Cr0::TS | Cr0::PG);
    s.cr4 = 0;
    if (c.features.lm) s.efer = 0;
    s.dr[7] = 0x400;
    // The IDT limit reads zero in SMM on real processors (undocumented; KVM does the same).
    s.idtr = DescriptorTable{0, 0};
    constexpr uint16_t kAttr = Attr::P | Attr::S | Attr::W_R | Attr::A | Attr::G;  // 8093h
    s.seg[CS] = Segment{static_cast<uint16_t>(s.smm.smbase >> 4), kAttr, 0xffffffff, s.smm.smbase};
    for (SegReg r : {ES, SS, DS, FS, GS}) s.seg[r] = Segment{0, kAttr, 0xffffffff, 0};
    s.update_mode();
    // No TLB flush here: set_address_space(1) above already emptied it and nothing refilled it.
    return SmmStatus::Ok;
}

}  // namespace vx86::cpu
