// MainWindow: lessons — opening one, the view enlarged in the centre, and authoring ("Save
// Current State as Lesson Step").
#include <QDialog>
#include <QDialogButtonBox>
#include <QLabel>
#include <QMenu>
#include <QPlainTextEdit>
#include <QStackedWidget>
#include <QStatusBar>
#include <QVBoxLayout>

#include "analysis_views.h"
#include "dock_layout.h"
#include "file_dialogs.h"
#include "lesson_player.h"
#include "main_window.h"
#include "ui_helpers.h"
#include "view_panel.h"

namespace attnscope::gui {

namespace {

// The caption of a new step, edited in a dialog; nullopt when cancelled.
std::optional<QString> askCaption(QWidget* parent, const QString& initial) {
    QDialog dialog(parent);
    dialog.setWindowTitle(QObject::tr("Save Current State as Lesson Step"));
    auto* layout = new QVBoxLayout(&dialog);
    layout->addWidget(
        new QLabel(QObject::tr("Caption (1–3 sentences). Write numbers as placeholders, e.g. "
                               "{query_entropy}, {perplexity}, {entropy_rise}: they are filled "
                               "from the result shown.")));
    auto* edit = new QPlainTextEdit(initial);
    layout->addWidget(edit);
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Save | QDialogButtonBox::Cancel);
    layout->addWidget(buttons);
    QObject::connect(buttons, &QDialogButtonBox::accepted, &dialog, &QDialog::accept);
    QObject::connect(buttons, &QDialogButtonBox::rejected, &dialog, &QDialog::reject);
    if (dialog.exec() != QDialog::Accepted) return std::nullopt;
    return edit->toPlainText();
}

}  // namespace

void MainWindow::buildLessonMenu(QMenu* menu) {
    addCommand(this, menu, tr("&Open Lesson…"), {}, nullptr, [this] {
        const QString path = askOpenFile(this, tr("Open Lesson"), QStringLiteral("lesson"),
                                         tr("attnscope lessons (*.json);;All files (*)"));
        QString e;
        if (!path.isEmpty() && !startLesson(path, &e)) showError(this, interactive(), tr("Cannot Open Lesson"), e);
    });
    addCommand(this, menu, tr("&Save Current State as Lesson Step…"), QKeySequence(tr("Ctrl+Shift+L")), nullptr,
               [this] { saveLessonStepDialog(); });
    menu->addSeparator();
    addCommand(this, menu, tr("&Next Step"), {}, nullptr, [this] { lesson_->next(); });
    addCommand(this, menu, tr("&Previous Step"), {}, nullptr, [this] { lesson_->previous(); });
    addCommand(this, menu, tr("&End Lesson"), {}, nullptr, [this] { endLesson(); });
}

void MainWindow::saveLessonStepDialog() {
    const auto caption = askCaption(this, {});
    if (!caption) return;
    QString path = lesson_->lessonPath();
    if (path.isEmpty())
        path = askSaveFile(this, tr("Save Lesson Step"), QStringLiteral("lesson"), QStringLiteral("lesson.json"),
                           {tr("attnscope lesson (*.json)")}, {QStringLiteral("json")});
    if (path.isEmpty()) return;
    QString e;
    if (!lesson_->appendStep(path, *caption, &e)) showError(this, interactive(), tr("Cannot Save Lesson Step"), e);
    else statusBar()->showMessage(tr("Added a step to %1").arg(path), 4000);
}

bool MainWindow::startLesson(const QString& path, QString* error) {
    const auto lesson = loadLesson(path, error);
    if (!lesson) return false;
    setPresentationMode(true);
    setAnimated(false);  // a step changes at once: no dock animation
    docks_->setLesson(true);
    lesson_->start(*lesson, path);
    return true;
}

void MainWindow::endLesson() {
    lesson_->stop();
    enlargeView({});
    docks_->setLesson(false);
    setAnimated(true);
}

void MainWindow::enlargeView(const QString& key) {
    ViewPanel* map = views_->panel(panels::kAttentionMap);
    ViewPanel* panel = key.isEmpty() ? map : views_->panel(key);
    if (!panel) return;
    if (enlarged_ && enlarged_ != panel) docks_->giveBack(enlarged_);  // back into its dock
    enlarged_ = panel == map ? nullptr : panel;
    if (enlarged_) central_->addWidget(enlarged_);
    if (controller_->hasModel()) central_->setCurrentWidget(panel);
    panel->show();
    panel->updateForm();
}

QString MainWindow::enlargedView() const {
    if (!lesson_->active() && !enlarged_) return {};
    return enlarged_ ? enlarged_->key() : panels::kAttentionMap;
}

QString MainWindow::currentViewKey() const { return views_->currentPanelKey(); }

}  // namespace attnscope::gui
