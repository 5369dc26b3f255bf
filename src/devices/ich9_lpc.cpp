// ICH9 LPC configuration (PMBASE, ACPI_CNTL), the PM I/O block's SMI_EN/SMI_STS/PM1_CNT and the
// APM software SMI, checked against QEMU 7.2 (-machine q35) except where a comment says otherwise.
#include "devices/ich9_lpc.h"

namespace vx86::devices {

namespace {

// QEMU's ICH9 LPC header: ISA bridge 06/01/00, revision 2 (ICH9 A2), multi-function.
constexpr PciHeader kHeader{Ich9Lpc::kVendorId, Ich9Lpc::kDeviceId, 0x02, 0, 0x01, 0x06, 0x80,
                            0x1af4, 0x1100};

bool overlaps(uint8_t offset, unsigned size, uint8_t reg, unsigned reg_size) {
    return offset < reg + reg_size && reg < offset + size;
}

}  // namespace

Ich9Lpc::Ich9Lpc(bus::PioBus& pio, RaiseSmi raise_smi, bool smm_enabled)
    : m_pio(pio),
      m_raise_smi(std::move(raise_smi)),
      m_smm_enabled(smm_enabled),
      m_apm([this](uint8_t command) { apm_command(command); }) {
    reset();
}

Ich9Lpc::~Ich9Lpc() {
    if (m_pm_io_at) (void)m_pio.remove(*m_pm_io_at);
}

void Ich9Lpc::reset() {
    m_s = State{};
    // QEMU ich9_pm_reset with smm=off: "Mark SMM as already inited to prevent SMM from running";
    // SeaBIOS and OVMF skip SMM setup when they find APMC_EN already set.
    if (!m_smm_enabled) m_s.smi_en = SmiEn::APMC_EN;
    // QEMU 7.2 leaves APM_CNT/APM_STS alone on a system reset (hw/isa/apm.c has no reset hook:
    // 0xB3 still read 0x42 after a triple-fault reboot); the datasheet default is 00h.
    m_apm.reset();
    update_pm_io();
}

void Ich9Lpc::restore(const State& s) {
    m_s = s;
    m_s.pmbase = static_cast<uint16_t>((m_s.pmbase & PMBASE_BASE_MASK) | PMBASE_RTE);
    m_s.acpi_cntl &= ACPI_EN | SCI_IRQ_SEL;
    update_pm_io();
}

// ICH9 datasheet, SMI_EN—SMI Control and Enable Register, bit 0 GBL_SMI_EN: while it is 0 "no
// SMI# will be generated". QEMU (ich9_apm_ctrl_changed) checks only APMC_EN; SeaBIOS and OVMF set
// both bits, so firmware cannot tell. APM_STS records the cause, which QEMU 7.2 never sets.
void Ich9Lpc::apm_command(uint8_t command) {
    // The FADT's ACPI_ENABLE/ACPI_DISABLE: QEMU's ICH9 flips PM1_CNT.SCI_EN itself and raises no
    // SMI (checked: OUT 0xB2 with 0x02 or 0x03 does not enter SMM even with APMC_EN set).
    if (command == APM_ACPI_ENABLE) {
        m_s.pm1_cnt |= Pm1Cnt::SCI_EN;
        return;
    }
    if (command == APM_ACPI_DISABLE) {
        m_s.pm1_cnt &= static_cast<uint16_t>(~Pm1Cnt::SCI_EN);
        return;
    }
    constexpr uint32_t kBoth = SmiEn::GBL_SMI_EN | SmiEn::APMC_EN;
    if ((m_s.smi_en & kBoth) != kBoth) return;
    m_s.smi_sts |= SmiSts::APM_STS;
    if (m_raise_smi) m_raise_smi();
}

uint32_t Ich9Lpc::pm_dword(uint16_t offset) const {
    switch (offset) {
        case PM1_CNT: return m_s.pm1_cnt;
        case SMI_EN: return m_s.smi_en;
        case SMI_STS: return m_s.smi_sts;
        default: return 0;  // the rest of the block (PM1 status, timer, GPE0, TCO) is not modelled
    }
}

void Ich9Lpc::pm_read(uint16_t offset, std::span<uint8_t> data) const {
    for (size_t i = 0; i < data.size(); ++i) {
        const unsigned at = offset + i;
        if (at >= kPmIoSize) {
            data[i] = 0xff;
            continue;
        }
        const uint32_t dword = pm_dword(static_cast<uint16_t>(at & ~3u));
        data[i] = static_cast<uint8_t>(dword >> (8 * (at & 3)));
    }
}

void Ich9Lpc::pm_write(uint16_t offset, std::span<const uint8_t> data) {
    // Gather the access per dword as (value, byte mask), so a byte write to SMI_EN+1 changes only
    // that byte and a byte write-1-to-clear of SMI_STS clears only bits in that byte.
    for (size_t i = 0; i < data.size();) {
        const unsigned at = offset + i;
        if (at >= kPmIoSize) break;
        const uint16_t dw = static_cast<uint16_t>(at & ~3u);
        uint32_t value = 0, mask = 0;
        for (; i < data.size() && ((offset + i) & ~3u) == dw; ++i) {
            const unsigned shift = 8 * ((offset + i) & 3);
            value |= uint32_t{data[i]} << shift;
            mask |= 0xffu << shift;
        }
        switch (dw) {
            case PM1_CNT:
                // Sleep states are not modelled: SLP_EN is dropped as QEMU drops it after acting.
                m_s.pm1_cnt = static_cast<uint16_t>(((m_s.pm1_cnt & ~mask) | (value & mask)) &
                                                    ~uint32_t{Pm1Cnt::SLP_EN});
                break;
            case SMI_EN:
                // Every bit is stored, as QEMU 7.2 reads 0xFFFFFFFF back; only GBL_SMI_EN and
                // APMC_EN have an effect.
                m_s.smi_en = (m_s.smi_en & ~mask) | (value & mask);
                break;
            case SMI_STS: m_s.smi_sts &= ~(value & mask); break;
            default: break;
        }
    }
}

uint8_t Ich9Lpc::config_byte(uint8_t offset) const {
    if (offset < 0x40) return kHeader.byte(offset);
    switch (offset) {
        case PMBASE: return static_cast<uint8_t>(m_s.pmbase);
        case PMBASE + 1: return static_cast<uint8_t>(m_s.pmbase >> 8);
        case ACPI_CNTL: return m_s.acpi_cntl;
        default: return 0;
    }
}

// The ICH9 datasheet masks: PMBASE bits 15:7, ACPI_CNTL bits 7 and 2:0. QEMU 7.2 reads back more
// (0xFF87 from PMBASE, 0xFF from ACPI_CNTL after writing all ones: its wmask setup overlaps), but
// decodes the same base.
uint8_t Ich9Lpc::config_wmask(uint8_t offset) const {
    switch (offset) {
        case PMBASE: return static_cast<uint8_t>(PMBASE_BASE_MASK);
        case PMBASE + 1: return static_cast<uint8_t>(PMBASE_BASE_MASK >> 8);
        case ACPI_CNTL: return ACPI_EN | SCI_IRQ_SEL;
        default: return 0;
    }
}

void Ich9Lpc::store_config_byte(uint8_t offset, uint8_t value) {
    switch (offset) {
        case PMBASE:
            m_s.pmbase = static_cast<uint16_t>((m_s.pmbase & 0xff00) | value | PMBASE_RTE);
            break;
        case PMBASE + 1:
            m_s.pmbase = static_cast<uint16_t>((m_s.pmbase & 0x00ff) | value << 8);
            break;
        case ACPI_CNTL: m_s.acpi_cntl = value; break;
        default: break;
    }
}

void Ich9Lpc::config_written(uint8_t offset, unsigned size) {
    if (overlaps(offset, size, PMBASE, 4) || overlaps(offset, size, ACPI_CNTL, 1)) update_pm_io();
}

// Re-registers the PM block wherever PMBASE and ACPI_EN now put it. A base that collides with a
// port range another device holds leaves the block undecoded (QEMU would overlay by priority).
void Ich9Lpc::update_pm_io() {
    std::optional<uint16_t> want;
    if (m_s.acpi_cntl & ACPI_EN) want = static_cast<uint16_t>(m_s.pmbase & PMBASE_BASE_MASK);
    if (want == m_pm_io_at) return;
    if (m_pm_io_at) (void)m_pio.remove(*m_pm_io_at);
    m_pm_io_at.reset();
    if (want && m_pio.insert(*want, kPmIoSize, &m_pm_io)) m_pm_io_at = want;
}

}  // namespace vx86::devices
