// Advanced Power Management ports 0xB2 (APM_CNT) and 0xB3 (APM_STS), as QEMU's hw/isa/apm.c: a
// write to APM_CNT hands the command to the chipset, which decides whether it raises an SMI.
#pragma once

#include <cstdint>
#include <functional>

#include "bus/device.h"

namespace vx86::devices {

class Apm : public bus::PioDevice {
public:
    static constexpr uint16_t kBasePort = 0xb2;
    static constexpr uint16_t kPorts = 2;
    static constexpr uint16_t APM_CNT = 0;  // offsets from kBasePort
    static constexpr uint16_t APM_STS = 1;

    struct State {
        uint8_t apm_cnt = 0;  // the last command written; reads return it
        uint8_t apm_sts = 0;  // scratch byte firmware uses to pass data to its SMI handler
        bool operator==(const State&) const = default;
    };

    using OnCommand = std::function<void(uint8_t command)>;

    explicit Apm(OnCommand on_command) : m_on_command(std::move(on_command)) {}

    // Wider accesses touch both ports byte by byte, APM_CNT first.
    void pio_read(uint16_t offset, std::span<uint8_t> data) override;
    void pio_write(uint16_t offset, std::span<const uint8_t> data) override;

    void reset() { m_s = State{}; }
    const State& state() const { return m_s; }
    void restore(const State& s) { m_s = s; }

private:
    State m_s;
    OnCommand m_on_command;
};

}  // namespace vx86::devices
