#pragma once
// The user's input before tokenisation: an optional sink prefix, ordered chunks, a query.
// Each part is either text or token ids (ids win when present).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/json.h"

namespace attnscope {

struct ContextSpec {
    std::string prefix;
    std::vector<std::string> chunks;
    std::string query;
    std::optional<std::vector<std::int32_t>> prefixIds;
    std::optional<std::vector<std::vector<std::int32_t>>> chunkIds;
    std::optional<std::vector<std::int32_t>> queryIds;
    // The expected answer(s) ("answer": a string or a list of strings): generation scores its
    // output against them by SubEM (generation/answer_match.h). Not part of any plan.
    std::vector<std::string> answers;

    // The CLI/session JSON: {"prefix": str, "chunks": [str], "query": str} and/or
    // "prefix_ids", "chunk_ids", "query_ids", and "answer". `file` labels errors; `keyPrefix` goes before
    // the field names they quote (a session file holds the context as "context.").
    static Result<ContextSpec> fromJson(const Json& j, const std::string& file = {}, const std::string& keyPrefix = {});
    static Result<ContextSpec> fromFile(const std::string& path);
    Json toJson() const;
};

}  // namespace attnscope
