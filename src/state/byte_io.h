// Little-endian encoding helpers for the snapshot format: a growable writer and a bounds-checked
// reader that never reads past its span (a short read sets a sticky error instead).
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace vx86::state {

class ByteWriter {
public:
    void u8(uint8_t v) { m_out.push_back(v); }
    void u16(uint16_t v) { le(v, 2); }
    void u32(uint32_t v) { le(v, 4); }
    void u64(uint64_t v) { le(v, 8); }
    void boolean(bool v) { u8(v ? 1 : 0); }
    void bytes(std::span<const uint8_t> b) { m_out.insert(m_out.end(), b.begin(), b.end()); }
    void zeros(size_t n) { m_out.resize(m_out.size() + n, 0); }
    size_t size() const { return m_out.size(); }
    std::vector<uint8_t>& data() { return m_out; }
    std::vector<uint8_t> take() { return std::move(m_out); }

private:
    void le(uint64_t v, unsigned n) {
        for (unsigned i = 0; i < n; ++i) m_out.push_back(static_cast<uint8_t>(v >> (8 * i)));
    }
    std::vector<uint8_t> m_out;
};

class ByteReader {
public:
    explicit ByteReader(std::span<const uint8_t> in) : m_in(in) {}
    uint8_t u8() { return static_cast<uint8_t>(le(1)); }
    uint16_t u16() { return static_cast<uint16_t>(le(2)); }
    uint32_t u32() { return static_cast<uint32_t>(le(4)); }
    uint64_t u64() { return le(8); }
    // A 0/1 byte; anything else is an error (flags in a snapshot are never "truthy").
    bool boolean() {
        const uint8_t v = u8();
        if (v > 1) fail("boolean byte is not 0 or 1");
        return v == 1;
    }
    // `n` bytes, or an empty span (and the error set) when fewer remain.
    std::span<const uint8_t> bytes(size_t n) {
        if (n > remaining()) {
            fail("truncated");
            m_pos = m_in.size();
            return {};
        }
        auto s = m_in.subspan(m_pos, n);
        m_pos += n;
        return s;
    }
    size_t remaining() const { return m_in.size() - m_pos; }
    size_t position() const { return m_pos; }
    bool ok() const { return m_error.empty(); }
    const std::string& error() const { return m_error; }
    // Records the first error only; later reads return zeros.
    void fail(std::string_view why) {
        if (m_error.empty()) m_error = std::string(why);
    }

private:
    uint64_t le(unsigned n) {
        if (n > remaining()) {
            fail("truncated");
            m_pos = m_in.size();
            return 0;
        }
        uint64_t v = 0;
        for (unsigned i = 0; i < n; ++i) v |= uint64_t{m_in[m_pos + i]} << (8 * i);
        m_pos += n;
        return v;
    }
    std::span<const uint8_t> m_in;
    size_t m_pos = 0;
    std::string m_error;
};

}  // namespace vx86::state
