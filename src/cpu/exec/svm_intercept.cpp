// SVM intercept predicates and the #VMEXIT step for intercepted instructions.
#include "cpu/exec/svm_intercept.h"

namespace vx86::cpu {

ExecStatus svm_exit(Cpu& c, const Insn& in, uint64_t code, uint64_t info1, uint64_t info2) {
    const uint64_t next = c.s.rip();
    SvmExitRequest r;
    r.code = code;
    r.info1 = info1;
    r.info2 = info2;
    r.rip = next - in.len;
    c.s.rip() = r.rip;
    return c.transitions->vmexit(c, r, next);
}

bool svm_msr_intercepted(Cpu& c, uint32_t msr, bool write) {
    uint64_t range;
    if (msr <= 0x1fff) range = 0;
    else if (msr >= 0xc0000000 && msr <= 0xc0001fff) range = 0x800;
    else if (msr >= 0xc0010000 && msr <= 0xc0011fff) range = 0x1000;
    else return true;
    const uint64_t bit = uint64_t{msr & 0x1fff} * 2 + (write ? 1 : 0);
    uint8_t b = 0xff;  // a map where no memory answers reads as all-ones: intercepted
    (void)c.mmu.phys_read((c.s.svm.ctl.msrpm_base_pa & ~uint64_t{0xfff}) + range + bit / 8, &b, 1);
    return (b >> (bit % 8)) & 1;
}

bool svm_io_intercepted(Cpu& c, uint16_t port, unsigned size) {
    // The map is 12 KiB so that a port near 0xFFFF spills into the third page (15.10.1).
    uint8_t b[2] = {0xff, 0xff};
    (void)c.mmu.phys_read((c.s.svm.ctl.iopm_base_pa & ~uint64_t{0xfff}) + port / 8, b, 2);
    const unsigned bits = static_cast<unsigned>(b[0] | (b[1] << 8)) >> (port % 8);
    return bits & ((1u << size) - 1);
}

ExecStatus deliver_from_insn(Cpu& c, const Event& ev) {
    SvmExitRequest r;
    const uint64_t next = c.s.rip();
    switch (deliver_event(c.s, c.mmu, ev, c.s.svm.guest_mode && c.transitions ? &r : nullptr)) {
        case DeliveryResult::Delivered: return ExecStatus::Branch;
        // An intercepted INT3/INTO/INT1 exception reports the next instruction as nRIP (KVM
        // relies on it to re-inject soft exceptions); exits while vectoring report none.
        case DeliveryResult::VmExit: return c.transitions->vmexit(c, r, r.exit_int_info ? 0 : next);
        case DeliveryResult::TripleFault: break;
    }
    c.exit.reason = ExitReason::Shutdown;
    return ExecStatus::Exit;
}

}  // namespace vx86::cpu
