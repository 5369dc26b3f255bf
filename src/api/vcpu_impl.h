// Implementation of the public vx86::Vcpu over cpu::Vcpu: register conversion to and from the
// KVM-shaped structs, and validation of what an embedder sets.
#pragma once

#include "cpu/vcpu.h"
#include "vx86/vm.h"

namespace vx86::api {

class VcpuImpl final : public vx86::Vcpu {
public:
    explicit VcpuImpl(cpu::Vcpu& v) : m_v(v) {}

    Result<Exit> run(uint64_t max_insns) override;
    Regs get_regs() const override;
    Status set_regs(const Regs& regs) override;
    Sregs get_sregs() const override;
    Status set_sregs(const Sregs& sregs) override;
    Result<uint64_t> get_msr(uint32_t index) const override;
    Status set_msr(uint32_t index, uint64_t value) override;
    void complete_io_in(uint32_t value) override { m_v.complete_io_in(value); }
    void complete_mmio(const uint8_t* data, unsigned len) override { m_v.complete_mmio(data, len); }
    uint64_t instructions_retired() const override { return m_v.state().icount; }
    void inject_smi() override { m_v.inject_smi(); }
    void inject_nmi() override { m_v.inject_nmi(); }
    void inject_init() override { m_v.inject_init(); }
    VcpuEvents get_vcpu_events() const override;
    Status set_vcpu_events(const VcpuEvents& events) override;
    NestedState get_nested_state() const override;
    Status set_nested_state(const NestedState& state) override;
    Sregs2 get_sregs2() const override;
    Status set_sregs2(const Sregs2& sregs) override;
    DebugRegs get_debugregs() const override;
    Status set_debugregs(const DebugRegs& regs) override;
    MpState get_mp_state() const override;
    Status set_mp_state(const MpState& state) override;
    std::vector<uint32_t> get_msr_index_list() const override;
    MsrsOutcome get_msrs(std::span<MsrEntry> entries) const override;
    MsrsOutcome set_msrs(std::span<const MsrEntry> entries) override;

private:
    // The PDPTEs a legacy-PAE walk at `cr3` reads now, from RAM of the current address space.
    // False where vx86 cannot read them without side effects (nested paging, no RAM there).
    bool read_pdptes(uint64_t cr3, uint64_t out[4]) const;
    template <class S>
    S get_sregs_common() const;
    template <class S>
    Status check_sregs_common(const S& r) const;
    template <class S>
    void load_sregs_common(const S& r);

    cpu::Vcpu& m_v;
};

}  // namespace vx86::api
