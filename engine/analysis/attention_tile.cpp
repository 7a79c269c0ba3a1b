#include "analysis/attention_tile.h"

#include <algorithm>

namespace attnscope {

Result<AttentionTile> prepareAttentionTile(const AttentionTileRequest& in, int tokens, int layers, int heads) {
    AttentionTileRequest req = in;
    if (req.layer < 0 || req.layer >= layers) return makeError(ErrorKind::InvalidInput, "layer out of range");
    if (req.head < -1 || req.head >= heads) return makeError(ErrorKind::InvalidInput, "head out of range");
    req.rowBegin = std::clamp(req.rowBegin, 0, tokens);
    req.rowEnd = std::clamp(req.rowEnd, req.rowBegin, tokens);
    req.colBegin = std::clamp(req.colBegin, 0, tokens);
    req.colEnd = std::clamp(req.colEnd, req.colBegin, tokens);
    const int nr = req.rowEnd - req.rowBegin, nc = req.colEnd - req.colBegin;
    req.outRows = std::clamp(req.outRows <= 0 ? nr : req.outRows, nr > 0 ? 1 : 0, nr);
    req.outCols = std::clamp(req.outCols <= 0 ? nc : req.outCols, nc > 0 ? 1 : 0, nc);

    AttentionTile tile;
    tile.request = req;
    tile.rows = req.outRows;
    tile.cols = req.outCols;
    tile.values.assign(static_cast<std::size_t>(tile.rows) * tile.cols, 0.0f);
    for (int r = 0; r <= tile.rows; ++r)
        tile.rowEdges.push_back(req.rowBegin +
                                static_cast<int>(static_cast<long long>(r) * nr / std::max(1, tile.rows)));
    for (int c = 0; c <= tile.cols; ++c)
        tile.colEdges.push_back(req.colBegin +
                                static_cast<int>(static_cast<long long>(c) * nc / std::max(1, tile.cols)));
    return tile;
}

void divideBinsByCellCount(AttentionTile& tile) {
    for (int r = 0; r < tile.rows; ++r)
        for (int c = 0; c < tile.cols; ++c) {
            const long long cells =
                static_cast<long long>(tile.rowEdges[static_cast<std::size_t>(r) + 1] -
                                       tile.rowEdges[static_cast<std::size_t>(r)]) *
                (tile.colEdges[static_cast<std::size_t>(c) + 1] - tile.colEdges[static_cast<std::size_t>(c)]);
            if (cells > 0) tile.values[static_cast<std::size_t>(r) * tile.cols + c] /= static_cast<float>(cells);
        }
}

}  // namespace attnscope
