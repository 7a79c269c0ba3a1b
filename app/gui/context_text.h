#pragma once
// Pure text helpers for building a context (no widgets): split a long text into P chunks or at
// a delimiter, and read/write contexts as JSON (the CLI format) or plain text.
#include <QString>
#include <QStringList>

#include <optional>

#include "plan/context_spec.h"

namespace attnscope::gui {

// Splits `text` into `parts` pieces of near-equal length, cutting at the sentence end (or, failing
// that, the whitespace) nearest each ideal cut. Pieces are trimmed; fewer pieces come back only
// when the text has fewer words than `parts`.
QStringList splitIntoParts(const QString& text, int parts);

enum class SplitDelimiter { BlankLines, Lines, Custom };
// Splits at blank lines, at every line break, or at a literal custom string; empty pieces dropped.
QStringList splitAtDelimiter(const QString& text, SplitDelimiter delimiter, const QString& custom = {});

// The paper's layout as plain text: chunks joined by blank lines (for copy/paste and .txt export).
QString contextToPlainText(const ContextSpec& spec);

// Context files. JSON: the CLI format {"prefix", "chunks", "query"}. Plain text (.txt): paragraphs
// separated by blank lines; the last paragraph is the query, the others are chunks.
std::optional<ContextSpec> loadContextFile(const QString& path, QString* error);
bool saveContextFile(const QString& path, const ContextSpec& spec, QString* error);
ContextSpec contextFromPlainText(const QString& text);

QString fromStd(const std::string& s);
std::string toStd(const QString& s);

}  // namespace attnscope::gui
