#pragma once
// CompactFigure: what a panel shows when it is too small for its view to be readable — the
// view's title (elided), its compact form (sparklines, no axes) and "click to enlarge". A click
// asks for the view at a readable size.
#include <QWidget>

namespace attnscope::widgets {

class FigureView;

class CompactFigure : public QWidget {
    Q_OBJECT
public:
    explicit CompactFigure(FigureView* view, QWidget* parent = nullptr);

    static QString hint() { return tr("click to enlarge"); }
    QSize minimumSizeHint() const override { return {40, 24}; }

signals:
    void clicked();

protected:
    void paintEvent(QPaintEvent* event) override;
    void mouseReleaseEvent(QMouseEvent* event) override;

private:
    FigureView* view_;
};

}  // namespace attnscope::widgets
