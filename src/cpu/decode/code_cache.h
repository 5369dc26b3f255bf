// Decoded-code cache: straight-line blocks of Insn keyed by the guest-physical address of their
// first byte and the code size they were decoded for; each block is validated against its page's
// write generation, so writes to code (self-modifying code, DMA) invalidate it.
#pragma once

#include <cstdint>
#include <memory>

#include "cpu/decode/insn.h"

namespace vx86::cpu {

struct Block {
    static constexpr unsigned kMaxInsns = 32;
    uint64_t gpa = ~uint64_t{0};
    const uint32_t* gen_ptr = nullptr;  // the page's write generation in mem::MemSlot
    uint32_t gen = 0;
    uint8_t code_size = 0;
    uint8_t n = 0;
    Insn insns[kMaxInsns];
};

class CodeCache {
public:
    static constexpr unsigned kBlocks = 8192;  // power of two

    CodeCache() : m_blocks(std::make_unique<Block[]>(kBlocks)) {}

    Block* lookup(uint64_t gpa, uint8_t code_size) {
        Block& b = m_blocks[index(gpa)];
        if (b.gpa == gpa && b.code_size == code_size && *b.gen_ptr == b.gen) [[likely]]
            return &b;
        return nullptr;
    }

    // The slot a new block for `gpa` goes into (evicting whatever was there).
    Block& slot(uint64_t gpa) {
        Block& b = m_blocks[index(gpa)];
        b.gpa = ~uint64_t{0};
        b.n = 0;
        return b;
    }

    void flush() {
        for (unsigned i = 0; i < kBlocks; ++i) m_blocks[i].gpa = ~uint64_t{0};
    }

private:
    static unsigned index(uint64_t gpa) {
        return static_cast<unsigned>((gpa ^ (gpa >> 13)) & (kBlocks - 1));
    }
    std::unique_ptr<Block[]> m_blocks;
};

}  // namespace vx86::cpu
