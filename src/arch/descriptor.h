// Segment, system and gate descriptor formats and TSS layouts (AMD APM Vol 2, 4.7-4.8, 12.2).
// Decoding helpers are pure functions of the raw 8/16 bytes; no behaviour beyond bit extraction.
#pragma once

#include <cstddef>
#include <cstdint>

namespace vx86::arch {

// Type field values for system descriptors (S=0), APM Vol 2, table 4-5 and 4-6.
namespace SysType {
constexpr uint8_t TSS16_AVAIL = 1, LDT = 2, TSS16_BUSY = 3, CALL_GATE16 = 4, TASK_GATE = 5,
                  INT_GATE16 = 6, TRAP_GATE16 = 7, TSS_AVAIL = 9, TSS_BUSY = 11, CALL_GATE = 12,
                  INT_GATE = 14, TRAP_GATE = 15;
}

// Access-rights bits in the "attrib" packing used by the VMCB and SMRAM (APM Vol 2, 15.5.1):
// bits 0-7 = descriptor bits 40-47 (type, S, DPL, P), bits 8-11 = descriptor bits 52-55 (AVL, L, D/B, G).
namespace Attr {
constexpr uint16_t TYPE_MASK = 0xf, A = 1, W_R = 2, E_C = 4, CODE = 8, S = 1 << 4,
                   DPL_SHIFT = 5, DPL_MASK = 3 << 5, P = 1 << 7, AVL = 1 << 8, L = 1 << 9,
                   DB = 1 << 10, G = 1 << 11;
}

struct RawDescriptor {
    uint64_t lo = 0;
    uint64_t hi = 0;  // only meaningful for 16-byte long-mode system descriptors and gates

    constexpr uint32_t base32() const {
        return static_cast<uint32_t>(((lo >> 16) & 0xffffff) | ((lo >> 32) & 0xff000000));
    }
    constexpr uint64_t base64() const { return base32() | ((hi & 0xffffffff) << 32); }
    constexpr uint32_t raw_limit() const {
        return static_cast<uint32_t>((lo & 0xffff) | ((lo >> 32) & 0xf0000));
    }
    // Limit in bytes after applying granularity (APM Vol 2, 4.7.1).
    constexpr uint32_t limit() const {
        const uint32_t l = raw_limit();
        return granularity() ? (l << 12) | 0xfff : l;
    }
    constexpr uint16_t attrib() const {
        return static_cast<uint16_t>(((lo >> 40) & 0xff) | ((lo >> 44) & 0xf00));
    }
    constexpr uint8_t type() const { return (lo >> 40) & 0xf; }
    constexpr bool s() const { return (lo >> 44) & 1; }
    constexpr uint8_t dpl() const { return (lo >> 45) & 3; }
    constexpr bool present() const { return (lo >> 47) & 1; }
    constexpr bool l() const { return (lo >> 53) & 1; }
    constexpr bool db() const { return (lo >> 54) & 1; }
    constexpr bool granularity() const { return (lo >> 55) & 1; }
    constexpr bool is_code() const { return s() && (type() & 8); }
    constexpr bool is_data() const { return s() && !(type() & 8); }

    // Gate fields (APM Vol 2, 4.8.3 / 8.9.1).
    constexpr uint16_t gate_selector() const { return (lo >> 16) & 0xffff; }
    constexpr uint32_t gate_offset32() const {
        return static_cast<uint32_t>((lo & 0xffff) | ((lo >> 32) & 0xffff0000));
    }
    constexpr uint64_t gate_offset64() const { return gate_offset32() | ((hi & 0xffffffff) << 32); }
    constexpr uint8_t gate_ist() const { return (lo >> 32) & 7; }
    constexpr uint8_t call_gate_params() const { return (lo >> 32) & 0x1f; }
};

// Selector fields (APM Vol 2, 4.5.1).
constexpr uint16_t sel_index(uint16_t sel) { return sel >> 3; }
constexpr bool sel_ti(uint16_t sel) { return sel & 4; }
constexpr uint8_t sel_rpl(uint16_t sel) { return sel & 3; }
constexpr bool sel_null(uint16_t sel) { return (sel & ~3) == 0; }

// 32-bit TSS (APM Vol 2, 12.2.5 figure 12-5).
struct Tss32 {
    uint16_t link, rsvd0;
    uint32_t esp0;
    uint16_t ss0, rsvd1;
    uint32_t esp1;
    uint16_t ss1, rsvd2;
    uint32_t esp2;
    uint16_t ss2, rsvd3;
    uint32_t cr3, eip, eflags, eax, ecx, edx, ebx, esp, ebp, esi, edi;
    uint16_t es, rsvd4, cs, rsvd5, ss, rsvd6, ds, rsvd7, fs, rsvd8, gs, rsvd9, ldt, rsvd10;
    uint16_t trap, iopb;
};
static_assert(sizeof(Tss32) == 104);
static_assert(offsetof(Tss32, esp0) == 4 && offsetof(Tss32, ss0) == 8);
static_assert(offsetof(Tss32, iopb) == 102);

// 64-bit TSS (APM Vol 2, 12.2.5 figure 12-8).
#pragma pack(push, 4)
struct Tss64 {
    uint32_t rsvd0;
    uint64_t rsp[3];
    uint64_t rsvd1;
    uint64_t ist[7];  // ist[0] is IST1
    uint64_t rsvd2;
    uint16_t rsvd3;
    uint16_t iopb;
};
#pragma pack(pop)
static_assert(sizeof(Tss64) == 104);
static_assert(offsetof(Tss64, rsp) == 4 && offsetof(Tss64, ist) == 0x24);
static_assert(offsetof(Tss64, iopb) == 0x66);

}  // namespace vx86::arch
