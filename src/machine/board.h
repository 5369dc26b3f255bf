// The q35-style PC vx86 emulates: RAM with the legacy holes, firmware ROM, COM1, isa-debug-exit,
// the SMM chipset (MCH SMRAM/TSEG, ICH9 LPC with APM) and one vCPU, wired explicitly, plus the run
// loop that turns vCPU exits into machine outcomes.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"
#include "bus/range_bus.h"
#include "cpu/vcpu.h"
#include "devices/debug_exit.h"
#include "devices/ich9_lpc.h"
#include "devices/pci_host.h"
#include "devices/q35_mch.h"
#include "devices/uart16550.h"
#include "mem/guest_memory.h"

namespace vx86::machine {

struct BoardConfig {
    uint64_t ram_bytes = 128ull << 20;
    std::string cpu = "qemu64";
    std::string bios_path;       // flat firmware image (-bios)
    std::string kernel_path;     // multiboot ELF32 kernel (-kernel)
    std::string kernel_cmdline;  // -append
    bool smm = true;             // -machine q35,smm=on|off (see Board::build for what off changes)
    // QEMU's extended-tseg-mbytes: the TSEG size for ESMRAMC.TSEG_SZ=11b, which the MCH reports
    // at config 0x50. QEMU 7.2's pc-q35-7.2 machine reports 16.
    uint16_t ext_tseg_mbytes = 16;
    bool no_reboot = false;
    bool debug_exit = false;
    uint16_t debug_exit_iobase = 0x501;
    uint16_t debug_exit_iosize = 2;
    std::function<void(uint8_t)> serial_out;  // COM1 output sink (nullptr: discarded)
};

enum class Outcome : uint8_t {
    DebugExit,      // isa-debug-exit was written: status = (v << 1) | 1
    Shutdown,       // triple fault with -no-reboot (QEMU exits with status 0)
    Halted,         // HLT with interrupts disabled and nothing that could wake the CPU
    InsnLimit,      // the instruction budget given to run() was used up
};

struct RunResult {
    Outcome outcome;
    int exit_status = 0;
    uint64_t instructions = 0;
};

class Board {
public:
    static base::Result<std::unique_ptr<Board>> create(const BoardConfig& config);

    // Memslot ids the board uses; stable, so embedders (dirty logging, migration) can name them.
    // All RAM below 4 GiB is one board-owned backing; the low-RAM slots are views into it that
    // follow the chipset's SMRAM/TSEG registers (AS 0 = normal view, AS 1 = SMM view).
    enum SlotId : uint32_t {
        kRamLow = 0,          // AS 0: 0 .. 0xA0000
        kRamHigh = 1,         // AS 0: RAM above 4 GiB
        kRamTop = 2,          // AS 0: 0xC0000 .. the firmware alias (or 1 MiB)
        kFirmware = 3,        // AS 0: the -bios image, ending at 4 GiB (read-only)
        kFirmwareAlias = 4,   // AS 0: its last 128 KiB at 0xE0000 (read-only)
        kRamMain = 5,         // AS 0: 1 MiB .. top of low RAM minus TSEG
        kSmramOpenLow = 6,    // AS 0: RAM 0xA0000 at 0xA0000 while D_OPEN (H_SMRAME=0)
        kSmramOpenHigh = 7,   // AS 0: RAM 0xA0000 at 0xFEDA0000 while D_OPEN (H_SMRAME=1)
        kSmramLow = 8,        // AS 1: RAM 0xA0000 at 0xA0000 (G_SMRAME=1, H_SMRAME=0)
        kSmramHigh = 9,       // AS 1: RAM 0xA0000 at 0xFEDA0000 (G_SMRAME=1, H_SMRAME=1)
        kTseg = 10,           // AS 1: the top of low RAM (T_EN=1, G_SMRAME=1)
    };

    // Runs until the machine stops; `max_insns` bounds the run (tests and benchmarks).
    RunResult run(uint64_t max_insns = ~uint64_t{0});

    // What a triple fault does without -no-reboot: chipset registers and memory views back to
    // power-on, the CPU to its reset state (or the multiboot entry state); RAM is kept.
    void reset();

