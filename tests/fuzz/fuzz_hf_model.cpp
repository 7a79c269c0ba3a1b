// Hugging Face folders: config.json and model.safetensors. The input is the config text, a NUL
// byte, then the safetensors file (JSON text holds no NUL, so the first one splits them). Each
// part goes through its parser; when both parse, the folder is written out and loaded whole, so
// the loader checks every tensor of the table against the config.
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/json.h"
#include "fuzz_support.h"
#include "model/hf_model_loader.h"
#include "model/safetensors_reader.h"

using namespace attnscope;
namespace fs = std::filesystem;

namespace {

// A folder of this process's own, written over for every input that reaches the loader and
// removed when the fuzzer exits.
struct ScratchFolder {
    fs::path path;
    ScratchFolder() {
        std::string tmpl = (fs::temp_directory_path() / "attnscope-fuzz-hf-XXXXXX").string();
        if (!::mkdtemp(tmpl.data())) fuzz::violated("cannot create a scratch folder");
        path = tmpl;
    }
    ~ScratchFolder() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

const fs::path& scratchFolder() {
    static const ScratchFolder dir;
    return dir.path;
}

void writeFile(const fs::path& path, std::string_view bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) fuzz::violated("cannot write " + path.string());
}

void loadFolder(std::string_view config, std::string_view weights) {
    const fs::path& dir = scratchFolder();
    writeFile(dir / "config.json", config);
    writeFile(dir / "model.safetensors", weights);
    auto model = loadHfModel(dir.string());
    if (model) (void)model->config.summary();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input = fuzz::inputText(data, size);
    const std::size_t split = std::min(input.find('\0'), input.size());
    const std::string_view config = input.substr(0, split);
    const std::string_view weights = input.substr(std::min(split + 1, input.size()));

    auto json = Json::parse(config, "config.json");
    auto modelConfig = json ? hfConfigFromJson(*json, "config.json") : Result<ModelConfig>(json.takeError());
    if (modelConfig) (void)modelConfig->validate("config.json");
    auto safetensors =
        SafetensorsFile::parse(fuzz::inputFile(data + size - weights.size(), weights.size(), "model.safetensors"));
    if (modelConfig && safetensors) loadFolder(config, weights);
    return 0;
}
