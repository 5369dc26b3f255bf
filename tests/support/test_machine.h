// A bare vCPU with RAM and a port bus for unit and differential tests: puts the CPU directly into
// flat real, 32-bit protected or 64-bit long mode and runs code placed at kCodeBase.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <stdexcept>
#include <vector>

#include "arch/control_regs.h"
#include "arch/descriptor.h"
#include "arch/paging.h"
#include "cpu/vcpu.h"
#include "mem/guest_memory.h"

namespace vx86::test {

class TestMachine {
public:
    static constexpr uint64_t kRamSize = 64ull << 20;
    static constexpr uint64_t kPml4 = 0x10000, kPdpt = 0x11000, kPd = 0x12000;  // 1 GiB identity
    static constexpr uint64_t kGdt = 0x20000;
    static constexpr uint64_t kStackTop = 0x90000;
    static constexpr uint64_t kCodeBase = 0x100000;
    static constexpr uint64_t kRealCodeBase = 0x8000;  // reachable with a 16-bit selector
    static constexpr uint64_t kDataBase = 0x200000;
    // GDT selectors: 0x08 code64, 0x10 data, 0x18 code32, 0x20 code16, 0x28 data16.
    static constexpr uint16_t kCode64 = 0x08, kData = 0x10, kCode32 = 0x18, kCode16 = 0x20;

    explicit TestMachine(const char* cpu_option = "max") {
        auto m = cpu::CpuidModel::from_cpu_option(cpu_option);
        if (!m) throw std::runtime_error(m.message());
        auto st = memory.set_slot({0, 0, 0, kRamSize, nullptr, 0});
        if (!st) throw std::runtime_error(st.message());
        vcpu = std::make_unique<cpu::Vcpu>(memory, pio, *m);
        write_gdt();
    }

    cpu::CpuState& s() { return vcpu->state(); }

    void write(uint64_t gpa, const void* data, size_t n) {
        memory.write(0, gpa, {static_cast<const uint8_t*>(data), n});
    }
    void write(uint64_t gpa, std::span<const uint8_t> bytes) { memory.write(0, gpa, bytes); }
    template <typename T>
    T read(uint64_t gpa) {
        T v{};
        memory.read(0, gpa, {reinterpret_cast<uint8_t*>(&v), sizeof v});
        return v;
    }
    template <typename T>
    void poke(uint64_t gpa, T v) {
        write(gpa, &v, sizeof v);
    }

    // Flat 64-bit mode, identity-mapped first GiB with 2 MiB pages, CPL 0.
    void enter_long64() {
        using namespace arch;
        poke<uint64_t>(kPml4, kPdpt | Pte::P | Pte::RW | Pte::US);
        poke<uint64_t>(kPdpt, kPd | Pte::P | Pte::RW | Pte::US);
        for (uint64_t i = 0; i < 512; ++i)
            poke<uint64_t>(kPd + i * 8, (i << 21) | Pte::P | Pte::RW | Pte::US | Pte::PS);
        auto& st = s();
        st.cr0 = Cr0::PE | Cr0::PG | Cr0::ET | Cr0::NE;
        st.cr4 = Cr4::PAE;
        st.cr3 = kPml4;
        st.efer = Efer::LME | Efer::LMA | Efer::SCE | Efer::NXE;
        st.seg[cpu::CS] = seg(kCode64, Attr::CODE | Attr::W_R | Attr::L);
        for (unsigned r : {cpu::DS, cpu::ES, cpu::SS, cpu::FS, cpu::GS})
            st.seg[r] = seg(kData, Attr::W_R | Attr::DB);
        finish();
    }

    // Flat 32-bit protected mode, paging off, CPL 0.
    void enter_protected32() {
        using namespace arch;
        auto& st = s();
        st.cr0 = Cr0::PE | Cr0::ET | Cr0::NE;
        st.cr4 = 0;
        st.efer = 0;
        st.seg[cpu::CS] = seg(kCode32, Attr::CODE | Attr::W_R | Attr::DB);
        for (unsigned r : {cpu::DS, cpu::ES, cpu::SS, cpu::FS, cpu::GS})
            st.seg[r] = seg(kData, Attr::W_R | Attr::DB);
        finish();
    }

