// Runs one x86-64 instruction natively on the host CPU: a machine-code prologue loads all GPRs
// but RSP and the status flags from a HostState, the epilogue stores them back.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace vx86::test {

// Layout fixed for the generated code: gpr[i] at 8*i, rflags at 0x80.
struct HostState {
    uint64_t gpr[16] = {};  // gpr[4] (RSP) is neither loaded nor stored
    uint64_t rflags = 0;
};
static_assert(sizeof(HostState) == 0x88);

class NativeRunner {
  public:
    NativeRunner();
    ~NativeRunner();
    NativeRunner(const NativeRunner&) = delete;
    NativeRunner& operator=(const NativeRunner&) = delete;

    bool ok() const { return m_buf != nullptr; }
    // Maps `size` bytes of read-write memory at the fixed host address `addr`, so that memory
    // operands can use the same addresses natively and in the guest. Returns nullptr if the host
    // cannot give that range.
    uint8_t* map_window(uint64_t addr, size_t size);
    // Executes `insn` (which must not touch RSP, control flow, or memory outside the window) with
    // `st` as input and output. The instruction must be one the host supports and cannot fault.
    void run(std::span<const uint8_t> insn, HostState& st);

  private:
    size_t emit(std::span<const uint8_t> insn);
    uint8_t* m_buf = nullptr;
    size_t m_size = 0;
    bool m_rwx = false;
    uint8_t* m_window = nullptr;
    size_t m_window_size = 0;
};

}  // namespace vx86::test
