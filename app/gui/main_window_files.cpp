// MainWindow: start-up, files (models, contexts, sessions), export, dialogs, quit.
#include <QApplication>
#include <QCheckBox>
#include <QCloseEvent>
#include <QDir>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QLineEdit>
#include <QMenu>
#include <QMessageBox>
#include <QMimeData>
#include <QPushButton>
#include <QSpinBox>
#include <QStatusBar>
#include <QVBoxLayout>

#include "analysis/result_io.h"
#include "session/sweep.h"
#include "context_editor.h"
#include "context_text.h"
#include "figure_export.h"
#include "figure_view.h"
#include "main_window.h"
#include "model/model_loader.h"
#include "session_file.h"
#include "settings.h"
#include "split_dialog.h"
#include "startup_options.h"
#include "sweep_plot.h"
#include "tokenizer/tokenizer.h"
#include "view_panel.h"

namespace attnscope::gui {

namespace {

const QString kSessionSuffix = QStringLiteral(".attnscope.json");

bool isModelPath(const QString& path) {
    const QFileInfo fi(path);
    if (fi.isDir()) return QFileInfo::exists(QDir(path).filePath(QStringLiteral("config.json")));
    const QString s = fi.suffix().toLower();
    return s == QLatin1String("gguf") || s == QLatin1String("safetensors");
}

// A session or a bare context? Decided by content, not by name.
bool looksLikeSession(const QString& path) {
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly) || f.size() > (64 << 20)) return false;
    const QJsonDocument doc = QJsonDocument::fromJson(f.readAll());
    return doc.isObject() && isSessionJson(doc.object());
}

}  // namespace

// ---------------------------------------------------------------- start-up

bool MainWindow::start(const StartupOptions& o, QString* error) {
    QString err;
    bool ok = true;
    bool haveContext = false, haveModel = false;
    auto fail = [&](const QString& e) {
        ok = false;
        if (err.isEmpty()) err = e;
    };

    if (!o.session.isEmpty()) {
        QString e;
        if (openSessionFile(o.session, &e)) haveContext = haveModel = true;
        else fail(e);
    }
    if (!o.file.isEmpty()) {
        QString e;
        if (isModelPath(o.file)) {
            openModel(o.file);
            haveModel = true;
        } else if (openAnyFile(o.file, &e)) {
            haveContext = true;
            haveModel = haveModel || !controller_->loadingPath().isEmpty();
        } else {
            fail(e);
        }
    }
    if (!o.context.isEmpty()) {
        QString e;
        if (openContextFile(o.context, &e)) haveContext = true;
        else fail(e);
    }
    if (!haveContext) {
        QString e;
        if (auto demo = loadContextFile(QStringLiteral(":/demo/demo_context.json"), &e)) {
            editor_->setContext(*demo);
            controller_->setContext(*demo);
        }
    }

    MethodSettings m = controller_->method();
    ViewSelection s = controller_->selection();
    o.applyTo(m, s);
    setMethod(m);
    setSelection(s);

    if (!o.model.isEmpty()) {
        const QString resolved = fromStd(resolveModelPath(toStd(o.model)));
        if (!QFileInfo::exists(resolved)) fail(tr("%1: no such model file or folder").arg(o.model));
        else openModel(resolved);
        haveModel = true;
    }
    if (!haveModel && controller_->loadingPath().isEmpty()) {
        const QString dir = fromStd(findModelsDir());
        const QString bundled = dir.isEmpty() ? QString() : QDir(dir).filePath(QStringLiteral("stories260K.gguf"));
        if (!bundled.isEmpty() && QFileInfo::exists(bundled)) {
            openModel(bundled);
        } else {
            emptyTitle_->setText(tr("No model open"));
            setEmptyText(tr("The demo model stories260K.gguf was not found (looked in $ATTNSCOPE_MODELS and "
                                   "../shared/models). Open a GGUF file or a Hugging Face model folder to start; the "
                                   "demo context is ready in the Context panel."));
        }
    }
    if (o.presentation) setPresentationMode(true);   // a session remembers it; a plain start does not
    markClean();
    if (!ok && error) *error = err;
    return ok;
}

// ---------------------------------------------------------------- files

void MainWindow::openModel(const QString& path) {
    controller_->openModel(path);
    updateTitle();
}

