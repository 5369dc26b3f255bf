// 16550A register model (National Semiconductor PC16550D data sheet, register summary table).
// No FIFO timing: transmission completes instantly, so THRE/TEMT always read as set.
#include "devices/uart16550.h"

namespace vx86::devices {

namespace {
constexpr uint8_t LSR_DR = 0x01, LSR_THRE = 0x20, LSR_TEMT = 0x40;
constexpr uint8_t IER_RDA = 0x01, IER_THRE = 0x02;
constexpr uint8_t LCR_DLAB = 0x80;
constexpr uint8_t MCR_LOOP = 0x10;
}  // namespace

void Uart16550::pio_read(uint16_t offset, std::span<uint8_t> data) {
    for (size_t i = 0; i < data.size(); ++i) data[i] = read_reg(static_cast<uint16_t>(offset + i));
}

void Uart16550::pio_write(uint16_t offset, std::span<const uint8_t> data) {
    for (size_t i = 0; i < data.size(); ++i) write_reg(static_cast<uint16_t>(offset + i), data[i]);
}

void Uart16550::receive(uint8_t byte) {
    m_rx.push_back(byte);
    update_irq();
}

uint8_t Uart16550::read_reg(uint16_t reg) {
    switch (reg) {
        case 0:
            if (m_s.lcr & LCR_DLAB) return m_s.dll;
            if (!m_rx.empty()) {
                const uint8_t b = m_rx.front();
                m_rx.pop_front();
                update_irq();
                return b;
            }
            return 0;
        case 1: return (m_s.lcr & LCR_DLAB) ? m_s.dlm : m_s.ier;
        case 2: {
            const uint8_t v = m_s.iir;
            // Reading IIR while it reports THRE clears that interrupt (data sheet, table 4).
            if ((v & 0x0f) == 0x02) {
                m_s.thr_interrupt = false;
                update_irq();
            }
            return v | 0xc0;  // FIFOs reported as enabled, as QEMU does once FCR.0 is set
        }
        case 3: return m_s.lcr;
        case 4: return m_s.mcr;
        case 5: return static_cast<uint8_t>(LSR_THRE | LSR_TEMT | (m_rx.empty() ? 0 : LSR_DR));
        case 6: return m_s.msr;
        case 7: return m_s.scr;
        default: return 0xff;
    }
}

void Uart16550::write_reg(uint16_t reg, uint8_t v) {
    switch (reg) {
        case 0:
            if (m_s.lcr & LCR_DLAB) {
                m_s.dll = v;
                return;
            }
            if (m_s.mcr & MCR_LOOP) m_rx.push_back(v);
            else if (m_sink) m_sink(v);
            m_s.thr_interrupt = true;
            update_irq();
            return;
        case 1:
            if (m_s.lcr & LCR_DLAB) {
                m_s.dlm = v;
                return;
            }
            // Enabling THRE interrupts with an empty THR raises one at once.
            if ((v & IER_THRE) && !(m_s.ier & IER_THRE)) m_s.thr_interrupt = true;
            m_s.ier = v & 0x0f;
            update_irq();
            return;
        case 2: return;  // FCR: FIFO control has no visible effect in this model
        case 3: m_s.lcr = v; return;
        case 4: m_s.mcr = v & 0x1f; return;
        case 7: m_s.scr = v; return;
        default: return;
    }
}

void Uart16550::update_irq() {
    uint8_t iir = 1;  // no interrupt pending
    if ((m_s.ier & IER_RDA) && !m_rx.empty()) iir = 0x04;
    else if ((m_s.ier & IER_THRE) && m_s.thr_interrupt) iir = 0x02;
    m_s.iir = iir;
    if (m_irq) m_irq->set_level(iir != 1);
}

}  // namespace vx86::devices
