// libFuzzer target: the incoming migration stream is untrusted input. receive_migration reads it
// record by record, answers the source, stores RAM as it arrives and applies the rest only after
// the end record. The first byte picks the mode: raw bytes, or payload edits of a valid stream
// (bulk pass, a second pass, devices and vCPU) re-sealed with correct CRCs, so the record decoders
// see the damage. A refused stream must leave the board at its power-on state; an accepted one
// must leave a board whose own snapshot restores.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "fuzz/edit_records.h"
#include "machine/board.h"
#include "state/container.h"
#include "state/machine_image.h"
#include "state/migration_target.h"
#include "state/snapshot.h"

namespace {

using namespace vx86;

struct Fixture {
    std::unique_ptr<machine::Board> board;
    std::vector<uint8_t> power_on;  // the board's snapshot before any stream
    std::vector<uint8_t> valid;     // a stream taken of a running copy
};

std::unique_ptr<machine::Board> make_board(const std::string& path) {
    machine::BoardConfig c;
    c.ram_bytes = 2u << 20;
    c.cpu = "qemu64,+svm";
    c.bios_path = path;
    auto b = machine::Board::create(c);
    if (!b) std::abort();
    return std::move(*b);
}

Fixture& fixture() {
    static Fixture* f = [] {
        auto* fx = new Fixture;
        // Real mode: mov ax, 0x1234; sti; inc byte [0x600]; jmp back to the inc.
        std::vector<uint8_t> img(0x20000, 0xf4);
        const uint8_t code[] = {0xb8, 0x34, 0x12, 0xfb, 0xfe, 0x06, 0x00, 0x06, 0xeb, 0xfa};
        std::copy(std::begin(code), std::end(code), img.begin() + 0x1e000);
        const uint8_t jmp[] = {0xea, 0x00, 0xe0, 0x00, 0xf0};
        std::copy(std::begin(jmp), std::end(jmp), img.begin() + 0x1fff0);
        const std::string path = "/tmp/vx86_fuzz_migration_" + std::to_string(::getpid()) + ".bin";
        FILE* out = std::fopen(path.c_str(), "wb");
        if (!out || std::fwrite(img.data(), 1, img.size(), out) != img.size()) std::abort();
        std::fclose(out);
        fx->board = make_board(path);
        auto src = make_board(path);
        auto check = make_board(path);
        std::remove(path.c_str());
        fx->power_on = state::save_machine(*fx->board);
        src->run(20);
        // What a source sends: setup, a bulk pass, a pass with one dirty page, the state, end.
        state::Header h;
        h.flags = state::kHeaderStream;
        state::ContainerWriter w(h);
        state::add_setup_records(w, *src, false);
        std::vector<uint64_t> all(src->ram_block_size(0) / state::kPage / 64, ~uint64_t{0});
        for (uint64_t first = 0; first < src->ram_block_size(0) / state::kPage; first += state::kPagesPerChunk)
            state::add_ram_record(w, *src, 0, first, state::kPagesPerChunk, all.data());
        w.add(state::kRecIteration, state::kIterationVersion, 0, std::vector<uint8_t>(8, 0));
        std::vector<uint64_t> one(all.size(), 0);
        one[0] = 1;
        state::add_ram_record(w, *src, 0, 0, 1, one.data());
        state::add_state_records(w, *src, false);
        fx->valid = w.finish();
        // The seed must be a stream the destination accepts, or the edits test nothing.
        state::SpanSource in(fx->valid);
        if (!state::receive_migration(*check, in, [](std::span<const uint8_t>) {})) std::abort();
        if (state::save_machine(*check) != state::save_machine(*src)) std::abort();
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
    state::SpanSource in(input);
    size_t answered = 0;
    const state::ReplySink reply = [&](std::span<const uint8_t> b) { answered += b.size(); };
    if (!state::receive_migration(*f.board, in, reply)) {
        if (answered == 0) std::abort();                                  // the source was not told
        if (state::save_machine(*f.board) != f.power_on) std::abort();    // not back at power-on
        return 0;
    }
    // Accepted: the machine runs a little and its own snapshot restores; then back to power-on.
    f.board->run(50);
    const auto again = state::save_machine(*f.board);
    if (!state::restore_machine(*f.board, again)) std::abort();
    if (!state::restore_machine(*f.board, f.power_on)) std::abort();
    return 0;
}
