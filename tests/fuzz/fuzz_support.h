#pragma once
// Helpers shared by the libFuzzer targets in this folder (one target per parser; see run.sh).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/mapped_file.h"
#include "tokenizer/tokenizer.h"

namespace attnscope::fuzz {

// The fuzz input as a file the parsers can read (in memory; `name` labels errors).
inline std::shared_ptr<const MappedFile> inputFile(const std::uint8_t* data, std::size_t size, std::string name) {
    return MappedFile::fromBytes(std::move(name), std::vector<std::uint8_t>(data, data + size));
}

inline std::string_view inputText(const std::uint8_t* data, std::size_t size) {
    return {reinterpret_cast<const char*>(data), size};
}

// The bundled models folder ($ATTNSCOPE_MODELS), where the tokenizer targets find vocabularies.
inline std::string modelsDir() {
    const char* dir = std::getenv("ATTNSCOPE_MODELS");
    return dir && *dir ? dir : "";
}

// A broken invariant is a finding: report it and abort so libFuzzer keeps the input.
[[noreturn]] inline void violated(const std::string& what) {
    std::fprintf(stderr, "fuzz invariant violated: %s\n", what.c_str());
    std::abort();
}

// Encodes `text`, checks every id is inside the vocabulary, and decodes and shows the ids.
inline void exerciseTokenizer(const Tokenizer& tok, std::string_view text) {
    auto ids = tok.encode(text);
    if (!ids) return;
    for (std::int32_t id : *ids) {
        if (id < 0 || id >= tok.vocabSize())
            violated("token id " + std::to_string(id) + " outside the vocabulary of " +
                     std::to_string(tok.vocabSize()));
        (void)tok.tokenText(id);
        (void)tok.piece(id);
    }
    (void)tok.decode(*ids);
}

}  // namespace attnscope::fuzz
