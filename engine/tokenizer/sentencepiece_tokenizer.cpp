// SentencePiece tokenizers: a Tokenizer over sentencepiece::SentencePieceProcessor, a checker for
// the top-level protobuf structure of tokenizer.model files, and a hand-written protobuf encoder
// that turns a GGUF-embedded vocabulary back into a SentencePiece ModelProto.
//
// Field numbers follow sentencepiece_model.proto (ModelProto, TrainerSpec, NormalizerSpec);
// test_tokenizer checks them by rebuilding tok512.model, llama2 and mistral models from their
// pieces and comparing encodings with the original files.
#include "tokenizer/sentencepiece_tokenizer.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <optional>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#ifdef ATTNSCOPE_HAVE_SENTENCEPIECE
#include <sentencepiece_processor.h>
#endif

namespace attnscope {
namespace {

// ---- protobuf wire format --------------------------------------------------------------------

enum WireType : std::uint32_t { Varint = 0, Fixed64 = 1, LengthDelimited = 2, Fixed32 = 5 };

// ModelProto and nested message field numbers (sentencepiece_model.proto).
namespace field {
constexpr std::uint32_t kPieces = 1, kTrainerSpec = 2, kNormalizerSpec = 3;
// ModelProto.SentencePiece
constexpr std::uint32_t kPiece = 1, kScore = 2, kType = 3;
// TrainerSpec
constexpr std::uint32_t kModelType = 3, kVocabSize = 4, kAllowWhitespaceOnlyPieces = 26, kByteFallback = 35,
                        kUnkId = 40, kBosId = 41, kEosId = 42, kPadId = 43, kUnkPiece = 45, kBosPiece = 46,
                        kEosPiece = 47, kPadPiece = 48;
// NormalizerSpec
constexpr std::uint32_t kName = 1, kAddDummyPrefix = 3, kRemoveExtraWhitespaces = 4, kEscapeWhitespaces = 5;
}  // namespace field

// TrainerSpec.ModelType and ModelProto.SentencePiece.Type values.
constexpr int kModelUnigram = 1, kModelBpe = 2;
constexpr std::int32_t kTypeNormal = 1, kTypeUnknown = 2, kTypeControl = 3, kTypeUserDefined = 4,
                       kTypeByte = 6;  // 5 is UNUSED

class ProtoWriter {
public:
    void varint(std::uint64_t v) {
        while (v >= 0x80) {
            out_.push_back(static_cast<char>((v & 0x7f) | 0x80));
            v >>= 7;
        }
        out_.push_back(static_cast<char>(v));
    }
    void tag(std::uint32_t fieldNumber, WireType type) { varint((std::uint64_t{fieldNumber} << 3) | type); }
    // int32 and enum fields: negative values are sign-extended to 64 bits, as protobuf does.
    void int32(std::uint32_t f, std::int32_t v) {
        tag(f, Varint);
        varint(static_cast<std::uint64_t>(static_cast<std::int64_t>(v)));
    }
    void boolean(std::uint32_t f, bool v) {
        tag(f, Varint);
        varint(v ? 1 : 0);
    }
    void float32(std::uint32_t f, float v) {
        tag(f, Fixed32);
        std::uint32_t bits;
        std::memcpy(&bits, &v, sizeof bits);
        for (int i = 0; i < 4; ++i) out_.push_back(static_cast<char>((bits >> (8 * i)) & 0xff));
    }
    void bytes(std::uint32_t f, std::string_view s) {
        tag(f, LengthDelimited);
        varint(s.size());
        out_.append(s);
    }
    std::string take() { return std::move(out_); }

private:
    std::string out_;
};

// One field of a protobuf message: number, wire type, payload (length-delimited fields only) and
// the file offsets of the field key and of its payload.
struct WireField {
    std::uint32_t number = 0;
    std::uint32_t type = 0;
    std::string_view payload;
    std::uint64_t offset = 0, payloadOffset = 0;
};

// Reads the fields of one message in order, checking every length against the bytes left.
// `base` is the file offset of the message's first byte (for error offsets).
class WireReader {
public:
    WireReader(std::string_view bytes, std::uint64_t base) : b_(bytes), base_(base) {}