bool MainWindow::openContextFile(const QString& path, QString* error) {
    QString e;
    auto spec = loadContextFile(path, &e);
    if (!spec) {
        if (error) *error = e;
        return false;
    }
    editor_->setContext(*spec);
    contextDebounce_.stop();
    controller_->setContext(*spec);
    if (mode_ == Mode::Interactive) Settings::addRecentFile(path);
    updateRecentMenus();
    statusBar()->showMessage(tr("Loaded context %1").arg(QFileInfo(path).fileName()), 4000);
    updateTitle();
    return true;
}

bool MainWindow::openSessionFile(const QString& path, QString* error) {
    QString e;
    auto state = loadSession(path, &e);
    if (!state) {   // nothing was applied
        if (error) *error = e;
        return false;
    }
    applySessionState(*state);
    sessionPath_ = QFileInfo(path).absoluteFilePath();
    if (mode_ == Mode::Interactive) {
        Settings::addRecentFile(path);
        Settings::setLastDirectory(QStringLiteral("session"), QFileInfo(path).absolutePath());
    }
    updateRecentMenus();
    markClean();
    return true;
}

bool MainWindow::saveSessionFile(const QString& path, QString* error) {
    if (!gui::saveSession(path, sessionState(), error)) return false;
    sessionPath_ = QFileInfo(path).absoluteFilePath();
    if (mode_ == Mode::Interactive) Settings::addRecentFile(path);
    updateRecentMenus();
    markClean();
    statusBar()->showMessage(tr("Saved %1").arg(QFileInfo(path).fileName()), 4000);
    return true;
}

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
    if (fi.suffix().compare(QLatin1String("json"), Qt::CaseInsensitive) == 0 && looksLikeSession(path))
        return openSessionFile(path, error);
    return openContextFile(path, error);
}

SessionState MainWindow::sessionState() const {
    SessionState s;
    s.modelPath = controller_->modelLoading() ? controller_->loadingPath() : controller_->model().path;
    s.context = editor_->context();
    s.method = controller_->method();
    s.selection = controller_->selection();
    s.sweep.parts.clear();
    for (const QString& p : sweepParts_->text().split(QLatin1Char(','), Qt::SkipEmptyParts)) {
        bool ok = false;
        const int v = p.trimmed().toInt(&ok);
        if (ok && v >= 1) s.sweep.parts << v;
    }
    if (s.sweep.parts.isEmpty()) s.sweep.parts = SweepSettings{}.parts;
    s.sweep.queryTokens = sweepQuery_->value();
    if (mode_ == Mode::Interactive) {
        s.windowGeometry = saveGeometry();
        // The layout outside presentation mode (presentation mode re-arranges the docks itself).
        s.windowState = presentation_ && !layoutBeforePresentation_.isEmpty() ? layoutBeforePresentation_ : saveState();
    }
    s.presentation = presentation_;
    s.logScale = logCheck_->isChecked();
    s.currentView = lastPanel_ ? lastPanel_->key() : QString();
    return s;
}

void MainWindow::applySessionState(const SessionState& s) {
    editor_->setContext(s.context);
    contextDebounce_.stop();
    controller_->setContext(s.context);
    setMethod(s.method);
    controller_->setSelection(s.selection);
    QStringList parts;
    for (int p : s.sweep.parts) parts << QString::number(p);
    sweepParts_->setText(parts.join(QStringLiteral(", ")));
    sweepQuery_->setValue(s.sweep.queryTokens);
    logCheck_->setChecked(s.logScale);
    setPresentationMode(false);   // restore the saved layout first, then re-enter if asked
    if (mode_ == Mode::Interactive) {
        if (!s.windowGeometry.isEmpty()) restoreGeometry(s.windowGeometry);
        if (!s.windowState.isEmpty()) layoutRestored_ = restoreState(s.windowState) || layoutRestored_;
    }
    if (!s.currentView.isEmpty()) lastPanel_ = panel(s.currentView);
    setPresentationMode(s.presentation);
    if (!s.modelPath.isEmpty() && s.modelPath != controller_->model().path) openModel(s.modelPath);
    syncSelectionControls();
}

bool MainWindow::isDirty() const {
    // What a session saves that the user would miss: the context, the method and the model.
    const QString model = controller_->modelLoading() ? controller_->loadingPath() : controller_->model().path;
    return !sameContext(editor_->context(), cleanState_.context) || !(controller_->method() == cleanState_.method) ||
           model != cleanState_.modelPath;
}

