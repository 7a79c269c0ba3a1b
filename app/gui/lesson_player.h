#pragma once
// LessonPlayer: runs a lesson in the window. Each step applies its state through the routes a
// click takes (the method toolbar's, the selection toolbar's, the context editor's), enlarges
// its view, highlights its token or chunk and shows its caption large under the views, with its
// numbers filled from the result on screen. Arrow keys, PageUp/PageDown and Space (what a
// presentation clicker sends) move between steps. Nothing is animated.
#include <QHash>
#include <QObject>
#include <QString>

#include "lesson.h"

class QLabel;
class QToolButton;
class QWidget;

namespace attnscope::gui {

class AnalysisController;
class MainWindow;

class LessonPlayer : public QObject {
    Q_OBJECT
public:
    explicit LessonPlayer(MainWindow* window);

    // The caption bar (hidden while no lesson runs); the window puts it under the views.
    QWidget* bar() const { return bar_; }

    void start(const Lesson& lesson, const QString& path);
    void stop();
    bool active() const { return active_; }
    const Lesson& lesson() const { return lesson_; }
    QString lessonPath() const { return path_; }
    int stepIndex() const { return index_; }
    void go(int index);
    void next() { go(index_ + 1); }
    void previous() { go(index_ - 1); }

    // The step's caption as shown (placeholders filled), and the values that fill them now.
    QString caption() const;
    QHash<QString, QString> captionValues() const;

    // The present state of the window as a step with `caption`.
    LessonStep captureStep(const QString& caption) const;
    // Appends captureStep(caption) to the lesson running (else to the lesson in `path`, else a
    // new one) and saves it to `path`.
    bool appendStep(const QString& path, const QString& caption, QString* error);

signals:
    void stepChanged(int index);

protected:
    bool eventFilter(QObject* watched, QEvent* event) override;

private:
    void buildBar();
    void applyStep(const LessonStep& step);
    void refreshCaption();

    MainWindow* window_;
    Lesson lesson_;
    QString path_;
    int index_ = 0;
    bool active_ = false;
    QWidget* bar_ = nullptr;
    QLabel* captionLabel_ = nullptr;
    QLabel* methodLabel_ = nullptr;
    QLabel* stepLabel_ = nullptr;
    QToolButton* prevButton_ = nullptr;
    QToolButton* nextButton_ = nullptr;
};

// The numbers a caption's placeholders stand for, from what `controller` shows now (a value
// not computed yet is left out).
QHash<QString, QString> captionValuesOf(const AnalysisController& controller);

}  // namespace attnscope::gui
