#pragma once
// FigureExporter: everything the window exports. One view as a figure (PNG/SVG/PDF) or its data
// (CSV/JSON); the figure set — every view in every format, plus analysis.json and entropy.csv (the
// numbers of `attnscope-cli analyze`), context.json and the sweep; the analysis data alone; the
// dialogs that ask where, and the PNG scale menu. Files are written atomically.
#include <QObject>
#include <QString>

class QMainWindow;
class QMenu;

namespace attnscope::gui {

class AnalysisController;
class AnalysisViews;
class ContextEditor;
class ViewPanel;

class FigureExporter : public QObject {
    Q_OBJECT
public:
    FigureExporter(QMainWindow* window, bool interactive, AnalysisController* controller, AnalysisViews* views,
                   const ContextEditor* editor);

    // The format comes from the extension: .png, .svg, .pdf, .csv or .json.
    bool exportPanel(ViewPanel* panel, const QString& path, QString* error = nullptr);
    // Figures have the size the views have on screen, or with `atExportSize` each view's export
    // size (headless export).
    bool exportFigureSet(const QString& dir, QString* error = nullptr, double pngScale = 2.0,
                         bool atExportSize = false);

    // Dialogs (errors in a message box, success in the status bar).
    void exportPanelDialog(ViewPanel* panel, const QString& format);
    void exportFigureSetDialog();
    void exportAnalysisDataDialog();
    // PNG export scale (1× to 4×), kept in the settings.
    QMenu* scaleMenu() const { return scaleMenu_; }

private:
    bool exportViews(const QString& dir, QString* error, double pngScale, bool atExportSize);
    bool exportNumbers(const QString& dir, QString* error);
    // The line under the panel's exported figure: the shown result's method (with the window rule
    // when the model has sliding-window layers); for the P sweep, its window rule.
    QString methodLineFor(const ViewPanel* panel) const;
    void report(bool ok, const QString& error, const QString& done);

    QMainWindow* window_;
    const bool interactive_;
    AnalysisController* controller_;
    AnalysisViews* views_;
    const ContextEditor* editor_;
    QMenu* scaleMenu_ = nullptr;
};

}  // namespace attnscope::gui
