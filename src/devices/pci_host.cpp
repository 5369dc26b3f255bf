// Configuration mechanism #1 (PCI Local Bus 3.0, 3.2.2.3.2): CONFIG_ADDRESS selects bus, device,
// function and dword; CONFIG_DATA carries byte, word or dword accesses within that dword.
#include "devices/pci_host.h"

#include <algorithm>

namespace vx86::devices {

void PciFunction::config_read(uint8_t offset, std::span<uint8_t> data) const {
    for (size_t i = 0; i < data.size(); ++i)
        data[i] = config_byte(static_cast<uint8_t>(offset + i));
}

void PciFunction::config_write(uint8_t offset, std::span<const uint8_t> data) {
    std::array<uint8_t, 4> mask{};
    const size_t n = std::min(data.size(), mask.size());
    for (size_t i = 0; i < n; ++i) mask[i] = config_wmask(static_cast<uint8_t>(offset + i));
    for (size_t i = 0; i < n; ++i) {
        if (!mask[i]) continue;
        const uint8_t at = static_cast<uint8_t>(offset + i);
        const uint8_t merged =
            static_cast<uint8_t>((config_byte(at) & ~mask[i]) | (data[i] & mask[i]));
        store_config_byte(at, merged);
    }
    config_written(offset, static_cast<unsigned>(n));
}

uint8_t PciHeader::byte(uint8_t offset) const {
    switch (offset) {
        case 0x00: return static_cast<uint8_t>(vendor_id);
        case 0x01: return static_cast<uint8_t>(vendor_id >> 8);
        case 0x02: return static_cast<uint8_t>(device_id);
        case 0x03: return static_cast<uint8_t>(device_id >> 8);
        case 0x08: return revision_id;
        case 0x09: return prog_if;
        case 0x0a: return sub_class;
        case 0x0b: return base_class;
        case 0x0e: return header_type;
        case 0x2c: return static_cast<uint8_t>(subsystem_vendor_id);
        case 0x2d: return static_cast<uint8_t>(subsystem_vendor_id >> 8);
        case 0x2e: return static_cast<uint8_t>(subsystem_id);
        case 0x2f: return static_cast<uint8_t>(subsystem_id >> 8);
        default: return 0;
    }
}

base::Status PciHost::attach(uint8_t dev, uint8_t fn, PciFunction* function) {
    if (dev >= 32 || fn >= 8 || function == nullptr)
        return {base::ErrorCode::InvalidArgument, "PCI function needs device < 32, function < 8"};
    PciFunction*& slot = m_functions[dev << 3 | fn];
    if (slot) return {base::ErrorCode::Overlap, "PCI slot already holds a function"};
    slot = function;
    return base::Status::ok();
}

PciFunction* PciHost::selected() const {
    const uint32_t a = m_s.config_address;
    if (!(a & kEnable)) return nullptr;
    if ((a >> 16) & 0xff) return nullptr;  // bus 0 is the only bus
    return m_functions[(a >> 8) & 0xff];
}

// Only a dword access at 0xCF8 is CONFIG_ADDRESS; narrower ones belong to other decoders on a PC
// (0xCF9 is the ICH9 reset control register), so here they go nowhere: reads float, writes vanish.
// QEMU 7.2 also ignores them for writes but answers reads with the low bytes of CONFIG_ADDRESS.
void PciHost::pio_read(uint16_t offset, std::span<uint8_t> data) {
    std::fill(data.begin(), data.end(), uint8_t{0xff});
    if (offset < 4) {
        if (offset == 0 && data.size() == 4)
            for (size_t i = 0; i < 4; ++i)
                data[i] = static_cast<uint8_t>(m_s.config_address >> (8 * i));
        return;
    }
    // CONFIG_DATA: the bytes of the access that fall within 0xCFC-0xCFF, at the dword that
    // CONFIG_ADDRESS bits 7:2 select (bits 1:0 are reserved and do not take part).
    const unsigned k = offset - 4u;
    if (k >= 4) return;
    const size_t n = std::min<size_t>(data.size(), 4 - k);
    if (const PciFunction* f = selected())
        f->config_read(static_cast<uint8_t>((m_s.config_address & 0xfc) + k), data.first(n));
}

void PciHost::pio_write(uint16_t offset, std::span<const uint8_t> data) {
    if (offset < 4) {
        if (offset == 0 && data.size() == 4) {
            // QEMU keeps all 32 bits, reserved ones included, and reads them back.
            m_s.config_address = uint32_t{data[0]} | uint32_t{data[1]} << 8 |
                                 uint32_t{data[2]} << 16 | uint32_t{data[3]} << 24;
        }
        return;
    }
    const unsigned k = offset - 4u;
    if (k >= 4) return;
    const size_t n = std::min<size_t>(data.size(), 4 - k);
    if (PciFunction* f = selected())
        f->config_write(static_cast<uint8_t>((m_s.config_address & 0xfc) + k), data.first(n));
}

}  // namespace vx86::devices
