// Renders every view with synthetic data to OUT_DIR (PNG, plus SVG/PDF of one view), for looking
// at the figures. Usage: widgets_render_samples OUT_DIR [--dark] [--presentation]
#include <cstdio>

#include <QApplication>
#include <QDir>
#include <QPalette>

#include "attention_heatmap.h"
#include "context_view.h"
#include "entropy_by_layer_plot.h"
#include "entropy_sequence_plot.h"
#include "layer_head_grid.h"
#include "sweep_plot.h"
#include "synthetic_data.h"

using namespace attnscope::widgets;

namespace {

QPalette darkPalette() {
    QPalette p;
    p.setColor(QPalette::Window, QColor(0x2b, 0x2b, 0x2b));
    p.setColor(QPalette::WindowText, QColor(0xe6, 0xe6, 0xe6));
    p.setColor(QPalette::Base, QColor(0x1e, 0x1e, 0x1e));
    p.setColor(QPalette::Text, QColor(0xe6, 0xe6, 0xe6));
    p.setColor(QPalette::Button, QColor(0x35, 0x35, 0x35));
    p.setColor(QPalette::ButtonText, QColor(0xe6, 0xe6, 0xe6));
    return p;
}

bool save(FigureView& view, const QString& dir, const QString& name, const QString& ext = QStringLiteral("png")) {
    view.show();
    QApplication::processEvents();
    QString error;
    const QString path = dir + QLatin1Char('/') + name + QLatin1Char('.') + ext;
    if (!view.exportFigure(path, 1.5, &error)) {
        std::fprintf(stderr, "%s: %s\n", qPrintable(path), qPrintable(error));
        return false;
    }
    std::printf("%s\n", qPrintable(path));
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    QApplication app(argc, argv);
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s OUT_DIR [--dark] [--presentation]\n", argv[0]);
        return 2;
    }
    const QString dir = QString::fromLocal8Bit(argv[1]);
    bool dark = false, presentation = false;
    for (int i = 2; i < argc; ++i) {
        if (QByteArray(argv[i]) == "--dark") dark = true;
        if (QByteArray(argv[i]) == "--presentation") presentation = true;
    }
    if (dark) QApplication::setPalette(darkPalette());
    QDir().mkpath(dir);
    const QString suffix = QString(dark ? QStringLiteral("_dark") : QString()) +
                           (presentation ? QStringLiteral("_presentation") : QString());
    bool ok = true;

    // A small context where token labels fit, and a longer one that needs pooling.
    const TokenAxisInfo small = synthetic::axisInfo(4, 3, 10, 8);
    const std::vector<double> smallRows = synthetic::attentionRows(small);
    const TokenAxisInfo large = synthetic::axisInfo(16, 8, 120, 64);
    const std::vector<double> largeRows = synthetic::attentionRows(large);
    const int n = large.tokenCount();

