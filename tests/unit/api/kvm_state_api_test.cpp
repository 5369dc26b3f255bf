// The KVM-shaped vCPU state calls one by one: what each getter reports (PDPTEs from memory in
// legacy PAE mode, a #DB owed across an I/O exit, HALTED after HLT), what each setter takes, and
// that every setter refuses bad input with a message and leaves the machine byte-identical.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "vx86/machine.h"
#include "vx86/vm.h"

namespace vx86 {
namespace {

constexpr uint32_t kMsrTsc = 0x10, kMsrStar = 0xc0000081, kMsrLstar = 0xc0000082,
                   kMsrSfmask = 0xc0000084, kMsrVmCr = 0xc0010114, kMsrVmHsavePa = 0xc0010117,
                   kMsrTscAux = 0xc0000103, kMsrPat = 0x277, kMsrMtrrDefType = 0x2ff;

// ---- a bare Vm (KVM-style embedding) ------------------------------------------------------------

struct Bare {
    std::unique_ptr<Vm> vm;
    Vcpu* v = nullptr;
};

Bare bare(const char* cpu = "qemu64", uint64_t ram = 1 << 20) {
    Bare b;
    auto vm = Vm::create(cpu);
    EXPECT_TRUE(vm) << vm.message();
    b.vm = std::move(*vm);
    EXPECT_TRUE(b.vm->set_user_memory_region({0, 0, 0, 0, ram, nullptr}));
    auto v = b.vm->create_vcpu();
    EXPECT_TRUE(v) << v.message();
    b.v = *v;
    return b;
}

void put64(Vm& vm, uint64_t gpa, uint64_t v) {
    ASSERT_TRUE(vm.write_phys(gpa, &v, 8));
}

// Flat real mode at CS:IP 0:`rip`, IVT at 0.
void real_mode_at(Vcpu& v, uint64_t rip, uint64_t rflags = 0x2) {
    Sregs s = v.get_sregs();
    for (Segment* seg : {&s.cs, &s.ds, &s.es, &s.ss, &s.fs, &s.gs}) {
        seg->base = 0;
        seg->selector = 0;
        seg->limit = 0xffff;
    }
    s.idt = {0, 0x3ff};
    ASSERT_TRUE(v.set_sregs(s));
    Regs r = v.get_regs();
    r.rip = rip;
    r.rsp = 0x8000;
    r.rflags = rflags;
    ASSERT_TRUE(v.set_regs(r));
}

constexpr uint64_t kPdpt = 0x3000, kPd = 0x4000;

// Legacy PAE paging (CR0.PG, CR4.PAE, EFER.LMA = 0) with the PDPT at kPdpt.
Sregs2 pae_sregs(Vcpu& v) {
    Sregs2 s = v.get_sregs2();
    s.cs = Segment{0, 0xffffffff, 8, 0xb, 1, 0, 1, 1, 0, 1, 0, 0};
    for (Segment* seg : {&s.ds, &s.es, &s.ss, &s.fs, &s.gs})
        *seg = Segment{0, 0xffffffff, 16, 3, 1, 0, 1, 1, 0, 1, 0, 0};
    s.cr0 = 0x80000011;
    s.cr4 = 0x20;
    s.cr3 = kPdpt;
    s.efer = 0;
    s.flags = 0;
    return s;
}

TEST(KvmStateApi, Sregs2ReportsThePdptesMemoryHoldsInLegacyPaeOnly) {
    Bare b = bare();
    Vcpu& v = *b.v;
    const uint64_t pdptes[4] = {kPd | 1, 0, (kPd + 0x1000) | 1, 0x123000 | 1};
    for (unsigned i = 0; i < 4; ++i) put64(*b.vm, kPdpt + 8 * i, pdptes[i]);
    // Power-on: no paging, nothing reported.
    EXPECT_EQ(v.get_sregs2().flags, 0u);
    ASSERT_TRUE(v.set_sregs2(pae_sregs(v)));
    Sregs2 got = v.get_sregs2();
    EXPECT_EQ(got.flags, kSregs2PdptrsValid);
    for (unsigned i = 0; i < 4; ++i) EXPECT_EQ(got.pdptrs[i], pdptes[i]) << i;
    // The same through the old call, and both agree on everything else.
    const Sregs old = v.get_sregs();
    EXPECT_EQ(old.cr3, got.cr3);
    EXPECT_EQ(old.cs.selector, got.cs.selector);
    // vx86 has no PDPTE registers: what a walk would read is what memory holds now.
    put64(*b.vm, kPdpt + 8, (kPd + 0x2000) | 1);
    EXPECT_EQ(v.get_sregs2().pdptrs[1], (kPd + 0x2000) | 1);
    // Set with the flag and the values memory holds: accepted.
    got = v.get_sregs2();
    got.cr2 = 0x1234;
    const Status ok = v.set_sregs2(got);
    EXPECT_TRUE(ok) << ok.message();
    EXPECT_EQ(v.get_sregs2().cr2, 0x1234u);
    // PAE paging with CR3 where no RAM is: not reported (nothing to read without side effects).
    Sregs2 far = pae_sregs(v);
    far.cr3 = 0x200000;
    ASSERT_TRUE(v.set_sregs2(far));
    EXPECT_EQ(v.get_sregs2().flags, 0u);
    // Long mode: no PDPTE registers.
    Sregs2 lm = pae_sregs(v);
    lm.efer = 0x500;
    lm.cs.l = 1;
    lm.cs.db = 0;
    ASSERT_TRUE(v.set_sregs2(lm));
    EXPECT_EQ(v.get_sregs2().flags, 0u);
}

TEST(KvmStateApi, Sregs2RefusesPdptesItCannotHold) {
    Bare b = bare();
    Vcpu& v = *b.v;
    for (unsigned i = 0; i < 4; ++i) put64(*b.vm, kPdpt + 8 * i, (kPd + 0x1000 * i) | 1);
    ASSERT_TRUE(v.set_sregs2(pae_sregs(v)));
    const Sregs2 before = v.get_sregs2();
    ASSERT_EQ(before.flags, kSregs2PdptrsValid);

    // A stale PDPTE (memory changed after MOV CR3 on a real CPU): vx86 cannot keep it.
    Sregs2 stale = before;
    stale.pdptrs[2] = (kPd + 0x7000) | 1;
    stale.cr2 = 0xbad;
    Status st = v.set_sregs2(stale);
    EXPECT_EQ(st.code(), ErrorCode::Unsupported);
    EXPECT_NE(st.message().find("PDPTE 2"), std::string::npos) << st.message();
    // PDPTRS_VALID outside legacy PAE paging: KVM's EINVAL.
    Sregs2 nopg = before;
    nopg.cr0 = 0x11;
    st = v.set_sregs2(nopg);
    EXPECT_EQ(st.code(), ErrorCode::InvalidArgument);
    EXPECT_NE(st.message().find("PAE"), std::string::npos) << st.message();
    // Unknown flags.
    Sregs2 flags = before;
    flags.flags = 2;
    EXPECT_EQ(v.set_sregs2(flags).code(), ErrorCode::InvalidArgument);
    // Nothing changed.
    const Sregs2 after = v.get_sregs2();
    EXPECT_EQ(after.cr0, before.cr0);
    EXPECT_EQ(after.cr2, before.cr2);
    EXPECT_EQ(after.flags, before.flags);
    for (unsigned i = 0; i < 4; ++i) EXPECT_EQ(after.pdptrs[i], before.pdptrs[i]);
    // Without the flag the PDPTEs come from memory, as KVM reloads them.
    Sregs2 plain = stale;
    plain.flags = 0;
    ASSERT_TRUE(v.set_sregs2(plain));
    EXPECT_EQ(v.get_sregs2().pdptrs[2], (kPd + 0x2000) | 1);
    EXPECT_EQ(v.get_sregs2().cr2, 0xbadu);
}

TEST(KvmStateApi, DebugRegsRoundTripAndFixedBits) {
    Bare b = bare();
    Vcpu& v = *b.v;
    const DebugRegs reset = v.get_debugregs();
    EXPECT_EQ(reset.dr6, 0xffff0ff0u);
    EXPECT_EQ(reset.dr7, 0x400u);
    DebugRegs d{{0x1000, 0x2000, 0xffffffff81000000ull, 4}, 0x4001, 0x3f0155, 0};
    ASSERT_TRUE(v.set_debugregs(d));
    const DebugRegs got = v.get_debugregs();
    for (unsigned i = 0; i < 4; ++i) EXPECT_EQ(got.db[i], d.db[i]);
    // As MOV DR6/DR7 store them: reserved bits read back fixed.
    EXPECT_EQ(got.dr6, 0xffff4ff1u);
    EXPECT_EQ(got.dr7, 0x3f0555u);
    EXPECT_EQ(got.flags, 0u);
    d.dr6 = 0;
    d.dr7 = 0;
    ASSERT_TRUE(v.set_debugregs(d));
    EXPECT_EQ(v.get_debugregs().dr6, 0xffff0ff0u);
    EXPECT_EQ(v.get_debugregs().dr7, 0x400u);
}

// A single-step trap owed after an instruction that exited to the embedder is the one
// exception vx86 holds pending at a boundary; it moves to another Vm and is delivered there.
TEST(KvmStateApi, PendingSingleStepDbCrossesAnIoExitAndMoves) {
    auto setup = [](Bare& b) {
        // 0x1000: out 0x80, al; hlt     #DB handler at 0x2000: mov bl, 0x42; hlt
        const uint8_t code[] = {0xe6, 0x80, 0xf4};
        const uint8_t handler[] = {0xb3, 0x42, 0xf4};
        ASSERT_TRUE(b.vm->write_phys(0x1000, code, sizeof code));
        ASSERT_TRUE(b.vm->write_phys(0x2000, handler, sizeof handler));
        const uint32_t ivt1 = 0x00002000;  // 0000:2000
        ASSERT_TRUE(b.vm->write_phys(4, &ivt1, 4));
    };
    Bare a = bare();
    setup(a);
    real_mode_at(*a.v, 0x1000, 0x102);  // TF
    auto e = a.v->run(10);
    ASSERT_TRUE(e);
    ASSERT_EQ(e->reason, ExitReason::Io);
    const VcpuEvents ev = a.v->get_vcpu_events();
    EXPECT_EQ(ev.exception.pending, 1);
    EXPECT_EQ(ev.exception.nr, 1);
    EXPECT_EQ(ev.exception.has_error_code, 0);
    EXPECT_EQ(ev.exception.injected, 0);
    EXPECT_EQ(ev.exception_has_payload, 0);
    EXPECT_TRUE(a.v->get_debugregs().dr6 & 0x4000);  // BS is already in DR6: no payload

    Bare b = bare();
    setup(b);
    ASSERT_TRUE(b.v->set_sregs2(a.v->get_sregs2()));
    ASSERT_TRUE(b.v->set_regs(a.v->get_regs()));
    ASSERT_TRUE(b.v->set_debugregs(a.v->get_debugregs()));
    ASSERT_TRUE(b.v->set_vcpu_events(ev));
    EXPECT_EQ(b.v->get_vcpu_events().exception.pending, 1);
    for (Vcpu* v : {a.v, b.v}) {
        e = v->run(10);
        ASSERT_TRUE(e);
        EXPECT_EQ(e->reason, ExitReason::Hlt);
        EXPECT_EQ(v->get_regs().rbx & 0xff, 0x42u) << "the #DB handler did not run";
        EXPECT_EQ(v->get_vcpu_events().exception.pending, 0);
    }
    // Setting the events without it drops the trap.
    Bare c = bare();
    setup(c);
    ASSERT_TRUE(c.v->set_sregs2(a.v->get_sregs2()));
    Regs r = a.v->get_regs();
    r.rip = 0x1002;
    r.rbx = 0;
    ASSERT_TRUE(c.v->set_regs(r));
    VcpuEvents none = ev;
    none.exception.pending = 0;
    ASSERT_TRUE(c.v->set_vcpu_events(none));
    e = c.v->run(10);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->reason, ExitReason::Hlt);
    EXPECT_EQ(c.v->get_regs().rbx & 0xff, 0u);
}

TEST(KvmStateApi, MpStateIsHaltedAfterHltAndSettable) {
    Bare b = bare();
    Vcpu& v = *b.v;
    // 0x1000: hlt; inc ax; hlt
    const uint8_t code[] = {0xf4, 0x40, 0xf4};
    ASSERT_TRUE(b.vm->write_phys(0x1000, code, sizeof code));
    real_mode_at(v, 0x1000);
    EXPECT_EQ(v.get_mp_state().mp_state, kMpStateRunnable);
    auto e = v.run(10);
    ASSERT_TRUE(e);
    ASSERT_EQ(e->reason, ExitReason::Hlt);
    EXPECT_EQ(v.get_mp_state().mp_state, kMpStateHalted);
    // Still halted: the next run exits at once.
    const uint64_t n = v.instructions_retired();
    ASSERT_EQ(v.run(10)->reason, ExitReason::Hlt);
    EXPECT_EQ(v.instructions_retired(), n);
    // RUNNABLE wakes it (the VMM's answer to an event it delivered itself).
    ASSERT_TRUE(v.set_mp_state({kMpStateRunnable}));
    ASSERT_EQ(v.run(10)->reason, ExitReason::Hlt);
    EXPECT_EQ(v.instructions_retired(), n + 2);
    EXPECT_EQ(v.get_regs().rax & 0xffff, 1u);
    // HALTED set from outside holds a runnable vCPU.
    real_mode_at(v, 0x1001);
    ASSERT_TRUE(v.set_mp_state({kMpStateHalted}));
    ASSERT_EQ(v.run(10)->reason, ExitReason::Hlt);
    EXPECT_EQ(v.get_regs().rip, 0x1001u);
}

TEST(KvmStateApi, MsrIndexListFollowsTheCpuModelAndEveryEntryReadsAndWrites) {
    for (const char* cpu : {"qemu64,-svm", "qemu64", "max"}) {
        SCOPED_TRACE(cpu);
        Bare b = bare(cpu);
        Vcpu& v = *b.v;
        const std::vector<uint32_t> list = v.get_msr_index_list();
        auto has = [&](uint32_t i) { return std::find(list.begin(), list.end(), i) != list.end(); };
        EXPECT_EQ(list.front(), kMsrTsc);  // written first on restore
        EXPECT_TRUE(has(kMsrStar) && has(kMsrPat) && has(kMsrMtrrDefType) && has(0x9e) &&
                    has(0x20f));
        EXPECT_FALSE(has(0xc0000080)) << "EFER travels in Sregs";
        const bool svm = std::string(cpu) != "qemu64,-svm";
        EXPECT_EQ(has(kMsrVmCr), svm);
        EXPECT_EQ(has(kMsrVmHsavePa), svm);
        std::vector<MsrEntry> e;
        for (uint32_t i : list) e.push_back({i, 0, 0});
        MsrsOutcome o = v.get_msrs(e);
        ASSERT_TRUE(o.status) << o.status.message();
        EXPECT_EQ(o.processed, list.size());
        for (const MsrEntry& x : e) EXPECT_EQ(x.data, *v.get_msr(x.index)) << std::hex << x.index;
        o = v.set_msrs(e);
        ASSERT_TRUE(o.status) << o.status.message();
        EXPECT_EQ(o.processed, list.size());
        if (has(kMsrTscAux)) {
            ASSERT_TRUE(v.set_msr(kMsrTscAux, 7));
            EXPECT_EQ(*v.get_msr(kMsrTscAux), 7u);
        }
    }
}

TEST(KvmStateApi, MsrsStopAtTheFirstFailureLikeKvm) {
    Bare b = bare();
    Vcpu& v = *b.v;
    const uint64_t lstar = *v.get_msr(kMsrLstar), sfmask = *v.get_msr(kMsrSfmask);
    const MsrEntry set[] = {{kMsrStar, 0, 0x0023001000000000ull},
                            {kMsrLstar, 0, 0x0000800000000000ull},  // not canonical
                            {kMsrSfmask, 0, 0x4700}};
    MsrsOutcome o = v.set_msrs(set);
    EXPECT_EQ(o.processed, 1u);
    EXPECT_EQ(o.status.code(), ErrorCode::InvalidArgument);
    EXPECT_NE(o.status.message().find("LSTAR"), std::string::npos) << o.status.message();
    EXPECT_EQ(*v.get_msr(kMsrStar), 0x0023001000000000ull);  // before the failure: taken
    EXPECT_EQ(*v.get_msr(kMsrLstar), lstar);
    EXPECT_EQ(*v.get_msr(kMsrSfmask), sfmask);
    MsrEntry get[] = {{kMsrStar, 0, 0}, {0x12345678, 0, 0}, {kMsrSfmask, 0, 0}};
    o = v.get_msrs(get);
    EXPECT_EQ(o.processed, 1u);
    EXPECT_EQ(o.status.code(), ErrorCode::NotFound);
    EXPECT_EQ(get[0].data, 0x0023001000000000ull);
    // Host writes get the checks WRMSR makes on the value.
    EXPECT_EQ(v.set_msr(kMsrPat, 0x0202020202020202ull).code(), ErrorCode::InvalidArgument);
    EXPECT_EQ(v.set_msr(kMsrMtrrDefType, 0x1000).code(), ErrorCode::InvalidArgument);
    EXPECT_TRUE(v.set_msr(0x200, 0x80000006));  // MTRR_PHYSBASE0
    EXPECT_EQ(*v.get_msr(0x200), 0x80000006u);
    EXPECT_TRUE(v.set_msr(0x26f, 0x0606060606060606ull));  // MTRR_FIX4K_F8000
    EXPECT_EQ(*v.get_msr(0x26f), 0x0606060606060606ull);
}

// ---- validation on a running machine: refused, with a message, and nothing changed ------------

struct Running {
    std::string serial;
    std::unique_ptr<Machine> m;
};

Running running(const char* image, const char* cpu, bool kernel, uint64_t insns) {
    Running r;
    MachineConfig c;
    c.ram_bytes = 16ull << 20;
    c.cpu = cpu;
    (kernel ? c.kernel_path : c.bios_path) = std::string(VX86_GUEST_DIR) + "/" + image;
    c.debug_exit = true;
    c.debug_exit_iobase = 0xf4;
    c.debug_exit_iosize = 4;
    c.serial_out = [s = &r.serial](uint8_t b) { s->push_back(static_cast<char>(b)); };
    auto m = Machine::create(c);
    EXPECT_TRUE(m) << m.message();
    r.m = std::move(*m);
    EXPECT_EQ(r.m->run(insns).outcome, MachineOutcome::InsnLimit);
    return r;
}

template <class F>
void expect_refused(Machine& m, ErrorCode code, const char* needle, F&& set) {
    SCOPED_TRACE(needle);
    const std::vector<uint8_t> before = m.save_snapshot();
    const Status st = set(m.vcpu());
    EXPECT_EQ(st.code(), code) << st.message();
    EXPECT_FALSE(st.message().empty());
    EXPECT_NE(st.message().find(needle), std::string::npos) << st.message();
    EXPECT_TRUE(before == m.save_snapshot())
        << "a refused set changed the machine: " << st.message();
}

TEST(KvmStateApi, EverySetterRefusesBadInputAndChangesNothing) {
    Running r = running("tests/exceptions.elf", "qemu64", true, 3000);
    Machine& m = *r.m;
    const Sregs2 s2 = m.vcpu().get_sregs2();
    const VcpuEvents ev = m.vcpu().get_vcpu_events();
    const DebugRegs dr = m.vcpu().get_debugregs();
    using E = ErrorCode;

    auto sregs2 = [&](auto&& change) {
        return [&, change](Vcpu& v) {
            Sregs2 s = s2;
            change(s);
            return v.set_sregs2(s);
        };
    };
    expect_refused(m, E::InvalidArgument, "flags", sregs2([](Sregs2& s) { s.flags = 4; }));
    expect_refused(m, E::InvalidArgument, "PAE",
                   sregs2([](Sregs2& s) { s.flags = kSregs2PdptrsValid; }));
    expect_refused(m, E::InvalidArgument, "CR4", sregs2([](Sregs2& s) { s.cr4 |= 1u << 18; }));
    expect_refused(m, E::InvalidArgument, "EFER",
                   sregs2([](Sregs2& s) { s.efer |= 1u << 14; }));  // FFXSR: not modelled
    expect_refused(m, E::InvalidArgument, "LMA", sregs2([](Sregs2& s) { s.efer |= 1u << 10; }));
    expect_refused(m, E::InvalidArgument, "NW",
                   sregs2([](Sregs2& s) { s.cr0 = (s.cr0 & ~(1ull << 30)) | (1u << 29); }));
    expect_refused(m, E::InvalidArgument, "CR8", sregs2([](Sregs2& s) { s.cr8 = 16; }));
    expect_refused(m, E::InvalidArgument, "APIC", sregs2([](Sregs2& s) { s.apic_base |= 1; }));

    auto debug = [&](auto&& change) {
        return [&, change](Vcpu& v) {
            DebugRegs d = dr;
            d.db[0] = 0x5555;  // would change if taken
            change(d);
            return v.set_debugregs(d);
        };
    };
    expect_refused(m, E::InvalidArgument, "DR6", debug([](DebugRegs& d) { d.dr6 |= 1ull << 32; }));
    expect_refused(m, E::InvalidArgument, "DR7", debug([](DebugRegs& d) { d.dr7 |= 1ull << 40; }));
    expect_refused(m, E::InvalidArgument, "flags", debug([](DebugRegs& d) { d.flags = 1; }));

    const char* const names[] = {nullptr,         "UNINITIALIZED", "INIT_RECEIVED", nullptr,
                                 "SIPI_RECEIVED", "STOPPED",       "CHECK_STOP",    "OPERATING",
                                 "LOAD",          "AP_RESET_HOLD", "SUSPENDED"};
    for (uint32_t s = 1; s <= 10; ++s)
        if (names[s])
            expect_refused(m, E::Unsupported, names[s],
                           [s](Vcpu& v) { return v.set_mp_state({s}); });
    expect_refused(m, E::InvalidArgument, "11", [](Vcpu& v) { return v.set_mp_state({11}); });

    auto events = [&](auto&& change) {
        return [&, change](Vcpu& v) {
            VcpuEvents e = ev;
            e.nmi.pending = 1;  // would change if taken
            change(e);
            return v.set_vcpu_events(e);
        };
    };
    // KVM's checks.
    expect_refused(m, E::InvalidArgument, "not 2",
                   events([](VcpuEvents& e) { e.exception.pending = 1, e.exception.nr = 2; }));
    expect_refused(m, E::InvalidArgument, "0-31",
                   events([](VcpuEvents& e) { e.exception.injected = 1, e.exception.nr = 32; }));
    expect_refused(m, E::InvalidArgument, "exclude", events([](VcpuEvents& e) {
                       e.exception.injected = e.exception.pending = 1, e.exception.nr = 1;
                   }));
    expect_refused(m, E::InvalidArgument, "payload",
                   events([](VcpuEvents& e) { e.exception_has_payload = 1; }));
    expect_refused(m, E::InvalidArgument, "triple_fault.pending",
                   events([](VcpuEvents& e) { e.triple_fault.pending = 2; }));
    expect_refused(m, E::InvalidArgument, "interrupt.soft",
                   events([](VcpuEvents& e) { e.interrupt.soft = 3; }));
    expect_refused(m, E::InvalidArgument, "shadow",
                   events([](VcpuEvents& e) { e.interrupt_shadow = 4; }));
    expect_refused(m, E::InvalidArgument, "smi.smm",
                   events([](VcpuEvents& e) { e.smi.smm_inside_nmi = 1; }));
    // Valid for KVM, but state vx86 does not have.
    expect_refused(m, E::Unsupported, "injected exception", events([](VcpuEvents& e) {
                       e.exception.injected = 1, e.exception.nr = 13,
                       e.exception.has_error_code = 1;
                   }));
    expect_refused(m, E::Unsupported, "pending exception 14", events([](VcpuEvents& e) {
                       e.exception.pending = 1, e.exception.nr = 14, e.exception.has_error_code = 1;
                       e.exception_has_payload = 1, e.exception_payload = 0x1000;
                   }));
    expect_refused(m, E::Unsupported, "payload", events([](VcpuEvents& e) {
                       e.exception.pending = 1, e.exception.nr = 1, e.exception_has_payload = 1,
                       e.exception_payload = 0x4000;
                   }));
    expect_refused(m, E::Unsupported, "injected interrupt",
                   events([](VcpuEvents& e) { e.interrupt.injected = 1, e.interrupt.nr = 0x20; }));
    expect_refused(m, E::Unsupported, "injected NMI",
                   events([](VcpuEvents& e) { e.nmi.injected = 1; }));
    expect_refused(m, E::Unsupported, "triple fault",
                   events([](VcpuEvents& e) { e.triple_fault.pending = 1; }));

    expect_refused(m, E::InvalidArgument, "LSTAR", [](Vcpu& v) {
        const MsrEntry e[] = {{0xc0000082, 0, 1ull << 47}};
        return v.set_msrs(e).status;
    });
    expect_refused(m, E::NotFound, "0x12345678", [](Vcpu& v) {
        const MsrEntry e[] = {{0x12345678, 0, 1}, {kMsrStar, 0, 5}};
        return v.set_msrs(e).status;
    });

    // KVM ignores the vector and error code of an exception that is neither injected nor
    // pending (its GET leaves stale ones there), and so does vx86.
    VcpuEvents stale = ev;
    stale.exception.nr = 14;
    stale.exception.has_error_code = 1;
    stale.exception.error_code = 2;
    stale.interrupt.nr = 0x30;
    ASSERT_TRUE(m.vcpu().set_vcpu_events(stale));
    const VcpuEvents back = m.vcpu().get_vcpu_events();
    EXPECT_EQ(back.exception.nr, 0);
    EXPECT_EQ(back.interrupt.nr, 0);
}

}  // namespace
}  // namespace vx86