void MainWindow::markClean() {
    cleanState_ = sessionState();
    updateTitle();
}

void MainWindow::updateTitle() {
    const QString name = sessionPath_.isEmpty() ? tr("Untitled session") : QFileInfo(sessionPath_).fileName();
    setWindowTitle(QStringLiteral("%1[*] — attnscope").arg(name));
    setWindowModified(isDirty());
}

// ---------------------------------------------------------------- export

bool MainWindow::exportPanel(ViewPanel* p, const QString& path, QString* error) {
    const QString ext = QFileInfo(path).suffix().toLower();
    if (ext == QLatin1String("csv")) return p->view()->exportCsv(path, error);
    if (ext == QLatin1String("json")) return p->view()->exportJson(path, error);
    if (widgets::figureFormatForPath(path) == widgets::FigureFormat::Unknown) {
        if (error) *error = tr("%1: unknown format (use .png, .svg, .pdf, .csv or .json)").arg(path);
        return false;
    }
    return p->view()->exportFigure(path, Settings::pngScale(), error);
}

bool MainWindow::exportFigureSet(const QString& dirPath, QString* error, double pngScale, bool atExportSize) {
    BundlePtr b = controller_->current();
    if (!b) {
        if (error) *error = tr("nothing to export: %1").arg(controller_->currentError().isEmpty() ? tr("no analysis result")
                                                                                                   : controller_->currentError());
        return false;
    }
    QDir dir(dirPath);
    if (!dir.mkpath(QStringLiteral("."))) {
        if (error) *error = tr("%1: cannot create the folder").arg(dirPath);
        return false;
    }
    for (ViewPanel* p : panels_) {
        if (p->key() == QLatin1String("p_sweep") && controller_->sweepRows().empty()) continue;
        widgets::FigureView* v = p->view();
        if (atExportSize && v->size() != v->exportSize()) {
            // The views lay out their ticks and labels for their size: give them the figure's
            // size first (the dock layout takes it back afterwards).
            v->resize(v->exportSize());
            QCoreApplication::sendPostedEvents();
        }
        for (const char* ext : {"png", "svg", "pdf"}) {
            const QString path = dir.filePath(p->key() + '.' + QLatin1String(ext));
            if (!v->exportFigure(path, pngScale, error)) return false;
        }
        if (!v->exportCsv(dir.filePath(p->key() + QStringLiteral(".csv")), error)) return false;
        if (!v->exportJson(dir.filePath(p->key() + QStringLiteral(".json")), error)) return false;
    }
    // The same numbers as `attnscope-cli analyze`.
    const Json analysis = analysisToJson(b->plan, b->stats(), controller_->tokenizer().get());
    if (!widgets::writeTextFileAtomic(dir.filePath(QStringLiteral("analysis.json")), fromStd(analysis.dump(2)), error)) return false;
    if (!widgets::writeTextFileAtomic(dir.filePath(QStringLiteral("entropy.csv")), fromStd(entropyToCsv(b->plan, b->stats())), error))
        return false;
    if (!saveContextFile(dir.filePath(QStringLiteral("context.json")), editor_->context(), error)) return false;
    if (!controller_->sweepRows().empty()) {
        if (!widgets::writeTextFileAtomic(dir.filePath(QStringLiteral("sweep.csv")), fromStd(sweepToCsv(controller_->sweepRows())), error))
            return false;
        if (!widgets::writeTextFileAtomic(dir.filePath(QStringLiteral("sweep.json")),
                                          fromStd(sweepToJson(controller_->sweepRows()).dump(2)), error))
            return false;
    }
    return true;
}

// ---------------------------------------------------------------- dialogs

void MainWindow::showError(const QString& title, const QString& message) {
    if (mode_ != Mode::Interactive) {
        qWarning("attnscope: %s", qUtf8Printable(message));
        return;
    }
    QMessageBox::warning(this, title, message);
}

void MainWindow::openModelDialog() {
    const QString path = QFileDialog::getOpenFileName(
        this, tr("Open Model"), Settings::lastDirectory(QStringLiteral("model")),
        tr("Models (*.gguf *.safetensors config.json);;GGUF files (*.gguf);;All files (*)"));
    if (path.isEmpty()) return;
    Settings::setLastDirectory(QStringLiteral("model"), QFileInfo(path).absolutePath());
    const QString s = QFileInfo(path).suffix().toLower();
    interactiveModelOpen_ = true;
    // A safetensors shard or config.json stands for its folder.
    openModel(s == QLatin1String("gguf") ? path : QFileInfo(path).absolutePath());
}

