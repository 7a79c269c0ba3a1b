#pragma once
// ViewPanel: frames one figure view with a header (controls + export menu) and a placeholder
// that replaces the view while there is nothing to show ("Open a model…", "Computing…", an error).
#include <QString>
#include <QWidget>

class QHBoxLayout;
class QLabel;
class QStackedLayout;
class QToolButton;

namespace attnscope::widgets {
class FigureView;
}

namespace attnscope::gui {

class ViewPanel : public QWidget {
    Q_OBJECT
public:
    // `key` names exported files ("heatmap" → heatmap.png); `title` is shown and used as the
    // figure title.
    ViewPanel(const QString& key, const QString& title, widgets::FigureView* view, QWidget* parent = nullptr);

    QString key() const { return key_; }
    QString title() const { return title_; }
    widgets::FigureView* view() const { return view_; }
    // Adds a control to the header (left of the export button).
    void addControl(QWidget* control);
    void addStretch();
    // Adds the controls, then a stretch (the export button stays on the right).
    void addControls(const QList<QWidget*>& controls);

    void showView();
    void showPlaceholder(const QString& text, bool isError = false);
    bool placeholderShown() const;
    QString placeholderText() const;

signals:
    void exportRequested(const QString& format);  // "png", "svg", "pdf", "csv", "json"

private:
    QString key_, title_, placeholderText_;
    widgets::FigureView* view_;
    QHBoxLayout* header_;
    QStackedLayout* stack_;
    QLabel* placeholder_;
    QToolButton* exportButton_;
    int controlsEnd_ = 0;
};

}  // namespace attnscope::gui
