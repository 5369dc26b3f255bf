// The board's SMM chipset wiring: SMRAM at 0xA0000/0xFEDA0000 and TSEG in the two address spaces
// as the MCH registers say, contents surviving open/close, reset, dirty logging across
// re-slicing, smm=off, and a firmware run that raises an APM SMI end to end.
#include "machine/board.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

namespace vx86::machine {
namespace {

using mem::SlotFlag::LOG_DIRTY;

// A 128 KiB -bios image: a far jump at the reset vector to `code` at F000:E000.
std::string write_firmware(const std::string& name, const std::vector<uint8_t>& code) {
    std::vector<uint8_t> img(0x20000, 0xf4);  // HLT everywhere else
    std::copy(code.begin(), code.end(), img.begin() + 0x1e000);
    const uint8_t jmp[] = {0xea, 0x00, 0xe0, 0x00, 0xf0};  // jmp 0xf000:0xe000
    std::copy(std::begin(jmp), std::end(jmp), img.begin() + 0x1fff0);
    // One file per test and process: ctest runs the cases of this binary in parallel.
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    const std::string path = ::testing::TempDir() + "/vx86_board_smm_" + name + "_" +
                             (info ? std::string(info->test_suite_name()) + "." + info->name() : "") +
                             "_" + std::to_string(::getpid()) + ".bin";
    std::ofstream(path, std::ios::binary)
        .write(reinterpret_cast<const char*>(img.data()), static_cast<std::streamsize>(img.size()));
    return path;
}

std::unique_ptr<Board> make_board(bool smm = true, const std::vector<uint8_t>& code = {0xf4}) {
    BoardConfig c;
    c.smm = smm;
    c.bios_path = write_firmware(smm ? "on" : "off", code);
    auto b = Board::create(c);
    std::remove(c.bios_path.c_str());  // the board keeps its own copy of the image
    EXPECT_TRUE(b) << b.message();
    return b ? std::move(*b) : nullptr;
}

struct BoardSmm : ::testing::Test {
    std::unique_ptr<Board> board = make_board();

    void cfg_write(unsigned dev, uint8_t reg, unsigned size, uint32_t v) {
        out(0xcf8, 4, 0x80000000u | dev << 11 | (reg & 0xfcu));
        out(static_cast<uint16_t>(0xcfc + (reg & 3)), size, v);
    }
    uint32_t cfg_read(unsigned dev, uint8_t reg, unsigned size) {
        out(0xcf8, 4, 0x80000000u | dev << 11 | (reg & 0xfcu));
        return in(static_cast<uint16_t>(0xcfc + (reg & 3)), size);
    }
    void smram(uint8_t v) { cfg_write(0, 0x9d, 1, v); }
    void esmramc(uint8_t v) { cfg_write(0, 0x9e, 1, v); }

