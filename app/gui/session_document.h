#pragma once
// SessionDocument: the session file behind the window. Opening (validated before anything
// changes) and saving (atomically) through session_file.h, the file's path in the window title,
// whether the context, method or model changed since it was opened or saved (the title's [*] and
// the unsaved-changes prompt), and the recent files and models (menus, settings).
#include <QObject>
#include <QString>

#include <functional>

#include "app_state.h"

class QMainWindow;
class QMenu;

namespace attnscope::gui {

// The file suffix sessions are saved with.
inline const QString kSessionSuffix = QStringLiteral(".attnscope.json");

class SessionDocument : public QObject {
    Q_OBJECT
public:
    // What the document needs from the window.
    struct Hooks {
        std::function<SessionState()> state;             // everything a session saves
        std::function<SessionState()> essentials;        // context, method and model only (cheap)
        std::function<void(const SessionState&)> apply;  // shows an opened session
    };
    // Interactive: dialogs, and the recent lists are kept in the settings. Headless: neither.
    SessionDocument(QMainWindow* window, bool interactive, Hooks hooks);

    QString path() const { return path_; }
    // Open/save `path`; false with "file: reason" in *error (nothing changed on a failed open).
    bool open(const QString& path, QString* error = nullptr);
    bool saveTo(const QString& path, QString* error = nullptr);
    // Interactive save commands (errors in a dialog): to the current file, or one asked for.
    bool save();
    bool saveAs();
    // Asks whether to save unsaved changes; false when the user cancels.
    bool maybeSave();

    // The context, method or model differs from what was last opened or saved.
    bool isDirty() const;
    // What is shown now counts as saved (after opening files at start-up).
    void markClean();
    void updateTitle();

    // Recent files and models: menus for the File menu, kept up to date.
    QMenu* recentFilesMenu() const { return recentFiles_; }
    QMenu* recentModelsMenu() const { return recentModels_; }
    void addRecentFile(const QString& path);
    void addRecentModel(const QString& path);

signals:
    void recentFileChosen(const QString& path);
    void recentModelChosen(const QString& path);
    void recentChanged();  // the lists changed (the empty state shows recent models too)

private:
    void updateRecentMenus();
    void fillRecentMenu(QMenu* menu, const QStringList& paths, bool models);

    QMainWindow* window_;
    const bool interactive_;
    Hooks hooks_;
    QString path_;
    SessionState clean_;  // what was last opened or saved: context, method, model
    QMenu* recentFiles_ = nullptr;
    QMenu* recentModels_ = nullptr;
};

}  // namespace attnscope::gui
