#pragma once
// Small pieces every part of the window uses: the app's icons, caption labels for toolbars and
// panel headers, and error reports (a dialog, or a log line when the window is headless).
#include <QIcon>
#include <QKeySequence>
#include <QString>

#include <functional>

class QAction;
class QLabel;
class QMenu;
class QWidget;

namespace attnscope::gui {

// resources/icons/NAME.svg
QIcon appIcon(const QString& name);
// A command: an action owned by `owner` that calls `slot`, with an optional shortcut and icon,
// added to `menu` when one is given.
QAction* addCommand(QObject* owner, QMenu* menu, const QString& text, const QKeySequence& key = {},
                    const char* icon = nullptr, std::function<void()> slot = {});
// A caption beside a control ("Show", "P:"), with a little space before it.
QLabel* captionLabel(const QString& text, QWidget* parent = nullptr);
// Interactive: a warning box over `parent`. Headless: a warning in the log (no dialog may block).
void showError(QWidget* parent, bool interactive, const QString& title, const QString& message);
// Help → About attnscope: what the app shows, the paper it implements, the unit of entropy.
void showAboutBox(QWidget* parent);

}  // namespace attnscope::gui
