#include "context_view.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <QHelpEvent>
#include <QJsonArray>
#include <QMouseEvent>
#include <QPainter>
#include <QPainterPath>
#include <QScrollArea>
#include <QScrollBar>
#include <QToolTip>
#include <QVBoxLayout>

namespace attnscope::widgets {
namespace {

constexpr double kMargin = 12;
constexpr double kLogFloor = 1e-3;  // log shading covers three decades below the maximum

// Text drawn for a token in running text: SentencePiece '▁' and tabs become spaces, newlines '↵'.
QString runningText(const QString& raw) {
    QString out;
    out.reserve(raw.size());
    for (QChar c : raw) {
        if (c == QLatin1Char('\n')) out += QChar(0x21B5);
        else if (c == QChar(0x2581) || c == QLatin1Char('\t')) out += QLatin1Char(' ');
        else if (c == QLatin1Char('\r')) continue;
        else if (c.category() == QChar::Other_Control) out += QChar(0xFFFD);
        else out += c;
    }
    if (out.isEmpty()) out = QStringLiteral("∅");
    return out;
}

QColor mix(const QColor& a, const QColor& b, double t) {
    t = std::clamp(t, 0.0, 1.0);
    return QColor::fromRgbF(static_cast<float>(a.redF() + (b.redF() - a.redF()) * t),
                            static_cast<float>(a.greenF() + (b.greenF() - a.greenF()) * t),
                            static_cast<float>(a.blueF() + (b.blueF() - a.blueF()) * t));
}

QString segmentKindName(SegmentKind k) {
    switch (k) {
        case SegmentKind::Prefix: return QStringLiteral("prefix");
        case SegmentKind::Chunk: return QStringLiteral("chunk");
        case SegmentKind::Query: return QStringLiteral("query");
    }
    return {};
}

QColor segmentColor(const TokenAxisInfo& info, int token) {
    if (token < 0 || token >= info.tokenCount()) return prefixColor();
    switch (info.segments[token]) {
        case SegmentKind::Prefix: return prefixColor();
        case SegmentKind::Query: return queryColor();
        case SegmentKind::Chunk: return chunkColor(info.chunkOfToken.value(token, 0));
    }
    return prefixColor();
}

}  // namespace

// The scrolled widget: paints the part of the content it is asked for and forwards mouse input.
class ContextCanvas : public QWidget {
public:
    explicit ContextCanvas(ContextView* view) : QWidget(nullptr), view_(view) {
        setMouseTracking(true);
        setAttribute(Qt::WA_OpaquePaintEvent);
    }

protected:
    void paintEvent(QPaintEvent* event) override {
        QPainter p(this);
        p.setRenderHint(QPainter::Antialiasing);
        p.setRenderHint(QPainter::TextAntialiasing);
        p.fillRect(event->rect(), view_->palette().color(QPalette::Base));
        view_->paintContent(p, QRectF(event->rect()), width());
    }
    void mouseMoveEvent(QMouseEvent* event) override {
        const int t = view_->tokenAt(event->position());
        if (t != hovered_) {
            hovered_ = t;
            Q_EMIT view_->tokenHovered(t);
        }
        const bool clickable = t >= view_->info_.queryBegin && t >= 0;
        setCursor(clickable ? Qt::PointingHandCursor : Qt::ArrowCursor);
    }
    void leaveEvent(QEvent*) override {
        if (hovered_ != -1) {
            hovered_ = -1;
            Q_EMIT view_->tokenHovered(-1);
        }
    }
    void mouseReleaseEvent(QMouseEvent* event) override {
        if (event->button() != Qt::LeftButton) return;
        const int t = view_->tokenAt(event->position());
        if (t < 0 || t < view_->info_.queryBegin) return;
        const int q = t - view_->info_.queryBegin;
        view_->setSelectedQuery(q);
        Q_EMIT view_->queryTokenClicked(q);
    }
    bool event(QEvent* e) override {
        if (e->type() == QEvent::ToolTip) {
            auto* help = static_cast<QHelpEvent*>(e);
            const int t = view_->tokenAt(help->pos());
            if (t < 0) {
                QToolTip::hideText();
                e->ignore();
                return true;
            }
            const TokenAxisInfo& info = view_->info_;
            QString text = QStringLiteral("#%1 “%2”").arg(t).arg(displayToken(info.tokenText(t), 30).toHtmlEscaped());
            if (t < info.tokenIds.size()) text += QStringLiteral(" (id %1)").arg(info.tokenIds[t]);
            text += QStringLiteral("<br>%1").arg(info.segmentLabel(t));
            if (t < view_->weights_.size())
                text += QStringLiteral("<br>attention: <b>%1</b>").arg(QString::number(view_->weights_[t], 'g', 4));
            if (t >= info.queryBegin) text += QStringLiteral("<br><i>click to inspect this query token</i>");
            QToolTip::showText(help->globalPos(), text, this);
            return true;
        }
        return QWidget::event(e);
    }

private:
    ContextView* view_;
    int hovered_ = -1;
};

ContextView::ContextView(QWidget* parent) : FigureView(parent) {
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    scroll_ = new QScrollArea(this);
    scroll_->setWidgetResizable(false);
    scroll_->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    scroll_->setFrameShape(QFrame::NoFrame);
    canvas_ = new ContextCanvas(this);
    scroll_->setWidget(canvas_);
    layout->addWidget(scroll_);
    setFocusPolicy(Qt::StrongFocus);
    applyStyle();
}

ContextView::~ContextView() = default;

QFont ContextView::tokenFont() const { return scaledFont(1.0); }
QFont ContextView::labelFont() const { return scaledFont(0.85); }

void ContextView::setTokens(const TokenAxisInfo& info, const QVector<int>& ids) {
    info_ = info;
    if (!ids.isEmpty()) info_.tokenIds = ids;
    weights_.clear();
    maxWeight_ = 0;
    caption_.clear();
    chunkMass_.clear();
    haveMass_ = false;
    selectedQuery_ = -1;
    invalidateLayout();
    Q_EMIT dataChanged();
}

void ContextView::setAttention(const QVector<double>& weightPerToken, const QString& caption) {
    weights_ = weightPerToken.size() == info_.tokenCount() ? weightPerToken : QVector<double>{};
    maxWeight_ = 0;
    for (double w : weights_)
        if (std::isfinite(w)) maxWeight_ = std::max(maxWeight_, w);
    caption_ = caption;
    invalidateLayout();
    Q_EMIT dataChanged();
}

void ContextView::setChunkMass(const QVector<double>& chunkMass, double prefixMass, double queryMass) {
    chunkMass_ = chunkMass;
    prefixMass_ = prefixMass;
    queryMass_ = queryMass;
    haveMass_ = true;
    invalidateLayout();
    Q_EMIT dataChanged();
}

void ContextView::setSelectedQuery(int q) {
    if (q < -1 || q >= info_.queryCount()) q = -1;
    selectedQuery_ = q;
    canvas_->update();
}

void ContextView::setHighlightedChunk(int chunk) {
    highlightedChunk_ = chunk;
    scrollToHighlight();
    scroll_->viewport()->update();
}

// The highlighted chunk's first line a quarter down the view (again after each resize: the view
// may be laid out after the highlight is set).
void ContextView::scrollToHighlight() {
    if (highlightedChunk_ < 0 || highlightedChunk_ >= info_.chunkCount()) return;
    const QRectF r = tokenRect(info_.chunkRanges[highlightedChunk_].begin);
    if (!r.isEmpty()) scroll_->verticalScrollBar()->setValue(int(r.top()) - scroll_->viewport()->height() / 4);
}

void ContextView::setLogScale(bool on) {
    log_ = on;
    invalidateLayout();
}

void ContextView::setGradient(ColorMapKind kind) {
    gradientKind_ = kind;
    canvas_->update();
}

void ContextView::invalidateLayout() {
    layoutWidth_ = -1;
    relayout(scroll_->viewport()->width());
    canvas_->resize(contentSize_);
    canvas_->update();
}

void ContextView::resizeEvent(QResizeEvent* event) {
    FigureView::resizeEvent(event);
    relayout(scroll_->viewport()->width());
    canvas_->resize(contentSize_);
    scrollToHighlight();
}

void ContextView::applyStyle() {
    layoutWidth_ = -1;
    if (canvas_) invalidateLayout();
}

double ContextView::shadePosition(int token) const {
    if (token < 0 || token >= weights_.size()) return std::numeric_limits<double>::quiet_NaN();
    const double maxW = maxWeight_;
    const double w = weights_[token];
    if (!(maxW > 0) || !std::isfinite(w) || w <= 0) return 0;
    if (log_) {
        const double lo = maxW * kLogFloor;
        return std::clamp(std::log(w / lo) / std::log(maxW / lo), 0.0, 1.0);
    }
    return std::clamp(w / maxW, 0.0, 1.0);
}

QColor ContextView::tokenShade(int token) const {
    const double t = shadePosition(token);
    return std::isnan(t) ? QColor() : shadeAt(t);
}

QColor ContextView::shadeAt(double t) const {
    // Light palettes: high attention is dark; dark palettes: high attention is bright. Low
    // attention fades into the background so the few strong tokens stand out.
    const QColor heat = sampleGradient(gradientKind_, darkPalette() ? 0.25 + 0.75 * t : 1.0 - 0.85 * t);
    return mix(palette().color(QPalette::Base), heat, std::min(1.0, t * 4));
}

QSize ContextView::contentSize() const {
    relayout(scroll_->viewport()->width());
    return contentSize_;
}

void ContextView::relayout(int width) const {
    width = std::max(width, 200);
    if (layoutWidth_ == width) return;
    layoutWidth_ = width;
    const double y = layoutHeader(width);
    const double bottom = layoutTokens(width, y);
    contentSize_ = QSize(width, static_cast<int>(std::ceil(bottom)));
}

// Caption, mass bars and shading legend, top to bottom; returns where the text starts.
double ContextView::layoutHeader(int width) const {
    const QFontMetricsF fm(tokenFont()), lfm(labelFont());
    const double right = width - kMargin;
    double y = kMargin;
    captionRect_ = {};
    massRect_ = {};
    legendRect_ = {};
    if (!caption_.isEmpty()) {
        captionRect_ = QRectF(kMargin, y, right - kMargin, fm.height());
        y += fm.height() + 6;
    }
    if (haveMass_) {
        const double h = 4 * lfm.height() + 44;
        massRect_ = QRectF(kMargin, y, std::min(right - kMargin, 760.0), h);
        y += h + 8;
    }
    if (!weights_.isEmpty()) {
        legendRect_ = QRectF(kMargin, y, std::min(right - kMargin, 420.0), lfm.height() * 2 + 10);
        y += legendRect_.height() + 8;
    }
    textTop_ = y;
    return y;
}

// The tokens as running text from `y` down: each segment starts a line with its label, and its
// continuation lines start where its first token did. Returns the content's bottom.
double ContextView::layoutTokens(int width, double y) const {
    const QFontMetricsF fm(tokenFont()), lfm(labelFont());
    const double right = width - kMargin;
    const double lineH = fm.height() + 8;
    tokenRects_.resize(info_.tokenCount());
    segmentLabels_.clear();
    double x = kMargin;
    double indent = kMargin;
    int lastSegmentKey = std::numeric_limits<int>::min();
    for (int t = 0; t < info_.tokenCount(); ++t) {
        const int key = info_.segments[t] == SegmentKind::Chunk    ? info_.chunkOfToken.value(t, 0)
                        : info_.segments[t] == SegmentKind::Prefix ? -2
                                                                   : -3;
        if (key != lastSegmentKey) {
            if (t > 0) {
                y += lineH + 6;
                x = kMargin;
            }
            const QString label = info_.segmentLabel(t);
            const double lw = lfm.horizontalAdvance(label) + 12;
            segmentLabels_.push_back(
                {QRectF(x, y + (lineH - lfm.height() - 4) / 2, lw, lfm.height() + 4), label, segmentColor(info_, t)});
            x += lw + 6;
            // Keep the text column after the label unless the label takes most of the line.
            indent = x < width * 0.4 ? x : kMargin;
            lastSegmentKey = key;
        }
        const QString text = runningText(info_.tokenText(t));
        const double w = fm.horizontalAdvance(text) + 2;
        if (x + w > right && x > indent + 1) {
            y += lineH;
            x = indent;
        }
        tokenRects_[t] = QRectF(x, y, w, lineH - 2);
        x += w;
        if (info_.tokenText(t).contains(QLatin1Char('\n'))) {
            y += lineH;
            x = indent;
        }
    }
    return info_.tokenCount() > 0 ? y + lineH + kMargin : y + kMargin;
}

QRectF ContextView::tokenRect(int token) const {
    relayout(scroll_->viewport()->width());
    if (token < 0 || token >= tokenRects_.size()) return {};
    return tokenRects_[token];
}

int ContextView::tokenAt(const QPointF& pos) const {
    relayout(scroll_->viewport()->width());
    // Rects are in token order, line by line: binary search the line, then scan it.
    auto it = std::lower_bound(tokenRects_.begin(), tokenRects_.end(), pos.y(),
                               [](const QRectF& r, double y) { return r.bottom() < y; });
    for (; it != tokenRects_.end() && it->top() <= pos.y(); ++it)
        if (it->contains(pos)) return static_cast<int>(it - tokenRects_.begin());
    return -1;
}

void ContextView::ensureTokenVisible(int token) {
    const QRectF r = tokenRect(token);
    if (!r.isEmpty())
        scroll_->ensureVisible(static_cast<int>(r.center().x()), static_cast<int>(r.center().y()), 20, 40);
}

void ContextView::paintContent(QPainter& p, const QRectF& clip, int width) const {
    relayout(width);
    if (!captionRect_.isNull() && captionRect_.intersects(clip)) {
        QFont f = tokenFont();
        f.setBold(true);
        p.setFont(f);
        p.setPen(palette().color(QPalette::Text));
        p.drawText(captionRect_, Qt::AlignLeft | Qt::AlignVCenter,
                   QFontMetricsF(f).elidedText(caption_, Qt::ElideRight, captionRect_.width()));
    }
    if (!massRect_.isNull() && massRect_.intersects(clip)) paintMassBars(p);
    if (!legendRect_.isNull() && legendRect_.intersects(clip)) paintLegend(p);
    for (const SegmentLabel& s : segmentLabels_) {
        if (!s.rect.intersects(clip)) continue;
        QPainterPath path;
        path.addRoundedRect(s.rect, 4, 4);
        p.fillPath(path, s.color);
        p.setFont(labelFont());
        p.setPen(contrastingTextColor(s.color));
        p.drawText(s.rect, Qt::AlignCenter, s.text);
    }
    paintTokens(p, clip);
}

// Attention mass per segment: prefix, chunk 1..P, query, as bars with their values.
void ContextView::paintMassBars(QPainter& p) const {
    struct Entry {
        QString label, shortLabel;
        double mass;
        QColor color;
    };
    QVector<Entry> entries;
    if (info_.prefixLength > 0 || prefixMass_ > 0)
        entries.push_back({QStringLiteral("prefix"), QStringLiteral("P"), prefixMass_, prefixColor()});
    for (int m = 0; m < chunkMass_.size(); ++m)
        entries.push_back(
            {QStringLiteral("chunk %1").arg(m + 1), QString::number(m + 1), chunkMass_[m], chunkColor(m)});
    entries.push_back({QStringLiteral("query"), QStringLiteral("Q"), queryMass_, queryColor()});
    double maxMass = 0;
    for (const Entry& e : entries) maxMass = std::max(maxMass, e.mass);
    if (!(maxMass > 0)) maxMass = 1;
    const QColor fg = palette().color(QPalette::Text);
    const QFontMetricsF lfm(labelFont());
    p.setFont(labelFont());
    p.setPen(fg);
    const QRectF title(massRect_.left(), massRect_.top(), massRect_.width(), lfm.height());
    p.drawText(title, Qt::AlignLeft | Qt::AlignVCenter, QStringLiteral("attention mass by segment (sums to 1)"));
    const double barTop = title.bottom() + lfm.height() + 4;  // room for value labels
    const double labelH = lfm.height() + 2;
    const double barBottom = massRect_.bottom() - labelH - 2;
    const double colW = std::min(56.0, massRect_.width() / std::max<qsizetype>(1, entries.size()));
    const double barW = std::max(2.0, colW * 0.72);
    p.setPen(QPen(withAlpha(fg, 120), 1));
    p.drawLine(QPointF(massRect_.left(), barBottom + 0.5),
               QPointF(massRect_.left() + colW * entries.size(), barBottom + 0.5));
    for (int i = 0; i < entries.size(); ++i) {
        const Entry& e = entries[i];
        const double cx = massRect_.left() + colW * (i + 0.5);
        const double h = (barBottom - barTop) * std::clamp(e.mass / maxMass, 0.0, 1.0);
        const QRectF bar(cx - barW / 2, barBottom - h, barW, h);
        p.fillRect(bar, e.color);
        p.setPen(fg);
        const QString value = QString::number(e.mass, 'f', 2);
        if (lfm.horizontalAdvance(value) + 2 <= colW)
            p.drawText(QRectF(cx - colW / 2, bar.top() - lfm.height() - 1, colW, lfm.height()), Qt::AlignCenter, value);
        const QString label = lfm.horizontalAdvance(e.label) + 4 <= colW        ? e.label
                              : lfm.horizontalAdvance(e.shortLabel) + 2 <= colW ? e.shortLabel
                                                                                : QString();
        if (!label.isEmpty())
            p.drawText(QRectF(cx - colW / 2, barBottom + 2, colW, labelH), Qt::AlignHCenter | Qt::AlignTop, label);
    }
}

// The shading's colour bar, from no attention to the largest weight shown.
void ContextView::paintLegend(QPainter& p) const {
    const double maxW = maxWeight_;
    const QColor fg = palette().color(QPalette::Text);
    const QFontMetricsF lfm(labelFont());
    p.setFont(labelFont());
    p.setPen(fg);
    const QString name = log_ ? QStringLiteral("attention received (log scale)") : QStringLiteral("attention received");
    const double nameW = lfm.horizontalAdvance(name) + 10;
    p.drawText(QRectF(legendRect_.left(), legendRect_.top(), nameW, lfm.height() + 4), Qt::AlignLeft | Qt::AlignVCenter,
               name);
    const QRectF bar(legendRect_.left() + nameW, legendRect_.top() + 2, std::max(60.0, legendRect_.width() - nameW),
                     lfm.height());
    const int steps = 64;
    for (int i = 0; i < steps; ++i)
        p.fillRect(QRectF(bar.left() + bar.width() * i / steps, bar.top(), bar.width() / steps + 0.5, bar.height()),
                   shadeAt((i + 0.5) / steps));
    p.setPen(QPen(withAlpha(fg, 120), 1));
    p.setBrush(Qt::NoBrush);
    p.drawRect(bar);
    p.setPen(fg);
    const QString lo = log_ ? QString::number(maxW * kLogFloor, 'g', 2) : QStringLiteral("0");
    const QString hi = QString::number(maxW, 'g', 3);
    p.drawText(QRectF(bar.left(), bar.bottom() + 2, bar.width() / 2, lfm.height()), Qt::AlignLeft | Qt::AlignTop, lo);
    p.drawText(QRectF(bar.center().x(), bar.bottom() + 2, bar.width() / 2, lfm.height()), Qt::AlignRight | Qt::AlignTop,
               hi);
}

// Every token in `clip`: its shade, its segment's underline, its text, the selection ring.
void ContextView::paintTokens(QPainter& p, const QRectF& clip) const {
    const QColor fg = palette().color(QPalette::Text);
    p.setFont(tokenFont());
    const int selectedToken = selectedQuery_ >= 0 ? info_.queryBegin + selectedQuery_ : -1;
    const double underline = presentationMode() ? 3 : 2;
    QList<QRectF> highlightLines;
    for (int t = 0; t < tokenRects_.size(); ++t) {
        const QRectF& r = tokenRects_[t];
        if (r.bottom() < clip.top()) continue;
        if (r.top() > clip.bottom()) break;
        const QColor shade = tokenShade(t);
        if (shade.isValid()) p.fillRect(r.adjusted(0, 0, 0, -underline), shade);
        // Segment membership: a coloured underline under every token.
        p.fillRect(QRectF(r.left(), r.bottom() - underline, r.width(), underline), segmentColor(info_, t));
        p.setPen(shade.isValid() ? contrastingTextColor(shade) : fg);
        p.drawText(r.adjusted(1, 0, -1, -underline), Qt::AlignCenter | Qt::TextDontClip,
                   runningText(info_.tokenText(t)));
        if (highlightedChunk_ >= 0 && info_.chunkOfToken.value(t, -1) == highlightedChunk_) {
            // One frame per line of the highlighted chunk.
            if (!highlightLines.isEmpty() && qFuzzyCompare(highlightLines.back().top(), r.top()))
                highlightLines.back() = highlightLines.back().united(r);
            else highlightLines << r;
        }
        if (t == selectedToken) {
            p.setPen(QPen(fg, presentationMode() ? 3 : 2));
            p.setBrush(Qt::NoBrush);
            p.drawRoundedRect(r.adjusted(-1, -1, 1, 1), 3, 3);
        }
    }
    p.setPen(QPen(palette().color(QPalette::Highlight), presentationMode() ? 3 : 2));
    p.setBrush(Qt::NoBrush);
    for (const QRectF& line : highlightLines) p.drawRoundedRect(line.adjusted(-3, -2, 3, 2), 4, 4);
}

bool ContextView::exportFigure(const QString& path, double scale, QString* error) {
    const int width =
        std::max(320, isVisible() && this->width() > 50 ? scroll_->viewport()->width() : exportSize().width());
    relayout(width);
    FigureInfo info;
    info.title = title().isEmpty() ? QStringLiteral("attnscope context view") : title();
    info.description = caption_;
    const QSize size = contentSize_;
    const bool ok = saveFigureWithMethodLine(path, size, scale, info, error);
    relayout(scroll_->viewport()->width());
    return ok;
}

QSize ContextView::readableSize() const {
    const QFontMetrics fm(font());
    return {fm.averageCharWidth() * 20, fm.height() * 4};
}

void ContextView::renderFigure(QPainter& painter, const QSize& size) {
    relayout(size.width());
    painter.fillRect(QRectF(QPointF(0, 0), QSizeF(size)), palette().color(QPalette::Base));
    painter.setRenderHint(QPainter::Antialiasing);
    painter.setRenderHint(QPainter::TextAntialiasing);
    paintContent(painter, QRectF(QPointF(0, 0), QSizeF(size)), size.width());
}

QString ContextView::dataCsv() const {
    QString out = QStringLiteral("token,id,text,segment,chunk,weight\n");
    for (int t = 0; t < info_.tokenCount(); ++t)
        out += QStringLiteral("%1,%2,%3,%4,%5,%6\n")
                   .arg(t)
                   .arg(t < info_.tokenIds.size() ? QString::number(info_.tokenIds[t]) : QString())
                   .arg(csvField(info_.tokenText(t)), segmentKindName(info_.segments[t]),
                        info_.segments[t] == SegmentKind::Chunk ? QString::number(info_.chunkOfToken.value(t, -1) + 1)
                                                                : QString(),
                        t < weights_.size() ? csvNumber(weights_[t]) : QString());
    return out;
}

QJsonObject ContextView::dataJson() const {
    QJsonObject o;
    o[QStringLiteral("kind")] = QStringLiteral("context_view");
    o[QStringLiteral("caption")] = caption_;
    QJsonArray tokens;
    for (int t = 0; t < info_.tokenCount(); ++t) {
        QJsonObject tok{{QStringLiteral("text"), info_.tokenText(t)},
                        {QStringLiteral("segment"), info_.segmentLabel(t)}};
        if (t < info_.tokenIds.size()) tok[QStringLiteral("id")] = info_.tokenIds[t];
        if (t < weights_.size()) tok[QStringLiteral("weight")] = weights_[t];
        tokens.append(tok);
    }
    o[QStringLiteral("tokens")] = tokens;
    if (haveMass_) {
        QJsonArray chunks;
        for (double m : chunkMass_) chunks.append(m);
        o[QStringLiteral("mass")] = QJsonObject{{QStringLiteral("prefix"), prefixMass_},
                                                {QStringLiteral("chunks"), chunks},
                                                {QStringLiteral("query"), queryMass_}};
    }
    if (selectedQuery_ >= 0) o[QStringLiteral("selectedQuery")] = selectedQuery_;
    return o;
}

}  // namespace attnscope::widgets
