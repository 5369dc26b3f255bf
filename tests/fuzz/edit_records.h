// Shared by the snapshot and migration-stream fuzzers: edits the payloads of a valid container
// as the fuzzer's bytes say and re-seals it with correct CRCs, so the record decoders (not only
// the CRC checks) see the damage.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <vector>

#include "state/container.h"

namespace vx86::fuzz {

// Edits of 4 bytes each: record index, offset (2 bytes), new value; offset 0xff.. with value
// 0xff cuts the record short there.
inline std::vector<uint8_t> edit_records(const std::vector<uint8_t>& valid, const uint8_t* data,
                                         size_t size) {
    auto c = state::parse_container(valid, [](uint32_t) -> uint16_t { return 1; });
    if (!c) std::abort();
    std::vector<std::vector<uint8_t>> payloads;
    for (const auto& r : c->records) payloads.emplace_back(r.payload.begin(), r.payload.end());
    for (size_t i = 0; i + 4 <= size; i += 4) {
        auto& p = payloads[data[i] % payloads.size()];
        if (p.empty()) continue;
        const size_t at = (size_t{data[i + 1]} | size_t{data[i + 2]} << 8) % p.size();
        if (data[i + 3] == 0xff && data[i + 1] == 0xff) p.resize(at);
        else p[at] = data[i + 3];
    }
    state::ContainerWriter w(c->header);
    for (size_t i = 0; i < payloads.size(); ++i)
        w.add(c->records[i].type, c->records[i].version, c->records[i].flags, payloads[i]);
    return w.finish();
}

}  // namespace vx86::fuzz