    {
        AttentionHeatmap view;
        view.resize(760, 640);
        view.setPresentationMode(presentation);
        view.setTitle(QStringLiteral("layer 3 · mean of heads · parallel"));
        view.setAxisInfo(small);
        view.setTile(synthetic::pooledTile(smallRows, small.tokenCount(), 0, small.tokenCount(), 0, small.tokenCount(),
                                           1000, 1000, 3));
        ok &= save(view, dir, QStringLiteral("heatmap_small") + suffix);
        view.setLogScale(true);
        ok &= save(view, dir, QStringLiteral("heatmap_small_log") + suffix);
        ok &= save(view, dir, QStringLiteral("heatmap_small") + suffix, QStringLiteral("svg"));
    }
    {
        AttentionHeatmap view;
        view.resize(760, 640);
        view.setPresentationMode(presentation);
        view.setTitle(QStringLiteral("layer 3 · mean of heads · parallel (pooled)"));
        view.setAxisInfo(large);
        view.setTile(synthetic::pooledTile(largeRows, n, 0, n, 0, n, 256, 256, 3));
        view.setLogScale(true);
        ok &= save(view, dir, QStringLiteral("heatmap_large_log") + suffix);
        // Zoom into the query rows and send a refined tile for the window, as the app would.
        view.setView(large.queryBegin - 20, n, 0, 80);
        view.setTile(synthetic::pooledTile(largeRows, n, large.queryBegin - 20, n, 0, 80, 400, 400, 3));
        ok &= save(view, dir, QStringLiteral("heatmap_large_zoomed") + suffix);
    }
    {
        EntropyByLayerPlot view;
        view.resize(720, 460);
        view.setPresentationMode(presentation);
        view.setTitle(QStringLiteral("query attention entropy by layer (P = 8)"));
        const int layers = 16;
        QList<MethodSeries> series;
        const struct { const char* m; double mean; } methods[] = {
            {"full", 2.04}, {"parallel", 2.66}, {"sink", 2.42}, {"selective", 2.01}, {"both", 1.95}};
        for (const auto& m : methods) {
            MethodSeries s;
            s.method = QString::fromLatin1(m.m);
            s.perLayer = synthetic::layerCurve(layers, m.mean, 0.5);
            double sum = 0;
            for (double v : s.perLayer) sum += v;
            s.mean = sum / layers;
            s.active = s.method == QLatin1String("parallel");
            series.push_back(s);
        }
        view.setSeries(series);
        QVector<bool> local(layers, false);
        for (int l = 0; l < layers; ++l) local[l] = (l % 6) != 5;
        view.setLocalLayers(local);
        ok &= save(view, dir, QStringLiteral("entropy_by_layer") + suffix);
        ok &= save(view, dir, QStringLiteral("entropy_by_layer") + suffix, QStringLiteral("pdf"));
    }
    {
        LayerHeadGrid view;
        view.resize(560, 520);
        view.setPresentationMode(presentation);
        view.setTitle(QStringLiteral("query attention entropy per head (parallel, P = 8)"));
        const int layers = 12, heads = 8;
        QVector<double> v;
        for (int l = 0; l < layers; ++l)
            for (int h = 0; h < heads; ++h) v.push_back(1.2 + 0.12 * l + 0.5 * std::sin(h * 1.7 + l * 0.3) + (h == 3 ? 1.0 : 0));
        view.setEntropy(layers, heads, v);
        view.setSelected(5, 3);
        ok &= save(view, dir, QStringLiteral("layer_head_grid") + suffix);
    }
    {
        EntropySequencePlot view;
        view.resize(900, 420);
        view.setPresentationMode(presentation);
        view.setTitle(QStringLiteral("attention entropy along the sequence (layer 3, mean of heads)"));
        view.setAxisInfo(large);
        const QVector<double> cur = synthetic::rowEntropy(largeRows, n);
        QVector<double> full = cur;
        for (int i = 0; i < n; ++i) full[i] = std::log(2.0 + i * 0.02) * 0.9;
        view.setCurves(cur, QStringLiteral("parallel (P = 8)"), full, QStringLiteral("full attention"));
        ok &= save(view, dir, QStringLiteral("entropy_sequence") + suffix);
        view.setAxisInfo(small);
        const QVector<double> curSmall = synthetic::rowEntropy(smallRows, small.tokenCount());
        view.setCurves(curSmall, QStringLiteral("parallel (P = 3)"));
        ok &= save(view, dir, QStringLiteral("entropy_sequence_small") + suffix);
    }
    {
        SweepPlot view;
        view.resize(900, 420);
        view.setPresentationMode(presentation);
        view.setTitle(QStringLiteral("P sweep"));
        view.setRows(synthetic::sweepRows());
        ok &= save(view, dir, QStringLiteral("sweep") + suffix);
        view.setOrientation(Qt::Vertical);
        view.resize(560, 720);
        ok &= save(view, dir, QStringLiteral("sweep_vertical") + suffix);
    }
    {
        ContextView view;
        view.resize(720, 520);
        view.setPresentationMode(presentation);
        view.setTokens(small);
        const int q = 5;
        const int row = small.queryBegin + q;
        QVector<double> w(small.tokenCount());
        for (int j = 0; j < small.tokenCount(); ++j) w[j] = smallRows[static_cast<std::size_t>(row) * small.tokenCount() + j];
        view.setAttention(w, QStringLiteral("attention from query token %1 (“%2”), layer 3, mean of heads")
                                 .arg(q)
                                 .arg(displayToken(small.tokenText(row))));
        QVector<double> mass(small.chunkCount(), 0.0);
        double prefixMass = 0, queryMass = 0;
        for (int j = 0; j < small.tokenCount(); ++j) {
            if (small.segments[j] == attnscope::SegmentKind::Prefix) prefixMass += w[j];
            else if (small.segments[j] == attnscope::SegmentKind::Query) queryMass += w[j];
            else mass[small.chunkOfToken[j]] += w[j];
        }
        view.setChunkMass(mass, prefixMass, queryMass);
        view.setSelectedQuery(q);
        ok &= save(view, dir, QStringLiteral("context_view") + suffix);
    }
    return ok ? 0 : 1;
}
