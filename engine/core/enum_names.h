#pragma once
// Names of enum values, as one table per enum: the name of value e is names[e]. Used for every
// enum that the CLI, files and the GUI spell out ("parallel", "per-chunk", ...), so that the
// spelling and the parsing of a value come from the same table.
#include <cstddef>
#include <optional>
#include <string_view>

namespace attnscope {

// names[e], or "?" for a value outside the table.
template <typename E, std::size_t N>
constexpr const char* enumName(E e, const char* const (&names)[N]) {
    const auto i = static_cast<std::size_t>(e);
    return i < N ? names[i] : "?";
}

// The value whose name is `s`, if any.
template <typename E, std::size_t N>
std::optional<E> enumFromName(std::string_view s, const char* const (&names)[N]) {
    for (std::size_t i = 0; i < N; ++i)
        if (s == names[i]) return static_cast<E>(i);
    return std::nullopt;
}

}  // namespace attnscope
