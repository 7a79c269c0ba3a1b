#include "dock_layout.h"

#include <QDockWidget>
#include <QMainWindow>
#include <QMenu>
#include <QTimer>

#include <algorithm>

#include "analysis_views.h"
#include "figure_view.h"
#include "view_panel.h"

namespace attnscope::gui {

DockLayout::DockLayout(QMainWindow* window, QMenu* viewMenu, QWidget* editor, const AnalysisViews* views)
    : QObject(window), window_(window) {
    auto add = [&](const char* name, const QString& title, QWidget* w, Qt::DockWidgetArea area) {
        auto* d = new QDockWidget(title, window);
        d->setObjectName(QLatin1String(name));
        d->setWidget(w);
        d->setFeatures(QDockWidget::DockWidgetMovable | QDockWidget::DockWidgetFloatable |
                       QDockWidget::DockWidgetClosable);
        window->addDockWidget(area, d);
        viewMenu->addAction(d->toggleViewAction());
        homes_.insert(w, d);
        return d;
    };
    add("contextDock", tr("Context"), editor, Qt::LeftDockWidgetArea);
    const auto right = Qt::RightDockWidgetArea, bottom = Qt::BottomDockWidgetArea;
    QDockWidget* grid = add("gridDock", tr("Layer × Head"), views->panel(panels::kLayerHeadGrid), right);
    QDockWidget* layers = add("byLayerDock", tr("Entropy by Layer"), views->panel(panels::kEntropyByLayer), right);
    QDockWidget* text = add("contextTextDock", tr("Context Text"), views->panel(panels::kContextText), bottom);
    QDockWidget* seq =
        add("sequenceDock", tr("Entropy along Sequence"), views->panel(panels::kEntropySequence), bottom);
    QDockWidget* sweep = add("sweepDock", tr("P Sweep"), views->panel(panels::kPSweep), bottom);
    window->setCorner(Qt::BottomLeftCorner, Qt::LeftDockWidgetArea);
    window->splitDockWidget(grid, layers, Qt::Vertical);
    window->splitDockWidget(text, seq, Qt::Horizontal);
    window->tabifyDockWidget(seq, sweep);
    seq->raise();
}

QDockWidget* DockLayout::dock(const char* name) const { return window_->findChild<QDockWidget*>(QLatin1String(name)); }

bool DockLayout::restore(const QByteArray& state) {
    const bool ok = window_->restoreState(state);
    restored_ = restored_ || ok;
    return ok;
}

QByteArray DockLayout::state() const {
    if (presentation_ && !beforePresentation_.isEmpty()) return beforePresentation_;
    return lesson_ && !beforeLesson_.isEmpty() ? beforeLesson_ : window_->saveState();
}

void DockLayout::windowShown() {
    if (shown_) return;
    shown_ = true;
    if (!restored_) QTimer::singleShot(0, this, &DockLayout::applyDefaultSizes);
}

void DockLayout::applyDefaultSizes() {
    // Proportions of the window; applied once the window has its real size.
    QDockWidget *ctx = dock("contextDock"), *grid = dock("gridDock"), *layers = dock("byLayerDock"),
                *text = dock("contextTextDock"), *seq = dock("sequenceDock");
    const int w = window_->width(), h = window_->height();
    window_->resizeDocks({ctx, grid}, {std::max(300, w * 22 / 100), std::max(420, w * 34 / 100)}, Qt::Horizontal);
    window_->resizeDocks({text}, {h * 30 / 100}, Qt::Vertical);
    window_->resizeDocks({grid, layers}, {h * 25 / 100, h * 40 / 100}, Qt::Vertical);
    window_->resizeDocks({text, seq}, {w * 38 / 100, w * 40 / 100}, Qt::Horizontal);
}

void DockLayout::setPresentation(bool on) {
    if (on == presentation_) return;
    presentation_ = on;
    // Larger text needs larger views: show the docked views as tabs (two at a time beside the
    // attention map) and give the previous layout back afterwards.
    if (on) {
        beforePresentation_ = window_->saveState();
        window_->tabifyDockWidget(dock("gridDock"), dock("byLayerDock"));
        window_->tabifyDockWidget(dock("contextTextDock"), dock("sequenceDock"));
        window_->tabifyDockWidget(dock("contextTextDock"), dock("sweepDock"));
        dock("byLayerDock")->raise();
        dock("contextTextDock")->raise();
    } else if (!beforePresentation_.isEmpty()) {
        window_->restoreState(beforePresentation_);
        beforePresentation_.clear();
    }
}

}  // namespace attnscope::gui

namespace attnscope::gui {

void DockLayout::setLesson(bool on) {
    if (on == lesson_) return;
    lesson_ = on;
    if (on) {
        beforeLesson_ = window_->saveState();
        for (QDockWidget* d : window_->findChildren<QDockWidget*>()) d->hide();
    } else if (!beforeLesson_.isEmpty()) {
        window_->restoreState(beforeLesson_);
        beforeLesson_.clear();
    }
}

void DockLayout::giveBack(QWidget* panel) {
    if (QDockWidget* d = homes_.value(panel)) d->setWidget(panel);
}

void DockLayout::floatEnlarged(QWidget* panel) {
    QDockWidget* d = homes_.value(panel);
    if (!d) return;
    QSize readable(720, 480);
    if (auto* view = panel->findChild<widgets::FigureView*>()) readable = readable.expandedTo(view->readableSize());
    const QSize size = (window_->size() * 0.7).expandedTo(readable + QSize(40, 80)).boundedTo(window_->size());
    d->setFloating(true);
    d->resize(size);
    d->move(window_->geometry().center() - QPoint(size.width() / 2, size.height() / 2));
    d->show();
    d->raise();
}

}  // namespace attnscope::gui
