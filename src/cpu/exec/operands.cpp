// Cold paths of operand access: segment-limit faults and MMU fault adjustment.
// Kept out of line so the inline fast paths in operands.h stay small.
#include "cpu/exec/operands.h"

namespace vx86::cpu {

bool segment_fault(Cpu& c, unsigned seg) {
    // Outside 64-bit mode a null (unusable) selector or a limit violation: #GP(0), or #SS(0)
    // through SS (APM Vol 2, 4.8.1 and 4.12.2).
    c.s.fault = Fault{static_cast<uint8_t>(seg == SS ? arch::Vector::SS : arch::Vector::GP), true, 0, 0};
    return false;
}

bool mmu_fault(Cpu& c, unsigned seg) {
    if (seg == SS && c.s.fault.vector == static_cast<uint8_t>(arch::Vector::GP))
        c.s.fault.vector = static_cast<uint8_t>(arch::Vector::SS);
    return false;
}

bool probe_write_mem(Cpu& c, unsigned seg, uint64_t off, unsigned n) {
    const SegCheck& sc = c.s.segc[seg];
    if (off < sc.wr_lo || off + (n - 1) > sc.wr_hi) return segment_fault(c, seg);
    if (!c.mmu.probe_write((sc.base + off) & c.s.la_mask, n)) return mmu_fault(c, seg);
    return true;
}

}  // namespace vx86::cpu
