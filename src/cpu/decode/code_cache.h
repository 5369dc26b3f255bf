// Decoded-code cache: straight-line blocks of Insn keyed by the guest-physical address of their
// first byte and the code size they were decoded for; each block is validated against its page's
// write generation, so writes to code (self-modifying code, DMA) invalidate it.
#pragma once

#include <cstdint>
#include <memory>

#include "cpu/decode/insn.h"

namespace vx86::cpu {

struct Block;

// A remembered successor: valid while RIP, CS base and limit, code size, CPL and the TLB epoch
// still match and the target still holds the same code, so the next block is reached without
// translating RIP or probing the cache (block chaining). A link is a memo, never a promise.
struct BlockLink {
    Block* to = nullptr;
    uint64_t gpa = ~uint64_t{0};  // what `to` held when linked
    uint64_t rip = 0, cs_base = 0, tlb_epoch = 0;
    uint32_t cs_limit = 0;
    uint8_t mode_key = 0;  // code size | CPL << 4
};

struct Block {
    static constexpr unsigned kMaxInsns = 32;
    uint64_t gpa = ~uint64_t{0};
    BlockLink link[2];  // fall-through and taken successors, filled as they are seen
    uint8_t next_link = 0;
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

    // The slot a new block for `gpa` goes into (evicting whatever was there; links to the
    // evicted block fail their gpa check).
    Block& slot(uint64_t gpa) {
        Block& b = m_blocks[index(gpa)];
        b.gpa = ~uint64_t{0};
        b.n = 0;
        b.link[0] = b.link[1] = BlockLink{};
        return b;
    }

    void flush() {
        for (unsigned i = 0; i < kBlocks; ++i) {
            m_blocks[i].gpa = ~uint64_t{0};
            m_blocks[i].link[0] = m_blocks[i].link[1] = BlockLink{};
        }
    }

private:
    static unsigned index(uint64_t gpa) {
        return static_cast<unsigned>((gpa ^ (gpa >> 13)) & (kBlocks - 1));
    }
    std::unique_ptr<Block[]> m_blocks;
};

}  // namespace vx86::cpu
