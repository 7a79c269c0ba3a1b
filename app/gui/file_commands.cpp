#include "file_commands.h"

#include <QAction>
#include <QFileInfo>
#include <QMenu>
#include <QStatusBar>
#include <QToolBar>

#include "analysis_views.h"
#include "context_editor.h"
#include "context_text.h"
#include "figure_exporter.h"
#include "file_dialogs.h"
#include "input_file.h"
#include "main_window.h"
#include "session_document.h"
#include "ui_helpers.h"

namespace attnscope::gui {

FileCommands::FileCommands(MainWindow* window, bool interactive, SessionDocument* document, FigureExporter* exporter,
                           AnalysisViews* views)
    : QObject(window),
      window_(window),
      interactive_(interactive),
      document_(document),
      exporter_(exporter),
      views_(views) {
    connect(document_, &SessionDocument::recentModelChosen, this,
            [this](const QString& path) { window_->openModel(path); });
    connect(document_, &SessionDocument::recentFileChosen, this, &FileCommands::openFile);
}

void FileCommands::buildMenu(QMenu* file, QToolBar* toolbar) {
    auto add = [this, file](const QString& text, const QKeySequence& key, const char* icon,
                            std::function<void()> slot) {
        return addCommand(this, file, text, key, icon, std::move(slot));
    };
    QAction* open = add(tr("&Open…"), QKeySequence::Open, "open", [this] { openFileDialog(); });
    open->setToolTip(tr("Open a session, a context or a model"));
    file->addMenu(document_->recentFilesMenu());
    file->addSeparator();
    QAction* openModel =
        add(tr("Open &Model…"), QKeySequence(tr("Ctrl+Shift+O")), "open-model", [this] { openModelDialog(); });
    add(tr("Open Hugging Face &Folder…"), {}, nullptr, [this] { openModelFolderDialog(); });
    file->addMenu(document_->recentModelsMenu());
    file->addSeparator();
    add(tr("&Load Context…"), QKeySequence(tr("Ctrl+L")), nullptr, [this] { loadContextDialog(); });
    add(tr("Save &Context As…"), {}, nullptr, [this] { saveContextDialog(); });
    file->addSeparator();
    QAction* save = add(tr("&Save Session"), QKeySequence::Save, "save", [this] { document_->save(); });
    add(tr("Save Session &As…"), QKeySequence::SaveAs, nullptr, [this] { document_->saveAs(); });
    file->addSeparator();
    QAction* exportView = add(tr("&Export Current View…"), QKeySequence(tr("Ctrl+E")), "export",
                              [this] { exporter_->exportPanelDialog(views_->currentPanel(), QString()); });
    add(tr("Export &Figure Set…"), QKeySequence(tr("Ctrl+Shift+E")), nullptr,
        [this] { exporter_->exportFigureSetDialog(); });
    add(tr("Export Analysis &Data…"), {}, nullptr, [this] { exporter_->exportAnalysisDataDialog(); });
    file->addMenu(exporter_->scaleMenu());
    file->addSeparator();
    add(tr("&Quit"), QKeySequence::Quit, nullptr, [this] { window_->close(); });
    toolbar->addActions({openModel, open, save, exportView});
}

void FileCommands::openModelDialog() {
    const QString path =
        askOpenFile(window_, tr("Open Model"), QStringLiteral("model"),
                    tr("Models (*.gguf *.safetensors config.json);;GGUF files (*.gguf);;All files (*)"));
    if (path.isEmpty()) return;
    // A safetensors shard or config.json stands for its folder.
    const bool gguf = QFileInfo(path).suffix().toLower() == QLatin1String("gguf");
    window_->openModel(gguf ? path : QFileInfo(path).absolutePath());
}

void FileCommands::openModelFolderDialog() {
    const QString dir = askFolder(window_, tr("Open Hugging Face Model Folder"), QStringLiteral("model"));
    if (!dir.isEmpty()) window_->openModel(dir);
}

void FileCommands::openFileDialog() {
    const QString path = askOpenFile(window_, tr("Open"), QStringLiteral("session"),
                                     tr("attnscope files (*.json *.txt *.gguf);;Sessions (*%1);;Contexts (*.json "
                                        "*.txt);;Models (*.gguf);;All files (*)")
                                         .arg(kSessionSuffix));
    if (!path.isEmpty()) openFile(path);
}

void FileCommands::openFile(const QString& path) {
    if (isModelPath(path) && QFileInfo::exists(path)) {
        window_->openModel(path);
        return;
    }
    const bool session = isSessionFile(path);  // read once: sessions replace the document
    if (session && !document_->maybeSave()) return;
    QString e;
    const bool opened = session ? window_->openSessionFile(path, &e) : window_->openAnyFile(path, &e);
    if (!opened) showError(window_, interactive_, tr("Cannot Open File"), e);
}

void FileCommands::loadContextDialog() {
    const QString path = askOpenFile(window_, tr("Load Context"), QStringLiteral("context"),
                                     tr("Contexts (*.json *.txt);;All files (*)"));
    QString e;
    if (!path.isEmpty() && !window_->openContextFile(path, &e))
        showError(window_, interactive_, tr("Cannot Load Context"), e);
}

void FileCommands::saveContextDialog() {
    const QString path = askSaveFile(
        window_, tr("Save Context"), QStringLiteral("context"), QStringLiteral("context.json"),
        {tr("Context JSON (*.json)"), tr("Plain text (*.txt)")}, {QStringLiteral("json"), QStringLiteral("txt")});
    if (path.isEmpty()) return;
    QString e;
    if (!saveContextFile(path, window_->contextEditor()->context(), &e))
        showError(window_, interactive_, tr("Cannot Save Context"), e);
    else window_->statusBar()->showMessage(tr("Saved context %1").arg(QFileInfo(path).fileName()), 4000);
}

void FileCommands::drop(const QList<QUrl>& urls) {
    for (const QUrl& url : urls) {
        if (!url.isLocalFile()) continue;
        const QString path = url.toLocalFile();
        const QFileInfo fi(path);
        if (isModelPath(path) || !fi.isFile() || fi.suffix().compare(QLatin1String("json"), Qt::CaseInsensitive) == 0) {
            openFile(path);
            continue;
        }
        // Plain text: split it into chunks (a file written by Save Context as text loads as is).
        QString e;
        const auto bytes = readInputFile(path, tr("context"), &e);
        if (!bytes) showError(window_, interactive_, tr("Cannot Open File"), e);
        else if (QString::fromUtf8(*bytes).contains(QLatin1String("### chunk"))) openFile(path);
        else window_->contextEditor()->splitText(QString::fromUtf8(*bytes));
    }
}

}  // namespace attnscope::gui
