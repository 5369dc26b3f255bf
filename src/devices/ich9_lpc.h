// The ICH9 LPC bridge (00:1f.0) as far as System Management Mode needs it: PMBASE and ACPI_CNTL
// decode the ACPI power-management I/O block, whose SMI_EN/SMI_STS gate and report the APM SMI.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>

#include "bus/range_bus.h"
#include "devices/apm.h"
#include "devices/pci_host.h"

namespace vx86::devices {

// SMI_EN, PMBASE+0x30 (Intel ICH9 datasheet, SMI_EN—SMI Control and Enable Register).
namespace SmiEn {
constexpr uint32_t GBL_SMI_EN = 1u << 0;
constexpr uint32_t APMC_EN = 1u << 5;
}  // namespace SmiEn

// SMI_STS, PMBASE+0x34 (write 1 to clear).
namespace SmiSts {
constexpr uint32_t APM_STS = 1u << 5;
}  // namespace SmiSts

// PM1_CNT, PMBASE+0x04 (ACPI specification, "PM1 Control Registers").
namespace Pm1Cnt {
constexpr uint16_t SCI_EN = 1u << 0;
constexpr uint16_t SLP_EN = 1u << 13;
}  // namespace Pm1Cnt

class Ich9Lpc : public PciFunction {
public:
    static constexpr uint8_t kDevice = 31, kFunction = 0;
    static constexpr uint16_t kVendorId = 0x8086, kDeviceId = 0x2918;

    // Configuration registers.
    static constexpr uint8_t PMBASE = 0x40;       // u32: bits 15:7 base, bit 0 reads 1 (I/O space)
    static constexpr uint8_t ACPI_CNTL = 0x44;    // u8
    static constexpr uint16_t PMBASE_BASE_MASK = 0xff80;
    static constexpr uint16_t PMBASE_RTE = 0x0001;
    static constexpr uint8_t ACPI_EN = 0x80;      // ACPI_CNTL: decode the PM block at PMBASE
    static constexpr uint8_t SCI_IRQ_SEL = 0x07;

    // The power-management I/O block, relative to PMBASE.
    static constexpr uint16_t kPmIoSize = 128;
    static constexpr uint16_t PM1_CNT = 0x04;
    static constexpr uint16_t SMI_EN = 0x30;
    static constexpr uint16_t SMI_STS = 0x34;

    // APM_CNT values that the chipset handles itself (the FADT's ACPI_ENABLE / ACPI_DISABLE).
    static constexpr uint8_t APM_ACPI_ENABLE = 0x02;
    static constexpr uint8_t APM_ACPI_DISABLE = 0x03;

    struct State {
        uint16_t pmbase = PMBASE_RTE;
        uint8_t acpi_cntl = 0;
        uint16_t pm1_cnt = 0;
        uint32_t smi_en = 0;
        uint32_t smi_sts = 0;
        bool operator==(const State&) const = default;
    };

    using RaiseSmi = std::function<void()>;

    // The LPC moves its PM block on `pio` as PMBASE/ACPI_CNTL change; `pio` must outlive it.
    // With `smm_enabled` false, SMI_EN resets with APMC_EN set, as QEMU's -machine smm=off does.
    Ich9Lpc(bus::PioBus& pio, RaiseSmi raise_smi, bool smm_enabled = true);
    ~Ich9Lpc() override;
    Ich9Lpc(const Ich9Lpc&) = delete;
    Ich9Lpc& operator=(const Ich9Lpc&) = delete;

    // APM ports 0xB2/0xB3 belong to this chipset: the board puts them on the bus.
    Apm& apm() { return m_apm; }

    // Power-on values for the LPC, its PM block and the APM ports; the PM block stops decoding.
    void reset();
    const State& state() const { return m_s; }
    void restore(const State& s);

    // Where the PM block currently answers, if anywhere.
    std::optional<uint16_t> pm_io_base() const { return m_pm_io_at; }

    // APM_CNT was written (Apm's callback).
    void apm_command(uint8_t command);

    // PM block accesses, `offset` relative to PMBASE.
    void pm_read(uint16_t offset, std::span<uint8_t> data) const;
    void pm_write(uint16_t offset, std::span<const uint8_t> data);

    uint8_t config_byte(uint8_t offset) const override;
    uint8_t config_wmask(uint8_t offset) const override;
    void store_config_byte(uint8_t offset, uint8_t value) override;
    void config_written(uint8_t offset, unsigned size) override;

private:
    class PmIo : public bus::PioDevice {
    public:
        explicit PmIo(Ich9Lpc& lpc) : m_lpc(lpc) {}
        void pio_read(uint16_t offset, std::span<uint8_t> data) override {
            m_lpc.pm_read(offset, data);
        }
        void pio_write(uint16_t offset, std::span<const uint8_t> data) override {
            m_lpc.pm_write(offset, data);
        }

    private:
        Ich9Lpc& m_lpc;
    };

    uint32_t pm_dword(uint16_t offset) const;
    void update_pm_io();

    State m_s;
    bus::PioBus& m_pio;
    RaiseSmi m_raise_smi;
    bool m_smm_enabled;
    Apm m_apm;
    PmIo m_pm_io{*this};
    std::optional<uint16_t> m_pm_io_at;
};

}  // namespace vx86::devices
