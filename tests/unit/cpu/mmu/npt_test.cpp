// Nested paging and ASID-tagged TLB: two-dimensional walks in every NPT format, the nested page
// fault's EXITINFO1/EXITINFO2 for each row of the APM 15.25.6 table, A/D bits in both levels,
// and TLB entries kept per ASID across world switches (APM Vol 2, 15.16 and 15.25).
#include "cpu/mmu/mmu.h"

#include "arch/vmcb.h"

#include <gtest/gtest.h>

#include "support/test_machine.h"

namespace vx86::test {
namespace {

using namespace arch;
using cpu::Access;
using cpu::Priv;

constexpr uint64_t P = Pte::P, RW = Pte::RW, US = Pte::US, PS = Pte::PS;
constexpr uint64_t kRsvd45 = uint64_t{1} << 45;  // above MAXPHYADDR 40

// Host (L1-physical) layout. The NPT maps L2's first 2 MiB (its page tables) to kL2Tables + gpa
// and L2's 0x800000.. (its data) to kL2Data + offset, both with 4 KiB pages, so that a test
// notices an untranslated address.
constexpr uint64_t kL2Tables = 0x1000000, kL2Data = 0x1800000;
constexpr uint64_t kNPml4 = 0x3000000, kNPdpt = 0x3001000, kNPd = 0x3002000;
constexpr uint64_t kNPt0 = 0x3003000, kNPt4 = 0x3004000;  // GPA 0..2M, GPA 8M..10M
constexpr uint64_t kNPaePdpt = 0x3005000;                 // legacy PAE: 4 PDPTEs
constexpr uint64_t kNPd32 = 0x3006000, kNPt32Lo = 0x3007000, kNPt32Data = 0x3008000;

// L2 (guest-physical) layout: 4-level tables at 0x1000..0x4000 map linear 0x400000.. to GPA
// 0x800000..; the 32-bit tables at 0x5000/0x6000 and the PAE PDPT at 0x7000 map the same.
constexpr uint64_t kL2Pml4 = 0x1000, kL2Pdpt = 0x2000, kL2Pd = 0x3000, kL2Pt = 0x4000;
constexpr uint64_t kL2Pd32 = 0x5000, kL2Pt32 = 0x6000, kL2PaePdpt = 0x7000;
constexpr uint64_t kLinear = 0x400000, kGpa = 0x800000;

struct Npt : ::testing::Test {
    TestMachine m;
    cpu::Mmu& mmu() { return m.vcpu->core().mmu; }
    cpu::CpuState& s() { return m.s(); }

    void l2_poke(uint64_t gpa, uint64_t v, uint64_t host_off = kL2Tables) {
        m.poke<uint64_t>(host_off + gpa, v);
    }
    uint64_t l2_peek(uint64_t gpa) { return m.read<uint64_t>(kL2Tables + gpa); }
    uint64_t npte(uint64_t table, unsigned i) { return m.read<uint64_t>(table + i * 8); }
    void set_npte(uint64_t table, unsigned i, uint64_t v) { m.poke<uint64_t>(table + i * 8, v); }

    void build_npt_4level() {
        m.poke<uint64_t>(kNPml4, kNPdpt | P | RW | US);
        m.poke<uint64_t>(kNPdpt, kNPd | P | RW | US);
        m.poke<uint64_t>(kNPd + 0 * 8, kNPt0 | P | RW | US);
        m.poke<uint64_t>(kNPd + 4 * 8, kNPt4 | P | RW | US);
        for (uint64_t i = 0; i < 512; ++i) {
            m.poke<uint64_t>(kNPt0 + i * 8, (kL2Tables + i * 0x1000) | P | RW | US);
            m.poke<uint64_t>(kNPt4 + i * 8, (kL2Data + i * 0x1000) | P | RW | US);
        }
        m.poke<uint64_t>(kNPaePdpt, kNPd | P);
    }
    void build_l2_tables(uint64_t host_off = kL2Tables) {
        l2_poke(kL2Pml4, kL2Pdpt | P | RW | US, host_off);
        l2_poke(kL2Pdpt, kL2Pd | P | RW | US, host_off);
        l2_poke(kL2Pd + 2 * 8, kL2Pt | P | RW | US, host_off);  // linear 0x400000
        for (uint64_t i = 0; i < 4; ++i)
            l2_poke(kL2Pt + i * 8, (kGpa + i * 0x1000) | P | RW | US, host_off);
        l2_poke(kL2PaePdpt, kL2Pd | P, host_off);
        m.poke<uint32_t>(host_off + kL2Pd32 + 1 * 4, kL2Pt32 | P | RW | US);  // linear 0x400000
        for (uint64_t i = 0; i < 4; ++i)
            m.poke<uint32_t>(host_off + kL2Pt32 + i * 4,
                             static_cast<uint32_t>((kGpa + i * 0x1000) | P | RW | US));
    }

