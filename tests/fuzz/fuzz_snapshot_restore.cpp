// libFuzzer target: a snapshot file is untrusted input, and restore_machine decodes every record
// (configuration, memory layout, RAM chunks, devices, the vCPU and its invariants). The first
// byte picks the mode: raw bytes, or byte edits applied to the payloads of a valid snapshot of a
// running board and re-sealed with correct CRCs, so the record decoders (not only the CRC check)
// see the damage. A refused restore must leave the board exactly as it was; an accepted one must
// save to a snapshot that restores again.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "fuzz/edit_records.h"
#include "machine/board.h"
#include "state/container.h"
#include "state/snapshot.h"

namespace {

using namespace vx86;

struct Fixture {
    std::unique_ptr<machine::Board> board;
    std::vector<uint8_t> valid;
};

// A board running a tiny firmware (real mode: mov ax, 0x1234; sti; nop; jmp $-2) with SVM.
Fixture& fixture() {
    static Fixture* f = [] {
        auto* fx = new Fixture;
        std::vector<uint8_t> img(0x20000, 0xf4);
        const uint8_t code[] = {0xb8, 0x34, 0x12, 0xfb, 0x90, 0xeb, 0xfd};
        std::copy(std::begin(code), std::end(code), img.begin() + 0x1e000);
        const uint8_t jmp[] = {0xea, 0x00, 0xe0, 0x00, 0xf0};
        std::copy(std::begin(jmp), std::end(jmp), img.begin() + 0x1fff0);
        const std::string path = "/tmp/vx86_fuzz_snapshot_" + std::to_string(::getpid()) + ".bin";
        FILE* out = std::fopen(path.c_str(), "wb");
        if (!out || std::fwrite(img.data(), 1, img.size(), out) != img.size()) std::abort();
        std::fclose(out);
        machine::BoardConfig c;
        c.ram_bytes = 2u << 20;
        c.cpu = "max";
        c.bios_path = path;
        auto b = machine::Board::create(c);
        std::remove(path.c_str());
        if (!b) std::abort();
        fx->board = std::move(*b);
        fx->board->run(3);
        fx->valid = state::save_machine(*fx->board);
        return fx;
    }();
    return *f;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1) return 0;
    Fixture& f = fixture();
    const std::vector<uint8_t> input =
        (data[0] & 1) ? fuzz::edit_records(f.valid, data + 1, size - 1) : std::vector<uint8_t>(data + 1, data + size);
    const auto before = state::save_machine(*f.board);
    if (!state::restore_machine(*f.board, input)) {
        if (state::save_machine(*f.board) != before) std::abort();  // a refused restore changed it
        return 0;
    }
    // Accepted: the machine runs a little and its own snapshot restores again.
    f.board->run(50);
    const auto again = state::save_machine(*f.board);
    if (!state::restore_machine(*f.board, again)) std::abort();
    if (!state::restore_machine(*f.board, f.valid)) std::abort();
    return 0;
}
