#include "figure_exporter.h"

#include <QActionGroup>
#include <QApplication>
#include <QDir>
#include <QFileInfo>
#include <QMainWindow>
#include <QMenu>
#include <QStatusBar>

#include "analysis/result_io.h"
#include "analysis_controller.h"
#include "analysis_views.h"
#include "context_editor.h"
#include "context_text.h"
#include "figure_export.h"
#include "figure_view.h"
#include "file_dialogs.h"
#include "session/sweep.h"
#include "settings.h"
#include "ui_helpers.h"
#include "view_panel.h"

namespace attnscope::gui {

namespace {

// Every export error names its file: rendering errors ("PNG encoding failed") do not know it.
bool namingFile(bool ok, const QString& path, QString* error) {
    if (!ok && error && !error->contains(path)) *error = QStringLiteral("%1: %2").arg(path, *error);
    return ok;
}

}  // namespace

FigureExporter::FigureExporter(QMainWindow* window, bool interactive, AnalysisController* controller,
                               AnalysisViews* views, const ContextEditor* editor)
    : QObject(window),
      window_(window),
      interactive_(interactive),
      controller_(controller),
      views_(views),
      editor_(editor) {
    scaleMenu_ = new QMenu(tr("PNG Export &Scale"), window);
    auto* scales = new QActionGroup(this);
    for (double s : {1.0, 2.0, 3.0, 4.0}) {
        QAction* a = scaleMenu_->addAction(tr("%1×").arg(s));
        a->setCheckable(true);
        a->setChecked(qFuzzyCompare(s, Settings::pngScale()));
        scales->addAction(a);
        connect(a, &QAction::triggered, this, [s] { Settings::setPngScale(s); });
    }
}

QString FigureExporter::methodLineFor(const ViewPanel* p) const {
    const bool slidingWindow = controller_->model().slidingWindow;
    if (p->key() == panels::kPSweep) {
        const auto& rows = controller_->sweepRows();
        return slidingWindow && !rows.empty() ? QString::fromLatin1(windowRuleLabel(rows.front().windowRule))
                                              : QString();
    }
    const BundlePtr b = controller_->current();
    return b ? fromStd(describe(b->plan.options, slidingWindow)) : QString();
}

bool FigureExporter::exportPanel(ViewPanel* p, const QString& path, QString* error) {
    p->view()->setMethodLine(methodLineFor(p));
    const QString ext = QFileInfo(path).suffix().toLower();
    if (ext == QLatin1String("csv")) return namingFile(p->view()->exportCsv(path, error), path, error);
    if (ext == QLatin1String("json")) return namingFile(p->view()->exportJson(path, error), path, error);
    if (widgets::figureFormatForPath(path) == widgets::FigureFormat::Unknown) {
        if (error) *error = tr("%1: unknown format (use .png, .svg, .pdf, .csv or .json)").arg(path);
        return false;
    }
    return namingFile(p->view()->exportFigure(path, Settings::pngScale(), error), path, error);
}

bool FigureExporter::exportFigureSet(const QString& dirPath, QString* error, double pngScale, bool atExportSize) {
    if (!controller_->current()) {
        const QString why = controller_->currentError();
        if (error)
            *error = tr("%1: nothing to export: %2").arg(dirPath, why.isEmpty() ? tr("no analysis result") : why);
        return false;
    }
    if (!QDir(dirPath).mkpath(QStringLiteral("."))) {
        if (error) *error = tr("%1: cannot create the folder").arg(dirPath);
        return false;
    }
    return exportViews(dirPath, error, pngScale, atExportSize) && exportNumbers(dirPath, error);
}

// Every view as PNG, SVG and PDF, and its data as CSV and JSON (the P sweep once it has rows).
bool FigureExporter::exportViews(const QString& dirPath, QString* error, double pngScale, bool atExportSize) {
    const QDir dir(dirPath);
    for (ViewPanel* p : views_->panels()) {
        if (p->key() == panels::kPSweep && controller_->sweepRows().empty()) continue;
        widgets::FigureView* v = p->view();
        v->setMethodLine(methodLineFor(p));
        if (atExportSize && v->size() != v->exportSize()) {
            // The views lay out their ticks and labels for their size: give them the figure's
            // size first (the dock layout takes it back afterwards).
            v->resize(v->exportSize());
            QCoreApplication::sendPostedEvents();
        }
        for (const char* ext : {"png", "svg", "pdf"}) {
            const QString path = dir.filePath(p->key() + '.' + QLatin1String(ext));
            if (!namingFile(v->exportFigure(path, pngScale, error), path, error)) return false;
        }
        if (!v->exportCsv(dir.filePath(p->key() + QStringLiteral(".csv")), error)) return false;
        if (!v->exportJson(dir.filePath(p->key() + QStringLiteral(".json")), error)) return false;
    }
    return true;
}

// The same numbers as `attnscope-cli analyze`, the context, and the sweep's rows.
bool FigureExporter::exportNumbers(const QString& dirPath, QString* error) {
    const QDir dir(dirPath);
    const BundlePtr b = controller_->current();
    const auto& sweep = controller_->sweepRows();
    auto write = [&](const char* name, const std::string& text) {
        return widgets::writeTextFileAtomic(dir.filePath(QLatin1String(name)), fromStd(text), error);
    };
    if (!write("analysis.json", analysisToJson(b->plan, b->stats(), controller_->tokenizer().get()).dump(2)))
        return false;
    if (!write("entropy.csv", entropyToCsv(b->plan, b->stats()))) return false;
    if (!saveContextFile(dir.filePath(QStringLiteral("context.json")), editor_->context(), error)) return false;
    return sweep.empty() || (write("sweep.csv", sweepToCsv(sweep)) && write("sweep.json", sweepToJson(sweep).dump(2)));
}

// ---------------------------------------------------------------- dialogs

void FigureExporter::report(bool ok, const QString& error, const QString& done) {
    if (!ok) showError(window_, interactive_, tr("Export Failed"), error);
    else window_->statusBar()->showMessage(done, 4000);
}

void FigureExporter::exportPanelDialog(ViewPanel* p, const QString& format) {
    const QStringList filters = {tr("PNG image (*.png)"), tr("SVG vector image (*.svg)"), tr("PDF document (*.pdf)"),
                                 tr("CSV data (*.csv)"), tr("JSON data (*.json)")};
    const QStringList exts = {QStringLiteral("png"), QStringLiteral("svg"), QStringLiteral("pdf"),
                              QStringLiteral("csv"), QStringLiteral("json")};
    const int idx =
        static_cast<int>(std::max<qsizetype>(0, exts.indexOf(format.isEmpty() ? QStringLiteral("png") : format)));
    const QString path = askSaveFile(window_, tr("Export %1").arg(p->title()), QStringLiteral("export"),
                                     p->key() + '.' + exts[idx], filters, exts, idx);
    if (path.isEmpty()) return;
    QString e;
    report(exportPanel(p, path, &e), e, tr("Exported %1").arg(QFileInfo(path).fileName()));
}

void FigureExporter::exportFigureSetDialog() {
    const QString dir = askFolder(window_, tr("Export Figure Set to Folder"), QStringLiteral("export"));
    if (dir.isEmpty()) return;
    QString e;
    QApplication::setOverrideCursor(Qt::WaitCursor);
    const bool ok = exportFigureSet(dir, &e, Settings::pngScale());
    QApplication::restoreOverrideCursor();
    if (!ok) showError(window_, interactive_, tr("Export Failed"), e);
    else window_->statusBar()->showMessage(tr("Exported every view to %1").arg(dir), 6000);
}

void FigureExporter::exportAnalysisDataDialog() {
    BundlePtr b = controller_->current();
    if (!b) {
        showError(window_, interactive_, tr("Export Analysis Data"), tr("There is no analysis result to export yet."));
        return;
    }
    const QString path = askSaveFile(
        window_, tr("Export Analysis Data"), QStringLiteral("export"), QStringLiteral("analysis.json"),
        {tr("Analysis JSON, as attnscope-cli analyze (*.json)"), tr("Entropy per layer, head and token (*.csv)")},
        {QStringLiteral("json"), QStringLiteral("csv")});
    if (path.isEmpty()) return;
    const bool csv = path.endsWith(QLatin1String(".csv"), Qt::CaseInsensitive);
    const QString text = csv ? fromStd(entropyToCsv(b->plan, b->stats()))
                             : fromStd(analysisToJson(b->plan, b->stats(), controller_->tokenizer().get()).dump(2));
    QString e;
    report(widgets::writeTextFileAtomic(path, text, &e), e, tr("Exported %1").arg(QFileInfo(path).fileName()));
}

}  // namespace attnscope::gui
