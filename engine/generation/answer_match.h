#pragma once
// Scoring a generated answer against the expected ones (PAPER.md, "Tasks and metrics"): SubEM
// is correct when any gold answer, normalised, is a substring of the normalised output.
// Normalising means: lower case, drop punctuation, drop the articles a/an/the, collapse
// whitespace (the SQuAD normalisation the paper's code uses).
#include <string>
#include <vector>

namespace attnscope {

std::string normalizeAnswer(const std::string& text);
// False when `answers` is empty or every answer normalises to nothing.
bool subEmMatch(const std::string& output, const std::vector<std::string>& answers);

}  // namespace attnscope
