// libFuzzer target: the snapshot container parser must accept or reject any byte string without
// touching memory outside it, and whatever it accepts must re-encode to the same records.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <vector>

#include "state/container.h"
#include "state/crc32c.h"

namespace {

using namespace vx86::state;

// A reader that knows some types (with different newest versions) and not others.
uint16_t supported(uint32_t type) {
    switch (type) {
        case kRecMachineConfig:
        case kRecMemoryLayout:
        case kRecRamChunk:
            return 1;
        case kRecIteration:
            return 2;
        default:
            break;
    }
    if (type >= kRecVcpu && type < kRecVcpu + 4) return 3;
    if (type >= kRecDevice && type < kRecDevice + 0x100) return 1;
    return 0;
}

void check_at(bool ok, int line) {
    if (ok) return;
    std::fprintf(stderr, "fuzz_snapshot_container: check at line %d failed\n", line);
    std::abort();
}
// (std::source_location needs clang 15 with libstdc++.)
#define check(ok) check_at((ok), __LINE__)

uint64_t load(const std::vector<uint8_t>& b, size_t at, unsigned n) {
    uint64_t v = 0;
    for (unsigned i = 0; i < n; ++i) v |= uint64_t{b[at + i]} << (8 * i);
    return v;
}

void store(std::vector<uint8_t>& b, size_t at, uint64_t v, unsigned n) {
    for (unsigned i = 0; i < n; ++i) b[at + i] = static_cast<uint8_t>(v >> (8 * i));
}

// Random bytes almost never carry valid CRCs, so each input is also tried with its CRCs (and,
// when bit 0 of fingerprint byte 0 is clear, the end record's count) rewritten: that lets the
// fuzzer reach the checks that sit behind the CRCs.
std::vector<uint8_t> reseal(std::span<const uint8_t> in) {
    std::vector<uint8_t> b(in.begin(), in.end());
    if (b.size() < kHeaderSize) return b;
    store(b, 60, crc32c({b.data(), 60}), 4);
    const bool fix_count = (b[32] & 1) == 0;
    uint64_t count = 0;
    size_t pos = kHeaderSize;
    while (b.size() - pos >= kRecordHeaderSize) {
        const auto type = static_cast<uint32_t>(load(b, pos, 4));
        const uint64_t length = load(b, pos + 8, 8);
        const size_t after = b.size() - pos - kRecordHeaderSize;
        if (after < kRecordTrailerSize || length > after - kRecordTrailerSize) break;
        if (type == kRecEnd && length == 12) {
            if (fix_count) store(b, pos + kRecordHeaderSize, count, 8);
            store(b, pos + kRecordHeaderSize + 8, crc32c({b.data(), pos}), 4);
        }
        store(b, pos + kRecordHeaderSize + length,
              crc32c({b.data() + pos, kRecordHeaderSize + length}), 4);
        pos += kRecordHeaderSize + length + kRecordTrailerSize;
        ++count;
    }
    return b;
}

bool same_header(const Header& a, const Header& b) {
    return a.format_major == b.format_major && a.format_minor == b.format_minor &&
           a.flags == b.flags && a.producer == b.producer && a.fingerprint == b.fingerprint;
}

void parse_and_round_trip(std::span<const uint8_t> bytes) {
    auto c = parse_container(bytes, supported);
    auto h = parse_header(bytes);
    if (!c) {
        check(!c.message().empty());
        return;
    }
    check(h.is_ok() && same_header(*h, c->header));

    const uint8_t* begin = bytes.data();
    const uint8_t* end = bytes.data() + bytes.size();
    for (const Record& r : c->records) {
        check(r.offset >= kHeaderSize);
        check(r.offset + kRecordHeaderSize + r.payload.size() + kRecordTrailerSize <= bytes.size());
        check(r.payload.empty() || (r.payload.data() >= begin && r.payload.data() < end &&
                                    r.payload.size() <= size_t(end - r.payload.data())));
        check(r.payload.size() <= max_payload(r.type));
        check(r.type != kRecEnd && r.version >= 1 && r.version <= supported(r.type));
    }
    for (uint32_t t : c->skipped) check(supported(t) == 0);

    ContainerWriter w(c->header);
    for (const Record& r : c->records) w.add(r.type, r.version, r.flags, r.payload);
    const std::vector<uint8_t> again_bytes = w.finish();
    auto again = parse_container(again_bytes, supported);
    check(again.is_ok());
    check(same_header(again->header, c->header));
    check(again->skipped.empty());
    check(again->records.size() == c->records.size());
    for (size_t i = 0; i < c->records.size(); ++i) {
        const Record& a = c->records[i];
        const Record& b = again->records[i];
        check(a.type == b.type && a.version == b.version && a.flags == b.flags);
        check(std::equal(a.payload.begin(), a.payload.end(), b.payload.begin(), b.payload.end()));
    }
    // With nothing skipped and the reserved header word zero, the writer reproduces the input,
    // except for the end record's flags (which the reader does not check) and so its CRC.
    const bool reserved_zero = bytes[56] == 0 && bytes[57] == 0 && bytes[58] == 0 && bytes[59] == 0;
    if (c->skipped.empty() && reserved_zero) {
        check(bytes.size() == again_bytes.size());
        const size_t end_at = bytes.size() - (kRecordHeaderSize + 12 + kRecordTrailerSize);
        const auto same = [&](size_t from, size_t to) {
            return std::equal(bytes.begin() + from, bytes.begin() + to, again_bytes.begin() + from);
        };
        check(same(0, end_at + 6));
        check(same(end_at + 8, end_at + kRecordHeaderSize + 12));
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::span<const uint8_t> in(data, size);
    parse_and_round_trip(in);
    const std::vector<uint8_t> sealed = reseal(in);
    parse_and_round_trip(sealed);
    return 0;
}
