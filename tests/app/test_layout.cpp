// Views that never clip: the demo in the main window at 1280×720 and 1920×1080, in normal and
// presentation mode. Every view that shows a plot has its text (title, tick labels, axis titles,
// colour-bar labels, legend entries) inside the plot and never overlapping other text, measured
// from QCustomPlot's layout rectangles and each label's font metrics; a view too small to be
// readable shows its compact form instead. The legend highlights the active method.
#include <QDockWidget>
#include <QFont>
#include <QSet>
#include <QTest>

#include <memory>

#include "analysis_controller.h"
#include "app_test_util.h"
#include "compact_figure.h"
#include "entropy_by_layer_plot.h"
#include "main_window.h"
#include "plot_view.h"
#include "qcustomplot.h"
#include "startup_options.h"
#include "text_layout.h"
#include "view_panel.h"

using namespace attnscope;
using namespace attnscope::gui;

namespace {

constexpr int kTimeout = 120000;

// Every text problem of the panels that show a plot now.
QStringList visibleProblems(MainWindow* w, QSet<QString>* checkedPlots, QSet<QString>* compactPanels) {
    QStringList problems;
    for (ViewPanel* p : w->panels()) {
        if (!p->isVisible() || p->placeholderShown()) continue;
        if (p->compactShown()) {
            *compactPanels << p->key();
            if (qEnvironmentVariableIsSet("LAYOUT_DEBUG")) {
                auto* v = qobject_cast<widgets::PlotView*>(p->view());
                QString rects;
                if (v)
                    for (QCPAxisRect* r : v->plot()->axisRects())
                        rects += QStringLiteral(" %1x%2").arg(r->rect().width()).arg(r->rect().height());
                qInfo("compact %s avail %dx%d readable %dx%d plot %dx%d rects%s", qPrintable(p->key()),
                      p->compactFigure()->width(), p->compactFigure()->height(), p->view()->readableSize().width(),
                      p->view()->readableSize().height(), v ? v->plot()->width() : 0, v ? v->plot()->height() : 0,
                      qPrintable(rects));
            }
            continue;
        }
        auto* view = qobject_cast<widgets::PlotView*>(p->view());
        if (!view) continue;
        view->plot()->replot(QCustomPlot::rpImmediateRefresh);
        *checkedPlots << p->key();
        for (const QString& problem : widgets::textLayoutProblems(view->textBoxes(), QRectF(view->plot()->rect())))
            problems << QStringLiteral("%1 (%2×%3): %4")
                            .arg(p->key())
                            .arg(view->plot()->width())
                            .arg(view->plot()->height())
                            .arg(problem);
    }
    return problems;
}

}  // namespace

class LayoutTest : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void cleanupTestCase();
    void noViewClipsItsText_data();
    void noViewClipsItsText();
    void legendHighlightsTheActiveSettings();
    void compactFormClickedShowsTheViewReadable();

private:
    void openWindow(QSize size, bool presentation);
    std::unique_ptr<MainWindow> window_;
};

void LayoutTest::initTestCase() {
    if (apptest::demoModelPath().isEmpty()) QSKIP("stories260K.gguf not found in ATTNSCOPE_MODELS");
}

// A window of `size` as the app opens one (its docks in their default proportions), on the demo,
// with the P sweep run.
void LayoutTest::openWindow(QSize size, bool presentation) {
    window_ = std::make_unique<MainWindow>(MainWindow::Mode::Headless);
    window_->resize(size);
    window_->show();
    QVERIFY(QTest::qWaitForWindowExposed(window_.get()));
    StartupOptions options;
    options.presentation = presentation;
    QString error;
    QVERIFY2(window_->start(options, &error), qPrintable(error));
    QVERIFY2(window_->waitForSettled(kTimeout, true), qPrintable(window_->lastError()));
    window_->controller()->runSweep(window_->sessionState().sweep);
    QVERIFY(window_->waitForSettled(kTimeout, true));
    QVERIFY(!window_->controller()->sweepRows().empty());
}

void LayoutTest::cleanupTestCase() { window_.reset(); }

