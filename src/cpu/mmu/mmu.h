// Linear-to-physical translation for one vCPU: a software TLB caching host pointers, the page
// walker (32-bit, PAE, 4-level) and byte-granular slow paths for page-crossing and MMIO accesses.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>

#include "cpu/state/cpu_state.h"
#include "mem/guest_memory.h"

namespace vx86::cpu {

enum class Access : uint8_t { Read = 0, Write = 1, Exec = 2 };

// Who performs an access: the current privilege level, or the CPU itself touching system
// structures (GDT, IDT, TSS), which always counts as supervisor (APM Vol 2, 5.6.1).
enum class Priv : uint8_t { Current, Supervisor };

// An access to unbacked guest-physical memory that is reported to the embedder (KVM_EXIT_MMIO
// style). A read completes when the embedder supplies `data` and the instruction runs again.
struct MmioAccess {
    bool pending = false;    // reported, waiting for the embedder
    bool completed = false;  // data supplied: the restarted access consumes it
    bool write = false;
    uint8_t size = 0;
    uint64_t gpa = 0;
    uint8_t data[8] = {};
};

// Nested paging (APM Vol 2, 15.25): while L2 runs with NP_ENABLE, every guest-physical address
// (L2 page-table entries and final addresses) is translated through L1's table at N_CR3, whose
// format is fixed by L1's paging state at VMRUN (15.25.3), not by L2's.
struct NestedPaging {
    bool enabled = false;
    uint64_t n_cr3 = 0;
    bool pae = false, lma = false, pse = false, nxe = false, smep = false;  // L1's at VMRUN
};

// Tag layout: linear page (63:12) | ASID slot (11:1) | 1 when filled for a CPL-3 access. Slots
// stay below 0x7ff, so no filled entry's tag equals the empty marker ~0.
struct TlbEntry {
    uint64_t tag = ~uint64_t{0};
    uintptr_t addend = 0;    // host address = linear address + addend
    uint64_t gpa_page = 0;   // (host-)physical page, after nested paging; bit 0 = global
};

class Mmu {
public:
    static constexpr unsigned kTlbSize = 1024;

    Mmu(CpuState& s, mem::GuestMemory& m) : m_s(s), m_mem(m) {}

    // Data accesses at linear address `la` (segmentation already applied). On failure s.fault holds
    // the #PF (or #GP for non-canonical addresses) and nothing was written.
    template <typename T>
    bool read(uint64_t la, T& out, Priv p = Priv::Current) {
        const TlbEntry& e = m_read[index(la)];
        if (e.tag == tag(la, p) && base::page_offset(la) <= base::kPageSize - sizeof(T)) [[likely]] {
            std::memcpy(&out, reinterpret_cast<const void*>(la + e.addend), sizeof(T));
            return true;
        }
        return read_slow(la, &out, sizeof(T), p);
    }

    template <typename T>
    bool write(uint64_t la, T v, Priv p = Priv::Current) {
        const TlbEntry& e = m_write[index(la)];
        if (e.tag == tag(la, p) && base::page_offset(la) <= base::kPageSize - sizeof(T)) [[likely]] {
            std::memcpy(reinterpret_cast<void*>(la + e.addend), &v, sizeof(T));
            return true;
        }
        return write_slow(la, &v, sizeof(T), p);
    }

    bool read_slow(uint64_t la, void* out, unsigned n, Priv p);
    bool write_slow(uint64_t la, const void* in, unsigned n, Priv p);

    // Check that `n` bytes at `la` are writable without writing them (for read-modify-write
    // instructions that must fault before any side effect).
    bool probe_write(uint64_t la, unsigned n, Priv p = Priv::Current);

    // Instruction fetch: translate `la` for execution; returns the host pointer of the page's bytes
    // from `la` to the end of its page (nullptr for MMIO-backed code) and the physical address.
    bool translate_fetch(uint64_t la, uint64_t& gpa, const uint8_t*& host);

    // Page walk. Sets s.fault on failure. `gpa` receives the physical address.
    bool translate(uint64_t la, Access a, Priv p, uint64_t& gpa);

    void flush();                   // every ASID (CR0/CR4 paging bits, TLB_CONTROL 1)
    void flush_nonglobal();         // current ASID: MOV CR3 with CR4.PGE=1 (APM Vol 2, 5.5.2)
    void invlpg(uint64_t la);       // one page of the current ASID, global or not
    void drop_writes_to(uint64_t gpa_page);  // a page now holds decoded code (every ASID)

