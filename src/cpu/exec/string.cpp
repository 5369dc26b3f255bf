// String family: MOVS, STOS, LODS, CMPS, SCAS in byte/word/dword/qword sizes with REP/REPE/REPNE.
// Handlers are specialised per operation, element size and address size; REP MOVS/STOS over RAM
// copy page-sized runs through host pointers, everything else goes element by element.
#include <Zydis/Zydis.h>

#include <algorithm>
#include <cstring>

#include "cpu/exec/families.h"
#include "cpu/exec/operands.h"

namespace vx86::cpu {

namespace {

using namespace arch::Rflags;

enum class StrOp : uint8_t { Movs, Stos, Lods, Cmps, Scas };

constexpr bool reads_source(StrOp op) {
    return op == StrOp::Movs || op == StrOp::Lods || op == StrOp::Cmps;
}
constexpr bool uses_destination(StrOp op) {
    return op != StrOp::Lods;
}
constexpr bool compares(StrOp op) {
    return op == StrOp::Cmps || op == StrOp::Scas;
}
constexpr bool has_bulk_path(StrOp op) {
    return op == StrOp::Movs || op == StrOp::Stos;
}

// Work one execution of a REP instruction may do before it yields: the executor then re-runs the
// instruction from its start, and pending interrupts are taken in between, as the manual allows
// between iterations (APM Vol 3, 1.2.6 "Repeat Prefixes"). An element done one at a time costs
// kElementCost, so the slow path yields after 1024 elements and the bulk path after 64 KiB.
constexpr uint64_t kWorkBudget = 64 * 1024;
constexpr uint64_t kElementCost = 64;
// Shorter runs are cheaper element by element than with the two page walks of the bulk path.
constexpr uint64_t kBulkMinBytes = 64;

// Count and index registers as the address size sees them. 16-bit writes merge into the low word;
// 32-bit writes zero-extend (in 64-bit mode the upper halves of RCX/RSI/RDI become zero).
template <unsigned A>
inline uint64_t addr_reg(const Cpu& c, Gpr r) {
    return c.s.gpr[r] & base::size_mask(A);
}

template <unsigned A>
inline void set_addr_reg(Cpu& c, Gpr r, uint64_t v) {
    set_reg<A>(c, r, static_cast<uint_t<A>>(v));
}

// How many consecutive elements of S bytes, starting with the one at `off` and moving up (or
// down), lie entirely within [lo, hi]. Zero when the first one does not.
inline uint64_t elements_within(uint64_t off, uint64_t lo, uint64_t hi, unsigned S, bool down) {
    if (off < lo || off > hi || hi - off < S - 1) return 0;
    return down ? (off - lo) / S + 1 : (hi - off - (S - 1)) / S + 1;
}

// Host bytes of RAM backing [gpa, gpa + bytes), or nullptr when any of it is MMIO (or ROM, for
// a write): those accesses must reach devices one element at a time.
uint8_t* ram_bytes(Cpu& c, uint64_t gpa, uint64_t bytes, bool write) {
    mem::MemSlot* slot = c.mmu.memory().find(c.mmu.address_space(), gpa);
    if (!slot || !slot->contains(gpa + bytes - 1)) return nullptr;
    if (write) {
        if (slot->flags & mem::SlotFlag::READONLY) return nullptr;
        // Dirty log and decoded-code invalidation, as any guest write does.
        if (c.mmu.memory().note_write(*slot, gpa, bytes)) c.s.block_break = true;
    }
    return slot->host + (gpa - slot->gpa);
}

// One run of MOVS or STOS elements inside one page of the source and one of the destination,
// done with host memory operations. Returns the number of elements done; zero means the next
// element must take the per-element path (page-crossing element, MMIO, overlap that a block copy
// would not reproduce, or a translation that faults — the per-element path raises that fault).
template <StrOp OP, unsigned S, unsigned A>
uint64_t bulk_run(Cpu& c, const Insn& in, uint64_t si, uint64_t di, uint64_t count, bool down,
                  uint64_t budget_bytes) {
    using T = uint_t<S>;
    constexpr uint64_t m = base::size_mask(A);
    constexpr uint64_t page_last = base::kPageSize - 1;
    uint64_t k = std::min<uint64_t>(count, std::max<uint64_t>(budget_bytes / S, 1));

    const SegCheck& dseg = c.s.segc[ES];
    const uint64_t dla = linear(c, ES, di);
    k = std::min(k, elements_within(di, 0, m, S, down));
    k = std::min(k, elements_within(di, dseg.wr_lo, dseg.wr_hi, S, down));
    k = std::min(k, elements_within(base::page_offset(dla), 0, page_last, S, down));
    if (k == 0) return 0;
    // The run covers [la - (k-1)*S, la + S) when moving down, [la, la + k*S) when moving up.
    auto low_end = [&](uint64_t gpa) { return down ? gpa - (k - 1) * S : gpa; };

    if constexpr (OP == StrOp::Movs) {
        const SegCheck& sseg = c.s.segc[in.sego];
        const uint64_t sla = linear(c, in.sego, si);
        k = std::min(k, elements_within(si, 0, m, S, down));
        k = std::min(k, elements_within(si, sseg.rd_lo, sseg.rd_hi, S, down));
        k = std::min(k, elements_within(base::page_offset(sla), 0, page_last, S, down));
        if (k == 0) return 0;
        uint64_t sgpa, dgpa;
        if (!c.mmu.translate(sla, Access::Read, Priv::Current, sgpa)) return 0;
        if (!c.mmu.translate(dla, Access::Write, Priv::Current, dgpa)) return 0;
        const uint8_t* src = ram_bytes(c, low_end(sgpa), k * S, false);
        const uint8_t* dst = ram_bytes(c, low_end(dgpa), k * S, false);
        if (!src || !dst) return 0;
        // When the destination lies ahead of the source in the direction of the copy, closer
        // than the run's length, element-by-element copying re-reads bytes it has just written
        // (replicating a pattern) and a block copy would not. Shorten the run so the ranges no
        // longer overlap; the other overlaps behave as memmove does.
        const auto s = reinterpret_cast<uintptr_t>(src), d = reinterpret_cast<uintptr_t>(dst);
        if (!down && d > s && d - s < k * S) k = (d - s) / S;
        if (down && s > d && s - d < k * S) k = (s - d) / S;
        if (k == 0) return 0;
        std::memmove(ram_bytes(c, low_end(dgpa), k * S, true),
                     ram_bytes(c, low_end(sgpa), k * S, false), k * S);
    } else {
        uint64_t dgpa;
        if (!c.mmu.translate(dla, Access::Write, Priv::Current, dgpa)) return 0;
        uint8_t* to = ram_bytes(c, low_end(dgpa), k * S, true);
        if (!to) return 0;
        const T v = static_cast<T>(c.s.gpr[RAX]);
        if constexpr (S == 1) {
            std::memset(to, v, k);
        } else {
            for (uint64_t i = 0; i < k; ++i) std::memcpy(to + i * S, &v, S);
        }
    }
    return k;
}

// One element. For CMPS/SCAS `equal` receives whether the operands matched (ZF).
template <StrOp OP, unsigned S>
inline bool element(Cpu& c, const Insn& in, uint64_t si, uint64_t di, bool& equal) {
    using T = uint_t<S>;
    if constexpr (OP == StrOp::Movs) {
        T v;
        return read_mem(c, in.sego, si, v) && write_mem(c, ES, di, v);
    } else if constexpr (OP == StrOp::Stos) {
        return write_mem(c, ES, di, static_cast<T>(c.s.gpr[RAX]));
    } else if constexpr (OP == StrOp::Lods) {
        T v;
        if (!read_mem(c, in.sego, si, v)) return false;
        set_reg<S>(c, RAX, v);
        return true;
    } else {
        // CMPS compares [rSI] with ES:[rDI]; SCAS compares rAX with ES:[rDI]; flags as CMP.
        T a, b;
        if constexpr (OP == StrOp::Cmps) {
            if (!read_mem(c, in.sego, si, a)) return false;
        } else {
            a = get_reg<S>(c, RAX);
        }
        if (!read_mem(c, ES, di, b)) return false;
        set_lazy(c, FlagOp::Sub, S, T(a - b), a, b);
        equal = a == b;
        return true;
    }
}

template <StrOp OP, unsigned S, unsigned A>
ExecStatus string_insn(Cpu& c, const Insn& in) {
    constexpr uint64_t m = base::size_mask(A);
    const bool down = c.s.rflags & DF;
    const uint64_t step = down ? uint64_t{0} - S : uint64_t{S};
    uint64_t si = addr_reg<A>(c, RSI);
    uint64_t di = addr_reg<A>(c, RDI);
    auto commit_index = [&] {
        if constexpr (reads_source(OP)) set_addr_reg<A>(c, RSI, si);
        if constexpr (uses_destination(OP)) set_addr_reg<A>(c, RDI, di);
    };

    bool equal = false;
    if (!(in.prefix & (Prefix::REP | Prefix::REPNE))) {
        if (!element<OP, S>(c, in, si, di, equal)) return ExecStatus::Fault;
        si = (si + step) & m;
        di = (di + step) & m;
        commit_index();
        return ExecStatus::Next;
    }

    uint64_t count = addr_reg<A>(c, RCX);
    if (count == 0) return ExecStatus::Next;
    // Every exit from the loop leaves rCX/rSI/rDI describing the iterations completed, so a fault
    // or a yield resumes exactly where it stopped (APM Vol 3, 1.2.6 "Repeat Prefixes").
    auto commit = [&] {
        commit_index();
        set_addr_reg<A>(c, RCX, count);
    };
    auto yield = [&] {
        commit();
        c.s.rip() -= in.len;  // re-execute the instruction for the remaining iterations
        return ExecStatus::Branch;
    };

    // With TF set, each iteration ends in a single-step trap with RIP still at the instruction,
    // as debuggers stepping a REP expect: do one element per execution.
    const bool single_step = c.s.rflags & TF;
    const uint64_t budget = single_step ? kElementCost : kWorkBudget;
    uint64_t work = 0;
    bool try_bulk = has_bulk_path(OP) && !single_step;
    uint64_t dpage = 0, spage = 0;  // pages of the per-element stretch (bulk path retried after)
    for (;;) {
        if constexpr (has_bulk_path(OP)) {
            if (try_bulk && count >= kBulkMinBytes / S) {
                const uint64_t k = bulk_run<OP, S, A>(c, in, si, di, count, down, budget - work);
                if (k != 0) {
                    si = (si + k * step) & m;
                    di = (di + k * step) & m;
                    count -= k;
                    work += k * S;
                    if (count == 0) return commit(), ExecStatus::Next;
                    if (work >= budget || c.s.block_break) return yield();
                    continue;
                }
                // Per element until one of the pointers enters a new page.
                try_bulk = false;
                dpage = base::page_base(linear(c, ES, di));
                spage = base::page_base(linear(c, in.sego, si));
            }
        }
        if (!element<OP, S>(c, in, si, di, equal)) {
            commit();
            return ExecStatus::Fault;
        }
        si = (si + step) & m;
        di = (di + step) & m;
        --count;
        if (count == 0) return commit(), ExecStatus::Next;
        if constexpr (compares(OP)) {
            // REPE/REPZ stops on a mismatch, REPNE/REPNZ on a match.
            const bool stop = (in.prefix & Prefix::REPNE) ? equal : !equal;
            if (stop) return commit(), ExecStatus::Next;
        }
        work += kElementCost;
        // A device asked to stop the run, or the copy overwrote decoded code: let the loop see it.
        if (work >= budget || c.s.block_break) return yield();
        if constexpr (has_bulk_path(OP)) {
            if (!try_bulk)
                try_bulk = base::page_base(linear(c, ES, di)) != dpage ||
                           (OP == StrOp::Movs && base::page_base(linear(c, in.sego, si)) != spage);
        }
    }
}

template <StrOp OP, unsigned S>
Handler pick_asize(const Insn& in) {
    switch (in.asize) {
        case 2:
            return &string_insn<OP, S, 2>;
        case 4:
            return &string_insn<OP, S, 4>;
        case 8:
            return &string_insn<OP, S, 8>;
        default:
            return nullptr;
    }
}

}  // namespace

Handler bind_string(const Insn& in) {
    switch (in.mnemonic) {
        case ZYDIS_MNEMONIC_MOVSB:
            return pick_asize<StrOp::Movs, 1>(in);
        case ZYDIS_MNEMONIC_MOVSW:
            return pick_asize<StrOp::Movs, 2>(in);
        case ZYDIS_MNEMONIC_MOVSD:
            return pick_asize<StrOp::Movs, 4>(in);
        case ZYDIS_MNEMONIC_MOVSQ:
            return pick_asize<StrOp::Movs, 8>(in);
        case ZYDIS_MNEMONIC_STOSB:
            return pick_asize<StrOp::Stos, 1>(in);
        case ZYDIS_MNEMONIC_STOSW:
            return pick_asize<StrOp::Stos, 2>(in);
        case ZYDIS_MNEMONIC_STOSD:
            return pick_asize<StrOp::Stos, 4>(in);
        case ZYDIS_MNEMONIC_STOSQ:
            return pick_asize<StrOp::Stos, 8>(in);
        case ZYDIS_MNEMONIC_LODSB:
            return pick_asize<StrOp::Lods, 1>(in);
        case ZYDIS_MNEMONIC_LODSW:
            return pick_asize<StrOp::Lods, 2>(in);
        case ZYDIS_MNEMONIC_LODSD:
            return pick_asize<StrOp::Lods, 4>(in);
        case ZYDIS_MNEMONIC_LODSQ:
            return pick_asize<StrOp::Lods, 8>(in);
        case ZYDIS_MNEMONIC_CMPSB:
            return pick_asize<StrOp::Cmps, 1>(in);
        case ZYDIS_MNEMONIC_CMPSW:
            return pick_asize<StrOp::Cmps, 2>(in);
        case ZYDIS_MNEMONIC_CMPSD:
            return pick_asize<StrOp::Cmps, 4>(in);
        case ZYDIS_MNEMONIC_CMPSQ:
            return pick_asize<StrOp::Cmps, 8>(in);
        case ZYDIS_MNEMONIC_SCASB:
            return pick_asize<StrOp::Scas, 1>(in);
        case ZYDIS_MNEMONIC_SCASW:
            return pick_asize<StrOp::Scas, 2>(in);
        case ZYDIS_MNEMONIC_SCASD:
            return pick_asize<StrOp::Scas, 4>(in);
        case ZYDIS_MNEMONIC_SCASQ:
            return pick_asize<StrOp::Scas, 8>(in);
        default:
            return nullptr;
    }
}

}  // namespace vx86::cpu
