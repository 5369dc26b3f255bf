// Nested paging (AMD APM Vol 2, 15.25): the second translation stage, L2 guest-physical to L1
// (host-)physical through L1's table at N_CR3, and the nested page fault it raises.
#include "cpu/mmu/mmu.h"

#include "arch/paging.h"
#include "arch/vmcb.h"

namespace vx86::cpu {

using namespace arch;

// The table's format is L1's paging mode at VMRUN (15.25.3). Every nested access is a user-level
// access: each level needs U/S=1 and R/W=1 for writes whatever CR0.WP, and NX counts only with
// L1's EFER.NXE (bit 63 is reserved otherwise). L2's own table accesses are checked as writes
// since they may set A/D bits, so an NPT mapping an L2 table read-only faults even for a read
// (15.25.6). In the legacy formats only guest-physical bits 31:0 select an entry, as in KVM and
// QEMU. A/D bits are set, as in L2's walk, only once the access is known to succeed.
bool Mmu::nested_translate(uint64_t gpa, Access a, bool table_walk, uint64_t& hpa) {
    if (!npt.enabled) {
        hpa = gpa;
        return true;
    }
    const bool write = table_walk || a == Access::Write;
    const bool fetch = !table_walk && a == Access::Exec;
    const uint64_t info = NpfInfo::US | (write ? NpfInfo::RW : 0) |
                          (fetch && (npt.nxe || npt.smep) ? NpfInfo::ID : 0) |
                          (table_walk ? NpfInfo::TABLE_WALK : NpfInfo::FINAL_GPA);
    auto fault = [&](uint64_t bits) {
        m_s.fault = Fault{kNpfVector, false, 0, gpa, info | bits};
        return false;
    };
    const PagingFormat f{npt.n_cr3, npt.pae || npt.lma, npt.lma, npt.pse, npt.nxe};
    TableWalk w;
    switch (walk_tables(f, gpa, false, w)) {
        case WalkStatus::Ok:
            break;
        case WalkStatus::NotPresent:
            return fault(0);
        case WalkStatus::Reserved:
            return fault(NpfInfo::P | NpfInfo::RSV);
        case WalkStatus::NestedFault:  // the nested table's own entries are host-physical
            return fault(0);
    }
    if (!w.us || (write && !w.rw) || (fetch && w.nx)) return fault(NpfInfo::P);
    set_accessed_dirty(w, write, f.pae ? 8 : 4);
    hpa = (w.frame & ~w.page_mask) | (gpa & w.page_mask);
    return true;
}

}  // namespace vx86::cpu
