// System Management Mode: SMI entry (save state, enter the SMRAM address space, load the entry
// state) and RSM (validate and restore the saved state, or shut down), with vendor hooks.
#pragma once

#include "arch/smram.h"
#include "cpu/exec/cpu.h"

namespace vx86::cpu {

// Vendor-specific work around SMM transitions (the SVM issue uses them to leave guest mode on
// entry and re-enter it on RSM). Returning false makes the transition shut the CPU down.
class SmmVendorHooks {
public:
    virtual ~SmmVendorHooks() = default;
    // After the state was saved into `area` and before the SMM address space is entered.
    virtual bool enter_smm(Cpu& c, arch::SmramStateSave& area) = 0;
    // During RSM, after the save area was read and checked, before `next` (the state RSM is about
    // to commit) replaces c.s; the hook edits `next`, not c.s.
    virtual bool leave_smm(Cpu& c, const arch::SmramStateSave& area, CpuState& next) = 0;
};

enum class SmmStatus : uint8_t { Ok, Shutdown };

class Smm {
public:
    void set_vendor_hooks(SmmVendorHooks* hooks) { m_hooks = hooks; }

    // Takes the latched SMI at an instruction boundary (APM Vol 2 ch. 10, "System-Management Mode").
    SmmStatus enter(Cpu& c);
    // RSM inside SMM. On an invalid image the CPU is left untouched, still in SMM, and the caller
    // reports a shutdown (APM Vol 3 and SDM Vol 2B, "RSM"; SDM 34.11).
    SmmStatus rsm(Cpu& c);

    // The layout the vCPU uses: the AMD64 map when the model has long mode (seed 000).
    static bool uses_64bit_map(const Cpu& c) { return c.features.lm; }

private:
    SmmVendorHooks* m_hooks = nullptr;
};

// Fill one layout of an all-zero save area from the CPU state (exposed for tests and tools).
void save_state_64(const CpuState& s, arch::SmramState64& out);
void save_state_32(const CpuState& s, arch::SmramState32& out);
// Build the state RSM would load, on top of `s` (which must be the state after the real-mode
// teardown). Returns false, with `s` partly written, when the image is architecturally invalid.
bool load_state_64(const arch::SmramState64& in, const CpuFeatures& f, CpuState& s);
bool load_state_32(const arch::SmramState32& in, const CpuFeatures& f, CpuState& s);

}  // namespace vx86::cpu
