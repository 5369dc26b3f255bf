// RSM: read the save area back from SMRAM, rebuild the interrupted state on a copy in the order
// the manuals require, and commit it only when every check passed; otherwise shut down.
#include <cstring>

#include "cpu/smm/smm.h"

namespace vx86::cpu {

using namespace arch;

SmmStatus Smm::rsm(Cpu& c) {
    CpuState& s = c.s;
    SmramStateSave area;
    uint8_t bytes[sizeof area];
    std::memset(bytes, 0xff, sizeof bytes);  // where nothing answers, the bus reads all-ones
    (void)c.mmu.memory().read(1, s.smm.smbase + kSmramSaveOffset, bytes);
    std::memcpy(&area, bytes, sizeof area);

    // Work on a copy: an invalid image leaves the CPU exactly as it was (still in SMM).
    CpuState n = s;
    // Back to real mode first so the saved CR0/CR3/CR4/EFER load from a known base, whatever mode
    // the handler itself switched to (SDM 34.11; a handler may run 64-bit paged code).
    n.cr4 &= ~(Cr4::PCIDE | Cr4::PAE);
    n.cr0 &= ~(Cr0::PG | Cr0::PE);
    if (c.features.lm) n.efer = 0;
    uint8_t auto_halt;
    if (uses_64bit_map(c)) {
        const SmramState64& in = area.s64;
        if (!load_state_64(in, c.features, n)) return SmmStatus::Shutdown;
        auto_halt = in.auto_hlt_restart;
    } else {
        const SmramState32& in = area.s32;
        if (!load_state_32(in, c.features, n)) return SmmStatus::Shutdown;
        auto_halt = static_cast<uint8_t>(in.auto_hlt_restart);
    }
    if (m_hooks && !m_hooks->leave_smm(c, area, n)) return SmmStatus::Shutdown;

    n.smm.in_smm = false;
    if (!n.smm.inside_nmi) n.nmi_blocked = false;
    n.smm.inside_nmi = false;
    n.interrupt_shadow = n.smm.saved_shadow;
    n.smm.saved_shadow = 0;
    // Auto-halt restart still set: go back to the HLT that the SMI interrupted (APM Vol 2 ch. 10,
    // "Auto-Halt Restart"; RIP already points past the HLT, so resuming is re-halting).
    n.halted = auto_halt & kAutoHaltRestart;
    n.update_mode();
    s = n;
    c.mmu.set_address_space(0);  // also empties the TLB, which held SMM-mode translations
    return SmmStatus::Ok;
}

}  // namespace vx86::cpu
