// PCI configuration mechanism #1 on bus 0 (CONFIG_ADDRESS 0xCF8, CONFIG_DATA 0xCFC-0xCFF), and the
// interface a PCI function implements to expose its 256-byte configuration space.
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include "base/result.h"
#include "bus/device.h"

namespace vx86::devices {

// One function's type-0 configuration space, seen byte by byte: what a read returns and which bits
// a write may change (QEMU's config[] and wmask[]). Functions keep their registers in a State
// struct and derive both from it, so a lock bit that freezes other registers needs no extra state.
class PciFunction {
public:
    static constexpr unsigned kConfigSize = 256;

    virtual ~PciFunction() = default;

    virtual uint8_t config_byte(uint8_t offset) const = 0;
    virtual uint8_t config_wmask(uint8_t offset) const = 0;
    // Stores a byte already merged under its write mask.
    virtual void store_config_byte(uint8_t offset, uint8_t value) = 0;
    // Runs once per configuration write, after all of its bytes were stored: side effects.
    virtual void config_written(uint8_t offset, unsigned size) {
        (void)offset;
        (void)size;
    }

    // A configuration read or write of `data.size()` bytes at `offset` (offset + size <= 256).
    void config_read(uint8_t offset, std::span<uint8_t> data) const;
    // Every byte is merged under the mask it had before the access, as pci_default_write_config
    // does: a dword write that sets a lock bit still writes the bytes that bit is about to freeze.
    void config_write(uint8_t offset, std::span<const uint8_t> data);
};

// The constant part of a type-0 header: identification and class (PCI Local Bus 3.0, 6.2.1).
struct PciHeader {
    uint16_t vendor_id = 0;
    uint16_t device_id = 0;
    uint8_t revision_id = 0;
    uint8_t prog_if = 0;
    uint8_t sub_class = 0;
    uint8_t base_class = 0;
    uint8_t header_type = 0;  // bit 7: multi-function device
    uint16_t subsystem_vendor_id = 0;
    uint16_t subsystem_id = 0;

    // The byte at `offset` of 0x00-0x3F; everything this struct does not name reads 0.
    uint8_t byte(uint8_t offset) const;
};

class PciHost : public bus::PioDevice {
public:
    // CONFIG_ADDRESS at 0xCF8-0xCFB, CONFIG_DATA at 0xCFC-0xCFF.
    static constexpr uint16_t kBasePort = 0xCF8;
    static constexpr uint16_t kPorts = 8;
    static constexpr uint32_t kEnable = 1u << 31;  // CONFIG_ADDRESS bit 31: configuration enable

    struct State {
        uint32_t config_address = 0;
        bool operator==(const State&) const = default;
    };

    // Places `function` at 00:dev.fn (dev < 32, fn < 8); fails if the slot is taken.
    base::Status attach(uint8_t dev, uint8_t fn, PciFunction* function);

    void pio_read(uint16_t offset, std::span<uint8_t> data) override;
    void pio_write(uint16_t offset, std::span<const uint8_t> data) override;

    void reset() { m_s = State{}; }
    const State& state() const { return m_s; }
    void restore(const State& s) { m_s = s; }

private:
    // The function CONFIG_ADDRESS selects, or nullptr (disabled, another bus, or nothing there).
    PciFunction* selected() const;

    State m_s;
    std::array<PciFunction*, 256> m_functions{};  // by devfn = dev << 3 | fn
};

}  // namespace vx86::devices
