// APM_CNT / APM_STS storage; the SMI policy (which commands, which enables) lives in the chipset
// that owns the ports (ich9_lpc), reached through the command callback.
#include "devices/apm.h"

namespace vx86::devices {

void Apm::pio_read(uint16_t offset, std::span<uint8_t> data) {
    for (size_t i = 0; i < data.size(); ++i) {
        switch (offset + i) {
            case APM_CNT: data[i] = m_s.apm_cnt; break;
            case APM_STS: data[i] = m_s.apm_sts; break;
            default: data[i] = 0xff; break;
        }
    }
}

void Apm::pio_write(uint16_t offset, std::span<const uint8_t> data) {
    for (size_t i = 0; i < data.size(); ++i) {
        switch (offset + i) {
            case APM_CNT:
                m_s.apm_cnt = data[i];
                if (m_on_command) m_on_command(data[i]);
                break;
            case APM_STS: m_s.apm_sts = data[i]; break;
            default: break;
        }
    }
}

}  // namespace vx86::devices
