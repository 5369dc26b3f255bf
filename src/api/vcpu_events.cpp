// Public vCPU API, event and wait state: KVM_GET/SET_VCPU_EVENTS and KVM_GET/SET_MP_STATE over
// what cpu::CpuState holds at an instruction boundary (spec/state.md 1.5, 1.6).
#include <fmt/format.h>

#include <cstddef>
#include <iterator>

#include "api/vcpu_impl.h"
#include "arch/vectors.h"

namespace vx86::api {

// Every byte of the public struct is a named field, so embedders may compare it with memcmp.
static_assert(sizeof(VcpuEvents) == 32 && offsetof(VcpuEvents, exception_payload) == 24);

namespace {

uint8_t to_kvm_shadow(uint8_t s) {
    return static_cast<uint8_t>(((s & cpu::Shadow::STI) ? kShadowSti : 0) |
                                ((s & cpu::Shadow::MOV_SS) ? kShadowMovSs : 0));
}
uint8_t from_kvm_shadow(uint8_t s) {
    return static_cast<uint8_t>(((s & kShadowSti) ? cpu::Shadow::STI : 0) |
                                ((s & kShadowMovSs) ? cpu::Shadow::MOV_SS : 0));
}

constexpr uint8_t kVectorDb = static_cast<uint8_t>(arch::Vector::DB);
constexpr uint8_t kVectorNmi = static_cast<uint8_t>(arch::Vector::NMI);

// KVM's own checks (kvm_vcpu_ioctl_x86_set_vcpu_events) and the SMM coherence vx86 adds.
Status check_events(const VcpuEvents& e) {
    auto bad = [](std::string msg) {
        return Status{ErrorCode::InvalidArgument, "vcpu events: " + msg};
    };
    const struct {
        const char* name;
        uint8_t v;
    } flags[] = {{"exception.injected", e.exception.injected},
                 {"exception.has_error_code", e.exception.has_error_code},
                 {"exception.pending", e.exception.pending},
                 {"exception_has_payload", e.exception_has_payload},
                 {"interrupt.injected", e.interrupt.injected},
                 {"interrupt.soft", e.interrupt.soft},
                 {"nmi.injected", e.nmi.injected},
                 {"nmi.pending", e.nmi.pending},
                 {"nmi.masked", e.nmi.masked},
                 {"smi.smm", e.smi.smm},
                 {"smi.pending", e.smi.pending},
                 {"smi.smm_inside_nmi", e.smi.smm_inside_nmi},
                 {"smi.latched_init", e.smi.latched_init},
                 {"triple_fault.pending", e.triple_fault.pending}};
    for (const auto& f : flags)
        if (f.v > 1) return bad(fmt::format("{} is {} (flags must be 0 or 1)", f.name, f.v));
    if ((e.interrupt_shadow | e.smm_saved_shadow) & ~(kShadowSti | kShadowMovSs))
        return bad("unknown interrupt-shadow bits");
    if (!e.smi.smm && (e.smi.smm_inside_nmi || e.smm_saved_shadow))
        return bad("smm_inside_nmi and smm_saved_shadow need smi.smm = 1");
    const bool exception = e.exception.injected || e.exception.pending;
    if (exception && (e.exception.nr > 31 || e.exception.nr == kVectorNmi))
        return bad(fmt::format("exception.nr {} is not an exception vector (0-31, not 2 = NMI)",
                               e.exception.nr));
    if (e.exception.injected && e.exception.pending)
        return bad("exception.injected and exception.pending exclude each other");
    if (e.exception_has_payload && !e.exception.pending)
        return bad("an exception payload needs exception.pending");
    return Status::ok();
}

// The parts of KVM's struct that vx86 has no state for: it delivers each event within the
// instruction or boundary where it arises. Only the single-step #DB owed after an instruction
// that exited to the embedder waits across a boundary (CpuState::db_trap_pending); DR6 already
// holds its BS bit, so it has no payload.
Status check_representable(const VcpuEvents& e) {
    auto no = [](const char* what) {
        return Status{ErrorCode::Unsupported,
                      fmt::format("vcpu events: {} cannot be represented: vx86 "
                                  "delivers events as they arise and holds "
                                  "none in flight",
                                  what)};
    };
    if (e.exception.injected) return no("an injected exception");
    if (e.exception.pending &&
        (e.exception.nr != kVectorDb || e.exception.has_error_code || e.exception_has_payload))
        return Status{
            ErrorCode::Unsupported,
            fmt::format("vcpu events: a pending exception {}{}{} cannot be represented: the "
                        "only one vx86 holds is the single-step #DB (vector 1) without "
                        "error code or payload",
                        e.exception.nr, e.exception.has_error_code ? " with error code" : "",
                        e.exception_has_payload ? " with payload" : "")};
    if (e.interrupt.injected) return no("an injected interrupt");
    if (e.nmi.injected) return no("an injected NMI");
    if (e.triple_fault.pending)
        return no("a pending triple fault (vx86 exits with Shutdown at once)");
    return Status::ok();
}

}  // namespace

VcpuEvents VcpuImpl::get_vcpu_events() const {
    const cpu::CpuState& s = m_v.state();
    VcpuEvents e{};
    if (s.db_trap_pending) {
        e.exception.pending = 1;
        e.exception.nr = kVectorDb;
    }
    e.interrupt_shadow = to_kvm_shadow(s.interrupt_shadow);
    e.nmi.pending = s.nmi_pending;
    e.nmi.masked = s.nmi_blocked;
    e.smi.smm = s.smm.in_smm;
    e.smi.pending = s.smm.smi_pending;
    e.smi.smm_inside_nmi = s.smm.inside_nmi;
    e.smi.latched_init = s.smm.init_latched;
    e.smm_saved_shadow = to_kvm_shadow(s.smm.saved_shadow);
    return e;
}

Status VcpuImpl::set_vcpu_events(const VcpuEvents& e) {
    if (Status st = check_events(e); !st) return st;
    if (Status st = check_representable(e); !st) return st;
    cpu::CpuState& s = m_v.state();
    // Like KVM (kvm_leave_nested before an SMM change), moving the vCPU into or out of SMM drops
    // the SVM nested state it had, which could not stay coherent with the new SMM flag (guest
    // mode is impossible in SMM; smm_suspended needs SMM). No #VMEXIT is emulated: the
    // registers stay as they are, and the nested state is meant to be set next.
    if (static_cast<bool>(e.smi.smm) != s.smm.in_smm) {
        s.svm.guest_mode = false;
        s.svm.smm_suspended = false;
    }
    s.db_trap_pending = e.exception.pending;
    s.interrupt_shadow = from_kvm_shadow(e.interrupt_shadow);
    s.nmi_pending = e.nmi.pending;
    s.nmi_blocked = e.nmi.masked;
    s.smm.in_smm = e.smi.smm;
    s.smm.smi_pending = e.smi.pending;
    s.smm.inside_nmi = e.smi.smm_inside_nmi;
    s.smm.init_latched = e.smi.latched_init;
    s.smm.saved_shadow = from_kvm_shadow(e.smm_saved_shadow);
    m_v.state_changed();  // switches the address space to match smi.smm
    return Status::ok();
}

MpState VcpuImpl::get_mp_state() const {
    return MpState{m_v.state().halted ? kMpStateHalted : kMpStateRunnable};
}

Status VcpuImpl::set_mp_state(const MpState& m) {
    static constexpr const char* kNames[] = {
        "RUNNABLE",   "UNINITIALIZED", "INIT_RECEIVED", "HALTED",        "SIPI_RECEIVED", "STOPPED",
        "CHECK_STOP", "OPERATING",     "LOAD",          "AP_RESET_HOLD", "SUSPENDED"};
    if (m.mp_state == kMpStateRunnable || m.mp_state == kMpStateHalted) {
        m_v.state().halted = m.mp_state == kMpStateHalted;
        return Status::ok();
    }
    if (m.mp_state < std::size(kNames))
        return {
            ErrorCode::Unsupported,
            fmt::format("mp state {} ({}) cannot be represented: vx86 has one vCPU and no local "
                        "APIC, so it is only RUNNABLE or HALTED",
                        kNames[m.mp_state], m.mp_state)};
    return {ErrorCode::InvalidArgument,
            fmt::format("mp state {} is not a KVM_MP_STATE value", m.mp_state)};
}

}  // namespace vx86::api
