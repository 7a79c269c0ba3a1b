#include "split_dialog.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QGridLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QRadioButton>
#include <QSpinBox>
#include <QVBoxLayout>

#include "context_text.h"

namespace attnscope::gui {

SplitDialog::SplitDialog(QWidget* parent) : QDialog(parent) {
    setWindowTitle(tr("Split Text into Chunks"));
    auto* layout = new QVBoxLayout(this);

    auto* hint = new QLabel(tr("Paste a long text. It is split into chunks that the model encodes in parallel."), this);
    hint->setWordWrap(true);
    layout->addWidget(hint);
    text_ = new QPlainTextEdit(this);
    text_->setPlaceholderText(tr("Paste text here…"));
    text_->setMinimumSize(520, 260);
    layout->addWidget(text_, 1);

    layout->addLayout(buildSplitChoices());

    lastIsQuery_ = new QCheckBox(tr("Use the last piece as the query"), this);
    append_ = new QCheckBox(tr("Append to the existing chunks (instead of replacing them)"), this);
    layout->addWidget(lastIsQuery_);
    layout->addWidget(append_);
    preview_ = new QLabel(this);
    preview_->setForegroundRole(QPalette::PlaceholderText);
    layout->addWidget(preview_);

    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
    buttons->button(QDialogButtonBox::Ok)->setText(tr("Split"));
    layout->addWidget(buttons);
    connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);

    auto update = [this] { updatePreview(); };
    connect(text_, &QPlainTextEdit::textChanged, this, update);
    connect(byParts_, &QRadioButton::toggled, this, update);
    connect(parts_, &QSpinBox::valueChanged, this, [this] {
        byParts_->setChecked(true);
        updatePreview();
    });
    connect(delimiter_, &QComboBox::currentIndexChanged, this, [this](int i) {
        byDelimiter_->setChecked(true);
        custom_->setEnabled(i == 2);
        updatePreview();
    });
    connect(custom_, &QLineEdit::textChanged, this, update);
    connect(lastIsQuery_, &QCheckBox::toggled, this, update);
    updatePreview();
}

// How to split: into P near-equal chunks, or at blank lines, line breaks or a custom string.
QGridLayout* SplitDialog::buildSplitChoices() {
    auto* grid = new QGridLayout;
    byParts_ = new QRadioButton(tr("Into P equal chunks:"), this);
    byParts_->setChecked(true);
    parts_ = new QSpinBox(this);
    parts_->setRange(1, 256);
    parts_->setValue(4);
    grid->addWidget(byParts_, 0, 0);
    grid->addWidget(parts_, 0, 1);
    byDelimiter_ = new QRadioButton(tr("At a delimiter:"), this);
    delimiter_ = new QComboBox(this);
    delimiter_->addItem(tr("Blank lines (paragraphs)"));
    delimiter_->addItem(tr("Every line"));
    delimiter_->addItem(tr("Custom text…"));
    custom_ = new QLineEdit(this);
    custom_->setPlaceholderText(tr("e.g. ---"));
    custom_->setEnabled(false);
    grid->addWidget(byDelimiter_, 1, 0);
    grid->addWidget(delimiter_, 1, 1);
    grid->addWidget(custom_, 1, 2);
    grid->setColumnStretch(2, 1);
    return grid;
}

void SplitDialog::setText(const QString& text) { text_->setPlainText(text); }
QString SplitDialog::text() const { return text_->toPlainText(); }
void SplitDialog::setParts(int parts) { parts_->setValue(parts); }
bool SplitDialog::append() const { return append_->isChecked(); }

QStringList SplitDialog::pieces() const {
    const QString t = text_->toPlainText();
    if (byParts_->isChecked()) {
        // With "last piece is the query" the query is one extra piece.
        return splitIntoParts(t, parts_->value() + (lastIsQuery_->isChecked() ? 1 : 0));
    }
    const auto kind = static_cast<SplitDelimiter>(delimiter_->currentIndex());
    return splitAtDelimiter(t, kind, custom_->text());
}

QStringList SplitDialog::chunks() const {
    QStringList p = pieces();
    if (lastIsQuery_->isChecked() && !p.isEmpty()) p.removeLast();
    return p;
}

QString SplitDialog::query() const {
    const QStringList p = pieces();
    return lastIsQuery_->isChecked() && !p.isEmpty() ? p.last() : QString();
}

void SplitDialog::updatePreview() {
    const QStringList c = chunks();
    QStringList sizes;
    for (const QString& s : c.mid(0, 12)) sizes << QString::number(s.size());
    if (c.size() > 12) sizes << QStringLiteral("…");
    QString text = c.size() == 1 ? tr("→ 1 chunk") : tr("→ %1 chunks").arg(c.size());
    if (!c.isEmpty()) text += tr(" of %1 characters").arg(sizes.join(QStringLiteral(", ")));
    if (lastIsQuery_->isChecked() && !query().isEmpty()) text += tr(", plus a query of %1").arg(query().size());
    preview_->setText(text);
}

}  // namespace attnscope::gui
