#pragma once
// Test-side readers of tokenizer vocabularies, shared by the tokenizer tests: a minimal protobuf
// reader for SentencePiece tokenizer.model files (independent of the engine's writer) with the
// TokenizerSpec a GGUF converter would embed for one, and the byte-level BPE vocabularies of
// tests/data/bpe/*.json as TokenizerSpecs.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/json.h"
#include "model/loaded_model.h"

namespace attnscope::tokenizer_test {

inline std::string readBytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// ---- a minimal protobuf reader, independent of the engine's writer ---------------------------

struct ProtoField {
    std::uint32_t number = 0, wireType = 0;
    std::uint64_t varint = 0;  // wire types 0, 1 and 5
    std::string bytes;         // wire type 2
};

inline bool readVarint(const std::string& b, std::size_t& pos, std::uint64_t& v) {
    v = 0;
    for (int shift = 0; shift < 64 && pos < b.size(); shift += 7) {
        const auto c = static_cast<std::uint8_t>(b[pos++]);
        v |= std::uint64_t{c & 0x7fu} << shift;
        if (c < 0x80) return true;
    }
    return false;
}

inline std::vector<ProtoField> parseFields(const std::string& b) {
    std::vector<ProtoField> out;
    std::size_t pos = 0;
    while (pos < b.size()) {
        ProtoField f;
        std::uint64_t key = 0;
        if (!readVarint(b, pos, key)) throw std::runtime_error("bad key");
        f.number = static_cast<std::uint32_t>(key >> 3);
        f.wireType = static_cast<std::uint32_t>(key & 7);
        if (f.wireType == 0) {
            if (!readVarint(b, pos, f.varint)) throw std::runtime_error("bad varint");
        } else if (f.wireType == 1 || f.wireType == 5) {
            const std::size_t n = f.wireType == 1 ? 8 : 4;
            if (pos + n > b.size()) throw std::runtime_error("truncated");
            for (std::size_t i = 0; i < n; ++i)
                f.varint |= std::uint64_t{static_cast<std::uint8_t>(b[pos + i])} << (8 * i);
            pos += n;
        } else if (f.wireType == 2) {
            std::uint64_t len = 0;
            if (!readVarint(b, pos, len) || len > b.size() - pos) throw std::runtime_error("bad length");
            f.bytes = b.substr(pos, len);
            pos += len;
        } else {
            throw std::runtime_error("bad wire type");
        }
        out.push_back(std::move(f));
    }
    return out;
}

// The parts of a ModelProto that decide tokenization.
struct ModelProtoView {
    std::vector<std::string> pieces;
    std::vector<float> scores;
    std::vector<std::int32_t> types;
    std::map<std::uint32_t, std::uint64_t> trainer;     // varint fields of TrainerSpec
    std::map<std::uint32_t, std::string> trainerText;   // string fields (last value)
    std::map<std::uint32_t, std::uint64_t> normalizer;  // varint fields of NormalizerSpec
};

inline ModelProtoView parseModelProto(const std::string& bytes) {
    ModelProtoView m;
    for (const ProtoField& f : parseFields(bytes)) {
        if (f.number == 1) {
            std::string piece;
            float score = 0;
            std::int32_t type = 1;
            for (const ProtoField& p : parseFields(f.bytes)) {
                if (p.number == 1) piece = p.bytes;
                if (p.number == 2) {
                    auto bits = static_cast<std::uint32_t>(p.varint);
                    std::memcpy(&score, &bits, sizeof score);
                }
                if (p.number == 3) type = static_cast<std::int32_t>(p.varint);
            }
            m.pieces.push_back(piece);
            m.scores.push_back(score);
            m.types.push_back(type);
        } else if (f.number == 2) {
            for (const ProtoField& t : parseFields(f.bytes)) {
                if (t.wireType == 0) m.trainer[t.number] = t.varint;
                if (t.wireType == 2) m.trainerText[t.number] = t.bytes;
            }
        } else if (f.number == 3) {
            for (const ProtoField& n : parseFields(f.bytes))
                if (n.wireType == 0) m.normalizer[n.number] = n.varint;
        }
    }
    return m;
}

inline int asInt32(std::uint64_t v) { return static_cast<int>(static_cast<std::int64_t>(v)); }

// What a GGUF converter stores for a tokenizer.model: pieces, scores, types, special ids and
// add_dummy_prefix (normalizer field 3, default true).
inline TokenizerSpec embeddedSpecFrom(const ModelProtoView& m) {
    TokenizerSpec spec;
    spec.kind = TokenizerSpec::Kind::SentencePieceEmbedded;
    spec.tokens = m.pieces;
    spec.scores = m.scores;
    spec.tokenTypes = m.types;
    auto get = [&](std::uint32_t f, int dflt) { return m.trainer.count(f) ? asInt32(m.trainer.at(f)) : dflt; };
    spec.unkId = get(40, 0);
    spec.bosId = get(41, 1);
    spec.eosId = get(42, 2);
    spec.padId = get(43, -1);
    spec.addSpacePrefix = !m.normalizer.count(3) || m.normalizer.at(3) != 0;
    return spec;
}

// remove_extra_whitespaces (normalizer field 4, default true).
inline bool removesExtraWhitespaces(const ModelProtoView& m) {
    return !m.normalizer.count(4) || m.normalizer.at(4) != 0;
}

// A GGUF "gpt2" vocabulary from a tests/data/bpe fixture: "tokens" and "token_types" in id order,
// or (a slice of a real vocabulary) "vocab_size" and "sparse_tokens" [[id, token, type]] with
// the other ids unused; then "pre", "merges", "bos_id" and "eos_id". `path` labels failures.
inline TokenizerSpec bpeSpecFromFixture(const Json& doc, const std::string& path) {
    TokenizerSpec s;
    s.kind = TokenizerSpec::Kind::Gpt2Bpe;
    s.pre = doc.find("pre")->asString();
    if (const Json* sparse = doc.find("sparse_tokens")) {
        const auto size = static_cast<std::size_t>(doc.find("vocab_size")->asInt());
        s.tokens.assign(size, std::string());
        s.tokenTypes.assign(size, 5);
        for (const Json& e : sparse->asArray()) {
            const auto id = static_cast<std::size_t>(e.asArray()[0].asInt());
            if (id >= size) {
                ADD_FAILURE() << path << ": id " << id << " out of range";
                continue;
            }
            s.tokens[id] = e.asArray()[1].asString();
            s.tokenTypes[id] = static_cast<std::int32_t>(e.asArray()[2].asInt());
        }
    } else {
        for (const Json& t : doc.find("tokens")->asArray()) s.tokens.push_back(t.asString());
        for (const Json& t : doc.find("token_types")->asArray())
            s.tokenTypes.push_back(static_cast<std::int32_t>(t.asInt()));
    }
    for (const Json& m : doc.find("merges")->asArray()) s.merges.push_back(m.asString());
    s.bosId = static_cast<int>(doc.find("bos_id")->asInt());
    s.eosId = static_cast<int>(doc.find("eos_id")->asInt());
    return s;
}

}  // namespace attnscope::tokenizer_test
