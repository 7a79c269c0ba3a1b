#include "context_editor.h"

#include <QAbstractItemView>
#include <QApplication>
#include <QCheckBox>
#include <QDateTime>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QPainter>
#include <QPlainTextEdit>
#include <QStyledItemDelegate>
#include <QToolButton>
#include <QVBoxLayout>

#include "app_state.h"
#include "color_maps.h"
#include "context_text.h"
#include "split_dialog.h"
#include "tokenizer/tokenizer.h"
#include "ui_helpers.h"

namespace attnscope::gui {

namespace {

constexpr int kTokensRole = Qt::UserRole + 1;
constexpr int kPreviewLines = 4;
constexpr int kStripe = 5;

QString tokensLabel(int n) { return n == 1 ? QObject::tr("1 token") : QObject::tr("%1 tokens").arg(n); }
QString chunksLabel(int n) { return n == 1 ? QObject::tr("1 chunk") : QObject::tr("%1 chunks").arg(n); }

// Paints a chunk as a card: colour stripe (the chunk's colour in every view), "Chunk k · n tokens",
// then up to four lines of its text. Edits in place with a plain-text editor.
class ChunkDelegate : public QStyledItemDelegate {
public:
    using QStyledItemDelegate::QStyledItemDelegate;

    void paint(QPainter* p, const QStyleOptionViewItem& option, const QModelIndex& index) const override {
        QStyleOptionViewItem opt = option;
        initStyleOption(&opt, index);
        const QWidget* w = opt.widget;
        QStyle* style = w ? w->style() : QApplication::style();
        opt.text.clear();
        style->drawPrimitive(QStyle::PE_PanelItemViewItem, &opt, p, w);

        p->save();
        const QRect r = opt.rect.adjusted(4, 3, -6, -3);
        p->fillRect(QRect(r.left(), r.top(), kStripe, r.height()), widgets::chunkColor(index.row()));
        const QRect textRect = r.adjusted(kStripe + 8, 0, 0, 0);
        const bool selected = opt.state & QStyle::State_Selected;
        const QPalette::ColorGroup cg = opt.state & QStyle::State_Enabled ? QPalette::Normal : QPalette::Disabled;
        const QColor fg = opt.palette.color(cg, selected ? QPalette::HighlightedText : QPalette::Text);
        QColor dim = fg;
        dim.setAlphaF(0.65f);

        QFont bold = opt.font;
        bold.setBold(true);
        const QFontMetrics bfm(bold);
        p->setFont(bold);
        p->setPen(fg);
        const QRect header(textRect.left(), textRect.top(), textRect.width(), bfm.height());
        p->drawText(header, Qt::AlignLeft | Qt::AlignVCenter, QObject::tr("Chunk %1").arg(index.row() + 1));
        const int tokens = index.data(kTokensRole).toInt();
        p->setFont(opt.font);
        p->setPen(dim);
        if (tokens >= 0) p->drawText(header, Qt::AlignRight | Qt::AlignVCenter, tokensLabel(tokens));

        const QFontMetrics fm(opt.font);
        const QString text = index.data(Qt::DisplayRole).toString();
        const QRect body(textRect.left(), header.bottom() + 2, textRect.width(), kPreviewLines * fm.lineSpacing());
        p->setClipRect(body.intersected(r));
        p->setPen(text.isEmpty() ? dim : fg);
        p->drawText(body, Qt::TextWordWrap | Qt::AlignLeft | Qt::AlignTop,
                    text.isEmpty() ? QObject::tr("(empty — double-click to edit)") : text);
        p->restore();
    }

