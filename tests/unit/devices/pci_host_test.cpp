// Configuration mechanism #1: CONFIG_ADDRESS read-back and its dword-only decode, CONFIG_DATA
// byte/word/dword accesses at every offset, write masks, absent functions and other buses.
#include "devices/pci_host.h"

#include <gtest/gtest.h>

#include <array>

namespace vx86::devices {
namespace {

// A function whose bytes are their offset, with a mask that makes byte 0x41 half-writable.
struct Pattern : PciFunction {
    std::array<uint8_t, 256> bytes{};
    unsigned writes = 0;
    uint8_t last_offset = 0;
    unsigned last_size = 0;
    Pattern() {
        for (unsigned i = 0; i < 256; ++i) bytes[i] = static_cast<uint8_t>(i);
    }
    uint8_t config_byte(uint8_t o) const override { return bytes[o]; }
    uint8_t config_wmask(uint8_t o) const override {
        if (o == 0x41) return 0x0f;
        return o >= 0x40 ? 0xff : 0x00;
    }
    void store_config_byte(uint8_t o, uint8_t v) override { bytes[o] = v; }
    void config_written(uint8_t o, unsigned size) override {
        ++writes;
        last_offset = o;
        last_size = size;
    }
};

uint32_t in(PciHost& h, uint16_t port, unsigned size) {
    std::array<uint8_t, 4> b{};
    h.pio_read(static_cast<uint16_t>(port - PciHost::kBasePort), {b.data(), size});
    return uint32_t{b[0]} | uint32_t{b[1]} << 8 | uint32_t{b[2]} << 16 | uint32_t{b[3]} << 24;
}

void out(PciHost& h, uint16_t port, unsigned size, uint32_t v) {
    std::array<uint8_t, 4> b{static_cast<uint8_t>(v), static_cast<uint8_t>(v >> 8),
                             static_cast<uint8_t>(v >> 16), static_cast<uint8_t>(v >> 24)};
    h.pio_write(static_cast<uint16_t>(port - PciHost::kBasePort), {b.data(), size});
}

uint32_t addr(unsigned dev, unsigned fn, unsigned reg) {
    return 0x80000000u | dev << 11 | fn << 8 | reg;
}

struct PciHostTest : ::testing::Test {
    PciHost host;
    Pattern fn0, fn31;
    void SetUp() override {
        ASSERT_TRUE(host.attach(0, 0, &fn0));
        ASSERT_TRUE(host.attach(31, 0, &fn31));
    }
};

TEST_F(PciHostTest, ConfigAddressReadsBackAllBits) {
    EXPECT_EQ(in(host, 0xcf8, 4), 0u);
    out(host, 0xcf8, 4, 0x8055119f);  // QEMU 7.2 reads 0x8055119F back, reserved bits included
    EXPECT_EQ(in(host, 0xcf8, 4), 0x8055119fu);
}

TEST_F(PciHostTest, NarrowConfigAddressAccessesGoNowhere) {
    out(host, 0xcf8, 4, 0x80000000);
    out(host, 0xcf8, 1, 0x12);
    out(host, 0xcfb, 1, 0x01);  // Linux's pci_check_type1 probe
    out(host, 0xcf8, 2, 0x3456);
    EXPECT_EQ(in(host, 0xcf8, 4), 0x80000000u);
    EXPECT_EQ(in(host, 0xcf8, 1), 0xffu);
    EXPECT_EQ(in(host, 0xcfa, 2), 0xffffu);
}

TEST_F(PciHostTest, DataAccessesOfEveryWidthAndOffset) {
    out(host, 0xcf8, 4, addr(0, 0, 0x9c));
    EXPECT_EQ(in(host, 0xcfc, 4), 0x9f9e9d9cu);
    EXPECT_EQ(in(host, 0xcfc, 1), 0x9cu);
    EXPECT_EQ(in(host, 0xcfd, 1), 0x9du);
    EXPECT_EQ(in(host, 0xcfe, 1), 0x9eu);
    EXPECT_EQ(in(host, 0xcff, 1), 0x9fu);
    EXPECT_EQ(in(host, 0xcfc, 2), 0x9d9cu);
    EXPECT_EQ(in(host, 0xcfd, 2), 0x9e9du);
    EXPECT_EQ(in(host, 0xcfe, 2), 0x9f9eu);
    // The part of an access beyond 0xCFF is not CONFIG_DATA.
    EXPECT_EQ(in(host, 0xcff, 2), 0xff9fu);
    EXPECT_EQ(in(host, 0xcfe, 4), 0xffff9f9eu);
}

TEST_F(PciHostTest, ReservedAddressBitsDoNotShiftTheDword) {
    out(host, 0xcf8, 4, addr(0, 0, 0x9c) | 3);
    EXPECT_EQ(in(host, 0xcfc, 4), 0x9f9e9d9cu);
}

TEST_F(PciHostTest, WritesLandUnderTheMaskAtTheirOffset) {
    out(host, 0xcf8, 4, addr(0, 0, 0x40));
    out(host, 0xcfd, 1, 0xaa);  // byte 0x41: mask 0x0f over 0x41
    EXPECT_EQ(fn0.bytes[0x41], 0x4a);
    EXPECT_EQ(fn0.last_offset, 0x41);
    EXPECT_EQ(fn0.last_size, 1u);
    out(host, 0xcfe, 2, 0x1234);
    EXPECT_EQ(fn0.bytes[0x42], 0x34);
    EXPECT_EQ(fn0.bytes[0x43], 0x12);
    EXPECT_EQ(fn0.last_size, 2u);
    out(host, 0xcf8, 4, addr(0, 0, 0x00));
    out(host, 0xcfc, 4, 0xffffffff);  // read-only header
    EXPECT_EQ(in(host, 0xcfc, 4), 0x03020100u);
    EXPECT_EQ(fn0.writes, 3u);
}

TEST_F(PciHostTest, AbsentFunctionsAndOtherBusesReadAllOnes) {
    out(host, 0xcf8, 4, addr(5, 0, 0));
    EXPECT_EQ(in(host, 0xcfc, 4), 0xffffffffu);
    out(host, 0xcfc, 4, 0);
    out(host, 0xcf8, 4, addr(31, 1, 0));
    EXPECT_EQ(in(host, 0xcfc, 2), 0xffffu);
    out(host, 0xcf8, 4, addr(31, 0, 0) | 1u << 16);  // bus 1
    EXPECT_EQ(in(host, 0xcfc, 4), 0xffffffffu);
    out(host, 0xcf8, 4, addr(31, 0, 0x40));
    EXPECT_EQ(in(host, 0xcfc, 4), 0x43424140u);
}

TEST_F(PciHostTest, DisabledConfigAddressReadsAllOnesAndDropsWrites) {
    out(host, 0xcf8, 4, 0x00000040);
    EXPECT_EQ(in(host, 0xcfc, 4), 0xffffffffu);
    out(host, 0xcfc, 4, 0);
    EXPECT_EQ(fn0.writes, 0u);
    EXPECT_EQ(fn0.bytes[0x40], 0x40);
}

TEST_F(PciHostTest, AttachRejectsTakenSlotsAndBadNumbers) {
    Pattern other;
    EXPECT_FALSE(host.attach(0, 0, &other));
    EXPECT_FALSE(host.attach(32, 0, &other));
    EXPECT_FALSE(host.attach(1, 8, &other));
    EXPECT_TRUE(host.attach(1, 7, &other));
}

TEST_F(PciHostTest, ResetClearsConfigAddress) {
    out(host, 0xcf8, 4, addr(0, 0, 0x40));
    host.reset();
    EXPECT_EQ(host.state(), PciHost::State{});
    EXPECT_EQ(in(host, 0xcfc, 4), 0xffffffffu);
}

}  // namespace
}  // namespace vx86::devices