    // The next field; false at the end of the message or on malformed input (see failed()).
    bool next(WireField& f) {
        if (pos_ >= b_.size() || failed()) return false;
        f = WireField{};
        f.offset = base_ + pos_;
        std::uint64_t key = 0;
        if (!varint(key)) return fail("truncated or invalid field key", f.offset);
        f.type = static_cast<std::uint32_t>(key & 7);
        if ((key >> 3) == 0 || (key >> 3) > 0x1fffffff) return fail("invalid field number", f.offset);
        f.number = static_cast<std::uint32_t>(key >> 3);
        std::uint64_t skip = 0;
        switch (f.type) {
            case Varint:
                if (!varint(skip)) return fail("truncated or invalid varint", f.offset);
                return true;
            case Fixed64: skip = 8; break;
            case Fixed32: skip = 4; break;
            case LengthDelimited:
                if (!varint(skip)) return fail("truncated or invalid length", f.offset);
                f.payloadOffset = base_ + pos_;
                break;
            default: return fail("unsupported wire type " + std::to_string(f.type), f.offset);
        }
        if (skip > b_.size() - pos_)
            return fail("field of " + std::to_string(skip) + " bytes runs past the end (" +
                            std::to_string(b_.size() - pos_) + " bytes left)",
                        f.offset);
        if (f.type == LengthDelimited) f.payload = b_.substr(pos_, static_cast<std::size_t>(skip));
        pos_ += static_cast<std::size_t>(skip);
        return true;
    }
    bool failed() const { return !error_.empty(); }
    const std::string& error() const { return error_; }
    std::uint64_t errorOffset() const { return errorOffset_; }

private:
    bool varint(std::uint64_t& v) {
        v = 0;
        for (int shift = 0; shift < 70 && pos_ < b_.size(); shift += 7) {
            const auto c = static_cast<std::uint8_t>(b_[pos_++]);
            v |= std::uint64_t{c & 0x7fu} << shift;
            if (c < 0x80) return true;
        }
        return false;
    }
    bool fail(std::string why, std::uint64_t at) {
        error_ = std::move(why);
        errorOffset_ = at;
        return false;
    }

