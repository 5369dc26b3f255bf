// ICH9 LPC and APM: identification, PMBASE/ACPI_CNTL masks, the PM block following PMBASE and
// ACPI_EN on the port bus, SMI_EN/SMI_STS, and which APM_CNT writes raise an SMI.
#include "devices/ich9_lpc.h"

#include <gtest/gtest.h>

#include <array>
#include <memory>

#include "devices/apm.h"

namespace vx86::devices {
namespace {

struct Scratch : bus::PioDevice {
    void pio_read(uint16_t, std::span<uint8_t> d) override { std::fill(d.begin(), d.end(), 0x11); }
    void pio_write(uint16_t, std::span<const uint8_t>) override {}
};

struct LpcTest : ::testing::Test {
    bus::PioBus pio;
    unsigned smis = 0;
    std::unique_ptr<Ich9Lpc> lpc;

    void SetUp() override {
        lpc = std::make_unique<Ich9Lpc>(pio, [this] { ++smis; });
        ASSERT_TRUE(pio.insert(Apm::kBasePort, Apm::kPorts, &lpc->apm()));
    }

    uint32_t cfg(uint8_t reg, unsigned size) {
        std::array<uint8_t, 4> b{};
        lpc->config_read(reg, {b.data(), size});
        return uint32_t{b[0]} | uint32_t{b[1]} << 8 | uint32_t{b[2]} << 16 | uint32_t{b[3]} << 24;
    }
    void set_cfg(uint8_t reg, unsigned size, uint32_t v) {
        std::array<uint8_t, 4> b{static_cast<uint8_t>(v), static_cast<uint8_t>(v >> 8),
                                 static_cast<uint8_t>(v >> 16), static_cast<uint8_t>(v >> 24)};
        lpc->config_write(reg, {b.data(), size});
    }
    uint32_t in(uint16_t port, unsigned size) {
        std::array<uint8_t, 4> b{};
        pio.read(port, {b.data(), size});
        return uint32_t{b[0]} | uint32_t{b[1]} << 8 | uint32_t{b[2]} << 16 | uint32_t{b[3]} << 24;
    }
    void out(uint16_t port, unsigned size, uint32_t v) {
        std::array<uint8_t, 4> b{static_cast<uint8_t>(v), static_cast<uint8_t>(v >> 8),
                                 static_cast<uint8_t>(v >> 16), static_cast<uint8_t>(v >> 24)};
        pio.write(port, {b.data(), size});
    }
    void enable_pm(uint16_t base) {
        set_cfg(Ich9Lpc::PMBASE, 4, base);
        set_cfg(Ich9Lpc::ACPI_CNTL, 1, Ich9Lpc::ACPI_EN);
    }
};

TEST_F(LpcTest, IdentifiesAsIch9Lpc) {
    EXPECT_EQ(cfg(0x00, 4), 0x29188086u);
    EXPECT_EQ(cfg(0x08, 4), 0x06010002u);
    EXPECT_EQ(cfg(0x0c, 4), 0x00800000u);  // multi-function
    EXPECT_EQ(cfg(0x2c, 4), 0x11001af4u);
}

TEST_F(LpcTest, ResetValuesAndMasks) {
    EXPECT_EQ(cfg(0x40, 4), 0x00000001u);
    EXPECT_EQ(cfg(0x44, 1), 0x00u);
    set_cfg(0x40, 4, 0xffffffff);
    EXPECT_EQ(cfg(0x40, 4), 0x0000ff81u);
    set_cfg(0x44, 1, 0xff);
    EXPECT_EQ(cfg(0x44, 1), 0x87u);
    set_cfg(0x40, 4, 0x0000067f);  // bits 6:1 are not part of the base
    EXPECT_EQ(cfg(0x40, 4), 0x00000601u);
    EXPECT_EQ(lpc->pm_io_base(), uint16_t{0x600});
}

TEST_F(LpcTest, PmBlockDecodesOnlyWithAcpiEn) {
    set_cfg(0x40, 4, 0x600);
    EXPECT_FALSE(pio.claims(0x630));
    EXPECT_EQ(in(0x630, 4), 0xffffffffu);
    set_cfg(0x44, 1, 0x80);
    EXPECT_TRUE(pio.claims(0x600));
    EXPECT_TRUE(pio.claims(0x67f));
    EXPECT_FALSE(pio.claims(0x680));
    EXPECT_EQ(in(0x630, 4), 0x00000000u);
    set_cfg(0x44, 1, 0x00);
    EXPECT_FALSE(pio.claims(0x600));
}

TEST_F(LpcTest, PmBlockFollowsPmbase) {
    enable_pm(0x600);
    out(0x630, 4, 0x21);
    set_cfg(0x40, 4, 0x700);
    EXPECT_FALSE(pio.claims(0x630));
    EXPECT_EQ(in(0x630, 4), 0xffffffffu);
    EXPECT_EQ(in(0x730, 4), 0x00000021u);
    set_cfg(0x41, 1, 0x0b);  // byte write to PMBASE bits 15:8 moves it too
    EXPECT_EQ(lpc->pm_io_base(), uint16_t{0xb00});
    EXPECT_FALSE(pio.claims(0x730));
    EXPECT_EQ(in(0xb30, 4), 0x00000021u);
}

TEST_F(LpcTest, PmBlockOverAnotherDeviceStaysUndecoded) {
    Scratch com1;
    ASSERT_TRUE(pio.insert(0x3f8, 8, &com1));
    enable_pm(0x380);
    EXPECT_EQ(lpc->pm_io_base(), std::nullopt);
    EXPECT_EQ(in(0x3f8, 1), 0x11u);
    set_cfg(0x40, 4, 0x400);
    EXPECT_EQ(lpc->pm_io_base(), uint16_t{0x400});
}

TEST_F(LpcTest, SmiEnStoresEveryBitAndBytes) {
    enable_pm(0x600);
    out(0x630, 4, 0xffffffff);
    EXPECT_EQ(in(0x630, 4), 0xffffffffu);
    out(0x630, 4, 0);
    out(0x631, 1, 0xa5);
    EXPECT_EQ(in(0x630, 4), 0x0000a500u);
    EXPECT_EQ(in(0x631, 1), 0xa5u);
    EXPECT_EQ(lpc->state().smi_en, 0x0000a500u);
}

TEST_F(LpcTest, OtherPmRegistersReadZero) {
    enable_pm(0x600);
    EXPECT_EQ(in(0x600, 4), 0u);
    EXPECT_EQ(in(0x608, 4), 0u);
    EXPECT_EQ(in(0x620, 4), 0u);
    out(0x620, 4, 0xffffffff);
    EXPECT_EQ(in(0x620, 4), 0u);
}

TEST_F(LpcTest, ApmPortsReadBack) {
    EXPECT_EQ(in(0xb2, 1), 0x00u);
    EXPECT_EQ(in(0xb3, 1), 0x00u);
    out(0xb3, 1, 0x5a);
    out(0xb2, 1, 0x77);
    EXPECT_EQ(in(0xb2, 1), 0x77u);
    EXPECT_EQ(in(0xb3, 1), 0x5au);
    EXPECT_EQ(in(0xb2, 2), 0x5a77u);
    EXPECT_EQ(smis, 0u);  // SMI_EN is clear
}

TEST_F(LpcTest, ApmSmiNeedsBothEnables) {
    enable_pm(0x600);
    out(0x630, 4, SmiEn::APMC_EN);  // QEMU 7.2 would raise here; the datasheet says no
    out(0xb2, 1, 0x00);
    EXPECT_EQ(smis, 0u);
    out(0x630, 4, SmiEn::GBL_SMI_EN);
    out(0xb2, 1, 0x00);
    EXPECT_EQ(smis, 0u);
    EXPECT_EQ(in(0x634, 4), 0u);
    out(0x630, 4, SmiEn::GBL_SMI_EN | SmiEn::APMC_EN);
    out(0xb2, 1, 0x00);
    EXPECT_EQ(smis, 1u);
    EXPECT_EQ(in(0x634, 4), SmiSts::APM_STS);
    out(0xb2, 1, 0xb5);
    EXPECT_EQ(smis, 2u);
    EXPECT_EQ(in(0xb2, 1), 0xb5u);
}

TEST_F(LpcTest, AcpiEnableDisableCommandsRaiseNoSmi) {
    enable_pm(0x600);
    out(0x630, 4, SmiEn::GBL_SMI_EN | SmiEn::APMC_EN);
    out(0xb2, 1, Ich9Lpc::APM_ACPI_ENABLE);
    EXPECT_EQ(smis, 0u);
    EXPECT_EQ(in(0xb2, 1), 0x02u);
    EXPECT_EQ(in(0x604, 2), Pm1Cnt::SCI_EN);
    out(0xb2, 1, Ich9Lpc::APM_ACPI_DISABLE);
    EXPECT_EQ(smis, 0u);
    EXPECT_EQ(in(0x604, 2), 0u);
    EXPECT_EQ(in(0x634, 4), 0u);
}

TEST_F(LpcTest, SmiStsIsWriteOneToClear) {
    enable_pm(0x600);
    out(0x630, 4, SmiEn::GBL_SMI_EN | SmiEn::APMC_EN);
    out(0xb2, 1, 0x10);
    ASSERT_EQ(in(0x634, 4), SmiSts::APM_STS);
    out(0x634, 4, ~SmiSts::APM_STS);
    EXPECT_EQ(in(0x634, 4), SmiSts::APM_STS);
    out(0x635, 1, 0xff);  // the wrong byte
    EXPECT_EQ(in(0x634, 4), SmiSts::APM_STS);
    out(0x634, 1, SmiSts::APM_STS);
    EXPECT_EQ(in(0x634, 4), 0u);
}

TEST_F(LpcTest, Pm1CntDropsSleepEnable) {
    enable_pm(0x600);
    out(0x604, 2, 0x3c01);  // SLP_TYP=7, SLP_EN, SCI_EN
    EXPECT_EQ(in(0x604, 2), 0x1c01u);
}

TEST_F(LpcTest, ResetClearsRegistersAndStopsDecoding) {
    enable_pm(0x600);
    out(0x630, 4, 0x21);
    out(0xb3, 1, 0x42);
    lpc->reset();
    EXPECT_EQ(lpc->state(), Ich9Lpc::State{});
    EXPECT_EQ(lpc->apm().state(), Apm::State{});
    EXPECT_FALSE(pio.claims(0x630));
    EXPECT_EQ(cfg(0x40, 4), 0x00000001u);
    EXPECT_EQ(in(0xb3, 1), 0x00u);
}

TEST_F(LpcTest, RestoreRedecodesThePmBlock) {
    Ich9Lpc::State s;
    s.pmbase = 0x0b7f;
    s.acpi_cntl = 0xff;
    s.smi_en = 0x21;
    lpc->restore(s);
    EXPECT_EQ(lpc->state().pmbase, 0x0b01);
    EXPECT_EQ(lpc->state().acpi_cntl, 0x87);
    EXPECT_EQ(in(0xb30, 4), 0x21u);
}

TEST_F(LpcTest, DestructionReleasesThePorts) {
    enable_pm(0x600);
    lpc.reset();
    EXPECT_FALSE(pio.claims(0x600));
}

// QEMU 7.2 -machine q35,smm=off: SMI_EN reads 0x20 after reset (APMC_EN preset, which tells
// firmware SMM is already set up) and an APM write still enters SMM under TCG.
TEST(Ich9LpcSmmOff, SmiEnResetsWithApmcEn) {
    bus::PioBus pio;
    unsigned smis = 0;
    Ich9Lpc lpc(pio, [&] { ++smis; }, false);
    EXPECT_EQ(lpc.state().smi_en, SmiEn::APMC_EN);
    const uint8_t gbl[4] = {0x21, 0, 0, 0};
    lpc.pm_write(Ich9Lpc::SMI_EN, gbl);
    lpc.apm_command(0x00);
    EXPECT_EQ(smis, 1u);
    lpc.reset();
    EXPECT_EQ(lpc.state().smi_en, SmiEn::APMC_EN);
}

TEST(Apm, WideWritesStoreBothPortsAndReportTheCommand) {
    std::vector<uint8_t> commands;
    Apm apm([&](uint8_t c) { commands.push_back(c); });
    const uint8_t w[2] = {0xb5, 0x01};
    apm.pio_write(0, w);
    EXPECT_EQ(apm.state().apm_cnt, 0xb5);
    EXPECT_EQ(apm.state().apm_sts, 0x01);
    const uint8_t sts = 0x7e;
    apm.pio_write(1, {&sts, 1});
    ASSERT_EQ(commands.size(), 1u);
    EXPECT_EQ(commands[0], 0xb5);
}

}  // namespace
}  // namespace vx86::devices
