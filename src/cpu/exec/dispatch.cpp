// The dispatcher's binding step: looks the mnemonic up in insn_table.inc, applies the table's
// LOCK and CPL rules once, and asks the family binder for the size/form-specialised handler.
#include "cpu/exec/dispatch.h"

#include <Zydis/Zydis.h>

#include "cpu/exec/condition_codes.h"
#include "cpu/exec/families.h"
#include "cpu/exec/operands.h"

namespace vx86::cpu {

namespace {

constexpr uint8_t ENDS = InsnMeta::ENDS_BLOCK;
constexpr uint8_t PRIV = InsnMeta::PRIVILEGED;
constexpr uint8_t L64 = InsnMeta::LONG64_ONLY;
constexpr uint8_t LOCK = 0x80;  // table-only bit, not stored in Insn::meta

struct Row {
    Handler (*binder)(const Insn&);
    uint8_t meta;
};

bool lookup(uint16_t mnemonic, Row& row) {
    switch (mnemonic) {
#define VX86_INSN(m, b, flags)        \
    case ZYDIS_MNEMONIC_##m:          \
        row = Row{&b, uint8_t(flags)}; \
        return true;
#include "cpu/exec/insn_table.inc"
#undef VX86_INSN
        default: return false;
    }
}

// CPL-0 rule from the table, enforced here so handlers never re-check it (#GP(0) otherwise;
// APM Vol 2, 4.11 "Privileged Instructions"). A mode restriction (#UD) outranks it, as the
// exception lists of e.g. SWAPGS order them (APM Vol 3, "SWAPGS").
ExecStatus privileged(Cpu& c, const Insn& in) {
    if ((in.meta & L64) && c.s.mode != CpuMode::Long64) return raise_ud(c);
    if (c.s.cpl != 0) return raise_gp0(c);
    return in.inner(c, in);
}

}  // namespace

ExecStatus exec_ud(Cpu& c, const Insn&) { return raise_ud(c); }
ExecStatus exec_gp0(Cpu& c, const Insn&) { return raise_gp0(c); }
ExecStatus exec_nop(Cpu&, const Insn&) { return ExecStatus::Next; }

void bind(Insn& in) {
    Row row{};
    in.meta = 0;
    if (in.simd != 0) {
        in.fn = in.inner = bind_no_fpu(in);
        in.meta = ENDS;
        return;
    }
    if (!lookup(in.mnemonic, row)) {
        in.fn = &exec_ud;
        return;
    }
    uint8_t meta = row.meta;
    // MOV to/from control and debug registers is privileged and can change paging or mode;
    // MOV to a segment register changes segment caches (and SS sets the interrupt shadow).
    if (in.mnemonic == ZYDIS_MNEMONIC_MOV) {
        const OpKind k0 = in.kind(0), k1 = in.kind(1);
        if (k0 == OpKind::CReg || k1 == OpKind::CReg || k0 == OpKind::DReg || k1 == OpKind::DReg)
            meta |= ENDS | PRIV;
        if (k0 == OpKind::SReg) meta |= ENDS;
    }
    if ((in.prefix & Prefix::FAR) || in.mnemonic == ZYDIS_MNEMONIC_POP) meta |= ENDS;
    // LOCK is legal only on the table's lockable instructions with a memory destination
    // (APM Vol 3, 1.2.5 "Lock Prefix"): #UD otherwise.
    if ((in.prefix & Prefix::LOCK) && (!(meta & LOCK) || in.kind(0) != OpKind::Mem)) {
        in.fn = &exec_ud;
        in.meta = ENDS;
        return;
    }
    if (const int cc = condition_code(in.mnemonic); cc >= 0) in.imm2 = static_cast<uint16_t>(cc);
    Handler h = row.binder(in);
    if (!h) {
        in.fn = &exec_ud;
        in.meta = ENDS;
        return;
    }
    in.meta = meta & (ENDS | PRIV | L64);
    in.inner = h;
    in.fn = (meta & PRIV) ? &privileged : h;
}

const char* handler_name(const Insn& in) {
    return ZydisMnemonicGetString(static_cast<ZydisMnemonic>(in.mnemonic));
}

}  // namespace vx86::cpu