    std::string_view b_;
    std::uint64_t base_;
    std::size_t pos_ = 0;
    std::string error_;
    std::uint64_t errorOffset_ = 0;
};

// Checks that `b` is structurally a SentencePiece ModelProto: well-formed wire format, at least
// one piece, each a message with a non-empty piece string, and the trainer and normalizer specs
// (which SentencePiece always writes last, so a truncated file misses them).
Result<void> checkModelProto(std::string_view b, const std::string& file) {
    auto fail = [&](const std::string& why, std::optional<std::uint64_t> at = std::nullopt) {
        return makeError(ErrorKind::Format, "not a valid SentencePiece model: " + why, file, at);
    };
    if (b.empty()) return fail("the file is empty");
    std::size_t pieces = 0;
    bool trainerSpec = false, normalizerSpec = false;
    WireReader top(b, 0);
    WireField f;
    while (top.next(f)) {
        if (f.number != field::kPieces && f.number != field::kTrainerSpec && f.number != field::kNormalizerSpec)
            continue;
        if (f.type != LengthDelimited) return fail("field " + std::to_string(f.number) + " is not a message", f.offset);
        trainerSpec |= f.number == field::kTrainerSpec;
        normalizerSpec |= f.number == field::kNormalizerSpec;
        WireReader inner(f.payload, f.payloadOffset);
        WireField g;
        bool hasText = false;
        while (inner.next(g))
            if (f.number == field::kPieces && g.number == field::kPiece)
                hasText = g.type == LengthDelimited && !g.payload.empty();
        if (inner.failed()) return fail(inner.error(), inner.errorOffset());
        if (f.number == field::kPieces) {
            if (!hasText) return fail("piece " + std::to_string(pieces) + " has no text", f.offset);
            ++pieces;
        }
    }
    if (top.failed()) return fail(top.error(), top.errorOffset());
    if (pieces == 0) return fail("it has no pieces");
    if (!trainerSpec || !normalizerSpec)
        return fail(std::string("it has no ") + (trainerSpec ? "normalizer_spec" : "trainer_spec") +
                    " (the file is truncated or is not a SentencePiece model)");
    return {};
}

// "<0x0A>" → 10; -1 when the piece is not a byte piece spelled as SentencePiece spells them.
int bytePieceValue(std::string_view piece) {
    if (piece.size() != 6 || piece.substr(0, 3) != "<0x" || piece[5] != '>') return -1;
    int v = 0;
    for (char c : piece.substr(3, 2)) {
        v <<= 4;
        if (c >= '0' && c <= '9') v |= c - '0';
        else if (c >= 'A' && c <= 'F') v |= c - 'A' + 10;
        else return -1;
    }
    return v;
}

std::string tokenLabel(std::size_t i) { return "token " + std::to_string(i); }

Error vocabularyError(const std::string& message) {
    return makeError(ErrorKind::Format, "embedded SentencePiece vocabulary: " + message);
}

// One score and one type per token when they are recorded at all.
Result<void> checkVocabularySizes(const TokenizerSpec& spec) {
    const std::size_t n = spec.tokens.size();
    if (n == 0) return vocabularyError("it has no tokens");
    if (n > 0x7fffffff) return vocabularyError("too many tokens");
    if (!spec.scores.empty() && spec.scores.size() != n)
        return vocabularyError(std::to_string(spec.scores.size()) + " scores for " + std::to_string(n) + " tokens");
    if (!spec.tokenTypes.empty() && spec.tokenTypes.size() != n)
        return vocabularyError(std::to_string(spec.tokenTypes.size()) + " token types for " + std::to_string(n) +
                               " tokens");
    return {};
}

bool isTokenId(const TokenizerSpec& spec, int id) {
    return id >= 0 && static_cast<std::size_t>(id) < spec.tokens.size();
}

// Piece types: as recorded (GGUF uses SentencePiece's numbering; 0 means "undefined" and is
// read as normal), else derived from the special ids and the "<0xXX>" spelling. Exactly one
// piece ends up unknown.
Result<std::vector<std::int32_t>> pieceTypes(const TokenizerSpec& spec) {
    const std::size_t n = spec.tokens.size();
    std::vector<std::int32_t> types(n, kTypeNormal);
    if (!spec.tokenTypes.empty()) {
        for (std::size_t i = 0; i < n; ++i) {
            const std::int32_t t = spec.tokenTypes[i];
            if (t < 0 || t > kTypeByte)
                return vocabularyError(tokenLabel(i) + " has unknown token type " + std::to_string(t));
            types[i] = t == 0 ? kTypeNormal : t;
        }
    } else {
        for (std::size_t i = 0; i < n; ++i)
            if (bytePieceValue(spec.tokens[i]) >= 0) types[i] = kTypeByte;
        for (int id : {spec.bosId, spec.eosId, spec.padId})
            if (isTokenId(spec, id)) types[static_cast<std::size_t>(id)] = kTypeControl;
    }
    const auto unknowns = std::count(types.begin(), types.end(), kTypeUnknown);
    if (unknowns == 0) {
        if (!isTokenId(spec, spec.unkId)) return vocabularyError("it has no unknown token (SentencePiece needs one)");
        types[static_cast<std::size_t>(spec.unkId)] = kTypeUnknown;
    } else if (unknowns > 1) {
        return vocabularyError("it has " + std::to_string(unknowns) + " unknown tokens (SentencePiece allows one)");
    }
    return types;
}

// Every piece non-empty and free of NUL; byte fallback (the result) needs all 256 byte pieces,
// each spelled "<0xXX>".
Result<bool> checkPiecesForByteFallback(const TokenizerSpec& spec, const std::vector<std::int32_t>& types) {
    std::vector<bool> byteSeen(256, false);
    std::size_t bytePieces = 0;
    for (std::size_t i = 0; i < spec.tokens.size(); ++i) {
        const std::string& piece = spec.tokens[i];
        if (piece.empty()) return vocabularyError(tokenLabel(i) + " is empty");
        if (piece.find('\0') != std::string::npos) return vocabularyError(tokenLabel(i) + " contains a NUL byte");
        if (types[i] != kTypeByte) continue;
        const int v = bytePieceValue(piece);
        if (v < 0)
            return vocabularyError(tokenLabel(i) + " is typed as a byte but is not spelled <0xXX>: \"" + piece + "\"");
        if (!byteSeen[static_cast<std::size_t>(v)]) ++bytePieces;
        byteSeen[static_cast<std::size_t>(v)] = true;
    }
    if (bytePieces > 0 && bytePieces != 256)
        return vocabularyError("it has " + std::to_string(bytePieces) +
                               " distinct byte tokens; byte fallback needs all 256");
    return bytePieces > 0;
}

constexpr std::string_view kSpaceSymbol = "\xe2\x96\x81";  // U+2581 "▁", SentencePiece's escaped space

// The piece text the ModelProto stores. GGUF converters write user-defined pieces with plain
// spaces (Gemma 3's "  ", "   ", ...: llama.cpp cuts them out of the raw text before it escapes
// spaces), but SentencePiece matches user-defined pieces in the escaped text, where every space
// is already "▁". Such pieces get their "▁" back, unless that spelling is taken by another
// piece; all other pieces are stored as recorded.
std::vector<std::string> protoPieceTexts(const TokenizerSpec& spec, const std::vector<std::int32_t>& types) {
    std::vector<std::string> texts = spec.tokens;
    std::unordered_set<std::string_view> recorded(spec.tokens.begin(), spec.tokens.end());
    for (std::size_t i = 0; i < texts.size(); ++i) {
        if (types[i] != kTypeUserDefined || texts[i].find(' ') == std::string::npos) continue;
        std::string escaped;
        for (char c : texts[i]) escaped += c == ' ' ? std::string(kSpaceSymbol) : std::string(1, c);
        if (!recorded.count(escaped)) texts[i] = std::move(escaped);
    }
    return texts;
}

// BPE scores are merge ranks (integers: 0, -1, -2, ...); unigram scores are log-probabilities.
int modelTypeOf(const TokenizerSpec& spec, const std::vector<std::int32_t>& types) {
    for (std::size_t i = 0; i < spec.tokens.size() && !spec.scores.empty(); ++i) {
        const float s = spec.scores[i];
        if ((types[i] == kTypeNormal || types[i] == kTypeUserDefined) && std::isfinite(s) && std::floor(s) != s)
            return kModelUnigram;
    }
    return kModelBpe;
}

// TrainerSpec: model type, byte fallback, special ids and the pieces SentencePieceProcessor
// looks special tokens up by.
std::string trainerSpec(const TokenizerSpec& spec, const std::vector<std::int32_t>& types, bool byteFallback) {
    ProtoWriter t;
    t.int32(field::kModelType, modelTypeOf(spec, types));
    t.int32(field::kVocabSize, static_cast<std::int32_t>(spec.tokens.size()));
    // Runs of "▁" stay one word, so whitespace-only pieces ("▁▁", "▁▁▁▁") can match, as in the
    // Llama 2 / Mistral / tok512 models and in llama.cpp's tokenizer.
    t.boolean(field::kAllowWhitespaceOnlyPieces, true);
    t.boolean(field::kByteFallback, byteFallback);
    const int unkId = static_cast<int>(std::find(types.begin(), types.end(), kTypeUnknown) - types.begin());
    t.int32(field::kUnkId, unkId);
    auto idOrNone = [&](int id) { return isTokenId(spec, id) ? id : -1; };
    t.int32(field::kBosId, idOrNone(spec.bosId));
    t.int32(field::kEosId, idOrNone(spec.eosId));
    t.int32(field::kPadId, idOrNone(spec.padId));
    t.bytes(field::kUnkPiece, spec.tokens[static_cast<std::size_t>(unkId)]);
    for (auto [id, f] :
         {std::pair{spec.bosId, field::kBosPiece}, {spec.eosId, field::kEosPiece}, {spec.padId, field::kPadPiece}})
        if (isTokenId(spec, id)) t.bytes(f, spec.tokens[static_cast<std::size_t>(id)]);
    return t.take();
}

// NormalizerSpec: identity normalization, escaped whitespace, the dummy prefix as recorded.
std::string normalizerSpec(const TokenizerSpec& spec, const SentencePieceVocabOptions& options) {
    ProtoWriter norm;
    norm.bytes(field::kName, "identity");
    norm.boolean(field::kAddDummyPrefix, spec.addSpacePrefix);
    norm.boolean(field::kRemoveExtraWhitespaces, options.removeExtraWhitespaces);
    norm.boolean(field::kEscapeWhitespaces, true);
    return norm.take();
}

}  // namespace

// ---- embedded vocabulary → ModelProto --------------------------------------------------------

Result<std::string> serializeSentencePieceModel(const TokenizerSpec& spec, const SentencePieceVocabOptions& options) {
    ATTN_TRY(checkVocabularySizes(spec));
    ATTN_ASSIGN(types, pieceTypes(spec));
    ATTN_ASSIGN(byteFallback, checkPiecesForByteFallback(spec, types));
    const std::vector<std::string> pieceTexts = protoPieceTexts(spec, types);
    ProtoWriter w;
    for (std::size_t i = 0; i < spec.tokens.size(); ++i) {
        ProtoWriter p;
        p.bytes(field::kPiece, pieceTexts[i]);
        p.float32(field::kScore, spec.scores.empty() ? 0.0f : spec.scores[i]);
        p.int32(field::kType, types[i]);
        w.bytes(field::kPieces, p.take());
    }
    w.bytes(field::kTrainerSpec, trainerSpec(spec, types, byteFallback));
    w.bytes(field::kNormalizerSpec, normalizerSpec(spec, options));
    return w.take();
}

namespace {

// serializeSentencePieceModel, with errors naming the model file.
Result<std::string> serializeForFile(const TokenizerSpec& spec, const std::string& modelPath,
                                     const SentencePieceVocabOptions& options) {
    auto proto = serializeSentencePieceModel(spec, options);
    if (!proto) {
        Error e = proto.takeError();
        e.file = modelPath;
        return e;
    }
    return proto;
}

}  // namespace

// ---- the tokenizer ---------------------------------------------------------------------------

#ifdef ATTNSCOPE_HAVE_SENTENCEPIECE

namespace {

class SentencePieceTokenizer final : public Tokenizer {
public:
    SentencePieceTokenizer(std::unique_ptr<sentencepiece::SentencePieceProcessor> sp, int bos, int eos)
        : sp_(std::move(sp)), size_(sp_->GetPieceSize()), bos_(bos), eos_(eos) {}

