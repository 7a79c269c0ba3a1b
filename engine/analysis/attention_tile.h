#pragma once
// Pooled attention probabilities for a window of the (virtual) N×N attention matrix of one
// layer and one head (or the mean over heads). Rows are attending tokens, columns are keys,
// both in physical order. Recomputed from kept Q/K: nothing N×N is ever stored.
#include <cstdint>
#include <vector>

#include "core/error.h"

namespace attnscope {

enum class TilePooling { Mean, Max };

struct AttentionTileRequest {
    int layer = 0;
    int head = -1;                 // -1: mean over heads
    int rowBegin = 0, rowEnd = 0;  // attending tokens [rowBegin, rowEnd)
    int colBegin = 0, colEnd = 0;  // keys [colBegin, colEnd)
    int outRows = 0, outCols = 0;  // requested size; clamped to the window size (no upsampling)
    TilePooling pooling = TilePooling::Mean;
};

struct AttentionTile {
    AttentionTileRequest request;  // as served (outRows/outCols after clamping)
    int rows = 0, cols = 0;
    std::vector<float> values;  // [rows][cols] probabilities (pooled); 0 where not visible
    // Bin edges in token indices: row r covers tokens [rowEdges[r], rowEdges[r+1]).
    std::vector<int> rowEdges, colEdges;
    float at(int r, int c) const { return values[static_cast<std::size_t>(r) * cols + c]; }
};

// Validates a request against the run's shape (layer, head), clamps the ranges to [0, tokens),
// clamps the output size to the window (0 or negative: full resolution, no upsampling) and returns
// an empty tile with its bin edges set and all values 0. Shared by every backend.
Result<AttentionTile> prepareAttentionTile(const AttentionTileRequest& request, int tokens, int layers, int heads);

// Mean pooling, last step: backends add up each bin's cell values; this divides every bin by
// its number of cells. (Max pooling needs no last step.)
void divideBinsByCellCount(AttentionTile& tile);

}  // namespace attnscope
