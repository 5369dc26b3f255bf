// 16550 UART register model: transmit to the sink, divisor latch, LSR status, THRE interrupt
// and its clearing by an IIR read, loopback, and receive.
#include "devices/uart16550.h"

#include <gtest/gtest.h>

#include <string>

namespace vx86::devices {
namespace {

struct Line : bus::IrqLine {
    bool level = false;
    void set_level(bool a) override { level = a; }
};

uint8_t rd(Uart16550& u, uint16_t reg) {
    uint8_t v = 0;
    u.pio_read(reg, {&v, 1});
    return v;
}
void wr(Uart16550& u, uint16_t reg, uint8_t v) { u.pio_write(reg, {&v, 1}); }

TEST(Uart16550, TransmitsAndReportsTransmitterEmpty) {
    std::string out;
    Uart16550 u([&](uint8_t b) { out.push_back(static_cast<char>(b)); });
    EXPECT_EQ(rd(u, 5) & 0x60, 0x60);
    wr(u, 0, 'h');
    wr(u, 0, 'i');
    EXPECT_EQ(out, "hi");
    EXPECT_EQ(rd(u, 5) & 0x01, 0);  // nothing received
}

TEST(Uart16550, DivisorLatchDoesNotTransmit) {
    std::string out;
    Uart16550 u([&](uint8_t b) { out.push_back(static_cast<char>(b)); });
    wr(u, 3, 0x80);  // DLAB
    wr(u, 0, 0x01);
    wr(u, 1, 0x02);
    EXPECT_EQ(rd(u, 0), 0x01);
    EXPECT_EQ(rd(u, 1), 0x02);
    wr(u, 3, 0x03);
    EXPECT_TRUE(out.empty());
    EXPECT_EQ(rd(u, 3), 0x03);
    wr(u, 7, 0x5a);
    EXPECT_EQ(rd(u, 7), 0x5a);
}

TEST(Uart16550, ThreInterruptRaisedAndClearedByIirRead) {
    Line irq;
    Uart16550 u([](uint8_t) {}, &irq);
    EXPECT_EQ(rd(u, 2) & 0x0f, 0x01);  // no interrupt
    wr(u, 1, 0x02);                    // enable THRE interrupt: THR is empty, so it fires
    EXPECT_TRUE(irq.level);
    EXPECT_EQ(rd(u, 2) & 0x0f, 0x02);
    EXPECT_FALSE(irq.level);
    wr(u, 0, 'x');
    EXPECT_TRUE(irq.level);
}

TEST(Uart16550, LoopbackAndReceiveFeedRbr) {
    Line irq;
    std::string out;
    Uart16550 u([&](uint8_t b) { out.push_back(static_cast<char>(b)); }, &irq);
    wr(u, 4, 0x10);  // loopback
    wr(u, 0, 'z');
    EXPECT_TRUE(out.empty());
    EXPECT_EQ(rd(u, 5) & 0x01, 0x01);
    EXPECT_EQ(rd(u, 0), 'z');
    wr(u, 4, 0x00);
    wr(u, 1, 0x01);  // receive interrupt
    u.receive('q');
    EXPECT_TRUE(irq.level);
    EXPECT_EQ(rd(u, 2) & 0x0f, 0x04);
    EXPECT_EQ(rd(u, 0), 'q');
    EXPECT_FALSE(irq.level);
}

TEST(Uart16550, SaveRestoreRoundTrip) {
    Uart16550 u([](uint8_t) {});
    wr(u, 3, 0x1b);
    wr(u, 7, 0x42);
    Uart16550 v([](uint8_t) {});
    v.restore(u.save());
    EXPECT_EQ(rd(v, 3), 0x1b);
    EXPECT_EQ(rd(v, 7), 0x42);
}

}  // namespace
}  // namespace vx86::devices