    // ASIDs (15.16): translations are tagged with the current ASID (0 = L1), so VMRUN and
    // #VMEXIT switch context without flushing. TLB_CONTROL and INVLPGA act on one ASID.
    // ASIDs below kSharedAsidSlot (CPUID reports far fewer) have a tag slot each; larger ones
    // share the last slot, which holds one such ASID's entries at a time (switching drops them).
    static constexpr uint32_t kSharedAsidSlot = 0x7fe;
    void set_asid(uint32_t asid);
    uint32_t asid() const { return m_asid; }
    void flush_asid(uint32_t asid, bool nonglobal_only);  // TLB_CONTROL 3 and 7
    void invlpga(uint64_t la, uint32_t asid);             // INVLPGA (APM Vol 3)
    // Guest-physical -> host-physical through the nested table when npt.enabled (identity
    // otherwise). `table_walk`: the access is L2's page walk reading its own tables. On failure
    // s.fault holds kNpfVector with EXITINFO1 in npf_info and the guest-physical address in cr2.
    bool nested_translate(uint64_t gpa, Access a, bool table_walk, uint64_t& hpa);
    NestedPaging npt;  // set by VMRUN, cleared by #VMEXIT; flush() or set_asid() afterwards

    // Address space that physical accesses use: 1 while in SMM.
    unsigned address_space() const { return m_as; }
    void set_address_space(unsigned as) {
        if (as != m_as) {
            m_as = as;
            flush();
        }
    }
    mem::GuestMemory& memory() { return m_mem; }

    // Physical accesses in the current address space (used by page walks and system code).
    bool phys_read(uint64_t gpa, void* out, unsigned n);
    bool phys_write(uint64_t gpa, const void* in, unsigned n);

    uint64_t seen_map_epoch = 0;
    // When set, accesses to memory no slot or device backs become MMIO exits instead of open bus.
    bool mmio_exits = false;
    MmioAccess mmio;
    // Bumped by every flush or invalidation: cached linear->physical facts older than this are
    // stale (block links use it).
    uint64_t tlb_epoch() const { return m_tlb_epoch; }

private:
    static constexpr uint64_t kTlbEmpty = ~uint64_t{0};
    static unsigned index(uint64_t la) { return (la >> 12) & (kTlbSize - 1); }
    static uint32_t asid_slot(uint32_t asid) {
        return asid < kSharedAsidSlot ? asid : kSharedAsidSlot;
    }
    static uint32_t entry_slot(const TlbEntry& e) { return (e.tag >> 1) & 0x7ff; }
    uint64_t tag(uint64_t la, Priv p) const {
        return base::page_base(la) | m_asid_tag | (p == Priv::Current && m_s.cpl == 3 ? 1 : 0);
    }

    // One page-table format: L2's (or L1's) own paging, or the nested table's.
    struct PagingFormat {
        uint64_t root;
        bool pae, lma, pse, nxe;
    };
    // What a walk of the tables found: the entries to mark accessed (at host-physical addresses)
    // and the rights accumulated over the levels.
    struct TableWalk {
        struct Level {
            uint64_t addr, val;
        } lv[4];
        unsigned nlv = 0;
        bool rw = true, us = true, nx = false;
        uint64_t frame = 0, page_mask = 0xfff;  // page_mask: offset bits of the final page
    };
    enum class WalkStatus : uint8_t { Ok, NotPresent, Reserved, NestedFault };
    // `nested_tables`: entry addresses are guest-physical and go through nested_translate.
    WalkStatus walk_tables(const PagingFormat& f, uint64_t addr, bool nested_tables, TableWalk& w);
    void set_accessed_dirty(const TableWalk& w, bool write, unsigned width);

    bool access_slow(uint64_t la, void* buf, unsigned n, Access a, Priv p);
    bool unbacked(uint64_t gpa);
    bool mmio_exit(uint64_t gpa, uint8_t* buf, unsigned n, bool write);
    bool to_physical(uint64_t la, Access a, Priv p, uint64_t& gpa, bool& cacheable, bool& global);
    bool fill(uint64_t la, Access a, Priv p, uint64_t& gpa);
    bool walk(uint64_t la, Access a, bool user, uint64_t& gpa, bool& cacheable, bool& global);
    void raise_pf(uint64_t la, uint32_t err);
    void raise_gp_noncanonical(Priv p);
    template <typename Pred>
    void drop_if(Pred pred);
    void invalidate_page(uint64_t la, uint64_t asid_tag);
    // False when `asid` maps to the shared slot but does not own it: nothing is cached for it.
    bool may_hold(uint32_t asid) const {
        return asid_slot(asid) != kSharedAsidSlot || asid == m_shared_owner;
    }

    CpuState& m_s;
    mem::GuestMemory& m_mem;
    unsigned m_as = 0;
    uint32_t m_asid = 0;
    uint64_t m_asid_tag = 0;  // asid_slot(m_asid) << 1, ORed into every tag
    // The ASID whose entries the shared slot holds (none are cached initially, so any value).
    uint32_t m_shared_owner = kSharedAsidSlot;
    uint64_t m_tlb_epoch = 1;
    std::array<TlbEntry, kTlbSize> m_read{}, m_write{}, m_exec{};
    // Entries filled since the last full flush, so that flushing a nearly empty TLB (SMM entry
    // and RSM flush twice per SMI) touches only those. Overflow falls back to clearing all.
    std::array<TlbEntry*, 256> m_filled{};
    unsigned m_nfilled = 0;
    bool m_filled_overflow = false;
};

}  // namespace vx86::cpu
