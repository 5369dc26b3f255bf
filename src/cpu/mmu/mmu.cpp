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

void Mmu::flush_nonglobal() {
    ++m_tlb_epoch;
    for (auto* t : {&m_read, &m_write, &m_exec})
        for (auto& e : *t)
            if (!(e.gpa_page & 1)) e = TlbEntry{};
}

// Interim: no ASID tags yet, so every ASID operation is a full flush (always correct, APM Vol 2,
// 15.16.1), and nested paging is the identity.
void Mmu::set_asid(uint32_t asid) {
    if (asid != m_asid) {
        m_asid = asid;
        flush();
    }
}

void Mmu::flush_asid(uint32_t, bool) { flush(); }

void Mmu::invlpga(uint64_t, uint32_t) { flush(); }

bool Mmu::nested_translate(uint64_t gpa, Access, bool, uint64_t& hpa) {
    hpa = gpa;
    return true;
}

void Mmu::invlpg(uint64_t la) {
    ++m_tlb_epoch;
    const unsigned i = index(la);
    for (auto* t : {&m_read, &m_write, &m_exec})
        if (((*t)[i].tag & ~uint64_t{1}) == base::page_base(la)) (*t)[i] = TlbEntry{};
}

void Mmu::drop_writes_to(uint64_t gpa_page) {
    for (auto& e : m_write)
        if ((e.gpa_page & ~uint64_t{0xfff}) == gpa_page) e = TlbEntry{};
}

// One walk of the paging structures. `user` is a CPL-3 explicit access. On success `gpa` is the
// physical address; `cacheable` says whether a TLB entry may remember the result.
bool Mmu::walk(uint64_t la, Access a, bool user, uint64_t& gpa, bool& cacheable, bool& global) {
    const bool write = a == Access::Write;
    const bool fetch = a == Access::Exec;
    const bool nxe = m_s.efer & Efer::NXE;
    const bool pae = m_s.cr4 & Cr4::PAE;
    const bool lma = m_s.efer & Efer::LMA;
    const uint64_t rsvd = (pae ? 0x000fff0000000000ull : 0) | (nxe ? 0 : Pte::NX);
    const uint32_t id_bit = (fetch && (nxe || (m_s.cr4 & Cr4::SMEP))) ? PfErr::ID : 0;
    const uint32_t base_err = (write ? PfErr::W : 0) | (user ? PfErr::U : 0) | id_bit;

    struct Level {
        uint64_t addr, val;
    } lv[4];
    unsigned nlv = 0;
    bool rw = true, us = true, nx = false;
    uint64_t page_mask = 0xfff;  // offset bits of the final page
    uint64_t frame = 0;

    auto read_entry = [&](uint64_t addr, bool wide, uint64_t& v) {
        v = 0;
        phys_read(addr, &v, wide ? 8 : 4);
        lv[nlv++] = {addr, v};
    };
    auto not_present = [&] {
        raise_pf(la, base_err);
        return false;
    };
    auto reserved = [&] {
        raise_pf(la, base_err | PfErr::P | PfErr::RSV);
        return false;
    };
    auto accumulate = [&](uint64_t e) {
        rw = rw && (e & Pte::RW);
        us = us && (e & Pte::US);
        nx = nx || (nxe && (e & Pte::NX));
    };

    if (!pae) {
        // 32-bit paging (APM Vol 2, 5.3).
        uint64_t pde;
        read_entry((m_s.cr3 & 0xfffff000) + ((la >> 22) & 0x3ff) * 4, false, pde);
        if (!(pde & Pte::P)) return not_present();
        accumulate(pde);
        if ((pde & Pte::PS) && (m_s.cr4 & Cr4::PSE)) {
            if (pde & (1u << 21)) return reserved();  // PSE-36: bit 21 is reserved
            frame = (pde & 0xffc00000) | (((pde >> 13) & 0xff) << 32);
            page_mask = 0x3fffff;
        } else {
            uint64_t pte;
            read_entry((pde & 0xfffff000) + ((la >> 12) & 0x3ff) * 4, false, pte);
            if (!(pte & Pte::P)) return not_present();
            accumulate(pte);
            frame = pte & 0xfffff000;
        }
    } else {
        uint64_t e;
        unsigned level;
        uint64_t table;
        if (lma) {
            // 4-level paging (APM Vol 2, 5.3.3): PML4E then PDPE.
            read_entry((m_s.cr3 & Pte::ADDR_MASK) + ((la >> 39) & 0x1ff) * 8, true, e);
            if (!(e & Pte::P)) return not_present();
            if (e & (rsvd | Pte::PS)) return reserved();
            accumulate(e);
            read_entry((e & Pte::ADDR_MASK) + ((la >> 30) & 0x1ff) * 8, true, e);
            if (!(e & Pte::P)) return not_present();
            if (e & rsvd) return reserved();
            accumulate(e);
            if (e & Pte::PS) {
                // 1 GiB page; low address bits 29:13 are reserved.
                if (e & 0x3fffe000ull) return reserved();
                frame = e & 0x000fffffc0000000ull;
                page_mask = 0x3fffffff;
                goto done;
            }
        } else {
            // Legacy PAE: PDPTEs have no R/W, U/S, A or NX (APM Vol 2, 5.4.1); bits 1,2,5-8 are
            // reserved, so the entry is read but never written back with an accessed bit.
            e = 0;
            phys_read((m_s.cr3 & 0xffffffe0) + ((la >> 30) & 3) * 8, &e, 8);
            if (!(e & Pte::P)) return not_present();
            if (e & (rsvd | 0x1e6)) return reserved();
        }
        table = e & Pte::ADDR_MASK;
        read_entry(table + ((la >> 21) & 0x1ff) * 8, true, e);
        if (!(e & Pte::P)) return not_present();
        if (e & rsvd) return reserved();
        accumulate(e);
        level = 2;
        if (e & Pte::PS) {
            if (e & 0x1fe000ull) return reserved();
            frame = e & 0x000fffffffe00000ull;
            page_mask = 0x1fffff;
        } else {
            read_entry((e & Pte::ADDR_MASK) + ((la >> 12) & 0x1ff) * 8, true, e);
            if (!(e & Pte::P)) return not_present();
            if (e & rsvd) return reserved();
            accumulate(e);
            frame = e & Pte::ADDR_MASK;
            level = 1;
        }
        (void)level;
    }
done:
    {
        const uint32_t prot = base_err | PfErr::P;
        if (user) {
            if (!us || (write && !rw)) return raise_pf(la, prot), false;
        } else {
            if (write && !rw && (m_s.cr0 & Cr0::WP)) return raise_pf(la, prot), false;
            if (us && fetch && (m_s.cr4 & Cr4::SMEP)) return raise_pf(la, prot), false;
            if (us && !fetch && (m_s.cr4 & Cr4::SMAP)) {
                // SMAP (APM Vol 2, 5.6.6): explicit accesses are allowed while RFLAGS.AC=1.
                if (!(m_s.rflags & Rflags::AC)) return raise_pf(la, prot), false;
                cacheable = false;
            }
        }
        if (fetch && nx) return raise_pf(la, prot), false;
    }
    // Set accessed bits on every level, dirty on the leaf for writes.
    for (unsigned i = 0; i < nlv; ++i) {
        uint64_t v = lv[i].val | Pte::A;
        if (i == nlv - 1 && write) v |= Pte::D;
        if (v != lv[i].val) phys_write(lv[i].addr, &v, pae ? 8 : 4);
    }
    global = (lv[nlv - 1].val & Pte::G) && (m_s.cr4 & Cr4::PGE);
    gpa = (frame & ~page_mask) | (la & page_mask);
    return true;
}

