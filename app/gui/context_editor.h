#pragma once
// ContextEditor: the user's context as the paper lays it out — a sink prefix (with its on/off
// switch), an ordered list of chunks (add, duplicate, remove, drag to reorder, edit in place)
// and the query — with live token counts from the model's tokenizer.
#include <QStringList>
#include <QTimer>
#include <QWidget>

#include <memory>
#include <vector>

#include "plan/context_spec.h"

class QCheckBox;
class QLabel;
class QLineEdit;
class QListWidget;
class QPlainTextEdit;
class QToolButton;
class QVBoxLayout;

namespace attnscope {
class Tokenizer;
}

namespace attnscope::gui {

class ContextEditor : public QWidget {
    Q_OBJECT
public:
    explicit ContextEditor(QWidget* parent = nullptr);
    ~ContextEditor() override;

    ContextSpec context() const;
    // Replaces the whole context (kept for undo). Emits contextEdited() when it differs.
    void setContext(const ContextSpec& spec);
    void setTokenizer(std::shared_ptr<const Tokenizer> tokenizer);

    void setSinkEnabled(bool on);
    bool sinkEnabled() const;

    int chunkCount() const;
    QString chunkText(int index) const;
    int currentChunk() const;
    void addChunk(const QString& text = {});
    void duplicateChunk(int index);
    void removeChunk(int index);
    void moveChunk(int from, int to);
    void setChunkText(int index, const QString& text);
    // "Split text into chunks" (SplitDialog) on `initialText`; the result is one undo step.
    void splitText(const QString& initialText = {});
    void setQuery(const QString& query);
    void setPrefix(const QString& prefix);

    // Token counts as shown (-1 when no tokenizer is set).
    int prefixTokens() const { return prefixTokens_; }
    int queryTokens() const { return queryTokens_; }
    int chunkTokens(int index) const;

    bool canUndo() const { return !undo_.empty(); }
    void undo();

    QListWidget* chunkList() const { return list_; }

signals:
    // The context changed through the user (text, order, chunks) or setContext.
    void contextEdited();
    void sinkToggled(bool on);
    void undoAvailable(bool available);

private:
    void buildPrefix(QVBoxLayout* layout);
    void buildChunks(QVBoxLayout* layout);
    void buildQuery(QVBoxLayout* layout);
    void connectEdits();
    void changed(bool structural);
    void recount();
    void updateTotals();
    void renumber();
    int countTokens(const QString& text) const;
    void setContextSilently(const ContextSpec& spec);

    QCheckBox* sinkCheck_ = nullptr;
    QLineEdit* prefixEdit_ = nullptr;
    QLabel* prefixCount_ = nullptr;
    QListWidget* list_ = nullptr;
    QLabel* chunksHeader_ = nullptr;
    QPlainTextEdit* queryEdit_ = nullptr;
    QLabel* queryCount_ = nullptr;
    QLabel* totals_ = nullptr;
    QToolButton *addButton_ = nullptr, *dupButton_ = nullptr, *removeButton_ = nullptr, *upButton_ = nullptr,
                *downButton_ = nullptr, *splitButton_ = nullptr;

    std::shared_ptr<const Tokenizer> tokenizer_;
    int prefixTokens_ = -1, queryTokens_ = -1;
    bool silent_ = false;
    QTimer recountTimer_;

    std::vector<ContextSpec> undo_;
    ContextSpec lastSnapshot_;
    qint64 lastUndoPushMs_ = 0;
};

}  // namespace attnscope::gui
