// Memslot bookkeeping, cross-slot accesses and dirty logging for GuestMemory.
// Slow paths only: the CPU's TLB caches host pointers and calls back here on misses.
#include "mem/guest_memory.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstring>
#include <string>

namespace vx86::mem {

using base::ErrorCode;
using base::Status;

namespace {

std::shared_ptr<uint8_t> allocate_backing(uint64_t size) {
    void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                   -1, 0);
    if (p == MAP_FAILED) return nullptr;
    return std::shared_ptr<uint8_t>(static_cast<uint8_t*>(p),
                                    [size](uint8_t* q) { munmap(q, size); });
}

std::string hex(uint64_t v) {
    char buf[24];
    std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
    return buf;
}

}  // namespace

Status GuestMemory::set_slot(const MemSlotDesc& d) {
    if (d.as_id >= kAddressSpaces)
        return {ErrorCode::InvalidArgument, "memslot address space must be 0 or 1"};
    if (d.flags & ~(SlotFlag::READONLY | SlotFlag::LOG_DIRTY))
        return {ErrorCode::InvalidArgument, "unknown memslot flag bits " + hex(d.flags)};
    if (d.size == 0) return delete_slot(d.id);
    if ((d.gpa | d.size) & 0xfff)
        return {ErrorCode::Misaligned,
                "memslot base " + hex(d.gpa) + " and size " + hex(d.size) + " must be 4 KiB aligned"};
    if (d.gpa + d.size < d.gpa || d.gpa + d.size > (uint64_t{1} << 52))
        return {ErrorCode::InvalidArgument, "memslot ends beyond the 52-bit physical address space"};

    // Replacing a slot with the same id is a move/resize; check overlaps against the others.
    for (auto& s : m_slots[d.as_id]) {
        if (s->id == d.id) continue;
        if (d.gpa < s->gpa + s->size && s->gpa < d.gpa + d.size)
            return {ErrorCode::Overlap, "memslot " + std::to_string(d.id) + " at " + hex(d.gpa) +
                                            " overlaps slot " + std::to_string(s->id) + " at " +
                                            hex(s->gpa)};
    }
    for (unsigned as = 0; as < kAddressSpaces; ++as)
        if (as != d.as_id)
            for (auto& s : m_slots[as])
                if (s->id == d.id)
                    return {ErrorCode::InvalidArgument,
                            "memslot id " + std::to_string(d.id) + " is used in another address space"};

    auto slot = std::make_unique<MemSlot>();
    slot->id = d.id;
    slot->as_id = d.as_id;
    slot->gpa = d.gpa;
    slot->size = d.size;
    slot->flags = d.flags;
    if (d.host) {
        slot->host = d.host;
    } else {
        slot->owned = allocate_backing(d.size);
        if (!slot->owned) return {ErrorCode::InvalidArgument, "cannot allocate " + hex(d.size) + " bytes"};
        slot->host = slot->owned.get();
    }
    const uint64_t pages = d.size >> 12;
    slot->page_gen = std::make_unique<uint32_t[]>(pages);
    slot->page_code_mask = std::make_unique<uint64_t[]>(pages);
    if (d.flags & SlotFlag::LOG_DIRTY) slot->dirty.assign((pages + 63) / 64, 0);

    (void)delete_slot(d.id);
    auto& v = m_slots[d.as_id];
    auto it = std::lower_bound(v.begin(), v.end(), d.gpa,
                               [](const std::unique_ptr<MemSlot>& s, uint64_t g) { return s->gpa < g; });
    v.insert(it, std::move(slot));
    m_last[0] = m_last[1] = nullptr;
    ++m_map_epoch;
    ++m_code_epoch;
    update_cross_space_alias();
    return Status::ok();
}

void GuestMemory::update_cross_space_alias() {
    m_cross_space_alias = false;
    for (auto& a : m_slots[1])
        for (auto& b : m_slots[0])
            if (a->host < b->host + b->size && b->host < a->host + a->size) {
                m_cross_space_alias = true;
                return;
            }
}

Status GuestMemory::delete_slot(uint32_t id) {
    for (auto& v : m_slots) {
        for (auto it = v.begin(); it != v.end(); ++it) {
            if ((*it)->id == id) {
                v.erase(it);
                m_last[0] = m_last[1] = nullptr;
                ++m_map_epoch;
                ++m_code_epoch;
                update_cross_space_alias();
                return Status::ok();
            }
        }
    }
    return {ErrorCode::NotFound, "no memslot with id " + std::to_string(id)};
}

const MemSlot* GuestMemory::slot_by_id(uint32_t id) const {
    for (auto& v : m_slots)
        for (auto& s : v)
            if (s->id == id) return s.get();
    return nullptr;
}

std::vector<MemSlotDesc> GuestMemory::slots() const {
    std::vector<MemSlotDesc> out;
    for (auto& v : m_slots)
        for (auto& s : v) out.push_back({s->id, s->as_id, s->gpa, s->size, s->host, s->flags});
    return out;
}

