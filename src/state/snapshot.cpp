#include "state/snapshot.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
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
#include "state/machine_image.h"

namespace vx86::state {

using base::ErrorCode;
using base::Status;

namespace {

// ---- decoding a whole snapshot -------------------------------------------------------------------

// Everything a snapshot says, decoded and checked, with RAM pages still pointing into the input.
struct Staged {
    Header header;
    MachineImage image;
    // Per block: for each page, nullptr (zero page) or its 4 KiB in the input.
    std::array<std::vector<const uint8_t*>, kNumBlocks> pages;
    std::vector<uint32_t> skipped;
};

Status decode(std::span<const uint8_t> bytes, Staged& st) {
    auto c = parse_container(bytes, supported_version);
    if (!c) return c.status();
    st.header = c->header;
    st.skipped = c->skipped;
    std::array<std::vector<bool>, kNumBlocks> seen;
    std::vector<RamRecordPage> pages;
    for (const Record& rec : c->records) {
        bool handled = false;
        if (auto e = decode_state_record(rec, st.image, handled); !e) return e;
        if (handled) {
            if (rec.type == kRecMemoryLayout)
                for (uint32_t b = 0; b < kNumBlocks; ++b) {
                    st.pages[b].assign(st.image.block_size[b] / kPage, nullptr);
                    seen[b].assign(st.image.block_size[b] / kPage, false);
                }
            continue;
        }
        if (rec.type != kRecRamChunk) return bad_record(rec, "record type not valid in a machine snapshot");
        uint32_t block = 0;
        if (auto e = decode_ram_record(rec, st.image, block, pages); !e) return e;
        for (const RamRecordPage& pg : pages) {
            if (seen[block][pg.index])
                return bad_record(rec, fmt::format("RAM block {} page {} appears twice", block, pg.index));
            seen[block][pg.index] = true;
            st.pages[block][pg.index] = pg.data;
        }
    }
    if (auto e = check_complete(st.image); !e) return e;
    for (uint32_t b = 0; b < kNumBlocks; ++b) {
        auto it = std::find(seen[b].begin(), seen[b].end(), false);
        if (it != seen[b].end())
            return {ErrorCode::BadImage, fmt::format("RAM block {} page {} is missing", b,
                                                     it - seen[b].begin())};
    }
    return Status::ok();
}

}  // namespace

std::vector<uint8_t> save_machine(machine::Board& b, const SaveOptions& o) {
    Header h;
    h.producer = {0, 1, 0};
    h.fingerprint = fingerprint(config_text(b));
    ContainerWriter out(h);
    // Upper bound of the RAM records: untouched reserved memory costs the host nothing, and the
    // buffer never has to be copied to grow.
    uint64_t ram = 0;
    for (uint32_t blk = 0; blk < kNumBlocks; ++blk) ram += b.ram_block_size(blk) / kPage * (kPage + 1);
    out.reserve(ram + (1u << 20));
    add_setup_records(out, b, b.dirty_logging());
    for (uint32_t blk = 0; blk < kNumBlocks; ++blk) {
        const uint64_t npages = b.ram_block_size(blk) / kPage;
        for (uint64_t first = 0; first < npages; first += kPagesPerChunk)
            add_ram_record(out, b, blk, first,
                           static_cast<uint32_t>(std::min<uint64_t>(kPagesPerChunk, npages - first)));
    }
    add_state_records(out, b, b.dirty_logging(), o.drop_cpu_field);
    return out.finish();
}

Status restore_machine(machine::Board& b, std::span<const uint8_t> bytes) {
    Staged st;
    if (auto e = decode(bytes, st); !e) return e;
    // The target must be the machine the snapshot was taken of.
    if (auto e = check_same_machine(b, st.image); !e) return e;

    // Commit: nothing below can fail.
    for (uint32_t blk = 0; blk < kNumBlocks; ++blk) {
        uint8_t* const ram = b.ram_block(blk);
        for (size_t p = 0; p < st.pages[blk].size(); ++p) {
            uint8_t* dst = ram + p * kPage;
            store_page(dst, st.pages[blk][p]);
        }
    }
    commit(b, st.image);
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
    const MachineImage& im = st.image;
    o += "\n[machine configuration]\n" + im.config;
    o += "\n[memory]\n";
    for (uint32_t blk = 0; blk < kNumBlocks; ++blk) {
        const size_t data = std::count_if(st.pages[blk].begin(), st.pages[blk].end(),
                                          [](const uint8_t* p) { return p != nullptr; });
        o += fmt::format("block {} ({}): {} pages, {} with data, {} zero\n", blk,
                         blk == kLowRam ? "RAM below 4 GiB, incl. SMRAM and TSEG" : "RAM above 4 GiB",
                         st.pages[blk].size(), data, st.pages[blk].size() - data);
    }
    o += fmt::format("dirty logging: {}\n", im.dirty_logging ? "on" : "off");
    for (uint32_t blk = 0; blk < kNumBlocks; ++blk) {
        if (!im.dirty[blk]) continue;
        uint64_t n = 0;
        for (uint64_t w : *im.dirty[blk]) n += static_cast<uint64_t>(std::popcount(w));
        o += fmt::format("block {}: {} dirty pages logged\n", blk, n);
    }
    const DeviceStates& d = im.devices;
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
    describe_cpu(*im.cpu, [&](std::string_view n, std::string_view v) {
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
    const cpu::CpuState& s = *im.cpu;
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
