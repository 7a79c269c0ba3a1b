#pragma once
// ViewPanel: frames one figure view with a header (controls + export menu) and a placeholder
// that replaces the view while there is nothing to show ("Open a model…", "Computing…", an error).
// A panel too small for its view to be readable shows the view's compact form instead
// (sparklines and "click to enlarge"), never a crushed plot.
#include <QSize>
#include <QString>
#include <QWidget>

class QHBoxLayout;
class QLabel;
class QStackedLayout;
class QToolButton;

namespace attnscope::widgets {
class CompactFigure;
class FigureView;
}  // namespace attnscope::widgets

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
    // The view has something to show but the panel is too small: the compact form is shown.
    bool compactShown() const;
    widgets::CompactFigure* compactFigure() const { return compact_; }
    // Chooses between the view and its compact form for the present size (after a resize, a
    // change of fonts or presentation mode).
    void updateForm();

signals:
    void exportRequested(const QString& format);  // "png", "svg", "pdf", "csv", "json"
    void enlargeRequested();                      // the compact form was clicked

protected:
    void resizeEvent(QResizeEvent* event) override;

private:
    QString key_, title_, placeholderText_;
    widgets::FigureView* view_;
    QHBoxLayout* header_;
    QStackedLayout* stack_;
    QLabel* placeholder_;
    widgets::CompactFigure* compact_;
    bool viewWanted_ = true;  // not a placeholder
    QSize triedAt_;           // the panel's size when the view was last shown
    QToolButton* exportButton_;
    int controlsEnd_ = 0;
};

}  // namespace attnscope::gui