void MainWindow::openModelFolderDialog() {
    const QString dir = QFileDialog::getExistingDirectory(this, tr("Open Hugging Face Model Folder"),
                                                          Settings::lastDirectory(QStringLiteral("model")));
    if (dir.isEmpty()) return;
    Settings::setLastDirectory(QStringLiteral("model"), dir);
    interactiveModelOpen_ = true;
    openModel(dir);
}

void MainWindow::openFileDialog() {
    const QString path = QFileDialog::getOpenFileName(
        this, tr("Open"), Settings::lastDirectory(QStringLiteral("session")),
        tr("attnscope files (*.json *.txt *.gguf);;Sessions (*%1);;Contexts (*.json *.txt);;Models (*.gguf);;All files (*)")
            .arg(kSessionSuffix));
    if (path.isEmpty()) return;
    Settings::setLastDirectory(QStringLiteral("session"), QFileInfo(path).absolutePath());
    if (looksLikeSession(path) && !maybeSave()) return;
    QString e;
    interactiveModelOpen_ = isModelPath(path);
    if (!openAnyFile(path, &e)) showError(tr("Cannot Open File"), e);
}

void MainWindow::loadContextDialog() {
    const QString path = QFileDialog::getOpenFileName(this, tr("Load Context"), Settings::lastDirectory(QStringLiteral("context")),
                                                      tr("Contexts (*.json *.txt);;All files (*)"));
    if (path.isEmpty()) return;
    Settings::setLastDirectory(QStringLiteral("context"), QFileInfo(path).absolutePath());
    QString e;
    if (!openContextFile(path, &e)) showError(tr("Cannot Load Context"), e);
}

void MainWindow::saveContextDialog() {
    QString filter;
    QString path = QFileDialog::getSaveFileName(this, tr("Save Context"),
                                                QDir(Settings::lastDirectory(QStringLiteral("context"))).filePath(QStringLiteral("context.json")),
                                                tr("Context JSON (*.json);;Plain text (*.txt)"), &filter);
    if (path.isEmpty()) return;
    if (QFileInfo(path).suffix().isEmpty()) path += filter.contains(QLatin1String("*.txt")) ? QStringLiteral(".txt") : QStringLiteral(".json");
    Settings::setLastDirectory(QStringLiteral("context"), QFileInfo(path).absolutePath());
    QString e;
    if (!saveContextFile(path, editor_->context(), &e)) showError(tr("Cannot Save Context"), e);
    else statusBar()->showMessage(tr("Saved context %1").arg(QFileInfo(path).fileName()), 4000);
}

bool MainWindow::saveSession() {
    if (sessionPath_.isEmpty()) return saveSessionAs();
    QString e;
    if (!saveSessionFile(sessionPath_, &e)) {
        showError(tr("Cannot Save Session"), e);
        return false;
    }
    return true;
}

bool MainWindow::saveSessionAs() {
    const QString start = sessionPath_.isEmpty()
                              ? QDir(Settings::lastDirectory(QStringLiteral("session"))).filePath(QStringLiteral("session") + kSessionSuffix)
                              : sessionPath_;
    QString path = QFileDialog::getSaveFileName(this, tr("Save Session"), start,
                                                tr("attnscope session (*%1);;JSON (*.json)").arg(kSessionSuffix));
    if (path.isEmpty()) return false;
    if (!path.endsWith(QLatin1String(".json"), Qt::CaseInsensitive)) path += kSessionSuffix;
    Settings::setLastDirectory(QStringLiteral("session"), QFileInfo(path).absolutePath());
    QString e;
    if (!saveSessionFile(path, &e)) {
        showError(tr("Cannot Save Session"), e);
        return false;
    }
    return true;
}

void MainWindow::exportCurrentViewDialog() {
    ViewPanel* p = currentPanel();
    if (p) exportPanelDialog(p, QString());
}

