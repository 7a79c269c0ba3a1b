// MainWindow: start-up, files (models, contexts, sessions), the session state, export, drops, quit.
#include <QCloseEvent>
#include <QDir>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFileInfo>
#include <QMimeData>
#include <QStatusBar>

#include "analysis_views.h"
#include "autosave.h"
#include "context_editor.h"
#include "context_text.h"
#include "dock_layout.h"
#include "empty_state.h"
#include "figure_exporter.h"
#include "file_commands.h"
#include "input_file.h"
#include "main_window.h"
#include "model/model_loader.h"
#include "session_document.h"
#include "session_file.h"
#include "settings.h"
#include "startup_options.h"
#include "ui_helpers.h"

namespace attnscope::gui {

// ---------------------------------------------------------------- start-up

bool MainWindow::start(const StartupOptions& o, QString* error) {
    QString err;
    bool ok = true, haveContext = false, haveModel = false;
    auto fail = [&](const QString& e) {
        ok = false;
        if (err.isEmpty()) err = e;
    };
    QString e;
    if (!o.session.isEmpty()) {
        if (openSessionFile(o.session, &e)) haveContext = haveModel = true;
        else fail(e);
    }
    if (!o.file.isEmpty() && isModelPath(o.file)) {
        openModel(o.file);
        haveModel = true;
    } else if (!o.file.isEmpty() && openAnyFile(o.file, &e)) {  // a session or a context
        haveContext = true;
        haveModel = haveModel || !controller_->loadingPath().isEmpty();
    } else if (!o.file.isEmpty()) {
        fail(e);
    }
    if (!o.context.isEmpty()) {
        if (openContextFile(o.context, &e)) haveContext = true;
        else fail(e);
    }
    if (!haveContext)
        if (auto demo = loadContextFile(QStringLiteral(":/demo/demo_context.json"), &e)) setContext(*demo);

    MethodSettings m = controller_->method();
    ViewSelection s = controller_->selection();
    o.applyTo(m, s);
    setMethod(m);
    setSelection(s);
    openStartupModel(o, haveModel, fail);
    if (o.presentation) setPresentationMode(true);  // a session remembers it; a plain start does not
    if (!o.lesson.isEmpty() && !startLesson(o.lesson, &e)) fail(e);
    document_->markClean();
    if (autosave_) {
        autosave_->start();
        offerRestore();
    }
    if (!ok && error) *error = err;
    return ok;
}

void MainWindow::offerRestore() {
    const auto left = autosave_->findLeftOver();
    if (!left) return;
    QString e;
    const auto state = loadSession(left->sessionPath, &e);
    if (!state) {
        Autosave::discard(*left);
        showError(this, interactive(), tr("Cannot Restore Work"), e);
        return;
    }
    if (askRestore(this, *left, *state)) {
        applySessionState(*state);
        autosave_->save();  // the restored work is safe again before the old copy goes
        statusBar()->showMessage(tr("Restored the work autosaved at %1").arg(left->savedAt.toString()), 8000);
        document_->updateTitle();
    }
    Autosave::discard(*left);
}

// The model on the command line, else (unless a file named one) the bundled demo model.
void MainWindow::openStartupModel(const StartupOptions& o, bool haveModel,
                                  const std::function<void(const QString&)>& fail) {
    if (!o.model.isEmpty()) {
        const QString resolved = fromStd(resolveModelPath(toStd(o.model)));
        if (!QFileInfo::exists(resolved)) fail(tr("%1: no such model file or folder").arg(o.model));
        else openModel(resolved);
        return;
    }
    if (haveModel || !controller_->loadingPath().isEmpty()) return;
    const QString dir = fromStd(findModelsDir());
    const QString bundled = dir.isEmpty() ? QString() : QDir(dir).filePath(QStringLiteral("stories260K.gguf"));
    if (!bundled.isEmpty() && QFileInfo::exists(bundled)) {
        openModel(bundled);
        return;
    }
    emptyState_->setMessage(tr("No model open"),
                            tr("The demo model stories260K.gguf was not found (looked in $ATTNSCOPE_MODELS and "
                               "../shared/models). Open a GGUF file or a Hugging Face model folder to start; the "
                               "demo context is ready in the Context panel."));
}

// ---------------------------------------------------------------- files

void MainWindow::openModel(const QString& path) {
    controller_->openModel(path);
    document_->updateTitle();
}

void MainWindow::setContext(const ContextSpec& context) {
    editor_->setContext(context);
    contextDebounce_.stop();
    controller_->setContext(context);
}

bool MainWindow::openContextFile(const QString& path, QString* error) {
    auto spec = loadContextFile(path, error);
    if (!spec) return false;
    setContext(*spec);
    document_->addRecentFile(path);
    statusBar()->showMessage(tr("Loaded context %1").arg(QFileInfo(path).fileName()), 4000);
    document_->updateTitle();
    return true;
}

bool MainWindow::openSessionFile(const QString& path, QString* error) { return document_->open(path, error); }
bool MainWindow::saveSessionFile(const QString& path, QString* error) { return document_->saveTo(path, error); }

bool MainWindow::openAnyFile(const QString& path, QString* error) {
    const QFileInfo fi(path);
    if (!fi.exists()) {
        if (error) *error = tr("%1: no such file or folder").arg(path);
        return false;
    }
    if (isModelPath(path)) {
        openModel(path);
        return true;
    }
    if (fi.isDir()) {
        if (error) *error = tr("%1: not a model folder (it has no config.json)").arg(path);
        return false;
    }
    if (fi.suffix().compare(QLatin1String("json"), Qt::CaseInsensitive) == 0 && isSessionFile(path))
        return openSessionFile(path, error);
    return openContextFile(path, error);
}

SessionState MainWindow::essentials() const {
    SessionState s;
    s.modelPath = controller_->modelLoading() ? controller_->loadingPath() : controller_->model().path;
    s.context = editor_->context();
    s.method = controller_->method();
    return s;
}

SessionState MainWindow::sessionState() const {
    SessionState s = essentials();
    s.selection = controller_->selection();
    s.sweep = views_->sweepSettings();
    if (s.sweep.parts.isEmpty()) s.sweep.parts = SweepSettings{}.parts;
    if (interactive()) {
        s.windowGeometry = saveGeometry();
        s.windowState = docks_->state();
    }
    s.presentation = presentation_;
    s.logScale = views_->logScale();
    s.currentView = views_->currentPanelKey();
    return s;
}

void MainWindow::applySessionState(const SessionState& s) {
    setContext(s.context);
    setMethod(s.method);
    controller_->setSelection(s.selection);
    views_->setSweepSettings(s.sweep);
    views_->setLogScale(s.logScale);
    setPresentationMode(false);  // restore the saved layout first, then re-enter if asked
    if (interactive()) {
        if (!s.windowGeometry.isEmpty()) restoreGeometry(s.windowGeometry);
        if (!s.windowState.isEmpty()) docks_->restore(s.windowState);
    }
    if (!s.currentView.isEmpty()) views_->setCurrentPanel(s.currentView);
    setPresentationMode(s.presentation);
    const QString openOrLoading = controller_->modelLoading() ? controller_->loadingPath() : controller_->model().path;
    if (!s.modelPath.isEmpty() && s.modelPath != openOrLoading) {
        openModel(s.modelPath);
        sessionModel_ = controller_->loadingPath();  // a failure names the session file too
    }
    syncSelection();
}

bool MainWindow::exportPanel(ViewPanel* p, const QString& path, QString* error) {
    return exporter_->exportPanel(p, path, error);
}

bool MainWindow::exportFigureSet(const QString& dir, QString* error, double pngScale, bool atExportSize) {
    return exporter_->exportFigureSet(dir, error, pngScale, atExportSize);
}

// ---------------------------------------------------------------- window events

void MainWindow::closeEvent(QCloseEvent* event) {
    if (!document_->maybeSave()) {
        event->ignore();
        return;
    }
    if (interactive()) Settings::setWindowLayout(saveGeometry(), docks_->state());
    controller_->cancelAll();
    if (autosave_) autosave_->finish();
    event->accept();
}

void MainWindow::dragEnterEvent(QDragEnterEvent* event) {
    if (!event->mimeData()->hasUrls()) return;
    for (const QUrl& url : event->mimeData()->urls())
        if (url.isLocalFile()) {
            event->acceptProposedAction();
            return;
        }
}

void MainWindow::dropEvent(QDropEvent* event) {
    files_->drop(event->mimeData()->urls());
    event->acceptProposedAction();
}

}  // namespace attnscope::gui
