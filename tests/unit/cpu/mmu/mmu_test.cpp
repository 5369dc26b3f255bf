// Page walker and TLB: 32-bit with PSE, PAE and 4-level walks, permission faults with the exact
// #PF error codes (APM Vol 2, 8.4.2), accessed/dirty updates, and TLB invalidation rules.
#include "cpu/mmu/mmu.h"

#include "arch/vectors.h"

#include <gtest/gtest.h>

#include "support/test_machine.h"

namespace vx86::test {
namespace {

using namespace arch;
using cpu::Access;
using cpu::Priv;

constexpr uint64_t P = Pte::P, RW = Pte::RW, US = Pte::US;

struct Paging : ::testing::Test {
    TestMachine m;
    cpu::Mmu& mmu() { return m.vcpu->core().mmu; }
    cpu::CpuState& s() { return m.s(); }

    // 4-level: PML4 at 0x1000, PDPT 0x2000, PD 0x3000, PT 0x4000 mapping 0x400000.. to 0x800000..
    void four_level(uint64_t pte_flags) {
        m.enter_long64();
        m.poke<uint64_t>(0x1000, 0x2000 | P | RW | US);
        m.poke<uint64_t>(0x2000, 0x3000 | P | RW | US);
        m.poke<uint64_t>(0x3000 + 2 * 8, 0x4000 | P | RW | US);  // 0x400000
        m.poke<uint64_t>(0x4000, 0x800000 | pte_flags);
        s().cr3 = 0x1000;
        mmu().flush();
    }
    uint32_t pf_error() { return s().fault.error; }
};

TEST_F(Paging, FourLevelTranslatesAndSetsAccessedDirty) {
    four_level(P | RW | US);
    uint64_t gpa = 0;
    ASSERT_TRUE(mmu().translate(0x400123, Access::Read, Priv::Supervisor, gpa));
    EXPECT_EQ(gpa, 0x800123u);
    EXPECT_TRUE(m.read<uint64_t>(0x4000) & Pte::A);
    EXPECT_FALSE(m.read<uint64_t>(0x4000) & Pte::D);
    ASSERT_TRUE(mmu().translate(0x400123, Access::Write, Priv::Supervisor, gpa));
    EXPECT_TRUE(m.read<uint64_t>(0x4000) & Pte::D);
    EXPECT_TRUE(m.read<uint64_t>(0x1000) & Pte::A);
}

TEST_F(Paging, NotPresentAndReservedBitErrorCodes) {
    four_level(0);  // PTE not present
    uint64_t gpa;
    EXPECT_FALSE(mmu().translate(0x400000, Access::Write, Priv::Current, gpa));
    EXPECT_EQ(s().fault.vector, 14);
    EXPECT_EQ(pf_error(), PfErr::W);
    EXPECT_EQ(s().fault.cr2, 0x400000u);
    m.poke<uint64_t>(0x4000, 0x800000 | P | (uint64_t{1} << 45));  // above MAXPHYADDR 40
    EXPECT_FALSE(mmu().translate(0x400000, Access::Read, Priv::Current, gpa));
    EXPECT_EQ(pf_error(), PfErr::P | PfErr::RSV);
}

TEST_F(Paging, UserSupervisorWriteProtectAndNx) {
    four_level(P);  // read-only supervisor page
    uint64_t gpa;
    s().cr0 |= Cr0::WP;
    EXPECT_FALSE(mmu().translate(0x400000, Access::Write, Priv::Supervisor, gpa));
    EXPECT_EQ(pf_error(), PfErr::P | PfErr::W);
    s().cr0 &= ~Cr0::WP;
    EXPECT_TRUE(mmu().translate(0x400000, Access::Write, Priv::Supervisor, gpa));
    // CPL 3 access to a supervisor page.
    s().seg[cpu::SS].attrib |= 3 << Attr::DPL_SHIFT;
    s().update_mode();
    ASSERT_EQ(s().cpl, 3);
    EXPECT_FALSE(mmu().translate(0x400000, Access::Read, Priv::Current, gpa));
    EXPECT_EQ(pf_error(), PfErr::P | PfErr::U);
    // NX with EFER.NXE: instruction fetch faults with I/D set.
    s().seg[cpu::SS].attrib &= ~(3 << Attr::DPL_SHIFT);
    s().update_mode();
    m.poke<uint64_t>(0x4000, 0x800000 | P | RW | Pte::NX);
    EXPECT_FALSE(mmu().translate(0x400000, Access::Exec, Priv::Current, gpa));
    EXPECT_EQ(pf_error(), PfErr::P | PfErr::ID);
    // Without NXE, bit 63 is reserved.
    s().efer &= ~Efer::NXE;
    EXPECT_FALSE(mmu().translate(0x400000, Access::Read, Priv::Current, gpa));
    EXPECT_EQ(pf_error(), PfErr::P | PfErr::RSV);
}

TEST_F(Paging, SmepAndSmap) {
    four_level(P | RW | US);
    uint64_t gpa;
    s().cr4 |= Cr4::SMEP | Cr4::SMAP;
    EXPECT_FALSE(mmu().translate(0x400000, Access::Exec, Priv::Current, gpa));
    EXPECT_EQ(pf_error(), PfErr::P | PfErr::ID);
    EXPECT_FALSE(mmu().translate(0x400000, Access::Read, Priv::Current, gpa));
    EXPECT_EQ(pf_error(), PfErr::P);
    s().rflags |= Rflags::AC;  // explicit supervisor accesses allowed with AC=1
    EXPECT_TRUE(mmu().translate(0x400000, Access::Read, Priv::Current, gpa));
}

TEST_F(Paging, Legacy32BitWithPseAndPae) {
    m.enter_protected32();
    s().cr4 = Cr4::PSE;
    s().cr0 |= Cr0::PG;
    s().cr3 = 0x5000;
    // 4 MiB page at linear 0x00c00000 -> physical 0x01000000 + PSE-36 bits 32..39 = 0.
    m.poke<uint32_t>(0x5000 + 3 * 4, 0x01000000 | P | RW | Pte::PS);
    s().update_mode();
    mmu().flush();
    uint64_t gpa;
    ASSERT_TRUE(mmu().translate(0x00c12345, Access::Read, Priv::Supervisor, gpa));
    EXPECT_EQ(gpa, 0x01012345u);
    m.poke<uint32_t>(0x5000 + 3 * 4, 0x01000000 | P | RW | Pte::PS | (1u << 21));
    EXPECT_FALSE(mmu().translate(0x00c12345, Access::Read, Priv::Supervisor, gpa));
    EXPECT_EQ(pf_error(), PfErr::P | PfErr::RSV);
    // PAE: PDPT at 0x6000 (32-byte aligned), 2 MiB page.
    s().cr4 = Cr4::PAE;
    s().cr3 = 0x6000;
    m.poke<uint64_t>(0x6000, 0x7000 | P);
    m.poke<uint64_t>(0x7000 + 8, 0x00a00000 | P | RW | Pte::PS);  // linear 0x200000
    mmu().flush();
    ASSERT_TRUE(mmu().translate(0x201234, Access::Write, Priv::Supervisor, gpa));
    EXPECT_EQ(gpa, 0x00a01234u);
    // The PDPTE has no accessed bit: a second walk must not find a reserved bit set.
    EXPECT_EQ(m.read<uint64_t>(0x6000), 0x7000 | P);
    mmu().flush();
    ASSERT_TRUE(mmu().translate(0x201234, Access::Read, Priv::Supervisor, gpa));
    m.poke<uint64_t>(0x6000, 0x7000 | P | RW);  // R/W is reserved in a legacy PDPTE
    EXPECT_FALSE(mmu().translate(0x201234, Access::Read, Priv::Supervisor, gpa));
    EXPECT_EQ(pf_error(), PfErr::P | PfErr::RSV);
    // Bits 63:52 of a legacy PDPTE are reserved too, NX included even with EFER.NXE=1.
    s().efer |= Efer::NXE;
    for (unsigned bit : {52u, 62u, 63u}) {
        m.poke<uint64_t>(0x6000, 0x7000 | P | (uint64_t{1} << bit));
        mmu().flush();
        EXPECT_FALSE(mmu().translate(0x201234, Access::Read, Priv::Supervisor, gpa)) << "bit " << bit;
        EXPECT_EQ(pf_error(), PfErr::P | PfErr::RSV) << "bit " << bit;
    }
}

TEST_F(Paging, TlbKeepsStaleEntryUntilInvlpgButGlobalSurvivesCr3Flush) {
    four_level(P | RW | Pte::G);
    s().cr4 |= Cr4::PGE;
    uint32_t v = 0;
    m.poke<uint32_t>(0x800000, 0x1111);
    m.poke<uint32_t>(0x900000, 0x2222);
    ASSERT_TRUE(mmu().read(0x400000, v, Priv::Supervisor));
    EXPECT_EQ(v, 0x1111u);
    m.poke<uint64_t>(0x4000, 0x900000 | P | RW | Pte::G);
    ASSERT_TRUE(mmu().read(0x400000, v, Priv::Supervisor));
    EXPECT_EQ(v, 0x1111u) << "a TLB hit must not rewalk";
    mmu().flush_nonglobal();
    ASSERT_TRUE(mmu().read(0x400000, v, Priv::Supervisor));
    EXPECT_EQ(v, 0x1111u) << "global entries survive a CR3 write with CR4.PGE";
    mmu().invlpg(0x400000);
    ASSERT_TRUE(mmu().read(0x400000, v, Priv::Supervisor));
    EXPECT_EQ(v, 0x2222u);
}

TEST_F(Paging, PageCrossingWriteFaultsWithoutPartialEffect) {
    four_level(P | RW);
    m.poke<uint64_t>(0x4000 + 8, 0);  // 0x401000 not present
    m.poke<uint32_t>(0x800ffc, 0xaaaaaaaa);
    const uint64_t val = 0x1122334455667788ull;
    EXPECT_FALSE(mmu().write(0x400ffc, val, Priv::Supervisor));
    EXPECT_EQ(s().fault.cr2, 0x401000u);
    EXPECT_EQ(m.read<uint32_t>(0x800ffc), 0xaaaaaaaau);
}

TEST_F(Paging, NonCanonicalAddressIsGeneralProtection) {
    m.enter_long64();
    uint64_t gpa;
    EXPECT_FALSE(mmu().translate(0x0000800000000000ull, Access::Read, Priv::Current, gpa));
    EXPECT_EQ(s().fault.vector, 13);
}

}  // namespace
}  // namespace vx86::test
