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

// A range followed by `slack` or more bytes that no range covers, up to the next range (or up
// to `end` for the last): in a container that packs its tensors, a sign that a range's size,
// computed from its type tag, is smaller than the data written for it. The first such range in
// order of `begin`, as an index into `ranges`, with the unused bytes; nullopt when none.
struct RangeSlack {
    std::size_t range = 0;
    std::uint64_t unused = 0;
};
std::optional<RangeSlack> findSlack(const std::vector<ByteRange>& ranges, std::uint64_t end, std::uint64_t slack);

}  // namespace attnscope
