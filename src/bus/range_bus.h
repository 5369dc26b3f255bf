// Range maps from port or physical addresses to devices; insertion rejects overlaps.
// Lookups are binary searches over a sorted vector: few devices, no allocation per access.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "base/result.h"
#include "bus/device.h"

namespace vx86::bus {

template <typename Device, typename Addr>
class RangeBus {
public:
    struct Entry {
        Addr base;
        Addr size;
        Device* device;
    };

    base::Status insert(Addr base, Addr size, Device* device) {
        if (size == 0 || device == nullptr)
            return {base::ErrorCode::InvalidArgument, "bus range must be non-empty with a device"};
        if (static_cast<Addr>(base + size - 1) < base)
            return {base::ErrorCode::InvalidArgument, "bus range wraps around the address space"};
        for (const Entry& e : m_entries) {
            if (base <= static_cast<Addr>(e.base + e.size - 1) &&
                e.base <= static_cast<Addr>(base + size - 1))
                return {base::ErrorCode::Overlap, "bus range overlaps an existing device"};
        }
        auto it = std::lower_bound(m_entries.begin(), m_entries.end(), base,
                                   [](const Entry& e, Addr b) { return e.base < b; });
        m_entries.insert(it, Entry{base, size, device});
        return base::Status::ok();
    }

    base::Status remove(Addr base) {
        auto it = std::find_if(m_entries.begin(), m_entries.end(),
                               [&](const Entry& e) { return e.base == base; });
        if (it == m_entries.end()) return {base::ErrorCode::NotFound, "no device at that address"};
        m_entries.erase(it);
        return base::Status::ok();
    }

    // The device covering `addr`, or nullptr.
    const Entry* find(Addr addr) const {
        auto it = std::upper_bound(m_entries.begin(), m_entries.end(), addr,
                                   [](Addr a, const Entry& e) { return a < e.base; });
        if (it == m_entries.begin()) return nullptr;
        --it;
        return addr - it->base < it->size ? &*it : nullptr;
    }

    const std::vector<Entry>& entries() const { return m_entries; }

private:
    std::vector<Entry> m_entries;
};

// Port I/O space (64 KiB of ports). An access no device claims reads all ones, writes vanish.
class PioBus {
public:
    base::Status insert(uint16_t base, uint32_t size, PioDevice* d) {
        if (size == 0 || base + size > 0x10000u)
            return {base::ErrorCode::InvalidArgument, "port range must lie within 0..0xffff"};
        return m_bus.insert(base, size, d);
    }
    // Removes the device inserted at `base` (a chipset moving an I/O block it decodes).
    base::Status remove(uint16_t base) { return m_bus.remove(base); }
    // Whether an in-process device answers at `port`; IN/OUT to other ports exit to the embedder.
    bool claims(uint16_t port) const { return m_bus.find(port) != nullptr; }
    void read(uint16_t port, std::span<uint8_t> data) {
        if (const auto* e = m_bus.find(port)) {
            e->device->pio_read(static_cast<uint16_t>(port - e->base), data);
            return;
        }
        std::fill(data.begin(), data.end(), uint8_t{0xff});
    }
    void write(uint16_t port, std::span<const uint8_t> data) {
        if (const auto* e = m_bus.find(port))
            e->device->pio_write(static_cast<uint16_t>(port - e->base), data);
    }

private:
    RangeBus<PioDevice, uint32_t> m_bus;
};

// Physical MMIO space for addresses not backed by a memory slot.
class MmioBus {
public:
    base::Status insert(uint64_t base, uint64_t size, MmioDevice* d) {
        return m_bus.insert(base, size, d);
    }
    base::Status remove(uint64_t base) { return m_bus.remove(base); }
    bool claims(uint64_t gpa) const { return m_bus.find(gpa) != nullptr; }
    // Returns false when no device claims the address (the caller decides: open bus).
    bool read(uint64_t gpa, std::span<uint8_t> data) {
        if (const auto* e = m_bus.find(gpa)) {
            e->device->mmio_read(gpa - e->base, data);
            return true;
        }
        std::fill(data.begin(), data.end(), uint8_t{0xff});
        return false;
    }
    bool write(uint64_t gpa, std::span<const uint8_t> data) {
        if (const auto* e = m_bus.find(gpa)) {
            e->device->mmio_write(gpa - e->base, data);
            return true;
        }
        return false;
    }

private:
    RangeBus<MmioDevice, uint64_t> m_bus;
};

}  // namespace vx86::bus
