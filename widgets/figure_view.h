#pragma once
// FigureView: what every attnscope view offers the application, whether it is a QCustomPlot
// (PlotView) or custom painted (ContextView): figure export, data export of exactly what is shown,
// presentation mode, and palette following (light/dark).
#include <QJsonObject>
#include <QSize>
#include <QString>
#include <QWidget>

#include "figure_export.h"

class QPainter;

namespace attnscope::widgets {

class FigureView : public QWidget {
    Q_OBJECT
public:
    explicit FigureView(QWidget* parent = nullptr);
    ~FigureView() override;

    // Writes the figure; the format comes from the extension: .png (raster, `scale` × figureSize()),
    // .svg (vector, text as <text>), .pdf (vector). Returns false with a message in *error.
    virtual bool exportFigure(const QString& path, double scale = 2.0, QString* error = nullptr);
    // The data behind the figure, exactly what the view shows (after pooling/clipping).
    virtual QString dataCsv() const = 0;
    virtual QJsonObject dataJson() const = 0;
    bool exportCsv(const QString& path, QString* error = nullptr) const;
    bool exportJson(const QString& path, QString* error = nullptr) const;

    // Larger fonts and thicker lines, for projectors and teaching.
    void setPresentationMode(bool on);
    bool presentationMode() const { return presentation_; }

    // Title drawn above the figure (empty: none) and used as the SVG/PDF title.
    virtual void setTitle(const QString& title);
    QString title() const { return title_; }
    // The method line ("parallel · sink · window by position"), drawn in a strip under exported
    // figures and kept in the SVG description; empty: no strip.
    void setMethodLine(const QString& line) { methodLine_ = line; }
    QString methodLine() const { return methodLine_; }

    // Logical size used by exportFigure: the widget's size when it has been laid out, else
    // exportSize() (default 720×480), else sizeHint().
    QSize figureSize() const;
    void setExportSize(QSize size) { exportSize_ = size; }
    QSize exportSize() const { return exportSize_; }

    // Paints the figure at `size` (used by export; PlotView paints its QCustomPlot).
    virtual void renderFigure(QPainter& painter, const QSize& size) = 0;
    QSize sizeHint() const override;  // 640 × 420
    // The smallest size at which the figure is readable at its fonts; a panel smaller than this
    // shows the compact form (paintCompact) instead. Default: 24 average characters × 9 lines.
    virtual QSize readableSize() const;
    // The compact form: the data alone (sparklines, a thumbnail), no text, filling `area`.
    virtual void paintCompact(QPainter& painter, const QRectF& area);

    // Style metrics derived from presentation mode (point sizes, pen widths).
    double baseFontPointSize() const;
    QFont scaledFont(double factor) const;  // the widget's font at factor × baseFontPointSize()
    double lineWidth() const;               // regular data line width in pixels
    bool darkPalette() const;               // palette()'s window colour is dark

signals:
    // The data shown changed (new input or new range); the app may refresh export menus.
    void dataChanged();
    // The view laid itself out again (its readableSize() may have changed).
    void layoutAdapted();

protected:
    // Re-apply fonts and colours from palette() and presentation mode. Called on palette/font
    // changes and when presentation mode toggles. Subclasses override and call the base.
    virtual void applyStyle() {}
    // Writes the figure painted at `size`, with the method line's strip under it when there is one.
    bool saveFigureWithMethodLine(const QString& path, QSize size, double scale, FigureInfo info, QString* error);
    void changeEvent(QEvent* event) override;

private:
    bool presentation_ = false;
    QString title_;
    QString methodLine_;
    QSize exportSize_{720, 480};
};

}  // namespace attnscope::widgets
