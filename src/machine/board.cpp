// Board assembly and run loop. The memory map follows QEMU's q35: RAM from 0 with the VGA hole at
// 0xA0000-0xBFFFF, RAM above 4 GiB for what does not fit below 2 GiB, firmware ending at 4 GiB.
#include "machine/board.h"

#include "machine/loaders.h"

namespace vx86::machine {

using base::ErrorCode;
using base::Status;

namespace {
constexpr uint64_t kLowRamLimit = 0x80000000ull;  // q35 keeps 2 GiB below 4 GiB for RAM
constexpr uint64_t kFourGiB = 0x100000000ull;
constexpr uint64_t kBiosAliasSize = 128 * 1024;
enum SlotId : uint32_t { kRamLow = 0, kRamHigh = 1, kRamTop = 2, kFirmware = 3, kFirmwareAlias = 4 };
}  // namespace

Board::Board(const BoardConfig& config) : m_config(config) {}

base::Result<std::unique_ptr<Board>> Board::create(const BoardConfig& config) {
    if (config.ram_bytes < (2u << 20))
        return {ErrorCode::InvalidArgument, "guest RAM must be at least 2 MiB"};
    if (config.ram_bytes % 4096) return {ErrorCode::InvalidArgument, "guest RAM must be a multiple of 4 KiB"};
    if (config.ram_bytes > (64ull << 30)) return {ErrorCode::InvalidArgument, "guest RAM is limited to 64 GiB"};
    std::unique_ptr<Board> b(new Board(config));
    if (auto st = b->build(); !st) return st;
    if (auto st = b->load_images(); !st) return st;
    return b;
}

Status Board::build() {
    auto model = cpu::CpuidModel::from_cpu_option(m_config.cpu);
    if (!model) return model.status();

    m_low_ram = std::min(m_config.ram_bytes, kLowRamLimit);
    m_high_ram = m_config.ram_bytes - m_low_ram;
    // One backing for all RAM; the VGA window 0xA0000-0xBFFFF is left to MMIO (open bus).
    auto st = m_memory.set_slot({kRamLow, 0, 0, 0xa0000, nullptr, 0});
    if (!st) return st;
    st = m_memory.set_slot({kRamTop, 0, 0xc0000, m_low_ram - 0xc0000, nullptr, 0});
    if (!st) return st;
    if (m_high_ram) {
        st = m_memory.set_slot({kRamHigh, 0, kFourGiB, m_high_ram, nullptr, 0});
        if (!st) return st;
    }

    m_vcpu = std::make_unique<cpu::Vcpu>(m_memory, m_pio, *model);
    cpu::Vcpu* vcpu = m_vcpu.get();
    m_com1 = std::make_unique<devices::Uart16550>(m_config.serial_out);
    if (auto s = m_pio.insert(0x3f8, 8, m_com1.get()); !s) return s;
    if (m_config.debug_exit) {
        m_debug_exit = std::make_unique<devices::DebugExit>([vcpu](uint32_t v) {
            vcpu->request_exit(cpu::ExitReason::DebugExit, v);
        });
        if (auto s = m_pio.insert(m_config.debug_exit_iobase, m_config.debug_exit_iosize,
                                  m_debug_exit.get());
            !s)
            return {s.code(), "isa-debug-exit: " + s.message()};
    }
    return Status::ok();
}

Status Board::load_images() {
    if (!m_config.bios_path.empty()) {
        auto img = read_file(m_config.bios_path, 16u << 20);
        if (!img) return {img.status().code(), "-bios: " + img.message()};
        m_firmware = std::move(*img);
        if (auto st = check_firmware(m_firmware, m_config.bios_path); !st) return st;
    }
    if (!m_config.kernel_path.empty()) {
        auto img = read_file(m_config.kernel_path, 256u << 20);
        if (!img) return {img.status().code(), "-kernel: " + img.message()};
        m_kernel = std::move(*img);
    }
    if (m_firmware.empty() && m_kernel.empty())
        return {ErrorCode::InvalidArgument, "nothing to run: give -bios FILE or -kernel FILE"};

    if (!m_firmware.empty()) {
        // The image ends at 4 GiB and its last 128 KiB also appear at 0xE0000 (both read-only).
        const uint64_t size = m_firmware.size();
        auto st = m_memory.set_slot({kFirmware, 0, kFourGiB - size, size, m_firmware.data(),
                                     mem::SlotFlag::READONLY});
        if (!st) return st;
        const uint64_t alias = std::min(size, kBiosAliasSize);
        // The alias replaces RAM at 0xE0000-0xFFFFF: shrink the top RAM slot around it.
        st = m_memory.set_slot({kRamTop, 0, 0xc0000, 0x100000 - alias - 0xc0000, nullptr, 0});
        if (!st) return st;
        st = m_memory.set_slot({kFirmwareAlias, 0, 0x100000 - alias, alias,
                                m_firmware.data() + size - alias, mem::SlotFlag::READONLY});
        if (!st) return st;
        st = m_memory.set_slot({5, 0, 0x100000, m_low_ram - 0x100000, nullptr, 0});
        if (!st) return st;
        m_vcpu->reset();
    }
    if (!m_kernel.empty()) {
        auto st = load_multiboot(m_kernel, m_config.kernel_cmdline, m_memory, m_low_ram, m_high_ram,
                                 m_vcpu->state());
        if (!st) return {st.code(), "-kernel " + m_config.kernel_path + ": " + st.message()};
        m_vcpu->state_changed();
    }
    return Status::ok();
}

RunResult Board::run(uint64_t max_insns) {
    cpu::Vcpu& v = *m_vcpu;
    const uint64_t start = v.state().icount;
    for (;;) {
        const uint64_t used = v.state().icount - start;
        const cpu::ExitInfo& e = v.run(max_insns == ~uint64_t{0} ? max_insns : max_insns - used);
        switch (e.reason) {
            case cpu::ExitReason::DebugExit:
                return {Outcome::DebugExit, devices::DebugExit::exit_status(e.debug_exit_code),
                        v.state().icount - start};
            case cpu::ExitReason::Shutdown:
                if (m_config.no_reboot) return {Outcome::Shutdown, 0, v.state().icount - start};
                // Without -no-reboot a triple fault resets the machine, as on a PC.
                if (!m_kernel.empty() && m_firmware.empty()) {
                    (void)load_multiboot(m_kernel, m_config.kernel_cmdline, m_memory, m_low_ram,
                                         m_high_ram, v.state());
                    v.state_changed();
                } else {
                    v.reset();
                }
                continue;
            case cpu::ExitReason::Mmio:
                // The board leaves MMIO exits off; should one occur, answer like open bus.
                {
                    const uint8_t ones[8] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
                    v.complete_mmio(ones, 8);
                }
                continue;
            case cpu::ExitReason::Io:
                // Ports no device claims: writes vanish, reads float high (open bus).
                if (e.io.in) v.complete_io_in(0xffffffff);
                continue;
            case cpu::ExitReason::Hlt:
                // The board has no interrupt source yet (no PIT or LAPIC timer), so nothing can
                // wake a halted CPU: report it instead of spinning forever.
                return {Outcome::Halted, 0, v.state().icount - start};
            case cpu::ExitReason::InsnLimit:
                return {Outcome::InsnLimit, 0, v.state().icount - start};
            case cpu::ExitReason::None:
            case cpu::ExitReason::Stopped:
                return {Outcome::Halted, 0, v.state().icount - start};
        }
    }
}

}  // namespace vx86::machine
