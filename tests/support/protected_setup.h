// Descriptor builders and privilege-level setups for instruction tests: user-mode GDT entries, a
// TSS, a 32-bit IDT of HLT stubs and ring-3 entry in 32-bit and 64-bit mode, on top of TestMachine.
#pragma once

#include <cstdint>
#include <span>

#include "arch/descriptor.h"
#include "cpu/mmu/segmentation.h"
#include "support/test_machine.h"

namespace vx86::test {

// GDT slots beyond TestMachine's six: user data (DPL 3), user 32/64-bit code (DPL 3), a TSS
// (16 bytes in long mode, so slot 10 stays free) and free slots from 11 on for test-specific
// entries.
constexpr uint16_t kUserData = 0x33, kUserCode32 = 0x3b, kUserCode64 = 0x43, kTssSel = 0x48;
constexpr unsigned kFreeSlot = 11;
constexpr uint64_t kTss = 0x40000, kRsp0 = 0x70000, kUserStack = 0x50000;

// Access byte: P | DPL | S | type. Flags nibble: G(8) D/B(4) L(2) AVL(1).
constexpr uint64_t seg_desc(uint32_t base, uint32_t raw_limit, uint8_t access, uint8_t flags) {
    return (raw_limit & 0xffffull) | (uint64_t{base & 0xffffff} << 16) | (uint64_t{access} << 40) |
           (uint64_t{(raw_limit >> 16) & 0xf} << 48) | (uint64_t{flags & 0xfu} << 52) |
           (uint64_t{base >> 24} << 56);
}
constexpr uint8_t access(uint8_t dpl, uint8_t type, bool s = true, bool p = true) {
    return static_cast<uint8_t>((p ? 0x80 : 0) | (dpl << 5) | (s ? 0x10 : 0) | (type & 0xf));
}
// Gate (call/interrupt/trap) low quadword; the high quadword of a 64-bit gate is offset >> 32.
constexpr uint64_t gate_desc(uint16_t sel, uint64_t off, uint8_t type, uint8_t dpl,
                             uint8_t params = 0) {
    return (off & 0xffff) | (uint64_t{sel} << 16) | (uint64_t{params & 0x1fu} << 32) |
           (uint64_t{access(dpl, type, false)} << 40) | (((off >> 16) & 0xffff) << 48);
}

inline void set_gdt(TestMachine& m, unsigned index, uint64_t lo) {
    m.poke<uint64_t>(TestMachine::kGdt + index * 8, lo);
    if (m.s().gdtr.limit < index * 8 + 7) m.s().gdtr.limit = index * 8 + 7;
}

inline cpu::Segment cache(uint16_t sel, uint64_t lo) {
    return cpu::segment_from_descriptor(sel, arch::RawDescriptor{lo, 0});
}

// User segments, and a TSS whose ring-0 stack is kRsp0 (32-bit layout: ESP0 at 4, SS0 at 8;
// 64-bit layout: RSP0 at 4). TR is loaded directly (busy), as LTR would leave it.
inline void add_user_segments(TestMachine& m) {
    using namespace arch;
    set_gdt(m, 6, seg_desc(0, 0xfffff, access(3, 0x3), 0xc));
    set_gdt(m, 7, seg_desc(0, 0xfffff, access(3, 0xb), 0xc));
    set_gdt(m, 8, seg_desc(0, 0xfffff, access(3, 0xb), 0xa));
    const bool lm = m.s().long_mode();
    set_gdt(m, 9,
            seg_desc(static_cast<uint32_t>(kTss), 0x67, access(0, SysType::TSS_BUSY, false), 0));
    set_gdt(m, 10, 0);
    m.s().gdtr.limit = 16 * 8 - 1;
    m.poke<uint64_t>(kTss + 4, kRsp0);
    if (!lm) m.poke<uint32_t>(kTss + 8, TestMachine::kData);
    m.s().tr =
        cpu::Segment{kTssSel, static_cast<uint16_t>(Attr::P | SysType::TSS_BUSY), 0x67, kTss};
}

// Drops to CPL 3 with user CS/SS/DS/ES and RSP = kUserStack (mode chosen by the current EFER.LMA).
inline void enter_ring3(TestMachine& m) {
    add_user_segments(m);
    auto& st = m.s();
    const bool lm = st.long_mode();
    const uint64_t data = seg_desc(0, 0xfffff, access(3, 0x3), 0xc);
    st.seg[cpu::CS] = lm ? cache(kUserCode64, seg_desc(0, 0xfffff, access(3, 0xb), 0xa))
                         : cache(kUserCode32, seg_desc(0, 0xfffff, access(3, 0xb), 0xc));
    for (unsigned r : {cpu::SS, cpu::DS, cpu::ES, cpu::FS, cpu::GS})
        st.seg[r] = cache(kUserData, data);
    st.gpr[cpu::RSP] = kUserStack;
    m.vcpu->state_changed();
}

// A 32-bit IDT (interrupt gates to kCode32) whose gate v points at a HLT at kIdtStubs + 16 * v,
// so TestMachine::halted_vector() works in protected mode too.
inline void install_idt32(TestMachine& m, uint8_t type = arch::SysType::INT_GATE) {
    for (unsigned v = 0; v < 256; ++v) {
        const uint64_t target = TestMachine::kIdtStubs + 16 * v;
        m.poke<uint64_t>(TestMachine::kIdt + 8 * v,
                         gate_desc(TestMachine::kCode32, target, type, 0));
        m.poke<uint8_t>(target, 0xf4);
    }
    m.s().idtr = {TestMachine::kIdt, 256 * 8 - 1};
}

// Sets the DPL of gate v in the IDT installed by install_idt64 / install_idt32.
inline void set_gate_dpl(TestMachine& m, unsigned v, uint8_t dpl) {
    const uint64_t at = TestMachine::kIdt + v * (m.s().long_mode() ? 16 : 8);
    const uint64_t lo = m.read<uint64_t>(at);
    m.poke<uint64_t>(at, (lo & ~(uint64_t{3} << 45)) | (uint64_t{dpl} << 45));
}

// Real-mode IVT (at 0, 256 entries) whose vector v points at a HLT at kIdtStubs + 16 * v.
inline void install_ivt(TestMachine& m) {
    for (unsigned v = 0; v < 256; ++v) {
        m.poke<uint32_t>(4 * v,
                         static_cast<uint32_t>((TestMachine::kIdtStubs >> 4) << 16 | (16 * v)));
        m.poke<uint8_t>(TestMachine::kIdtStubs + 16 * v, 0xf4);
    }
    m.s().idtr = {0, 0x3ff};
}
// The vector whose real-mode HLT stub stopped the vCPU, or -1.
inline int halted_real_vector(TestMachine& m) {
    if (!m.s().halted || m.s().seg[cpu::CS].base != TestMachine::kIdtStubs || m.s().rip() == 0)
        return -1;
    return static_cast<int>((m.s().rip() - 1) / 16);
}

// A flat 64-bit or 32-bit machine whose IDT halts on a per-vector stub (see halted_vector()).
inline TestMachine& long64(TestMachine& m) {
    m.enter_long64();
    m.install_idt64();
    return m;
}

inline TestMachine& prot32(TestMachine& m) {
    m.enter_protected32();
    install_idt32(m);
    return m;
}

// Runs `code` for at most `n` instructions and returns the vector it halted on, or -1.
inline int run_for_vector(TestMachine& m, std::span<const uint8_t> code, uint64_t n = 20) {
    m.load_code(code);
    m.run(n);
    return m.halted_vector();
}

}  // namespace vx86::test
