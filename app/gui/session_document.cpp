#include "session_document.h"

#include <QAction>
#include <QFileInfo>
#include <QMainWindow>
#include <QMenu>
#include <QMessageBox>
#include <QStatusBar>

#include "file_dialogs.h"
#include "session_file.h"
#include "settings.h"
#include "ui_helpers.h"

namespace attnscope::gui {

SessionDocument::SessionDocument(QMainWindow* window, bool interactive, Hooks hooks)
    : QObject(window), window_(window), interactive_(interactive), hooks_(std::move(hooks)) {
    recentFiles_ = new QMenu(tr("Open &Recent"), window);
    recentModels_ = new QMenu(tr("Recent Mo&dels"), window);
    updateRecentMenus();
}

bool SessionDocument::open(const QString& path, QString* error) {
    auto state = loadSession(path, error);
    if (!state) return false;  // nothing was applied
    hooks_.apply(*state);
    path_ = QFileInfo(path).absoluteFilePath();
    if (interactive_) Settings::setLastDirectory(QStringLiteral("session"), QFileInfo(path).absolutePath());
    addRecentFile(path);
    markClean();
    return true;
}

bool SessionDocument::saveTo(const QString& path, QString* error) {
    if (!saveSession(path, hooks_.state(), error)) return false;
    path_ = QFileInfo(path).absoluteFilePath();
    addRecentFile(path);
    markClean();
    window_->statusBar()->showMessage(tr("Saved %1").arg(QFileInfo(path).fileName()), 4000);
    return true;
}

bool SessionDocument::save() {
    if (path_.isEmpty()) return saveAs();
    QString e;
    if (saveTo(path_, &e)) return true;
    showError(window_, interactive_, tr("Cannot Save Session"), e);
    return false;
}

bool SessionDocument::saveAs() {
    QString path = askSaveFile(window_, tr("Save Session"), QStringLiteral("session"),
                               path_.isEmpty() ? QStringLiteral("session") + kSessionSuffix : path_,
                               {tr("attnscope session (*%1)").arg(kSessionSuffix), tr("JSON (*.json)")});
    if (path.isEmpty()) return false;
    if (!path.endsWith(QLatin1String(".json"), Qt::CaseInsensitive)) path += kSessionSuffix;
    QString e;
    if (saveTo(path, &e)) return true;
    showError(window_, interactive_, tr("Cannot Save Session"), e);
    return false;
}

bool SessionDocument::maybeSave() {
    if (!interactive_ || !isDirty()) return true;
    const QString text =
        path_.isEmpty() ? tr("The context and method settings are not saved in a session file.\nSave them first?")
                        : tr("The context or method settings have changed since %1 was last saved.\nSave them first?")
                              .arg(QFileInfo(path_).fileName());
    const auto answer =
        QMessageBox::warning(window_, tr("Unsaved Changes"), text,
                             QMessageBox::Save | QMessageBox::Discard | QMessageBox::Cancel, QMessageBox::Save);
    if (answer == QMessageBox::Cancel) return false;
    if (answer == QMessageBox::Save) return save();
    return true;
}

bool SessionDocument::isDirty() const {
    // What a session saves that the user would miss: the context, the method and the model.
    const SessionState now = hooks_.essentials();
    return !sameContext(now.context, clean_.context) || !(now.method == clean_.method) ||
           now.modelPath != clean_.modelPath;
}

void SessionDocument::markClean() {
    clean_ = hooks_.essentials();
    updateTitle();
}

void SessionDocument::updateTitle() {
    const QString name = path_.isEmpty() ? tr("Untitled session") : QFileInfo(path_).fileName();
    window_->setWindowTitle(QStringLiteral("%1[*] — attnscope").arg(name));
    window_->setWindowModified(isDirty());
}

// ---------------------------------------------------------------- recent files

void SessionDocument::addRecentFile(const QString& path) {
    if (interactive_) Settings::addRecentFile(path);
    updateRecentMenus();
}

void SessionDocument::addRecentModel(const QString& path) {
    if (interactive_) Settings::addRecentModel(path);
    updateRecentMenus();
}

void SessionDocument::updateRecentMenus() {
    fillRecentMenu(recentModels_, Settings::recentModels(), true);
    fillRecentMenu(recentFiles_, Settings::recentFiles(), false);
    emit recentChanged();
}

void SessionDocument::fillRecentMenu(QMenu* menu, const QStringList& paths, bool models) {
    menu->clear();
    for (const QString& path : paths) {
        QAction* a = menu->addAction(QFileInfo(path).fileName());
        a->setToolTip(path);
        a->setStatusTip(path);
        a->setEnabled(QFileInfo::exists(path));
        connect(a, &QAction::triggered, this, [this, path, models] {
            if (models) emit recentModelChosen(path);
            else emit recentFileChosen(path);
        });
    }
    if (paths.isEmpty()) menu->addAction(tr("(none)"))->setEnabled(false);
    menu->addSeparator();
    menu->addAction(tr("Clear Menu"), this, [this] {
        Settings::clearRecent();
        updateRecentMenus();
    });
}

}  // namespace attnscope::gui