    // Real mode with CS:IP = (kRealCodeBase >> 4):0 and segments of 64 KiB.
    void enter_real16() {
        using namespace arch;
        auto& st = s();
        st.cr0 = Cr0::ET;
        st.cr4 = 0;
        st.efer = 0;
        for (unsigned r = 0; r < cpu::kNumSegRegs; ++r) {
            st.seg[r] = cpu::Segment{0, static_cast<uint16_t>(Attr::P | Attr::S | Attr::W_R | Attr::A),
                                     0xffff, 0};
        }
        st.seg[cpu::CS].selector = static_cast<uint16_t>(kRealCodeBase >> 4);
        st.seg[cpu::CS].base = kRealCodeBase;
        st.seg[cpu::CS].attrib |= Attr::CODE;
        st.seg[cpu::SS].selector = static_cast<uint16_t>((kStackTop - 0x10000) >> 4);
        st.seg[cpu::SS].base = kStackTop - 0x10000;
        st.gpr[cpu::RSP] = 0xfff0;
        vcpu->state_changed();
        st.rip() = 0;
    }

    // Places code at kCodeBase (kRealCodeBase in real mode) or `at`, and points RIP at it.
    void load_code(std::span<const uint8_t> code, uint64_t at = 0) {
        const bool real = s().mode == cpu::CpuMode::Real;
        if (at == 0) at = real ? kRealCodeBase : kCodeBase;
        write(at, code);
        s().rip() = real ? at - s().seg[cpu::CS].base : at;
    }

    const cpu::ExitInfo& run(uint64_t max_insns = ~uint64_t{0}) { return vcpu->run(max_insns); }

    // A 64-bit IDT at kIdt whose gate v points at a HLT stub at kIdtStubs + 16 * v, so that after
    // an exception the vCPU halts and halted_vector() names the vector that was delivered.
    static constexpr uint64_t kIdt = 0x30000, kIdtStubs = 0x31000;
    void install_idt64(uint8_t gate_type = arch::SysType::INT_GATE) {
        for (unsigned v = 0; v < 256; ++v) {
            const uint64_t target = kIdtStubs + 16 * v;
            const uint64_t lo = (target & 0xffff) | (uint64_t{kCode64} << 16) |
                                (uint64_t{0x80u | gate_type} << 40) | ((target >> 16 & 0xffff) << 48);
            poke<uint64_t>(kIdt + 16 * v, lo);
            poke<uint64_t>(kIdt + 16 * v + 8, target >> 32);
            poke<uint8_t>(target, 0xf4);  // hlt
        }
        s().idtr = {kIdt, 256 * 16 - 1};
    }
    // In long mode (after enter_long64): makes the 2 MiB page holding `gpa` read-only, with
    // CR0.WP set so that CPL-0 writes to it fault too.
    void make_read_only_2m(uint64_t gpa) {
        using namespace arch;
        const uint64_t i = gpa >> 21;
        poke<uint64_t>(kPd + i * 8, (i << 21) | Pte::P | Pte::US | Pte::PS);
        s().cr0 |= Cr0::WP;
        vcpu->state_changed();
    }
    // The vector whose stub halted the vCPU, or -1.
    int halted_vector() {
        const uint64_t rip = s().rip();
        if (!s().halted || rip <= kIdtStubs || rip > kIdtStubs + 16 * 256) return -1;
        return static_cast<int>((rip - kIdtStubs - 1) / 16);
    }

    mem::GuestMemory memory;
    bus::PioBus pio;
    std::unique_ptr<cpu::Vcpu> vcpu;

private:
    static cpu::Segment seg(uint16_t sel, uint16_t attr) {
        return cpu::Segment{sel, static_cast<uint16_t>(attr | arch::Attr::P | arch::Attr::S |
                                                       arch::Attr::A | arch::Attr::G),
                            0xffffffff, 0};
    }

    void write_gdt() {
        const uint64_t gdt[] = {
            0,
            0x00af9b000000ffffull,  // 0x08 64-bit code
            0x00cf93000000ffffull,  // 0x10 data
            0x00cf9b000000ffffull,  // 0x18 32-bit code
            0x008f9b000000ffffull,  // 0x20 16-bit code
            0x008f93000000ffffull,  // 0x28 16-bit data
        };
        write(kGdt, gdt, sizeof gdt);
    }

    void finish() {
        auto& st = s();
        st.gdtr = {kGdt, 6 * 8 - 1};
        st.idtr = {0, 0};
        st.gpr[cpu::RSP] = kStackTop;
        st.rflags = arch::Rflags::FIXED1;
        vcpu->state_changed();
    }
};

}  // namespace vx86::test
