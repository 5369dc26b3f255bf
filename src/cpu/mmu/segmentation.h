// Descriptor-table access and segment-register loading shared by instructions and event delivery
// (AMD APM Vol 2, 4.5-4.11). Checks report which fault applies; callers pick the vector.
#pragma once

#include <cstdint>

#include "arch/descriptor.h"
#include "arch/vectors.h"
#include "cpu/mmu/mmu.h"

namespace vx86::cpu {

enum class DescFault : uint8_t {
    None,
    Limit,      // selector beyond GDT/LDT limit (or LDT unusable): #GP/#TS(selector)
    Page,       // the table read faulted: s.fault holds the #PF
};

// Reads the 8-byte descriptor for `sel` from the GDT or LDT, and with `wide` the 16-byte form
// that long-mode system descriptors use.
DescFault read_descriptor(CpuState& s, Mmu& mmu, uint16_t sel, arch::RawDescriptor& d,
                          bool wide = false);

// Sets the descriptor's accessed bit in memory (APM Vol 2, 4.7.2), if not already set.
bool set_descriptor_accessed(CpuState& s, Mmu& mmu, uint16_t sel, arch::RawDescriptor& d);

// Hidden-part contents for a descriptor (base, limit with granularity applied, attributes).
Segment segment_from_descriptor(uint16_t sel, const arch::RawDescriptor& d, bool wide = false);

// Real and virtual-8086 mode: base = selector << 4; limit and attributes stay (APM Vol 2, 4.5.2)
// except in V86 mode, where they become 64 KiB, DPL 3 writable data.
void load_segment_real(CpuState& s, unsigned seg, uint16_t sel);

// Loads ES/DS/FS/GS/SS in protected or long mode with all checks (APM Vol 3, "MOV Sreg").
// On failure s.fault holds #GP/#SS/#NP with the selector error code.
bool load_data_segment(CpuState& s, Mmu& mmu, unsigned seg, uint16_t sel);

// Target code segment of a far RET or IRET (APM Vol 3, "RET (Far)", "IRET"): a present code
// segment with RPL >= CPL, DPL == RPL (DPL <= RPL if conforming), not L=1 with D=1. On failure
// s.fault holds #GP/#NP(selector) or the #PF of the descriptor read.
bool check_return_cs(CpuState& s, Mmu& mmu, uint16_t sel, arch::RawDescriptor& d);

// The SS popped by a far RET or IRET to privilege `rpl`: writable data with RPL == DPL == rpl, or
// a null selector when returning to 64-bit code below CPL 3. Sets the accessed bit.
bool load_return_ss(CpuState& s, Mmu& mmu, uint16_t ssel, uint8_t rpl, bool to64, Segment& out);

// After a return to an outer privilege level, data (and non-conforming code) segments that the new
// CPL may not use are made null (APM Vol 3, "RET (Far)", "IRET").
void null_inaccessible_data_segments(CpuState& s);

// Null-selector hidden state for data segments (unusable outside 64-bit mode).
Segment null_segment(uint16_t sel, uint8_t rpl_dpl);

inline void set_fault(CpuState& s, arch::Vector v, uint32_t err) {
    s.fault = Fault{static_cast<uint8_t>(v), true, err, 0};
}

}  // namespace vx86::cpu
