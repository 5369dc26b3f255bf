// 16550A UART as on a PC's COM1: THR/RBR, IER, IIR/FCR, LCR, MCR, LSR, MSR, SCR, divisor latch.
// Transmitted bytes go to a sink; the IRQ line follows the enabled, pending interrupt sources.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <span>
#include <vector>

#include "bus/device.h"

namespace vx86::devices {

class Uart16550 : public bus::PioDevice {
public:
    struct State {
        uint8_t ier = 0, iir = 1, lcr = 0, mcr = 0, lsr = 0x60, msr = 0xb0, scr = 0;
        uint8_t dll = 0x0c, dlm = 0;  // 9600 baud
        bool thr_interrupt = false;   // THRE interrupt pending
        bool operator==(const State&) const = default;
    };

    using Sink = std::function<void(uint8_t)>;

    explicit Uart16550(Sink sink, bus::IrqLine* irq = nullptr) : m_sink(std::move(sink)), m_irq(irq) {}

    void pio_read(uint16_t offset, std::span<uint8_t> data) override;
    void pio_write(uint16_t offset, std::span<const uint8_t> data) override;

    // Bytes from the host side (keyboard/stdin) for the guest to read from RBR.
    void receive(uint8_t byte);

    State save() const { return m_s; }
    // Received bytes the guest has not read yet (part of the saved state).
    std::vector<uint8_t> rx_fifo() const { return {m_rx.begin(), m_rx.end()}; }
    void set_rx_fifo(std::span<const uint8_t> bytes) {
        m_rx.assign(bytes.begin(), bytes.end());
        update_irq();
    }
    void restore(const State& s) {
        m_s = s;
        update_irq();
    }

private:
    uint8_t read_reg(uint16_t reg);
    void write_reg(uint16_t reg, uint8_t v);
    void update_irq();

    State m_s;
    std::deque<uint8_t> m_rx;
    Sink m_sink;
    bus::IrqLine* m_irq;
};

}  // namespace vx86::devices
