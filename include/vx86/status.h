// Errors as values for the public API: every fallible call returns Status or Result<T>.
// A Status carries a code a program can switch on and a sentence a person can act on.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <variant>

namespace vx86 {

enum class ErrorCode : uint8_t {
    Ok = 0,
    InvalidArgument,  // a caller-supplied value is out of range or malformed
    Overlap,          // a region collides with an existing one
    Misaligned,       // an address or size is not page aligned
    NotFound,         // no such slot, device or file
    Io,               // the host file system refused
    BadImage,         // a firmware, kernel or state image is malformed
    Unsupported,      // valid request, not implemented by this model
    State,            // the call is not legal in the current state
};

class Status {
public:
    Status() = default;
    Status(ErrorCode code, std::string message) : m_code(code), m_message(std::move(message)) {}
    static Status ok() { return {}; }

    bool is_ok() const { return m_code == ErrorCode::Ok; }
    explicit operator bool() const { return is_ok(); }
    ErrorCode code() const { return m_code; }
    const std::string& message() const { return m_message; }

private:
    ErrorCode m_code = ErrorCode::Ok;
    std::string m_message;
};

template <typename T>
class Result {
public:
    Result(T value) : m_v(std::move(value)) {}
    Result(Status error) : m_v(std::move(error)) {}
    Result(ErrorCode code, std::string message) : m_v(Status(code, std::move(message))) {}

    bool is_ok() const { return m_v.index() == 0; }
    explicit operator bool() const { return is_ok(); }
    T& value() { return std::get<0>(m_v); }
    const T& value() const { return std::get<0>(m_v); }
    T& operator*() { return value(); }
    T* operator->() { return &value(); }
    Status status() const { return is_ok() ? Status() : std::get<1>(m_v); }
    const std::string& message() const {
        static const std::string empty;
        return is_ok() ? empty : std::get<1>(m_v).message();
    }

private:
    std::variant<T, Status> m_v;
};

}  // namespace vx86
