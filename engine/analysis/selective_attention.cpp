#include "analysis/selective_attention.h"

#include <algorithm>
#include <functional>
#include <numeric>

namespace attnscope {

bool selectionActive(const SelectiveAttention& sel, int chunks, int queries) {
    return sel.enabled() && chunks > sel.topK && queries > 0;
}

void keepTopK(const float* scores, int chunks, int k, std::uint8_t* keep, std::vector<int>& order) {
    if (k >= chunks) {
        std::fill(keep, keep + chunks, std::uint8_t{1});
        return;
    }
    order.resize(static_cast<std::size_t>(chunks));
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return scores[a] > scores[b]; });
    std::fill(keep, keep + chunks, std::uint8_t{0});
    for (int i = 0; i < k; ++i) keep[order[static_cast<std::size_t>(i)]] = 1;
}

namespace {

// heads-queries: per chunk, the sum of its kAggregateTopN largest (head, query) scores.
std::vector<float> layerScores(const float* scores, std::size_t rows, int chunks) {
    std::vector<float> out(static_cast<std::size_t>(chunks)), column;
    for (int c = 0; c < chunks; ++c) {
        column.clear();
        for (std::size_t hq = 0; hq < rows; ++hq) column.push_back(scores[hq * static_cast<std::size_t>(chunks) + c]);
        const int n = std::min<int>(kAggregateTopN, static_cast<int>(column.size()));
        std::partial_sort(column.begin(), column.begin() + n, column.end(), std::greater<float>());
        out[static_cast<std::size_t>(c)] = static_cast<float>(std::accumulate(column.begin(), column.begin() + n, 0.0));
    }
    return out;
}

}  // namespace

void selectChunks(const float* scores, int heads, int queries, int chunks, const SelectiveAttention& sel,
                  std::uint8_t* keep) {
    const std::size_t rows = static_cast<std::size_t>(heads) * queries;
    const auto P = static_cast<std::size_t>(chunks);
    std::vector<int> order;
    if (sel.aggregation == SelectAggregation::None) {
        for (std::size_t hq = 0; hq < rows; ++hq) keepTopK(scores + hq * P, chunks, sel.topK, keep + hq * P, order);
        return;
    }
    const std::vector<float> perLayer = layerScores(scores, rows, chunks);
    std::vector<std::uint8_t> layerKeep(P);
    keepTopK(perLayer.data(), chunks, sel.topK, layerKeep.data(), order);
    for (std::size_t hq = 0; hq < rows; ++hq) std::copy(layerKeep.begin(), layerKeep.end(), keep + hq * P);
}

void selectChunksOfCall(const float* scores, int heads, int queries, int firstQuery, int chunks,
                        const SelectiveAttention& sel, std::uint8_t* keep) {
    const int callRows = queries - firstQuery;
    if (callRows <= 0) return;
    const auto P = static_cast<std::size_t>(chunks), rowFloats = static_cast<std::size_t>(callRows) * P;
    std::vector<float> callScores(static_cast<std::size_t>(heads) * rowFloats);
    std::vector<std::uint8_t> callKeep(callScores.size());
    auto rowsOf = [&](int h) { return (static_cast<std::size_t>(h) * queries + firstQuery) * P; };
    for (int h = 0; h < heads; ++h)
        std::copy_n(scores + rowsOf(h), rowFloats, callScores.begin() + static_cast<std::ptrdiff_t>(h * rowFloats));
    selectChunks(callScores.data(), heads, callRows, chunks, sel, callKeep.data());
    for (int h = 0; h < heads; ++h)
        std::copy_n(callKeep.begin() + static_cast<std::ptrdiff_t>(h * rowFloats), rowFloats, keep + rowsOf(h));
}

}  // namespace attnscope
