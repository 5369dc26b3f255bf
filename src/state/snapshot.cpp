#include "state/snapshot.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <optional>

#include <fmt/format.h>

#include "arch/smram.h"
#include "arch/svm_exit.h"
#include "arch/vmcb.h"
#include "state/byte_io.h"
#include "state/container.h"
#include "state/cpu_record.h"

namespace vx86::state {

using base::ErrorCode;
using base::Status;

namespace {

constexpr uint64_t kPage = 4096;
constexpr uint32_t kPagesPerChunk = 256;  // 1 MiB of RAM per chunk record
constexpr uint8_t kPageZero = 0, kPageData = 1;

// RAM blocks: low RAM (SMRAM and TSEG are views of it) and RAM above 4 GiB.
enum Block : uint32_t { kLowRam = 0, kHighRam = 1, kNumBlocks = 2 };

// Device records, by name; each appears exactly once.
constexpr const char* kDeviceNames[] = {"pci-host", "q35-mch", "ich9-lpc", "apm", "com1"};
constexpr size_t kNumDevices = std::size(kDeviceNames);

uint64_t fnv1a(std::span<const uint8_t> b, uint64_t h = 0xcbf29ce484222325ull) {
    for (uint8_t c : b) h = (h ^ c) * 0x100000001b3ull;
    return h;
}

// The options a snapshot depends on, one "key=value" line each, in a fixed order. Images are
// identified by size and FNV-1a hash: a restore needs the same firmware and kernel (the kernel
// is reloaded on reset).
std::string config_text(machine::Board& b) {
    const machine::BoardConfig& c = b.config();
    const auto& fw = b.firmware();
    const auto& k = b.kernel();
    std::string t;
    t += fmt::format("ram={}\n", c.ram_bytes);
    t += fmt::format("cpu={}\n", c.cpu);
    t += fmt::format("smm={}\n", c.smm ? "on" : "off");
    t += fmt::format("ext-tseg-mbytes={}\n", c.ext_tseg_mbytes);
    t += fmt::format("no-reboot={}\n", c.no_reboot ? "on" : "off");
    t += c.debug_exit ? fmt::format("isa-debug-exit=iobase={:#x},iosize={:#x}\n", c.debug_exit_iobase,
                                    c.debug_exit_iosize)
                      : std::string("isa-debug-exit=none\n");
    t += fw.empty() ? std::string("bios=none\n")
                    : fmt::format("bios=size {} fnv1a {:016x}\n", fw.size(), fnv1a(fw));
    t += k.empty() ? std::string("kernel=none\n")
                   : fmt::format("kernel=size {} fnv1a {:016x}\n", k.size(), fnv1a(k));
    t += fmt::format("append={}\n", c.kernel_cmdline);
    return t;
}

std::array<uint8_t, 24> fingerprint(const std::string& config) {
    std::array<uint8_t, 24> f{};
    const uint64_t h = fnv1a({reinterpret_cast<const uint8_t*>(config.data()), config.size()});
    for (int i = 0; i < 8; ++i) f[i] = static_cast<uint8_t>(h >> (8 * i));
    return f;
}

uint16_t supported_version(uint32_t type) {
    switch (type) {
        case kRecMachineConfig: return kMachineConfigVersion;
        case kRecMemoryLayout: return kMemoryLayoutVersion;
        case kRecRamChunk: return kRamChunkVersion;
        case kRecVcpu: return kVcpuRecordVersion;
        default: break;
    }
    if (type >= kRecDevice && type < kRecDevice + kNumDevices) return kDeviceRecordVersion;
    return 0;
}

bool page_is_zero(const uint8_t* p) {
    static const uint8_t zero[kPage] = {};
    return std::memcmp(p, zero, kPage) == 0;
}

std::vector<std::string> split_lines(std::string_view t) {
    std::vector<std::string> out;
    while (!t.empty()) {
        const size_t nl = t.find('\n');
        out.emplace_back(t.substr(0, nl));
        if (nl == std::string_view::npos) break;
        t.remove_prefix(nl + 1);
    }
    return out;
}

// ---- device records ----------------------------------------------------------------------------

struct DeviceStates {
    devices::PciHost::State pci;
    devices::Q35Mch::State mch;
    devices::Ich9Lpc::State lpc;
    devices::Apm::State apm;
    devices::Uart16550::State com1;
    std::vector<uint8_t> com1_rx;
};

std::vector<uint8_t> encode_device(machine::Board& b, size_t index) {
    ByteWriter w;
    const std::string_view name = kDeviceNames[index];
    w.u8(static_cast<uint8_t>(name.size()));
    w.bytes({reinterpret_cast<const uint8_t*>(name.data()), name.size()});
    switch (index) {
        case 0: w.u32(b.pci_host().state().config_address); break;
        case 1: {
            const auto& s = b.mch().state();
            w.u8(s.smram);
            w.u8(s.esmramc);
            w.u16(s.ext_tseg_mbytes);
            break;
        }
        case 2: {
            const auto& s = b.lpc().state();
            w.u16(s.pmbase);
            w.u8(s.acpi_cntl);
            w.u16(s.pm1_cnt);
            w.u32(s.smi_en);
            w.u32(s.smi_sts);
            break;
        }
        case 3: {
            const auto& s = b.lpc().apm().state();
            w.u8(s.apm_cnt);
            w.u8(s.apm_sts);
            break;
        }
        case 4: {
            const auto s = b.com1().save();
            for (uint8_t v : {s.ier, s.iir, s.lcr, s.mcr, s.lsr, s.msr, s.scr, s.dll, s.dlm}) w.u8(v);
            w.boolean(s.thr_interrupt);
            const auto rx = b.com1().rx_fifo();
            w.u32(static_cast<uint32_t>(rx.size()));
            w.bytes(rx);
            break;
        }
        default: break;
    }
    return w.take();
}

// Decodes device record `index`; the values must be ones the device can hold (what its restore
// would otherwise silently mask is refused here).
Status decode_device(size_t index, std::span<const uint8_t> payload, DeviceStates& d) {
    ByteReader r(payload);
    const uint8_t len = r.u8();
    auto name = r.bytes(len);
    const std::string_view want = kDeviceNames[index];
    if (!r.ok() || std::string_view(reinterpret_cast<const char*>(name.data()), name.size()) != want)
        return {ErrorCode::BadImage, fmt::format("device record {}: not the '{}' record", index, want)};
    std::string bad;
    switch (index) {
        case 0: d.pci.config_address = r.u32(); break;
        case 1: {
            namespace Smram = devices::Smram;
            namespace Esmramc = devices::Esmramc;
            d.mch.smram = r.u8();
            d.mch.esmramc = r.u8();
            d.mch.ext_tseg_mbytes = r.u16();
            if ((d.mch.smram & ~Smram::WMASK) != (Smram::RESET & ~Smram::WMASK))
                bad = fmt::format("SMRAM register {:#x} has read-only bits wrong", d.mch.smram);
            else if ((d.mch.esmramc & ~Esmramc::WMASK) != (Esmramc::RESET & ~Esmramc::WMASK))
                bad = fmt::format("ESMRAMC register {:#x} has read-only bits wrong", d.mch.esmramc);
            else if (d.mch.ext_tseg_mbytes > devices::Q35Mch::kMaxExtTsegMbytes &&
                     d.mch.ext_tseg_mbytes != devices::Q35Mch::EXT_TSEG_MBYTES_QUERY)
                bad = fmt::format("extended TSEG size {} MiB is out of range", d.mch.ext_tseg_mbytes);
            break;
        }
        case 2: {
            using L = devices::Ich9Lpc;
            d.lpc.pmbase = r.u16();
            d.lpc.acpi_cntl = r.u8();
            d.lpc.pm1_cnt = r.u16();
            d.lpc.smi_en = r.u32();
            d.lpc.smi_sts = r.u32();
            if ((d.lpc.pmbase & ~L::PMBASE_BASE_MASK) != L::PMBASE_RTE)
                bad = fmt::format("PMBASE {:#x} has read-only bits wrong", d.lpc.pmbase);
            else if (d.lpc.acpi_cntl & ~(L::ACPI_EN | L::SCI_IRQ_SEL))
                bad = fmt::format("ACPI_CNTL {:#x} has reserved bits", d.lpc.acpi_cntl);
            break;
        }
        case 3:
            d.apm.apm_cnt = r.u8();
            d.apm.apm_sts = r.u8();
            break;
        case 4: {
            auto& s = d.com1;
            for (uint8_t* v : {&s.ier, &s.iir, &s.lcr, &s.mcr, &s.lsr, &s.msr, &s.scr, &s.dll, &s.dlm})
                *v = r.u8();
            s.thr_interrupt = r.boolean();
            const uint32_t n = r.u32();
            if (n > 1u << 16) {
                bad = fmt::format("receive FIFO of {} bytes is over the 64 KiB cap", n);
                break;
            }
            auto rx = r.bytes(n);
            d.com1_rx.assign(rx.begin(), rx.end());
            break;
        }
        default: break;
    }
    if (!r.ok()) return {ErrorCode::BadImage, fmt::format("device '{}': {}", want, r.error())};
    if (r.remaining())
        return {ErrorCode::BadImage, fmt::format("device '{}': {} bytes too many", want, r.remaining())};
    if (!bad.empty()) return {ErrorCode::BadImage, fmt::format("device '{}': {}", want, bad)};
    return Status::ok();
}

// ---- decoding a whole snapshot -------------------------------------------------------------------

// Everything a snapshot says, decoded and checked, with RAM pages still pointing into the input.
struct Staged {
    Header header;
    std::string config;
    std::array<uint64_t, kNumBlocks> block_size{};
    bool dirty_logging = false;
    // Per block: for each page, nullptr (zero page) or its 4 KiB in the input.
    std::array<std::vector<const uint8_t*>, kNumBlocks> pages;
    std::array<std::vector<bool>, kNumBlocks> seen;
    std::optional<cpu::CpuState> cpu;
    std::array<bool, kNumDevices> have_device{};
    DeviceStates devices;
    std::vector<uint32_t> skipped;
};

Status bad(const Record& rec, std::string_view why) {
    return {ErrorCode::BadImage,
            fmt::format("record {:#06x} at offset {}: {}", rec.type, rec.offset, why)};
}

// The CPU model the vCPU record is checked against comes from the configuration record.
Status decode(std::span<const uint8_t> bytes, Staged& st) {
    auto c = parse_container(bytes, supported_version);
    if (!c) return c.status();
    st.header = c->header;
    st.skipped = c->skipped;
    bool have_config = false, have_layout = false;
    std::optional<cpu::CpuFeatures> features;
    for (const Record& rec : c->records) {
        ByteReader r(rec.payload);
        if (rec.type == kRecMachineConfig) {
            if (have_config) return bad(rec, "second machine configuration");
            have_config = true;
            st.config.assign(reinterpret_cast<const char*>(rec.payload.data()), rec.payload.size());
            for (const std::string& line : split_lines(st.config)) {
                if (line.rfind("cpu=", 0) != 0) continue;
                auto model = cpu::CpuidModel::from_cpu_option(line.substr(4));
                if (!model) return bad(rec, "cpu model: " + model.message());
                features = cpu::CpuFeatures::of(*model);
            }
            if (!features) return bad(rec, "no cpu= line");
        } else if (rec.type == kRecMemoryLayout) {
            if (have_layout) return bad(rec, "second memory layout");
            have_layout = true;
            const uint32_t n = r.u32();
            if (r.ok() && n != kNumBlocks) return bad(rec, fmt::format("{} RAM blocks, expected 2", n));
            for (uint32_t i = 0; i < kNumBlocks && r.ok(); ++i) {
                const uint32_t id = r.u32();
                const uint64_t size = r.u64();
                if (id != i) return bad(rec, fmt::format("RAM block {} where {} belongs", id, i));
                if (size % kPage || size > (64ull << 30))
                    return bad(rec, fmt::format("RAM block {} size {:#x} is not a page multiple up to 64 GiB", i, size));
                st.block_size[i] = size;
                st.pages[i].assign(size / kPage, nullptr);
                st.seen[i].assign(size / kPage, false);
            }
            st.dirty_logging = r.boolean();
            if (!r.ok()) return bad(rec, r.error());
            if (r.remaining()) return bad(rec, "trailing bytes");
        } else if (rec.type == kRecRamChunk) {
            if (!have_layout) return bad(rec, "RAM before the memory layout");
            const uint32_t block = r.u32();
            const uint64_t first = r.u64();
            const uint32_t count = r.u32();
            if (!r.ok()) return bad(rec, r.error());
            if (block >= kNumBlocks) return bad(rec, fmt::format("RAM block {} does not exist", block));
            const uint64_t npages = st.pages[block].size();
            if (count == 0 || count > kPagesPerChunk)
                return bad(rec, fmt::format("{} pages in one chunk (1..{})", count, kPagesPerChunk));
            if (first >= npages || count > npages - first)
                return bad(rec, fmt::format("pages {}..{} beyond RAM block {} ({} pages)", first,
                                            first + count - 1, block, npages));
            auto tags = r.bytes(count);
            if (!r.ok()) return bad(rec, r.error());
            for (uint32_t i = 0; i < count; ++i) {
                if (tags[i] != kPageZero && tags[i] != kPageData)
                    return bad(rec, fmt::format("page tag {} is neither zero (0) nor data (1)", tags[i]));
                if (st.seen[block][first + i])
                    return bad(rec, fmt::format("RAM block {} page {} appears twice", block, first + i));
                st.seen[block][first + i] = true;
                if (tags[i] == kPageData) {
                    auto data = r.bytes(kPage);
                    if (!r.ok()) return bad(rec, "page data " + r.error());
                    st.pages[block][first + i] = data.data();
                }
            }
            if (r.remaining()) return bad(rec, "trailing bytes");
        } else if (rec.type == kRecVcpu) {
            if (st.cpu) return bad(rec, "second vCPU 0");
            if (!features) return bad(rec, "vCPU before the machine configuration");
            cpu::CpuState s;
            if (auto e = decode_cpu(rec.payload, *features, s); !e) return bad(rec, e.message());
            st.cpu = s;
        } else if (rec.type >= kRecDevice && rec.type < kRecDevice + kNumDevices) {
            const size_t i = rec.type - kRecDevice;
            if (st.have_device[i]) return bad(rec, "device appears twice");
            st.have_device[i] = true;
            if (auto e = decode_device(i, rec.payload, st.devices); !e) return bad(rec, e.message());
        } else {
            return bad(rec, "record type not valid in a machine snapshot");
        }
    }
    if (!have_config) return {ErrorCode::BadImage, "snapshot has no machine configuration record"};
    if (!have_layout) return {ErrorCode::BadImage, "snapshot has no memory layout record"};
    if (!st.cpu) return {ErrorCode::BadImage, "snapshot has no vCPU 0 record"};
    for (size_t i = 0; i < kNumDevices; ++i)
        if (!st.have_device[i])
            return {ErrorCode::BadImage, fmt::format("snapshot has no '{}' device record", kDeviceNames[i])};
    for (uint32_t b = 0; b < kNumBlocks; ++b) {
        auto it = std::find(st.seen[b].begin(), st.seen[b].end(), false);
        if (it != st.seen[b].end())
            return {ErrorCode::BadImage, fmt::format("RAM block {} page {} is missing", b,
                                                     it - st.seen[b].begin())};
    }
    return Status::ok();
}

void put_ram(ContainerWriter& out, uint32_t block, const uint8_t* ram, uint64_t size) {
    ByteWriter w;
    for (uint64_t first = 0; first < size / kPage; first += kPagesPerChunk) {
        const uint32_t count = static_cast<uint32_t>(std::min<uint64_t>(kPagesPerChunk, size / kPage - first));
        w.data().clear();
        w.u32(block);
        w.u64(first);
        w.u32(count);
        const size_t tags_at = w.size();
        w.zeros(count);
        for (uint32_t i = 0; i < count; ++i) {
            const uint8_t* p = ram + (first + i) * kPage;
            if (page_is_zero(p)) continue;
            w.data()[tags_at + i] = kPageData;
            w.bytes({p, kPage});
        }
        out.add(kRecRamChunk, kRamChunkVersion, kRecordCritical, w.data());
    }
}

}  // namespace

std::vector<uint8_t> save_machine(machine::Board& b, const SaveOptions& o) {
    const std::string config = config_text(b);
    Header h;
    h.producer = {0, 1, 0};
    h.fingerprint = fingerprint(config);
    ContainerWriter out(h);
    out.add(kRecMachineConfig, kMachineConfigVersion, kRecordCritical,
            {reinterpret_cast<const uint8_t*>(config.data()), config.size()});
    ByteWriter layout;
    layout.u32(kNumBlocks);
    layout.u32(kLowRam);
    layout.u64(b.low_ram_size());
    layout.u32(kHighRam);
    layout.u64(b.high_ram_size());
    layout.boolean(b.dirty_logging());
    out.add(kRecMemoryLayout, kMemoryLayoutVersion, kRecordCritical, layout.data());
    put_ram(out, kLowRam, b.low_ram(), b.low_ram_size());
    if (b.high_ram_size()) put_ram(out, kHighRam, b.high_ram(), b.high_ram_size());
    for (size_t i = 0; i < kNumDevices; ++i)
        out.add(kRecDevice + static_cast<uint32_t>(i), kDeviceRecordVersion, kRecordCritical,
                encode_device(b, i));
    out.add(kRecVcpu, kVcpuRecordVersion, kRecordCritical, encode_cpu(b.vcpu().state(), o.drop_cpu_field));
    return out.finish();
}

Status restore_machine(machine::Board& b, std::span<const uint8_t> bytes) {
    Staged st;
    if (auto e = decode(bytes, st); !e) return e;
    // The target must be the machine the snapshot was taken of.
    const std::string mine = config_text(b);
    if (st.config != mine) {
        std::string diff;
        const auto a = split_lines(st.config), m = split_lines(mine);
        for (const std::string& line : a)
            if (std::find(m.begin(), m.end(), line) == m.end()) diff += "\n  snapshot: " + line;
        for (const std::string& line : m)
            if (std::find(a.begin(), a.end(), line) == a.end()) diff += "\n  this machine: " + line;
        return {ErrorCode::InvalidArgument,
                "the snapshot was taken on a differently configured machine:" + diff};
    }
    if (st.block_size[kLowRam] != b.low_ram_size() || st.block_size[kHighRam] != b.high_ram_size())
        return {ErrorCode::InvalidArgument, "the snapshot's RAM blocks differ from this machine's"};
    if (st.dirty_logging)
        return {ErrorCode::Unsupported,
                "the snapshot was taken with dirty logging on; restoring dirty-log state is not "
                "supported by this vx86"};

    // Commit: nothing below can fail.
    b.pci_host().restore(st.devices.pci);
    b.mch().restore(st.devices.mch);  // re-slices the SMRAM/TSEG views
    b.lpc().restore(st.devices.lpc);
    b.lpc().apm().restore(st.devices.apm);
    b.com1().restore(st.devices.com1);
    b.com1().set_rx_fifo(st.devices.com1_rx);
    uint8_t* const ram[kNumBlocks] = {b.low_ram(), b.high_ram()};
    for (uint32_t blk = 0; blk < kNumBlocks; ++blk)
        for (size_t p = 0; p < st.pages[blk].size(); ++p) {
            uint8_t* dst = ram[blk] + p * kPage;
            if (st.pages[blk][p]) std::memcpy(dst, st.pages[blk][p], kPage);
            else std::memset(dst, 0, kPage);
        }
    b.vcpu().state() = *st.cpu;
    b.vcpu().state_changed();  // mode, address space, nested paging, TLB and decoded code
    return Status::ok();
}

base::Result<std::string> describe_snapshot(std::span<const uint8_t> bytes) {
    Staged st;
    if (auto e = decode(bytes, st); !e) return e;
    std::string o;
    o += fmt::format("vx86 snapshot, format {}.{}, written by vx86 {}.{}.{}, {} bytes\n",
                     st.header.format_major, st.header.format_minor, st.header.producer[0],
                     st.header.producer[1], st.header.producer[2], bytes.size());
    for (uint32_t t : st.skipped) o += fmt::format("(skipped unknown record type {:#06x})\n", t);
    o += "\n[machine configuration]\n" + st.config;
    o += "\n[memory]\n";
    for (uint32_t blk = 0; blk < kNumBlocks; ++blk) {
        const size_t data = std::count_if(st.pages[blk].begin(), st.pages[blk].end(),
                                          [](const uint8_t* p) { return p != nullptr; });
        o += fmt::format("block {} ({}): {} pages, {} with data, {} zero\n", blk,
                         blk == kLowRam ? "RAM below 4 GiB, incl. SMRAM and TSEG" : "RAM above 4 GiB",
                         st.pages[blk].size(), data, st.pages[blk].size() - data);
    }
    o += fmt::format("dirty logging: {}\n", st.dirty_logging ? "on" : "off");
    const DeviceStates& d = st.devices;
    o += "\n[devices]\n";
    o += fmt::format("pci-host: config_address={:#010x}\n", d.pci.config_address);
    o += fmt::format("q35-mch: smram={:#04x} esmramc={:#04x} ext_tseg_mbytes={}\n", d.mch.smram,
                     d.mch.esmramc, d.mch.ext_tseg_mbytes);
    o += fmt::format("ich9-lpc: pmbase={:#06x} acpi_cntl={:#04x} pm1_cnt={:#06x} smi_en={:#010x} "
                     "smi_sts={:#010x}\n", d.lpc.pmbase, d.lpc.acpi_cntl, d.lpc.pm1_cnt,
                     d.lpc.smi_en, d.lpc.smi_sts);
    o += fmt::format("apm: apm_cnt={:#04x} apm_sts={:#04x}\n", d.apm.apm_cnt, d.apm.apm_sts);
    o += fmt::format("com1: ier={:#04x} iir={:#04x} lcr={:#04x} mcr={:#04x} lsr={:#04x} msr={:#04x} "
                     "scr={:#04x} divisor={:#06x} thr_interrupt={} rx_bytes={}\n", d.com1.ier,
                     d.com1.iir, d.com1.lcr, d.com1.mcr, d.com1.lsr, d.com1.msr, d.com1.scr,
                     d.com1.dll | (d.com1.dlm << 8), int(d.com1.thr_interrupt), d.com1_rx.size());
    o += "\n[vcpu 0]\n";
    describe_cpu(*st.cpu, [&](std::string_view n, std::string_view v) {
        o += fmt::format("{} = {}\n", n, v);
    });

    // Guest-physical reads from the low-RAM block (SMRAM and TSEG live there too).
    auto read_low = [&](uint64_t gpa, void* out, size_t n) {
        uint8_t* q = static_cast<uint8_t*>(out);
        for (size_t i = 0; i < n; ++i) {
            const uint64_t a = gpa + i, page = a / kPage;
            if (page >= st.pages[kLowRam].size()) return false;
            const uint8_t* p = st.pages[kLowRam][page];
            q[i] = p ? p[a % kPage] : 0;
        }
        return true;
    };
    const cpu::CpuState& s = *st.cpu;
    if (s.smm.in_smm) {
        arch::SmramStateSave area;
        o += fmt::format("\n[SMRAM state-save map at SMBASE {:#x} + 0xFE00]\n", s.smm.smbase);
        if (read_low(s.smm.smbase + 0xfe00, &area, sizeof area)) {
            const arch::SmramState64& m = area.s64;
            o += fmt::format("revision={:#010x} smbase={:#x} rip={:#x} rflags={:#x} cr0={:#x} cr3={:#x} "
                             "cr4={:#x} efer={:#x}\n", m.smm_revision, m.smbase, m.rip, m.rflags,
                             m.cr0, m.cr3, m.cr4, m.efer);
            o += fmt::format("svm_guest_flag={} svm_guest_vmcb_gpa={:#x} svm_guest_pat={:#x} "
                             "svm_host efer={:#x} cr0={:#x} cr3={:#x} cr4={:#x}\n", m.svm_guest_flag,
                             m.svm_guest_vmcb_gpa, m.svm_guest_pat, m.svm_host_efer, m.svm_host_cr0,
                             m.svm_host_cr3, m.svm_host_cr4);
        } else {
            o += "(outside the RAM below 4 GiB)\n";
        }
    }
    if (s.svm.guest_mode || s.svm.smm_suspended) {
        arch::Vmcb v;
        o += fmt::format("\n[VMCB12 at {:#x}]\n", s.svm.vmcb12_pa);
        if (read_low(s.svm.vmcb12_pa, &v, sizeof v)) {
            const arch::VmcbControl& c = v.control;
            o += fmt::format("control: intercepts cr {:#06x}/{:#06x} dr {:#06x}/{:#06x} exc {:#010x} "
                             "misc {:#010x} {:#010x} asid={} tlb_control={} int_ctl={:#x} "
                             "int_vector={:#x} int_state={:#x} nested_ctl={:#x} n_cr3={:#x} "
                             "event_inj={:#x}\n", c.intercept_cr_read, c.intercept_cr_write,
                             c.intercept_dr_read, c.intercept_dr_write, c.intercept_exceptions,
                             c.intercept_misc1, c.intercept_misc2, c.guest_asid, c.tlb_control,
                             c.int_ctl, c.int_vector, c.int_state, c.nested_ctl, c.n_cr3, c.event_inj);
            o += fmt::format("last exit: code={:#x} ({}) info1={:#x} info2={:#x} exit_int_info={:#x}\n",
                             c.exit_code, arch::svm_exit_name(c.exit_code), c.exit_info_1,
                             c.exit_info_2, c.exit_int_info);
            const arch::VmcbSave& g = v.save;
            o += fmt::format("save: cs={:#06x} rip={:#x} rsp={:#x} rax={:#x} rflags={:#x} cr0={:#x} "
                             "cr3={:#x} cr4={:#x} efer={:#x} cpl={}\n", g.cs.selector, g.rip, g.rsp,
                             g.rax, g.rflags, g.cr0, g.cr3, g.cr4, g.efer, g.cpl);
        } else {
            o += "(outside the RAM below 4 GiB)\n";
        }
    }
    return o;
}

Status write_file_atomically(const std::string& path, std::span<const uint8_t> bytes) {
    const std::string tmp = path + ".tmp";
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return {ErrorCode::Io, fmt::format("{}: {}", tmp, std::strerror(errno))};
    size_t done = 0;
    while (done < bytes.size()) {
        const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            const int err = n < 0 ? errno : EIO;
            ::close(fd);
            ::unlink(tmp.c_str());
            return {ErrorCode::Io, fmt::format("{}: {}", tmp, std::strerror(err))};
        }
        done += static_cast<size_t>(n);
    }
    if (::fsync(fd) != 0 || ::close(fd) != 0) {
        const int err = errno;
        ::unlink(tmp.c_str());
        return {ErrorCode::Io, fmt::format("{}: {}", tmp, std::strerror(err))};
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        const int err = errno;
        ::unlink(tmp.c_str());
        return {ErrorCode::Io, fmt::format("{}: {}", path, std::strerror(err))};
    }
    return Status::ok();
}

base::Result<std::vector<uint8_t>> read_snapshot_file(const std::string& path) {
    FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) return {ErrorCode::NotFound, fmt::format("{}: {}", path, std::strerror(errno))};
    std::vector<uint8_t> out;
    uint8_t buf[1 << 16];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) {
        out.insert(out.end(), buf, buf + n);
        if (out.size() > (80ull << 30)) {
            std::fclose(f);
            return {ErrorCode::BadImage, fmt::format("{}: larger than any vx86 snapshot", path)};
        }
    }
    const bool err = std::ferror(f);
    std::fclose(f);
    if (err) return {ErrorCode::Io, fmt::format("{}: read error", path)};
    return out;
}

}  // namespace vx86::state