    // L1 with long mode and NXE at VMRUN; L2 in 64-bit mode with its 4-level tables.
    void SetUp() override {
        build_npt_4level();
        build_l2_tables();
        for (uint32_t i = 0; i < 4; ++i) m.poke<uint32_t>(kL2Data + i * 0x1000, 0xd0d0 + i);
        m.enter_long64();
        s().cr3 = kL2Pml4;
        npt_4level();
    }
    void npt_4level() { set_npt({true, kNPml4, true, true, false, true, false}); }
    void set_npt(cpu::NestedPaging n) {
        mmu().npt = n;
        mmu().flush();
    }

    void expect_npf(uint64_t info, uint64_t gpa) {
        EXPECT_EQ(s().fault.vector, cpu::kNpfVector);
        EXPECT_FALSE(s().fault.has_error);
        EXPECT_EQ(s().fault.npf_info, info) << std::hex << s().fault.npf_info;
        EXPECT_EQ(s().fault.cr2, gpa) << std::hex << s().fault.cr2;
    }
    bool read32(uint64_t la, uint32_t& v, Priv p = Priv::Current) {
        s().fault = {};
        return mmu().read(la, v, p);
    }
};

TEST_F(Npt, FourLevelTranslatesBothDimensions) {
    uint64_t pa = 0;
    ASSERT_TRUE(mmu().translate(kLinear + 0x123, Access::Read, Priv::Current, pa));
    EXPECT_EQ(pa, kL2Data + 0x123);
    uint32_t v = 0;
    ASSERT_TRUE(read32(kLinear + 0x1000, v));
    EXPECT_EQ(v, 0xd0d1u);
    ASSERT_TRUE(mmu().write<uint32_t>(kLinear + 0x10, 0xfeedf00d));
    EXPECT_EQ(m.read<uint32_t>(kL2Data + 0x10), 0xfeedf00du);
    ASSERT_TRUE(read32(kLinear + 0x10, v));  // now from the TLB
    EXPECT_EQ(v, 0xfeedf00du);
    // The code cache and dirty logging key on the final L1-physical address.
    const uint8_t* host = nullptr;
    ASSERT_TRUE(mmu().translate_fetch(kLinear + 0x2020, pa, host));
    EXPECT_EQ(pa, kL2Data + 0x2020);
    ASSERT_NE(host, nullptr);
    EXPECT_EQ(*reinterpret_cast<const uint32_t*>(host - 0x20), 0xd0d2u);
}

TEST_F(Npt, IdentityOneGigabyteNestedPage) {
    build_l2_tables(0);  // identity: L2's tables at their own addresses
    m.poke<uint32_t>(kGpa, 0x1d1d);
    m.poke<uint64_t>(kNPdpt, 0 | P | RW | US | PS);
    mmu().flush();
    uint32_t v = 0;
    ASSERT_TRUE(read32(kLinear, v));
    EXPECT_EQ(v, 0x1d1du);
    // Bits 29:13 of a 1 GiB PDPE are reserved; the first nested access is L2's PML4E.
    m.poke<uint64_t>(kNPdpt, 0 | P | RW | US | PS | (1u << 13));
    mmu().flush();
    EXPECT_FALSE(read32(kLinear, v));
    expect_npf(0x2'0000'000f, kL2Pml4);
}

TEST_F(Npt, AccessedAndDirtyInBothLevels) {
    uint32_t v;
    ASSERT_TRUE(read32(kLinear, v));
    EXPECT_TRUE(l2_peek(kL2Pt) & Pte::A);
    EXPECT_FALSE(l2_peek(kL2Pt) & Pte::D);
    EXPECT_TRUE(npte(kNPt4, 0) & Pte::A);
    EXPECT_FALSE(npte(kNPt4, 0) & Pte::D) << "a read does not dirty the final nested page";
    // L2's table pages are accessed as writes through the NPT.
    for (uint64_t t : {kL2Pml4, kL2Pdpt, kL2Pd, kL2Pt}) {
        EXPECT_TRUE(npte(kNPt0, static_cast<unsigned>(t >> 12)) & Pte::A) << t;
        EXPECT_TRUE(npte(kNPt0, static_cast<unsigned>(t >> 12)) & Pte::D) << t;
    }
    for (uint64_t t : {kNPml4, kNPdpt, kNPd}) EXPECT_TRUE(m.read<uint64_t>(t) & Pte::A) << t;
    ASSERT_TRUE(mmu().write<uint32_t>(kLinear, 1));
    EXPECT_TRUE(l2_peek(kL2Pt) & Pte::D);
    EXPECT_TRUE(npte(kNPt4, 0) & Pte::D);
    EXPECT_FALSE(l2_peek(kL2Pd + 2 * 8) & Pte::D) << "D only on leaves";
    EXPECT_FALSE(m.read<uint64_t>(kNPd + 4 * 8) & Pte::D);
}

// --- APM 15.25.6 / spec §5.4 table -------------------------------------------------------

TEST_F(Npt, FinalNotPresentRead) {
    set_npte(kNPt4, 0, 0);
    uint32_t v;
    EXPECT_FALSE(read32(kLinear + 0x10, v));
    expect_npf(0x1'0000'0004, kGpa + 0x10);
}

TEST_F(Npt, FinalReadOnlyWriteIgnoresCr0Wp) {
    set_npte(kNPt4, 0, kL2Data | P | US);
    s().cr0 &= ~Cr0::WP;
    uint32_t v;
    EXPECT_TRUE(read32(kLinear, v));
    s().fault = {};
    EXPECT_FALSE(mmu().write<uint32_t>(kLinear + 4, 7));
    expect_npf(0x1'0000'0007, kGpa + 4);
    EXPECT_EQ(m.read<uint32_t>(kL2Data + 4), 0u);
}

TEST_F(Npt, FinalSupervisorOnlyFaultsEvenForSupervisorAccess) {
    set_npte(kNPt4, 0, kL2Data | P | RW);
    uint32_t v;
    EXPECT_FALSE(read32(kLinear, v, Priv::Supervisor));
    expect_npf(0x1'0000'0005, kGpa);
}

TEST_F(Npt, FinalNxFetchWithNxe) {
    set_npte(kNPt4, 0, kL2Data | P | RW | US | Pte::NX);
    uint64_t pa;
    const uint8_t* host;
    s().fault = {};
    EXPECT_FALSE(mmu().translate_fetch(kLinear, pa, host));
    expect_npf(0x1'0000'0015, kGpa);
    uint32_t v;
    EXPECT_TRUE(read32(kLinear, v)) << "NX does not stop data reads";
}

TEST_F(Npt, NxWithoutL1NxeIsReservedAndIdFollowsSmep) {
    set_npte(kNPt4, 0, kL2Data | P | RW | US | Pte::NX);
    set_npt({true, kNPml4, true, true, false, false, false});
    uint64_t pa;
    const uint8_t* host;
    uint32_t v;
    EXPECT_FALSE(read32(kLinear, v));
    expect_npf(0x1'0000'000d, kGpa);
    s().fault = {};
    EXPECT_FALSE(mmu().translate_fetch(kLinear, pa, host));
    expect_npf(0x1'0000'000d, kGpa);
    set_npt({true, kNPml4, true, true, false, false, true});  // L1's CR4.SMEP
    s().fault = {};
    EXPECT_FALSE(mmu().translate_fetch(kLinear, pa, host));
    expect_npf(0x1'0000'001d, kGpa);
}

TEST_F(Npt, L2TablePageNotPresent) {
    set_npte(kNPt0, kL2Pt >> 12, 0);
    uint32_t v;
    EXPECT_FALSE(read32(kLinear + 0x1000, v));
    // EXITINFO2 is the guest-physical address of the L2 entry being read.
    expect_npf(0x2'0000'0006, kL2Pt + 8);
}

TEST_F(Npt, L2TablePageReadOnlyFaultsEvenForRead) {
    set_npte(kNPt0, kL2Pml4 >> 12, (kL2Tables + kL2Pml4) | P | US);
    uint32_t v;
    EXPECT_FALSE(read32(kLinear, v));
    expect_npf(0x2'0000'0007, kL2Pml4);  // kvm-unit-tests npt_rw_pfwalk: EXITINFO2 = L2 CR3
    uint64_t pa;
    const uint8_t* host;
    s().fault = {};
    EXPECT_FALSE(mmu().translate_fetch(kLinear, pa, host));
    expect_npf(0x2'0000'0007, kL2Pml4);  // a table access during a fetch has no ID bit
}

TEST_F(Npt, ReservedBitInFinalNpte) {
    set_npte(kNPt4, 0, kL2Data | P | RW | US | kRsvd45);
    uint32_t v;
    EXPECT_FALSE(read32(kLinear, v));
    expect_npf(0x1'0000'000d, kGpa);
    uint64_t pa;
    const uint8_t* host;
    s().fault = {};
    EXPECT_FALSE(mmu().translate_fetch(kLinear, pa, host));
    expect_npf(0x1'0000'001d, kGpa);
}

TEST_F(Npt, ReservedBitInLargeFinalNpde) {
    set_npte(kNPd, 4, kL2Data | P | RW | US | PS);  // 2 MiB nested page
    mmu().flush();
    uint32_t v = 0;
    ASSERT_TRUE(read32(kLinear + 0x1004, v));
    EXPECT_EQ(v, m.read<uint32_t>(kL2Data + 0x1004));
    set_npte(kNPd, 4, kL2Data | P | RW | US | PS | (1u << 13));
    mmu().flush();
    EXPECT_FALSE(read32(kLinear, v));
    expect_npf(0x1'0000'000d, kGpa);
}

TEST_F(Npt, ReservedBitInNptPml4eDuringL2Walk) {
    m.poke<uint64_t>(kNPml4, kNPdpt | P | RW | US | kRsvd45);
    uint32_t v;
    EXPECT_FALSE(read32(kLinear, v));
    expect_npf(0x2'0000'000f, kL2Pml4);
    m.poke<uint64_t>(kNPml4, kNPdpt | P | RW | US | PS);  // PS is reserved in a PML4E
    EXPECT_FALSE(read32(kLinear, v));
    expect_npf(0x2'0000'000f, kL2Pml4);
}

TEST_F(Npt, PageCrossingWriteWithNestedFaultOnSecondPageHasNoEffect) {
    set_npte(kNPt4, 1, 0);
    m.poke<uint32_t>(kL2Data + 0xffc, 0xaaaaaaaa);
    s().fault = {};
    EXPECT_FALSE(mmu().write<uint64_t>(kLinear + 0xffc, 0x1122334455667788ull));
    expect_npf(0x1'0000'0006, kGpa + 0x1000);
    EXPECT_EQ(m.read<uint32_t>(kL2Data + 0xffc), 0xaaaaaaaau);
}

TEST_F(Npt, L2GuestPageFaultTakesPriorityOverFinalNestedCheck) {
    l2_poke(kL2Pt, 0);  // L2's own PTE not present
    set_npte(kNPt4, 0, 0);
    uint32_t v;
    EXPECT_FALSE(read32(kLinear, v));
    EXPECT_EQ(s().fault.vector, 14);
    EXPECT_EQ(s().fault.cr2, kLinear);
}

// --- other NPT formats and L2 modes ------------------------------------------------------

TEST_F(Npt, LegacyPaeNptRereadsPdptesOnEachWalk) {
    set_npt({true, kNPaePdpt, true, false, false, true, false});
    uint32_t v = 0;
    ASSERT_TRUE(read32(kLinear + 0x3000, v));
    EXPECT_EQ(v, 0xd0d3u);
    ASSERT_TRUE(mmu().write<uint32_t>(kLinear, 5));
    EXPECT_EQ(m.read<uint32_t>(kL2Data), 5u);
    EXPECT_EQ(m.read<uint64_t>(kNPaePdpt), kNPd | P) << "no accessed bit in a PDPTE";
    EXPECT_TRUE(npte(kNPt4, 0) & Pte::D);
    m.poke<uint64_t>(kNPaePdpt, 0);
    mmu().flush();
    EXPECT_FALSE(read32(kLinear, v));
    expect_npf(0x2'0000'0006, kL2Pml4);
    m.poke<uint64_t>(kNPaePdpt, kNPd | P | RW);  // R/W is reserved in a legacy PDPTE
    mmu().flush();
    EXPECT_FALSE(read32(kLinear, v));
    expect_npf(0x2'0000'000f, kL2Pml4);
}

TEST_F(Npt, ThirtyTwoBitNptWithAndWithoutPse) {
    m.poke<uint32_t>(kNPd32 + 0 * 4, static_cast<uint32_t>(kL2Tables | P | RW | US | PS));
    m.poke<uint32_t>(kNPd32 + 2 * 4, static_cast<uint32_t>(kL2Data | P | RW | US | PS));
    set_npt({true, kNPd32, false, false, true, false, false});
    uint32_t v = 0;
    ASSERT_TRUE(read32(kLinear + 0x1000, v));
    EXPECT_EQ(v, 0xd0d1u);
    ASSERT_TRUE(mmu().write<uint32_t>(kLinear + 8, 9));
    EXPECT_EQ(m.read<uint32_t>(kL2Data + 8), 9u);
    EXPECT_EQ(m.read<uint32_t>(kNPd32 + 2 * 4) & (Pte::A | Pte::D), Pte::A | Pte::D);
    // Without L1's CR4.PSE, PS is ignored and the PDE points at a page table.
    m.poke<uint32_t>(kNPd32 + 0 * 4, static_cast<uint32_t>(kNPt32Lo | P | RW | US));
    m.poke<uint32_t>(kNPd32 + 2 * 4, static_cast<uint32_t>(kNPt32Data | P | RW | US));
    for (uint32_t i = 0; i < 16; ++i) {
        m.poke<uint32_t>(kNPt32Lo + i * 4,
                         static_cast<uint32_t>((kL2Tables + i * 0x1000) | P | RW | US));
        m.poke<uint32_t>(kNPt32Data + i * 4,
                         static_cast<uint32_t>((kL2Data + i * 0x1000) | P | RW | US));
    }
    set_npt({true, kNPd32, false, false, false, false, false});
    ASSERT_TRUE(read32(kLinear + 0x2000, v));
    EXPECT_EQ(v, 0xd0d2u);
    uint64_t pa;
    const uint8_t* host;
    ASSERT_TRUE(mmu().translate_fetch(kLinear, pa, host)) << "no NX in 32-bit entries";
    EXPECT_EQ(pa, kL2Data);
    m.poke<uint32_t>(kNPt32Data, static_cast<uint32_t>(kL2Data | P | US));
    mmu().flush();
    s().fault = {};
    EXPECT_FALSE(mmu().write<uint32_t>(kLinear, 1));
    expect_npf(0x1'0000'0007, kGpa);
}

TEST_F(Npt, L2PagingOffGoesStraightThroughNpt) {
    m.enter_protected32();
    npt_4level();
    uint32_t v = 0;
    ASSERT_TRUE(read32(kGpa + 0x1000, v));
    EXPECT_EQ(v, 0xd0d1u);
    uint64_t pa;
    const uint8_t* host;
    ASSERT_TRUE(mmu().translate_fetch(kGpa + 0x10, pa, host));
    EXPECT_EQ(pa, kL2Data + 0x10);
    set_npte(kNPt4, 0, 0);
    mmu().flush();
    EXPECT_FALSE(read32(kGpa + 0x10, v));
    expect_npf(0x1'0000'0004, kGpa + 0x10);
}

TEST_F(Npt, L2LegacyPagingThroughNpt) {
    m.enter_protected32();
    s().cr3 = kL2Pd32;
    s().cr0 |= Cr0::PG;
    s().update_mode();
    npt_4level();
    uint32_t v = 0;
    ASSERT_TRUE(read32(kLinear + 0x3000, v));
    EXPECT_EQ(v, 0xd0d3u);
    EXPECT_TRUE(m.read<uint32_t>(kL2Tables + kL2Pt32 + 3 * 4) & Pte::A);
    // L2 legacy PAE: the PDPTEs are read from L2's CR3 through the NPT on each walk.
    s().cr4 |= Cr4::PAE;
    s().cr3 = kL2PaePdpt;
    s().update_mode();
    mmu().flush();
    ASSERT_TRUE(read32(kLinear + 0x2000, v));
    EXPECT_EQ(v, 0xd0d2u);
    set_npte(kNPt0, kL2PaePdpt >> 12, 0);
    mmu().flush();
    EXPECT_FALSE(read32(kLinear, v));
    expect_npf(0x2'0000'0006, kL2PaePdpt);
}

// --- ASID-tagged TLB -----------------------------------------------------------------------

// L1's own identity paging (TestMachine's 2 MiB pages); remap() moves a 2 MiB page by 16 MiB.
struct NptAsid : ::testing::Test {
    TestMachine m;
    static constexpr uint64_t kA = 0x400000, kB = 0x801000, kC = 0xc02000;  // distinct TLB slots
    static constexpr uint64_t kMoved = 0x1000000;
    cpu::Mmu& mmu() { return m.vcpu->core().mmu; }
    cpu::CpuState& s() { return m.s(); }

