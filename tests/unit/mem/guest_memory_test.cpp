// GuestMemory: slot bookkeeping errors as values, lookup in both address spaces, MMIO fallback,
// dirty logging and code-page write generations.
#include "mem/guest_memory.h"

#include <gtest/gtest.h>

#include <array>

namespace vx86::mem {
namespace {

class Recorder : public bus::MmioDevice {
public:
    void mmio_read(uint64_t offset, std::span<uint8_t> data) override {
        last_read = offset;
        for (auto& b : data) b = 0x5a;
    }
    void mmio_write(uint64_t offset, std::span<const uint8_t> data) override {
        last_write = offset;
        written = data[0];
    }
    uint64_t last_read = ~0ull, last_write = ~0ull;
    uint8_t written = 0;
};

TEST(GuestMemory, RejectsMisalignedOverlappingAndBadSlots) {
    GuestMemory m;
    EXPECT_EQ(m.set_slot({0, 0, 0x1000, 0x1800, nullptr, 0}).code(), ErrorCode::Misaligned);
    EXPECT_EQ(m.set_slot({0, 0, 0x1800, 0x1000, nullptr, 0}).code(), ErrorCode::Misaligned);
    EXPECT_EQ(m.set_slot({0, 2, 0, 0x1000, nullptr, 0}).code(), ErrorCode::InvalidArgument);
    EXPECT_EQ(m.set_slot({0, 0, 0, 0x1000, nullptr, 0x80}).code(), ErrorCode::InvalidArgument);
    ASSERT_TRUE(m.set_slot({1, 0, 0x10000, 0x10000, nullptr, 0}));
    const Status s = m.set_slot({2, 0, 0x1f000, 0x2000, nullptr, 0});
    EXPECT_EQ(s.code(), ErrorCode::Overlap);
    EXPECT_NE(s.message().find("overlaps slot 1"), std::string::npos) << s.message();
    // The same range in the other address space is fine.
    EXPECT_TRUE(m.set_slot({2, 1, 0x1f000, 0x2000, nullptr, 0}));
    EXPECT_EQ(m.delete_slot(99).code(), ErrorCode::NotFound);
}

TEST(GuestMemory, LookupRemembersLastHitAndFindsEverySlot) {
    GuestMemory m;
    for (uint32_t i = 0; i < 8; ++i) ASSERT_TRUE(m.set_slot({i, 0, i * 0x100000ull, 0x10000, nullptr, 0}));
    for (uint32_t i = 0; i < 8; ++i) {
        MemSlot* s = m.find(0, i * 0x100000ull + 0x1234);
        ASSERT_NE(s, nullptr);
        EXPECT_EQ(s->id, i);
        EXPECT_EQ(m.find(0, i * 0x100000ull + 0x1234), s);
    }
    EXPECT_EQ(m.find(0, 0x10000), nullptr);  // the gap after slot 0
    EXPECT_EQ(m.find(0, 0x7fffffff), nullptr);
}

TEST(GuestMemory, SmmAddressSpaceOverlaysNormalOne) {
    GuestMemory m;
    ASSERT_TRUE(m.set_slot({0, 0, 0, 0x100000, nullptr, 0}));
    ASSERT_TRUE(m.set_slot({1, 1, 0xa0000, 0x20000, nullptr, 0}));  // SMRAM
    const uint8_t smram = 0xab, normal = 0xcd;
    ASSERT_TRUE(m.write(1, 0xa0000, {&smram, 1}));
    ASSERT_TRUE(m.write(0, 0xa0000, {&normal, 1}));
    uint8_t v = 0;
    m.read(1, 0xa0000, {&v, 1});
    EXPECT_EQ(v, 0xab);
    m.read(0, 0xa0000, {&v, 1});
    EXPECT_EQ(v, 0xcd);
    // Outside SMRAM address space 1 sees address space 0.
    m.write(0, 0x5000, {&normal, 1});
    m.read(1, 0x5000, {&v, 1});
    EXPECT_EQ(v, 0xcd);
}

TEST(GuestMemory, UnbackedAccessesGoToMmioAndReadonlyWritesToo) {
    bus::MmioBus mmio;
    Recorder dev;
    ASSERT_TRUE(mmio.insert(0xfee00000, 0x1000, &dev));
    GuestMemory m(&mmio);
    std::array<uint8_t, 4096> rom{};
    rom[0] = 0x11;
    ASSERT_TRUE(m.set_slot({0, 0, 0xf0000, 0x1000, rom.data(), SlotFlag::READONLY}));
    uint32_t v = 0;
    EXPECT_TRUE(m.read(0, 0xfee00020, {reinterpret_cast<uint8_t*>(&v), 4}));
    EXPECT_EQ(dev.last_read, 0x20u);
    EXPECT_EQ(v, 0x5a5a5a5au);
    uint8_t b = 0x77;
    EXPECT_TRUE(m.write(0, 0xfee00010, {&b, 1}));
    EXPECT_EQ(dev.written, 0x77);
    // ROM keeps its contents; the write finds no device and is reported as unhandled.
    EXPECT_FALSE(m.write(0, 0xf0000, {&b, 1}));
    EXPECT_EQ(rom[0], 0x11);
    EXPECT_EQ(m.host_ptr(0, 0xf0000, 1, true), nullptr);
    EXPECT_NE(m.host_ptr(0, 0xf0000, 1, false), nullptr);
    // Open bus reads all ones.
    EXPECT_FALSE(m.read(0, 0x40000000, {reinterpret_cast<uint8_t*>(&v), 4}));
    EXPECT_EQ(v, 0xffffffffu);
}

TEST(GuestMemory, DirtyLogIsGetAndClear) {
    GuestMemory m;
    ASSERT_TRUE(m.set_slot({3, 0, 0x100000, 0x100000, nullptr, SlotFlag::LOG_DIRTY}));
    ASSERT_TRUE(m.set_slot({4, 0, 0, 0x10000, nullptr, 0}));
    const uint8_t b = 1;
    m.write(0, 0x100000 + 5 * 4096 + 7, {&b, 1});
    m.write(0, 0x100000 + 70 * 4096, {&b, 1});
    auto d = m.get_and_clear_dirty(3);
    ASSERT_TRUE(d);
    EXPECT_EQ((*d)[0], uint64_t{1} << 5);
    EXPECT_EQ((*d)[1], uint64_t{1} << 6);
    auto again = m.get_and_clear_dirty(3);
    ASSERT_TRUE(again);
    EXPECT_EQ((*again)[0], 0u);
    EXPECT_EQ(m.get_and_clear_dirty(4).status().code(), ErrorCode::State);
    EXPECT_EQ(m.get_and_clear_dirty(9).status().code(), ErrorCode::NotFound);
}

TEST(GuestMemory, WritingACodePageBumpsItsGeneration) {
    GuestMemory m;
    ASSERT_TRUE(m.set_slot({0, 0, 0, 0x10000, nullptr, 0}));
    MemSlot* s = m.find(0, 0x2000);
    s->page_code_mask[2] = uint64_t{1} << 63;  // code in bytes 0xfc0..0xfff of the page
    const uint32_t gen = s->page_gen[2];
    const uint64_t epoch = m.code_epoch();
    const uint8_t b = 0x90;
    m.write(0, 0x1000, {&b, 1});  // another page: no change
    EXPECT_EQ(s->page_gen[2], gen);
    const uint8_t data[2] = {1, 2};
    m.write(0, 0x2fbe, {data, 2});  // data just below the code: the code stays valid
    EXPECT_EQ(s->page_gen[2], gen);
    EXPECT_EQ(m.code_epoch(), epoch);
    m.write(0, 0x2fbf, {data, 2});  // one byte of it reaches the code
    EXPECT_EQ(s->page_gen[2], gen + 1);
    EXPECT_EQ(s->page_code_mask[2], 0u);
    EXPECT_GT(m.code_epoch(), epoch);
}

TEST(GuestMemory, CodeChunksCoverEveryByteOfARange) {
    EXPECT_EQ(GuestMemory::code_chunks(0, 1), 1u);
    EXPECT_EQ(GuestMemory::code_chunks(0x3f, 2), 3u);
    EXPECT_EQ(GuestMemory::code_chunks(0x1040, 64), 2u);  // only the in-page offset counts
    EXPECT_EQ(GuestMemory::code_chunks(0xfff, 1), uint64_t{1} << 63);
    EXPECT_EQ(GuestMemory::code_chunks(0, 0x1000), ~uint64_t{0});
    EXPECT_EQ(GuestMemory::code_chunks(0xf00, 0x1000), ~uint64_t{0} << 60);  // clamped to the page
}

}  // namespace
}  // namespace vx86::mem
