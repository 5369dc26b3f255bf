// Register state structures of the public API, shaped after KVM's kvm_regs / kvm_sregs /
// kvm_segment so that VMM authors recognise them. Plain data; no internal header is included.
#pragma once

#include <cstdint>

namespace vx86 {

struct Regs {
    uint64_t rax, rbx, rcx, rdx, rsi, rdi, rsp, rbp;
    uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
    uint64_t rip, rflags;
};

struct Segment {
    uint64_t base;
    uint32_t limit;  // byte granular
    uint16_t selector;
    uint8_t type, present, dpl, db, s, l, g, avl;
    uint8_t unusable;
};

struct Dtable {
    uint64_t base;
    uint16_t limit;
};

struct Sregs {
    Segment cs, ds, es, fs, gs, ss;
    Segment tr, ldt;
    Dtable gdt, idt;
    uint64_t cr0, cr2, cr3, cr4, cr8;
    uint64_t efer;
    uint64_t apic_base;
};

}  // namespace vx86