    QSize sizeHint(const QStyleOptionViewItem& option, const QModelIndex& index) const override {
        const auto* view = qobject_cast<const QAbstractItemView*>(option.widget);
        const int width = std::max(120, (view ? view->viewport()->width() : 300) - 4 - 6 - kStripe - 8);
        const QFontMetrics fm(option.font);
        QFont bold = option.font;
        bold.setBold(true);
        const QString text = index.data(Qt::DisplayRole).toString();
        const QString sample = text.isEmpty() ? QStringLiteral("x") : text;
        const int textHeight = fm.boundingRect(QRect(0, 0, width, 100000), Qt::TextWordWrap, sample).height();
        const int lines = std::clamp((textHeight + fm.lineSpacing() - 1) / fm.lineSpacing(), 1, kPreviewLines);
        return {width, QFontMetrics(bold).height() + 2 + lines * fm.lineSpacing() + 8};
    }

    QWidget* createEditor(QWidget* parent, const QStyleOptionViewItem&, const QModelIndex&) const override {
        auto* e = new QPlainTextEdit(parent);
        e->setTabChangesFocus(true);
        e->setLineWrapMode(QPlainTextEdit::WidgetWidth);
        return e;
    }
    void setEditorData(QWidget* editor, const QModelIndex& index) const override {
        static_cast<QPlainTextEdit*>(editor)->setPlainText(index.data(Qt::DisplayRole).toString());
    }
    void setModelData(QWidget* editor, QAbstractItemModel* model, const QModelIndex& index) const override {
        model->setData(index, static_cast<QPlainTextEdit*>(editor)->toPlainText(), Qt::DisplayRole);
    }
    void updateEditorGeometry(QWidget* editor, const QStyleOptionViewItem& option, const QModelIndex&) const override {
        // At least eight lines, even for short chunks: editing needs room.
        const int minHeight = 8 * option.fontMetrics.lineSpacing() + 8;
        QRect r = option.rect.adjusted(kStripe + 8, 0, 0, 0);
        r.setHeight(std::max(r.height(), minHeight));
        editor->setGeometry(r);
    }
};

QToolButton* toolButton(const QString& iconName, const QString& tip, QWidget* parent) {
    auto* b = new QToolButton(parent);
    b->setIcon(appIcon(iconName));
    b->setToolTip(tip);
    b->setAutoRaise(true);
    return b;
}

QLabel* countLabel(QWidget* parent) {
    auto* l = new QLabel(parent);
    l->setForegroundRole(QPalette::PlaceholderText);
    l->setAlignment(Qt::AlignRight | Qt::AlignVCenter);
    return l;
}

QLabel* sectionLabel(const QString& text, QWidget* parent) {
    auto* l = new QLabel(text, parent);
    QFont f = l->font();
    f.setBold(true);
    l->setFont(f);
    return l;
}

}  // namespace

ContextEditor::ContextEditor(QWidget* parent) : QWidget(parent) {
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(6, 6, 6, 6);
    layout->setSpacing(4);
    buildPrefix(layout);
    buildChunks(layout);
    buildQuery(layout);
    totals_ = new QLabel(this);
    totals_->setWordWrap(true);
    totals_->setForegroundRole(QPalette::PlaceholderText);
    layout->addWidget(totals_);

    recountTimer_.setSingleShot(true);
    recountTimer_.setInterval(120);
    connect(&recountTimer_, &QTimer::timeout, this, &ContextEditor::recount);
    connectEdits();
    lastSnapshot_ = context();
    renumber();
    updateTotals();
}

void ContextEditor::buildPrefix(QVBoxLayout* layout) {
    auto* row = new QHBoxLayout;
    sinkCheck_ = new QCheckBox(tr("Sink prefix"), this);
    sinkCheck_->setChecked(true);
    sinkCheck_->setToolTip(tr("Encode the prefix once, shared by every chunk, as an attention sink"));
    prefixCount_ = countLabel(this);
    row->addWidget(sinkCheck_);
    row->addStretch();
    row->addWidget(prefixCount_);
    layout->addLayout(row);
    prefixEdit_ = new QLineEdit(this);
    prefixEdit_->setPlaceholderText(tr("Shared prefix, e.g. “Once upon a time”"));
    prefixEdit_->setClearButtonEnabled(true);
    layout->addWidget(prefixEdit_);
}

void ContextEditor::buildChunks(QVBoxLayout* layout) {
    auto* row = new QHBoxLayout;
    chunksHeader_ = sectionLabel(tr("Chunks"), this);
    row->addWidget(chunksHeader_);
    row->addStretch();
    addButton_ = toolButton(QStringLiteral("add"), tr("Add a chunk"), this);
    dupButton_ = toolButton(QStringLiteral("duplicate"), tr("Duplicate the selected chunk"), this);
    removeButton_ = toolButton(QStringLiteral("remove"), tr("Remove the selected chunk"), this);
    upButton_ = toolButton(QStringLiteral("up"), tr("Move the selected chunk up"), this);
    downButton_ = toolButton(QStringLiteral("down"), tr("Move the selected chunk down"), this);
    splitButton_ = toolButton(QStringLiteral("split"), tr("Split a long text into chunks…"), this);
    for (auto* b : {addButton_, dupButton_, removeButton_, upButton_, downButton_, splitButton_}) row->addWidget(b);
    layout->addLayout(row);

    list_ = new QListWidget(this);
    list_->setObjectName(QStringLiteral("chunkList"));
    list_->setItemDelegate(new ChunkDelegate(list_));
    list_->setDragDropMode(QAbstractItemView::InternalMove);
    list_->setDefaultDropAction(Qt::MoveAction);
    list_->setSelectionMode(QAbstractItemView::SingleSelection);
    list_->setEditTriggers(QAbstractItemView::DoubleClicked | QAbstractItemView::EditKeyPressed);
    list_->setResizeMode(QListView::Adjust);
    list_->setWordWrap(true);
    list_->setUniformItemSizes(false);
    list_->setVerticalScrollMode(QAbstractItemView::ScrollPerPixel);
    list_->setToolTip(tr("Double-click or F2 to edit a chunk; drag to reorder"));
    layout->addWidget(list_, 1);
}

void ContextEditor::buildQuery(QVBoxLayout* layout) {
    auto* row = new QHBoxLayout;
    queryCount_ = countLabel(this);
    row->addWidget(sectionLabel(tr("Query"), this));
    row->addStretch();
    row->addWidget(queryCount_);
    layout->addLayout(row);
    queryEdit_ = new QPlainTextEdit(this);
    queryEdit_->setObjectName(QStringLiteral("queryEdit"));
    queryEdit_->setPlaceholderText(tr("The query: the tokens whose attention is measured"));
    queryEdit_->setTabChangesFocus(true);
    queryEdit_->setFixedHeight(queryEdit_->fontMetrics().lineSpacing() * 4 + 12);
    layout->addWidget(queryEdit_);
}

void ContextEditor::connectEdits() {
    connect(sinkCheck_, &QCheckBox::toggled, this, [this](bool on) {
        prefixEdit_->setEnabled(on);
        updateTotals();
        if (!silent_) emit sinkToggled(on);
    });
    connect(prefixEdit_, &QLineEdit::textChanged, this, [this] { changed(false); });
    connect(queryEdit_, &QPlainTextEdit::textChanged, this, [this] { changed(false); });
    connect(list_->model(), &QAbstractItemModel::dataChanged, this,
            [this](const QModelIndex&, const QModelIndex&, const QList<int>& roles) {
                if (roles.isEmpty() || roles.contains(Qt::DisplayRole) || roles.contains(Qt::EditRole)) changed(true);
            });
    connect(list_->model(), &QAbstractItemModel::rowsMoved, this, [this] { changed(true); });
    connect(list_, &QListWidget::currentRowChanged, this, [this] { renumber(); });

    connect(addButton_, &QToolButton::clicked, this, [this] {
        addChunk();
        list_->editItem(list_->item(chunkCount() - 1));
    });
    connect(dupButton_, &QToolButton::clicked, this, [this] { duplicateChunk(currentChunk()); });
    connect(removeButton_, &QToolButton::clicked, this, [this] { removeChunk(currentChunk()); });
    connect(upButton_, &QToolButton::clicked, this, [this] {
        const int c = currentChunk();
        if (c > 0) moveChunk(c, c - 1);
    });
    connect(downButton_, &QToolButton::clicked, this, [this] {
        const int c = currentChunk();
        if (c >= 0 && c + 1 < chunkCount()) moveChunk(c, c + 1);
    });
    connect(splitButton_, &QToolButton::clicked, this, [this] { splitText(); });
}

ContextEditor::~ContextEditor() = default;

ContextSpec ContextEditor::context() const {
    ContextSpec spec;
    spec.prefix = toStd(prefixEdit_->text());
    for (int i = 0; i < list_->count(); ++i) spec.chunks.push_back(toStd(list_->item(i)->text()));
    spec.query = toStd(queryEdit_->toPlainText());
    return spec;
}

void ContextEditor::setContextSilently(const ContextSpec& spec) {
    silent_ = true;
    prefixEdit_->setText(fromStd(spec.prefix));
    list_->clear();
    for (const auto& c : spec.chunks) {
        auto* item = new QListWidgetItem(fromStd(c));
        item->setFlags(item->flags() | Qt::ItemIsEditable | Qt::ItemIsDragEnabled);
        item->setData(kTokensRole, -1);
        list_->addItem(item);
    }
    queryEdit_->setPlainText(fromStd(spec.query));
    silent_ = false;
}

void ContextEditor::setContext(const ContextSpec& spec) {
    const ContextSpec before = context();
    if (sameContext(before, spec)) return;
    setContextSilently(spec);
    changed(true);
}

void ContextEditor::setTokenizer(std::shared_ptr<const Tokenizer> tokenizer) {
    tokenizer_ = std::move(tokenizer);
    recount();
}

void ContextEditor::setSinkEnabled(bool on) {
    silent_ = true;
    sinkCheck_->setChecked(on);
    prefixEdit_->setEnabled(on);
    silent_ = false;
}

bool ContextEditor::sinkEnabled() const { return sinkCheck_->isChecked(); }

int ContextEditor::chunkCount() const { return list_->count(); }
QString ContextEditor::chunkText(int index) const {
    auto* item = list_->item(index);
    return item ? item->text() : QString();
}
int ContextEditor::currentChunk() const { return list_->currentRow(); }
int ContextEditor::chunkTokens(int index) const {
    auto* item = list_->item(index);
    return item ? item->data(kTokensRole).toInt() : -1;
}

void ContextEditor::addChunk(const QString& text) {
    auto* item = new QListWidgetItem(text);
    item->setFlags(item->flags() | Qt::ItemIsEditable | Qt::ItemIsDragEnabled);
    item->setData(kTokensRole, countTokens(text));
    silent_ = true;
    list_->addItem(item);
    silent_ = false;
    list_->setCurrentItem(item);
    changed(true);
}

void ContextEditor::duplicateChunk(int index) {
    auto* src = list_->item(index);
    if (!src) return;
    auto* item = src->clone();
    silent_ = true;
    list_->insertItem(index + 1, item);
    silent_ = false;
    list_->setCurrentRow(index + 1);
    changed(true);
}

void ContextEditor::removeChunk(int index) {
    if (index < 0 || index >= list_->count()) return;
    silent_ = true;
    delete list_->takeItem(index);
    silent_ = false;
    if (list_->count() > 0) list_->setCurrentRow(std::min(index, list_->count() - 1));
    changed(true);
}

void ContextEditor::moveChunk(int from, int to) {
    if (from < 0 || from >= list_->count() || to < 0 || to >= list_->count() || from == to) return;
    silent_ = true;
    auto* item = list_->takeItem(from);
    list_->insertItem(to, item);
    silent_ = false;
    list_->setCurrentRow(to);
    changed(true);
}

void ContextEditor::setChunkText(int index, const QString& text) {
    if (auto* item = list_->item(index)) item->setText(text);  // dataChanged → changed()
}

void ContextEditor::splitText(const QString& initialText) {
    SplitDialog d(this);
    d.setText(initialText);
    d.setParts(std::max(2, chunkCount()));
    if (d.exec() != QDialog::Accepted) return;
    const QStringList chunks = d.chunks();
    if (chunks.isEmpty() && d.query().isEmpty()) return;
    ContextSpec spec = context();
    if (!d.append()) spec.chunks.clear();
    for (const QString& c : chunks) spec.chunks.push_back(toStd(c));
    if (!d.query().isEmpty()) spec.query = toStd(d.query());
    setContext(spec);  // one undo step
}

void ContextEditor::setQuery(const QString& query) { queryEdit_->setPlainText(query); }
void ContextEditor::setPrefix(const QString& prefix) { prefixEdit_->setText(prefix); }

void ContextEditor::undo() {
    if (undo_.empty()) return;
    ContextSpec spec = undo_.back();
    undo_.pop_back();
    setContextSilently(spec);
    lastSnapshot_ = spec;
    renumber();
    recount();
    emit undoAvailable(!undo_.empty());
    emit contextEdited();
}

void ContextEditor::changed(bool structural) {
    if (silent_) return;
    // Undo keeps snapshots of the context: every structural change, and typing in the prefix or
    // query at most one snapshot per two seconds.
    const ContextSpec now = context();
    if (sameContext(now, lastSnapshot_)) return;
    const qint64 t = QDateTime::currentMSecsSinceEpoch();
    if (structural || t - lastUndoPushMs_ > 2000) {
        undo_.push_back(lastSnapshot_);
        if (undo_.size() > 100) undo_.erase(undo_.begin());
        lastUndoPushMs_ = t;
        emit undoAvailable(true);
    }
    lastSnapshot_ = now;
    renumber();
    if (structural) recount();
    else recountTimer_.start();
    emit contextEdited();
}

int ContextEditor::countTokens(const QString& text) const {
    if (!tokenizer_) return -1;
    if (text.isEmpty()) return 0;
    auto ids = tokenizer_->encode(toStd(text));
    return ids ? static_cast<int>(ids->size()) : -1;
}

void ContextEditor::recount() {
    prefixTokens_ = countTokens(prefixEdit_->text());
    queryTokens_ = countTokens(queryEdit_->toPlainText());
    const bool wasSilent = silent_;
    silent_ = true;  // token counts are not edits
    for (int i = 0; i < list_->count(); ++i) {
        auto* item = list_->item(i);
        const int n = countTokens(item->text());
        if (item->data(kTokensRole).toInt() != n) item->setData(kTokensRole, n);
    }
    silent_ = wasSilent;
    updateTotals();
}

void ContextEditor::renumber() {
    const int c = currentChunk();
    dupButton_->setEnabled(c >= 0);
    removeButton_->setEnabled(c >= 0);
    upButton_->setEnabled(c > 0);
    downButton_->setEnabled(c >= 0 && c + 1 < chunkCount());
    list_->viewport()->update();  // chunk numbers and colours follow the row
}

void ContextEditor::updateTotals() {
    prefixCount_->setText(prefixTokens_ < 0 ? QString() : tokensLabel(prefixTokens_));
    queryCount_->setText(queryTokens_ < 0 ? QString() : tokensLabel(queryTokens_));
    int total = (sinkEnabled() ? std::max(0, prefixTokens_) : 0) + std::max(0, queryTokens_);
    int longest = 0;
    bool known = prefixTokens_ >= 0;
    for (int i = 0; i < list_->count(); ++i) {
        const int n = list_->item(i)->data(kTokensRole).toInt();
        if (n < 0) known = false;
        total += std::max(0, n);
        longest = std::max(longest, n);
    }
    chunksHeader_->setText(tr("Chunks (%1)").arg(list_->count()));
    if (!known) totals_->setText(tr("%1 · open a model to count tokens").arg(chunksLabel(list_->count())));
    else
        totals_->setText(tr("%1 in all · %2, the longest %3")
                             .arg(tokensLabel(total), chunksLabel(list_->count()), tokensLabel(longest)));
}

}  // namespace attnscope::gui
