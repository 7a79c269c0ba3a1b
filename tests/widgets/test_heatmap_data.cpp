// Pure conversions behind the views: token display text, tiles → colour-map cells (linear and
// log), segment bands and token-axis ticks.
#include <cmath>

#include <QtTest>

#include "heatmap_data.h"
#include "synthetic_data.h"

using namespace attnscope::widgets;
using attnscope::SegmentKind;

class HeatmapDataTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void displayTokenMakesWhitespaceVisible() {
        QCOMPARE(displayToken(QStringLiteral("▁the")), QStringLiteral("·the"));
        QCOMPARE(displayToken(QStringLiteral(" cat")), QStringLiteral("·cat"));
        QCOMPARE(displayToken(QStringLiteral("\n")), QString(QChar(0x21B5)));
        QCOMPARE(displayToken(QStringLiteral("a\tb")), QStringLiteral("a→b"));
        const QString cut = displayToken(QStringLiteral("abcdefghijklmnopqrstuvwxyz"), 8);
        QCOMPARE(cut.size(), 8);
        QVERIFY(cut.endsWith(QChar(0x2026)));
        QVERIFY(cut.startsWith(QStringLiteral("abcdefg")));
    }

    void axisInfoLabelsAndConsistency() {
        const TokenAxisInfo info = synthetic::axisInfo(2, 3, 4, 5);
        QCOMPARE(info.tokenCount(), 2 + 12 + 5);
        QCOMPARE(info.chunkCount(), 3);
        QCOMPARE(info.queryBegin, 14);
        QVERIFY(info.isConsistent());
        QCOMPARE(info.segmentLabel(0), QStringLiteral("prefix"));
        QCOMPARE(info.segmentLabel(2), QStringLiteral("chunk 1"));
        QCOMPARE(info.segmentLabel(13), QStringLiteral("chunk 3"));
        QCOMPARE(info.segmentLabel(14), QStringLiteral("query"));
        QCOMPARE(info.segmentLabel(99), QString());
        TokenAxisInfo bad = info;
        bad.chunkRanges[1].end = 1000;
        QVERIFY(!bad.isConsistent());
    }

    void fromPlanCopiesLayout() {
        attnscope::EncodingPlan plan;
        plan.ids = {1, 10, 11, 12, 13, 20};
        plan.segment = {SegmentKind::Prefix, SegmentKind::Chunk, SegmentKind::Chunk, SegmentKind::Chunk,
                        SegmentKind::Chunk, SegmentKind::Query};
        plan.chunk = {-1, 0, 0, 1, 1, -1};
        plan.positions = {0, 1, 2, 1, 2, 3};
        plan.prefixLength = 1;
        plan.chunkRanges = {{1, 3}, {3, 5}};
        plan.queryBegin = 5;
        const TokenAxisInfo info = TokenAxisInfo::fromPlan(plan);
        QCOMPARE(info.tokenCount(), 6);
        QCOMPARE(info.chunkOfToken, (QVector<int>{-1, 0, 0, 1, 1, -1}));
        QCOMPARE(info.tokenIds, (QVector<int>{1, 10, 11, 12, 13, 20}));
        QCOMPARE(info.tokenText(3), QStringLiteral("#12"));
        QCOMPARE(info.chunkRanges[1].begin, 3);
        QCOMPARE(info.queryBegin, 5);
        QVERIFY(info.isConsistent());
        const TokenAxisInfo named = TokenAxisInfo::fromPlan(plan, {"a", "b", "c", "d", "e", "f"});
        QCOMPARE(named.tokenText(5), QStringLiteral("f"));
    }

    void linearCells() {
        attnscope::AttentionTile tile;
        tile.request = {0, -1, 10, 14, 0, 6, 2, 3, attnscope::TilePooling::Mean};
        tile.rows = 2;
        tile.cols = 3;
        tile.values = {0.5f, 0.0f, 0.25f, 0.125f, 0.0625f, 0.0f};
        tile.rowEdges = {10, 12, 14};
        tile.colEdges = {0, 2, 4, 6};
        const HeatmapCells c = heatmapCells(tile);
        QCOMPARE(c.rows, 2);
        QCOMPARE(c.cols, 3);
        QCOMPARE(c.at(0, 0), 0.5);
        QCOMPARE(c.at(1, 1), 0.0625);
        QVERIFY(std::isnan(c.at(0, 1)));   // not visible
        QVERIFY(std::isnan(c.at(1, 2)));
        QCOMPARE(c.maxValue, 0.5);
        QCOMPARE(c.minPositive, 0.0625);
        QCOMPARE(c.rangeLower, 0.0);
        QCOMPARE(c.rangeUpper, 0.5);
        QCOMPARE(c.normalized(0.25), 0.5);
        QCOMPARE(c.normalized(1.0), 1.0);   // clamped
        QVERIFY(std::isnan(c.normalized(std::nan(""))));
        QCOMPARE(c.keyLower(), -0.5);
        QCOMPARE(c.keyUpper(), 5.5);
        QCOMPARE(c.rowLower(), 9.5);
        QCOMPARE(c.rowBinOf(11), 0);
        QCOMPARE(c.rowBinOf(12), 1);
        QCOMPARE(c.rowBinOf(14), -1);
        QCOMPARE(c.colBinOf(5), 2);
        QCOMPARE(c.colBinOf(-1), -1);
    }

    void logCells() {
        attnscope::AttentionTile tile;
        tile.request = {0, 0, 0, 1, 0, 4, 1, 4, attnscope::TilePooling::Mean};
        tile.rows = 1;
        tile.cols = 4;
        tile.values = {1e-1f, 1e-3f, 1e-7f, 0.0f};
        const HeatmapCells c = heatmapCells(tile, HeatmapScale::Log);
        QCOMPARE(c.colEdges, (QVector<int>{0, 1, 2, 3, 4}));   // spread from the request
        QCOMPARE(c.rangeUpper, static_cast<double>(1e-1f));
        // Lower end: max(min positive, max × 1e-4) = 1e-5, not 1e-7.
        QVERIFY(std::abs(c.rangeLower - 1e-1f * kLogDynamicRange) < 1e-12);
        // 1e-3 lies two decades below 1e-1 out of four.
        QVERIFY(std::abs(c.normalized(c.at(0, 1)) - 0.5) < 1e-5);
        QCOMPARE(c.normalized(c.at(0, 2)), 0.0);
        QCOMPARE(c.normalized(c.at(0, 0)), 1.0);
        QVERIFY(std::isnan(c.at(0, 3)));

        attnscope::AttentionTile tiny = tile;
        tiny.values = {1e-30f, 1e-31f, 0.f, 0.f};
        HeatmapCells a = c, b = heatmapCells(tiny, HeatmapScale::Log);
        unifyRanges(a, b);
        QCOMPARE(a.rangeUpper, b.rangeUpper);
        QCOMPARE(a.rangeLower, b.rangeLower);
        QVERIFY(std::abs(a.rangeLower - c.rangeLower) < 1e-12);   // tiny window does not stretch the scale
    }

    void bands() {
        const TokenAxisInfo info = synthetic::axisInfo(2, 3, 4, 5);   // P=2, chunks 2-6-10-14, query 14..19
        const QVector<AxisBand> all = axisBands(info, 0, info.tokenCount());
        QCOMPARE(all.size(), 5);
        QVERIFY(all[0].kind == SegmentKind::Prefix);
        QCOMPARE(all[0].tokenEnd, 2);
        QCOMPARE(all[2].label, QStringLiteral("chunk 2"));
        QCOMPARE(all[2].shortLabel, QStringLiteral("2"));
        QCOMPARE(all[2].tokenBegin, 6);
        QCOMPARE(all[2].tokenEnd, 10);
        QCOMPARE(all[2].lower, 5.5);
        QCOMPARE(all[2].upper, 9.5);
        QCOMPARE(all[4].label, QStringLiteral("query"));
        QCOMPARE(all[4].tokenBegin, 14);
        QVERIFY(!all[4].clipped);

        const QVector<AxisBand> window = axisBands(info, 8, 15);
        QCOMPARE(window.size(), 3);   // chunk 2 (clipped), chunk 3, query (clipped)
        QCOMPARE(window[0].label, QStringLiteral("chunk 2"));
        QCOMPARE(window[0].tokenBegin, 8);
        QVERIFY(window[0].clipped);
        QCOMPARE(window[2].tokenEnd, 15);

        const TokenAxisInfo noPrefix = synthetic::axisInfo(0, 2, 3, 2);
        QCOMPARE(axisBands(noPrefix, 0, noPrefix.tokenCount()).front().label, QStringLiteral("chunk 1"));

        QCOMPARE(bandLabelFor(all[2], 200, 7), QStringLiteral("chunk 2"));
        QCOMPARE(bandLabelFor(all[2], 20, 7), QStringLiteral("2"));
        QCOMPARE(bandLabelFor(all[2], 5, 7), QString());
    }

    void ticksShowTokensOnlyWhenTheyFit() {
        const TokenAxisInfo info = synthetic::axisInfo(4, 8, 120, 64);
        // Zoomed in: 10 tokens over 400 px, 16 px per label → token texts.
        const TokenTicks in = tokenTicks(info, 99.5, 109.5, 400, 16);
        QVERIFY(in.tokenLabels);
        QCOMPARE(in.positions.size(), 10);
        QCOMPARE(in.positions.front(), 100.0);
        QCOMPARE(in.labels.front(), displayToken(info.tokenText(100)));
        QCOMPARE(in.labels.back(), displayToken(info.tokenText(109)));
        // Zoomed out: 1000 tokens over 400 px → index numbers, at least 60 px apart, 1/2/5 steps.
        const TokenTicks out = tokenTicks(info, -0.5, 999.5, 400, 16, 60);
        QVERIFY(!out.tokenLabels);
        QVERIFY(out.positions.size() >= 3);
        const double step = out.positions[1] - out.positions[0];
        QVERIFY(step * 400 / 1000 >= 60);
        const double mant = step / std::pow(10.0, std::floor(std::log10(step)));
        QVERIFY(mant == 1 || mant == 2 || mant == 5);
        QCOMPARE(out.labels[1], QString::number(static_cast<int>(out.positions[1])));
        // Just below the threshold: numbers again.
        QVERIFY(!tokenTicks(info, 99.5, 109.5, 150, 16).tokenLabels);
    }

    void windows() {
        TokenWindow w = tokenWindow(-0.5, 9.5, 100);
        QCOMPARE(w.begin, 0);
        QCOMPARE(w.end, 10);
        w = tokenWindow(2.6, 4.2, 100);
        QCOMPARE(w.begin, 3);
        QCOMPARE(w.end, 5);
        w = tokenWindow(-50, 500, 100);
        QCOMPARE(w.begin, 0);
        QCOMPARE(w.end, 100);
    }
};

QTEST_GUILESS_MAIN(HeatmapDataTest)
#include "test_heatmap_data.moc"
