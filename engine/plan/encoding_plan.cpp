#include "plan/encoding_plan.h"

#include <algorithm>
#include <cstdio>

#include "core/enum_names.h"
#include "plan/visibility.h"
#include "tokenizer/tokenizer.h"

namespace attnscope {

const char* toString(SegmentKind k) {
    static constexpr const char* kNames[] = {"prefix", "chunk", "query"};  // SegmentKind order
    return enumName(k, kNames);
}

bool EncodingPlan::visible(int i, int j) const {
    const RowKeys k = rowKeys(*this, i);
    return keyVisible(i, j, k.a, k.b, 0);
}

void EncodingPlan::visibleRanges(int i, std::vector<KeyRange>& out) const { visibleKeyRanges(*this, i, 0, out); }

namespace {

// 128-bit FNV-1a style hash built from two independent 64-bit lanes.
struct Hasher {
    std::uint64_t a = 0xcbf29ce484222325ull, b = 0x84222325cbf29ce4ull;
    void bytes(const void* p, std::size_t n) {
        const auto* c = static_cast<const unsigned char*>(p);
        for (std::size_t i = 0; i < n; ++i) {
            a = (a ^ c[i]) * 0x100000001b3ull;
            b = (b ^ c[i]) * 0x00000100000001b3ull + 0x9e3779b97f4a7c15ull;
        }
    }
    template <typename T>
    void value(const T& v) {
        bytes(&v, sizeof v);
    }
    template <typename T>
    void vec(const std::vector<T>& v) {
        value(v.size());
        if (!v.empty()) bytes(v.data(), v.size() * sizeof(T));
    }
    std::string hex() const {
        char buf[40];
        std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(a),
                      static_cast<unsigned long long>(b));
        return buf;
    }
};

void hashContext(Hasher& h, const EncodingPlan& p) {
    h.vec(p.ids);
    h.vec(p.segment);
    h.vec(p.chunk);
    h.vec(p.positions);
    h.value(p.prefixLength);
    h.value(p.queryBegin);
    h.value(static_cast<int>(p.options.mode));
}

}  // namespace

std::string EncodingPlan::contextHash() const {
    Hasher h;
    hashContext(h, *this);
    return h.hex();
}

std::string EncodingPlan::hash() const {
    Hasher h;
    hashContext(h, *this);
    h.value(options.selective.topK);
    h.value(options.selective.scoreTopN);
    h.value(static_cast<int>(options.selective.aggregation));
    return h.hex();
}

namespace {

Error layoutError(const std::string& why) {
    return makeError(ErrorKind::Internal, "the encoding plan is not laid out as [prefix | chunks | query]: " + why);
}

}  // namespace

Result<void> EncodingPlan::validateLayout() const {
    const EncodingPlan& p = *this;
    const int N = p.tokenCount();
    const auto n = static_cast<std::size_t>(N);
    if (p.segment.size() != n || p.chunk.size() != n || p.positions.size() != n)
        return layoutError("per-token arrays differ in length");
    if (p.prefixLength < 0 || p.queryBegin < p.prefixLength || p.queryBegin > N)
        return layoutError("prefix length " + std::to_string(p.prefixLength) + " / query start " +
                           std::to_string(p.queryBegin) + " out of order");
    int expect = p.prefixLength;
    for (int c = 0; c < p.chunkCount(); ++c) {
        const KeyRange& r = p.chunkRanges[static_cast<std::size_t>(c)];
        if (r.begin != expect || r.end < r.begin)
            return layoutError("chunk " + std::to_string(c) + " is not contiguous");
        expect = r.end;
    }
    if (expect != p.queryBegin) return layoutError("chunks do not end where the query starts");
    for (int i = 0, c = 0; i < N; ++i) {
        const auto si = static_cast<std::size_t>(i);
        const SegmentKind want = i < p.prefixLength ? SegmentKind::Prefix
                                 : i < p.queryBegin ? SegmentKind::Chunk
                                                    : SegmentKind::Query;
        if (p.segment[si] != want) return layoutError("token " + std::to_string(i) + " is in the wrong segment");
        while (want == SegmentKind::Chunk && i >= p.chunkRanges[static_cast<std::size_t>(c)].end) ++c;
        if (p.chunk[si] != (want == SegmentKind::Chunk ? c : -1))
            return layoutError("token " + std::to_string(i) + " has chunk id " + std::to_string(p.chunk[si]) +
                               " outside its chunk range");
    }
    return {};
}

Result<void> EncodingPlan::validate(int vocabSize) const {
    for (std::size_t i = 0; i < ids.size(); ++i)
        if (ids[i] < 0 || ids[i] >= vocabSize)
            return makeError(ErrorKind::InvalidInput, "token id " + std::to_string(ids[i]) + " at position " +
                                                          std::to_string(i) + " is outside the vocabulary (size " +
                                                          std::to_string(vocabSize) + ")");
    if (queryCount() <= 0)
        return makeError(ErrorKind::InvalidInput, "the query is empty: at least one query token is needed");
    return validateLayout();
}

