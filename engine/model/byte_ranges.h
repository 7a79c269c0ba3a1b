#pragma once
// Tensor data ranges inside a file's data section, as the container parsers (GGUF, safetensors)
// check them: no two non-empty ranges may share a byte.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace attnscope {

// [begin, begin + bytes), in bytes from the start of the data section.
struct ByteRange {
    std::uint64_t begin = 0;
    std::uint64_t bytes = 0;
};

// Two overlapping ranges, as indices into the list given to findOverlap: `later` starts inside
// `earlier`.
struct RangeOverlap {
    std::size_t later = 0;
    std::size_t earlier = 0;
};

// The first overlap met walking the non-empty ranges in order of `begin`; nullopt when none
// overlap. Empty ranges never overlap anything.
std::optional<RangeOverlap> findOverlap(const std::vector<ByteRange>& ranges);

}  // namespace attnscope
