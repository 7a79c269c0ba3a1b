#pragma once
// FileCommands: the file commands as the user gives them — the File menu and the file toolbar,
// the open, load and save dialogs, recent files, and files dropped on the window. What a path is
// (a session, a context, a model) is decided here and opened through the window; failures are
// shown in a dialog.
#include <QList>
#include <QObject>
#include <QUrl>

class QMenu;
class QToolBar;

namespace attnscope::gui {

class AnalysisViews;
class FigureExporter;
class MainWindow;
class SessionDocument;

class FileCommands : public QObject {
    Q_OBJECT
public:
    FileCommands(MainWindow* window, bool interactive, SessionDocument* document, FigureExporter* exporter,
                 AnalysisViews* views);

    // Fills the File menu; the toolbar gets open model, open, save and export view.
    void buildMenu(QMenu* file, QToolBar* toolbar);

    void openModelDialog();
    void openModelFolderDialog();
    void openFileDialog();
    // A model (a failure is shown), a session (after asking about unsaved changes) or a context.
    void openFile(const QString& path);
    void loadContextDialog();
    void saveContextDialog();
    // Dropped files: models, sessions and contexts open; other text is split into chunks.
    void drop(const QList<QUrl>& urls);

private:
    MainWindow* window_;
    const bool interactive_;
    SessionDocument* document_;
    FigureExporter* exporter_;
    AnalysisViews* views_;
};

}  // namespace attnscope::gui
