// Snapshot throughput for a 256 MiB guest: save_machine (encode + zero-page detection + CRC-32C)
// and restore_machine (parse, CRC check, validation, copy into RAM), in MB of guest RAM per
// second. Two RAM fills: every page holding data (the worst case), and a quarter of the pages
// holding data (a freshly booted guest is mostly zero pages).
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "machine/board.h"
#include "state/snapshot.h"

namespace {

using namespace vx86;

std::unique_ptr<machine::Board> board_256m(unsigned data_every) {
    std::vector<uint8_t> img(0x20000, 0xf4);
    const uint8_t jmp[] = {0xea, 0x00, 0xe0, 0x00, 0xf0};
    std::copy(std::begin(jmp), std::end(jmp), img.begin() + 0x1fff0);
    const std::string path = "/tmp/vx86_snapshot_bench_" + std::to_string(::getpid()) + ".bin";
    FILE* f = std::fopen(path.c_str(), "wb");
    std::fwrite(img.data(), 1, img.size(), f);
    std::fclose(f);
    machine::BoardConfig c;
    c.ram_bytes = 256ull << 20;
    c.bios_path = path;
    auto b = machine::Board::create(c);
    std::remove(path.c_str());
    if (!b) return nullptr;
    uint8_t* ram = (*b)->low_ram();
    for (uint64_t p = 0; p < (*b)->low_ram_size() / 4096; ++p)
        if (p % data_every == 0) std::memset(ram + p * 4096, static_cast<int>(p | 1), 4096);
    return std::move(*b);
}

void BM_SnapshotSave256M(benchmark::State& st) {
    auto b = board_256m(static_cast<unsigned>(st.range(0)));
    size_t bytes = 0;
    for (auto _ : st) {
        auto blob = state::save_machine(*b);
        bytes = blob.size();
        benchmark::DoNotOptimize(blob.data());
    }
    st.SetBytesProcessed(int64_t(st.iterations()) * int64_t(b->low_ram_size()));
    st.counters["file_MiB"] = double(bytes) / (1 << 20);
}
BENCHMARK(BM_SnapshotSave256M)->Arg(1)->Arg(4)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_SnapshotRestore256M(benchmark::State& st) {
    auto b = board_256m(static_cast<unsigned>(st.range(0)));
    const auto blob = state::save_machine(*b);
    for (auto _ : st) {
        if (!state::restore_machine(*b, blob)) st.SkipWithError("restore failed");
    }
    st.SetBytesProcessed(int64_t(st.iterations()) * int64_t(b->low_ram_size()));
}
BENCHMARK(BM_SnapshotRestore256M)->Arg(1)->Arg(4)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