    void out(uint16_t port, unsigned size, uint32_t v) {
        std::array<uint8_t, 4> b{static_cast<uint8_t>(v), static_cast<uint8_t>(v >> 8),
                                 static_cast<uint8_t>(v >> 16), static_cast<uint8_t>(v >> 24)};
        board->pio().write(port, {b.data(), size});
    }
    uint32_t in(uint16_t port, unsigned size) {
        std::array<uint8_t, 4> b{};
        board->pio().read(port, {b.data(), size});
        return uint32_t{b[0]} | uint32_t{b[1]} << 8 | uint32_t{b[2]} << 16 | uint32_t{b[3]} << 24;
    }
    uint32_t read32(unsigned as, uint64_t gpa) {
        std::array<uint8_t, 4> b{};
        board->memory().read(as, gpa, b);
        return uint32_t{b[0]} | uint32_t{b[1]} << 8 | uint32_t{b[2]} << 16 | uint32_t{b[3]} << 24;
    }
    void write32(unsigned as, uint64_t gpa, uint32_t v) {
        std::array<uint8_t, 4> b{static_cast<uint8_t>(v), static_cast<uint8_t>(v >> 8),
                                 static_cast<uint8_t>(v >> 16), static_cast<uint8_t>(v >> 24)};
        board->memory().write(as, gpa, b);
    }
};

TEST_F(BoardSmm, ChipsetAnswersOnTheBus) {
    EXPECT_EQ(cfg_read(0, 0x00, 4), 0x29c08086u);
    EXPECT_EQ(cfg_read(31, 0x00, 4), 0x29188086u);
    EXPECT_EQ(cfg_read(1, 0x00, 4), 0xffffffffu);
    EXPECT_EQ(cfg_read(0, 0x9c, 4), 0x00380200u);
    EXPECT_EQ(cfg_read(0, 0x50, 2), 16u);
    EXPECT_EQ(cfg_read(31, 0x40, 4), 1u);
    EXPECT_TRUE(board->pio().claims(0xb2));
    EXPECT_TRUE(board->pio().claims(0xb3));
}

TEST_F(BoardSmm, PowerOnHasNoSmramViews) {
    write32(1, 0xa0000, 0x11223344);  // SMM falls back to the normal view: open bus
    EXPECT_EQ(read32(1, 0xa0000), 0xffffffffu);
    EXPECT_EQ(read32(0, 0xa0000), 0xffffffffu);
    EXPECT_EQ(board->memory().slot_by_id(Board::kSmramLow), nullptr);
    EXPECT_EQ(board->memory().slot_by_id(Board::kTseg), nullptr);
}

TEST_F(BoardSmm, ClosedSmramIsInvisibleFromAddressSpace0) {
    smram(0x0a);  // G_SMRAME, closed
    write32(1, 0xa0000, 0xdeadbeef);
    write32(1, 0xbfffc, 0x0badf00d);
    EXPECT_EQ(read32(1, 0xa0000), 0xdeadbeefu);
    EXPECT_EQ(read32(0, 0xa0000), 0xffffffffu);
    write32(0, 0xa0000, 0x12345678);  // dropped
    EXPECT_EQ(read32(1, 0xa0000), 0xdeadbeefu);

    smram(0x4a);  // D_OPEN
    EXPECT_EQ(read32(0, 0xa0000), 0xdeadbeefu);
    EXPECT_EQ(read32(0, 0xbfffc), 0x0badf00du);
    write32(0, 0xa0004, 0xcafebabe);
    EXPECT_EQ(read32(1, 0xa0004), 0xcafebabeu);

    smram(0x0a);  // closed again: contents survive
    EXPECT_EQ(read32(0, 0xa0004), 0xffffffffu);
    EXPECT_EQ(read32(1, 0xa0004), 0xcafebabeu);
    smram(0x4a);
    EXPECT_EQ(read32(0, 0xa0004), 0xcafebabeu);
    EXPECT_EQ(board->low_ram()[0xa0004], 0xbe);
}

TEST_F(BoardSmm, OpenWithoutGlobalEnableShowsRamToEveryone) {
    smram(0x4a);
    write32(0, 0xa0000, 0x5ec00001);
    smram(0x42);  // D_OPEN only: QEMU 7.2 shows the RAM to non-SMM, SMM sees the same
    EXPECT_EQ(read32(0, 0xa0000), 0x5ec00001u);
    EXPECT_EQ(read32(1, 0xa0000), 0x5ec00001u);
    smram(0x02);
    EXPECT_EQ(read32(1, 0xa0000), 0xffffffffu);
}

TEST_F(BoardSmm, HighSmramAtFeda0000) {
    smram(0x4a);
    write32(0, 0xa0000, 0x600dcafe);
    esmramc(0x80);  // H_SMRAME with D_OPEN: non-SMM sees it high only
    EXPECT_EQ(read32(0, 0xa0000), 0xffffffffu);
    EXPECT_EQ(read32(0, 0xfeda0000), 0x600dcafeu);
    smram(0x0a);  // closed: only SMM sees it, and only high
    EXPECT_EQ(read32(0, 0xfeda0000), 0xffffffffu);
    EXPECT_EQ(read32(1, 0xfeda0000), 0x600dcafeu);
    EXPECT_EQ(read32(1, 0xa0000), 0xffffffffu);
    write32(1, 0xfeda0008, 0x77);
    esmramc(0x00);
    EXPECT_EQ(read32(1, 0xa0008), 0x77u);
}

TEST_F(BoardSmm, TsegReadsAllOnesFromAddressSpace0) {
    constexpr uint64_t top = 128ull << 20;
    write32(0, top - 4, 0x1111);
    write32(0, top - (1 << 20), 0x2222);
    write32(0, top - (1 << 20) - 4, 0x3333);
    smram(0x0a);
    esmramc(0x01);  // T_EN, 1 MiB
    EXPECT_EQ(read32(0, top - 4), 0xffffffffu);
    EXPECT_EQ(read32(0, top - (1 << 20)), 0xffffffffu);
    EXPECT_EQ(read32(0, top - (1 << 20) - 4), 0x3333u);
    write32(0, top - 4, 0x9999);  // dropped
    EXPECT_EQ(read32(1, top - 4), 0x1111u);
    write32(1, top - 8, 0x4444);
    EXPECT_EQ(read32(1, top - 8), 0x4444u);
    esmramc(0x00);  // T_EN off: the same RAM is back in the normal view
    EXPECT_EQ(read32(0, top - 4), 0x1111u);
    EXPECT_EQ(read32(0, top - 8), 0x4444u);
}

TEST_F(BoardSmm, TsegNeedsGlobalEnable) {
    constexpr uint64_t top = 128ull << 20;
    write32(0, top - 4, 0x1111);
    esmramc(0x01);
    EXPECT_EQ(read32(0, top - 4), 0x1111u);
}

TEST_F(BoardSmm, TsegSizes) {
    constexpr uint64_t top = 128ull << 20;
    smram(0x0a);
    const struct {
        uint8_t esmramc;
        uint64_t size;
    } cases[] = {{0x01, 1ull << 20}, {0x03, 2ull << 20}, {0x05, 8ull << 20}, {0x07, 16ull << 20}};
    for (const auto& c : cases) {
        esmramc(c.esmramc);
        EXPECT_EQ(read32(0, top - c.size), 0xffffffffu) << std::hex << int{c.esmramc};
        EXPECT_EQ(read32(0, top - c.size - 4), 0u) << std::hex << int{c.esmramc};
        const mem::MemSlot* t = board->memory().slot_by_id(Board::kTseg);
        ASSERT_NE(t, nullptr);
        EXPECT_EQ(t->gpa, top - c.size);
        EXPECT_EQ(t->as_id, 1);
    }
}

TEST(BoardSmmSmallRam, TsegStopsAtOneMegabyte) {
    BoardConfig c;
    c.ram_bytes = 4ull << 20;
    c.bios_path = write_firmware("small", {0xf4});
    auto b = Board::create(c);
    std::remove(c.bios_path.c_str());
    ASSERT_TRUE(b) << b.message();
    Board& board = **b;
    board.mch().config_write(0x9d, std::array<uint8_t, 2>{0x0a, 0x05});  // 8 MiB TSEG
    const mem::MemSlot* t = board.memory().slot_by_id(Board::kTseg);
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(t->gpa, 1ull << 20);
    EXPECT_EQ(t->size, 3ull << 20);
    EXPECT_EQ(board.memory().slot_by_id(Board::kRamMain), nullptr);
    EXPECT_NE(board.memory().slot_by_id(Board::kRamTop), nullptr);
}

TEST_F(BoardSmm, ResetRestoresRegistersAndViewsButKeepsRam) {
    smram(0x0a);
    esmramc(0x81);
    write32(1, 0xfeda0000, 0xabcdef01);
    cfg_write(0, 0x9d, 1, 0x1a);  // lock
    cfg_write(31, 0x40, 4, 0x600);
    cfg_write(31, 0x44, 1, 0x80);
    out(0xb3, 1, 0x42);
    board->reset();
    EXPECT_EQ(cfg_read(0, 0x9c, 4), 0x00380200u);
    EXPECT_EQ(cfg_read(31, 0x40, 4), 0x00000001u);
    EXPECT_EQ(cfg_read(31, 0x44, 1), 0x00u);
    EXPECT_EQ(in(0xb3, 1), 0x00u);
    EXPECT_FALSE(board->pio().claims(0x630));
    EXPECT_EQ(board->memory().slot_by_id(Board::kSmramHigh), nullptr);
    EXPECT_EQ(board->memory().slot_by_id(Board::kTseg), nullptr);
    EXPECT_EQ(read32(0, (128ull << 20) - 4), 0u);
    smram(0x4a);  // unlocked again, and the RAM kept its contents
    EXPECT_EQ(read32(0, 0xa0000), 0xabcdef01u);
}

TEST_F(BoardSmm, DirtyLoggingSurvivesReslicing) {
    for (const mem::MemSlotDesc& d : board->memory().slots()) {
        if (d.flags & mem::SlotFlag::READONLY) continue;
        mem::MemSlotDesc on = d;
        on.flags |= LOG_DIRTY;
        ASSERT_TRUE(board->memory().set_slot(on));
    }
    constexpr uint64_t top = 128ull << 20;
    write32(0, top - 0x1000, 1);          // last page of low RAM, about to become TSEG
    write32(0, 0x200000, 2);              // stays in kRamMain, which is about to shrink
    smram(0x0a);
    esmramc(0x01);
    const mem::MemSlot* main = board->memory().slot_by_id(Board::kRamMain);
    const mem::MemSlot* tseg = board->memory().slot_by_id(Board::kTseg);
    ASSERT_NE(main, nullptr);
    ASSERT_NE(tseg, nullptr);
    EXPECT_TRUE(main->flags & LOG_DIRTY);
    EXPECT_TRUE(tseg->flags & LOG_DIRTY);
    EXPECT_TRUE(board->memory().slot_by_id(Board::kSmramLow)->flags & LOG_DIRTY);

    auto main_bits = board->memory().get_and_clear_dirty(Board::kRamMain);
    ASSERT_TRUE(main_bits);
    const uint64_t p = (0x200000 - (1 << 20)) >> 12;
    EXPECT_TRUE((*main_bits)[p / 64] >> (p % 64) & 1);
    auto tseg_bits = board->memory().get_and_clear_dirty(Board::kTseg);
    ASSERT_TRUE(tseg_bits);
    const uint64_t last = ((1 << 20) >> 12) - 1;
    EXPECT_TRUE((*tseg_bits)[last / 64] >> (last % 64) & 1);
    EXPECT_EQ((*tseg_bits)[0], 0u);

    // SMRAM written while only SMM maps it, then closed off completely: the page is still
    // reported once a view maps it again.
    write32(1, 0xa0000, 3);
    smram(0x02);
    smram(0x42);
    auto open_bits = board->memory().get_and_clear_dirty(Board::kSmramOpenLow);
    ASSERT_TRUE(open_bits);
    EXPECT_EQ((*open_bits)[0], 1u);
}

TEST_F(BoardSmm, UnchangedSlotsAreLeftAlone) {
    const mem::MemSlot* low = board->memory().slot_by_id(Board::kRamLow);
    const uint64_t epoch = board->memory().map_epoch();
    cfg_write(0, 0x50, 2, 0xffff);  // no view change
    smram(0x2a);                    // G_SMRAME | D_CLS
    EXPECT_EQ(board->memory().slot_by_id(Board::kRamLow), low);
    EXPECT_GT(board->memory().map_epoch(), epoch);  // kSmramLow appeared
    const uint64_t epoch2 = board->memory().map_epoch();
    smram(0x0a);  // D_CLS off: same view
    EXPECT_EQ(board->memory().map_epoch(), epoch2);
}

TEST(BoardSmmOff, ChipsetStaysAndSmiEnPresetsApmcEn) {
    auto board = make_board(false);
    ASSERT_TRUE(board);
    EXPECT_EQ(board->lpc().state().smi_en, devices::SmiEn::APMC_EN);
    board->mch().config_write(0x9d, std::array<uint8_t, 1>{0x4a});
    EXPECT_EQ(board->mch().state().smram, 0x4a);
    EXPECT_NE(board->memory().slot_by_id(Board::kSmramOpenLow), nullptr);
}

// Firmware that points PMBASE at 0x600, enables ACPI decode, sets G_SMRAME, writes `smi_en` to
// SMI_EN and does OUT 0xB2, 0 followed by HLT. The test puts the SMI handler at 0x38000.
std::vector<uint8_t> apm_firmware(uint8_t smi_en) {
    return {
        0x66, 0xb8, 0x40, 0xf8, 0x00, 0x80,  // mov eax, 0x8000f840 (LPC PMBASE)
        0xba, 0xf8, 0x0c,                    // mov dx, 0xcf8
        0x66, 0xef,                          // out dx, eax
        0x66, 0xb8, 0x00, 0x06, 0x00, 0x00,  // mov eax, 0x600
        0xba, 0xfc, 0x0c,                    // mov dx, 0xcfc
        0x66, 0xef,                          // out dx, eax
        0x66, 0xb8, 0x44, 0xf8, 0x00, 0x80,  // mov eax, 0x8000f844 (ACPI_CNTL)
        0xba, 0xf8, 0x0c,                    // mov dx, 0xcf8
        0x66, 0xef,                          // out dx, eax
        0xb0, 0x80,                          // mov al, 0x80 (ACPI_EN)
        0xba, 0xfc, 0x0c,                    // mov dx, 0xcfc
        0xee,                                // out dx, al
        0x66, 0xb8, 0x9c, 0x00, 0x00, 0x80,  // mov eax, 0x8000009c (MCH 0x9c..0x9f)
        0xba, 0xf8, 0x0c,                    // mov dx, 0xcf8
        0x66, 0xef,                          // out dx, eax
        0xb0, 0x0a,                          // mov al, 0x0a (G_SMRAME)
        0xba, 0xfd, 0x0c,                    // mov dx, 0xcfd (SMRAM)
        0xee,                                // out dx, al
        0x66, 0xb8, smi_en, 0x00, 0x00, 0x00,  // mov eax, smi_en
        0xba, 0x30, 0x06,                    // mov dx, 0x630 (SMI_EN)
        0x66, 0xef,                          // out dx, eax
        0xb0, 0x00,                          // mov al, 0
        0xe6, 0xb2,                          // out 0xb2, al
        0xf4,                                // hlt
    };
}

// SMI handler at 0x38000 (SMBASE 0x30000 + 0x8000): mark 0x500, write SMRAM, RSM.
constexpr std::array<uint8_t, 15> kHandler = {
    0xc6, 0x06, 0x00, 0x05, 0x5a,                    // mov byte [0x500], 0x5a
    0x67, 0xc6, 0x05, 0x00, 0x00, 0x0a, 0x00, 0xa5,  // mov byte [dword 0xa0000], 0xa5
    0x0f, 0xaa,                                      // rsm
};

TEST(BoardSmmRun, ApmWriteEntersSmmAndSmramTakesTheWrite) {
    auto board = make_board(true, apm_firmware(0x21));
    ASSERT_TRUE(board);
    ASSERT_TRUE(board->memory().write(0, 0x38000, kHandler));
    const RunResult r = board->run(10000);
    EXPECT_EQ(r.outcome, Outcome::Halted);
    EXPECT_FALSE(board->vcpu().in_smm());
    EXPECT_EQ(board->low_ram()[0x500], 0x5a);
    EXPECT_EQ(board->low_ram()[0xa0000], 0xa5);  // through the SMM view
    uint8_t v = 0;
    board->memory().read(0, 0xa0000, {&v, 1});
    EXPECT_EQ(v, 0xff);  // closed to the normal view
    EXPECT_EQ(board->lpc().state().smi_sts, devices::SmiSts::APM_STS);
}

TEST(BoardSmmRun, ApmcEnWithoutGlobalEnableRaisesNoSmi) {
    auto board = make_board(true, apm_firmware(0x20));
    ASSERT_TRUE(board);
    ASSERT_TRUE(board->memory().write(0, 0x38000, kHandler));
    const RunResult r = board->run(10000);
    EXPECT_EQ(r.outcome, Outcome::Halted);
    EXPECT_EQ(board->low_ram()[0x500], 0x00);
    EXPECT_EQ(board->lpc().state().smi_sts, 0u);
}

// Closing SMRAM takes effect for the very next instruction, even one in the same translated block
// whose TLB already maps 0xA0000.
TEST(BoardSmmRun, ClosingSmramTakesEffectAtTheNextInstruction) {
    auto board = make_board(true, {
        0x66, 0xb8, 0x9c, 0x00, 0x00, 0x80,  // mov eax, 0x8000009c
        0xba, 0xf8, 0x0c,                    // mov dx, 0xcf8
        0x66, 0xef,                          // out dx, eax
        0xba, 0xfd, 0x0c,                    // mov dx, 0xcfd (SMRAM)
        0xb0, 0x4a,                          // mov al, 0x4a (open)
        0xee,                                // out dx, al
        0xbb, 0x00, 0xa0,                    // mov bx, 0xa000
        0x8e, 0xdb,                          // mov ds, bx
        0xc6, 0x06, 0x00, 0x00, 0x11,        // mov byte [0], 0x11
        0x8a, 0x0e, 0x00, 0x00,              // mov cl, [0]
        0xb0, 0x0a,                          // mov al, 0x0a (close)
        0xee,                                // out dx, al
        0x8a, 0x2e, 0x00, 0x00,              // mov ch, [0]
        0xc6, 0x06, 0x00, 0x00, 0x22,        // mov byte [0], 0x22
        0x31, 0xdb,                          // xor bx, bx
        0x8e, 0xdb,                          // mov ds, bx
        0x89, 0x0e, 0x00, 0x06,              // mov [0x600], cx
        0xf4,                                // hlt
    });
    ASSERT_TRUE(board);
    EXPECT_EQ(board->run(1000).outcome, Outcome::Halted);
    EXPECT_EQ(board->low_ram()[0x600], 0x11);
    EXPECT_EQ(board->low_ram()[0x601], 0xff);
    EXPECT_EQ(board->low_ram()[0xa0000], 0x11);
}

}  // namespace
}  // namespace vx86::machine
