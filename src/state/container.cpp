// The snapshot container: the 64-byte header, CRC-framed records and the end record (layout and
// rules in container.h). Every length read from the input is checked before it is used.
#include "state/container.h"

#include <fmt/format.h>

#include <algorithm>
#include <exception>
#include <string_view>

#include "state/byte_io.h"
#include "state/crc32c.h"

namespace vx86::state {
namespace {

using base::ErrorCode;
using base::Result;
using base::Status;

constexpr uint64_t kKiB = 1024;
constexpr uint64_t kMiB = 1024 * kKiB;
constexpr uint64_t kMaxRecords = uint64_t{1} << 24;
constexpr uint64_t kEndPayloadSize = 12;  // record count u64 + whole-prefix CRC u32
constexpr uint16_t kEndVersion = 1;
constexpr size_t kHeaderCrcOffset = 60;     // the CRC covers bytes 0..59
constexpr size_t kVersionFieldsEnd = 12;    // magic + format_major + format_minor
constexpr uint32_t kTypesPerRange = 0x100;  // vCPU and device indices

Status bad(std::string message) {
    return {ErrorCode::BadImage, std::move(message)};
}

// The magic as the user would want to see it: printable ASCII as is, anything else as \xNN.
std::string printable(std::span<const uint8_t> bytes) {
    std::string out;
    for (uint8_t b : bytes) {
        if (b >= 0x20 && b < 0x7f && b != '\'' && b != '\\')
            out += static_cast<char>(b);
        else
            out += fmt::format("\\x{:02x}", b);
    }
    return out;
}

std::string records_read(uint64_t n) {
    return fmt::format("{} record{} read", n, n == 1 ? "" : "s");
}

uint32_t load_u32(std::span<const uint8_t> bytes, size_t at) {
    ByteReader r(bytes.subspan(at, 4));
    return r.u32();
}

void put_le(std::vector<uint8_t>& out, uint64_t v, unsigned n) {
    for (unsigned i = 0; i < n; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

// CRC combination, so that the whole-prefix CRC of the end record costs no second pass over
// large records: crc(A || B) = crc(A) * x^(8 |B|) mod P  xor  crc(B). Polynomials are stored
// reflected, so x^0 is bit 31.
constexpr uint32_t kPoly = 0x82F63B78;

constexpr uint32_t mul_mod_p(uint32_t a, uint32_t b) {
    uint32_t product = 0;
    for (uint32_t m = 1u << 31; m != 0; m >>= 1) {
        if (a & m) product ^= b;
        b = (b & 1) ? (b >> 1) ^ kPoly : b >> 1;  // b *= x
    }
    return product;
}

// x^(2^k) mod P for k = 0..63.
constexpr std::array<uint32_t, 64> make_x_pow2k() {
    std::array<uint32_t, 64> t{};
    t[0] = 1u << 30;  // x^1
    for (size_t k = 1; k < t.size(); ++k) t[k] = mul_mod_p(t[k - 1], t[k - 1]);
    return t;
}
constexpr std::array<uint32_t, 64> kXPow2k = make_x_pow2k();

uint32_t crc32c_combine(uint32_t crc_a, uint32_t crc_b, uint64_t len_b) {
    // Multiply crc_a by x^(8 len_b) one set bit of len_b at a time (x^8 = x^(2^3)).
    for (size_t k = 3; len_b != 0 && k < kXPow2k.size(); ++k, len_b >>= 1)
        if (len_b & 1) crc_a = mul_mod_p(kXPow2k[k], crc_a);
    return crc_a ^ crc_b;
}

// Below this size a second CRC pass is cheaper than combining (which costs up to 30 multiplies).
constexpr uint64_t kCombineThreshold = 512;

std::string header_crc_mismatch(uint32_t stored, uint32_t computed) {
    return fmt::format(
        "snapshot header at offset 0: CRC mismatch (stored {:#010x}, computed {:#010x})", stored,
        computed);
}

}  // namespace

uint64_t max_payload(uint32_t type) {
    switch (type) {
        case kRecMachineConfig:
        case kRecCpuModel:
        case kRecMemoryLayout:
            return 64 * kKiB;
        case kRecRamChunk:
        case kRecRamPages:
            return 16 * kMiB + 4 * kKiB;
        case kRecIteration:
            return 64;
        case kRecVerdict:
            return 64 * kKiB;
        case kRecEnd:
            return kEndPayloadSize;
        default:
            break;
    }
    if (type >= kRecVcpu && type < kRecVcpu + kTypesPerRange) return 1 * kMiB;
    if (type >= kRecDevice && type < kRecDevice + kTypesPerRange) return 1 * kMiB;
    return 16 * kMiB;
}

ContainerWriter::ContainerWriter(const Header& header) {
    m_out.reserve(kHeaderSize);
    m_out.insert(m_out.end(), kMagic.begin(), kMagic.end());
    put_le(m_out, header.format_major, 2);
    put_le(m_out, header.format_minor, 2);
    put_le(m_out, kHeaderSize, 4);
    put_le(m_out, header.flags, 4);
    for (uint32_t v : header.producer) put_le(m_out, v, 4);
    m_out.insert(m_out.end(), header.fingerprint.begin(), header.fingerprint.end());
    put_le(m_out, 0, 4);  // reserved
    put_le(m_out, crc32c(m_out), 4);
}

void ContainerWriter::add(uint32_t type, uint16_t version, uint16_t flags,
                          std::span<const uint8_t> payload) {
    const size_t start = m_out.size();
    put_le(m_out, type, 4);
    put_le(m_out, version, 2);
    put_le(m_out, flags, 2);
    put_le(m_out, payload.size(), 8);
    m_out.insert(m_out.end(), payload.begin(), payload.end());
    put_le(m_out, crc32c(std::span<const uint8_t>(m_out).subspan(start)), 4);
    ++m_records;
}

void ContainerWriter::reserve(size_t bytes) {
    try {
        m_out.reserve(m_out.size() + bytes);
    } catch (const std::exception&) {
        // Only a hint.
    }
}

std::vector<uint8_t> ContainerWriter::drain() {
    m_drained_crc = crc32c(m_out, m_drained_crc);
    std::vector<uint8_t> out;
    out.swap(m_out);
    return out;
}

std::vector<uint8_t> ContainerWriter::finish() {
    std::vector<uint8_t> end;
    put_le(end, m_records, 8);
    put_le(end, crc32c(m_out, m_drained_crc), 4);
    add(kRecEnd, kEndVersion, kRecordCritical, end);
    m_records = 0;
    return std::move(m_out);
}

Result<Header> parse_header(std::span<const uint8_t> bytes) {
    if (bytes.empty()) return bad("not a vx86 snapshot (empty input)");
    const auto magic = bytes.first(std::min(bytes.size(), kMagic.size()));
    if (!std::equal(magic.begin(), magic.end(), kMagic.begin()))
        return bad(fmt::format("not a vx86 snapshot (magic '{}')", printable(magic)));
    const auto incomplete = [&] {
        return bad(fmt::format("truncated snapshot: header incomplete ({} of {} bytes)",
                               bytes.size(), kHeaderSize));
    };
    if (bytes.size() < kVersionFieldsEnd) return incomplete();

    ByteReader r(bytes.first(std::min<size_t>(bytes.size(), kHeaderSize)));
    r.bytes(kMagic.size());
    Header h;
    h.format_major = r.u16();
    h.format_minor = r.u16();
    // The format check comes before the size and CRC checks: a file of another major may have a
    // different header, and must still get an error that names its format.
    const bool complete = bytes.size() >= kHeaderSize;
    const uint32_t stored_crc = complete ? load_u32(bytes, kHeaderCrcOffset) : 0;
    const uint32_t computed_crc = complete ? crc32c(bytes.first(kHeaderCrcOffset)) : 0;
    if (h.format_major != kFormatMajor) {
        std::string msg = fmt::format(
            "snapshot format {}.{} needs {} vx86 (this one reads format {}.x)", h.format_major,
            h.format_minor, h.format_major > kFormatMajor ? "a newer" : "an older", kFormatMajor);
        if (complete && stored_crc != computed_crc)
            msg += ", or its header at offset 0 is damaged (CRC mismatch)";
        return bad(std::move(msg));
    }
    if (!complete) return incomplete();
    if (stored_crc != computed_crc) return bad(header_crc_mismatch(stored_crc, computed_crc));

    const uint32_t header_size = r.u32();
    h.flags = r.u32();
    for (uint32_t& v : h.producer) v = r.u32();
    const auto fp = r.bytes(h.fingerprint.size());
    std::copy(fp.begin(), fp.end(), h.fingerprint.begin());
    (void)r.u32();  // reserved: written as 0, ignored so that a later minor may use it
    if (header_size != kHeaderSize)
        return bad(fmt::format(
            "snapshot header at offset 0: header_size {} (format {}.x headers are {} bytes)",
            header_size, kFormatMajor, kHeaderSize));
    return h;
}

Result<std::span<const uint8_t>> SpanSource::take(uint64_t n) {
    const uint64_t k = std::min<uint64_t>(n, m_bytes.size() - m_pos);
    const auto out = m_bytes.subspan(m_pos, k);
    m_pos += k;
    return out;
}

ContainerReader::ContainerReader(ByteSource& source, SupportedVersion supported)
    : m_src(source), m_supported(std::move(supported)) {}

Result<Header> ContainerReader::header() {
    auto bytes = m_src.take(kHeaderSize);
    if (!bytes) return bytes.status();
    auto h = parse_header(*bytes);
    if (h) m_prefix_crc = crc32c(*bytes);
    return h;
}

Result<std::optional<Record>> ContainerReader::next() {
    for (;;) {
        const uint64_t pos = m_src.offset();
        auto head = m_src.take(kRecordHeaderSize);
        if (!head) return head.status();
        if (head->size() < kRecordHeaderSize) {
            if (head->empty())
                return bad(fmt::format("truncated snapshot: {}, end record missing",
                                       records_read(m_count)));
            return bad(fmt::format(
                "truncated snapshot: record header at offset {} incomplete ({} of {} bytes); {}, "
                "end record missing",
                pos, head->size(), kRecordHeaderSize, records_read(m_count)));
        }
        std::array<uint8_t, kRecordHeaderSize> header;
        std::copy(head->begin(), head->end(), header.begin());
        ByteReader r(header);
        const uint32_t type = r.u32();
        const uint16_t version = r.u16();
        const uint16_t flags = r.u16();
        const uint64_t length = r.u64();
        // Only formatted on the way out: a container may hold millions of records.
        const auto where = [&] { return fmt::format("record {:#06x} at offset {}", type, pos); };

        // The cap first: it bounds `length` so that nothing below can overflow.
        const uint64_t cap = max_payload(type);
        if (length > cap)
            return bad(
                fmt::format("{}: length {} exceeds the limit for this record type ({} bytes)",
                            where(), length, cap));
        auto body = m_src.take(length + kRecordTrailerSize);
        if (!body) return body.status();
        if (body->size() < length + kRecordTrailerSize)
            return bad(fmt::format(
                "truncated snapshot: {} needs {} bytes after its header, {} remain; {}, end record "
                "missing",
                where(), length + kRecordTrailerSize, body->size(), records_read(m_count)));

        const auto payload = body->first(length);
        const uint32_t stored_crc = load_u32(*body, length);
        const uint32_t computed_crc = crc32c(payload, crc32c(header));
        if (stored_crc != computed_crc)
            return bad(fmt::format("{}: CRC mismatch (stored {:#010x}, computed {:#010x})", where(),
                                   stored_crc, computed_crc));

        if (type == kRecEnd) {
            if (version != kEndVersion)
                return bad(fmt::format("{}: end record version {} is not {}", where(), version,
                                       kEndVersion));
            if (length != kEndPayloadSize)
                return bad(fmt::format("{}: end record payload is {} bytes, expected {}", where(),
                                       length, kEndPayloadSize));
            ByteReader end(payload);
            const uint64_t stored_count = end.u64();
            const uint32_t stored_prefix = end.u32();
            if (stored_count != m_count)
                return bad(fmt::format("{}: end record counts {} records, {} found", where(),
                                       stored_count, m_count));
            if (stored_prefix != m_prefix_crc)
                return bad(
                    fmt::format("{}: whole-file CRC mismatch (stored {:#010x}, computed {:#010x})",
                                where(), stored_prefix, m_prefix_crc));
            return std::optional<Record>();
        }

        if (m_count == kMaxRecords)
            return bad(fmt::format("{}: more than {} records", where(), kMaxRecords));
        const uint64_t framed = kRecordHeaderSize + length;
        if (framed < kCombineThreshold)
            m_prefix_crc = crc32c(payload, crc32c(header, m_prefix_crc));
        else
            m_prefix_crc = crc32c_combine(m_prefix_crc, computed_crc, framed);
        m_prefix_crc = crc32c(body->subspan(length), m_prefix_crc);
        ++m_count;

        const uint16_t newest = m_supported ? m_supported(type) : 0;
        if (newest == 0) {
            if (flags & kRecordCritical)
                return bad(fmt::format(
                    "{}: critical record of a type this vx86 does not know (needs a newer vx86)",
                    where()));
            m_skipped.push_back(type);
            continue;
        }
        if (version == 0)
            return bad(fmt::format("{}: version 0 is not a valid record version", where()));
        if (version > newest)
            return bad(fmt::format("{}: version {} needs a newer vx86 (this one reads up to {})",
                                   where(), version, newest));
        return std::optional<Record>(Record{type, version, flags, pos, payload});
    }
}

Result<Container> parse_container(std::span<const uint8_t> bytes,
                                  const SupportedVersion& supported) {
    SpanSource src(bytes);
    ContainerReader reader(src, supported);
    auto header = reader.header();
    if (!header) return header.status();
    Container c;
    c.header = *header;
    for (;;) {
        auto rec = reader.next();
        if (!rec) return rec.status();
        if (!*rec) break;
        c.records.push_back(**rec);
    }
    c.skipped = reader.skipped();
    if (src.remaining()) {
        const uint64_t end_at = src.offset() - kRecordHeaderSize - kEndPayloadSize - kRecordTrailerSize;
        return bad(fmt::format("{} trailing bytes after the end record at offset {}",
                               src.remaining(), end_at));
    }
    return c;
}

}  // namespace vx86::state
