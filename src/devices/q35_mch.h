// The q35 memory controller hub (host bridge 00:00.0) as far as System Management Mode needs it:
// SMRAM, ESMRAMC and QEMU's EXT_TSEG_MBYTES, and the pure function from them to the memory views.
#pragma once

#include <cstdint>
#include <functional>

#include "devices/pci_host.h"

namespace vx86::devices {

// SMRAM, config 0x9D (Intel 3 Series Express Chipset Family datasheet, D0:F0 SMRAM register).
namespace Smram {
constexpr uint8_t D_OPEN = 0x40;      // SMRAM visible to non-SMM accesses
constexpr uint8_t D_CLS = 0x20;       // SMM data bypasses SMRAM (stored, not modelled, as QEMU)
constexpr uint8_t D_LCK = 0x10;       // freezes SMRAM/ESMRAMC until reset, clears D_OPEN
constexpr uint8_t G_SMRAME = 0x08;    // global SMRAM enable
constexpr uint8_t C_BASE_SEG = 0x07;  // hard-wired 010b: compatible SMRAM at 0xA0000-0xBFFFF
constexpr uint8_t C_BASE_SEG_AB = 0x02;
constexpr uint8_t RESET = C_BASE_SEG_AB;
constexpr uint8_t WMASK = D_OPEN | D_CLS | D_LCK | G_SMRAME;
constexpr uint8_t WMASK_LCK = D_CLS;
}  // namespace Smram

// ESMRAMC, config 0x9E (same datasheet, D0:F0 ESMRAMC register).
namespace Esmramc {
constexpr uint8_t H_SMRAME = 0x80;  // SMRAM answers at 0xFEDA0000 instead of 0xA0000
constexpr uint8_t E_SMERR = 0x40;
constexpr uint8_t SM_CACHE = 0x20;
constexpr uint8_t SM_L1 = 0x10;
constexpr uint8_t SM_L2 = 0x08;
constexpr uint8_t TSEG_SZ_MASK = 0x06;
constexpr uint8_t TSEG_SZ_1MB = 0x00;
constexpr uint8_t TSEG_SZ_2MB = 0x02;
constexpr uint8_t TSEG_SZ_8MB = 0x04;
constexpr uint8_t TSEG_SZ_EXT = 0x06;  // QEMU: EXT_TSEG_MBYTES megabytes (8 MiB on hardware)
constexpr uint8_t T_EN = 0x01;
constexpr uint8_t RESET = SM_CACHE | SM_L1 | SM_L2;
constexpr uint8_t WMASK = H_SMRAME | TSEG_SZ_MASK | T_EN;
constexpr uint8_t WMASK_LCK = 0;
}  // namespace Esmramc

constexpr uint64_t kSmramBase = 0xa0000;
constexpr uint64_t kSmramSize = 0x20000;
constexpr uint64_t kSmramHighBase = 0xfeda0000;  // H_SMRAME: the same RAM, remapped up high

// What SMRAM looks like for a given set of register values. The board turns this into memslots;
// it is recomputed from the registers after writes, on reset and after a state load.
struct SmramView {
    bool smm_low = false;    // SMM sees the RAM at 0xA0000 (G_SMRAME=1, H_SMRAME=0)
    bool smm_high = false;   // SMM sees it at 0xFEDA0000 (G_SMRAME=1, H_SMRAME=1)
    bool open_low = false;   // non-SMM sees it at 0xA0000 (D_OPEN=1, H_SMRAME=0)
    bool open_high = false;  // non-SMM sees it at 0xFEDA0000 (D_OPEN=1, H_SMRAME=1)
    uint64_t tseg_size = 0;  // top bytes of low RAM only SMM sees (T_EN=1 and G_SMRAME=1)
    bool operator==(const SmramView&) const = default;
};

// QEMU hw/pci-host/q35.c mch_update_smram, as a pure function. `ext_tseg_mbytes` is the board's
// extended TSEG size (QEMU property extended-tseg-mbytes), not the register that reports it.
SmramView smram_view(uint8_t smram, uint8_t esmramc, uint16_t ext_tseg_mbytes);

class Q35Mch : public PciFunction {
public:
    static constexpr uint8_t kDevice = 0, kFunction = 0;
    static constexpr uint16_t kVendorId = 0x8086, kDeviceId = 0x29c0;

    static constexpr uint8_t EXT_TSEG_MBYTES = 0x50;  // u16, QEMU extension
    static constexpr uint8_t SMRAM = 0x9d;
    static constexpr uint8_t ESMRAMC = 0x9e;
    static constexpr uint16_t EXT_TSEG_MBYTES_QUERY = 0xffff;
    static constexpr uint16_t kMaxExtTsegMbytes = 0xfff;  // QEMU rejects larger property values

    struct State {
        uint8_t smram = Smram::RESET;
        uint8_t esmramc = Esmramc::RESET;
        uint16_t ext_tseg_mbytes = 0;  // the register; reset puts the board's size in it
        bool operator==(const State&) const = default;
    };

    using ViewChanged = std::function<void(const SmramView&)>;

    // `ext_tseg_mbytes` 0 disables the extension (register read-only 0, TSEG_SZ=11b means no TSEG).
    explicit Q35Mch(uint16_t ext_tseg_mbytes, ViewChanged on_view_changed = nullptr);

    // Power-on values; reports the view even when unchanged, so the caller's mapping is rebuilt.
    void reset();
    const State& state() const { return m_s; }
    // Loads saved registers, forcing the hard-wired bits, and reports the view like reset().
    void restore(const State& s);
    SmramView view() const { return smram_view(m_s.smram, m_s.esmramc, m_ext_tseg_mbytes); }
    uint16_t ext_tseg_mbytes() const { return m_ext_tseg_mbytes; }
    bool locked() const { return m_s.smram & Smram::D_LCK; }

    uint8_t config_byte(uint8_t offset) const override;
    uint8_t config_wmask(uint8_t offset) const override;
    void store_config_byte(uint8_t offset, uint8_t value) override;
    void config_written(uint8_t offset, unsigned size) override;

private:
    void update(bool force_report);

    State m_s;
    uint16_t m_ext_tseg_mbytes;
    ViewChanged m_on_view_changed;
    SmramView m_reported;
};

}  // namespace vx86::devices
