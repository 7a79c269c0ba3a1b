// The text layout rules (pure geometry, no window) and the plots that follow them: a P sweep as
// small as the one measured on a projector (600×130, presentation mode) either lays out its text
// without overlaps or says it is too small to read, so its panel shows the compact form.
#include <QtTest>

#include <qcustomplot.h>

#include "entropy_by_layer_plot.h"
#include "sweep_plot.h"
#include "synthetic_data.h"
#include "text_layout.h"

using namespace attnscope::widgets;

namespace {

QStringList problemsAt(PlotView& view, QSize size) {
    view.resize(size);
    view.plot()->resize(size);
    view.plot()->replot(QCustomPlot::rpImmediateRefresh);
    return textLayoutProblems(view.textBoxes(), QRectF(view.plot()->rect()));
}

}  // namespace

class TextLayoutTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void overlapAndOutsideAreProblems() {
        const QRectF bounds(0, 0, 100, 50);
        QList<TextBox> boxes = {{"tick label", "1", QRectF(10, 10, 10, 10)},
                                {"tick label", "2", QRectF(30, 10, 10, 10)}};
        QVERIFY(textLayoutProblems(boxes, bounds).isEmpty());
        boxes << TextBox{"tick label", "3", QRectF(35, 15, 10, 10)};  // overlaps "2"
        QCOMPARE(textLayoutProblems(boxes, bounds).size(), 1);
        QVERIFY(textLayoutProblems(boxes, bounds).front().contains(QStringLiteral("overlaps")));
        boxes.removeLast();
        boxes << TextBox{"axis title", "query perplexity", QRectF(-8, 0, 14, 60)};  // clipped on two sides
        QCOMPARE(textLayoutProblems(boxes, bounds).size(), 1);
        QVERIFY(textLayoutProblems(boxes, bounds).front().contains(QStringLiteral("outside")));
        // Touching edges and sub-pixel rounding are not overlaps.
        QVERIFY(textLayoutProblems({{"a", "a", QRectF(0, 0, 10, 10)}, {"b", "b", QRectF(9.5, 0, 10, 10)}}, bounds)
                    .isEmpty());
    }

    void ticksFollowTheSpace() {
        QCOMPARE(ticksThatFit(60, 16, 12), 2);  // the squashed sweep: 2 ticks, not 5 overlapping
        QCOMPARE(ticksThatFit(100, 16, 12), 3);
        QCOMPARE(ticksThatFit(2000, 16, 12), 5);  // roomy: QCustomPlot's default
        QCOMPARE(ticksThatFit(200, 16, 12, 8), 7);
        QCOMPARE(ticksThatFit(0, 16, 12), 2);
    }

    void axisTitlesShortenKeepingTheUnit() {
        const QStringList v = labelVariants(QStringLiteral("mean query attention entropy (nats)"));
        QCOMPARE(v.front(), QStringLiteral("mean query attention entropy (nats)"));
        QVERIFY(v.contains(QStringLiteral("entropy (nats)")));
        QCOMPARE(v.back(), QStringLiteral("nats"));
        QVERIFY(v.indexOf(QStringLiteral("entropy (nats)")) < v.indexOf(QStringLiteral("entropy")));
        QCOMPARE(labelVariants(QStringLiteral("query perplexity")),
                 QStringList({QStringLiteral("query perplexity"), QStringLiteral("perplexity")}));
        auto width = [](const QString& s) { return 7.0 * s.size(); };
        QCOMPARE(firstThatFits(v, width, 7 * 15), QStringLiteral("entropy (nats)"));
        QCOMPARE(firstThatFits(v, width, 7 * 3), QString());
    }

    void legendsGoBesideWhenBelowIsTooTall() {
        const QList<double> five = {150, 150, 150, 150, 150};
        LegendFit fit = fitLegend(five, 20, QSizeF(800, 400), 3);
        QCOMPARE(fit.place, LegendPlace::Below);
        QCOMPARE(fit.columns, 3);
        fit = fitLegend(five, 20, QSizeF(380, 150), 3);  // two columns below: 60 px of 150
        QCOMPARE(fit.place, LegendPlace::Right);
        fit = fitLegend(five, 20, QSizeF(250, 200), 3);  // too narrow to go beside
        QCOMPARE(fit.place, LegendPlace::Below);
        QCOMPARE(fit.columns, 1);
    }

    void compactBelowTheReadableSize() {
        QVERIFY(needsCompactForm({300, 90}, {200, 150}));
        QVERIFY(needsCompactForm({150, 300}, {200, 150}));
        QVERIFY(!needsCompactForm({200, 150}, {200, 150}));
    }

    // The measured failure: a P sweep squashed to about 130 px in presentation mode had
    // overlapping y tick labels and clipped axis titles.
    void smallSweepIsCleanOrCompact() {
        SweepPlot sweep;
        sweep.setTitle(QStringLiteral("P sweep"));
        sweep.setRows(synthetic::sweepRows());
        sweep.setPresentationMode(true);
        sweep.show();
        const QStringList problems = problemsAt(sweep, {600, 130});
        QVERIFY2(problems.isEmpty() || needsCompactForm({600, 130}, sweep.readableSize()),
                 qPrintable(problems.join('\n')));
        QVERIFY2(problemsAt(sweep, {1000, 440}).isEmpty(), qPrintable(problemsAt(sweep, {1000, 440}).join('\n')));
        QVERIFY(!needsCompactForm({1000, 440}, sweep.readableSize()));
    }

    void entropyByLayerAxisTitleFitsItsHeight() {
        EntropyByLayerPlot plot;
        plot.setTitle(QStringLiteral("Query entropy by layer"));
        plot.setSeries({{QStringLiteral("full"), {}, {2.0, 1.2, 2.3, 1.8, 2.7}, 2.0, true},
                        {QStringLiteral("parallel"), {}, {2.5, 1.5, 2.8, 2.3, 3.4}, 2.5, false}});
        plot.setPresentationMode(true);
        plot.show();
        const QStringList problems = problemsAt(plot, {420, 300});
        QVERIFY2(problems.isEmpty() || needsCompactForm({420, 300}, plot.readableSize()),
                 qPrintable(problems.join('\n')));
        QVERIFY2(problemsAt(plot, {720, 480}).isEmpty(), qPrintable(problemsAt(plot, {720, 480}).join('\n')));
    }
};

QTEST_MAIN(TextLayoutTest)
#include "test_text_layout.moc"
