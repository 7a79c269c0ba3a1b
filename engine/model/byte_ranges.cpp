#include "model/byte_ranges.h"

#include <algorithm>
#include <numeric>

namespace attnscope {

std::optional<RangeOverlap> findOverlap(const std::vector<ByteRange>& ranges) {
    std::vector<std::size_t> order(ranges.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::sort(order.begin(), order.end(),
              [&](std::size_t a, std::size_t b) { return ranges[a].begin < ranges[b].begin; });
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
