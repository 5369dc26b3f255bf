// The seam between the CPU and devices: offset-relative port and MMIO devices.
// A device does not know where it sits in the address space; the bus passes offsets.
#pragma once

#include <cstdint>
#include <span>

namespace vx86::bus {

class PioDevice {
public:
    virtual ~PioDevice() = default;
    // `data.size()` is 1, 2 or 4. Unclaimed bits read as ones.
    virtual void pio_read(uint16_t offset, std::span<uint8_t> data) = 0;
    virtual void pio_write(uint16_t offset, std::span<const uint8_t> data) = 0;
};

class MmioDevice {
public:
    virtual ~MmioDevice() = default;
    virtual void mmio_read(uint64_t offset, std::span<uint8_t> data) = 0;
    virtual void mmio_write(uint64_t offset, std::span<const uint8_t> data) = 0;
};

// Level of one interrupt request wire, raised by a device and sampled by a controller.
class IrqLine {
public:
    virtual ~IrqLine() = default;
    virtual void set_level(bool asserted) = 0;
    void pulse() {
        set_level(true);
        set_level(false);
    }
};

// What the CPU polls between instructions (APM Vol 2, 8.1 "Interrupt Mechanisms").
class InterruptController {
public:
    virtual ~InterruptController() = default;
    virtual bool has_interrupt() const = 0;
    // Acknowledge the highest-priority request and return its vector (the INTA cycle).
    virtual uint8_t acknowledge() = 0;
};

}  // namespace vx86::bus
