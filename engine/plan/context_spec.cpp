#include "plan/context_spec.h"

namespace attnscope {

namespace {

Result<std::vector<std::int32_t>> idsFrom(const Json& j, const std::string& key, const std::string& file) {
    if (!j.isArray()) return makeError(ErrorKind::InvalidInput, "'" + key + "' must be an array of token ids", file);
    std::vector<std::int32_t> ids;
    ids.reserve(j.size());
    for (const auto& v : j.asArray()) {
        if (!v.isInteger() || v.asNumber() < 0 || v.asNumber() > INT32_MAX)
            return makeError(ErrorKind::InvalidInput,
                             "'" + key + "' must hold non-negative integer token ids (such as 5, not 5.0 or \"5\")",
                             file);
        ids.push_back(static_cast<std::int32_t>(v.asInt()));
    }
    return ids;
}

// "answer": absent or null, a string, or an array of strings.
Result<void> answersFrom(const Json* v, const std::string& keyPrefix, const std::string& file,
                         std::vector<std::string>& out) {
    if (!v || v->isNull()) return {};
    if (v->isString()) {
        out.push_back(v->asString());
        return {};
    }
    const std::string wrong = "'" + keyPrefix + "answer' must be a string or an array of strings";
    if (!v->isArray()) return makeError(ErrorKind::InvalidInput, wrong, file);
    for (const auto& a : v->asArray()) {
        if (!a.isString()) return makeError(ErrorKind::InvalidInput, wrong, file);
        out.push_back(a.asString());
    }
    return {};
}

}  // namespace

Result<ContextSpec> ContextSpec::fromJson(const Json& j, const std::string& file, const std::string& keyPrefix) {
    if (!j.isObject())
        return makeError(ErrorKind::InvalidInput, "a context must be a JSON object with \"chunks\" and \"query\"",
                         file);
    ContextSpec c;
    auto str = [&](const char* key, std::string& out) -> Result<void> {
        if (const Json* v = j.find(key)) {
            if (v->isNull()) return {};
            if (!v->isString())
                return makeError(ErrorKind::InvalidInput, "'" + keyPrefix + key + "' must be a string", file);
            out = v->asString();
        }
        return {};
    };
    ATTN_TRY(str("prefix", c.prefix));
    ATTN_TRY(str("query", c.query));
    if (const Json* v = j.find("chunks")) {
        const std::string notStrings = "'" + keyPrefix + "chunks' must be an array of strings";
        if (!v->isArray()) return makeError(ErrorKind::InvalidInput, notStrings, file);
        for (const auto& s : v->asArray()) {
            if (!s.isString()) return makeError(ErrorKind::InvalidInput, notStrings, file);
            c.chunks.push_back(s.asString());
        }
    }
    if (const Json* v = j.find("prefix_ids")) {
        auto ids = idsFrom(*v, keyPrefix + "prefix_ids", file);
        if (!ids) return ids.takeError();
        c.prefixIds = std::move(*ids);
    }
    if (const Json* v = j.find("query_ids")) {
        auto ids = idsFrom(*v, keyPrefix + "query_ids", file);
        if (!ids) return ids.takeError();
        c.queryIds = std::move(*ids);
    }
    if (const Json* v = j.find("chunk_ids")) {
        if (!v->isArray())
            return makeError(ErrorKind::InvalidInput, "'" + keyPrefix + "chunk_ids' must be an array of id arrays",
                             file);
        std::vector<std::vector<std::int32_t>> all;
        for (const auto& a : v->asArray()) {
            auto ids = idsFrom(a, keyPrefix + "chunk_ids", file);
            if (!ids) return ids.takeError();
            all.push_back(std::move(*ids));
        }
        c.chunkIds = std::move(all);
    }
    if (!j.contains("query") && !j.contains("query_ids"))
        return makeError(ErrorKind::InvalidInput, "the context has no \"query\" (or \"query_ids\")", file);
    ATTN_TRY(answersFrom(j.find("answer"), keyPrefix, file, c.answers));
    return c;
}

Result<ContextSpec> ContextSpec::fromFile(const std::string& path) {
    auto j = Json::parseFile(path);
    if (!j) return j.takeError();
    return fromJson(*j, path);
}

Json ContextSpec::toJson() const {
    Json j = Json::object();
    j["prefix"] = prefix;
    Json ch = Json::array();
    for (const auto& c : chunks) ch.push(c);
    j["chunks"] = std::move(ch);
    j["query"] = query;
    auto ids = [](const std::vector<std::int32_t>& v) {
        Json a = Json::array();
        for (auto x : v) a.push(x);
        return a;
    };
    if (prefixIds) j["prefix_ids"] = ids(*prefixIds);
    if (chunkIds) {
        Json a = Json::array();
        for (const auto& c : *chunkIds) a.push(ids(c));
        j["chunk_ids"] = std::move(a);
    }
    if (queryIds) j["query_ids"] = ids(*queryIds);
    if (answers.size() == 1) j["answer"] = answers.front();
    if (answers.size() > 1) {
        Json a = Json::array();
        for (const auto& s : answers) a.push(s);
        j["answer"] = std::move(a);
    }
    return j;
}

}  // namespace attnscope
