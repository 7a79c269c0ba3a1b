#include "ui_helpers.h"

#include <QAction>
#include <QApplication>
#include <QLabel>
#include <QMenu>
#include <QMessageBox>

#include "resources.h"

namespace attnscope::gui {

QIcon appIcon(const QString& name) {
    ensureResources();
    return QIcon(QStringLiteral(":/icons/%1.svg").arg(name));
}

QAction* addCommand(QObject* owner, QMenu* menu, const QString& text, const QKeySequence& key, const char* icon,
                    std::function<void()> slot) {
    auto* a = new QAction(text, owner);
    if (!key.isEmpty()) a->setShortcut(key);
    if (icon) a->setIcon(appIcon(QLatin1String(icon)));
    if (slot) QObject::connect(a, &QAction::triggered, owner, std::move(slot));
    if (menu) menu->addAction(a);
    return a;
}

QLabel* captionLabel(const QString& text, QWidget* parent) {
    auto* l = new QLabel(text, parent);
    l->setContentsMargins(6, 0, 2, 0);
    return l;
}

void showError(QWidget* parent, bool interactive, const QString& title, const QString& message) {
    if (!interactive) {
        qWarning("attnscope: %s", qUtf8Printable(message));
        return;
    }
    QMessageBox::warning(parent, title, message);
}

void showAboutBox(QWidget* parent) {
    QMessageBox::about(
        parent, QObject::tr("About attnscope"),
        QObject::tr("<h3>attnscope %1</h3>"
                    "<p>See attention entropy inside a language model when its context is split into chunks and "
                    "encoded in parallel, and how a shared attention sink and selective attention bring it down.</p>"
                    "<p>Method: Zhisong Zhang et al., <i>Attention Entropy is a Key Factor: An Analysis of Parallel "
                    "Context Encoding with Full-attention-based Pre-trained Language Models</i>, ACL 2025 (arXiv "
                    "2412.16545).</p>"
                    "<p>Entropy is measured in nats: H = −Σ p ln p over the keys a token may see.</p>")
            .arg(QApplication::applicationVersion()));
}

}  // namespace attnscope::gui
