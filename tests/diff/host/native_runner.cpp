// The host side of the oracle: generated prologue/epilogue around the instruction under test,
// in an mmap'd buffer that is RWX where the host allows it, RW-then-RX otherwise.
#include "diff/host/native_runner.h"

#include <sys/mman.h>

#include <cstring>

namespace vx86::test {

namespace {

constexpr size_t kBufSize = 4096;
constexpr unsigned kRsp = 4, kRdi = 7;

struct Emitter {
    uint8_t* p;
    size_t n = 0;
    void b(uint8_t v) { p[n++] = v; }
    void d32(uint32_t v) {
        std::memcpy(p + n, &v, 4);
        n += 4;
    }
    // mov r64, [rdi + disp32] (load) or mov [rdi + disp32], r64 (store).
    void mov_rdi(bool store, unsigned reg, uint32_t disp) {
        b(static_cast<uint8_t>(0x48 | (reg >= 8 ? 4 : 0)));
        b(store ? 0x89 : 0x8b);
        b(static_cast<uint8_t>(0x80 | (reg & 7) << 3 | kRdi));
        d32(disp);
    }
};

}  // namespace

NativeRunner::NativeRunner() {
    void* p = mmap(nullptr, kBufSize, PROT_READ | PROT_WRITE | PROT_EXEC,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    m_rwx = p != MAP_FAILED;
    if (!m_rwx)
        p = mmap(nullptr, kBufSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return;
    m_buf = static_cast<uint8_t*>(p);
    m_size = kBufSize;
}

NativeRunner::~NativeRunner() {
    if (m_buf) munmap(m_buf, m_size);
    if (m_window) munmap(m_window, m_window_size);
}

uint8_t* NativeRunner::map_window(uint64_t addr, size_t size) {
    if (m_window) return nullptr;
    void* p = mmap(reinterpret_cast<void*>(addr), size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (p == MAP_FAILED) return nullptr;
    if (p != reinterpret_cast<void*>(addr)) {  // a kernel without MAP_FIXED_NOREPLACE
        munmap(p, size);
        return nullptr;
    }
    m_window = static_cast<uint8_t*>(p);
    m_window_size = size;
    return m_window;
}

size_t NativeRunner::emit(std::span<const uint8_t> insn) {
    Emitter e{m_buf};
    // Save the callee-saved registers of the SysV ABI, then the HostState pointer.
    e.b(0x53);  // push rbx
    e.b(0x55);  // push rbp
    for (uint8_t r : {0x54, 0x55, 0x56, 0x57}) {
        e.b(0x41);
        e.b(r);  // push r12..r15
    }
    e.b(0x57);  // push rdi
    e.b(0xff);  // push qword [rdi + 0x80]
    e.b(0xb7);
    e.d32(0x80);
    e.b(0x9d);  // popfq
    for (unsigned r = 0; r < 16; ++r)
        if (r != kRsp && r != kRdi) e.mov_rdi(false, r, r * 8);
    e.mov_rdi(false, kRdi, kRdi * 8);  // rdi last: it held the pointer
    std::memcpy(e.p + e.n, insn.data(), insn.size());
    e.n += insn.size();
    // xchg rdi, [rsp]: the pointer back in rdi, the guest's rdi on the stack. Neither this nor
    // the stores below change flags.
    for (uint8_t v : {0x48, 0x87, 0x3c, 0x24}) e.b(v);
    for (unsigned r = 0; r < 16; ++r)
        if (r != kRsp && r != kRdi) e.mov_rdi(true, r, r * 8);
    e.b(0x9c);  // pushfq
    e.b(0x8f);  // pop qword [rdi + 0x80]
    e.b(0x87);
    e.d32(0x80);
    e.b(0x8f);  // pop qword [rdi + 0x38]
    e.b(0x47);
    e.b(0x38);
    for (uint8_t r : {0x5f, 0x5e, 0x5d, 0x5c}) {
        e.b(0x41);
        e.b(r);  // pop r15..r12
    }
    e.b(0x5d);  // pop rbp
    e.b(0x5b);  // pop rbx
    e.b(0xc3);  // ret
    return e.n;
}

void NativeRunner::run(std::span<const uint8_t> insn, HostState& st) {
    if (!m_rwx) mprotect(m_buf, m_size, PROT_READ | PROT_WRITE);
    emit(insn);
    if (!m_rwx) mprotect(m_buf, m_size, PROT_READ | PROT_EXEC);
    __builtin___clear_cache(reinterpret_cast<char*>(m_buf),
                            reinterpret_cast<char*>(m_buf + m_size));
    auto fn = reinterpret_cast<void (*)(HostState*)>(m_buf);
    fn(&st);
}

}  // namespace vx86::test
