#pragma once
// EmptyState: what the centre of the window shows while no model is open — the logo, a title,
// an explanation (why there is no model, or that one is loading), buttons to open a model file
// or a Hugging Face folder, and up to four recent models as one-click buttons.
#include <QStringList>
#include <QWidget>

class QLabel;
class QVBoxLayout;

namespace attnscope::gui {

class EmptyState : public QWidget {
    Q_OBJECT
public:
    explicit EmptyState(QWidget* parent = nullptr);

    void setMessage(const QString& title, const QString& text);
    void setRecentModels(const QStringList& paths);  // those that exist are offered

signals:
    void openModelClicked();
    void openFolderClicked();
    void recentModelClicked(const QString& path);

private:
    QLabel* title_ = nullptr;
    QLabel* text_ = nullptr;
    QVBoxLayout* recent_ = nullptr;
};

}  // namespace attnscope::gui