void LayoutTest::noViewClipsItsText_data() {
    QTest::addColumn<QSize>("size");
    QTest::addColumn<bool>("presentation");
    for (QSize size : {QSize(1280, 720), QSize(1920, 1080)})
        for (bool presentation : {false, true})
            QTest::addRow("%dx%d %s", size.width(), size.height(), presentation ? "presentation" : "normal")
                << size << presentation;
    QTest::addRow("1600x1000 presentation") << QSize(1600, 1000) << true;  // where the clipping was measured
}

void LayoutTest::noViewClipsItsText() {
    QFETCH(QSize, size);
    QFETCH(bool, presentation);
    openWindow(size, presentation);
    QTest::qWait(50);
    QCOMPARE(window_->size(), size);  // nothing forces the window past the screen
    QStringList problems;
    QSet<QString> checked, compact;
    // Tabbed docks show one view at a time: bring each to the front in turn.
    for (QDockWidget* dock : window_->findChildren<QDockWidget*>()) {
        if (!dock->isVisible() && !window_->tabifiedDockWidgets(dock).isEmpty()) dock->raise();
        QTest::qWait(20);
        problems += visibleProblems(window_.get(), &checked, &compact);
    }
    problems.removeDuplicates();
    QVERIFY2(problems.isEmpty(), qPrintable(problems.join(QLatin1Char('\n'))));
    const QString shown = QStringList(checked.values()).join(QLatin1Char(' ')),
                  small = QStringList(compact.values()).join(QLatin1Char(' '));
    qInfo("%s: plots checked: %s; compact: %s", QTest::currentDataTag(), qPrintable(shown), qPrintable(small));
    QVERIFY2(checked.size() + compact.size() >= 5, qPrintable(shown + " / " + small));
    // A full-HD window has room for the plots themselves.
    if (size.width() >= 1920 && !presentation) QVERIFY2(checked.size() >= 4, qPrintable(small));
}

void LayoutTest::legendHighlightsTheActiveSettings() {
    openWindow(QSize(1440, 900), false);
    MethodSettings m = window_->method();
    m.mode = EncodingMode::Full;
    m.sink = true;
    m.selective = true;  // none of the five methods: its own line, highlighted
    window_->setMethod(m);
    QVERIFY(window_->waitForSettled(kTimeout, true));
    widgets::EntropyByLayerPlot* plot = window_->entropyByLayer();
    QStringList active;
    for (const widgets::MethodSeries& s : plot->series())
        if (s.active) active << s.label;
    QCOMPARE(active, QStringList{methodLabel(m)});
    QCPGraph* current = plot->graphFor(QStringLiteral("current"));
    QVERIFY(current);
    m.selective = false;  // full attention: the "full" line
    window_->setMethod(m);
    QVERIFY(window_->waitForSettled(kTimeout, true));
    QVERIFY(!plot->graphFor(QStringLiteral("current")));
    QVERIFY(plot->graphFor(QStringLiteral("full"))->property("active").toBool());
}

void LayoutTest::compactFormClickedShowsTheViewReadable() {
    openWindow(QSize(1280, 720), true);
    ViewPanel* compact = nullptr;
    for (ViewPanel* p : window_->panels())
        if (p->isVisible() && p->compactShown()) compact = p;
    QVERIFY2(compact, "at 1280×720 in presentation mode some dock is too small for its plot");
    QVERIFY(compact->compactFigure()->isVisible());
    QTest::mouseClick(compact->compactFigure(), Qt::LeftButton);
    QTest::qWait(50);
    auto* dock = qobject_cast<QDockWidget*>(compact->parentWidget());
    QVERIFY(dock && dock->isFloating());
    QTRY_VERIFY(!compact->compactShown());  // enlarged: the plot itself, its text clean
    auto* view = qobject_cast<widgets::PlotView*>(compact->view());
    QVERIFY(view);
    view->plot()->replot(QCustomPlot::rpImmediateRefresh);
    const QStringList problems = widgets::textLayoutProblems(view->textBoxes(), QRectF(view->plot()->rect()));
    QVERIFY2(problems.isEmpty(), qPrintable(problems.join(QLatin1Char('\n'))));
}

QTEST_MAIN(LayoutTest)
#include "test_layout.moc"