    // An embedded vocabulary's pieces as the GGUF file spells them, where the ModelProto spells
    // them otherwise (see protoPieceTexts).
    void keepRecordedSpellings(const std::vector<std::string>& recorded) {
        for (int id = 0; id < size_ && static_cast<std::size_t>(id) < recorded.size(); ++id)
            if (sp_->IdToPiece(id) != recorded[static_cast<std::size_t>(id)])
                recordedSpellings_.emplace(id, recorded[static_cast<std::size_t>(id)]);
    }

    std::string kind() const override { return "sentencepiece"; }
    int vocabSize() const override { return size_; }
    int bosId() const override { return bos_; }
    int eosId() const override { return eos_; }

    Result<std::vector<std::int32_t>> encode(std::string_view text) const override {
        std::vector<int> ids;
        const auto status = sp_->Encode(text, &ids);
        if (!status.ok())
            return makeError(ErrorKind::InvalidInput,
                             std::string("SentencePiece cannot encode the text: ") + status.message());
        return std::vector<std::int32_t>(ids.begin(), ids.end());
    }

    std::string decode(const std::vector<std::int32_t>& ids) const override {
        std::vector<int> valid;
        valid.reserve(ids.size());
        for (auto id : ids)
            if (inRange(id)) valid.push_back(id);
        std::string text;
        if (!sp_->Decode(valid, &text).ok()) return {};
        return text;
    }

