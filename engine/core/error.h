#pragma once
// Errors are values: every fallible engine call returns Result<T>, never throws across the
// engine boundary and never aborts on bad input. An Error names the file, the byte offset
// (when it makes sense) and a reason a user can act on.
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace attnscope {

enum class ErrorKind {
    Io,            // cannot open / read / map a file
    Format,        // the file is not what it claims (magic, truncation, bounds, shapes)
    Unsupported,   // valid file, but an architecture / dtype / feature we do not run
    InvalidInput,  // bad user input (context, options, arguments)
    Cancelled,     // a stop was requested
    Backend,       // a compute backend failed (out of memory, kernel error)
    NonFinite,     // a run produced a NaN or an infinity (broken weights, a wrong tensor type)
    Internal,
};

struct Error {
    ErrorKind kind = ErrorKind::Internal;
    std::string file;                     // empty when not about a file
    std::optional<std::uint64_t> offset;  // byte offset in `file`, when known
    std::string message;

    // "FILE: at byte N: message" (parts omitted when absent).
    std::string describe() const;
};

Error makeError(ErrorKind kind, std::string message, std::string file = {},
                std::optional<std::uint64_t> offset = std::nullopt);

const char* errorKindName(ErrorKind kind);

// Minimal expected-like result (C++20 has no std::expected).
template <typename T>
class [[nodiscard]] Result {
public:
    Result(T value) : v_(std::move(value)) {}      // NOLINT(implicit)
    Result(Error error) : v_(std::move(error)) {}  // NOLINT(implicit)
    bool ok() const { return v_.index() == 0; }
    explicit operator bool() const { return ok(); }
    T& value() & { return std::get<0>(v_); }
    const T& value() const& { return std::get<0>(v_); }
    T&& value() && { return std::get<0>(std::move(v_)); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    const Error& error() const { return std::get<1>(v_); }
    Error&& takeError() { return std::get<1>(std::move(v_)); }

private:
    std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
public:
    Result() = default;
    Result(Error error) : err_(std::move(error)) {}  // NOLINT(implicit)
    bool ok() const { return !err_.has_value(); }
    explicit operator bool() const { return ok(); }
    const Error& error() const { return *err_; }
    Error&& takeError() { return std::move(*err_); }

private:
    std::optional<Error> err_;
};

}  // namespace attnscope

// Propagate an error from an expression returning Result<...>.
#define ATTN_TRY(expr)                                         \
    do {                                                       \
        auto&& attn_try_r_ = (expr);                           \
        if (!attn_try_r_.ok()) return attn_try_r_.takeError(); \
    } while (0)

// Declare `var` as the value of an expression returning Result<T>, or propagate its error:
//   ATTN_ASSIGN(cfg, readConfig(path));   // cfg is a T from here on
#define ATTN_ASSIGN(var, expr)                       \
    auto var##_r_ = (expr);                          \
    if (!var##_r_.ok()) return var##_r_.takeError(); \
    auto var = std::move(var##_r_.value())

// Assign the value of an expression returning Result<T> to an existing `target`, or propagate
// its error:  ATTN_SET(keys.dim, readInt("dim"));
#define ATTN_SET(target, expr)                                 \
    do {                                                       \
        auto&& attn_set_r_ = (expr);                           \
        if (!attn_set_r_.ok()) return attn_set_r_.takeError(); \
        (target) = std::move(attn_set_r_.value());             \
    } while (0)
