// The snapshot container and CRC-32C: round trips, and the corruption matrix of spec/state.md 6.4
// (C1-C6). Inputs come from an encoder written here from container.h's layout, not from
// ContainerWriter, and it recomputes every CRC it is not told to spoil, so each case breaks one
// rule.
#include "state/container.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "state/crc32c.h"

namespace vx86::state {
namespace {

using Bytes = std::vector<uint8_t>;

Bytes text(std::string_view s) {
    return Bytes(s.begin(), s.end());
}

// ---- CRC-32C ----

// Bit at a time, straight from the definition, to check the fast paths against.
uint32_t crc32c_bitwise(std::span<const uint8_t> bytes, uint32_t crc = 0) {
    crc = ~crc;
    for (uint8_t b : bytes) {
        crc ^= b;
        for (int i = 0; i < 8; ++i) crc = (crc & 1) ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
    }
    return ~crc;
}

// All three entry points, so that the table path is tested on SSE4.2 hosts and vice versa.
void expect_crc(std::span<const uint8_t> bytes, uint32_t crc_in, uint32_t expected) {
    EXPECT_EQ(crc32c(bytes, crc_in), expected);
    EXPECT_EQ(detail::crc32c_table(bytes, crc_in), expected);
    EXPECT_EQ(detail::crc32c_sse42(bytes, crc_in), expected);
}

TEST(Crc32cTest, CheckValue) {
    expect_crc(text("123456789"), 0, 0xE3069283u);
    EXPECT_EQ(crc32c_bitwise(text("123456789")), 0xE3069283u);
}

// RFC 3720 (iSCSI) appendix B.4.
TEST(Crc32cTest, Rfc3720Vectors) {
    Bytes zeros(32, 0), ones(32, 0xff), up(32), down(32);
    for (int i = 0; i < 32; ++i) {
        up[i] = static_cast<uint8_t>(i);
        down[i] = static_cast<uint8_t>(31 - i);
    }
    expect_crc(zeros, 0, 0x8A9136AAu);
    expect_crc(ones, 0, 0x62A8AB43u);
    expect_crc(up, 0, 0x46DD794Eu);
    expect_crc(down, 0, 0x113FDB5Cu);
}

TEST(Crc32cTest, EmptyInputLeavesTheCrcAlone) {
    expect_crc({}, 0, 0);
    expect_crc({}, 0x12345678u, 0x12345678u);
}

TEST(Crc32cTest, EveryLengthAndAlignmentMatchesTheDefinition) {
    Bytes buf(600);
    uint32_t x = 0x9E3779B9u;
    for (auto& b : buf) {
        x = x * 1664525u + 1013904223u;
        b = static_cast<uint8_t>(x >> 24);
    }
    for (size_t align = 0; align < 16; ++align)
        for (size_t len = 0; len + align <= buf.size(); len += (len < 80 ? 1 : 37)) {
            const std::span<const uint8_t> s(buf.data() + align, len);
            const uint32_t want = crc32c_bitwise(s, 0xABCD0123u);
            ASSERT_EQ(detail::crc32c_table(s, 0xABCD0123u), want) << align << "+" << len;
            ASSERT_EQ(detail::crc32c_sse42(s, 0xABCD0123u), want) << align << "+" << len;
            ASSERT_EQ(crc32c(s, 0xABCD0123u), want) << align << "+" << len;
        }
}

TEST(Crc32cTest, ContinuesAcrossAnySplit) {
    const Bytes b = text("The quick brown fox jumps over the lazy dog, twice: the quick brown fox");
    const uint32_t whole = crc32c(b);
    EXPECT_EQ(whole, crc32c_bitwise(b));
    for (size_t cut = 0; cut <= b.size(); ++cut) {
        const std::span<const uint8_t> s(b);
        EXPECT_EQ(crc32c(s.subspan(cut), crc32c(s.first(cut))), whole) << cut;
    }
}

// ---- an encoder independent of ContainerWriter (its CRCs use crc32c, checked above) ----

void le(Bytes& out, uint64_t v, unsigned n) {
    for (unsigned i = 0; i < n; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

struct RawHeader {
    std::array<uint8_t, 8> magic = kMagic;
    uint16_t major = 1;
    uint16_t minor = 0;
    uint32_t header_size = 64;
    uint32_t flags = 0;
    std::array<uint32_t, 3> producer{0, 3, 7};
    std::array<uint8_t, 24> fingerprint{};
    uint32_t reserved = 0;
    std::optional<uint32_t> crc;  // default: the correct one
};

struct RawRecord {
    RawRecord(uint32_t type_, uint16_t version_, uint16_t flags_, Bytes payload_,
              std::optional<uint64_t> length_ = std::nullopt)
        : type(type_),
          version(version_),
          flags(flags_),
          payload(std::move(payload_)),
          length(length_) {}
    uint32_t type;
    uint16_t version;
    uint16_t flags;
    Bytes payload;
    std::optional<uint64_t> length;  // default: payload.size()
    std::optional<uint32_t> crc;     // default: the correct one
};

struct RawEnd {
    bool present = true;
    uint16_t version = 1;
    uint16_t flags = kRecordCritical;
    std::optional<uint64_t> count;       // default: the records before it
    std::optional<uint32_t> prefix_crc;  // default: the correct one
    std::optional<Bytes> payload;        // default: count + prefix_crc

    static RawEnd absent() {
        RawEnd e;
        e.present = false;
        return e;
    }
    static RawEnd with_version(uint16_t v) {
        RawEnd e;
        e.version = v;
        return e;
    }
    static RawEnd with_count(uint64_t n) {
        RawEnd e;
        e.count = n;
        return e;
    }
    static RawEnd with_prefix_crc(uint32_t crc) {
        RawEnd e;
        e.prefix_crc = crc;
        return e;
    }
    static RawEnd with_payload(Bytes b) {
        RawEnd e;
        e.payload = std::move(b);
        return e;
    }
};

struct Encoded {
    Bytes bytes;
    std::vector<uint64_t> offsets;  // of each record header, the end record's last
};

Encoded encode(const RawHeader& h, const std::vector<RawRecord>& records, const RawEnd& end = {}) {
    Encoded e;
    Bytes& out = e.bytes;
    out.insert(out.end(), h.magic.begin(), h.magic.end());
    le(out, h.major, 2);
    le(out, h.minor, 2);
    le(out, h.header_size, 4);
    le(out, h.flags, 4);
    for (uint32_t v : h.producer) le(out, v, 4);
    out.insert(out.end(), h.fingerprint.begin(), h.fingerprint.end());
    le(out, h.reserved, 4);
    le(out, h.crc.value_or(crc32c(out)), 4);
    const auto put = [&](uint32_t type, uint16_t version, uint16_t flags, const Bytes& payload,
                         std::optional<uint64_t> length, std::optional<uint32_t> crc) {
        const size_t start = out.size();
        e.offsets.push_back(start);
        le(out, type, 4);
        le(out, version, 2);
        le(out, flags, 2);
        le(out, length.value_or(payload.size()), 8);
        out.insert(out.end(), payload.begin(), payload.end());
        le(out, crc.value_or(crc32c(std::span<const uint8_t>(out).subspan(start))), 4);
    };
    for (const RawRecord& r : records) put(r.type, r.version, r.flags, r.payload, r.length, r.crc);
    if (end.present) {
        Bytes payload;
        le(payload, end.count.value_or(records.size()), 8);
        le(payload, end.prefix_crc.value_or(crc32c(out)), 4);
        put(kRecEnd, end.version, end.flags, end.payload.value_or(payload), std::nullopt,
            std::nullopt);
    }
    return e;
}

Bytes pattern(size_t n, uint8_t seed) {
    Bytes b(n);
    for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(seed + i * 7);
    return b;
}

// A small machine-like container; every payload is at most 40 bytes.
std::vector<RawRecord> sample_records() {
    return {
        {kRecMachineConfig, 1, kRecordCritical, text("cpu=host\nmem=64M\n")},
        {kRecMemoryLayout, 1, kRecordCritical, pattern(13, 1)},
        {kRecVcpu, 2, kRecordCritical, pattern(40, 2)},
        {kRecDevice + 3, 1, 0, {}},
        {kRecIteration, 1, 0, pattern(8, 3)},
    };
}

RawHeader sample_header() {
    RawHeader h;
    h.flags = kHeaderStream;
    for (size_t i = 0; i < h.fingerprint.size(); ++i)
        h.fingerprint[i] = static_cast<uint8_t>(0xA0 + i);
    return h;
}

uint16_t supported(uint32_t type) {
    switch (type) {
        case kRecMachineConfig:
        case kRecCpuModel:
        case kRecMemoryLayout:
        case kRecRamChunk:
        case kRecIteration:
            return 1;
        default:
            break;
    }
    if (type >= kRecVcpu && type < kRecVcpu + 0x100) return 2;
    if (type >= kRecDevice && type < kRecDevice + 0x100) return 1;
    return 0;
}

base::Result<Container> parse(std::span<const uint8_t> bytes) {
    return parse_container(bytes, supported);
}

// The error of a parse that must fail.
std::string error_of(std::span<const uint8_t> bytes) {
    auto c = parse(bytes);
    if (c) return "<parsed without error>";
    EXPECT_EQ(c.status().code(), ErrorCode::BadImage) << c.message();
    return c.message();
}

bool has(const std::string& haystack, std::string_view needle) {
    return haystack.find(needle) != std::string::npos;
}

std::string records_read(size_t n) {
    return fmt::format("{} record{} read", n, n == 1 ? "" : "s");
}

// ---- round trip ----

TEST(ContainerTest, MaxPayloadCaps) {
    EXPECT_EQ(max_payload(kRecMachineConfig), 64u << 10);
    EXPECT_EQ(max_payload(kRecCpuModel), 64u << 10);
    EXPECT_EQ(max_payload(kRecMemoryLayout), 64u << 10);
    EXPECT_EQ(max_payload(kRecRamChunk), (16u << 20) + (4u << 10));
    EXPECT_EQ(max_payload(kRecVcpu), 1u << 20);
    EXPECT_EQ(max_payload(kRecVcpu + 0xff), 1u << 20);
    EXPECT_EQ(max_payload(kRecDevice), 1u << 20);
    EXPECT_EQ(max_payload(kRecDevice + 0xff), 1u << 20);
    EXPECT_EQ(max_payload(kRecRamPages), (16u << 20) + (4u << 10));
    EXPECT_EQ(max_payload(kRecDirtyLog), 16u << 20);
    EXPECT_EQ(max_payload(kRecIteration), 64u);
    EXPECT_EQ(max_payload(kRecVerdict), 64u << 10);
    EXPECT_EQ(max_payload(kRecEnd), 12u);
    for (uint32_t other :
         {0x0000u, 0x0003u, 0x0020u, 0x00ffu, 0x0300u, 0x0f02u, 0xfffeu, 0x10000u, 0xffffffffu})
        EXPECT_EQ(max_payload(other), 16u << 20) << std::hex << other;
}

TEST(ContainerTest, WriterProducesTheDocumentedBytes) {
    const RawHeader rh = sample_header();
    Header h;
    h.flags = rh.flags;
    h.producer = rh.producer;
    h.fingerprint = rh.fingerprint;
    ContainerWriter w(h);
    EXPECT_EQ(w.size(), kHeaderSize);
    for (const RawRecord& r : sample_records()) w.add(r.type, r.version, r.flags, r.payload);
    const Bytes written = w.finish();
    EXPECT_EQ(written, encode(rh, sample_records()).bytes);
}

TEST(ContainerTest, RoundTripKeepsHeaderAndRecords) {
    const auto records = sample_records();
    const Encoded e = encode(sample_header(), records);
    auto c = parse(e.bytes);
    ASSERT_TRUE(c) << c.message();
    EXPECT_EQ(c->header.format_major, 1);
    EXPECT_EQ(c->header.format_minor, 0);
    EXPECT_EQ(c->header.flags, kHeaderStream);
    EXPECT_EQ(c->header.producer, sample_header().producer);
    EXPECT_EQ(c->header.fingerprint, sample_header().fingerprint);
    EXPECT_TRUE(c->skipped.empty());
    ASSERT_EQ(c->records.size(), records.size());
    for (size_t i = 0; i < records.size(); ++i) {
        const Record& r = c->records[i];
        EXPECT_EQ(r.type, records[i].type);
        EXPECT_EQ(r.version, records[i].version);
        EXPECT_EQ(r.flags, records[i].flags);
        EXPECT_EQ(r.offset, e.offsets[i]);
        EXPECT_EQ(Bytes(r.payload.begin(), r.payload.end()), records[i].payload);
        // The payload is a view into the input, not a copy.
        if (!r.payload.empty()) {
            EXPECT_EQ(r.payload.data(), e.bytes.data() + e.offsets[i] + 16);
        }
    }
    auto h = parse_header(e.bytes);
    ASSERT_TRUE(h) << h.message();
    EXPECT_EQ(h->fingerprint, sample_header().fingerprint);
}

// Records above and below the size where the whole-file CRC switches to combining CRCs.
TEST(ContainerTest, RoundTripOfLargeRecords) {
    std::vector<RawRecord> records;
    uint8_t seed = 0;
    for (size_t n : {0, 1, 495, 496, 497, 511, 512, 4096, 70001, 1 << 20})
        records.push_back({kRecRamChunk, 1, kRecordCritical, pattern(n, ++seed)});
    records.push_back({kRecVcpu + 7, 1, kRecordCritical, pattern(1u << 20, 99)});
    const Header h;
    ContainerWriter w(h);
    for (const RawRecord& r : records) w.add(r.type, r.version, r.flags, r.payload);
    const Bytes bytes = w.finish();
    RawHeader rh;
    rh.producer = {};
    EXPECT_TRUE(bytes == encode(rh, records).bytes);  // not EXPECT_EQ: 2 MiB would be printed
    auto c = parse(bytes);
    ASSERT_TRUE(c) << c.message();
    ASSERT_EQ(c->records.size(), records.size());
    for (size_t i = 0; i < records.size(); ++i)
        EXPECT_EQ(Bytes(c->records[i].payload.begin(), c->records[i].payload.end()),
                  records[i].payload);
}

TEST(ContainerTest, EmptyContainerHasOnlyTheEndRecord) {
    const Bytes bytes = ContainerWriter(Header{}).finish();
    EXPECT_EQ(bytes.size(), kHeaderSize + 16 + 12 + 4);
    auto c = parse(bytes);
    ASSERT_TRUE(c) << c.message();
    EXPECT_TRUE(c->records.empty());
}

TEST(ContainerTest, HeaderAloneParses) {
    const Bytes bytes = encode(sample_header(), {}, RawEnd::absent()).bytes;
    ASSERT_EQ(bytes.size(), 64u);
    auto h = parse_header(bytes);
    ASSERT_TRUE(h) << h.message();
    EXPECT_EQ(h->flags, kHeaderStream);
    EXPECT_EQ(h->producer, sample_header().producer);
    // ...but a container needs its end record.
    EXPECT_EQ(error_of(bytes), "truncated snapshot: 0 records read, end record missing");
}

// Compatibility rule: every minor of major 1 is read; reserved and unknown flag bits are kept
// for a later minor to define.
TEST(ContainerTest, NewerMinorAndUnknownHeaderBitsAreAccepted) {
    RawHeader h = sample_header();
    h.minor = 7;
    h.flags = 0xfffffff0u;
    h.reserved = 0x55;
    auto c = parse(encode(h, sample_records()).bytes);
    ASSERT_TRUE(c) << c.message();
    EXPECT_EQ(c->header.format_minor, 7);
    EXPECT_EQ(c->header.flags, 0xfffffff0u);
}

// ---- C1: truncation ----

TEST(ContainerTruncationTest, EveryByteOffset) {
    const Encoded e = encode(sample_header(), sample_records());
    const std::span<const uint8_t> all(e.bytes);
    for (size_t cut = 0; cut < e.bytes.size(); ++cut) {
        SCOPED_TRACE(cut);
        const std::string msg = error_of(all.first(cut));
        if (cut == 0) {
            EXPECT_EQ(msg, "not a vx86 snapshot (empty input)");
        } else if (cut < kHeaderSize) {
            EXPECT_EQ(msg,
                      fmt::format("truncated snapshot: header incomplete ({} of 64 bytes)", cut));
            EXPECT_EQ(parse_header(all.first(cut)).message(), msg);
        } else {
            // Inside (or at the start of) record i: i records complete, end record missing.
            size_t i = 0;
            while (i + 1 < e.offsets.size() && e.offsets[i + 1] <= cut) ++i;
            EXPECT_TRUE(has(msg, "truncated snapshot: ")) << msg;
            EXPECT_TRUE(has(msg, records_read(i) + ", end record missing")) << msg;
            if (cut == e.offsets[i]) {
                EXPECT_EQ(msg, fmt::format("truncated snapshot: {}, end record missing",
                                           records_read(i)));
            } else {
                EXPECT_TRUE(has(msg, fmt::format("at offset {}", e.offsets[i]))) << msg;
            }
            if (cut > e.offsets[i] && cut < e.offsets[i] + 16) {
                EXPECT_TRUE(has(msg, "record header at offset")) << msg;
            }
        }
    }
    EXPECT_TRUE(parse(all));
}

// ---- C2: single-bit flips ----

TEST(ContainerBitFlipTest, EveryHeaderBit) {
    const Bytes good = encode(sample_header(), sample_records()).bytes;
    for (size_t byte = 0; byte < kHeaderSize; ++byte)
        for (int bit = 0; bit < 8; ++bit) {
            SCOPED_TRACE(fmt::format("byte {} bit {}", byte, bit));
            Bytes b = good;
            b[byte] ^= static_cast<uint8_t>(1u << bit);
            const std::string msg = error_of(b);
            if (byte < 8) {
                EXPECT_TRUE(has(msg, "not a vx86 snapshot (magic '")) << msg;
            } else if (byte < 10) {  // format_major: could be a newer format, or damage
                EXPECT_TRUE(has(msg, "snapshot format ")) << msg;
                EXPECT_TRUE(has(msg, "header at offset 0 is damaged (CRC mismatch)")) << msg;
            } else {
                EXPECT_TRUE(has(msg, "snapshot header at offset 0: CRC mismatch")) << msg;
            }
            EXPECT_FALSE(parse_header(b)) << "byte " << byte;
        }
}

// Every bit of every record header and CRC trailer, the end record's included.
TEST(ContainerBitFlipTest, EveryRecordHeaderAndTrailerBit) {
    const auto records = sample_records();
    const Encoded e = encode(sample_header(), records);
    for (size_t i = 0; i < e.offsets.size(); ++i) {
        const uint64_t off = e.offsets[i];
        const uint32_t type = i < records.size() ? records[i].type : kRecEnd;
        const size_t length = i < records.size() ? records[i].payload.size() : 12;
        std::vector<size_t> positions;
        for (size_t k = 0; k < 16; ++k) positions.push_back(off + k);
        for (size_t k = 0; k < 4; ++k) positions.push_back(off + 16 + length + k);
        for (size_t at : positions)
            for (int bit = 0; bit < 8; ++bit) {
                SCOPED_TRACE(fmt::format("record {} byte {} bit {}", i, at - off, bit));
                Bytes b = e.bytes;
                b[at] ^= static_cast<uint8_t>(1u << bit);
                const std::string msg = error_of(b);
                const size_t field = at - off;
                if (field >= 8 && field < 16) {  // length: too long, or the CRC is read elsewhere
                    EXPECT_TRUE(has(msg, fmt::format("record {:#06x} at offset {}", type, off)))
                        << msg;
                    EXPECT_TRUE(has(msg, "CRC mismatch") || has(msg, "exceeds the limit") ||
                                has(msg, "truncated snapshot"))
                        << msg;
                } else {
                    const uint32_t shown = field < 4 ? type ^ (1u << (8 * field + bit)) : type;
                    EXPECT_TRUE(has(
                        msg, fmt::format("record {:#06x} at offset {}: CRC mismatch", shown, off)))
                        << msg;
                }
            }
    }
}

TEST(ContainerBitFlipTest, SampledPayloadBits) {
    auto records = sample_records();
    records.push_back({kRecRamChunk, 1, kRecordCritical, pattern(3000, 5)});  // combined CRC
    const Encoded e = encode(sample_header(), records);
    size_t flips = 0;
    for (size_t i = 0; i < e.offsets.size(); ++i) {
        const uint64_t off = e.offsets[i];
        const uint32_t type = i < records.size() ? records[i].type : kRecEnd;
        const size_t length = i < records.size() ? records[i].payload.size() : 12;
        for (size_t bitpos = 0; bitpos < length * 8; bitpos += (length > 64 ? 97 : 3)) {
            Bytes b = e.bytes;
            b[off + 16 + bitpos / 8] ^= static_cast<uint8_t>(1u << (bitpos % 8));
            EXPECT_EQ(error_of(b).rfind(
                          fmt::format("record {:#06x} at offset {}: CRC mismatch", type, off), 0),
                      0u)
                << "record " << i << " bit " << bitpos;
            ++flips;
        }
    }
    EXPECT_GT(flips, 300u);
}

// ---- C3: not a vx86 snapshot ----

TEST(ContainerMagicTest, QemuSavevmStream) {
    // QEMU_VM_FILE_MAGIC 0x5145564D and QEMU_VM_FILE_VERSION 3, big-endian, then a section.
    const Bytes qemu = {'Q', 'E', 'V', 'M', 0, 0, 0, 3, 0x07, 0, 0, 0, 0x0c, 'p', 'c'};
    const std::string want = "not a vx86 snapshot (magic 'QEVM\\x00\\x00\\x00\\x03')";
    EXPECT_EQ(error_of(qemu), want);
    EXPECT_EQ(parse_header(qemu).message(), want);
    Bytes long_qemu = qemu;
    long_qemu.resize(4096, 0xee);
    EXPECT_EQ(error_of(long_qemu), want);
}

TEST(ContainerMagicTest, EmptyAndShortInputs) {
    EXPECT_EQ(error_of({}), "not a vx86 snapshot (empty input)");
    EXPECT_EQ(parse_header({}).message(), "not a vx86 snapshot (empty input)");
    EXPECT_EQ(error_of(text("QEV")), "not a vx86 snapshot (magic 'QEV')");
    EXPECT_EQ(error_of(text("VX86")), "truncated snapshot: header incomplete (4 of 64 bytes)");
}

TEST(ContainerMagicTest, OtherFilesAndNonPrintableBytes) {
    EXPECT_EQ(error_of(Bytes{0x7f, 'E', 'L', 'F', 2, 1, 1, 0, 0, 0, 0, 0}),
              "not a vx86 snapshot (magic '\\x7fELF\\x02\\x01\\x01\\x00')");
    EXPECT_EQ(error_of(text("vx86stat and more text")), "not a vx86 snapshot (magic 'vx86stat')");
    EXPECT_EQ(error_of(Bytes{'\'', '\\', 0xff, 'V', 'X', '8', '6', 'S'}),
              "not a vx86 snapshot (magic '\\x27\\x5c\\xffVX86S')");
    // A whole, otherwise valid container with one magic byte changed.
    RawHeader h = sample_header();
    h.magic[7] = 'E';
    EXPECT_EQ(error_of(encode(h, sample_records()).bytes),
              "not a vx86 snapshot (magic 'VX86STAE')");
}

// ---- C4: newer formats and records ----

TEST(ContainerCompatTest, NewerMajorFormat) {
    RawHeader h = sample_header();
    h.major = 2;
    h.minor = 1;
    const std::string want = "snapshot format 2.1 needs a newer vx86 (this one reads format 1.x)";
    const Bytes bytes = encode(h, sample_records()).bytes;
    EXPECT_EQ(error_of(bytes), want);
    EXPECT_EQ(parse_header(bytes).message(), want);
    // A future header may be shorter or laid out differently; the first 12 bytes still name it.
    EXPECT_EQ(error_of(std::span<const uint8_t>(bytes).first(12)), want);
    h.header_size = 96;
    EXPECT_EQ(error_of(encode(h, {}).bytes), want);
}

TEST(ContainerCompatTest, OlderMajorFormat) {
    RawHeader h = sample_header();
    h.major = 0;
    EXPECT_EQ(error_of(encode(h, sample_records()).bytes),
              "snapshot format 0.0 needs an older vx86 (this one reads format 1.x)");
}

TEST(ContainerCompatTest, HeaderSizeMustBe64) {
    RawHeader h = sample_header();
    h.header_size = 128;
    EXPECT_EQ(error_of(encode(h, sample_records()).bytes),
              "snapshot header at offset 0: header_size 128 (format 1.x headers are 64 bytes)");
}

TEST(ContainerCompatTest, RecordVersionNewerThanSupported) {
    auto records = sample_records();
    records[2].version = 3;  // vCPU, supported up to 2
    const Encoded e = encode(sample_header(), records);
    EXPECT_EQ(error_of(e.bytes),
              fmt::format("record 0x0100 at offset {}: version 3 needs a newer vx86 (this one "
                          "reads up to 2)",
                          e.offsets[2]));
    records[2].version = 0xffff;
    EXPECT_TRUE(
        has(error_of(encode(sample_header(), records).bytes), "version 65535 needs a newer vx86"));
    // Older and current versions are fine.
    records[2].version = 1;
    EXPECT_TRUE(parse(encode(sample_header(), records).bytes));
}

TEST(ContainerCompatTest, RecordVersionZero) {
    auto records = sample_records();
    records[1].version = 0;
    const Encoded e = encode(sample_header(), records);
    EXPECT_EQ(error_of(e.bytes),
              fmt::format("record 0x0010 at offset {}: version 0 is not a valid record version",
                          e.offsets[1]));
}

TEST(ContainerCompatTest, UnknownCriticalRecord) {
    auto records = sample_records();
    records.insert(records.begin() + 2, RawRecord{0x0333, 1, kRecordCritical, pattern(5, 9)});
    const Encoded e = encode(sample_header(), records);
    EXPECT_EQ(error_of(e.bytes),
              fmt::format("record 0x0333 at offset {}: critical record of a type this vx86 does "
                          "not know (needs a newer vx86)",
                          e.offsets[2]));
}

TEST(ContainerCompatTest, EndRecordVersionMustBe1) {
    for (uint16_t v : {0, 2}) {
        const Encoded e = encode(sample_header(), sample_records(), RawEnd::with_version(v));
        EXPECT_EQ(error_of(e.bytes),
                  fmt::format("record 0xffff at offset {}: end record version {} is not 1",
                              e.offsets.back(), v));
    }
}

// ---- C5: skipping ----

TEST(ContainerSkipTest, UnknownNonCriticalRecordsAreSkippedAndListed) {
    auto records = sample_records();
    records.insert(records.begin() + 1, RawRecord{0x0020, 4, 0, pattern(30, 4)});
    records.insert(records.begin() + 4, RawRecord{0x7777, 1, 0x8000, {}});  // flags: not critical
    const Encoded e = encode(sample_header(), records);
    auto c = parse(e.bytes);
    ASSERT_TRUE(c) << c.message();
    EXPECT_EQ(c->skipped, (std::vector<uint32_t>{0x0020, 0x7777}));
    ASSERT_EQ(c->records.size(), sample_records().size());
    for (size_t i = 0; i < c->records.size(); ++i)
        EXPECT_EQ(c->records[i].type, sample_records()[i].type);
    EXPECT_EQ(c->records[1].offset, e.offsets[2]);
}

// The end record counts skipped records too.
TEST(ContainerSkipTest, EndCountIncludesSkippedRecords) {
    auto records = sample_records();
    records.push_back(RawRecord{0x0020, 1, 0, pattern(3, 4)});
    const Encoded e = encode(sample_header(), records, RawEnd::with_count(records.size() - 1));
    EXPECT_EQ(error_of(e.bytes), fmt::format("record 0xffff at offset {}: end record counts 5 "
                                             "records, 6 found",
                                             e.offsets.back()));
}

TEST(ContainerSkipTest, WithoutASupportFunctionEveryRecordIsUnknown) {
    std::vector<RawRecord> records = {{kRecVcpu, 1, 0, pattern(4, 1)}, {kRecDevice, 1, 0, {}}};
    const Bytes bytes = encode(sample_header(), records).bytes;
    auto c = parse_container(bytes, SupportedVersion{});
    ASSERT_TRUE(c) << c.message();
    EXPECT_TRUE(c->records.empty());
    EXPECT_EQ(c->skipped, (std::vector<uint32_t>{kRecVcpu, kRecDevice}));
    records[1].flags = kRecordCritical;
    EXPECT_FALSE(parse_container(encode(sample_header(), records).bytes, SupportedVersion{}));
}

// ---- C6: hostile lengths and framing ----

TEST(ContainerHostileTest, LengthsThatWouldOverflow) {
    for (uint64_t length :
         {~uint64_t{0}, ~uint64_t{0} - 15, ~uint64_t{0} - 19, uint64_t{1} << 63, uint64_t{1} << 32})
        for (uint32_t type : {uint32_t{kRecVcpu}, 0x4444u, uint32_t{kRecEnd}}) {
            auto records = sample_records();
            records.insert(records.begin() + 1, RawRecord{type, 1, 0, pattern(10, 1), length});
            const Encoded e = encode(sample_header(), records);
            EXPECT_EQ(error_of(e.bytes),
                      fmt::format("record {:#06x} at offset {}: length {} exceeds the limit for "
                                  "this record type ({} bytes)",
                                  type, e.offsets[1], length, max_payload(type)));
        }
}

TEST(ContainerHostileTest, LengthBeyondTheInput) {
    auto records = sample_records();
    records[2].length = 1000;  // 40 bytes present
    const Encoded e = encode(sample_header(), records);
    const uint64_t after = e.bytes.size() - e.offsets[2] - 16;
    EXPECT_EQ(error_of(e.bytes),
              fmt::format("truncated snapshot: record 0x0100 at offset {} needs 1004 bytes after "
                          "its header, {} remain; 2 records read, end record missing",
                          e.offsets[2], after));
    // One byte short of room for the CRC trailer.
    std::vector<RawRecord> last = {{kRecVcpu, 1, 0, pattern(40, 1), 41}};
    const Encoded f = encode(sample_header(), last, RawEnd::absent());
    EXPECT_EQ(error_of(f.bytes),
              "truncated snapshot: record 0x0100 at offset 64 needs 45 bytes "
              "after its header, 44 remain; 0 records read, end record missing");
}

TEST(ContainerHostileTest, LengthsAtAndAboveEachCap) {
    for (uint32_t type :
         {uint32_t{kRecMachineConfig}, uint32_t{kRecMemoryLayout}, uint32_t{kRecRamChunk},
          uint32_t{kRecVcpu + 1}, uint32_t{kRecDevice + 2}, uint32_t{kRecIteration}, 0x0123u}) {
        SCOPED_TRACE(fmt::format("type {:#x}", type));
        const uint64_t cap = max_payload(type);
        std::vector<RawRecord> records = {{type, 1, 0, Bytes(cap, 0x5a)}};
        auto c = parse(encode(sample_header(), records).bytes);
        ASSERT_TRUE(c) << c.message();
        records[0].payload.push_back(0);
        EXPECT_EQ(error_of(encode(sample_header(), records).bytes),
                  fmt::format("record {:#06x} at offset 64: length {} exceeds the limit for this "
                              "record type ({} bytes)",
                              type, cap + 1, cap));
    }
}

TEST(ContainerHostileTest, TrailingBytesAfterTheEndRecord) {
    const Encoded e = encode(sample_header(), sample_records());
    for (size_t extra : {1, 3, 100}) {
        Bytes b = e.bytes;
        b.resize(b.size() + extra, 0);
        EXPECT_EQ(error_of(b), fmt::format("{} trailing bytes after the end record at offset {}",
                                           extra, e.offsets.back()));
    }
    // Two containers back to back are not one container.
    Bytes twice = e.bytes;
    twice.insert(twice.end(), e.bytes.begin(), e.bytes.end());
    EXPECT_TRUE(has(error_of(twice), "trailing bytes after the end record"));
}

TEST(ContainerHostileTest, MissingEndRecord) {
    const Encoded e = encode(sample_header(), sample_records(), RawEnd::absent());
    EXPECT_EQ(error_of(e.bytes), "truncated snapshot: 5 records read, end record missing");
}

TEST(ContainerHostileTest, EndRecordWithAWrongCount) {
    for (uint64_t count : {uint64_t{0}, uint64_t{4}, uint64_t{6}, ~uint64_t{0}}) {
        const Encoded e = encode(sample_header(), sample_records(), RawEnd::with_count(count));
        EXPECT_EQ(error_of(e.bytes),
                  fmt::format("record 0xffff at offset {}: end record counts {} records, 5 found",
                              e.offsets.back(), count));
    }
}

TEST(ContainerHostileTest, EndRecordWithAWrongWholeFileCrc) {
    const uint32_t right =
        crc32c_bitwise(encode(sample_header(), sample_records(), RawEnd::absent()).bytes);
    const Encoded e =
        encode(sample_header(), sample_records(), RawEnd::with_prefix_crc(right ^ 0x00010000u));
    EXPECT_EQ(error_of(e.bytes),
              fmt::format("record 0xffff at offset {}: whole-file CRC mismatch (stored {:#010x}, "
                          "computed {:#010x})",
                          e.offsets.back(), right ^ 0x00010000u, right));
}

TEST(ContainerHostileTest, EndRecordOfTheWrongSize) {
    const Encoded shorter =
        encode(sample_header(), sample_records(), RawEnd::with_payload(Bytes(8)));
    EXPECT_EQ(error_of(shorter.bytes),
              fmt::format("record 0xffff at offset {}: end record payload is 8 bytes, expected 12",
                          shorter.offsets.back()));
    const Encoded longer =
        encode(sample_header(), sample_records(), RawEnd::with_payload(Bytes(13)));
    EXPECT_EQ(error_of(longer.bytes),
              fmt::format("record 0xffff at offset {}: length 13 exceeds the limit for this record "
                          "type (12 bytes)",
                          longer.offsets.back()));
}

// A record CRC that is wrong while everything else is right (the end record's whole-file CRC
// is computed over the bytes as they are).
TEST(ContainerHostileTest, RecordCrcWrong) {
    auto records = sample_records();
    records[3].crc = 0xdeadbeef;
    const Encoded e = encode(sample_header(), records);
    EXPECT_EQ(
        error_of(e.bytes),
        fmt::format("record 0x0203 at offset {}: CRC mismatch (stored 0xdeadbeef, computed "
                    "{:#010x})",
                    e.offsets[3],
                    crc32c_bitwise(std::span<const uint8_t>(e.bytes).subspan(e.offsets[3], 16))));
}

}  // namespace
}  // namespace vx86::state
