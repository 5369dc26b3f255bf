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

private:
    cpu::Vcpu& m_v;
};

}  // namespace vx86::api