    void SetUp() override {
        m.enter_long64();
        s().cr4 |= Cr4::PGE;
        // Every page holds its own address, so a read tells which mapping it went through.
        for (uint64_t la : {kA, kB, kC})
            for (uint64_t p = la; p < la + 128 * 0x1000; p += 0x1000) {
                m.poke<uint32_t>(p, static_cast<uint32_t>(p));
                m.poke<uint32_t>(p + kMoved, static_cast<uint32_t>(p + kMoved));
            }
        mmu().flush();
    }
    void map(uint64_t la, uint64_t to, uint64_t extra = 0) {
        m.poke<uint64_t>(TestMachine::kPd + (la >> 21) * 8,
                         (to & ~uint64_t{0x1fffff}) | P | RW | US | PS | extra);
    }
    void remap(uint64_t la, uint64_t extra = 0) { map(la, la + kMoved, extra); }
    void unmap_back(uint64_t la, uint64_t extra = 0) { map(la, la, extra); }
    uint32_t rd(uint64_t la) {
        uint32_t v = 0;
        EXPECT_TRUE(mmu().read(la, v, Priv::Supervisor));
        return v;
    }
    bool fresh(uint64_t la) { return rd(la) == static_cast<uint32_t>(la + kMoved); }
    bool stale(uint64_t la) { return rd(la) == static_cast<uint32_t>(la); }
};

TEST_F(NptAsid, EntriesAreTaggedAndSurviveSwitches) {
    mmu().set_asid(1);
    EXPECT_TRUE(stale(kA));
    remap(kA);
    EXPECT_TRUE(stale(kA)) << "a TLB hit";
    const uint64_t epoch = mmu().tlb_epoch();
    mmu().set_asid(0);
    EXPECT_NE(mmu().tlb_epoch(), epoch) << "block links must notice the switch";
    mmu().set_asid(1);
    EXPECT_EQ(mmu().asid(), 1u);
    EXPECT_TRUE(stale(kA)) << "the ASID-1 entry survives a round trip to ASID 0";
    mmu().set_asid(2);
    EXPECT_TRUE(fresh(kA)) << "ASID 2 must not use ASID 1's entry";
    const uint64_t e2 = mmu().tlb_epoch();
    mmu().set_asid(2);
    EXPECT_EQ(mmu().tlb_epoch(), e2);
}

TEST_F(NptAsid, FlushAsidAndNonGlobalFlushes) {
    map(kA, kA, Pte::G);
    mmu().set_asid(1);
    EXPECT_TRUE(stale(kA));  // global
    EXPECT_TRUE(stale(kB));
    mmu().set_asid(2);
    EXPECT_TRUE(stale(kC));
    remap(kA, Pte::G);
    remap(kB);
    remap(kC);
    mmu().flush_asid(1, true);  // TLB_CONTROL 7
    EXPECT_TRUE(stale(kC)) << "another ASID is untouched";
    mmu().set_asid(1);
    EXPECT_TRUE(stale(kA)) << "global entries survive TLB_CONTROL 7";
    EXPECT_TRUE(fresh(kB));
    mmu().flush_asid(1, false);  // TLB_CONTROL 3
    EXPECT_TRUE(fresh(kA));
    EXPECT_TRUE(fresh(kB));
    // MOV CR3 with CR4.PGE in ASID 1: its non-global entries only.
    unmap_back(kB);
    unmap_back(kA, Pte::G);
    mmu().flush_nonglobal();
    EXPECT_TRUE(stale(kB));
    EXPECT_TRUE(fresh(kA)) << "global";
    mmu().set_asid(2);
    EXPECT_TRUE(stale(kC)) << "ASID 2 keeps its entry";
    mmu().flush();  // TLB_CONTROL 1: every ASID, global entries too
    EXPECT_TRUE(fresh(kC));
    mmu().set_asid(1);
    EXPECT_TRUE(stale(kA));
}

TEST_F(NptAsid, InvlpgaAndInvlpgActOnOneAsid) {
    mmu().set_asid(1);
    EXPECT_TRUE(stale(kA));
    EXPECT_TRUE(stale(kB));
    remap(kA);
    remap(kB);
    mmu().set_asid(0);
    mmu().invlpga(kA, 2);
    mmu().invlpg(kA);  // ASID 0's page
    mmu().set_asid(1);
    EXPECT_TRUE(stale(kA));
    mmu().invlpga(kA + 0x123, 1);
    EXPECT_TRUE(fresh(kA));
    EXPECT_TRUE(stale(kB)) << "one page only";
    mmu().invlpg(kB);
    EXPECT_TRUE(fresh(kB));
}

TEST_F(NptAsid, LargeAsidsShareOneSlotCorrectly) {
    mmu().set_asid(3);
    EXPECT_TRUE(stale(kB));
    mmu().set_asid(70000);
    EXPECT_TRUE(stale(kA));
    remap(kA);
    remap(kB);
    mmu().set_asid(80000);
    EXPECT_TRUE(fresh(kA)) << "ASID 80000 must not see ASID 70000's entry";
    mmu().flush_asid(90000, false);  // holds nothing
    mmu().invlpga(kA, 90000);
    EXPECT_TRUE(fresh(kA));
    unmap_back(kA);
    EXPECT_TRUE(fresh(kA)) << "cached for 80000";
    mmu().set_asid(70000);
    EXPECT_TRUE(stale(kA)) << "70000 lost the slot; a fresh walk";
    mmu().set_asid(3);
    EXPECT_TRUE(stale(kB)) << "small ASIDs are unaffected by the shared slot";
    mmu().set_asid(cpu::Mmu::kSharedAsidSlot);
    EXPECT_TRUE(fresh(kB));
    mmu().set_asid(~0u);
    EXPECT_TRUE(fresh(kB));
}

// Thousands of switches and per-ASID flushes, then a full flush must reach every entry: the
// filled-entry bookkeeping stays exact under compaction and overflow. Each ASID uses its own TLB
// slots, so that no entry is evicted before it is checked.
TEST_F(NptAsid, ManySwitchesThenFullFlush) {
    const uint32_t asids[] = {1, 2, 3, 4, 5000, 5001, 5002};
    auto page = [](unsigned j, unsigned k) { return kB + (j * 16 + k) * 0x1000; };
    for (unsigned round = 0; round < 2; ++round) {
        for (unsigned i = 0; i < 3000; ++i) {
            const unsigned j = i % 7;
            mmu().set_asid(asids[j]);
            EXPECT_EQ(rd(page(j, i % 16)), static_cast<uint32_t>(page(j, i % 16))) << i;
            if (round == 1)  // enough other pages to overflow the filled list
                for (unsigned n = 0; n < 40; ++n) rd(kA + 0x100000 + (n + 40 * i) % 400 * 0x1000);
            if (i % 5 == 0) mmu().flush_asid(asids[(i / 5) % 7], i % 2);
        }
        for (unsigned j = 0; j < 7; ++j) {
            mmu().set_asid(asids[j]);
            for (unsigned k = 0; k < 16; ++k) EXPECT_TRUE(stale(page(j, k)));
        }
        remap(kB);
        mmu().flush();
        for (unsigned j = 0; j < 7; ++j) {
            mmu().set_asid(asids[j]);
            for (unsigned k = 0; k < 16; ++k) EXPECT_TRUE(fresh(page(j, k))) << j << " " << k;
        }
        unmap_back(kB);
        mmu().flush();
    }
}

// A world switch without any flush: L1 (ASID 0, its own paging) and L2 (ASID 1, nested paging)
// use the same linear address for different pages.
TEST(NptWorldSwitch, L1AndL2EntriesCoexist) {
    TestMachine m;
    cpu::Mmu& mmu = m.vcpu->core().mmu;
    m.enter_long64();
    // NPT: GPA 0..1G identity with one 1 GiB page, except GPA 0x800000 -> 0x1800000.
    m.poke<uint64_t>(kNPml4, kNPdpt | P | RW | US);
    m.poke<uint64_t>(kNPdpt, kNPd | P | RW | US);
    for (uint64_t i = 0; i < 512; ++i) m.poke<uint64_t>(kNPd + i * 8, (i << 21) | P | RW | US | PS);
    m.poke<uint64_t>(kNPd + 4 * 8, kL2Data | P | RW | US | PS);
    // L2: linear 0x400000 -> GPA 0x800000 with a 2 MiB page.
    m.poke<uint64_t>(kL2Pml4, kL2Pdpt | P | RW | US);
    m.poke<uint64_t>(kL2Pdpt, kL2Pd | P | RW | US);
    m.poke<uint64_t>(kL2Pd + 2 * 8, kGpa | P | RW | US | PS);
    m.poke<uint32_t>(kLinear, 0x11);  // L1's view (identity)
    m.poke<uint32_t>(kL2Data, 0x22);  // L2's view
    m.poke<uint32_t>(kGpa, 0x33);     // what a missing NPT translation would show
    const uint64_t l1_cr3 = m.s().cr3;
    for (int i = 0; i < 10; ++i) {
        uint32_t v = 0;
        ASSERT_TRUE(mmu.read(kLinear, v, Priv::Supervisor));
        EXPECT_EQ(v, 0x11u);
        // VMRUN
        m.s().cr3 = kL2Pml4;
        mmu.npt = {true, kNPml4, true, true, false, true, false};
        mmu.set_asid(1);
        ASSERT_TRUE(mmu.read(kLinear, v, Priv::Supervisor));
        EXPECT_EQ(v, 0x22u);
        // #VMEXIT
        m.s().cr3 = l1_cr3;
        mmu.npt = {};
        mmu.set_asid(0);
    }
}

}  // namespace
}  // namespace vx86::test
