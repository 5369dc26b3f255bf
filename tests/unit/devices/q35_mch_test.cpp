// q35 MCH through CONFIG_ADDRESS/CONFIG_DATA: identification, reset values and write masks as
// QEMU 7.2 reads them, the D_LCK freeze, the extended-TSEG query, and the SMRAM view function.
#include "devices/q35_mch.h"

#include <gtest/gtest.h>

#include <array>
#include <vector>

namespace vx86::devices {
namespace {

struct MchTest : ::testing::Test {
    std::vector<SmramView> reports;
    Q35Mch mch{16, [this](const SmramView& v) { reports.push_back(v); }};
    PciHost host;

    void SetUp() override { ASSERT_TRUE(host.attach(0, 0, &mch)); }

    uint32_t rd(uint8_t reg, unsigned size) {
        select(reg);
        std::array<uint8_t, 4> b{};
        host.pio_read(static_cast<uint16_t>(4 + (reg & 3)), {b.data(), size});
        return uint32_t{b[0]} | uint32_t{b[1]} << 8 | uint32_t{b[2]} << 16 | uint32_t{b[3]} << 24;
    }
    void wr(uint8_t reg, unsigned size, uint32_t v) {
        select(reg);
        std::array<uint8_t, 4> b{static_cast<uint8_t>(v), static_cast<uint8_t>(v >> 8),
                                 static_cast<uint8_t>(v >> 16), static_cast<uint8_t>(v >> 24)};
        host.pio_write(static_cast<uint16_t>(4 + (reg & 3)), {b.data(), size});
    }
    void select(uint8_t reg) {
        const uint32_t a = 0x80000000u | (reg & 0xfcu);
        std::array<uint8_t, 4> b{static_cast<uint8_t>(a), static_cast<uint8_t>(a >> 8),
                                 static_cast<uint8_t>(a >> 16), static_cast<uint8_t>(a >> 24)};
        host.pio_write(0, {b.data(), 4});
    }
};

TEST_F(MchTest, IdentifiesAsQ35HostBridge) {
    EXPECT_EQ(rd(0x00, 4), 0x29c08086u);
    EXPECT_EQ(rd(0x04, 4), 0x00000000u);
    EXPECT_EQ(rd(0x08, 4), 0x06000000u);  // host bridge, revision 0
    EXPECT_EQ(rd(0x0c, 4), 0x00000000u);  // single-function
    EXPECT_EQ(rd(0x2c, 4), 0x11001af4u);
    wr(0x00, 4, 0);
    EXPECT_EQ(rd(0x00, 4), 0x29c08086u);
}

TEST_F(MchTest, ResetValuesAsQemuReadsThem) {
    EXPECT_EQ(rd(0x9c, 4), 0x00380200u);
    EXPECT_EQ(rd(0x9d, 1), 0x02u);
    EXPECT_EQ(rd(0x9e, 1), 0x38u);
    EXPECT_EQ(rd(0x9e, 2), 0x0038u);
    EXPECT_EQ(rd(0x50, 2), 0x0010u);
    EXPECT_EQ(mch.view(), SmramView{});
}

TEST_F(MchTest, SmramWriteMask) {
    wr(0x9d, 1, 0xef);  // everything but D_LCK
    EXPECT_EQ(rd(0x9d, 1), 0x6au);
    wr(0x9d, 1, 0x88);  // bit 7 reserved, C_BASE_SEG hard-wired
    EXPECT_EQ(rd(0x9d, 1), 0x0au);
    wr(0x9d, 1, 0x00);
    EXPECT_EQ(rd(0x9d, 1), 0x02u);
}

TEST_F(MchTest, EsmramcWriteMask) {
    wr(0x9e, 1, 0xff);
    EXPECT_EQ(rd(0x9e, 1), 0xbfu);
    wr(0x9e, 1, 0x00);
    EXPECT_EQ(rd(0x9e, 1), 0x38u);
    wr(0x9c, 4, 0xffff4a00);  // dword over 0x9C..0x9F
    EXPECT_EQ(rd(0x9c, 4), 0x00bf4a00u);
}

TEST_F(MchTest, LockFreezesUntilReset) {
    wr(0x9e, 1, 0x87);
    wr(0x9d, 1, 0x4a);  // open
    wr(0x9d, 1, 0x1a);  // lock
    EXPECT_EQ(rd(0x9d, 1), 0x1au);
    EXPECT_TRUE(mch.locked());
    wr(0x9d, 1, 0x7a);  // only D_CLS still writable: D_OPEN stays clear
    EXPECT_EQ(rd(0x9d, 1), 0x3au);
    wr(0x9d, 1, 0x00);  // D_LCK and G_SMRAME cannot be cleared
    EXPECT_EQ(rd(0x9d, 1), 0x1au);
    wr(0x9e, 1, 0x00);
    EXPECT_EQ(rd(0x9e, 1), 0xbfu);
    wr(0x50, 2, 0x1234);  // EXT_TSEG_MBYTES is not covered by the lock (QEMU 7.2 agrees)
    EXPECT_EQ(rd(0x50, 2), 0x1234u);
    mch.reset();
    EXPECT_EQ(rd(0x9c, 4), 0x00380200u);
    wr(0x9d, 1, 0x4a);
    EXPECT_EQ(rd(0x9d, 1), 0x4au);
}

TEST_F(MchTest, LockClearsOpenWrittenInTheSameAccess) {
    wr(0x9d, 1, 0x5a);  // D_OPEN | D_LCK | G_SMRAME
    EXPECT_EQ(rd(0x9d, 1), 0x1au);
    EXPECT_FALSE(mch.view().open_low);
}

TEST_F(MchTest, DwordWriteUsesThePreLockMaskForEsmramc) {
    wr(0x9c, 4, 0x00871a00);  // sets D_LCK and ESMRAMC together
    EXPECT_EQ(rd(0x9c, 4), 0x00bf1a00u);
    EXPECT_EQ(mch.view().tseg_size, 16ull << 20);
}

TEST_F(MchTest, ExtendedTsegQuery) {
    wr(0x50, 2, 0x1234);
    EXPECT_EQ(rd(0x50, 2), 0x1234u);
    wr(0x50, 2, 0xffff);
    EXPECT_EQ(rd(0x50, 2), 0x0010u);
    wr(0x50, 1, 0x00);
    EXPECT_EQ(rd(0x50, 2), 0x0000u);
    wr(0x50, 1, 0xff);  // only half of the query value
    EXPECT_EQ(rd(0x50, 2), 0x00ffu);
    wr(0x51, 1, 0xff);
    EXPECT_EQ(rd(0x50, 2), 0x0010u);
}

TEST_F(MchTest, ExtendedTsegSizeComesFromTheBoardNotTheRegister) {
    wr(0x50, 2, 0x0040);
    wr(0x9d, 1, 0x0a);
    wr(0x9e, 1, 0x07);
    EXPECT_EQ(mch.view().tseg_size, 16ull << 20);
}

TEST(Q35Mch, ExtendedTsegDisabled) {
    Q35Mch mch(0);
    EXPECT_EQ(mch.config_byte(0x50), 0);
    EXPECT_EQ(mch.config_wmask(0x50), 0);
    const uint8_t q[2] = {0xff, 0xff};
    mch.config_write(0x50, q);
    EXPECT_EQ(mch.state().ext_tseg_mbytes, 0);
    EXPECT_EQ(smram_view(Smram::G_SMRAME, Esmramc::TSEG_SZ_EXT | Esmramc::T_EN, 0).tseg_size, 0u);
}

TEST(Q35Mch, ExtendedTsegPropertyIsCapped) {
    Q35Mch mch(0xffff);
    EXPECT_EQ(mch.ext_tseg_mbytes(), 0xfff);
}

TEST(SmramView, TsegSizes) {
    const uint8_t g = Smram::G_SMRAME;
    EXPECT_EQ(smram_view(g, 0x38 | Esmramc::TSEG_SZ_1MB | 1, 16).tseg_size, 1ull << 20);
    EXPECT_EQ(smram_view(g, 0x38 | Esmramc::TSEG_SZ_2MB | 1, 16).tseg_size, 2ull << 20);
    EXPECT_EQ(smram_view(g, 0x38 | Esmramc::TSEG_SZ_8MB | 1, 16).tseg_size, 8ull << 20);
    EXPECT_EQ(smram_view(g, 0x38 | Esmramc::TSEG_SZ_EXT | 1, 16).tseg_size, 16ull << 20);
    EXPECT_EQ(smram_view(g, 0x38 | Esmramc::TSEG_SZ_EXT | 1, 64).tseg_size, 64ull << 20);
    EXPECT_EQ(smram_view(g, 0x38 | Esmramc::TSEG_SZ_8MB, 16).tseg_size, 0u);  // T_EN clear
    // G_SMRAME clear
    EXPECT_EQ(smram_view(0x02, 0x38 | Esmramc::TSEG_SZ_8MB | 1, 16).tseg_size, 0u);
}

// Every combination of D_OPEN, G_SMRAME, H_SMRAME and T_EN (TSEG_SZ = 1 MiB).
TEST(SmramView, EveryCombination) {
    struct Row {
        bool d_open, g_smrame, h_smrame, t_en;
        SmramView want;  // smm_low, smm_high, open_low, open_high, tseg_size
    };
    constexpr uint64_t M = 1ull << 20;
    const Row rows[] = {
        {0, 0, 0, 0, {0, 0, 0, 0, 0}}, {0, 0, 0, 1, {0, 0, 0, 0, 0}},
        {0, 0, 1, 0, {0, 0, 0, 0, 0}}, {0, 0, 1, 1, {0, 0, 0, 0, 0}},
        {0, 1, 0, 0, {1, 0, 0, 0, 0}}, {0, 1, 0, 1, {1, 0, 0, 0, M}},
        {0, 1, 1, 0, {0, 1, 0, 0, 0}}, {0, 1, 1, 1, {0, 1, 0, 0, M}},
        {1, 0, 0, 0, {0, 0, 1, 0, 0}}, {1, 0, 0, 1, {0, 0, 1, 0, 0}},
        {1, 0, 1, 0, {0, 0, 0, 1, 0}}, {1, 0, 1, 1, {0, 0, 0, 1, 0}},
        {1, 1, 0, 0, {1, 0, 1, 0, 0}}, {1, 1, 0, 1, {1, 0, 1, 0, M}},
        {1, 1, 1, 0, {0, 1, 0, 1, 0}}, {1, 1, 1, 1, {0, 1, 0, 1, M}},
    };
    for (const Row& r : rows) {
        const uint8_t smram = static_cast<uint8_t>(0x02 | (r.d_open ? Smram::D_OPEN : 0) |
                                                   (r.g_smrame ? Smram::G_SMRAME : 0));
        const uint8_t esmramc = static_cast<uint8_t>(0x38 | (r.h_smrame ? Esmramc::H_SMRAME : 0) |
                                                     (r.t_en ? Esmramc::T_EN : 0));
        EXPECT_EQ(smram_view(smram, esmramc, 16), r.want)
            << "D_OPEN=" << r.d_open << " G_SMRAME=" << r.g_smrame << " H_SMRAME=" << r.h_smrame
            << " T_EN=" << r.t_en;
    }
    // A locked register never shows SMRAM open, whatever D_OPEN says.
    EXPECT_FALSE(smram_view(Smram::D_OPEN | Smram::D_LCK | Smram::G_SMRAME | 2, 0x38, 16).open_low);
}

TEST_F(MchTest, ReportsViewChangesOnly) {
    wr(0x9d, 1, 0x0a);
    ASSERT_EQ(reports.size(), 1u);
    EXPECT_TRUE(reports.back().smm_low);
    wr(0x9d, 1, 0x2a);  // D_CLS: same view
    EXPECT_EQ(reports.size(), 1u);
    wr(0x50, 2, 0xffff);
    wr(0xa0, 1, 0xff);
    EXPECT_EQ(reports.size(), 1u);
    wr(0x9e, 1, 0x81);
    ASSERT_EQ(reports.size(), 2u);
    EXPECT_TRUE(reports.back().smm_high);
    EXPECT_EQ(reports.back().tseg_size, 1ull << 20);
    mch.reset();  // always reported, so the board rebuilds its mapping
    ASSERT_EQ(reports.size(), 3u);
    EXPECT_EQ(reports.back(), SmramView{});
}

TEST_F(MchTest, UnlistedRegistersAreReadOnlyZero) {
    wr(0xa0, 1, 0x5a);
    EXPECT_EQ(rd(0xa0, 1), 0x00u);
    wr(0x9c, 1, 0xff);  // F_SMBASE (QEMU's smbase-smram extension) is not modelled
    EXPECT_EQ(rd(0x9c, 1), 0x00u);
    EXPECT_EQ(rd(0x60, 4), 0x00000000u);
}

TEST(Q35Mch, RestoreForcesHardWiredBitsAndClearsOpenUnderLock) {
    std::vector<SmramView> reports;
    Q35Mch mch(16, [&](const SmramView& v) { reports.push_back(v); });
    mch.restore({0xff, 0x00, 0x1234});
    EXPECT_EQ(mch.state().smram, 0x3a);
    EXPECT_EQ(mch.state().esmramc, 0x38);
    EXPECT_EQ(mch.state().ext_tseg_mbytes, 0x1234);
    ASSERT_EQ(reports.size(), 1u);
    EXPECT_TRUE(reports.back().smm_low);
    EXPECT_FALSE(reports.back().open_low);
}

}  // namespace
}  // namespace vx86::devices