namespace {

// The context's parts as token ids, BOS added as the policy says: [BOS if shared] + the sink
// prefix (when the sink is on); each chunk [BOS if per-chunk] + its tokens; the query.
struct PlanParts {
    std::vector<std::int32_t> prefix, query;
    std::vector<std::vector<std::int32_t>> chunks;
};

// Appends one part to `out`: its ids when given, else its text through the tokenizer.
Result<void> appendPart(std::vector<std::int32_t>& out, const std::vector<std::int32_t>* ids, const std::string& text,
                        const Tokenizer* tok, const char* what) {
    if (ids) {
        out.insert(out.end(), ids->begin(), ids->end());
        return {};
    }
    if (text.empty()) return {};
    if (!tok)
        return makeError(
            ErrorKind::InvalidInput,
            std::string("the ") + what + " is given as text but this model has no tokenizer; give token ids instead");
    ATTN_ASSIGN(encoded, tok->encode(text));
    out.insert(out.end(), encoded.begin(), encoded.end());
    return {};
}

Result<PlanParts> tokenizeParts(const ContextSpec& spec, const EncodingOptions& options, const Tokenizer* tok) {
    const int bos = tok ? tok->bosId() : 1;
    if (options.bos != BosPolicy::None && bos < 0)
        return makeError(ErrorKind::InvalidInput, "a BOS policy was requested but the tokenizer has no BOS token");
    PlanParts parts;
    if (options.bos == BosPolicy::Shared) parts.prefix.push_back(bos);
    if (options.sinkPrefix)
        ATTN_TRY(appendPart(parts.prefix, spec.prefixIds ? &*spec.prefixIds : nullptr, spec.prefix, tok, "prefix"));
    const std::size_t nChunks = spec.chunkIds ? spec.chunkIds->size() : spec.chunks.size();
    for (std::size_t m = 0; m < nChunks; ++m) {
        std::vector<std::int32_t>& c = parts.chunks.emplace_back();
        if (options.bos == BosPolicy::PerChunk) c.push_back(bos);
        if (spec.chunkIds) ATTN_TRY(appendPart(c, &(*spec.chunkIds)[m], {}, tok, "chunk"));
        else ATTN_TRY(appendPart(c, nullptr, spec.chunks[m], tok, "chunk"));
        if (c.empty())
            return makeError(ErrorKind::InvalidInput,
                             "chunk " + std::to_string(m + 1) + " is empty (it has no tokens)");
    }
    ATTN_TRY(appendPart(parts.query, spec.queryIds ? &*spec.queryIds : nullptr, spec.query, tok, "query"));
    if (parts.query.empty())
        return makeError(ErrorKind::InvalidInput, "the query is empty: at least one query token is needed");
    return parts;
}

// The parts laid out as [prefix | chunk 0 | ... | chunk P-1 | query] with the positions rule.
void layOut(const PlanParts& parts, EncodingPlan& p) {
    const int S = static_cast<int>(parts.prefix.size());
    int M = 0;  // the longest chunk
    for (const auto& c : parts.chunks) M = std::max(M, static_cast<int>(c.size()));
    auto push = [&](std::int32_t id, SegmentKind seg, int ch, int pos) {
        p.ids.push_back(id);
        p.segment.push_back(seg);
        p.chunk.push_back(ch);
        p.positions.push_back(pos);
    };
    const PositionPolicy rule = p.options.positions;
    for (int i = 0; i < S; ++i) push(parts.prefix[static_cast<std::size_t>(i)], SegmentKind::Prefix, -1, i);
    p.prefixLength = S;
    for (std::size_t m = 0; m < parts.chunks.size(); ++m) {
        const auto& c = parts.chunks[m];
        const int len = static_cast<int>(c.size());
        p.chunkRanges.push_back({p.tokenCount(), p.tokenCount() + len});
        for (int t = 0; t < len; ++t) {
            const int pos = rule == PositionPolicy::Sequential ? p.tokenCount()
                            : rule == PositionPolicy::Restart
                                ? S + t
                                : S + static_cast<int>((static_cast<long long>(t) * M) / len);
            push(c[static_cast<std::size_t>(t)], SegmentKind::Chunk, static_cast<int>(m), pos);
        }
    }
    p.queryBegin = p.tokenCount();
    for (std::size_t t = 0; t < parts.query.size(); ++t)
        push(parts.query[t], SegmentKind::Query, -1,
             rule == PositionPolicy::Sequential ? p.tokenCount() : S + M + static_cast<int>(t));
}

}  // namespace

Result<EncodingPlan> buildPlan(const ContextSpec& spec, const EncodingOptions& options, const Tokenizer* tok,
                               int vocabSize, int maxTokens) {
    ATTN_ASSIGN(parts, tokenizeParts(spec, options, tok));
    std::size_t total = parts.prefix.size() + parts.query.size();
    for (const auto& c : parts.chunks) total += c.size();
    if (total > static_cast<std::size_t>(maxTokens))
        return makeError(ErrorKind::InvalidInput, "the context has " + std::to_string(total) +
                                                      " tokens, more than the limit of " + std::to_string(maxTokens));
    EncodingPlan p;
    p.options = options;
    if (options.mode == EncodingMode::Full) p.options.positions = PositionPolicy::Sequential;
    layOut(parts, p);
    ATTN_TRY(p.validate(vocabSize));
    return p;
}

}  // namespace attnscope
