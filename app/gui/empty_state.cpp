#include "empty_state.h"

#include <QFileInfo>
#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QVBoxLayout>

#include "ui_helpers.h"

namespace attnscope::gui {

namespace {
constexpr int kRecentModels = 4;
}

EmptyState::EmptyState(QWidget* parent) : QWidget(parent) {
    setObjectName(QStringLiteral("emptyState"));
    auto* outer = new QVBoxLayout(this);
    outer->addStretch(2);
    auto* box = new QVBoxLayout;
    box->setSpacing(12);
    auto* logo = new QLabel;
    logo->setPixmap(appIcon(QStringLiteral("attnscope")).pixmap(72, 72));
    logo->setAlignment(Qt::AlignCenter);
    box->addWidget(logo);
    title_ = new QLabel;
    QFont tf = title_->font();
    tf.setPointSizeF(tf.pointSizeF() * 1.6);
    tf.setBold(true);
    title_->setFont(tf);
    title_->setAlignment(Qt::AlignCenter);
    box->addWidget(title_);
    text_ = new QLabel;
    text_->setWordWrap(true);
    text_->setAlignment(Qt::AlignCenter);
    text_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    text_->setFixedWidth(540);
    box->addWidget(text_, 0, Qt::AlignHCenter);
    auto* buttons = new QHBoxLayout;
    buttons->addStretch();
    auto* openModel = new QPushButton(appIcon(QStringLiteral("open-model")), tr("Open model…"));
    openModel->setObjectName(QStringLiteral("emptyOpenModel"));
    openModel->setDefault(true);
    auto* openFolder = new QPushButton(tr("Open Hugging Face folder…"));
    buttons->addWidget(openModel);
    buttons->addWidget(openFolder);
    buttons->addStretch();
    box->addLayout(buttons);
    recent_ = new QVBoxLayout;
    recent_->setSpacing(2);
    box->addLayout(recent_);
    outer->addLayout(box);
    outer->addStretch(3);
    connect(openModel, &QPushButton::clicked, this, &EmptyState::openModelClicked);
    connect(openFolder, &QPushButton::clicked, this, &EmptyState::openFolderClicked);
    setMessage(tr("No model open"),
               tr("attnscope runs a language model on your context to show how attention spreads "
                  "when the context is split into chunks. Open a GGUF file or a Hugging Face model "
                  "folder."));
}

void EmptyState::setMessage(const QString& title, const QString& text) {
    title_->setText(title);
    text_->setText(text);
    // A word-wrapped label in an aligned layout slot does not grow by itself.
    text_->setMinimumHeight(text_->heightForWidth(text_->width()));
}

void EmptyState::setRecentModels(const QStringList& paths) {
    while (QLayoutItem* item = recent_->takeAt(0)) {
        delete item->widget();
        delete item;
    }
    int shown = 0;
    for (const QString& path : paths) {
        if (!QFileInfo::exists(path) || shown == kRecentModels) continue;
        auto* b = new QPushButton(tr("Open recent: %1").arg(QFileInfo(path).fileName()));
        b->setFlat(true);
        b->setToolTip(path);
        connect(b, &QPushButton::clicked, this, [this, path] { emit recentModelClicked(path); });
        recent_->addWidget(b, 0, Qt::AlignHCenter);
        ++shown;
    }
}

}  // namespace attnscope::gui
