#pragma once
// Helpers shared by the app tests.
#include <QDir>
#include <QFileInfo>
#include <QStandardPaths>
#include <QString>

#include <cstdlib>

#include "analysis/attention_tile.h"
#include "heatmap_data.h"

namespace apptest {

// The bundled demo model, or empty when ATTNSCOPE_MODELS does not hold it.
inline QString demoModelPath() {
    const char* dir = std::getenv("ATTNSCOPE_MODELS");
    if (!dir) return {};
    const QString p = QDir(QString::fromLocal8Bit(dir)).filePath(QStringLiteral("stories260K.gguf"));
    return QFileInfo::exists(p) ? p : QString();
}

// The demo context shipped with the app (resources/demo_context.json).
inline QString demoContextPath() { return QStringLiteral(":/demo/demo_context.json"); }

// The engine's tile request for what `cells` show of `layer` and `head`: the same token ranges,
// one output cell per shown cell.
inline attnscope::AttentionTileRequest tileRequestFor(const attnscope::widgets::HeatmapCells& cells, int layer,
                                                      int head) {
    attnscope::AttentionTileRequest req;
    req.layer = layer;
    req.head = head;
    req.rowBegin = cells.rowEdges.front();
    req.rowEnd = cells.rowEdges.back();
    req.colBegin = cells.colEdges.front();
    req.colEnd = cells.colEdges.back();
    req.outRows = cells.rows;
    req.outCols = cells.cols;
    return req;
}

}  // namespace apptest
