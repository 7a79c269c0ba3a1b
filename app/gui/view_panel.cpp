#include "view_panel.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QMenu>
#include <QStackedLayout>
#include <QToolButton>
#include <QVBoxLayout>

#include "figure_view.h"
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
    layout->addLayout(stack_, 1);
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

void ViewPanel::showView() { stack_->setCurrentWidget(view_); }

void ViewPanel::showPlaceholder(const QString& text, bool isError) {
    placeholderText_ = text;
    placeholder_->setTextFormat(Qt::RichText);
    QString html = text.toHtmlEscaped().replace(QLatin1Char('\n'), QStringLiteral("<br>"));
    placeholder_->setText(isError ? QStringLiteral("<b>%1</b>").arg(html) : html);
    placeholder_->setForegroundRole(isError ? QPalette::Text : QPalette::PlaceholderText);
    stack_->setCurrentWidget(placeholder_);
}

bool ViewPanel::placeholderShown() const { return stack_->currentWidget() == placeholder_; }
QString ViewPanel::placeholderText() const { return placeholderText_; }

}  // namespace attnscope::gui
