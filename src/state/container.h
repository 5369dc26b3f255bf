// The vx86 snapshot container: one self-describing byte string for a whole VM, used both as a
// file and (record by record) as the live-migration stream. All integers are little-endian.
//
//   header (64 bytes)
//     0  magic "VX86STAT"            8  format_major u16     10 format_minor u16
//     12 header_size u32 (64)        16 flags u32            20 producer version u32 x 3
//     32 machine fingerprint (24 bytes, opaque to the container)
//     56 reserved u32 (0)            60 crc32c of bytes 0..59
//   records, each
//     type u32, version u16, flags u16 (bit 0: CRITICAL), length u64, payload, crc32c u32 over
//     type..payload
//   end record: type 0xFFFF, version 1, CRITICAL, payload = record count u64 (not counting the
//     end record) + crc32c u32 of every byte before the end record.
//
// Compatibility rule: a reader accepts every format_minor of its format_major (a newer minor
// only adds non-critical records or newer record versions, which the record rules below cover)
// and refuses another major. A record whose type the reader does not know is skipped unless it
// is CRITICAL; a record newer than the reader supports for its type is refused.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"

namespace vx86::state {

inline constexpr std::array<uint8_t, 8> kMagic = {'V', 'X', '8', '6', 'S', 'T', 'A', 'T'};
inline constexpr uint16_t kFormatMajor = 1;
inline constexpr uint16_t kFormatMinor = 0;
inline constexpr uint32_t kHeaderSize = 64;
inline constexpr uint32_t kRecordHeaderSize = 16;  // type, version, flags, length
inline constexpr uint32_t kRecordTrailerSize = 4;  // crc32c

// Header flags.
inline constexpr uint32_t kHeaderStream = 1u << 0;  // a migration stream rather than a file

// Record types.
enum RecordType : uint32_t {
    kRecMachineConfig = 0x0001,  // the options the machine was built with (must match on restore)
    kRecCpuModel = 0x0002,       // the CPUID model
    kRecMemoryLayout = 0x0010,   // RAM blocks
    kRecRamChunk = 0x0011,       // a run of pages of one RAM block
    kRecRamPages = 0x0012,       // migration: some pages of a run (the dirty ones of a pass)
    kRecDirtyLog = 0x0013,       // the dirty-page log of one RAM block (while logging is on)
    kRecVcpu = 0x0100,           // + vCPU index (0x0100..0x01ff)
    kRecDevice = 0x0200,         // + device index (0x0200..0x02ff)
    kRecIteration = 0x0f00,      // migration: end of one pre-copy pass
    kRecVerdict = 0x0f01,        // migration: the destination's answer (accepted or why not)
    kRecEnd = 0xffff,
};
inline constexpr uint16_t kRecordCritical = 1u << 0;

struct Header {
    uint16_t format_major = kFormatMajor;
    uint16_t format_minor = kFormatMinor;
    uint32_t flags = 0;
    std::array<uint32_t, 3> producer{};          // vx86 version that wrote it
    std::array<uint8_t, 24> fingerprint{};       // machine identity, compared by the restorer
};

// One record as found in the input: the payload points into the parsed bytes.
struct Record {
    uint32_t type = 0;
    uint16_t version = 0;
    uint16_t flags = 0;
    uint64_t offset = 0;  // of the record header in the input, for messages
    std::span<const uint8_t> payload;
};

// Largest payload accepted for a record type (checked before anything is allocated or read).
uint64_t max_payload(uint32_t type);

// Appends records; finish() adds the end record and returns the whole container.
class ContainerWriter {
public:
    explicit ContainerWriter(const Header& header);
    void add(uint32_t type, uint16_t version, uint16_t flags, std::span<const uint8_t> payload);
    std::vector<uint8_t> finish();
    size_t size() const { return m_out.size(); }
    // Room for `bytes` more without reallocating (a RAM-sized snapshot grows in one piece); a
    // hint only: if the host refuses that much address space, the buffer grows as needed.
    void reserve(size_t bytes);
    // The bytes added since the last drain (a stream sends them as it goes); the end record's
    // whole-prefix CRC still covers them.
    std::vector<uint8_t> drain();

private:
    std::vector<uint8_t> m_out;
    uint64_t m_records = 0;
    uint32_t m_drained_crc = 0;  // of the bytes drain() handed out
};

// For each record type the reader knows, the newest version it decodes; 0 = unknown type.
using SupportedVersion = std::function<uint16_t(uint32_t type)>;

// Where container bytes come from: a buffer (a file read whole) or a socket (a migration stream).
class ByteSource {
public:
    virtual ~ByteSource() = default;
    // The next `n` bytes, or fewer only at the end of the input. The span stays valid until the
    // next call (for a buffer: as long as the buffer). Errors are the transport's (ErrorCode::Io).
    virtual base::Result<std::span<const uint8_t>> take(uint64_t n) = 0;
    // Bytes consumed so far (the offset that messages name).
    virtual uint64_t offset() const = 0;
};

class SpanSource final : public ByteSource {
public:
    explicit SpanSource(std::span<const uint8_t> bytes) : m_bytes(bytes) {}
    base::Result<std::span<const uint8_t>> take(uint64_t n) override;
    uint64_t offset() const override { return m_pos; }
    uint64_t remaining() const { return m_bytes.size() - m_pos; }

private:
    std::span<const uint8_t> m_bytes;
    uint64_t m_pos = 0;
};

// Reads a container record by record with every check parse_container makes, so a stream can be
// applied as it arrives. next() returns the records the reader knows (unknown non-critical ones
// are skipped and listed in skipped()), then std::nullopt once the end record has been checked.
class ContainerReader {
public:
    ContainerReader(ByteSource& source, SupportedVersion supported);
    base::Result<Header> header();
    base::Result<std::optional<Record>> next();
    const std::vector<uint32_t>& skipped() const { return m_skipped; }
    uint64_t records() const { return m_count; }

private:
    ByteSource& m_src;
    SupportedVersion m_supported;
    uint64_t m_count = 0;     // records before the end record
    uint32_t m_prefix_crc = 0;  // of every byte read so far
    std::vector<uint32_t> m_skipped;
};

struct Container {
    Header header;
    std::vector<Record> records;       // in file order, without the end record and skipped ones
    std::vector<uint32_t> skipped;     // unknown non-critical record types that were skipped
};

// Parses and checks the whole container: header (magic, major, size, CRC), every record
// (length within the input and max_payload, CRC, known or non-critical, version supported),
// the end record (present, last, count and whole-file CRC). Errors are ErrorCode::BadImage
// with a message naming the cause and the byte offset, e.g.
//   "not a vx86 snapshot (magic 'QEVM...')"
//   "snapshot format 2.0 needs a newer vx86 (this one reads format 1.x)"
//   "truncated snapshot: 3 records read, end record missing"
//   "record 0x0100 at offset 1234: CRC mismatch"
//   "record 0x0100 at offset 1234: version 3 needs a newer vx86 (this one reads up to 1)"
base::Result<Container> parse_container(std::span<const uint8_t> bytes,
                                        const SupportedVersion& supported);

// Only the header (for `vx86 inspect` on damaged files, and early rejection in migration).
base::Result<Header> parse_header(std::span<const uint8_t> bytes);

}  // namespace vx86::state
