// TLB fills, slow-path accesses and the page walker (AMD APM Vol 2, 5.2-5.6).
// Accessed/dirty bits are written only for accesses that pass the permission checks, as QEMU does.
#include "cpu/mmu/mmu.h"

#include <cstring>

#include "arch/paging.h"
#include "arch/vectors.h"

namespace vx86::cpu {

using namespace arch;

void Mmu::raise_pf(uint64_t la, uint32_t err) {
    m_s.fault = Fault{static_cast<uint8_t>(Vector::PF), true, err, la};
}

void Mmu::raise_gp_noncanonical(Priv) {
    m_s.fault = Fault{static_cast<uint8_t>(Vector::GP), true, 0, 0};
}

bool Mmu::phys_read(uint64_t gpa, void* out, unsigned n) {
    return m_mem.read(m_as, gpa, {static_cast<uint8_t*>(out), n});
}

bool Mmu::phys_write(uint64_t gpa, const void* in, unsigned n) {
    const uint64_t before = m_mem.code_epoch();
    const bool ok = m_mem.write(m_as, gpa, {static_cast<const uint8_t*>(in), n});
    if (m_mem.code_epoch() != before) m_s.block_break = true;
    return ok;
}

void Mmu::flush() {
    ++m_tlb_epoch;
    if (m_filled_overflow) {
        m_read.fill(TlbEntry{});
        m_write.fill(TlbEntry{});
        m_exec.fill(TlbEntry{});
    } else {
        for (unsigned i = 0; i < m_nfilled; ++i) *m_filled[i] = TlbEntry{};
    }
    m_nfilled = 0;
    m_filled_overflow = false;
}

// Empties the entries `pred` selects. m_filled is compacted on the way so that per-ASID flushes
// on every world switch do not fill it with entries that are empty again.
template <typename Pred>
void Mmu::drop_if(Pred pred) {
    ++m_tlb_epoch;
    if (m_filled_overflow) {
        for (auto* t : {&m_read, &m_write, &m_exec})
            for (auto& e : *t)
                if (e.tag != kTlbEmpty && pred(e)) e = TlbEntry{};
        return;
    }
    unsigned kept = 0;
    for (unsigned i = 0; i < m_nfilled; ++i) {
        TlbEntry& e = *m_filled[i];
        if (e.tag != kTlbEmpty && pred(e)) e = TlbEntry{};
        if (e.tag != kTlbEmpty) m_filled[kept++] = &e;
    }
    m_nfilled = kept;
}

void Mmu::flush_nonglobal() {
    const uint32_t slot = asid_slot(m_asid);
    drop_if([slot](const TlbEntry& e) { return entry_slot(e) == slot && !(e.gpa_page & 1); });
}

// A switch keeps every ASID's entries (APM Vol 2, 15.16.1); only the shared slot of the large
// ASIDs changes hands.
void Mmu::set_asid(uint32_t asid) {
    if (asid == m_asid) return;
    ++m_tlb_epoch;
    if (!may_hold(asid)) {
        drop_if([](const TlbEntry& e) { return entry_slot(e) == kSharedAsidSlot; });
        m_shared_owner = asid;
    }
    m_asid = asid;
    m_asid_tag = uint64_t{asid_slot(asid)} << 1;
}

void Mmu::flush_asid(uint32_t asid, bool nonglobal_only) {
    ++m_tlb_epoch;
    if (!may_hold(asid)) return;
    const uint32_t slot = asid_slot(asid);
    drop_if([slot, nonglobal_only](const TlbEntry& e) {
        return entry_slot(e) == slot && !(nonglobal_only && (e.gpa_page & 1));
    });
}

void Mmu::invlpga(uint64_t la, uint32_t asid) {
    ++m_tlb_epoch;
    if (may_hold(asid)) invalidate_page(la, uint64_t{asid_slot(asid)} << 1);
}

void Mmu::invlpg(uint64_t la) {
    ++m_tlb_epoch;
    invalidate_page(la, m_asid_tag);
}

void Mmu::invalidate_page(uint64_t la, uint64_t asid_tag) {
    const unsigned i = index(la);
    const uint64_t key = base::page_base(la) | asid_tag;
    for (auto* t : {&m_read, &m_write, &m_exec})
        if (((*t)[i].tag & ~uint64_t{1}) == key) (*t)[i] = TlbEntry{};
}

void Mmu::drop_writes_to(uint64_t gpa_page) {
    for (auto& e : m_write)
        if ((e.gpa_page & ~uint64_t{0xfff}) == gpa_page) e = TlbEntry{};
}

namespace {
// Physical-address bits above MAXPHYADDR in a 64-bit entry: reserved (APM Vol 2, 5.3.1).
constexpr uint64_t kRsvdAboveMaxPhys = Pte::ADDR_MASK & ~kPhysAddrMask;
}  // namespace

// The structural part of a walk shared by L2's (or L1's) tables and the nested table: reads the
// entries in format `f`, checks presence and reserved bits, and accumulates R/W, U/S and NX.
Mmu::WalkStatus Mmu::walk_tables(const PagingFormat& f, uint64_t addr, bool nested_tables,
                                 TableWalk& w) {
    const uint64_t rsvd = (f.pae ? kRsvdAboveMaxPhys : 0) | (f.nxe ? 0 : Pte::NX);
    const unsigned width = f.pae ? 8 : 4;
    // With nested paging, L2's table entries live at guest-physical addresses; the read (and any
    // A/D write) uses the host-physical one (APM Vol 2, 15.25.5).
    auto read_entry = [&](uint64_t entry_addr, bool record, uint64_t& v) {
        v = 0;
        if (nested_tables && !nested_translate(entry_addr, Access::Write, true, entry_addr))
            return false;
        phys_read(entry_addr, &v, width);
        if (record) w.lv[w.nlv++] = {entry_addr, v};
        return true;
    };
    auto accumulate = [&](uint64_t e) {
        w.rw = w.rw && (e & Pte::RW);
        w.us = w.us && (e & Pte::US);
        w.nx = w.nx || (f.nxe && (e & Pte::NX));
    };
    uint64_t e;
    if (!f.pae) {
        // 32-bit paging (APM Vol 2, 5.3).
        if (!read_entry((f.root & 0xfffff000) + ((addr >> 22) & 0x3ff) * 4, true, e))
            return WalkStatus::NestedFault;
        if (!(e & Pte::P)) return WalkStatus::NotPresent;
        accumulate(e);
        if ((e & Pte::PS) && f.pse) {
            if (e & (1u << 21)) return WalkStatus::Reserved;  // PSE-36: bit 21 is reserved
            w.frame = (e & 0xffc00000) | (((e >> 13) & 0xff) << 32);
            w.page_mask = 0x3fffff;
            return WalkStatus::Ok;
        }
        if (!read_entry((e & 0xfffff000) + ((addr >> 12) & 0x3ff) * 4, true, e))
            return WalkStatus::NestedFault;
        if (!(e & Pte::P)) return WalkStatus::NotPresent;
        accumulate(e);
        w.frame = e & 0xfffff000;
        return WalkStatus::Ok;
    }
    if (f.lma) {
        // 4-level paging (APM Vol 2, 5.3.3): PML4E then PDPE.
        if (!read_entry((f.root & Pte::ADDR_MASK) + ((addr >> 39) & 0x1ff) * 8, true, e))
            return WalkStatus::NestedFault;
        if (!(e & Pte::P)) return WalkStatus::NotPresent;
        if (e & (rsvd | Pte::PS)) return WalkStatus::Reserved;
        accumulate(e);
        if (!read_entry((e & Pte::ADDR_MASK) + ((addr >> 30) & 0x1ff) * 8, true, e))
            return WalkStatus::NestedFault;
        if (!(e & Pte::P)) return WalkStatus::NotPresent;
        if (e & rsvd) return WalkStatus::Reserved;
        accumulate(e);
        if (e & Pte::PS) {
            // 1 GiB page; low address bits 29:13 are reserved.
            if (e & 0x3fffe000ull) return WalkStatus::Reserved;
            w.frame = e & 0x000fffffc0000000ull;
            w.page_mask = 0x3fffffff;
            return WalkStatus::Ok;
        }
    } else {
        // Legacy PAE: PDPTEs have no R/W, U/S, A or NX (APM Vol 2, 5.4.1); bits 1,2,5-8 and
        // 63:MAXPHYADDR are reserved (NX too, whatever EFER.NXE says), so the entry is read but
        // never written back with an accessed bit.
        if (!read_entry((f.root & 0xffffffe0) + ((addr >> 30) & 3) * 8, false, e))
            return WalkStatus::NestedFault;
        if (!(e & Pte::P)) return WalkStatus::NotPresent;
        if (e & (~kPhysAddrMask | 0x1e6)) return WalkStatus::Reserved;
    }
    if (!read_entry((e & Pte::ADDR_MASK) + ((addr >> 21) & 0x1ff) * 8, true, e))
        return WalkStatus::NestedFault;
    if (!(e & Pte::P)) return WalkStatus::NotPresent;
    if (e & rsvd) return WalkStatus::Reserved;
    accumulate(e);
    if (e & Pte::PS) {
        if (e & 0x1fe000ull) return WalkStatus::Reserved;
        w.frame = e & 0x000fffffffe00000ull;
        w.page_mask = 0x1fffff;
        return WalkStatus::Ok;
    }
    if (!read_entry((e & Pte::ADDR_MASK) + ((addr >> 12) & 0x1ff) * 8, true, e))
        return WalkStatus::NestedFault;
    if (!(e & Pte::P)) return WalkStatus::NotPresent;
    if (e & rsvd) return WalkStatus::Reserved;
    accumulate(e);
    w.frame = e & Pte::ADDR_MASK;
    return WalkStatus::Ok;
}

// Accessed on every level, dirty on the leaf for writes.
void Mmu::set_accessed_dirty(const TableWalk& w, bool write, unsigned width) {
    for (unsigned i = 0; i < w.nlv; ++i) {
        uint64_t v = w.lv[i].val | Pte::A;
        if (i == w.nlv - 1 && write) v |= Pte::D;
        if (v != w.lv[i].val) phys_write(w.lv[i].addr, &v, width);
    }
}

// One walk of the paging structures. `user` is a CPL-3 explicit access. On success `gpa` is the
// physical address (host-physical under nested paging); `cacheable` says whether a TLB entry may
// remember the result.
bool Mmu::walk(uint64_t la, Access a, bool user, uint64_t& gpa, bool& cacheable, bool& global) {
    const bool write = a == Access::Write;
    const bool fetch = a == Access::Exec;
    const PagingFormat f{m_s.cr3, (m_s.cr4 & Cr4::PAE) != 0, (m_s.efer & Efer::LMA) != 0,
                         (m_s.cr4 & Cr4::PSE) != 0, (m_s.efer & Efer::NXE) != 0};
    const uint32_t id_bit = (fetch && (f.nxe || (m_s.cr4 & Cr4::SMEP))) ? PfErr::ID : 0;
    const uint32_t base_err = (write ? PfErr::W : 0) | (user ? PfErr::U : 0) | id_bit;

    TableWalk w;
    switch (walk_tables(f, la, npt.enabled, w)) {
    case WalkStatus::Ok:
        break;
    case WalkStatus::NotPresent:
        return raise_pf(la, base_err), false;
    case WalkStatus::Reserved:
        return raise_pf(la, base_err | PfErr::P | PfErr::RSV), false;
    case WalkStatus::NestedFault:
        return false;  // s.fault holds the nested page fault
    }
    const uint32_t prot = base_err | PfErr::P;
    if (user) {
        if (!w.us || (write && !w.rw)) return raise_pf(la, prot), false;
    } else {
        if (write && !w.rw && (m_s.cr0 & Cr0::WP)) return raise_pf(la, prot), false;
        if (w.us && fetch && (m_s.cr4 & Cr4::SMEP)) return raise_pf(la, prot), false;
        if (w.us && !fetch && (m_s.cr4 & Cr4::SMAP)) {
            // SMAP (APM Vol 2, 5.6.6): explicit accesses are allowed while RFLAGS.AC=1.
            if (!(m_s.rflags & Rflags::AC)) return raise_pf(la, prot), false;
            cacheable = false;
        }
    }
    if (fetch && w.nx) return raise_pf(la, prot), false;
    uint64_t pa = (w.frame & ~w.page_mask) | (la & w.page_mask);
    // The final guest-physical address goes through the nested table before any A/D update, so
    // that a faulting access leaves no side effect in L2's tables.
    if (npt.enabled && !nested_translate(pa, a, false, pa)) return false;
    set_accessed_dirty(w, write, f.pae ? 8 : 4);
    global = (w.lv[w.nlv - 1].val & Pte::G) && (m_s.cr4 & Cr4::PGE);
    gpa = pa;
    return true;
}

// Linear -> (host-)physical in the current mode; with L2 paging off the linear address is
// guest-physical and still goes through the nested table (APM Vol 2, 15.25.5).
bool Mmu::to_physical(uint64_t la, Access a, Priv p, uint64_t& gpa, bool& cacheable,
                      bool& global) {
    if ((m_s.efer & Efer::LMA) && !is_canonical(la)) {
        raise_gp_noncanonical(p);
        return false;
    }
    if (m_s.cr0 & Cr0::PG)
        return walk(la, a, p == Priv::Current && m_s.cpl == 3, gpa, cacheable, global);
    gpa = la & 0xffffffff;
    return !npt.enabled || nested_translate(gpa, a, false, gpa);
}

bool Mmu::translate(uint64_t la, Access a, Priv p, uint64_t& gpa) {
    bool cacheable = true, global = false;
    return to_physical(la, a, p, gpa, cacheable, global);
}

bool Mmu::fill(uint64_t la, Access a, Priv p, uint64_t& gpa) {
    bool cacheable = true, global = false;
    if (!to_physical(la, a, p, gpa, cacheable, global)) return false;
    if (!cacheable) return true;
    mem::MemSlot* slot = m_mem.find(m_as, gpa);
    if (!slot) return true;  // MMIO: never cached
    const uint64_t gpage = base::page_base(gpa);
    if (a == Access::Write) {
        if ((slot->flags & mem::SlotFlag::READONLY) || slot->page_code_mask[slot->page_index(gpage)])
            return true;
        if (slot->flags & mem::SlotFlag::LOG_DIRTY) m_mem.note_write(*slot, gpage);
    }
    TlbEntry e;
    e.tag = tag(la, p);
    e.addend = reinterpret_cast<uintptr_t>(slot->host + (gpage - slot->gpa)) - base::page_base(la);
    e.gpa_page = gpage | (global ? 1 : 0);
    auto& table = a == Access::Read ? m_read : a == Access::Write ? m_write : m_exec;
    TlbEntry& slot_entry = table[index(la)];
    if (slot_entry.tag == kTlbEmpty) {
        if (m_nfilled < m_filled.size()) m_filled[m_nfilled++] = &slot_entry;
        else m_filled_overflow = true;
    }
    slot_entry = e;
    return true;
}

bool Mmu::access_slow(uint64_t la, void* buf, unsigned n, Access a, Priv p) {
    // Translate every page first so that a fault on the second page leaves no side effect.
    uint64_t gpa[2];
    unsigned len[2];
    unsigned pieces = 1;
    len[0] = n;
    const uint64_t room = base::kPageSize - base::page_offset(la);
    if (n > room) {
        len[0] = static_cast<unsigned>(room);
        len[1] = n - len[0];
        pieces = 2;
    }
    uint64_t cur = la;
    for (unsigned i = 0; i < pieces; ++i) {
        if (!fill(cur, a, p, gpa[i])) return false;
        cur = (cur + len[i]) & m_s.la_mask;
    }
    uint8_t* b = static_cast<uint8_t*>(buf);
    if (mmio_exits) {
        // Report the first unbacked piece; a restarted instruction consumes the completion.
        uint8_t* q = b;
        for (unsigned i = 0; i < pieces; ++i) {
            if (unbacked(gpa[i]) && !mmio_exit(gpa[i], q, len[i], a == Access::Write)) return false;
            q += len[i];
        }
    }
    for (unsigned i = 0; i < pieces; ++i) {
        if (mmio_exits && unbacked(gpa[i])) {
            b += len[i];
            continue;
        }
        if (a == Access::Write)
            phys_write(gpa[i], b, len[i]);
        else
            phys_read(gpa[i], b, len[i]);
        b += len[i];
    }
    return true;
}

bool Mmu::unbacked(uint64_t gpa) {
    return !m_mem.find(m_as, gpa) && !(m_mem.mmio() && m_mem.mmio()->claims(gpa));
}

// Returns true when a completed access for this address was consumed (reads get its data), false
// after recording a new exit (s.fault then carries kMmioExitVector).
bool Mmu::mmio_exit(uint64_t gpa, uint8_t* buf, unsigned n, bool write) {
    if (mmio.completed && mmio.gpa == gpa && mmio.size == n && mmio.write == write) {
        if (!write) std::memcpy(buf, mmio.data, n);
        mmio.completed = false;
        return true;
    }
    mmio = MmioAccess{};
    mmio.pending = true;
    mmio.write = write;
    mmio.gpa = gpa;
    mmio.size = static_cast<uint8_t>(n > 8 ? 8 : n);
    if (write) std::memcpy(mmio.data, buf, mmio.size);
    m_s.fault = Fault{kMmioExitVector, false, 0, 0};
    return false;
}

bool Mmu::read_slow(uint64_t la, void* out, unsigned n, Priv p) {
    return access_slow(la, out, n, Access::Read, p);
}

bool Mmu::write_slow(uint64_t la, const void* in, unsigned n, Priv p) {
    return access_slow(la, const_cast<void*>(in), n, Access::Write, p);
}

bool Mmu::probe_write(uint64_t la, unsigned n, Priv p) {
    uint64_t gpa;
    if (!fill(la, Access::Write, p, gpa)) return false;
    const uint64_t room = base::kPageSize - base::page_offset(la);
    if (n > room && !fill((la + room) & m_s.la_mask, Access::Write, p, gpa)) return false;
    return true;
}

bool Mmu::translate_fetch(uint64_t la, uint64_t& gpa, const uint8_t*& host) {
    const TlbEntry& e = m_exec[index(la)];
    if (e.tag == tag(la, Priv::Current)) {
        gpa = (e.gpa_page & ~uint64_t{0xfff}) | base::page_offset(la);
        host = reinterpret_cast<const uint8_t*>(la + e.addend);
        return true;
    }
    if (!fill(la, Access::Exec, Priv::Current, gpa)) return false;
    const TlbEntry& f = m_exec[index(la)];
    host = f.tag == tag(la, Priv::Current) ? reinterpret_cast<const uint8_t*>(la + f.addend) : nullptr;
    return true;
}

}  // namespace vx86::cpu
