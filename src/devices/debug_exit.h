// isa-debug-exit as QEMU defines it: a write of value v to the device stops the machine with
// process exit status (v << 1) | 1. Used by test guests to report their result.
#pragma once

#include <cstdint>
#include <functional>

#include "bus/device.h"

namespace vx86::devices {

class DebugExit : public bus::PioDevice {
public:
    using OnExit = std::function<void(uint32_t value)>;
    explicit DebugExit(OnExit on_exit) : m_on_exit(std::move(on_exit)) {}

    void pio_read(uint16_t, std::span<uint8_t> data) override {
        for (auto& b : data) b = 0xff;
    }
    void pio_write(uint16_t, std::span<const uint8_t> data) override {
        uint32_t v = 0;
        for (size_t i = 0; i < data.size() && i < 4; ++i) v |= uint32_t{data[i]} << (8 * i);
        if (m_on_exit) m_on_exit(v);
    }

    static int exit_status(uint32_t value) { return static_cast<int>(((value << 1) | 1) & 0xff); }

private:
    OnExit m_on_exit;
};

}  // namespace vx86::devices
