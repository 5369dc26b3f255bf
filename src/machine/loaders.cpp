// Firmware and multiboot loading. The kernel file is untrusted input: every header field is bounds
// checked against the file and against RAM before anything is copied.
#include "machine/loaders.h"

#include <cstdio>
#include <cstring>
#include <fstream>

#include "arch/control_regs.h"
#include "arch/descriptor.h"
#include "base/bits.h"

namespace vx86::machine {

using base::ErrorCode;
using base::Status;

base::Result<std::vector<uint8_t>> read_file(const std::string& path, uint64_t max_size) {
    std::ifstream f(path, std::ios::binary | std::ios::ate);
    if (!f) return {ErrorCode::NotFound, "cannot open '" + path + "'"};
    const std::streamoff size = f.tellg();
    if (size < 0) return {ErrorCode::Io, "cannot read '" + path + "'"};
    if (static_cast<uint64_t>(size) > max_size)
        return {ErrorCode::BadImage, "'" + path + "' is too large (" + std::to_string(size) +
                                         " bytes, at most " + std::to_string(max_size) + ")"};
    std::vector<uint8_t> data(static_cast<size_t>(size));
    f.seekg(0);
    if (!f.read(reinterpret_cast<char*>(data.data()), size))
        return {ErrorCode::Io, "cannot read '" + path + "'"};
    return data;
}

Status check_firmware(const std::vector<uint8_t>& image, const std::string& path) {
    if (image.empty()) return {ErrorCode::BadImage, "firmware '" + path + "' is empty"};
    if (image.size() % 4096)
        return {ErrorCode::BadImage, "firmware '" + path + "' size " + std::to_string(image.size()) +
                                         " is not a multiple of 4 KiB"};
    if (image.size() > (16u << 20))
        return {ErrorCode::BadImage, "firmware '" + path + "' is larger than 16 MiB"};
    return Status::ok();
}

namespace {

constexpr uint32_t kMultibootMagic = 0x1badb002;
constexpr uint32_t kBootloaderMagic = 0x2badb002;

struct Elf32Header {
    uint8_t ident[16];
    uint16_t type, machine;
    uint32_t version, entry, phoff, shoff, flags;
    uint16_t ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
};
static_assert(sizeof(Elf32Header) == 52);

struct Elf32Phdr {
    uint32_t type, offset, vaddr, paddr, filesz, memsz, flags, align;
};
static_assert(sizeof(Elf32Phdr) == 32);

// Multiboot v1 information structure (spec section 3.3), the fields vx86 fills.
struct MultibootInfo {
    uint32_t flags, mem_lower, mem_upper, boot_device, cmdline, mods_count, mods_addr;
    uint32_t syms[4];
    uint32_t mmap_length, mmap_addr;
};
static_assert(sizeof(MultibootInfo) == 52);

#pragma pack(push, 1)
struct MmapEntry {
    uint32_t size;
    uint64_t addr, len;
    uint32_t type;
};
#pragma pack(pop)
static_assert(sizeof(MmapEntry) == 24);

bool ram_write(mem::GuestMemory& m, uint64_t gpa, const void* p, size_t n) {
    uint8_t* h = m.host_ptr(0, gpa, n, true);
    if (!h) return false;
    std::memcpy(h, p, n);
    return true;
}

}  // namespace

Status load_multiboot(const std::vector<uint8_t>& elf, const std::string& cmdline,
                      mem::GuestMemory& memory, uint64_t low_ram, uint64_t high_ram,
                      cpu::CpuState& cpu) {
    // The multiboot header must be 4-byte aligned within the first 8 KiB (spec 3.1.1).
    bool found = false;
    const size_t scan = std::min<size_t>(elf.size(), 8192);
    for (size_t off = 0; off + 12 <= scan; off += 4) {
        uint32_t magic, flags, checksum;
        std::memcpy(&magic, &elf[off], 4);
        std::memcpy(&flags, &elf[off + 4], 4);
        std::memcpy(&checksum, &elf[off + 8], 4);
        if (magic == kMultibootMagic && magic + flags + checksum == 0) {
            found = true;
            break;
        }
    }
    if (!found) return {ErrorCode::BadImage, "kernel has no multiboot v1 header in its first 8 KiB"};
    if (elf.size() < sizeof(Elf32Header)) return {ErrorCode::BadImage, "kernel is too small for ELF"};
    Elf32Header eh;
    std::memcpy(&eh, elf.data(), sizeof eh);
    if (std::memcmp(eh.ident, "\x7f" "ELF", 4) != 0 || eh.ident[4] != 1 || eh.ident[5] != 1)
        return {ErrorCode::BadImage, "kernel is not a little-endian ELF32 file"};
    if (eh.machine != 3) return {ErrorCode::BadImage, "kernel ELF machine is not i386"};
    if (eh.phentsize != sizeof(Elf32Phdr) || eh.phnum == 0)
        return {ErrorCode::BadImage, "kernel ELF has no usable program headers"};
    if (uint64_t{eh.phoff} + uint64_t{eh.phnum} * sizeof(Elf32Phdr) > elf.size())
        return {ErrorCode::BadImage, "kernel ELF program headers lie outside the file"};

    for (unsigned i = 0; i < eh.phnum; ++i) {
        Elf32Phdr ph;
        std::memcpy(&ph, &elf[eh.phoff + i * sizeof(Elf32Phdr)], sizeof ph);
        if (ph.type != 1 || ph.memsz == 0) continue;  // PT_LOAD only
        if (ph.filesz > ph.memsz || uint64_t{ph.offset} + ph.filesz > elf.size())
            return {ErrorCode::BadImage, "kernel ELF segment " + std::to_string(i) + " lies outside the file"};
        const uint64_t end = uint64_t{ph.paddr} + ph.memsz;
        if (end > low_ram)
            return {ErrorCode::BadImage, "kernel ELF segment " + std::to_string(i) +
                                             " does not fit in guest RAM (ends at " +
                                             std::to_string(end) + ")"};
        uint8_t* host = memory.host_ptr(0, ph.paddr, ph.memsz, true);
        if (!host)
            return {ErrorCode::BadImage, "kernel ELF segment " + std::to_string(i) + " is not in RAM"};
        std::memcpy(host, &elf[ph.offset], ph.filesz);
        std::memset(host + ph.filesz, 0, ph.memsz - ph.filesz);
    }

    const MultibootInfoPlacement at;
    MultibootInfo mbi{};
    mbi.flags = (1u << 0) | (1u << 6);  // mem_lower/upper, mmap
    mbi.mem_lower = 640;
    mbi.mem_upper = static_cast<uint32_t>((low_ram - 0x100000) / 1024);
    if (!cmdline.empty()) {
        if (cmdline.size() >= at.mmap - at.cmdline)
            return {ErrorCode::InvalidArgument, "kernel command line is longer than 1023 bytes"};
        ram_write(memory, at.cmdline, cmdline.c_str(), cmdline.size() + 1);
        mbi.flags |= 1u << 2;
        mbi.cmdline = at.cmdline;
    }
    MmapEntry mm[3] = {
        {20, 0, 0x9fc00, 1},
        {20, 0x100000, low_ram - 0x100000, 1},
        {20, 0x100000000ull, high_ram, 1},
    };
    const unsigned nmm = high_ram ? 3 : 2;
    ram_write(memory, at.mmap, mm, nmm * sizeof(MmapEntry));
    mbi.mmap_addr = at.mmap;
    mbi.mmap_length = nmm * sizeof(MmapEntry);
    ram_write(memory, at.info, &mbi, sizeof mbi);

    // Flat 4 GiB code (0x10) and data (0x18) segments, as QEMU's multiboot ROM provides.
    const uint64_t gdt[4] = {0, 0, 0x00cf9b000000ffffull, 0x00cf93000000ffffull};
    ram_write(memory, at.gdt, gdt, sizeof gdt);

    using namespace arch;
    cpu.reset();
    cpu.cr0 = Cr0::PE | Cr0::ET;
    cpu.gdtr = {at.gdt, sizeof gdt - 1};
    cpu.idtr = {0, 0x3ff};
    const auto flat = [](uint16_t sel, uint16_t attr) {
        return cpu::Segment{sel, static_cast<uint16_t>(attr | Attr::P | Attr::S | Attr::A | Attr::DB | Attr::G),
                            0xffffffff, 0};
    };
    cpu.seg[cpu::CS] = flat(0x10, Attr::CODE | Attr::W_R);
    for (unsigned r : {cpu::DS, cpu::ES, cpu::FS, cpu::GS, cpu::SS}) cpu.seg[r] = flat(0x18, Attr::W_R);
    cpu.tr = cpu::Segment{0, Attr::P | SysType::TSS_BUSY, 0xffff, 0};
    cpu.rflags = Rflags::FIXED1;
    cpu.gpr[cpu::RAX] = kBootloaderMagic;
    cpu.gpr[cpu::RBX] = at.info;
    cpu.rip() = eh.entry;
    cpu.update_mode();
    return Status::ok();
}

}  // namespace vx86::machine
