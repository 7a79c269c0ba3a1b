// GGUF: the container parser, then the model loader walking the metadata and the tensor table,
// then the embedded vocabulary as a tokenizer.
#include "fuzz_support.h"
#include "model/gguf_model_loader.h"
#include "model/gguf_reader.h"

using namespace attnscope;

namespace {

constexpr std::string_view kSample = "Once upon a time,  there was\n\ta caf\xC3\xA9 <s> \xF0\x9F\x98\x80 1234!";

void exerciseVocabulary(const TokenizerSpec& spec, const std::string& path) {
    auto tok = makeTokenizer(spec, path);
    if (tok) fuzz::exerciseTokenizer(**tok, kSample);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string path = "fuzz.gguf";
    auto gguf = GgufFile::parse(fuzz::inputFile(data, size, path));
    if (!gguf) return 0;
    for (const auto& [key, value] : gguf->metadata()) (void)value.display();
    auto model = loadGgufModel(*gguf);
    if (model) {
        (void)model->config.summary();
        exerciseVocabulary(model->tokenizer, path);
    } else if (auto spec = ggufTokenizerSpec(*gguf)) {
        exerciseVocabulary(*spec, path);
    }
    return 0;
}
