#include "model/byte_ranges.h"

#include <algorithm>
#include <numeric>

namespace attnscope {

namespace {

// Indices of `ranges` in order of `begin`.
std::vector<std::size_t> byBegin(const std::vector<ByteRange>& ranges) {
    std::vector<std::size_t> order(ranges.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::sort(order.begin(), order.end(),
              [&](std::size_t a, std::size_t b) { return ranges[a].begin < ranges[b].begin; });
    return order;
}

}  // namespace

std::optional<RangeSlack> findSlack(const std::vector<ByteRange>& ranges, std::uint64_t end, std::uint64_t slack) {
    const std::vector<std::size_t> order = byBegin(ranges);
    for (std::size_t k = 0; k < order.size(); ++k) {
        const ByteRange& r = ranges[order[k]];
        const std::uint64_t next = k + 1 < order.size() ? ranges[order[k + 1]].begin : end;
        const std::uint64_t stop = r.begin + r.bytes;
        if (next > stop && next - stop >= slack) return RangeSlack{order[k], next - stop};
    }
    return std::nullopt;
}

std::optional<RangeOverlap> findOverlap(const std::vector<ByteRange>& ranges) {
    const std::vector<std::size_t> order = byBegin(ranges);
    std::optional<std::size_t> prev;
    for (std::size_t idx : order) {
        const ByteRange& r = ranges[idx];
        if (r.bytes == 0) continue;
        if (prev && r.begin < ranges[*prev].begin + ranges[*prev].bytes) return RangeOverlap{idx, *prev};
        prev = idx;
    }
    return std::nullopt;
}

}  // namespace attnscope
