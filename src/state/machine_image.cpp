// Machine records shared by snapshot files and the migration stream (layouts in
// docs/snapshot-format.md).
#include "state/machine_image.h"

#include <algorithm>
#include <bit>
#include <cstring>

#include <fmt/format.h>

#include "state/byte_io.h"

namespace vx86::state {

using base::ErrorCode;
using base::Status;

namespace {

uint64_t fnv1a(std::span<const uint8_t> b, uint64_t h = 0xcbf29ce484222325ull) {
    for (uint8_t c : b) h = (h ^ c) * 0x100000001b3ull;
    return h;
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


}  // namespace

bool page_is_zero(const uint8_t* p) {
    static const uint8_t zero[kPage] = {};
    return std::memcmp(p, zero, kPage) == 0;
}

void store_page(uint8_t* dst, const uint8_t* data) {
    if (data)
        std::memcpy(dst, data, kPage);
    else if (!page_is_zero(dst))
        std::memset(dst, 0, kPage);
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
        case kRecRamPages: return kRamPagesVersion;
        case kRecDirtyLog: return kDirtyLogVersion;
        case kRecIteration: return kIterationVersion;
        case kRecVcpu: return kVcpuRecordVersion;
        default: break;
    }
    if (type >= kRecDevice && type < kRecDevice + kNumDevices) return kDeviceRecordVersion;
    return 0;
}


Status bad_record(const Record& rec, std::string_view why) {
    return {ErrorCode::BadImage,
            fmt::format("record {:#06x} at offset {}: {}", rec.type, rec.offset, why)};
}

void add_setup_records(ContainerWriter& out, machine::Board& b, bool dirty_logging) {
    const std::string config = config_text(b);
    out.add(kRecMachineConfig, kMachineConfigVersion, kRecordCritical,
            {reinterpret_cast<const uint8_t*>(config.data()), config.size()});
    ByteWriter layout;
    layout.u32(kNumBlocks);
    for (uint32_t blk = 0; blk < kNumBlocks; ++blk) {
        layout.u32(blk);
        layout.u64(b.ram_block_size(blk));
    }
    layout.boolean(dirty_logging);
    out.add(kRecMemoryLayout, kMemoryLayoutVersion, kRecordCritical, layout.data());
}

uint32_t add_ram_record(ContainerWriter& out, machine::Board& b, uint32_t block, uint64_t first,
                        uint32_t count, const uint64_t* only) {
    const uint8_t* const ram = b.ram_block(block);
    ByteWriter w;
    w.u32(block);
    w.u64(first);
    w.u32(count);
    const size_t tags_at = w.size();
    w.zeros(count);
    uint32_t data = 0;
    for (uint32_t i = 0; i < count; ++i) {
        const uint64_t page = first + i;
        if (only && !((only[page / 64] >> (page % 64)) & 1)) {
            w.data()[tags_at + i] = kPageAbsent;
            continue;
        }
        const uint8_t* p = ram + page * kPage;
        if (page_is_zero(p)) continue;
        w.data()[tags_at + i] = kPageData;
        w.bytes({p, kPage});
        ++data;
    }
    if (only)
        out.add(kRecRamPages, kRamPagesVersion, kRecordCritical, w.data());
    else
        out.add(kRecRamChunk, kRamChunkVersion, kRecordCritical, w.data());
    return data;
}

void add_state_records(ContainerWriter& out, machine::Board& b, bool dirty_logging,
                       int drop_cpu_field) {
    if (dirty_logging) {
        // The log as it stands; saving does not clear it (a snapshot never changes the machine).
        for (uint32_t blk = 0; blk < kNumBlocks; ++blk) {
            if (!b.ram_block_size(blk)) continue;
            const std::vector<uint64_t> bits = b.dirty_pages(blk, false);
            ByteWriter w;
            w.u32(blk);
            w.u64(b.ram_block_size(blk) / kPage);
            for (uint64_t word : bits) w.u64(word);
            out.add(kRecDirtyLog, kDirtyLogVersion, kRecordCritical, w.data());
        }
    }
    for (size_t i = 0; i < kNumDevices; ++i)
        out.add(kRecDevice + static_cast<uint32_t>(i), kDeviceRecordVersion, kRecordCritical,
                encode_device(b, i));
    out.add(kRecVcpu, kVcpuRecordVersion, kRecordCritical, encode_cpu(b.vcpu().state(), drop_cpu_field));
}

Status decode_state_record(const Record& rec, MachineImage& im, bool& handled) {
    handled = true;
    ByteReader r(rec.payload);
    if (rec.type == kRecMachineConfig) {
        if (!im.config.empty() || im.features) return bad_record(rec, "second machine configuration");
        im.config.assign(reinterpret_cast<const char*>(rec.payload.data()), rec.payload.size());
        for (const std::string& line : split_lines(im.config)) {
            if (line.rfind("cpu=", 0) != 0) continue;
            auto model = cpu::CpuidModel::from_cpu_option(line.substr(4));
            if (!model) return bad_record(rec, "cpu model: " + model.message());
            im.features = cpu::CpuFeatures::of(*model);
        }
        if (!im.features) return bad_record(rec, "no cpu= line");
    } else if (rec.type == kRecMemoryLayout) {
        if (im.have_layout) return bad_record(rec, "second memory layout");
        im.have_layout = true;
        const uint32_t n = r.u32();
        if (r.ok() && n != kNumBlocks)
            return bad_record(rec, fmt::format("{} RAM blocks, expected 2", n));
        for (uint32_t i = 0; i < kNumBlocks && r.ok(); ++i) {
            const uint32_t id = r.u32();
            const uint64_t size = r.u64();
            if (!r.ok()) break;
            if (id != i) return bad_record(rec, fmt::format("RAM block {} where {} belongs", id, i));
            if (size % kPage || size > (64ull << 30))
                return bad_record(rec, fmt::format(
                                           "RAM block {} size {:#x} is not a page multiple up to 64 GiB", i, size));
            im.block_size[i] = size;
        }
        im.dirty_logging = r.boolean();
        if (!r.ok()) return bad_record(rec, r.error());
        if (r.remaining()) return bad_record(rec, "trailing bytes");
    } else if (rec.type == kRecDirtyLog) {
        if (!im.have_layout) return bad_record(rec, "dirty log before the memory layout");
        if (!im.dirty_logging) return bad_record(rec, "dirty log although the layout says logging is off");
        const uint32_t blk = r.u32();
        const uint64_t pages = r.u64();
        if (!r.ok()) return bad_record(rec, r.error());
        if (blk >= kNumBlocks) return bad_record(rec, fmt::format("RAM block {} does not exist", blk));
        if (im.dirty[blk]) return bad_record(rec, fmt::format("second dirty log of RAM block {}", blk));
        if (pages != im.block_size[blk] / kPage)
            return bad_record(rec, fmt::format("dirty log of {} pages for RAM block {} of {} pages",
                                               pages, blk, im.block_size[blk] / kPage));
        std::vector<uint64_t> bits((pages + 63) / 64);
        for (uint64_t& w : bits) w = r.u64();
        if (!r.ok()) return bad_record(rec, r.error());
        if (r.remaining()) return bad_record(rec, "trailing bytes");
        if (pages % 64 && !bits.empty() && (bits.back() >> (pages % 64)))
            return bad_record(rec, "dirty bits beyond the end of the block");
        im.dirty[blk] = std::move(bits);
    } else if (rec.type == kRecVcpu) {
        if (im.cpu) return bad_record(rec, "second vCPU 0");
        if (!im.features) return bad_record(rec, "vCPU before the machine configuration");
        cpu::CpuState s;
        if (auto e = decode_cpu(rec.payload, *im.features, s); !e) return bad_record(rec, e.message());
        im.cpu = s;
    } else if (rec.type >= kRecDevice && rec.type < kRecDevice + kNumDevices) {
        const size_t i = rec.type - kRecDevice;
        if (im.have_device[i]) return bad_record(rec, "device appears twice");
        im.have_device[i] = true;
        if (auto e = decode_device(i, rec.payload, im.devices); !e) return bad_record(rec, e.message());
    } else {
        handled = false;
    }
    return Status::ok();
}

Status check_complete(const MachineImage& im) {
    if (im.config.empty()) return {ErrorCode::BadImage, "snapshot has no machine configuration record"};
    if (!im.have_layout) return {ErrorCode::BadImage, "snapshot has no memory layout record"};
    if (!im.cpu) return {ErrorCode::BadImage, "snapshot has no vCPU 0 record"};
    for (size_t i = 0; i < kNumDevices; ++i)
        if (!im.have_device[i])
            return {ErrorCode::BadImage, fmt::format("snapshot has no '{}' device record", kDeviceNames[i])};
    if (im.dirty_logging)
        for (uint32_t b = 0; b < kNumBlocks; ++b)
            if (im.block_size[b] && !im.dirty[b])
                return {ErrorCode::BadImage,
                        fmt::format("dirty logging is on but RAM block {} has no dirty log", b)};
    return Status::ok();
}

Status check_same_machine(machine::Board& b, const MachineImage& im) {
    const std::string mine = config_text(b);
    if (im.config != mine) {
        std::string diff;
        const auto a = split_lines(im.config), m = split_lines(mine);
        for (const std::string& line : a)
            if (std::find(m.begin(), m.end(), line) == m.end()) diff += "\n  snapshot: " + line;
        for (const std::string& line : m)
            if (std::find(a.begin(), a.end(), line) == a.end()) diff += "\n  this machine: " + line;
        return {ErrorCode::InvalidArgument,
                "the snapshot was taken on a differently configured machine:" + diff};
    }
    if (im.have_layout)
        for (uint32_t blk = 0; blk < kNumBlocks; ++blk)
            if (im.block_size[blk] != b.ram_block_size(blk))
                return {ErrorCode::InvalidArgument, "the snapshot's RAM blocks differ from this machine's"};
    return Status::ok();
}

Status decode_ram_record(const Record& rec, const MachineImage& im, uint32_t& block,
                         std::vector<RamRecordPage>& pages) {
    pages.clear();
    if (!im.have_layout) return bad_record(rec, "RAM before the memory layout");
    ByteReader r(rec.payload);
    block = r.u32();
    const uint64_t first = r.u64();
    const uint32_t count = r.u32();
    if (!r.ok()) return bad_record(rec, r.error());
    if (block >= kNumBlocks) return bad_record(rec, fmt::format("RAM block {} does not exist", block));
    const uint64_t npages = im.block_size[block] / kPage;
    if (count == 0 || count > kPagesPerChunk)
        return bad_record(rec, fmt::format("{} pages in one chunk (1..{})", count, kPagesPerChunk));
    if (first >= npages || count > npages - first)
        return bad_record(rec, fmt::format("pages {}..{} beyond RAM block {} ({} pages)", first,
                                           first + count - 1, block, npages));
    auto tags = r.bytes(count);
    if (!r.ok()) return bad_record(rec, r.error());
    const bool sparse = rec.type == kRecRamPages;
    for (uint32_t i = 0; i < count; ++i) {
        if (sparse && tags[i] == kPageAbsent) continue;
        if (tags[i] != kPageZero && tags[i] != kPageData)
            return bad_record(rec, sparse ? fmt::format("page tag {} is not zero (0), data (1) or absent (2)", tags[i])
                                          : fmt::format("page tag {} is neither zero (0) nor data (1)", tags[i]));
        const uint8_t* data = nullptr;
        if (tags[i] == kPageData) {
            auto bytes = r.bytes(kPage);
            if (!r.ok()) return bad_record(rec, "page data " + r.error());
            data = bytes.data();
        }
        pages.push_back({first + i, data});
    }
    if (r.remaining()) return bad_record(rec, "trailing bytes");
    return Status::ok();
}

void commit(machine::Board& b, const MachineImage& im) {
    b.pci_host().restore(im.devices.pci);
    b.mch().restore(im.devices.mch);  // re-slices the SMRAM/TSEG views
    b.lpc().restore(im.devices.lpc);
    b.lpc().apm().restore(im.devices.apm);
    b.com1().restore(im.devices.com1);
    b.com1().set_rx_fifo(im.devices.com1_rx);
    // After the views: the log covers whichever slots map RAM now.
    b.set_dirty_logging(im.dirty_logging);
    for (uint32_t blk = 0; blk < kNumBlocks; ++blk)
        if (im.dirty[blk]) b.mark_dirty(blk, *im.dirty[blk]);
    b.vcpu().state() = *im.cpu;
    b.vcpu().state_changed();  // mode, address space, nested paging, TLB and decoded code
}

}  // namespace vx86::state
