// q35 MCH configuration registers for SMRAM and TSEG, checked against QEMU 7.2 (-machine q35):
// reset values, write masks, the D_LCK freeze and the extended-TSEG query all read back as here.
#include "devices/q35_mch.h"

#include <algorithm>

namespace vx86::devices {

namespace {

// QEMU's q35 host bridge header: class 06/00/00 (host bridge), Red Hat subsystem IDs.
constexpr PciHeader kHeader{Q35Mch::kVendorId, Q35Mch::kDeviceId, 0, 0, 0x00, 0x06, 0x00,
                            0x1af4, 0x1100};

bool overlaps(uint8_t offset, unsigned size, uint8_t reg, unsigned reg_size) {
    return offset < reg + reg_size && reg < offset + size;
}

}  // namespace

SmramView smram_view(uint8_t smram, uint8_t esmramc, uint16_t ext_tseg_mbytes) {
    SmramView v;
    const bool g_smrame = smram & Smram::G_SMRAME;
    const bool high = esmramc & Esmramc::H_SMRAME;
    // D_OPEN only counts while unlocked; the MCH clears it when D_LCK is set, so this matters only
    // for register values that did not come through the MCH (a hand-made snapshot).
    const bool open = (smram & Smram::D_OPEN) && !(smram & Smram::D_LCK);
    v.smm_low = g_smrame && !high;
    v.smm_high = g_smrame && high;
    v.open_low = open && !high;
    v.open_high = open && high;
    if (g_smrame && (esmramc & Esmramc::T_EN)) {
        switch (esmramc & Esmramc::TSEG_SZ_MASK) {
            case Esmramc::TSEG_SZ_1MB: v.tseg_size = 1ull << 20; break;
            case Esmramc::TSEG_SZ_2MB: v.tseg_size = 2ull << 20; break;
            case Esmramc::TSEG_SZ_8MB: v.tseg_size = 8ull << 20; break;
            default: v.tseg_size = uint64_t{ext_tseg_mbytes} << 20; break;
        }
    }
    return v;
}

Q35Mch::Q35Mch(uint16_t ext_tseg_mbytes, ViewChanged on_view_changed)
    : m_ext_tseg_mbytes(std::min(ext_tseg_mbytes, kMaxExtTsegMbytes)),
      m_on_view_changed(std::move(on_view_changed)) {
    m_s.ext_tseg_mbytes = m_ext_tseg_mbytes;
    m_reported = view();  // the owner maps the power-on view itself; nothing to report yet
}

void Q35Mch::reset() {
    m_s = State{};
    // QEMU mch_reset stores the query value and answers it at once, so firmware that reads the
    // register without querying already sees the size (16 on QEMU 7.2's pc-q35-7.2).
    m_s.ext_tseg_mbytes = m_ext_tseg_mbytes;
    update(true);
}

void Q35Mch::restore(const State& s) {
    m_s = s;
    m_s.smram = static_cast<uint8_t>((m_s.smram & Smram::WMASK) | Smram::RESET);
    m_s.esmramc = static_cast<uint8_t>((m_s.esmramc & Esmramc::WMASK) | Esmramc::RESET);
    if (m_ext_tseg_mbytes == 0) m_s.ext_tseg_mbytes = 0;
    update(true);
}

uint8_t Q35Mch::config_byte(uint8_t offset) const {
    if (offset < 0x40) return kHeader.byte(offset);
    switch (offset) {
        case EXT_TSEG_MBYTES: return static_cast<uint8_t>(m_s.ext_tseg_mbytes);
        case EXT_TSEG_MBYTES + 1: return static_cast<uint8_t>(m_s.ext_tseg_mbytes >> 8);
        case SMRAM: return m_s.smram;
        case ESMRAMC: return m_s.esmramc;
        default: return 0;
    }
}

uint8_t Q35Mch::config_wmask(uint8_t offset) const {
    switch (offset) {
        case EXT_TSEG_MBYTES:
        case EXT_TSEG_MBYTES + 1: return m_ext_tseg_mbytes ? 0xff : 0x00;
        case SMRAM: return locked() ? Smram::WMASK_LCK : Smram::WMASK;
        case ESMRAMC: return locked() ? Esmramc::WMASK_LCK : Esmramc::WMASK;
        default: return 0;
    }
}

void Q35Mch::store_config_byte(uint8_t offset, uint8_t value) {
    switch (offset) {
        case EXT_TSEG_MBYTES: m_s.ext_tseg_mbytes = (m_s.ext_tseg_mbytes & 0xff00) | value; break;
        case EXT_TSEG_MBYTES + 1:
            m_s.ext_tseg_mbytes =
                static_cast<uint16_t>((m_s.ext_tseg_mbytes & 0x00ff) | value << 8);
            break;
        case SMRAM: m_s.smram = value; break;
        case ESMRAMC: m_s.esmramc = value; break;
        default: break;
    }
}

void Q35Mch::config_written(uint8_t offset, unsigned size) {
    // QEMU mch_update_ext_tseg_mbytes: writing the query value makes the register report the size.
    if (overlaps(offset, size, EXT_TSEG_MBYTES, 2) && m_ext_tseg_mbytes &&
        m_s.ext_tseg_mbytes == EXT_TSEG_MBYTES_QUERY)
        m_s.ext_tseg_mbytes = m_ext_tseg_mbytes;
    if (overlaps(offset, size, SMRAM, 2)) update(false);
}

void Q35Mch::update(bool force_report) {
    // Setting D_LCK clears D_OPEN; from then on config_wmask leaves only D_CLS writable.
    if (m_s.smram & Smram::D_LCK) m_s.smram &= static_cast<uint8_t>(~Smram::D_OPEN);
    const SmramView v = view();
    if (!force_report && v == m_reported) return;
    m_reported = v;
    if (m_on_view_changed) m_on_view_changed(v);
}

}  // namespace vx86::devices