void MainWindow::exportPanelDialog(ViewPanel* p, const QString& format) {
    const QStringList filters = {tr("PNG image (*.png)"), tr("SVG vector image (*.svg)"), tr("PDF document (*.pdf)"),
                                 tr("CSV data (*.csv)"), tr("JSON data (*.json)")};
    const QStringList exts = {QStringLiteral("png"), QStringLiteral("svg"), QStringLiteral("pdf"), QStringLiteral("csv"),
                              QStringLiteral("json")};
    const int idx = std::max<qsizetype>(0, exts.indexOf(format.isEmpty() ? QStringLiteral("png") : format));
    QString selected = filters[idx];
    QString path = QFileDialog::getSaveFileName(
        this, tr("Export %1").arg(p->title()),
        QDir(Settings::lastDirectory(QStringLiteral("export"))).filePath(p->key() + '.' + exts[idx]), filters.join(QStringLiteral(";;")),
        &selected);
    if (path.isEmpty()) return;
    if (QFileInfo(path).suffix().isEmpty()) path += '.' + exts[std::max<qsizetype>(0, filters.indexOf(selected))];
    Settings::setLastDirectory(QStringLiteral("export"), QFileInfo(path).absolutePath());
    QString e;
    if (!exportPanel(p, path, &e)) showError(tr("Export Failed"), e);
    else statusBar()->showMessage(tr("Exported %1").arg(QFileInfo(path).fileName()), 4000);
}

void MainWindow::exportFigureSetDialog() {
    const QString dir = QFileDialog::getExistingDirectory(this, tr("Export Figure Set to Folder"),
                                                          Settings::lastDirectory(QStringLiteral("export")));
    if (dir.isEmpty()) return;
    Settings::setLastDirectory(QStringLiteral("export"), dir);
    QString e;
    QApplication::setOverrideCursor(Qt::WaitCursor);
    const bool ok = exportFigureSet(dir, &e, Settings::pngScale());
    QApplication::restoreOverrideCursor();
    if (!ok) showError(tr("Export Failed"), e);
    else statusBar()->showMessage(tr("Exported every view to %1").arg(dir), 6000);
}

void MainWindow::exportAnalysisDataDialog() {
    BundlePtr b = controller_->current();
    if (!b) {
        showError(tr("Export Analysis Data"), tr("There is no analysis result to export yet."));
        return;
    }
    QString selected;
    QString path = QFileDialog::getSaveFileName(
        this, tr("Export Analysis Data"), QDir(Settings::lastDirectory(QStringLiteral("export"))).filePath(QStringLiteral("analysis.json")),
        tr("Analysis JSON, as attnscope-cli analyze (*.json);;Entropy per layer, head and token (*.csv)"), &selected);
    if (path.isEmpty()) return;
    if (QFileInfo(path).suffix().isEmpty()) path += selected.contains(QLatin1String("*.csv")) ? QStringLiteral(".csv") : QStringLiteral(".json");
    Settings::setLastDirectory(QStringLiteral("export"), QFileInfo(path).absolutePath());
    const bool csv = path.endsWith(QLatin1String(".csv"), Qt::CaseInsensitive);
    const QString text = csv ? fromStd(entropyToCsv(b->plan, b->stats()))
                             : fromStd(analysisToJson(b->plan, b->stats(), controller_->tokenizer().get()).dump(2));
    QString e;
    if (!widgets::writeTextFileAtomic(path, text, &e)) showError(tr("Export Failed"), e);
    else statusBar()->showMessage(tr("Exported %1").arg(QFileInfo(path).fileName()), 4000);
}

void MainWindow::splitTextDialog(const QString& initialText) {
    SplitDialog d(this);
    d.setText(initialText);
    d.setParts(std::max(2, editor_->chunkCount()));
    if (d.exec() != QDialog::Accepted) return;
    const QStringList chunks = d.chunks();
    if (chunks.isEmpty() && d.query().isEmpty()) return;
    ContextSpec spec = editor_->context();
    if (!d.append()) spec.chunks.clear();
    for (const QString& c : chunks) spec.chunks.push_back(toStd(c));
    if (!d.query().isEmpty()) spec.query = toStd(d.query());
    editor_->setContext(spec);   // one undo step
}

void MainWindow::showAbout() {
    QMessageBox::about(
        this, tr("About attnscope"),
        tr("<h3>attnscope %1</h3>"
           "<p>See attention entropy inside a language model when its context is split into chunks and encoded in "
           "parallel, and how a shared attention sink and selective attention bring it down.</p>"
           "<p>Method: Zhisong Zhang et al., <i>Attention Entropy is a Key Factor: An Analysis of Parallel Context "
           "Encoding with Full-attention-based Pre-trained Language Models</i>, ACL 2025 (arXiv 2412.16545).</p>"
           "<p>Entropy is measured in nats: H = −Σ p ln p over the keys a token may see.</p>")
            .arg(QApplication::applicationVersion()));
}

