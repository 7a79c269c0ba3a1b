#include "view_panel.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QMenu>
#include <QStackedLayout>
#include <QToolButton>
#include <QVBoxLayout>

#include "compact_figure.h"
#include "figure_view.h"
#include "text_layout.h"
#include "ui_helpers.h"

namespace attnscope::gui {

ViewPanel::ViewPanel(const QString& key, const QString& title, widgets::FigureView* view, QWidget* parent)
    : QWidget(parent), key_(key), title_(title), view_(view) {
    setObjectName(key);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 2, 4, 4);
    layout->setSpacing(2);

    header_ = new QHBoxLayout;
    header_->setContentsMargins(2, 0, 0, 0);
    header_->setSpacing(6);
    exportButton_ = new QToolButton(this);
    exportButton_->setIcon(appIcon(QStringLiteral("export")));
    exportButton_->setToolTip(tr("Export this view"));
    exportButton_->setAutoRaise(true);
    exportButton_->setPopupMode(QToolButton::InstantPopup);
    auto* menu = new QMenu(exportButton_);
    const std::pair<const char*, QString> formats[] = {{"png", tr("Figure as PNG…")},
                                                       {"svg", tr("Figure as SVG…")},
                                                       {"pdf", tr("Figure as PDF…")},
                                                       {"csv", tr("Data as CSV…")},
                                                       {"json", tr("Data as JSON…")}};
    for (const auto& [fmt, label] : formats) {
        const QString f = QString::fromLatin1(fmt);
        if (f == QLatin1String("csv")) menu->addSeparator();
        menu->addAction(label, this, [this, f] { emit exportRequested(f); });
    }
    exportButton_->setMenu(menu);
    header_->addStretch();
    header_->addWidget(exportButton_);
    layout->addLayout(header_);

    stack_ = new QStackedLayout;
    view_->setParent(this);
    view_->setTitle(title);
    stack_->addWidget(view_);
    placeholder_ = new QLabel(this);
    placeholder_->setAlignment(Qt::AlignCenter);
    placeholder_->setWordWrap(true);
    placeholder_->setMargin(24);
    placeholder_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    stack_->addWidget(placeholder_);
    compact_ = new widgets::CompactFigure(view_, this);
    stack_->addWidget(compact_);
    layout->addLayout(stack_, 1);
    connect(compact_, &widgets::CompactFigure::clicked, this, &ViewPanel::enlargeRequested);
    connect(view_, &widgets::FigureView::dataChanged, compact_, qOverload<>(&QWidget::update));
    // A layout that left the data too small to read: the compact form (checked once the layout
    // is done, never from inside it).
    connect(view_, &widgets::FigureView::layoutAdapted, this, &ViewPanel::updateForm, Qt::QueuedConnection);
}

void ViewPanel::addControl(QWidget* control) {
    control->setParent(this);
    header_->insertWidget(controlsEnd_++, control);
}

void ViewPanel::addStretch() { header_->insertStretch(controlsEnd_++); }

void ViewPanel::addControls(const QList<QWidget*>& controls) {
    for (QWidget* c : controls) addControl(c);
    addStretch();
}

void ViewPanel::showView() {
    viewWanted_ = true;
    updateForm();
}

void ViewPanel::updateForm() {
    if (!viewWanted_) return;
    const QSize available = stack_->currentWidget()->size();  // the stack gives its current page all its room
    bool compact =
        available.isValid() && !available.isEmpty() && widgets::needsCompactForm(available, view_->readableSize());
    // The readable size is estimated from the view's last layout: a panel grown past the size the
    // view was last shown at tries the view again, and the layout that follows decides.
    if (compact && compactShown() && (available.width() > triedAt_.width() || available.height() > triedAt_.height()))
        compact = false;
    if (!compact) triedAt_ = available;
    stack_->setCurrentWidget(compact ? static_cast<QWidget*>(compact_) : view_);
    if (compact) compact_->update();
}

void ViewPanel::resizeEvent(QResizeEvent* event) {
    QWidget::resizeEvent(event);
    updateForm();
}

bool ViewPanel::compactShown() const { return stack_->currentWidget() == compact_; }

void ViewPanel::showPlaceholder(const QString& text, bool isError) {
    placeholderText_ = text;
    placeholder_->setTextFormat(Qt::RichText);
    QString html = text.toHtmlEscaped().replace(QLatin1Char('\n'), QStringLiteral("<br>"));
    placeholder_->setText(isError ? QStringLiteral("<b>%1</b>").arg(html) : html);
    placeholder_->setForegroundRole(isError ? QPalette::Text : QPalette::PlaceholderText);
    viewWanted_ = false;
    stack_->setCurrentWidget(placeholder_);
}

bool ViewPanel::placeholderShown() const { return stack_->currentWidget() == placeholder_; }
QString ViewPanel::placeholderText() const { return placeholderText_; }

}  // namespace attnscope::gui
