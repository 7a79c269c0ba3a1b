// Every view: it takes its data, its plot holds exactly that data, interaction emits the right
// signals, and figure/data export writes valid files.
#include <cmath>
#include <memory>

#include <QtTest>
#include <QImage>
#include <QJsonArray>
#include <QJsonDocument>
#include <QTemporaryDir>
#include <QXmlStreamReader>

#include <qcustomplot.h>

#include "attention_heatmap.h"
#include "color_maps.h"
#include "context_view.h"
#include "entropy_by_layer_plot.h"
#include "entropy_sequence_plot.h"
#include "layer_head_grid.h"
#include "sweep_plot.h"
#include "synthetic_data.h"

using namespace attnscope::widgets;

namespace {

QList<MethodSeries> fiveMethods(int layers) {
    QList<MethodSeries> out;
    const char* names[] = {"full", "parallel", "sink", "selective", "both"};
    for (int i = 0; i < 5; ++i) {
        MethodSeries s;
        s.method = QString::fromLatin1(names[i]);
        s.perLayer = synthetic::layerCurve(layers, 2.0 + 0.1 * i, 0.3);
        s.mean = 2.0 + 0.1 * i + 0.02;
        s.active = i == 1;
        out.push_back(s);
    }
    return out;
}

// All character data inside <text> elements of an SVG document.
QStringList svgTexts(const QByteArray& svg, bool* valid) {
    QStringList texts;
    QXmlStreamReader xml(svg);
    bool sawSvg = false;
    while (!xml.atEnd()) {
        xml.readNext();
        if (xml.isStartElement() && xml.name() == QLatin1String("svg")) sawSvg = true;
        if (xml.isStartElement() && xml.name() == QLatin1String("text"))
            texts.push_back(xml.readElementText(QXmlStreamReader::IncludeChildElements).simplified());
    }
    *valid = sawSvg && !xml.hasError();
    return texts;
}

QByteArray readAll(const QString& path) {
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly)) return {};
    return f.readAll();
}

void showAndLayOut(QWidget& w, QSize size) {
    w.resize(size);
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    QCoreApplication::processEvents();
    if (auto* pv = qobject_cast<PlotView*>(&w)) pv->plot()->replot(QCustomPlot::rpImmediateRefresh);
}

QPoint plotToWidget(PlotView& view, QCPAxisRect* rect, double x, double y) {
    const double px = rect->axis(QCPAxis::atBottom)->coordToPixel(x);
    const double py = rect->axis(QCPAxis::atLeft)->coordToPixel(y);
    return QPoint(static_cast<int>(std::lround(px)), static_cast<int>(std::lround(py)));
    Q_UNUSED(view);
}

}  // namespace

class ViewsTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void colorMaps() {
        // Gradients from stops: both ends are the documented colours, NaN is transparent.
        QCOMPARE(sampleGradient(ColorMapKind::Viridis, 0.0).name(), QStringLiteral("#440154"));
        QCOMPARE(sampleGradient(ColorMapKind::Viridis, 1.0).name(), QStringLiteral("#fde725"));
        QCOMPARE(sampleGradient(ColorMapKind::Magma, 0.0).name(), QStringLiteral("#000004"));
        QCOMPARE(sampleGradient(ColorMapKind::Viridis, std::nan("")).alpha(), 0);
        QCPColorGradient g = viridisGradient();
        QRgb rgb;
        g.colorize(std::vector<double>{1.0}.data(), QCPRange(0, 1), &rgb, 1);
        QCOMPARE(QColor(rgb).name(), QStringLiteral("#fde725"));
        // Viridis is perceptually ordered: luminance rises monotonically.
        double last = -1;
        for (int i = 0; i <= 10; ++i) {
            const double l = luminance(sampleGradient(ColorMapKind::Viridis, i / 10.0));
            QVERIFY(l > last);
            last = l;
        }
        // Distinct chunk colours, distinct from prefix and query; methods fixed and distinct.
        QSet<QRgb> chunks;
        for (int i = 0; i < chunkPaletteSize(); ++i) chunks.insert(chunkColor(i).rgb());
        QCOMPARE(chunks.size(), chunkPaletteSize());
        QVERIFY(!chunks.contains(prefixColor().rgb()));
        QVERIFY(!chunks.contains(queryColor().rgb()));
        QCOMPARE(chunkColor(chunkPaletteSize()), chunkColor(0));
        QSet<QRgb> methods;
        for (auto m : {"full", "parallel", "sink", "selective", "both"}) methods.insert(methodColor(QString::fromLatin1(m)).rgb());
        QCOMPARE(methods.size(), 5);
        QCOMPARE(methodColor(QStringLiteral("parallel")), methodColor(methodName(attnscope::Method::Parallel)));
        QCOMPARE(contrastingTextColor(Qt::white), QColor(Qt::black));
        QCOMPARE(contrastingTextColor(QColor(0x44, 0x01, 0x54)), QColor(Qt::white));
    }

    void entropyByLayerHoldsTheSeries() {
        EntropyByLayerPlot view;
        const QList<MethodSeries> series = fiveMethods(12);
        view.setSeries(series);
        QCOMPARE(view.plot()->graphCount(), 5);
        for (const MethodSeries& s : series) {
            QCPGraph* g = view.graphFor(s.method);
            QVERIFY2(g, qPrintable(s.method));
            QCOMPARE(g->dataCount(), 12);
            for (int l = 0; l < 12; ++l) {
                QCOMPARE(g->data()->at(l)->key, static_cast<double>(l));
                QCOMPARE(g->data()->at(l)->value, s.perLayer[l]);
            }
            QCOMPARE(g->pen().color(), methodColor(s.method));
            QCOMPARE(g->name(), EntropyByLayerPlot::legendText(s));
        }
        // The active method is thicker and drawn last (on top).
        QVERIFY(view.graphFor(QStringLiteral("parallel"))->pen().widthF() >
                1.5 * view.graphFor(QStringLiteral("full"))->pen().widthF());
        QCOMPARE(view.plot()->graph(view.plot()->graphCount() - 1), view.graphFor(QStringLiteral("parallel")));
        MethodSeries s;
        s.method = QStringLiteral("parallel");
        s.mean = 2.5213;
        QCOMPARE(EntropyByLayerPlot::legendText(s), QStringLiteral("parallel (mean 2.52 nats)"));

        view.setActiveMethod(QStringLiteral("sink"));
        QVERIFY(view.graphFor(QStringLiteral("sink"))->pen().widthF() >
                1.5 * view.graphFor(QStringLiteral("parallel"))->pen().widthF());

        QVector<bool> local(12, false);
        local[1] = local[4] = true;
        view.setLocalLayers(local);
        int bands = 0;
        for (int i = 0; i < view.plot()->itemCount(); ++i)
            if (view.plot()->item(i)->property("localLayer").toBool()) ++bands;
        QCOMPARE(bands, 2);
        QVERIFY(view.toolTip().contains(QStringLiteral("physical index")));
        QVERIFY(view.toolTip().contains(QStringLiteral("position id")));
        view.setLocalLayers(QVector<bool>(12, false));
        QVERIFY(view.toolTip().isEmpty());
        view.setLocalLayers(local);

        const QString csv = view.dataCsv();
        QVERIFY(csv.startsWith(QStringLiteral("layer,full,parallel,sink,selective,both,local\n")));
        QVERIFY(csv.contains(csvNumber(series[3].perLayer[7])));
        const QJsonObject json = view.dataJson();
        QCOMPARE(json[QStringLiteral("series")].toArray().size(), 5);
        QCOMPARE(json[QStringLiteral("series")].toArray()[2].toObject()[QStringLiteral("perLayer")].toArray()[5].toDouble(),
                 series[2].perLayer[5]);
    }

    void layerHeadGridClickSelectsThatHead() {
        LayerHeadGrid view;
        const int layers = 6, heads = 4;
        QVector<double> v;
        for (int l = 0; l < layers; ++l)
            for (int h = 0; h < heads; ++h) v.push_back(l + 0.1 * h);
        view.setEntropy(layers, heads, v);
        showAndLayOut(view, {500, 420});
        QCOMPARE(view.valueAt(4, 2), 4.2);
        QCOMPARE(view.colorMap()->data()->cell(2, 4), 4.2);
        QCOMPARE(view.colorMap()->dataRange().lower, 0.0);
        QCOMPARE(view.colorMap()->dataRange().upper, 5.3);
        QCOMPARE(view.colorScale()->axis()->label(), QStringLiteral("query attention entropy (nats)"));

        QSignalSpy spy(&view, &LayerHeadGrid::headSelected);
        // Pixel of cell (layer 4, head 2) from plot coordinates.
        QCPAxisRect* rect = view.plot()->axisRect(0);
        const QPoint pixel = plotToWidget(view, rect, 2, 4);
        QCOMPARE(view.cellCenter(4, 2), view.plot()->mapTo(&view, pixel));
        QTest::mouseClick(view.plot(), Qt::LeftButton, Qt::NoModifier, pixel);
        QCOMPARE(spy.count(), 1);
        QCOMPARE(spy.at(0).at(0).toInt(), 4);
        QCOMPARE(spy.at(0).at(1).toInt(), 2);
        QCOMPARE(view.selectedLayer(), 4);
        QCOMPARE(view.selectedHead(), 2);
        // Another cell, near its corner but inside it.
        QTest::mouseClick(view.plot(), Qt::LeftButton, Qt::NoModifier, plotToWidget(view, rect, 0.4, 0.4));
        QCOMPARE(spy.count(), 2);
        QCOMPARE(spy.at(1).at(0).toInt(), 0);
        QCOMPARE(spy.at(1).at(1).toInt(), 0);
        // Outside the grid: nothing.
        QTest::mouseClick(view.plot(), Qt::LeftButton, Qt::NoModifier, QPoint(2, 2));
        QCOMPARE(spy.count(), 2);

        view.setSelected(1, 3);
        QCOMPARE(view.selectedLayer(), 1);
        QVERIFY(view.dataCsv().contains(QStringLiteral("\n4,2,4.2\n")));
        QCOMPARE(view.dataJson()[QStringLiteral("values")].toArray()[5].toArray()[3].toDouble(), 5.3);
    }

    void heatmapShowsTheTile() {
        const TokenAxisInfo info = synthetic::axisInfo(4, 3, 10, 8);
        const int n = info.tokenCount();
        const std::vector<double> rows = synthetic::attentionRows(info);
        AttentionHeatmap view;
        view.setAxisInfo(info);
        const attnscope::AttentionTile tile = synthetic::pooledTile(rows, n, 0, n, 0, n, 1000, 1000, 2);
        view.setTile(tile);
        showAndLayOut(view, {700, 600});
        QCOMPARE(view.colorScale()->axis()->label(), QStringLiteral("attention probability"));
        QCPColorMapData* data = view.colorMap()->data();
        QCOMPARE(data->keySize(), n);
        QCOMPARE(data->valueSize(), n);
        // Cell (row 20, key 3) holds that probability; masked cells are NaN (drawn transparent).
        QCOMPARE(data->cell(3, 20), static_cast<double>(tile.at(20, 3)));
        QVERIFY(std::isnan(data->cell(20, 3)));   // key after the row: causal mask
        QVERIFY(std::isnan(data->cell(6, 20)));   // row 20 is chunk 2, key 6 chunk 1: parallel mask
        QCOMPARE(view.probabilityAt(20, 3), static_cast<double>(tile.at(20, 3)));
        // Cell centres sit on token indices.
        double key, value;
        data->cellToCoord(3, 20, &key, &value);
        QCOMPARE(key, 3.0);
        QCOMPARE(value, 20.0);
        QCOMPARE(view.visibleRows().end, n);

        // Log scale switches the colour scale, not the data.
        view.setLogScale(true);
        QCOMPARE(view.colorScale()->dataScaleType(), QCPAxis::stLogarithmic);
        QCOMPARE(view.colorMap()->data()->cell(3, 20), static_cast<double>(tile.at(20, 3)));
        QVERIFY(view.colorScale()->axis()->label().contains(QStringLiteral("log")));

        // Zoom emits a debounced viewportChanged with the new window and the data-area pixels.
        QSignalSpy spy(&view, &AttentionHeatmap::viewportChanged);
        view.setView(30, 42, 0, 20);
        QVERIFY(spy.wait(1000));
        const QList<QVariant> args = spy.takeLast();
        QCOMPARE(args.at(0).toInt(), 30);
        QCOMPARE(args.at(1).toInt(), 42);
        QCOMPARE(args.at(2).toInt(), 0);
        QCOMPARE(args.at(3).toInt(), 20);
        QVERIFY(args.at(4).toInt() > 100);
        QVERIFY(args.at(5).toInt() > 100);

        // A refined tile for the window becomes the detail; the overview stays.
        const attnscope::AttentionTile detail = synthetic::pooledTile(rows, n, 30, 42, 0, 20, 500, 500, 2);
        view.setTile(detail);
        QCOMPARE(view.detailCells().rows, 12);
        QCOMPARE(view.overviewCells().rows, n);
        QCOMPARE(view.probabilityAt(35, 4), static_cast<double>(detail.at(5, 4)));

        // Keyboard: '+' zooms in, Home returns to the whole matrix.
        view.setFocus();
        const int spanBefore = view.visibleCols().end - view.visibleCols().begin;
        QTest::keyClick(&view, Qt::Key_Plus);
        QVERIFY(view.visibleCols().end - view.visibleCols().begin < spanBefore);
        QTest::keyClick(&view, Qt::Key_Home);
        QCOMPARE(view.visibleCols().begin, 0);
        QCOMPARE(view.visibleCols().end, n);

        // Hover reports the tokens under the mouse.
        view.plot()->replot(QCustomPlot::rpImmediateRefresh);
        QSignalSpy hover(&view, &AttentionHeatmap::cellHovered);
        const QPoint at = plotToWidget(view, view.dataRect(), 5, 25);
        QTest::mouseMove(view.plot(), at);
        QTRY_VERIFY(hover.count() >= 1);
        QCOMPARE(hover.last().at(0).toInt(), 25);
        QCOMPARE(hover.last().at(1).toInt(), 5);

        const QString csv = view.dataCsv();
        QVERIFY(csv.startsWith(QStringLiteral("tile,layer,head,row_begin,row_end,col_begin,col_end,probability\n")));
        QVERIFY(csv.contains(QStringLiteral("overview,2,-1,20,21,3,4,") + csvNumber(tile.at(20, 3)) + QLatin1Char('\n')));
        const QJsonObject json = view.dataJson();
        QCOMPARE(json[QStringLiteral("overview")].toObject()[QStringLiteral("rows")].toInt(), n);
        QCOMPARE(json[QStringLiteral("segments")].toArray().size(), 5);
    }

    void heatmapDrawsOnlyThePooledTile() {
        const TokenAxisInfo info = synthetic::axisInfo(8, 8, 250, 40);
        const int n = info.tokenCount();
        std::vector<double> rows(static_cast<std::size_t>(n) * n, 0.0);
        for (int i = 0; i < n; ++i) rows[static_cast<std::size_t>(i) * n] = 1.0;
        AttentionHeatmap view;
        view.setAxisInfo(info);
        view.setTile(synthetic::pooledTile(rows, n, 0, n, 0, n, 128, 96));
        QCOMPARE(view.colorMap()->data()->keySize(), 96);
        QCOMPARE(view.colorMap()->data()->valueSize(), 128);
        showAndLayOut(view, {700, 600});
        // Too many tokens for text labels: the x ticks are numbers.
        auto ticker = view.dataRect()->axis(QCPAxis::atBottom)->ticker().dynamicCast<QCPAxisTickerText>();
        QVERIFY(ticker);
        QVERIFY(!ticker->ticks().isEmpty());
        QVERIFY(ticker->ticks().size() < 40);
        bool ok = false;
        ticker->ticks().first().toInt(&ok);
        QVERIFY(ok);
    }

    void sequencePlotHoldsCurvesAndBands() {
        const TokenAxisInfo info = synthetic::axisInfo(4, 3, 10, 8);
        const int n = info.tokenCount();
        const QVector<double> cur = synthetic::rowEntropy(synthetic::attentionRows(info), n);
        QVector<double> full(n);
        for (int i = 0; i < n; ++i) full[i] = 0.05 * i;
        EntropySequencePlot view;
        view.setAxisInfo(info);
        view.setCurves(cur, QStringLiteral("parallel (P = 3)"), full, QStringLiteral("full attention"));
        QVERIFY(view.currentGraph());
        QVERIFY(view.fullGraph());
        QCOMPARE(view.currentGraph()->dataCount(), n);
        for (int i = 0; i < n; ++i) {
            QCOMPARE(view.currentGraph()->data()->at(i)->value, cur[i]);
            QCOMPARE(view.fullGraph()->data()->at(i)->value, full[i]);
        }
        QCOMPARE(view.currentGraph()->pen().color(), methodColor(QStringLiteral("parallel")));
        QCOMPARE(view.fullGraph()->pen().color().rgb(), methodColor(QStringLiteral("full")).rgb());
        showAndLayOut(view, {900, 420});
        // Band labels: prefix, chunk 1..3, query.
        QStringList labels;
        for (int i = 0; i < view.plot()->itemCount(); ++i)
            if (auto* t = qobject_cast<QCPItemText*>(view.plot()->item(i)); t && t->visible()) labels << t->text();
        QCOMPARE(labels, (QStringList{"prefix", "chunk 1", "chunk 2", "chunk 3", "query"}));
        view.setSmoothing(5);
        QVERIFY(view.smoothedGraph());
        QCOMPARE(view.currentGraph()->data()->at(3)->value, cur[3]);
        const QString csv = view.dataCsv();
        QVERIFY(csv.startsWith(QStringLiteral("token,text,segment,parallel (P = 3),full attention\n")));
        QVERIFY(csv.contains(csvNumber(cur[17])));
        QCOMPARE(view.dataJson()[QStringLiteral("current")].toObject()[QStringLiteral("values")].toArray()[17].toDouble(),
                 cur[17]);
    }

    void sweepPlotHasOneLinePerMethodInEachPanel() {
        const std::vector<attnscope::SweepRow> rows = synthetic::sweepRows();
        SweepPlot view;
        view.setRows(rows);
        QCOMPARE(view.plot()->graphCount(), 10);
        QCOMPARE(view.entropyRect()->graphs().size(), 5);
        QCOMPARE(view.perplexityRect()->graphs().size(), 5);
        QCPGraph* e = view.entropyGraph(QStringLiteral("parallel"));
        QCPGraph* p = view.perplexityGraph(QStringLiteral("parallel"));
        QVERIFY(e && p);
        QCOMPARE(e->dataCount(), 5);
        const double expectE[] = {2.04, 2.27, 2.52, 2.66, 2.73};
        const double expectP[] = {5.35, 5.66, 6.16, 6.92, 7.97};
        const int parts[] = {1, 2, 4, 8, 16};
        for (int i = 0; i < 5; ++i) {
            QCOMPARE(e->data()->at(i)->key, static_cast<double>(parts[i]));
            QCOMPARE(e->data()->at(i)->value, expectE[i]);
            QCOMPARE(p->data()->at(i)->value, expectP[i]);
        }
        QCOMPARE(e->pen().color(), methodColor(QStringLiteral("parallel")));
        QCPAxis* x = view.entropyRect()->axis(QCPAxis::atBottom);
        QCOMPARE(x->scaleType(), QCPAxis::stLogarithmic);
        auto ticker = x->ticker().dynamicCast<QCPAxisTickerText>();
        QVERIFY(ticker);
        QCOMPARE(ticker->ticks().keys(), (QList<double>{1, 2, 4, 8, 16}));
        QCOMPARE(ticker->ticks().value(16), QStringLiteral("16"));
        view.setOrientation(Qt::Vertical);
        QCOMPARE(view.plot()->graphCount(), 10);
        const QString csv = view.dataCsv();
        QVERIFY(csv.contains(QStringLiteral("parallel,8,960,120,2.66,6.92,physical\n")));
        QCOMPARE(view.dataJson()[QStringLiteral("rows")].toArray().size(), static_cast<int>(rows.size()));
    }

    void contextViewShadesAndSelects() {
        const TokenAxisInfo info = synthetic::axisInfo(2, 2, 6, 5);
        const int n = info.tokenCount();
        ContextView view;
        view.setTokens(info);
        QVector<double> w(n, 0.0);
        w[0] = 0.5;
        w[3] = 0.25;
        w[8] = 0.05;
        view.setAttention(w, QStringLiteral("attention from query token 1"));
        view.setChunkMass({0.3, 0.1}, 0.5, 0.1);
        showAndLayOut(view, {600, 400});
        // Light palette: more attention → darker shade; zero attention → the background.
        QVERIFY(luminance(view.tokenShade(0)) < luminance(view.tokenShade(3)));
        QVERIFY(luminance(view.tokenShade(3)) < luminance(view.tokenShade(8)));
        QCOMPARE(view.tokenShade(5).rgb(), view.palette().color(QPalette::Base).rgb());

        QSignalSpy spy(&view, &ContextView::queryTokenClicked);
        auto* canvas = view.findChild<QScrollArea*>()->widget();
        const int q2 = info.queryBegin + 2;
        QVERIFY(!view.tokenRect(q2).isEmpty());
        QCOMPARE(view.tokenAt(view.tokenRect(q2).center()), q2);
        QTest::mouseClick(canvas, Qt::LeftButton, Qt::NoModifier, view.tokenRect(q2).center().toPoint());
        QCOMPARE(spy.count(), 1);
        QCOMPARE(spy.at(0).at(0).toInt(), 2);
        QCOMPARE(view.selectedQuery(), 2);
        // A chunk token is not a query token: no signal.
        QTest::mouseClick(canvas, Qt::LeftButton, Qt::NoModifier, view.tokenRect(4).center().toPoint());
        QCOMPARE(spy.count(), 1);
        // Each segment starts a new line.
        QVERIFY(view.tokenRect(info.chunkRanges[1].begin).top() > view.tokenRect(info.chunkRanges[1].begin - 1).top());

        const QString csv = view.dataCsv();
        QVERIFY(csv.startsWith(QStringLiteral("token,id,text,segment,chunk,weight\n")));
        QVERIFY(csv.contains(QStringLiteral(",chunk,1,0.25\n")));
        const QJsonObject json = view.dataJson();
        QCOMPARE(json[QStringLiteral("tokens")].toArray()[3].toObject()[QStringLiteral("weight")].toDouble(), 0.25);
        QCOMPARE(json[QStringLiteral("mass")].toObject()[QStringLiteral("prefix")].toDouble(), 0.5);
    }

    void exportEveryView_data() {
        QTest::addColumn<QString>("name");
        QTest::addColumn<QStringList>("labels");   // texts the SVG must contain
        QTest::newRow("heatmap") << "heatmap" << QStringList{"attention probability", "key token (attended to)", "attending token", "chunk 2"};
        QTest::newRow("by_layer") << "by_layer" << QStringList{"layer", "query attention entropy (nats)", "parallel (mean 2.12 nats)"};
        QTest::newRow("grid") << "grid" << QStringList{"head", "layer", "query attention entropy (nats)"};
        QTest::newRow("sequence") << "sequence" << QStringList{"token position (physical order)", "attention entropy (nats)", "query"};
        QTest::newRow("sweep") << "sweep" << QStringList{"number of chunks P", "query perplexity", "mean query attention entropy (nats)", "16"};
        QTest::newRow("context") << "context" << QStringList{"attention mass by segment (sums to 1)", "chunk 1", "query"};
    }

    void exportEveryView() {
        QFETCH(QString, name);
        QFETCH(QStringList, labels);
        const TokenAxisInfo info = synthetic::axisInfo(4, 3, 10, 8);
        const int n = info.tokenCount();
        const std::vector<double> rows = synthetic::attentionRows(info);
        std::unique_ptr<FigureView> view;
        if (name == QLatin1String("heatmap")) {
            auto v = std::make_unique<AttentionHeatmap>();
            v->setAxisInfo(info);
            v->setTile(synthetic::pooledTile(rows, n, 0, n, 0, n, 1000, 1000));
            view = std::move(v);
        } else if (name == QLatin1String("by_layer")) {
            auto v = std::make_unique<EntropyByLayerPlot>();
            v->setSeries(fiveMethods(8));
            view = std::move(v);
        } else if (name == QLatin1String("grid")) {
            auto v = std::make_unique<LayerHeadGrid>();
            QVector<double> values(8 * 4);
            for (int i = 0; i < values.size(); ++i) values[i] = 1 + 0.05 * i;
            v->setEntropy(8, 4, values);
            view = std::move(v);
        } else if (name == QLatin1String("sequence")) {
            auto v = std::make_unique<EntropySequencePlot>();
            v->setAxisInfo(info);
            v->setCurves(synthetic::rowEntropy(rows, n), QStringLiteral("parallel"));
            view = std::move(v);
        } else if (name == QLatin1String("sweep")) {
            auto v = std::make_unique<SweepPlot>();
            v->setRows(synthetic::sweepRows());
            view = std::move(v);
        } else {
            auto v = std::make_unique<ContextView>();
            v->setTokens(info);
            QVector<double> w(n, 0.01);
            w[0] = 0.6;
            v->setAttention(w, QStringLiteral("attention from query token 0"));
            v->setChunkMass({0.2, 0.1, 0.05}, 0.6, 0.05);
            view = std::move(v);
        }
        view->setTitle(QStringLiteral("figure %1").arg(name));
        showAndLayOut(*view, {640, 480});
        auto* context = qobject_cast<ContextView*>(view.get());
        const QSize logical = context ? context->contentSize() : view->size();
        QCOMPARE(view->figureSize(), context ? view->size() : logical);

        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        QString error;
        // PNG: scale × the logical size.
        const QString png = dir.filePath(name + QStringLiteral(".png"));
        QVERIFY2(view->exportFigure(png, 2.0, &error), qPrintable(error));
        QImage image(png);
        QVERIFY(!image.isNull());
        QCOMPARE(image.size(), logical * 2);
        // Not blank: many distinct colours.
        QSet<QRgb> colours;
        for (int y = 0; y < image.height(); y += 7)
            for (int x = 0; x < image.width(); x += 7) colours.insert(image.pixel(x, y));
        QVERIFY2(colours.size() > 20, qPrintable(QString::number(colours.size())));

        // SVG: valid XML with the labels as real text.
        const QString svg = dir.filePath(name + QStringLiteral(".svg"));
        QVERIFY2(view->exportFigure(svg, 2.0, &error), qPrintable(error));
        bool valid = false;
        const QStringList texts = svgTexts(readAll(svg), &valid);
        QVERIFY(valid);
        for (const QString& label : labels) QVERIFY2(texts.contains(label), qPrintable(label + " not in " + texts.join('|')));
        if (!context) QVERIFY(texts.contains(QStringLiteral("figure %1").arg(name)));

        // PDF.
        const QString pdf = dir.filePath(name + QStringLiteral(".pdf"));
        QVERIFY2(view->exportFigure(pdf, 2.0, &error), qPrintable(error));
        const QByteArray pdfBytes = readAll(pdf);
        QVERIFY(pdfBytes.startsWith("%PDF"));
        QVERIFY(pdfBytes.size() > 1000);

        // Unknown extension: a clear error, no file.
        QVERIFY(!view->exportFigure(dir.filePath(name + QStringLiteral(".bmpx")), 2.0, &error));
        QVERIFY(error.contains(QStringLiteral(".png")));

        // A method line: a strip under the figure, its words as SVG text.
        const QString line = QStringLiteral("parallel · sink · window by position");
        view->setMethodLine(line);
        QVERIFY2(view->exportFigure(png, 2.0, &error), qPrintable(error));
        QCOMPARE(QImage(png).width(), logical.width() * 2);
        QVERIFY(QImage(png).height() > logical.height() * 2);
        QVERIFY2(view->exportFigure(svg, 2.0, &error), qPrintable(error));
        QVERIFY2(svgTexts(readAll(svg), &valid).join(' ').contains(QStringLiteral("window by position")), qPrintable(name));
        view->setMethodLine(QString());
        QVERIFY(!QFile::exists(dir.filePath(name + QStringLiteral(".bmpx"))));

        // Data export round-trips through files.
        QVERIFY(view->exportCsv(dir.filePath(name + QStringLiteral(".csv")), &error));
        QCOMPARE(QString::fromUtf8(readAll(dir.filePath(name + QStringLiteral(".csv")))), view->dataCsv());
        QVERIFY(view->exportJson(dir.filePath(name + QStringLiteral(".json")), &error));
        QCOMPARE(QJsonDocument::fromJson(readAll(dir.filePath(name + QStringLiteral(".json")))).object(), view->dataJson());
    }

    void presentationModeEnlargesText() {
        EntropyByLayerPlot view;
        view.setSeries(fiveMethods(6));
        QCPAxis* x = view.plot()->axisRect(0)->axis(QCPAxis::atBottom);
        const double before = x->labelFont().pointSizeF();
        const double lineBefore = view.graphFor(QStringLiteral("full"))->pen().widthF();
        view.setPresentationMode(true);
        QVERIFY(x->labelFont().pointSizeF() > 1.3 * before);
        QVERIFY(view.graphFor(QStringLiteral("full"))->pen().widthF() > lineBefore);
    }

    void darkPaletteIsFollowed() {
        EntropyByLayerPlot view;
        view.setSeries(fiveMethods(6));
        QPalette dark;
        dark.setColor(QPalette::Window, QColor(0x2b, 0x2b, 0x2b));
        dark.setColor(QPalette::Base, QColor(0x1e, 0x1e, 0x1e));
        dark.setColor(QPalette::Text, QColor(0xe6, 0xe6, 0xe6));
        view.setPalette(dark);
        QVERIFY(view.darkPalette());
        QCPAxis* x = view.plot()->axisRect(0)->axis(QCPAxis::atBottom);
        QCOMPARE(x->labelColor(), QColor(0xe6, 0xe6, 0xe6));
        QCOMPARE(view.plot()->toPixmap(200, 150).toImage().pixelColor(2, 2), QColor(0x1e, 0x1e, 0x1e));
    }

    void atomicWrite() {
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("a.csv"));
        QString error;
        QVERIFY(writeTextFileAtomic(path, QStringLiteral("x,y\n1,2\n"), &error));
        QCOMPARE(readAll(path), QByteArray("x,y\n1,2\n"));
        QVERIFY(!writeTextFileAtomic(dir.filePath(QStringLiteral("missing/dir/a.csv")), QByteArray("x"), &error));
        QVERIFY(!error.isEmpty());
        QCOMPARE(csvField(QStringLiteral("a,b")), QStringLiteral("\"a,b\""));
        QCOMPARE(csvField(QStringLiteral("say \"hi\"")), QStringLiteral("\"say \"\"hi\"\"\""));
        QCOMPARE(csvNumber(0.1), QStringLiteral("0.1"));
        QCOMPARE(csvNumber(2.0 / 3.0).toDouble(), 2.0 / 3.0);
        QCOMPARE(csvNumber(std::nan("")), QString());
    }
};

QTEST_MAIN(ViewsTest)
#include "test_views.moc"