void MainWindow::updateRecentMenus() {
    auto fill = [this](QMenu* menu, const QStringList& items, bool models) {
        if (!menu) return;
        menu->clear();
        for (const QString& path : items) {
            QAction* a = menu->addAction(QFileInfo(path).fileName());
            a->setToolTip(path);
            a->setStatusTip(path);
            a->setEnabled(QFileInfo::exists(path));
            connect(a, &QAction::triggered, this, [this, path, models] {
                if (models) {
                    interactiveModelOpen_ = true;
                    openModel(path);
                    return;
                }
                if (looksLikeSession(path) && !maybeSave()) return;
                QString e;
                if (!openAnyFile(path, &e)) showError(tr("Cannot Open File"), e);
            });
        }
        if (items.isEmpty()) menu->addAction(tr("(none)"))->setEnabled(false);
        menu->addSeparator();
        menu->addAction(tr("Clear Menu"), this, [this] {
            Settings::clearRecent();
            updateRecentMenus();
        });
    };
    fill(recentModelsMenu_, Settings::recentModels(), true);
    fill(recentFilesMenu_, Settings::recentFiles(), false);

    // The empty state lists recent models as one-click buttons.
    if (emptyRecent_) {
        while (QLayoutItem* item = emptyRecent_->takeAt(0)) {
            delete item->widget();
            delete item;
        }
        const QStringList models = Settings::recentModels();
        int shown = 0;
        for (const QString& path : models) {
            if (!QFileInfo::exists(path) || shown == 4) continue;
            auto* b = new QPushButton(tr("Open recent: %1").arg(QFileInfo(path).fileName()));
            b->setFlat(true);
            b->setToolTip(path);
            connect(b, &QPushButton::clicked, this, [this, path] {
                interactiveModelOpen_ = true;
                openModel(path);
            });
            emptyRecent_->addWidget(b, 0, Qt::AlignHCenter);
            ++shown;
        }
    }
}

bool MainWindow::maybeSave() {
    if (mode_ != Mode::Interactive || !isDirty()) return true;
    const auto answer = QMessageBox::warning(
        this, tr("Unsaved Changes"),
        tr("The context or method settings have changed since the session was last saved.\nSave them first?"),
        QMessageBox::Save | QMessageBox::Discard | QMessageBox::Cancel, QMessageBox::Save);
    if (answer == QMessageBox::Cancel) return false;
    if (answer == QMessageBox::Save) return saveSession();
    return true;
}

// ---------------------------------------------------------------- window events

void MainWindow::closeEvent(QCloseEvent* event) {
    if (!maybeSave()) {
        event->ignore();
        return;
    }
    if (mode_ == Mode::Interactive)
        Settings::setWindowLayout(saveGeometry(), presentation_ && !layoutBeforePresentation_.isEmpty()
                                                      ? layoutBeforePresentation_
                                                      : saveState());
    controller_->cancelAll();
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
    for (const QUrl& url : event->mimeData()->urls()) {
        if (!url.isLocalFile()) continue;
        const QString path = url.toLocalFile();
        const QFileInfo fi(path);
        QString e;
        if (isModelPath(path)) {
            interactiveModelOpen_ = true;
            openModel(path);
        } else if (fi.isFile() && fi.suffix().compare(QLatin1String("json"), Qt::CaseInsensitive) != 0) {
            // Plain text: split it into chunks (a file written by Save Context as text loads as is).
            QFile f(path);
            if (!f.open(QIODevice::ReadOnly)) {
                showError(tr("Cannot Open File"), tr("%1: cannot open (%2)").arg(path, f.errorString()));
                continue;
            }
            const QString text = QString::fromUtf8(f.read(64 << 20));
            if (text.contains(QLatin1String("### chunk"))) {
                if (!openContextFile(path, &e)) showError(tr("Cannot Open File"), e);
            } else {
                splitTextDialog(text);
            }
        } else {
            if (looksLikeSession(path) && !maybeSave()) continue;
            if (!openAnyFile(path, &e)) showError(tr("Cannot Open File"), e);
        }
        event->acceptProposedAction();
    }
}

}  // namespace attnscope::gui
