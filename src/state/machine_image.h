// The records that describe a whole machine, shared by snapshot files and the migration stream:
// configuration, memory layout, RAM pages, dirty log, devices and the vCPU. Encoders read the
// board only; decoders check every value into a MachineImage, which commit() applies in one step.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"
#include "cpu/state/cpu_state.h"
#include "cpu/state/cpuid_model.h"
#include "machine/board.h"
#include "state/container.h"
#include "state/cpu_record.h"

namespace vx86::state {

// Record versions this vx86 writes and reads.
inline constexpr uint16_t kMachineConfigVersion = 1;
inline constexpr uint16_t kMemoryLayoutVersion = 1;
inline constexpr uint16_t kRamChunkVersion = 1;
inline constexpr uint16_t kRamPagesVersion = 1;
inline constexpr uint16_t kDirtyLogVersion = 1;
inline constexpr uint16_t kDeviceRecordVersion = 1;
inline constexpr uint16_t kIterationVersion = 1;

inline constexpr uint64_t kPage = 4096;
inline constexpr uint32_t kPagesPerChunk = 256;  // 1 MiB of RAM per chunk record at most
// Page tags in RAM records: zero page, page data follows, page not in this record (stream only).
inline constexpr uint8_t kPageZero = 0, kPageData = 1, kPageAbsent = 2;

// RAM blocks: low RAM (SMRAM and TSEG are views of it) and RAM above 4 GiB.
enum Block : uint32_t { kLowRam = 0, kHighRam = 1, kNumBlocks = 2 };

// Device records, by name; each appears exactly once.
inline constexpr const char* kDeviceNames[] = {"pci-host", "q35-mch", "ich9-lpc", "apm", "com1"};
inline constexpr size_t kNumDevices = std::size(kDeviceNames);

struct DeviceStates {
    devices::PciHost::State pci;
    devices::Q35Mch::State mch;
    devices::Ich9Lpc::State lpc;
    devices::Apm::State apm;
    devices::Uart16550::State com1;
    std::vector<uint8_t> com1_rx;
};

// The options a snapshot depends on, one "key=value" line each, and a hash of them for the
// container header.
std::string config_text(machine::Board& board);
std::array<uint8_t, 24> fingerprint(const std::string& config);
// The newest version of each record type this vx86 reads (0: unknown), for ContainerReader.
uint16_t supported_version(uint32_t type);

bool page_is_zero(const uint8_t* page);
// Stores one received page (nullptr: a zero page). A zero page over a page that is already zero
// is not written, so never-touched guest RAM stays unallocated on the host.
void store_page(uint8_t* dst, const uint8_t* data);

// ---- encoding ----------------------------------------------------------------------------------
// Configuration and memory layout: what the other side checks before any RAM. The layout says
// whether dirty logging is on (and then add_state_records sends the logs).
void add_setup_records(ContainerWriter& out, machine::Board& board, bool dirty_logging);
// Pages [first, first + count) of a RAM block (count <= kPagesPerChunk) as one record: a file's
// kRecRamChunk (every page), or, with `only` (one bit per page of the block), a stream's
// kRecRamPages holding just those pages. Returns the number of pages with data.
uint32_t add_ram_record(ContainerWriter& out, machine::Board& board, uint32_t block, uint64_t first,
                        uint32_t count, const uint64_t* only = nullptr);
// The dirty log (with `dirty_logging`), the devices and the vCPU (drop_cpu_field: tests only).
void add_state_records(ContainerWriter& out, machine::Board& board, bool dirty_logging,
                       int drop_cpu_field = -1);

// ---- decoding ----------------------------------------------------------------------------------
// Everything but RAM contents, decoded and checked.
struct MachineImage {
    std::string config;
    bool have_layout = false;
    std::array<uint64_t, kNumBlocks> block_size{};
    bool dirty_logging = false;
    std::array<std::optional<std::vector<uint64_t>>, kNumBlocks> dirty;
    std::optional<cpu::CpuFeatures> features;  // from the configuration's cpu= line
    std::optional<cpu::CpuState> cpu;
    std::array<bool, kNumDevices> have_device{};
    DeviceStates devices;
};

base::Status bad_record(const Record& rec, std::string_view why);
// Takes one configuration, layout, dirty-log, device or vCPU record. `handled` is false for
// other types (RAM records are the caller's: files and streams store pages differently).
base::Status decode_state_record(const Record& rec, MachineImage& image, bool& handled);
// Every record a machine needs is there.
base::Status check_complete(const MachineImage& image);
// The image was taken of a machine configured like `board`; the error lists the differences.
base::Status check_same_machine(machine::Board& board, const MachineImage& image);
// One RAM record's pages, checked against the layout. `pages` gets, for each page in the record,
// its index, and nullptr (zero page) or its 4 KiB in the record's payload.
struct RamRecordPage {
    uint64_t index;
    const uint8_t* data;
};
base::Status decode_ram_record(const Record& rec, const MachineImage& image, uint32_t& block,
                               std::vector<RamRecordPage>& pages);
// Applies devices, dirty log and vCPU (RAM is the caller's, before this). Cannot fail.
void commit(machine::Board& board, const MachineImage& image);

}  // namespace vx86::state