MemSlot* GuestMemory::find_in(unsigned as, uint64_t gpa) {
    auto& v = m_slots[as];
    auto it = std::upper_bound(v.begin(), v.end(), gpa,
                               [](uint64_t g, const std::unique_ptr<MemSlot>& s) { return g < s->gpa; });
    if (it == v.begin()) return nullptr;
    --it;
    return (*it)->contains(gpa) ? it->get() : nullptr;
}

MemSlot* GuestMemory::find_slow(unsigned as, uint64_t gpa) {
    MemSlot* s = find_in(as, gpa);
    if (!s && as == 1) s = find_in(0, gpa);
    if (s) m_last[as] = s;
    return s;
}

uint8_t* GuestMemory::host_ptr(unsigned as, uint64_t gpa, uint64_t len, bool write) {
    MemSlot* s = find(as, gpa);
    if (!s || len == 0 || gpa + len - 1 - s->gpa >= s->size) return nullptr;
    if (write && (s->flags & SlotFlag::READONLY)) return nullptr;
    return s->host + (gpa - s->gpa);
}

bool GuestMemory::read(unsigned as, uint64_t gpa, std::span<uint8_t> out) {
    bool ok = true;
    while (!out.empty()) {
        MemSlot* s = find(as, gpa);
        uint64_t chunk;
        if (s) {
            chunk = std::min<uint64_t>(out.size(), s->gpa + s->size - gpa);
            std::memcpy(out.data(), s->host + (gpa - s->gpa), chunk);
        } else {
            // Up to the next page boundary goes to MMIO as one access when it fits in 8 bytes.
            chunk = std::min<uint64_t>(out.size(), base::kPageSize - base::page_offset(gpa));
            if (chunk > 8) chunk = 1;
            if (!m_mmio || !m_mmio->read(gpa, out.first(chunk))) {
                std::memset(out.data(), 0xff, chunk);
                ok = false;
            }
        }
        out = out.subspan(chunk);
        gpa += chunk;
    }
    return ok;
}

bool GuestMemory::write(unsigned as, uint64_t gpa, std::span<const uint8_t> in) {
    bool ok = true;
    while (!in.empty()) {
        MemSlot* s = find(as, gpa);
        uint64_t chunk;
        if (s && !(s->flags & SlotFlag::READONLY)) {
            chunk = std::min<uint64_t>(in.size(), s->gpa + s->size - gpa);
            std::memcpy(s->host + (gpa - s->gpa), in.data(), chunk);
            for (uint64_t p = gpa; p < gpa + chunk;) {
                const uint64_t next = std::min(base::page_base(p) + base::kPageSize, gpa + chunk);
                note_write(*s, p, next - p);
                p = next;
            }
        } else {
            chunk = s ? std::min<uint64_t>(in.size(), s->gpa + s->size - gpa)
                      : std::min<uint64_t>(in.size(), base::kPageSize - base::page_offset(gpa));
            if (chunk > 8) chunk = 1;
            if (!m_mmio || !m_mmio->write(gpa, in.first(chunk))) ok = false;
        }
        in = in.subspan(chunk);
        gpa += chunk;
    }
    return ok;
}

base::Status GuestMemory::set_dirty_logging(uint32_t slot_id, bool on) {
    for (auto& v : m_slots)
        for (auto& s : v)
            if (s->id == slot_id) {
                if (on && !(s->flags & SlotFlag::LOG_DIRTY)) {
                    s->dirty.assign((s->pages() + 63) / 64, 0);
                    s->flags |= SlotFlag::LOG_DIRTY;
                } else if (!on && (s->flags & SlotFlag::LOG_DIRTY)) {
                    s->flags &= ~SlotFlag::LOG_DIRTY;
                    std::vector<uint64_t>().swap(s->dirty);
                }
                ++m_map_epoch;  // cached write permissions must go through note_write again
                return Status::ok();
            }
    return {ErrorCode::NotFound, "no memslot with id " + std::to_string(slot_id)};
}

base::Result<std::vector<uint64_t>> GuestMemory::get_and_clear_dirty(uint32_t slot_id) {
    for (auto& v : m_slots)
        for (auto& s : v)
            if (s->id == slot_id) {
                if (!(s->flags & SlotFlag::LOG_DIRTY))
                    return {ErrorCode::State,
                            "memslot " + std::to_string(slot_id) + " does not log dirty pages"};
                std::vector<uint64_t> out(s->dirty.size());
                out.swap(s->dirty);
                s->dirty.assign(out.size(), 0);
                ++m_map_epoch;  // vCPUs must re-mark pages they write through cached pointers
                return out;
            }
    return {ErrorCode::NotFound, "no memslot with id " + std::to_string(slot_id)};
}

}  // namespace vx86::mem
