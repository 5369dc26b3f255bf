// Port I/O family: IN, OUT (immediate and DX forms), INS, OUTS (with REP).
// Ports an in-process device claims are served here; IN/OUT to other ports exit to the embedder.
#include <Zydis/Zydis.h>

#include <cstddef>
#include <cstring>

#include "arch/descriptor.h"
#include "cpu/exec/families.h"
#include "cpu/exec/operands.h"
#include "cpu/exec/svm_intercept.h"

namespace vx86::cpu {

namespace {

// INS/OUTS elements per execution before the instruction yields so interrupts can be taken
// between iterations (APM Vol 3, 1.2.6 "Repeat Prefixes").
constexpr uint64_t kMaxIterations = 1024;

// I/O permission (APM Vol 1, 3.8.3 "Protected-Mode I/O"; Vol 2, "I/O-Permission Bitmap" in the
// TSS chapter): in protected and long mode with
// CPL > IOPL, and in virtual-8086 mode always, every bit of the I/O-permission bitmap covering the
// accessed ports must be clear. The bitmap starts at the TSS offset stored at Tss32::iopb.
bool io_allowed(Cpu& c, uint16_t port, unsigned size) {
    const CpuMode mode = c.s.mode;
    if (mode == CpuMode::Real) return true;
    if (mode != CpuMode::Virtual8086 && c.s.cpl <= c.s.iopl()) return true;
    const Segment& tr = c.s.tr;
    // Only a 32-bit (or long-mode 64-bit) TSS has a bitmap; the 16-bit TSS denies everything.
    const bool tss32 =
        !tr.s() && (tr.type() == arch::SysType::TSS_AVAIL || tr.type() == arch::SysType::TSS_BUSY);
    constexpr uint64_t iopb_field = offsetof(arch::Tss32, iopb);
    static_assert(offsetof(arch::Tss64, iopb) == iopb_field);
    if (!tss32 || !tr.present() || tr.limit < iopb_field + 1) return raise_gp0(c), false;
    uint16_t iopb;
    if (!c.mmu.read((tr.base + iopb_field) & c.s.la_mask, iopb, Priv::Supervisor)) return false;
    // The processor reads the two bitmap bytes holding the first port's bit, so an access near
    // the end needs the byte after it inside the TSS limit too (hence the customary 0xff
    // terminator byte); an access of up to 4 ports never spans more than those two bytes.
    const uint64_t at = uint64_t{iopb} + port / 8;
    if (at + 1 > tr.limit) return raise_gp0(c), false;
    uint16_t bits;
    if (!c.mmu.read((tr.base + at) & c.s.la_mask, bits, Priv::Supervisor)) return false;
    const unsigned want = ((1u << size) - 1) << (port & 7);
    if (bits & want) return raise_gp0(c), false;
    return true;
}

// In guest mode with IOIO_PROT, an access the IOPM marks exits, after the IOPL/TSS permission
// check (APM Vol 2, 15.10). EXITINFO1 describes the access, EXITINFO2 is the next RIP.
bool io_intercept(Cpu& c, const Insn& in, uint16_t port, unsigned size, bool is_in, bool str,
                  ExecStatus& st) {
    if (!c.s.svm.intercept_misc1(arch::InterceptMisc1::IOIO_PROT) || !svm_io_intercepted(c, port, size))
        return false;
    using namespace arch::IoioInfo;
    uint64_t info = (uint64_t{port} << PORT_SHIFT) | (is_in ? TYPE_IN : 0);
    if (str) info |= STR;
    if (in.prefix & (Prefix::REP | Prefix::REPNE)) info |= REP;
    info |= size == 1 ? SZ8 : size == 2 ? SZ16 : SZ32;
    info |= in.asize == 2 ? A16 : in.asize == 4 ? A32 : A64;
    st = svm_exit(c, in, 0x7b, info, c.s.rip());
    return true;
}

template <unsigned S>
inline uint_t<S> port_read(Cpu& c, uint16_t port) {
    uint8_t buf[S];
    c.pio->read(port, {buf, S});
    uint_t<S> v;
    std::memcpy(&v, buf, S);
    return v;
}

template <unsigned S>
inline void port_write(Cpu& c, uint16_t port, uint_t<S> v) {
    uint8_t buf[S];
    std::memcpy(buf, &v, S);
    c.pio->write(port, {buf, S});
}

// The port of IN/OUT: the 8-bit immediate, or DX.
inline uint16_t io_port(const Cpu& c, const Insn& in, bool from_dx) {
    return from_dx ? static_cast<uint16_t>(c.s.gpr[RDX]) : static_cast<uint16_t>(in.imm & 0xff);
}

// IN AL/AX/EAX, imm8 or DX. A port no device claims stops the run with an I/O exit; the
// embedder's value lands in rAX through Vcpu::complete_io_in before the next instruction.
template <unsigned S, bool DX>
ExecStatus in_acc(Cpu& c, const Insn& in) {
    const uint16_t port = io_port(c, in, DX);
    if (!io_allowed(c, port, S)) return ExecStatus::Fault;
    if (ExecStatus st; io_intercept(c, in, port, S, true, false, st)) return st;
    if (c.pio->claims(port)) {
        set_reg<S>(c, RAX, port_read<S>(c, port));
        return ExecStatus::Next;
    }
    c.exit.reason = ExitReason::Io;
    c.exit.io = IoExit{port, static_cast<uint8_t>(S), true, 0};
    c.pio_in_pending = true;
    return ExecStatus::Exit;
}

// OUT imm8 or DX, AL/AX/EAX. A device that asks to stop the machine on this write does so through
// Cpu::requested_exit, which the run loop honours after the instruction.
template <unsigned S, bool DX>
ExecStatus out_acc(Cpu& c, const Insn& in) {
    const uint16_t port = io_port(c, in, DX);
    if (!io_allowed(c, port, S)) return ExecStatus::Fault;
    if (ExecStatus st; io_intercept(c, in, port, S, false, false, st)) return st;
    const uint_t<S> v = get_reg<S>(c, RAX);
    if (c.pio->claims(port)) {
        port_write<S>(c, port, v);
        return ExecStatus::Next;
    }
    c.exit.reason = ExitReason::Io;
    c.exit.io = IoExit{port, static_cast<uint8_t>(S), false, v};
    return ExecStatus::Exit;
}

// INS (port -> ES:[rDI]) and OUTS (seg:[rSI] -> port). These never exit: a port no device claims
// reads as all ones and drops writes, as the bus does for any unclaimed access.
template <bool IN, unsigned S, unsigned A>
ExecStatus string_io(Cpu& c, const Insn& in) {
    constexpr uint64_t m = base::size_mask(A);
    const uint16_t port = static_cast<uint16_t>(c.s.gpr[RDX]);
    if (!io_allowed(c, port, S)) return ExecStatus::Fault;
    if (ExecStatus st; io_intercept(c, in, port, S, IN, true, st)) return st;
    const uint64_t step = (c.s.rflags & arch::Rflags::DF) ? uint64_t{0} - S : uint64_t{S};
    const Gpr index = IN ? RDI : RSI;
    uint64_t p = c.s.gpr[index] & m;

    // One element; the destination is checked before the port is read so that a fault does not
    // consume device data.
    auto element = [&] {
        if constexpr (IN) {
            if (!probe_write_mem(c, ES, p, S)) return false;
            return write_mem(c, ES, p, port_read<S>(c, port));
        } else {
            uint_t<S> v;
            if (!read_mem(c, in.sego, p, v)) return false;
            port_write<S>(c, port, v);
            return true;
        }
    };

    if (!(in.prefix & (Prefix::REP | Prefix::REPNE))) {
        if (!element()) return ExecStatus::Fault;
        set_reg<A>(c, index, static_cast<uint_t<A>>(p + step));
        return ExecStatus::Next;
    }
    uint64_t count = c.s.gpr[RCX] & m;
    if (count == 0) return ExecStatus::Next;
    auto commit = [&] {
        set_reg<A>(c, index, static_cast<uint_t<A>>(p));
        set_reg<A>(c, RCX, static_cast<uint_t<A>>(count));
    };
    // With TF set every iteration ends in a single-step trap, RIP still at the instruction.
    const uint64_t max_iterations = (c.s.rflags & arch::Rflags::TF) ? 1 : kMaxIterations;
    for (uint64_t done = 1;; ++done) {
        if (!element()) {
            commit();
            return ExecStatus::Fault;
        }
        p = (p + step) & m;
        if (--count == 0) return commit(), ExecStatus::Next;
        // Yield for pending interrupts, or when a device asked the run loop to stop.
        if (done == max_iterations || c.s.block_break) {
            commit();
            c.s.rip() -= in.len;
            return ExecStatus::Branch;
        }
    }
}

template <unsigned S>
Handler bind_in_out(const Insn& in, bool is_in) {
    // IN: operand 0 is the accumulator, operand 1 the port; OUT the other way round.
    const OpKind port_kind = in.kind(is_in ? 1 : 0);
    const bool dx = port_kind == OpKind::Reg;
    if (!dx && port_kind != OpKind::Imm) return nullptr;
    if (is_in) return dx ? &in_acc<S, true> : &in_acc<S, false>;
    return dx ? &out_acc<S, true> : &out_acc<S, false>;
}

Handler bind_in_out_sized(const Insn& in, bool is_in) {
    switch (in.opsz[is_in ? 0 : 1]) {
        case 1:
            return bind_in_out<1>(in, is_in);
        case 2:
            return bind_in_out<2>(in, is_in);
        case 4:
            return bind_in_out<4>(in, is_in);
        default:
            return nullptr;
    }
}

template <bool IN, unsigned S>
Handler bind_string_io(const Insn& in) {
    switch (in.asize) {
        case 2:
            return &string_io<IN, S, 2>;
        case 4:
            return &string_io<IN, S, 4>;
        case 8:
            return &string_io<IN, S, 8>;
        default:
            return nullptr;
    }
}

}  // namespace

Handler bind_io(const Insn& in) {
    switch (in.mnemonic) {
        case ZYDIS_MNEMONIC_IN:
            return bind_in_out_sized(in, true);
        case ZYDIS_MNEMONIC_OUT:
            return bind_in_out_sized(in, false);
        case ZYDIS_MNEMONIC_INSB:
            return bind_string_io<true, 1>(in);
        case ZYDIS_MNEMONIC_INSW:
            return bind_string_io<true, 2>(in);
        case ZYDIS_MNEMONIC_INSD:
            return bind_string_io<true, 4>(in);
        case ZYDIS_MNEMONIC_OUTSB:
            return bind_string_io<false, 1>(in);
        case ZYDIS_MNEMONIC_OUTSW:
            return bind_string_io<false, 2>(in);
        case ZYDIS_MNEMONIC_OUTSD:
            return bind_string_io<false, 4>(in);
        default:
            return nullptr;
    }
}

}  // namespace vx86::cpu