    cpu::Vcpu& vcpu() { return *m_vcpu; }
    mem::GuestMemory& memory() { return m_memory; }
    bus::PioBus& pio() { return m_pio; }
    devices::PciHost& pci_host() { return *m_pci_host; }
    devices::Q35Mch& mch() { return *m_mch; }
    devices::Ich9Lpc& lpc() { return *m_lpc; }
    // RAM below 4 GiB (`low_ram_size()` bytes at guest-physical 0), including what the views hide.
    uint8_t* low_ram() { return m_low_backing.get(); }
    uint64_t low_ram_size() const { return m_low_ram; }
    // RAM from 4 GiB up (`high_ram_size()` bytes; nullptr when there is none).
    uint8_t* high_ram();
    uint64_t high_ram_size() const { return m_high_ram; }

    // What snapshots need to save and check: the options, the images the board was built from,
    // and the devices with state.
    const BoardConfig& config() const { return m_config; }
    const std::vector<uint8_t>& firmware() const { return m_firmware; }
    const std::vector<uint8_t>& kernel() const { return m_kernel; }
    devices::Uart16550& com1() { return *m_com1; }
    // Whether the RAM slots log dirty pages (KVM_MEM_LOG_DIRTY_PAGES on kRamLow).
    bool dirty_logging() const;

    // Guest RAM as blocks of backing memory, the unit of snapshots and migration: block 0 is RAM
    // below 4 GiB (every view of it, in both address spaces), block 1 RAM from 4 GiB up.
    static constexpr unsigned kRamBlocks = 2;
    uint8_t* ram_block(unsigned block) { return block == 0 ? low_ram() : high_ram(); }
    uint64_t ram_block_size(unsigned block) const { return block == 0 ? m_low_ram : m_high_ram; }
    // Dirty logging on every RAM slot at once (what live migration needs). On: every page starts
    // clean; off: the logs are dropped.
    void set_dirty_logging(bool on);
    // The pages of `block` written since logging started or the last clearing call, one bit per
    // 4 KiB page of the block whichever view wrote them; `clear` re-arms logging for them (the
    // harvest of a pre-copy pass). All zero while logging is off.
    std::vector<uint64_t> dirty_pages(unsigned block, bool clear);
    // ORs pages back into the block's log: pages harvested for a migration that then failed.
    void mark_dirty(unsigned block, std::span<const uint64_t> pages);

private:
    explicit Board(const BoardConfig& config);
    base::Status build();
    base::Status load_images();
    // Re-slices the low-RAM memslots for the current firmware alias and SMRAM view.
    base::Status map_low_ram();
    void smram_view_changed(const devices::SmramView& view);

    BoardConfig m_config;
    std::shared_ptr<uint8_t> m_low_backing;  // before m_memory: slots point into it
    bus::MmioBus m_mmio;
    mem::GuestMemory m_memory{&m_mmio};
    bus::PioBus m_pio;
    std::unique_ptr<cpu::Vcpu> m_vcpu;
    std::unique_ptr<devices::Uart16550> m_com1;
    std::unique_ptr<devices::DebugExit> m_debug_exit;
    std::unique_ptr<devices::PciHost> m_pci_host;
    std::unique_ptr<devices::Q35Mch> m_mch;
    std::unique_ptr<devices::Ich9Lpc> m_lpc;
    std::vector<uint8_t> m_firmware;
    std::vector<uint8_t> m_kernel;
    uint64_t m_low_ram = 0, m_high_ram = 0;
    uint64_t m_bios_alias = 0;  // bytes of firmware aliased below 1 MiB
    devices::SmramView m_view;
    std::shared_ptr<uint8_t> m_high_backing;  // RAM above 4 GiB (slot kRamHigh points into it)
    // Dirty pages of the low-RAM backing whose slot went away while no other slot with dirty
    // logging mapped them, or that mark_dirty gave back; reported by dirty_pages (one bit per
    // 4 KiB page). m_high_carry: the same for block 1.
    std::vector<uint64_t> m_dirty_carry;
    std::vector<uint64_t> m_high_carry;
};

}  // namespace vx86::machine
