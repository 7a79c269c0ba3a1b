#pragma once
// "Split text into chunks": paste one long text, split it into P near-equal chunks or at a
// delimiter (blank lines, lines, a custom string), optionally keep the last piece as the query.
#include <QDialog>
#include <QStringList>

class QCheckBox;
class QComboBox;
class QGridLayout;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QRadioButton;
class QSpinBox;

namespace attnscope::gui {

class SplitDialog : public QDialog {
    Q_OBJECT
public:
    explicit SplitDialog(QWidget* parent = nullptr);

    void setText(const QString& text);
    QString text() const;
    void setParts(int parts);

    // The result.
    QStringList chunks() const;
    QString query() const;  // empty unless "last piece is the query" is on
    bool append() const;    // append to the existing chunks instead of replacing

private:
    QGridLayout* buildSplitChoices();
    QStringList pieces() const;
    void updatePreview();

    QPlainTextEdit* text_ = nullptr;
    QRadioButton* byParts_ = nullptr;
    QRadioButton* byDelimiter_ = nullptr;
    QSpinBox* parts_ = nullptr;
    QComboBox* delimiter_ = nullptr;
    QLineEdit* custom_ = nullptr;
    QCheckBox* lastIsQuery_ = nullptr;
    QCheckBox* append_ = nullptr;
    QLabel* preview_ = nullptr;
};

}  // namespace attnscope::gui
