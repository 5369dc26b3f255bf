// Guest physical memory: memslots in address space 0 (normal) and 1 (SMM), shaped after KVM's
// KVM_SET_USER_MEMORY_REGION. Address space 1 overlays address space 0: a lookup in AS 1 tries the
// AS-1 slots first and falls back to AS 0, so SMRAM is visible only to a CPU that is in SMM.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "base/bits.h"
#include "base/result.h"
#include "bus/range_bus.h"

namespace vx86::mem {

namespace SlotFlag {
constexpr uint32_t READONLY = 1u << 0;   // guest writes go to the MMIO bus (KVM_MEM_READONLY)
constexpr uint32_t LOG_DIRTY = 1u << 1;  // record written pages (KVM_MEM_LOG_DIRTY_PAGES)
}  // namespace SlotFlag

constexpr unsigned kAddressSpaces = 2;

struct MemSlotDesc {
    uint32_t id = 0;
    uint8_t as_id = 0;
    uint64_t gpa = 0;
    uint64_t size = 0;       // bytes, a multiple of 4 KiB; 0 deletes the slot with this id
    uint8_t* host = nullptr; // nullptr: vx86 allocates zeroed backing and owns it
    uint32_t flags = 0;
};

struct MemSlot {
    uint32_t id;
    uint8_t as_id;
    uint64_t gpa;
    uint64_t size;
    uint8_t* host;
    uint32_t flags;
    // Per page: write generation, bumped when a page holding decoded code is written.
    std::unique_ptr<uint32_t[]> page_gen;
    // Per page: bit i set while some vCPU holds code decoded from bytes [64i, 64i + 64) of it.
    // Writes elsewhere in the page (data next to code) leave that code valid.
    std::unique_ptr<uint64_t[]> page_code_mask;
    std::vector<uint64_t> dirty;  // one bit per page, only with LOG_DIRTY
    std::shared_ptr<uint8_t> owned;

    bool contains(uint64_t a) const { return a - gpa < size; }
    uint64_t page_index(uint64_t a) const { return (a - gpa) >> 12; }
    uint64_t pages() const { return size >> 12; }
};

class GuestMemory {
public:
    explicit GuestMemory(bus::MmioBus* mmio = nullptr) : m_mmio(mmio) {}
    GuestMemory(const GuestMemory&) = delete;
    GuestMemory& operator=(const GuestMemory&) = delete;

    // Add, move or delete a slot (size 0 deletes). Overlaps within one address space are an error.
    base::Status set_slot(const MemSlotDesc& desc);
    base::Status delete_slot(uint32_t id);
    const MemSlot* slot_by_id(uint32_t id) const;
    std::vector<MemSlotDesc> slots() const;

    // The slot covering `gpa` as seen from address space `as`; remembers the last hit.
    MemSlot* find(unsigned as, uint64_t gpa) {
        MemSlot* last = m_last[as & 1];
        if (last && last->contains(gpa)) return last;
        return find_slow(as & 1, gpa);
    }

    // Host pointer for `len` bytes at gpa if they lie in one slot and (for writes) it is writable.
    uint8_t* host_ptr(unsigned as, uint64_t gpa, uint64_t len, bool write);

    // Byte-granular accesses that split across slots and fall back to MMIO. Writes keep dirty
    // logs and code generations up to date. Returns false where no slot or device answered.
    bool read(unsigned as, uint64_t gpa, std::span<uint8_t> out);
    bool write(unsigned as, uint64_t gpa, std::span<const uint8_t> in);

    // The page_code_mask bits covering bytes [offset, offset + len) of a page (len >= 1).
    static uint64_t code_chunks(uint64_t offset, uint64_t len) {
        const unsigned first = static_cast<unsigned>((offset & 0xfff) >> 6);
        const uint64_t end = std::min<uint64_t>((offset & 0xfff) + len, 0x1000);
        const unsigned last = static_cast<unsigned>((end - 1) >> 6);
        const uint64_t upto = last == 63 ? ~uint64_t{0} : (uint64_t{1} << (last + 1)) - 1;
        return upto & ~((uint64_t{1} << first) - 1);
    }

    // Record a guest write of `len` bytes at gpa (within one page of `slot`): dirty bit, and code
    // invalidation when the bytes overlap decoded code. Returns true when code became stale.
    bool note_write(MemSlot& slot, uint64_t gpa, uint64_t len = 0x1000) {
        const uint64_t pi = slot.page_index(gpa);
        if (slot.flags & SlotFlag::LOG_DIRTY) slot.dirty[pi >> 6] |= uint64_t{1} << (pi & 63);
        if (slot.page_code_mask[pi] & code_chunks(gpa, len ? len : 1)) {
            slot.page_code_mask[pi] = 0;
            ++slot.page_gen[pi];
            ++m_code_epoch;
            return true;
        }
        return false;
    }

    // Turns KVM_MEM_LOG_DIRTY_PAGES on or off for an existing slot in place (KVM allows changing
    // a slot's flags without moving it): mapping, code generations and decoded code stay valid.
    // Turning it on starts with a clean bitmap; turning it off drops the bitmap.
    base::Status set_dirty_logging(uint32_t slot_id, bool on);

    // Get-and-clear of a slot's dirty bitmap (KVM_GET_DIRTY_LOG semantics).
    base::Result<std::vector<uint64_t>> get_and_clear_dirty(uint32_t slot_id);

    // Bumped whenever mappings, permissions or dirty logs change: vCPUs compare it to know when
    // their TLB's host pointers or write permissions may be stale.
    uint64_t map_epoch() const { return m_map_epoch; }
    // Bumped whenever any page holding decoded code is written.
    uint64_t code_epoch() const { return m_code_epoch; }

    bus::MmioBus* mmio() { return m_mmio; }

    // Some AS-1 slot maps host memory that an AS-0 slot maps too (an open SMRAM window). Decoded
    // code is tracked per slot, so a vCPU switching address spaces must then drop its code cache:
    // a write through one view does not invalidate code decoded through the other.
    bool cross_space_alias() const { return m_cross_space_alias; }

private:
    void update_cross_space_alias();

    MemSlot* find_slow(unsigned as, uint64_t gpa);
    MemSlot* find_in(unsigned as, uint64_t gpa);

    std::vector<std::unique_ptr<MemSlot>> m_slots[kAddressSpaces];  // sorted by gpa
    MemSlot* m_last[kAddressSpaces] = {nullptr, nullptr};
    bus::MmioBus* m_mmio;
    uint64_t m_map_epoch = 1;
    uint64_t m_code_epoch = 1;
    bool m_cross_space_alias = false;
};

}  // namespace vx86::mem
