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
    return keyVisible(i, j, k.a, k.b, 0, nullptr);
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
    // Only the position rule adds to the hash: plans under the physical rule keep their hashes.
    if (p.options.window != WindowRule::Physical) h.value(static_cast<int>(p.options.window));
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
    if (chunkCount() <= 0)
        return makeError(ErrorKind::InvalidInput,
                         "the context has no chunks: at least one chunk is needed (for one undivided context, "
                         "give it as a single chunk)");
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

}  // namespace

Result<std::vector<std::int32_t>> encodePart(const PlanModel& model, const std::string& text, const char* what) {
    if (!model.tokenizer)
        return makeError(ErrorKind::InvalidInput,
                         std::string("the ") + what + " is given as text but this model has no tokenizer (" +
                             (model.noTokenizerReason.empty() ? "none found" : model.noTokenizerReason) +
                             "); give token ids instead",
                         model.tokenizerFile);
    if (model.maxPartBytes && text.size() > model.maxPartBytes)
        return makeError(ErrorKind::InvalidInput, std::string("the ") + what + " text has " +
                                                      std::to_string(text.size()) +
                                                      " bytes: more tokens than the model's context length of " +
                                                      std::to_string(model.contextLength) + " (at most " +
                                                      std::to_string(model.maxPartBytes) + " bytes)");
    auto encoded = model.tokenizer->encode(text);
    if (!encoded) {
        Error e = encoded.takeError();
        if (e.file.empty()) e.file = model.tokenizerFile;
        return e;
    }
    return std::move(*encoded);
}

namespace {

// Tokenises the parts one after another, keeping the running total under the model's limits.
class PartTokenizer {
public:
    explicit PartTokenizer(const PlanModel& model) : m_(model) {}

    // Appends one part to `out`: its ids when given, else its text through the tokenizer.
    Result<void> append(std::vector<std::int32_t>& out, const std::vector<std::int32_t>* ids, const std::string& text,
                        const char* what) {
        if (ids) out.insert(out.end(), ids->begin(), ids->end());
        else if (!text.empty()) ATTN_TRY(encode(out, text, what));
        total_ += out.size() - counted_;
        counted_ = out.size();
        if (total_ > static_cast<std::size_t>(m_.maxTokens))
            return makeError(ErrorKind::InvalidInput,
                             "the context has more than " + std::to_string(m_.maxTokens) + " tokens, the limit");
        return {};
    }
    // The next part goes into a new vector.
    void nextPart() { counted_ = 0; }
    // The BOS id when the policy needs one, else an error naming the tokenizer.
    Result<std::int32_t> bos() const {
        if (m_.bosId >= 0) return m_.bosId;
        const std::string why = m_.noBosReason.empty() ? "the tokenizer has no BOS token" : m_.noBosReason;
        return makeError(ErrorKind::InvalidInput, "a BOS policy was requested but " + why, m_.tokenizerFile);
    }

private:
    Result<void> encode(std::vector<std::int32_t>& out, const std::string& text, const char* what) const {
        ATTN_ASSIGN(encoded, encodePart(m_, text, what));
        out.insert(out.end(), encoded.begin(), encoded.end());
        return {};
    }

    const PlanModel& m_;
    std::size_t total_ = 0, counted_ = 0;
};

Result<PlanParts> tokenizeParts(const ContextSpec& spec, const EncodingOptions& options, const PlanModel& model) {
    PartTokenizer tokens(model);
    std::int32_t bos = -1;
    if (options.bos != BosPolicy::None) ATTN_SET(bos, tokens.bos());
    PlanParts parts;
    if (options.bos == BosPolicy::Shared) parts.prefix.push_back(bos);
    if (options.sinkPrefix)
        ATTN_TRY(tokens.append(parts.prefix, spec.prefixIds ? &*spec.prefixIds : nullptr, spec.prefix, "prefix"));
    const std::size_t nChunks = spec.chunkIds ? spec.chunkIds->size() : spec.chunks.size();
    for (std::size_t m = 0; m < nChunks; ++m) {
        std::vector<std::int32_t>& c = parts.chunks.emplace_back();
        tokens.nextPart();
        if (options.bos == BosPolicy::PerChunk) c.push_back(bos);
        if (spec.chunkIds) ATTN_TRY(tokens.append(c, &(*spec.chunkIds)[m], {}, "chunk"));
        else ATTN_TRY(tokens.append(c, nullptr, spec.chunks[m], "chunk"));
        if (c.empty())
            return makeError(ErrorKind::InvalidInput,
                             "chunk " + std::to_string(m + 1) + " is empty (it has no tokens)");
    }
    tokens.nextPart();
    ATTN_TRY(tokens.append(parts.query, spec.queryIds ? &*spec.queryIds : nullptr, spec.query, "query"));
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

// Every rotary position below the model's context length.
Result<void> checkContextLength(const EncodingPlan& p, int contextLength) {
    if (contextLength <= 0 || p.positions.empty()) return {};
    const int highest = *std::max_element(p.positions.begin(), p.positions.end());
    if (highest < contextLength) return {};
    return makeError(ErrorKind::InvalidInput,
                     "the context reaches position " + std::to_string(highest) +
                         ", beyond the model's context length of " + std::to_string(contextLength) + " (" +
                         std::to_string(p.tokenCount()) +
                         " tokens; parallel encoding with fewer tokens per chunk reaches less far)");
}

}  // namespace

Result<EncodingPlan> buildPlan(const ContextSpec& spec, const EncodingOptions& options, const PlanModel& model) {
    ATTN_ASSIGN(parts, tokenizeParts(spec, options, model));
    EncodingPlan p;
    p.options = options;
    if (options.mode == EncodingMode::Full) p.options.positions = PositionPolicy::Sequential;
    layOut(parts, p);
    ATTN_TRY(p.validate(model.vocabSize));
    ATTN_TRY(checkContextLength(p, model.contextLength));
    return p;
}

void appendQueryToken(EncodingPlan& p, std::int32_t id) {
    const int t = p.queryCount();  // the query's first position is S + M (or queryBegin when sequential)
    const int pos = p.options.positions == PositionPolicy::Sequential ? p.tokenCount()
                    : t > 0 ? p.positions[static_cast<std::size_t>(p.queryBegin)] + t
                            : p.tokenCount();
    p.ids.push_back(id);
    p.segment.push_back(SegmentKind::Query);
    p.chunk.push_back(-1);
    p.positions.push_back(pos);
}

Result<EncodingPlan> buildPlan(const ContextSpec& spec, const EncodingOptions& options, const Tokenizer* tok,
                               int vocabSize, int maxTokens) {
    PlanModel model;
    model.tokenizer = tok;
    model.bosId = tok ? tok->bosId() : 1;
    model.vocabSize = vocabSize;
    model.maxTokens = maxTokens;
    return buildPlan(spec, options, model);
}

}  // namespace attnscope