bool Mmu::translate(uint64_t la, Access a, Priv p, uint64_t& gpa) {
    if ((m_s.efer & Efer::LMA) && !is_canonical(la)) {
        raise_gp_noncanonical(p);
        return false;
    }
    if (!(m_s.cr0 & Cr0::PG)) {
        gpa = la & 0xffffffff;
        return true;
    }
    bool cacheable = true, global = false;
    return walk(la, a, p == Priv::Current && m_s.cpl == 3, gpa, cacheable, global);
}

bool Mmu::fill(uint64_t la, Access a, Priv p, uint64_t& gpa) {
    if ((m_s.efer & Efer::LMA) && !is_canonical(la)) {
        raise_gp_noncanonical(p);
        return false;
    }
    bool cacheable = true, global = false;
    if (m_s.cr0 & Cr0::PG) {
        if (!walk(la, a, p == Priv::Current && m_s.cpl == 3, gpa, cacheable, global)) return false;
    } else {
        gpa = la & 0xffffffff;
    }
    if (!cacheable) return true;
    mem::MemSlot* slot = m_mem.find(m_as, gpa);
    if (!slot) return true;  // MMIO: never cached
    const uint64_t gpage = base::page_base(gpa);
    if (a == Access::Write) {
        if ((slot->flags & mem::SlotFlag::READONLY) || slot->page_has_code[slot->page_index(gpage)])
            return true;
        if (slot->flags & mem::SlotFlag::LOG_DIRTY) m_mem.note_write(*slot, gpage);
    }
    TlbEntry e;
    e.tag = tag(la, p);
    e.addend = reinterpret_cast<uintptr_t>(slot->host + (gpage - slot->gpa)) - base::page_base(la);
    e.gpa_page = gpage | (global ? 1 : 0);
    auto& table = a == Access::Read ? m_read : a == Access::Write ? m_write : m_exec;
    TlbEntry& slot_entry = table[index(la)];
    if (slot_entry.tag == ~uint64_t{0}) {
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
