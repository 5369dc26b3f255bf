// Whole-machine snapshots against the determinism oracle: a guest run that is saved and restored
// (into the same board at every instruction boundary, and into a fresh board at many points and
// at every "interesting" point: interrupt shadow, SMM, SMM entered from L2, L2 guest mode, a
// latched SMI, an EVENTINJ written but not yet taken by VMRUN) must end with the same serial
// output, vCPU state and RAM as the uninterrupted run. A negative control drops one vCPU field
// at a time and requires the comparison to catch it.
#include "state/snapshot.h"

#include <bit>
#include <gtest/gtest.h>

#include <cstring>
#include <algorithm>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "arch/vmcb.h"
#include "state/container.h"
#include "state/cpu_record.h"

#ifndef VX86_GUEST_DIR
#error "VX86_GUEST_DIR must name the built guests directory"
#endif

namespace vx86::state {
namespace {

using machine::Board;
using machine::BoardConfig;
using machine::Outcome;

struct Guest {
    const char* image;  // under VX86_GUEST_DIR
    const char* cpu;
    bool kernel;        // multiboot -kernel (else -bios)
};

const Guest kGuests[] = {
    {"tests/svm_smm.bin", "qemu64,+svm", false},       // SMI in L2, RSM back into L2
    {"tests/svm_smoke.bin", "qemu64,+svm", false},     // L2, EVENTINJ, V_IRQ after STI, VMLOAD
    {"tests/smm_rsm_modes.bin", "qemu64", false},      // SMM from every mode
    {"tests/exceptions.elf", "qemu64", true},          // faults, #DF, IRET, ring 3
};

std::unique_ptr<Board> make_board(const Guest& g, std::string* serial) {
    BoardConfig c;
    c.ram_bytes = 16ull << 20;
    c.cpu = g.cpu;
    (g.kernel ? c.kernel_path : c.bios_path) = std::string(VX86_GUEST_DIR) + "/" + g.image;
    c.debug_exit = true;
    c.debug_exit_iobase = 0xf4;
    c.debug_exit_iosize = 4;
    c.serial_out = [serial](uint8_t b) { serial->push_back(static_cast<char>(b)); };
    auto b = Board::create(c);
    EXPECT_TRUE(b) << b.message();
    return b ? std::move(*b) : nullptr;
}

uint64_t ram_hash(Board& b) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (uint64_t i = 0; i < b.low_ram_size(); ++i) h = (h ^ b.low_ram()[i]) * 0x100000001b3ull;
    return h;
}

struct Final {
    std::string serial;
    std::vector<uint8_t> cpu;
    uint64_t ram = 0;
    int status = -1;
    bool operator==(const Final&) const = default;
};

Final finish(Board& b, std::string& serial) {
    const auto r = b.run(50'000'000);
    EXPECT_EQ(r.outcome, Outcome::DebugExit);
    return {serial, encode_cpu(b.vcpu().state()), ram_hash(b), r.exit_status};
}

Final reference(const Guest& g) {
    std::string serial;
    auto b = make_board(g, &serial);
    return finish(*b, serial);
}

// Points worth a snapshot, by what the vCPU is doing at the boundary.
enum Interesting { kShadow, kSmm, kSmmFromL2, kGuestMode, kSmiPending, kEventInjPending, kCount };
const char* const kInterestingNames[] = {"interrupt shadow", "in SMM", "SMM entered from L2",
                                         "L2 guest mode", "SMI latched", "EVENTINJ before VMRUN"};

std::vector<int> interesting(Board& b) {
    const cpu::CpuState& s = b.vcpu().state();
    std::vector<int> out;
    if (s.interrupt_shadow) out.push_back(kShadow);
    if (s.smm.in_smm) out.push_back(kSmm);
    if (s.svm.smm_suspended) out.push_back(kSmmFromL2);
    if (s.svm.guest_mode) out.push_back(kGuestMode);
    if (s.smm.smi_pending) out.push_back(kSmiPending);
    // The next instruction is VMRUN (0F 01 D8) and the VMCB at rAX asks for an injection.
    uint8_t insn[3] = {};
    const uint64_t rip = s.seg[cpu::CS].base + s.rip();
    if (rip + 3 <= b.low_ram_size() && !s.paging()) {
        std::memcpy(insn, b.low_ram() + rip, 3);
        const uint64_t vmcb = s.gpr[cpu::RAX] & 0xffffffff;
        if (insn[0] == 0x0f && insn[1] == 0x01 && insn[2] == 0xd8 && vmcb + 0x1000 <= b.low_ram_size()) {
            uint32_t inj;
            std::memcpy(&inj, b.low_ram() + vmcb + offsetof(arch::VmcbControl, event_inj), 4);
            if (inj & 0x80000000u) out.push_back(kEventInjPending);
        }
    }
    return out;
}

struct SnapshotPoint {
    uint64_t icount;
    std::string serial_so_far;
    std::vector<uint8_t> blob;
};

// Steps the guest one instruction at a time, taking a full snapshot every `every` instructions
// and at the first boundary of each interesting kind.
std::vector<SnapshotPoint> collect(const Guest& g, uint64_t every, std::set<int>& hit) {
    std::string serial;
    auto b = make_board(g, &serial);
    std::vector<SnapshotPoint> pts;
    for (uint64_t i = 0;; ++i) {
        bool take = i % every == 0;
        for (int k : interesting(*b))
            if (hit.insert(k).second) take = true;
        if (take) pts.push_back({b->vcpu().state().icount, serial, save_machine(*b)});
        const auto r = b->run(1);
        if (r.outcome != Outcome::InsnLimit) break;
    }
    return pts;
}

class Snapshot : public ::testing::TestWithParam<Guest> {};

// Every boundary: the vCPU record round trip in place (decode, replace the state, drop every
// derived cache) and the run goes on as if nothing happened.
TEST_P(Snapshot, VcpuRoundTripAtEveryBoundaryIsInvisible) {
    const Guest g = GetParam();
    const Final ref = reference(g);
    std::string serial;
    auto b = make_board(g, &serial);
    const cpu::CpuFeatures f = cpu::CpuFeatures::of(b->vcpu().cpuid());
    uint64_t steps = 0;
    for (;;) {
        cpu::CpuState s;
        const auto bytes = encode_cpu(b->vcpu().state());
        ASSERT_TRUE(decode_cpu(bytes, f, s)) << "at instruction " << steps;
        b->vcpu().state() = s;
        b->vcpu().state_changed();
        const auto r = b->run(1);
        ++steps;
        if (r.outcome != Outcome::InsnLimit) {
            EXPECT_EQ(r.outcome, Outcome::DebugExit);
            break;
        }
        ASSERT_LT(steps, 10'000'000u);
    }
    const Final got{serial, encode_cpu(b->vcpu().state()), ram_hash(*b), ref.status};
    EXPECT_EQ(got.serial, ref.serial);
    EXPECT_TRUE(got.cpu == ref.cpu);
    EXPECT_EQ(got.ram, ref.ram);
}

// Full snapshots restored into a fresh board: identical continuation, and saving the restored
// board gives back the same bytes (nothing lost, nothing invented).
TEST_P(Snapshot, FreshBoardContinuesIdentically) {
    const Guest g = GetParam();
    const Final ref = reference(g);
    std::set<int> hit;
    const auto pts = collect(g, 1500, hit);
    ASSERT_GT(pts.size(), 5u);
    for (const SnapshotPoint& p : pts) {
        std::string serial = p.serial_so_far;
        auto fresh = make_board(g, &serial);
        serial = p.serial_so_far;  // the boot of the fresh board printed nothing; be explicit
        ASSERT_TRUE(restore_machine(*fresh, p.blob)) << "at instruction " << p.icount;
        ASSERT_EQ(save_machine(*fresh), p.blob) << "restore+save is not the identity at " << p.icount;
        const Final got = finish(*fresh, serial);
        EXPECT_EQ(got.serial, ref.serial) << "snapshot at instruction " << p.icount;
        EXPECT_TRUE(got.cpu == ref.cpu) << "snapshot at instruction " << p.icount;
        EXPECT_EQ(got.ram, ref.ram) << "snapshot at instruction " << p.icount;
        EXPECT_EQ(got.status, ref.status);
    }
}

INSTANTIATE_TEST_SUITE_P(Guests, Snapshot, ::testing::ValuesIn(kGuests),
                         [](const ::testing::TestParamInfo<Guest>& i) {
                             std::string n = i.param.image;
                             n = n.substr(n.find('/') + 1);
                             n = n.substr(0, n.find('.'));
                             return n;
                         });

// The guests between them reach every interesting point the issue names.
TEST(SnapshotPoints, EveryInterestingPointIsReached) {
    std::set<int> hit;
    for (const Guest& g : kGuests) (void)collect(g, 1u << 30, hit);
    for (int k = 0; k < kCount; ++k) EXPECT_TRUE(hit.count(k)) << kInterestingNames[k] << " never reached";
}

// Negative control, field level: in a state where every field holds its own nonzero value, the
// record round trip keeps every field, and dropping any single one changes the result.
TEST(SnapshotNegativeControl, EveryFieldSurvivesAndEveryDropIsVisible) {
    const cpu::CpuState all = cpu_state_all_fields_set();
    const auto enc = encode_cpu(all);
    cpu::CpuState back;
    ASSERT_TRUE(decode_cpu_unchecked(enc, back));
    EXPECT_EQ(encode_cpu(back), enc);
    const auto names = cpu_field_names();
    ASSERT_EQ(names.size(), cpu_field_count());
    EXPECT_EQ(std::set<std::string>(names.begin(), names.end()).size(), names.size()) << "duplicate names";
    for (size_t i = 0; i < names.size(); ++i) {
        const auto dropped = encode_cpu(all, static_cast<int>(i));
        cpu::CpuState t;
        ASSERT_TRUE(decode_cpu_unchecked(dropped, t));
        EXPECT_NE(encode_cpu(t), enc) << "dropping " << names[i] << " went unnoticed";
    }
}

// Negative control, machine level: dropping a field the guests' states depend on makes the
// comparison the tests above make (restore, save again, compare with the original) fail.
TEST(SnapshotNegativeControl, DroppingALiveFieldFailsTheRestoreComparison) {
    const auto names = cpu_field_names();
    const std::vector<std::string> must = {"interrupt_shadow", "rflags", "rip", "cr0", "efer", "smm.in_smm",
                                           "smm.smbase", "smm.smi_pending", "svm.gif",
                                           "svm.guest_mode", "svm.smm_suspended", "svm.vmcb12_pa",
                                           "svm.ctl", "svm.host.cr0", "svm.host.rip",
                                           "msr.vm_hsave_pa", "icount", "nmi_blocked"};
    std::set<std::string> detected;
    for (const Guest& g : kGuests) {
        std::string serial;
        auto src = make_board(g, &serial);
        auto target = make_board(g, &serial);
        std::set<int> hit;
        for (const SnapshotPoint& p : collect(g, 5000, hit)) {
            ASSERT_TRUE(restore_machine(*src, p.blob));
            for (const std::string& m : must) {
                if (detected.count(m)) continue;
                SaveOptions o;
                o.drop_cpu_field = static_cast<int>(std::find(names.begin(), names.end(), m) - names.begin());
                ASSERT_LT(static_cast<size_t>(o.drop_cpu_field), names.size()) << m;
                const auto dropped = save_machine(*src, o);
                if (!restore_machine(*target, dropped) || save_machine(*target) != p.blob) detected.insert(m);
            }
        }
    }
    for (const std::string& m : must) EXPECT_TRUE(detected.count(m)) << "dropping " << m << " went unnoticed";
}

// Bytes COM1 received but the guest has not read yet travel with the snapshot.
TEST(SnapshotDevices, SerialReceiveFifoIsKept) {
    std::string serial;
    auto b = make_board(kGuests[0], &serial);
    for (uint8_t c : {'v', 'x', '8', '6'}) b->com1().receive(c);
    const auto blob = save_machine(*b);
    auto fresh = make_board(kGuests[0], &serial);
    ASSERT_TRUE(restore_machine(*fresh, blob));
    EXPECT_EQ(fresh->com1().rx_fifo(), (std::vector<uint8_t>{'v', 'x', '8', '6'}));
    EXPECT_EQ(save_machine(*fresh), blob);
}

// Dirty-log state travels: logging stays on, the same pages are reported, and saving does not
// harvest them.
TEST(SnapshotDevices, DirtyLogStateIsKept) {
    std::string serial, s2;
    auto b = make_board(kGuests[0], &serial);
    b->run(2000);
    b->set_dirty_logging(true);
    b->run(30000);
    const auto low = b->dirty_pages(0, false);
    uint64_t dirty = 0;
    for (uint64_t w : low) dirty += static_cast<uint64_t>(std::popcount(w));
    ASSERT_GT(dirty, 0u) << "the guest wrote nothing; the test would prove nothing";
    const auto blob = save_machine(*b);
    EXPECT_EQ(b->dirty_pages(0, false), low) << "saving changed the dirty log";
    auto fresh = make_board(kGuests[0], &s2);
    ASSERT_TRUE(restore_machine(*fresh, blob));
    EXPECT_TRUE(fresh->dirty_logging());
    EXPECT_EQ(fresh->dirty_pages(0, false), low);
    EXPECT_EQ(save_machine(*fresh), blob);
    // Both go on logging the same pages.
    b->dirty_pages(0, true);
    fresh->dirty_pages(0, true);
    b->run(20000);
    fresh->run(20000);
    EXPECT_EQ(fresh->dirty_pages(0, true), b->dirty_pages(0, true));
    // And a snapshot without logging turns it off on a board that had it on.
    auto plain = make_board(kGuests[0], &s2);
    plain->run(1000);
    ASSERT_TRUE(restore_machine(*fresh, save_machine(*plain)));
    EXPECT_FALSE(fresh->dirty_logging());
}

// An INIT signalled between runs is pending in the vCPU and travels with it.
TEST(SnapshotDevices, PendingInitIsKept) {
    std::string serial, s2, s3;
    auto b = make_board(kGuests[3], &serial);
    b->run(3000);
    b->vcpu().inject_init();
    const auto blob = save_machine(*b);
    auto fresh = make_board(kGuests[3], &s2);
    ASSERT_TRUE(restore_machine(*fresh, blob));
    EXPECT_TRUE(fresh->vcpu().state().smm.init_latched);
    b->run(1000);
    fresh->run(1000);
    EXPECT_EQ(save_machine(*fresh), save_machine(*b));
}

// ---- bad snapshots ----------------------------------------------------------------------------

struct SnapshotErrors : ::testing::Test {
    std::string serial;
    Guest g = kGuests[0];
    std::unique_ptr<Board> b = make_board(g, &serial);
    std::vector<uint8_t> good;
    void SetUp() override {
        b->run(5000);
        good = save_machine(*b);
    }
    // A board that must be left exactly as it was by a failed restore.
    void expect_refused(std::span<const uint8_t> bytes, const std::string& needle) {
        std::string s2;
        auto target = make_board(g, &s2);
        target->run(100);
        const auto before = save_machine(*target);
        const auto st = restore_machine(*target, bytes);
        EXPECT_FALSE(st);
        EXPECT_NE(st.message().find(needle), std::string::npos) << st.message();
        EXPECT_EQ(save_machine(*target), before) << "a failed restore changed the machine";
    }
};

TEST_F(SnapshotErrors, TruncatedAtEveryRecordBoundaryAndInside) {
    auto c = parse_container(good, [](uint32_t) -> uint16_t { return 1; });
    ASSERT_TRUE(c) << c.message();
    std::vector<size_t> cuts = {0, 10, 63, 64, 65};
    for (const Record& r : c->records) cuts.push_back(r.offset), cuts.push_back(r.offset + 7);
    cuts.push_back(good.size() - 1);
    for (size_t cut : cuts) expect_refused(std::span(good).first(cut), "");
}

TEST_F(SnapshotErrors, DifferentMachineIsListed) {
    std::string s2;
    Guest other = g;
    other.cpu = "qemu64";  // no SVM
    auto target = make_board(other, &s2);
    const auto before = save_machine(*target);
    const auto st = restore_machine(*target, good);
    ASSERT_FALSE(st);
    EXPECT_NE(st.message().find("cpu=qemu64,+svm"), std::string::npos) << st.message();
    EXPECT_NE(st.message().find("this machine: cpu=qemu64"), std::string::npos) << st.message();
    EXPECT_EQ(save_machine(*target), before);
}

// Rewrites record `type`'s payload with `edit` and re-seals the container (fresh CRCs), so that
// only the semantic check can refuse it.
std::vector<uint8_t> edited(std::span<const uint8_t> good, uint32_t type,
                            const std::function<void(std::vector<uint8_t>&)>& edit) {
    auto c = parse_container(good, [](uint32_t) -> uint16_t { return 1; });
    EXPECT_TRUE(c);
    ContainerWriter w(c->header);
    for (const Record& r : c->records) {
        std::vector<uint8_t> p(r.payload.begin(), r.payload.end());
        if (r.type == type) edit(p);
        w.add(r.type, r.version, r.flags, p);
    }
    return w.finish();
}

// The snapshot's vCPU with `edit` applied, re-encoded and re-sealed.
std::vector<uint8_t> with_cpu(std::span<const uint8_t> good, const cpu::CpuFeatures& f,
                              const std::function<void(cpu::CpuState&)>& edit) {
    return edited(good, kRecVcpu, [&](std::vector<uint8_t>& p) {
        cpu::CpuState s;
        ASSERT_TRUE(decode_cpu(p, f, s));
        edit(s);
        p = encode_cpu(s);
    });
}

TEST_F(SnapshotErrors, SemanticViolationsNameTheField) {
    const cpu::CpuFeatures f = cpu::CpuFeatures::of(b->vcpu().cpuid());
    expect_refused(with_cpu(good, f, [](cpu::CpuState& s) { s.efer |= arch::Efer::LMA; }), "efer.LMA");
    expect_refused(with_cpu(good, f, [](cpu::CpuState& s) { s.interrupt_shadow = 4; }), "interrupt_shadow");
    expect_refused(with_cpu(good, f, [](cpu::CpuState& s) {
                       s.smm.in_smm = false;
                       s.smm.inside_nmi = true;
                   }),
                   "outside SMM");
    expect_refused(with_cpu(good, f, [](cpu::CpuState& s) {
                       s.svm.guest_mode = true;
                       s.efer &= ~arch::Efer::SVME;
                   }),
                   "svm.guest_mode without efer.SVME");
    expect_refused(with_cpu(good, f, [](cpu::CpuState& s) { s.rflags |= 1u << 3; }), "rflags");
    expect_refused(with_cpu(good, f, [](cpu::CpuState& s) { s.cr0 |= uint64_t{1} << 40; }), "cr0");
    // Bytes past the last field, and a record cut short.
    expect_refused(edited(good, kRecVcpu, [](std::vector<uint8_t>& p) { p.push_back(0); }), "after the last field");
    expect_refused(edited(good, kRecVcpu, [](std::vector<uint8_t>& p) { p.resize(p.size() / 2); }), "truncated");
    // Devices: read-only bits of the MCH's SMRAM register.
    expect_refused(edited(good, kRecDevice + 1, [](std::vector<uint8_t>& p) { p[1 + 7] ^= 0x07; }),
                   "SMRAM register");
    // RAM: a chunk naming pages beyond its block, and a page tag that is neither zero nor data.
    expect_refused(edited(good, kRecRamChunk, [](std::vector<uint8_t>& p) {
                       const uint64_t first = 1u << 30;
                       std::memcpy(p.data() + 4, &first, 8);
                   }),
                   "beyond RAM block");
    expect_refused(edited(good, kRecRamChunk, [](std::vector<uint8_t>& p) { p[16] = 7; }), "page tag");
    // A layout that says logging was on, without the logs.
    expect_refused(edited(good, kRecMemoryLayout, [](std::vector<uint8_t>& p) { p.back() = 1; }),
                   "has no dirty log");
    // A receive FIFO over its cap.
    expect_refused(edited(good, kRecDevice + 4, [](std::vector<uint8_t>& p) {
                       const uint32_t huge = 1u << 20;
                       std::memcpy(p.data() + p.size() - 4, &huge, 4);
                   }),
                   "receive FIFO");
}

}  // namespace
}  // namespace vx86::state
