// Board assembly and run loop. The memory map follows QEMU's q35: RAM from 0 with the VGA hole at
// 0xA0000-0xBFFFF, RAM above 4 GiB for what does not fit below 2 GiB, firmware ending at 4 GiB,
// and SMRAM/TSEG views of low RAM that follow the MCH registers (QEMU hw/pci-host/q35.c).
#include "machine/board.h"

#include <sys/mman.h>

#include <algorithm>
#include <bit>

#include "machine/loaders.h"

namespace vx86::machine {

using base::ErrorCode;
using base::Status;
using devices::kSmramBase;
using devices::kSmramHighBase;
using devices::kSmramSize;

namespace {
constexpr uint64_t kLowRamLimit = 0x80000000ull;  // q35 keeps 2 GiB below 4 GiB for RAM
constexpr uint64_t kFourGiB = 0x100000000ull;
constexpr uint64_t kOneMiB = 0x100000;
constexpr uint64_t kBiosAliasSize = 128 * 1024;
constexpr uint64_t kPage = base::kPageSize;

// The slots map_low_ram owns: views into the low-RAM backing.
constexpr uint32_t kLowRamSlots[] = {Board::kRamLow,       Board::kRamTop,         Board::kRamMain,
                                     Board::kSmramOpenLow, Board::kSmramOpenHigh, Board::kSmramLow,
                                     Board::kSmramHigh,    Board::kTseg};

std::shared_ptr<uint8_t> map_anonymous(uint64_t size) {
    void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) return nullptr;
    return std::shared_ptr<uint8_t>(static_cast<uint8_t*>(p),
                                    [size](uint8_t* q) { munmap(q, size); });
}
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
    // One backing for RAM below 4 GiB, sliced into views: while SMRAM is closed the VGA window
    // 0xA0000-0xBFFFF is left to MMIO (open bus), and TSEG is simply absent from address space 0,
    // so it reads all ones and drops writes like QEMU's tseg-blackhole.
    m_low_backing = map_anonymous(m_low_ram);
    if (!m_low_backing) return {ErrorCode::InvalidArgument, "cannot allocate guest RAM"};
    m_dirty_carry.assign((m_low_ram / kPage + 63) / 64, 0);
    if (auto st = map_low_ram(); !st) return st;
    if (m_high_ram) {
        m_high_backing = map_anonymous(m_high_ram);
        if (!m_high_backing) return {ErrorCode::InvalidArgument, "cannot allocate guest RAM"};
        m_high_carry.assign((m_high_ram / kPage + 63) / 64, 0);
        auto st = m_memory.set_slot({kRamHigh, 0, kFourGiB, m_high_ram, m_high_backing.get(), 0});
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

    // The SMM chipset: MCH at 00:00.0, LPC at 00:1f.0, APM ports on the LPC.
    // -machine smm=off: QEMU 7.2 under TCG keeps this chipset as it is. SMRAM and ESMRAMC stay
    // writable, the views still switch, and OUT 0xB2 with APMC_EN still enters SMM; the only
    // difference is SMI_EN resetting with APMC_EN set, which tells SeaBIOS and OVMF that SMM is
    // already set up so they skip it. vx86 does the same (Ich9Lpc's smm_enabled).
    m_pci_host = std::make_unique<devices::PciHost>();
    m_mch = std::make_unique<devices::Q35Mch>(
        m_config.ext_tseg_mbytes, [this](const devices::SmramView& v) { smram_view_changed(v); });
    m_lpc = std::make_unique<devices::Ich9Lpc>(m_pio, [vcpu] { vcpu->inject_smi(); }, m_config.smm);
    using devices::Apm, devices::Ich9Lpc, devices::PciHost, devices::Q35Mch;
    if (auto s = m_pci_host->attach(Q35Mch::kDevice, Q35Mch::kFunction, m_mch.get()); !s) return s;
    if (auto s = m_pci_host->attach(Ich9Lpc::kDevice, Ich9Lpc::kFunction, m_lpc.get()); !s)
        return s;
    if (auto s = m_pio.insert(PciHost::kBasePort, PciHost::kPorts, m_pci_host.get()); !s) return s;
    if (auto s = m_pio.insert(Apm::kBasePort, Apm::kPorts, &m_lpc->apm()); !s) return s;
    return Status::ok();
}

// The low-RAM slots for the firmware alias and the SMRAM view (the tables of
// shared/spec/smm.md 5.2). Slots whose placement is unchanged are left alone, so their dirty
// logs and code generations survive; the others are replaced, keeping their flags, and their
// dirty pages are marked again in whichever slots now map the same RAM.
Status Board::map_low_ram() {
    uint8_t* const ram = m_low_backing.get();
    // TSEG never reaches into the first megabyte: QEMU would place a TSEG larger than low RAM
    // below address 0; here it stops at 1 MiB.
    const uint64_t tseg = std::min(m_view.tseg_size, m_low_ram - kOneMiB);
    const uint64_t main_end = m_low_ram - tseg;
    std::vector<mem::MemSlotDesc> want;
    auto view = [&](uint32_t id, uint8_t as, uint64_t gpa, uint64_t size, uint64_t ram_offset) {
        want.push_back({id, as, gpa, size, ram + ram_offset, 0});
    };
    view(kRamLow, 0, 0, kSmramBase, 0);
    if (m_view.open_low) view(kSmramOpenLow, 0, kSmramBase, kSmramSize, kSmramBase);
    view(kRamTop, 0, 0xc0000, kOneMiB - m_bios_alias - 0xc0000, 0xc0000);
    if (main_end > kOneMiB) view(kRamMain, 0, kOneMiB, main_end - kOneMiB, kOneMiB);
    if (m_view.open_high) view(kSmramOpenHigh, 0, kSmramHighBase, kSmramSize, kSmramBase);
    if (m_view.smm_low) view(kSmramLow, 1, kSmramBase, kSmramSize, kSmramBase);
    if (m_view.smm_high) view(kSmramHigh, 1, kSmramHighBase, kSmramSize, kSmramBase);
    if (tseg) view(kTseg, 1, main_end, tseg, main_end);

    // A slot that appears logs dirty pages when kRamLow, which always exists, does.
    const mem::MemSlot* low = m_memory.slot_by_id(kRamLow);
    const uint32_t inherited = low ? (low->flags & mem::SlotFlag::LOG_DIRTY) : 0;

    std::vector<bool> in_place(want.size(), false);
    for (uint32_t id : kLowRamSlots) {
        const mem::MemSlot* cur = m_memory.slot_by_id(id);
        auto it = std::find_if(want.begin(), want.end(),
                               [id](const mem::MemSlotDesc& d) { return d.id == id; });
        if (it != want.end()) it->flags = cur ? cur->flags : inherited;
        if (!cur) continue;
        if (it != want.end() && cur->as_id == it->as_id && cur->gpa == it->gpa &&
            cur->size == it->size && cur->host == it->host) {
            in_place[static_cast<size_t>(it - want.begin())] = true;
            continue;
        }
        if (cur->flags & mem::SlotFlag::LOG_DIRTY) {
            const uint64_t first = static_cast<uint64_t>(cur->host - ram) / kPage;
            if (auto bits = m_memory.get_and_clear_dirty(id)) {
                for (size_t w = 0; w < bits->size(); ++w)
                    for (uint64_t word = (*bits)[w]; word; word &= word - 1) {
                        const uint64_t page = first + w * 64 + std::countr_zero(word);
                        m_dirty_carry[page / 64] |= uint64_t{1} << (page % 64);
                    }
            }
        }
        if (auto st = m_memory.delete_slot(id); !st) return st;
    }
    for (size_t i = 0; i < want.size(); ++i) {
        if (in_place[i]) continue;
        if (auto st = m_memory.set_slot(want[i]); !st) return st;
    }

    for (size_t w = 0; w < m_dirty_carry.size(); ++w) {
        for (uint64_t word = m_dirty_carry[w]; word; word &= word - 1) {
            const uint64_t offset = (w * 64 + std::countr_zero(word)) * kPage;
            bool placed = false;
            for (const mem::MemSlotDesc& d : want) {
                const uint64_t at = offset - static_cast<uint64_t>(d.host - ram);
                if (at >= d.size) continue;
                mem::MemSlot* s = m_memory.find(d.as_id, d.gpa + at);
                if (!s || s->id != d.id || !(s->flags & mem::SlotFlag::LOG_DIRTY)) continue;
                (void)m_memory.note_write(*s, d.gpa + at);
                placed = true;
            }
            if (placed) m_dirty_carry[w] &= ~(uint64_t{1} << std::countr_zero(word));
        }
    }
    return Status::ok();
}

uint8_t* Board::high_ram() { return m_high_backing.get(); }

void Board::set_dirty_logging(bool on) {
    for (uint32_t id : kLowRamSlots)
        if (m_memory.slot_by_id(id)) (void)m_memory.set_dirty_logging(id, on);
    if (m_memory.slot_by_id(kRamHigh)) (void)m_memory.set_dirty_logging(kRamHigh, on);
    std::fill(m_dirty_carry.begin(), m_dirty_carry.end(), 0);
    std::fill(m_high_carry.begin(), m_high_carry.end(), 0);
}

std::vector<uint64_t> Board::dirty_pages(unsigned block, bool clear) {
    std::vector<uint64_t>& carry = block == 0 ? m_dirty_carry : m_high_carry;
    std::vector<uint64_t> out = carry;
    if (clear) std::fill(carry.begin(), carry.end(), 0);
    uint8_t* const base = ram_block(block);
    auto take = [&](uint32_t id) {
        const mem::MemSlot* s = m_memory.slot_by_id(id);
        if (!s || !(s->flags & mem::SlotFlag::LOG_DIRTY)) return;
        const uint64_t first = static_cast<uint64_t>(s->host - base) / kPage;
        std::vector<uint64_t> bits;
        if (clear) {
            auto got = m_memory.get_and_clear_dirty(id);
            if (!got) return;
            bits = std::move(*got);
        } else {
            bits = s->dirty;
        }
        for (size_t w = 0; w < bits.size(); ++w)
            for (uint64_t word = bits[w]; word; word &= word - 1) {
                const uint64_t page = first + w * 64 + std::countr_zero(word);
                out[page / 64] |= uint64_t{1} << (page % 64);
            }
    };
    if (block == 0) {
        for (uint32_t id : kLowRamSlots) take(id);
    } else {
        take(kRamHigh);
    }
    return out;
}

void Board::mark_dirty(unsigned block, std::span<const uint64_t> pages) {
    std::vector<uint64_t>& carry = block == 0 ? m_dirty_carry : m_high_carry;
    if (!dirty_logging()) return;
    for (size_t w = 0; w < std::min(pages.size(), carry.size()); ++w) carry[w] |= pages[w];
}

bool Board::dirty_logging() const {
    const mem::MemSlot* s = m_memory.slot_by_id(kRamLow);
    return s && (s->flags & mem::SlotFlag::LOG_DIRTY);
}

void Board::smram_view_changed(const devices::SmramView& view) {
    m_view = view;
    // The layout is fixed and non-overlapping, so this fails only if an embedder put its own slot
    // where a view goes; that view then stays unmapped.
    (void)map_low_ram();
    // The write that got here (OUT to 0xCFC) runs inside a translated block: end the block so the
    // vCPU sees the new map epoch and flushes its TLB before the next instruction.
    if (m_vcpu) m_vcpu->state().block_break = true;
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
        // The alias replaces RAM at 0xE0000-0xFFFFF: shrink the top RAM slot around it.
        m_bios_alias = std::min(size, kBiosAliasSize);
        if (st = map_low_ram(); !st) return st;
        st = m_memory.set_slot({kFirmwareAlias, 0, kOneMiB - m_bios_alias, m_bios_alias,
                                m_firmware.data() + size - m_bios_alias, mem::SlotFlag::READONLY});
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

void Board::reset() {
    m_pci_host->reset();
    m_lpc->reset();
    m_mch->reset();  // reports the power-on view: SMRAM closed, no TSEG
    cpu::Vcpu& v = *m_vcpu;
    if (!m_kernel.empty() && m_firmware.empty()) {
        (void)load_multiboot(m_kernel, m_config.kernel_cmdline, m_memory, m_low_ram, m_high_ram,
                             v.state());
        v.state_changed();
    } else {
        v.reset();
    }
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
                reset();
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
