#include "generation/answer_match.h"

#include <cctype>
#include <sstream>

namespace attnscope {

std::string normalizeAnswer(const std::string& text) {
    std::string kept;
    for (unsigned char c : text)
        if (!std::ispunct(c)) kept.push_back(static_cast<char>(std::tolower(c)));
    std::istringstream words(kept);
    std::string word, out;
    while (words >> word) {
        if (word == "a" || word == "an" || word == "the") continue;
        if (!out.empty()) out.push_back(' ');
        out += word;
    }
    return out;
}

bool subEmMatch(const std::string& output, const std::vector<std::string>& answers) {
    const std::string normOutput = normalizeAnswer(output);
    for (const auto& a : answers) {
        const std::string gold = normalizeAnswer(a);
        if (!gold.empty() && normOutput.find(gold) != std::string::npos) return true;
    }
    return false;
}

}  // namespace attnscope
