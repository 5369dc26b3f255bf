// The fetch-execute loop: between blocks it delivers pending events and honours exits; inside a
// block it calls each instruction's bound handler with no decoding, lookups or allocation.
#include "cpu/vcpu.h"

#include <algorithm>
#include <cstring>

#include "arch/vectors.h"
#include "cpu/event/delivery.h"
#include "cpu/exec/dispatch.h"
#include "cpu/exec/families.h"

namespace vx86::cpu {

using namespace arch;

Vcpu::Vcpu(mem::GuestMemory& memory, bus::PioBus& pio, CpuidModel model)
    : m_model(std::move(model)), m_cpu(memory, pio, m_model) {
    m_decoder.configure(m_model.has("abm"), m_model.has("bmi1"));
    m_cpu.transitions = this;
    m_smm.set_vendor_hooks(&m_svm_hooks);
    reset();
}

void Vcpu::reset() {
    m_cpu.s.reset();
    m_cpu.s.gpr[RDX] = m_model.query(1, 0).eax;
    m_cpu.mmu.set_address_space(0);
    state_changed();
}

void Vcpu::state_changed() {
    m_cpu.s.update_mode();
    m_cpu.mmu.set_address_space(m_cpu.s.smm.in_smm ? 1 : 0);
    Svm::sync_mmu(m_cpu);
    m_cpu.mmu.flush();
    m_cache.flush();
}

void Vcpu::request_exit(ExitReason reason, uint32_t code) {
    m_cpu.requested_exit = reason;
    m_cpu.requested_code = code;
    m_cpu.s.block_break = true;
}

void Vcpu::inject_smi() {
    m_cpu.s.smm.smi_pending = true;
    m_cpu.s.block_break = true;
}

void Vcpu::inject_init() {
    m_cpu.s.smm.init_latched = true;
    m_cpu.s.block_break = true;
}

void Vcpu::inject_nmi() {
    m_cpu.s.nmi_pending = true;
    m_cpu.s.block_break = true;
}

// INIT: the power-on state except what INIT leaves alone (APM Vol 2, 14.1.4 "INIT"; SDM Table
// 10-1): MSRs, SMBASE and the SMI count survive; the instruction count keeps running.
void Vcpu::init_signal() {
    CpuState& s = m_cpu.s;
    const Msrs msr = s.msr;
    const uint64_t smbase = s.smm.smbase, smi_count = s.smm.smi_count, icount = s.icount;
    const bool smi_pending = s.smm.smi_pending;
    reset();
    s.msr = msr;
    s.smm.smbase = smbase;
    s.smm.smi_count = smi_count;
    s.smm.smi_pending = smi_pending;
    s.icount = icount;
}

ExecStatus Vcpu::rsm(Cpu& c) {
    if (m_smm.rsm(c) == SmmStatus::Shutdown) {
        c.exit.reason = ExitReason::Shutdown;
        return ExecStatus::Exit;
    }
    Svm::sync_mmu(c);  // back in a resumed L2: its ASID and nested paging again
    m_shadow_reloaded = true;
    if (c.mmu.memory().cross_space_alias()) m_cache.flush();
    return ExecStatus::Branch;
}

ExecStatus Vcpu::vmrun(Cpu& c, uint64_t vmcb_pa) {
    const SvmStatus st = m_svm.vmrun(c, vmcb_pa);
    // L2 was entered (even if EVENTINJ delivery left it again at once): the single-step trap of
    // the VMRUN itself is not taken here (APM Vol 2, 15.6), and the shadow is L2's. After
    // VMEXIT_INVALID VMRUN simply completed in L1.
    if (st != SvmStatus::Invalid) {
        m_world_switch = true;
        m_shadow_reloaded = true;
    }
    if (st == SvmStatus::Shutdown) {
        c.exit.reason = ExitReason::Shutdown;
        return ExecStatus::Exit;
    }
    return ExecStatus::Branch;
}

ExecStatus Vcpu::vmexit(Cpu& c, const SvmExitRequest& r, uint64_t next_rip) {
    m_world_switch = true;
    if (m_svm.vmexit(c, r, next_rip) == SvmStatus::Shutdown) {
        c.exit.reason = ExitReason::Shutdown;
        return ExecStatus::Exit;
    }
    return ExecStatus::Branch;
}

void Vcpu::vmload(Cpu& c, uint64_t vmcb_pa) { m_svm.vmload(c, vmcb_pa); }

void Vcpu::vmsave(Cpu& c, uint64_t vmcb_pa) { m_svm.vmsave(c, vmcb_pa); }

Vcpu::Step Vcpu::vmexit_now(uint64_t code, uint64_t info1, uint64_t info2) {
    SvmExitRequest r;
    r.code = code;
    r.info1 = info1;
    r.info2 = info2;
    r.rip = m_cpu.s.rip();
    if (m_svm.vmexit(m_cpu, r, 0) == SvmStatus::Shutdown) {
        m_cpu.exit.reason = ExitReason::Shutdown;
        return Step::Exit;
    }
    return Step::Continue;
}

// SMI outranks INIT, NMI and INTR (SDM Vol 3, Table 6-2); in SMM both stay latched until RSM.
// GIF=0 holds both (APM Vol 2, 15.17.1); in guest mode their intercepts turn them into #VMEXIT
// and they stay pending for L1, which sees them once it sets GIF again.
Vcpu::Step Vcpu::take_smi_or_init() {
    CpuState& s = m_cpu.s;
    if (s.smm.in_smm || !s.svm.gif) return Step::Continue;
    if (m_cpu.mmu.mmio.completed) {
        // The instruction whose MMIO access the embedder just answered restarts first (as KVM
        // completes userspace I/O before injecting events); the SMI or INIT waits until an
        // instruction has retired.
        if (!m_event_waited) {
            m_event_waited = true;
            m_event_wait_icount = s.icount;
        }
        if (s.icount == m_event_wait_icount) {
            s.block_break = true;
            return Step::Continue;
        }
    }
    m_event_waited = false;
    if (s.smm.smi_pending) {
        if (s.svm.intercept_misc1(InterceptMisc1::SMI)) return vmexit_now(0x62);
        s.smm.smi_pending = false;
        if (m_smm.enter(m_cpu) == SmmStatus::Shutdown) {
            m_cpu.exit.reason = ExitReason::Shutdown;
            return Step::Exit;
        }
        if (m_cpu.mmu.memory().cross_space_alias()) m_cache.flush();
        return Step::Continue;
    }
    if (s.smm.init_latched) {
        if (s.svm.intercept_misc1(InterceptMisc1::INIT)) return vmexit_now(0x63);
        s.smm.init_latched = false;
        init_signal();
    }
    return Step::Continue;
}

void Vcpu::complete_io_in(uint32_t value) {
    if (!m_cpu.pio_in_pending) return;
    m_cpu.pio_in_pending = false;
    switch (m_cpu.exit.io.size) {
        case 1: m_cpu.s.gpr[RAX] = (m_cpu.s.gpr[RAX] & ~uint64_t{0xff}) | (value & 0xff); break;
        case 2: m_cpu.s.gpr[RAX] = (m_cpu.s.gpr[RAX] & ~uint64_t{0xffff}) | (value & 0xffff); break;
        default: m_cpu.s.gpr[RAX] = value; break;
    }
}

void Vcpu::complete_mmio(const uint8_t* data, unsigned size) {
    Mmu& mmu = m_cpu.mmu;
    if (!mmu.mmio.pending) return;
    mmu.mmio.pending = false;
    mmu.mmio.completed = true;
    if (!mmu.mmio.write && data) std::memcpy(mmu.mmio.data, data, std::min<unsigned>(size, 8));
}

Vcpu::Step Vcpu::deliver(const Event& ev) {
    CpuState& s = m_cpu.s;
    SvmExitRequest r;
    if (ev.vector == kNpfVector && ev.type == EventType::Exception) {
        // A nested page fault raised by an instruction or a fetch (APM Vol 2, 15.25.6).
        r.code = 0x400;
        r.info1 = s.fault.npf_info;
        r.info2 = s.fault.cr2;
        r.rip = ev.insn_rip;
        s.rip() = ev.insn_rip;
    } else {
        switch (deliver_event(s, m_cpu.mmu, ev, s.svm.guest_mode ? &r : nullptr)) {
            case DeliveryResult::Delivered: return Step::Continue;
            case DeliveryResult::VmExit: break;
            case DeliveryResult::TripleFault:
                m_cpu.exit.reason = ExitReason::Shutdown;
                return Step::Exit;
        }
    }
    m_world_switch = true;
    if (m_svm.vmexit(m_cpu, r, 0) == SvmStatus::Shutdown) {
        m_cpu.exit.reason = ExitReason::Shutdown;
        return Step::Exit;
    }
    return Step::Continue;
}

// Events while L2 runs (APM Vol 2, 15.21): NMI and INTR exit when intercepted, whatever L2's own
// masking says; V_INTR_MASKING makes L1's IF at VMRUN gate physical interrupts; a virtual
// interrupt (V_IRQ) needs L2's IF, no shadow, V_GIF, and a priority above V_TPR.
Vcpu::Step Vcpu::deliver_pending_guest() {
    CpuState& s = m_cpu.s;
    SvmState& v = s.svm;
    if (s.nmi_pending) {
        if (v.intercept_misc1(InterceptMisc1::NMI)) return vmexit_now(0x61);
        if (!s.nmi_blocked && !(s.interrupt_shadow & Shadow::MOV_SS)) {
            s.nmi_pending = false;
            return deliver(Event{static_cast<uint8_t>(Vector::NMI), EventType::Nmi, false, 0, 0, s.rip()});
        }
    }
    if (m_intc && m_intc->has_interrupt()) {
        const bool gate = v.v_intr_masking() ? (v.host.rflags & Rflags::IF) : (s.rflags & Rflags::IF);
        if (gate) {
            // The exit is not held off by an interrupt shadow (KVM: "vmexits aren't blocked").
            if (v.intercept_misc1(InterceptMisc1::INTR)) return vmexit_now(0x60);
            if ((s.rflags & Rflags::IF) && !s.interrupt_shadow) {
                const uint8_t vec = m_intc->acknowledge();
                return deliver(Event{vec, EventType::External, false, 0, 0, s.rip()});
            }
        }
    }
    const uint32_t ic = v.ctl.int_ctl;
    if ((ic & IntCtl::V_IRQ) && (!v.vgif() || (ic & IntCtl::V_GIF)) && (s.rflags & Rflags::IF) &&
        !s.interrupt_shadow) {
        const uint32_t prio = (ic & IntCtl::V_INTR_PRIO_MASK) >> IntCtl::V_INTR_PRIO_SHIFT;
        // "Higher than V_TPR" (15.21.4); QEMU takes equal priorities too.
        if ((ic & IntCtl::V_IGN_TPR) || prio > (ic & IntCtl::V_TPR_MASK)) {
            if (v.intercept_misc1(InterceptMisc1::VINTR)) return vmexit_now(0x64);
            v.ctl.int_ctl &= ~IntCtl::V_IRQ;
            return deliver(Event{static_cast<uint8_t>(v.ctl.int_vector & 0xff), EventType::External,
                                 false, 0, 0, s.rip()});
        }
    }
    return Step::Continue;
}

Vcpu::Step Vcpu::deliver_pending() {
    CpuState& s = m_cpu.s;
    if (!s.svm.gif) return Step::Continue;  // GIF=0 holds NMI and INTR (15.17.1)
    if (s.svm.guest_mode) return deliver_pending_guest();
    if (s.nmi_pending && !s.nmi_blocked && !(s.interrupt_shadow & Shadow::MOV_SS)) {
        s.nmi_pending = false;
        return deliver(Event{static_cast<uint8_t>(Vector::NMI), EventType::Nmi, false, 0, 0, s.rip()});
    }
    if ((s.rflags & Rflags::IF) && !s.interrupt_shadow && m_intc && m_intc->has_interrupt()) {
        const uint8_t v = m_intc->acknowledge();
        return deliver(Event{v, EventType::External, false, 0, 0, s.rip()});
    }
    return Step::Continue;
}

void Vcpu::emit_fault_insn(Block& b, Handler h) {
    Insn& in = b.insns[b.n++];
    in = Insn{};
    in.fn = h;
    in.inner = h;
    in.len = 0;
    in.meta = InsnMeta::ENDS_BLOCK;
}

// Decodes straight-line code starting at the current RIP from `avail` bytes at `host`.
// Returns false when the first instruction runs past those bytes (a page-crossing instruction).
bool Vcpu::build_block(Block& b, uint64_t gpa, const uint8_t* host, unsigned avail, bool cacheable) {
    CpuState& s = m_cpu.s;
    b.n = 0;
    b.code_size = s.code_size;
    uint64_t rip = s.rip();
    unsigned off = 0;
    ZydisDecodedInstruction zi;
    ZydisDecodedOperand zo[ZYDIS_MAX_OPERAND_COUNT];
    while (b.n < Block::kMaxInsns && off < avail) {
        if (s.mode != CpuMode::Long64 && rip > s.seg[CS].limit) {
            emit_fault_insn(b, &exec_gp0);
            break;
        }
        Insn& in = b.insns[b.n];
        const DecodeResult r = m_decoder.decode(host + off, avail - off, s.code_size, in, zi, zo);
        if (r == DecodeResult::NeedMoreBytes) {
            if (b.n == 0 && !cacheable) {
                emit_fault_insn(b, &exec_gp0);  // cannot happen with a full 15-byte window
                break;
            }
            if (b.n == 0) return false;
            break;
        }
        if (r != DecodeResult::Ok) {
            emit_fault_insn(b, r == DecodeResult::TooLong ? &exec_gp0 : &exec_ud);
            break;
        }
        if (s.mode != CpuMode::Long64 && rip + in.len - 1 > s.seg[CS].limit) {
            emit_fault_insn(b, &exec_gp0);
            break;
        }
        bind(in);
        ++b.n;
        off += in.len;
        rip += in.len;
        if (in.meta & InsnMeta::ENDS_BLOCK) break;
    }
    if (cacheable) {
        mem::MemSlot* slot = m_cpu.mmu.memory().find(m_cpu.mmu.address_space(), gpa);
        const uint64_t pi = slot->page_index(gpa);
        // Write-TLB entries for the page go when it first holds code; later blocks only add chunks.
        const bool had_code = slot->page_code_mask[pi] != 0;
        slot->page_code_mask[pi] |= mem::GuestMemory::code_chunks(gpa, off ? off : 1);
        b.gen_ptr = &slot->page_gen[pi];
        b.gen = slot->page_gen[pi];
        b.gpa = gpa;
        if (!had_code) m_cpu.mmu.drop_writes_to(base::page_base(gpa));
    }
    return true;
}

Block* Vcpu::fetch_block(Block& scratch) {
    CpuState& s = m_cpu.s;
    if (s.mode != CpuMode::Long64 && s.rip() > s.seg[CS].limit) {
        s.fault = Fault{static_cast<uint8_t>(Vector::GP), true, 0, 0};
        return nullptr;
    }
    const uint64_t la = (s.segc[CS].base + s.rip()) & s.la_mask;
    uint64_t gpa;
    const uint8_t* host;
    if (!m_cpu.mmu.translate_fetch(la, gpa, host)) return nullptr;
    if (host) {
        // SMRAM and normal memory may differ at one address: the key carries the address space.
        const uint64_t key = gpa | (uint64_t{m_cpu.mmu.address_space()} << 63);
        if (Block* b = m_cache.lookup(key, s.code_size)) return b;
        const unsigned avail = static_cast<unsigned>(base::kPageSize - base::page_offset(gpa));
        Block& b = m_cache.slot(key);
        if (build_block(b, gpa, host, avail, true)) {
            b.gpa = key;
            return &b;
        }
        b.gpa = ~uint64_t{0};
    }
    // Page-crossing instruction or code outside RAM: decode one uncached instruction from a
    // 15-byte window assembled through the MMU (a fault on the second page is a real #PF).
    uint8_t buf[ZYDIS_MAX_INSTRUCTION_LENGTH];
    unsigned have = 0;
    uint64_t cur = la;
    while (have < sizeof buf) {
        uint64_t g;
        const uint8_t* h;
        if (!m_cpu.mmu.translate_fetch(cur, g, h)) {
            if (have == 0) return nullptr;
            // Decode what we have; only an instruction that needs these bytes faults.
            Insn probe;
            ZydisDecodedInstruction zi;
            ZydisDecodedOperand zo[ZYDIS_MAX_OPERAND_COUNT];
            if (m_decoder.decode(buf, have, s.code_size, probe, zi, zo) == DecodeResult::NeedMoreBytes)
                return nullptr;
            break;
        }
        const unsigned chunk = std::min<unsigned>(sizeof buf - have,
                                                  static_cast<unsigned>(base::kPageSize - base::page_offset(cur)));
        if (!m_cpu.mmu.phys_read(g, buf + have, chunk)) {
            // Open bus reads as 0xff; continue decoding what the bus returned.
        }
        have += chunk;
        cur = (cur + chunk) & s.la_mask;
    }
    build_block(scratch, gpa, buf, have, false);
    scratch.n = std::min<uint8_t>(scratch.n, 1);
    scratch.gpa = ~uint64_t{0};
    return &scratch;
}

Vcpu::Step Vcpu::execute(Block& b, uint64_t budget, uint64_t& retired) {
    Cpu& c = m_cpu;
    CpuState& s = c.s;
    const uint8_t shadow_before = s.interrupt_shadow;
    const bool tf = s.rflags & Rflags::TF;
    uint64_t n = std::min<uint64_t>(b.n, budget);
    if (shadow_before || tf) n = std::min<uint64_t>(n, 1);
    // The count is raised for the whole block up front and lowered on an early exit, so the
    // per-instruction path stores nothing but RIP. Instructions that read the TSC end their
    // block, so they always see every instruction up to and including themselves.
    s.icount += n;
    retired = n;
    Step step = Step::Continue;
    bool faulted = false;
    for (uint64_t i = 0; i < n; ++i) {
        const Insn& in = b.insns[i];
        const uint64_t start = s.rip();
        s.rip() = start + in.len;
        const ExecStatus st = in.fn(c, in);
        if (st == ExecStatus::Next && !s.block_break) [[likely]]
            continue;
        s.block_break = false;
        if (st == ExecStatus::Fault) {
            s.rip() = start;
            s.icount -= n - i;
            retired = i;
            faulted = true;
            if (s.fault.vector == kMmioExitVector) {
                // The instruction restarts after the embedder answered (Vcpu::complete_mmio).
                c.exit.reason = ExitReason::Mmio;
                return Step::Exit;
            }
            if (deliver(event_from_fault(s.fault, start)) == Step::Exit) return Step::Exit;
            goto done;
        }
        s.icount -= n - i - 1;
        retired = i + 1;
        if (st == ExecStatus::Exit) step = Step::Exit;
        goto done;
    }
done:
    // A shadow RSM or VMRUN just gave back belongs to the next instruction, not to this one.
    if (shadow_before && !m_shadow_reloaded) s.interrupt_shadow &= static_cast<uint8_t>(~shadow_before);
    m_shadow_reloaded = false;
    // Across VMRUN or #VMEXIT the trap flag that mattered was the other world's (15.6).
    const bool switched = m_world_switch;
    m_world_switch = false;
    if (tf && !faulted && !switched) {
        // Single-step trap after the instruction (APM Vol 2, 13.1.4 "Single-Step"). When the
        // instruction exited to the embedder (I/O), the trap is owed and delivered on resume.
        s.dr[6] |= 1u << 14;
        if (step == Step::Exit) {
            s.db_trap_pending = true;
        } else if (deliver(Event{static_cast<uint8_t>(Vector::DB), EventType::Exception, false, 0, 0,
                                 s.rip()}) == Step::Exit) {
            return Step::Exit;
        }
    }
    return step;
}

uint8_t mode_key(const CpuState& s) { return static_cast<uint8_t>(s.code_size | (s.cpl << 4)); }

Block* Vcpu::follow_link(Block& from) {
    const CpuState& s = m_cpu.s;
    for (BlockLink& l : from.link) {
        if (l.to && l.rip == s.rip() && l.cs_base == s.segc[CS].base &&
            l.tlb_epoch == m_cpu.mmu.tlb_epoch() && l.mode_key == mode_key(s) &&
            l.cs_limit == s.seg[CS].limit && l.to->gpa == l.gpa && *l.to->gen_ptr == l.to->gen)
            return l.to;
    }
    return nullptr;
}

void Vcpu::add_link(Block& from, Block& to) {
    const CpuState& s = m_cpu.s;
    BlockLink& l = from.link[from.next_link];
    from.next_link ^= 1;
    l = BlockLink{&to, to.gpa, s.rip(), s.segc[CS].base, m_cpu.mmu.tlb_epoch(), s.seg[CS].limit,
                  mode_key(s)};
}

const ExitInfo& Vcpu::run(uint64_t max_insns) {
    Cpu& c = m_cpu;
    CpuState& s = c.s;
    mem::GuestMemory& mem = c.mmu.memory();
    c.exit = ExitInfo{};
    uint64_t budget = max_insns;
    Block* prev = nullptr;  // the last cached block executed, for chaining
    for (;;) {
        if (c.requested_exit != ExitReason::None) [[unlikely]] {
            c.exit.reason = c.requested_exit;
            c.exit.debug_exit_code = c.requested_code;
            c.requested_exit = ExitReason::None;
            s.block_break = false;
            return c.exit;
        }
        if (c.mmu.seen_map_epoch != mem.map_epoch()) [[unlikely]] {
            c.mmu.flush();
            m_cache.flush();
            c.mmu.seen_map_epoch = mem.map_epoch();
            prev = nullptr;
        }
        if (s.db_trap_pending) [[unlikely]] {
            s.db_trap_pending = false;
            if (deliver(Event{static_cast<uint8_t>(Vector::DB), EventType::Exception, false, 0, 0,
                              s.rip()}) == Step::Exit)
                return c.exit;
            prev = nullptr;
        }
        if (s.smm.smi_pending || s.smm.init_latched) [[unlikely]] {
            if (take_smi_or_init() == Step::Exit) return c.exit;
            prev = nullptr;
        }
        if (s.nmi_pending || ((s.rflags & Rflags::IF) && m_intc) || s.svm.guest_mode) {
            if (deliver_pending() == Step::Exit) return c.exit;
        }
        if (s.halted) {
            c.exit.reason = ExitReason::Hlt;
            return c.exit;
        }
        if (budget == 0) {
            c.exit.reason = ExitReason::InsnLimit;
            return c.exit;
        }
        Block* b = prev ? follow_link(*prev) : nullptr;
        if (!b) {
            b = fetch_block(m_scratch);
            if (!b) {
                if (deliver(event_from_fault(s.fault, s.rip())) == Step::Exit) return c.exit;
                prev = nullptr;
                --budget;  // a delivered fault uses budget too, so fault loops still return
                continue;
            }
            if (prev && b != &m_scratch) add_link(*prev, *b);
        }
        uint64_t retired = 0;
        const Step st = execute(*b, budget, retired);
        // Budget counts retired instructions, and at least one unit per block so that a guest
        // whose every instruction faults (a fault loop) still comes back to the caller.
        budget -= retired ? retired : 1;
        if (st == Step::Exit) return c.exit;
        prev = b == &m_scratch ? nullptr : b;
    }
}

}  // namespace vx86::cpu