    std::string piece(std::int32_t id) const override {
        if (!inRange(id)) return {};
        const auto recorded = recordedSpellings_.find(id);
        return recorded != recordedSpellings_.end() ? recorded->second : sp_->IdToPiece(id);
    }

    std::string tokenText(std::int32_t id) const override {
        if (!inRange(id)) return {};
        const std::string& p = sp_->IdToPiece(id);
        if (sp_->IsByte(id)) {
            // A byte below 0x80 is a whole character; a higher one is part of a UTF-8 sequence
            // and cannot be shown alone, so it keeps its "<0xE2>" spelling.
            const int v = bytePieceValue(p);
            return v >= 0 && v < 0x80 ? std::string(1, static_cast<char>(v)) : p;
        }
        if (sp_->IsControl(id) || sp_->IsUnknown(id)) return p;
        std::string text;
        text.reserve(p.size());
        for (std::size_t i = 0; i < p.size();) {
            if (p.compare(i, kSpaceSymbol.size(), kSpaceSymbol) == 0) {
                text.push_back(' ');
                i += kSpaceSymbol.size();
            } else {
                text.push_back(p[i++]);
            }
        }
        return text;
    }

private:
    bool inRange(std::int32_t id) const { return id >= 0 && id < size_; }

    std::unique_ptr<sentencepiece::SentencePieceProcessor> sp_;
    int size_;
    int bos_, eos_;
    std::unordered_map<int, std::string> recordedSpellings_;
};

Result<std::unique_ptr<sentencepiece::SentencePieceProcessor>> loadProcessor(std::string_view serialized,
                                                                             const std::string& file,
                                                                             const std::string& what) {
    auto sp = std::make_unique<sentencepiece::SentencePieceProcessor>();
    const auto status = sp->LoadFromSerializedProto(serialized);
    if (!status.ok()) return makeError(ErrorKind::Format, what + ": " + status.message(), file);
    if (sp->GetPieceSize() <= 0) return makeError(ErrorKind::Format, what + ": it has no pieces", file);
    return sp;
}

}  // namespace

bool sentencePieceAvailable() { return true; }

Result<std::shared_ptr<const Tokenizer>> makeSentencePieceTokenizer(std::string_view serializedModel,
                                                                    const std::string& file) {
    ATTN_TRY(checkModelProto(serializedModel, file));
    auto sp = loadProcessor(serializedModel, file, "not a valid SentencePiece model");
    if (!sp) return sp.takeError();
    const int bos = sp.value()->bos_id(), eos = sp.value()->eos_id();
    return std::shared_ptr<const Tokenizer>(std::make_shared<SentencePieceTokenizer>(std::move(sp.value()), bos, eos));
}

Result<std::shared_ptr<const Tokenizer>> makeSentencePieceTokenizer(const TokenizerSpec& spec,
                                                                    const std::string& modelPath,
                                                                    const SentencePieceVocabOptions& options) {
    ATTN_ASSIGN(proto, serializeForFile(spec, modelPath, options));
    auto sp = loadProcessor(proto, modelPath, "embedded SentencePiece vocabulary is not usable");
    if (!sp) return sp.takeError();
    const int n = sp.value()->GetPieceSize();
    const int bos = spec.bosId >= 0 && spec.bosId < n ? spec.bosId : -1;
    const int eos = spec.eosId >= 0 && spec.eosId < n ? spec.eosId : -1;
    auto tokenizer = std::make_shared<SentencePieceTokenizer>(std::move(sp.value()), bos, eos);
    tokenizer->keepRecordedSpellings(spec.tokens);
    return std::shared_ptr<const Tokenizer>(std::move(tokenizer));
}

#else  // no libsentencepiece

namespace {
Error noSentencePiece(const std::string& file) {
    return makeError(ErrorKind::Unsupported,
                     "SentencePiece tokenizers are not available: this build has no libsentencepiece "
                     "(install libsentencepiece-dev and rebuild)",
                     file);
}
}  // namespace

bool sentencePieceAvailable() { return false; }

Result<std::shared_ptr<const Tokenizer>> makeSentencePieceTokenizer(std::string_view serializedModel,
                                                                    const std::string& file) {
    ATTN_TRY(checkModelProto(serializedModel, file));
    return noSentencePiece(file);
}

Result<std::shared_ptr<const Tokenizer>> makeSentencePieceTokenizer(const TokenizerSpec& spec,
                                                                    const std::string& modelPath,
                                                                    const SentencePieceVocabOptions& options) {
    ATTN_TRY(serializeForFile(spec, modelPath, options));
    return noSentencePiece(modelPath);
}

#endif

}  // namespace attnscope
