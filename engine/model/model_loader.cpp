#include "model/model_loader.h"

#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "model/gguf_model_loader.h"
#include "model/hf_model_loader.h"

namespace fs = std::filesystem;

namespace attnscope {

namespace {

std::shared_ptr<const LoadedModel> share(LoadedModel&& m) { return std::make_shared<const LoadedModel>(std::move(m)); }

Result<std::shared_ptr<const LoadedModel>> loadHf(const std::string& dir, const std::string& asGiven,
                                                  std::stop_token stop) {
    auto m = loadHfModel(dir, stop);
    if (!m) return m.takeError();
    m->path = asGiven;
    return share(std::move(*m));
}

}  // namespace

Result<std::shared_ptr<const LoadedModel>> loadModel(const std::string& path, std::stop_token stop) {
    std::error_code ec;
    const fs::path p(path);
    if (!fs::exists(p, ec)) return makeError(ErrorKind::Io, "no such file or folder", path);
    if (fs::is_directory(p, ec)) return loadHf(path, path, stop);

    // A weight or config file of a Hugging Face folder stands for its folder.
    const std::string ext = p.extension().string();
    if (ext == ".safetensors" || p.filename() == "config.json" || p.filename() == "model.safetensors.index.json") {
        fs::path dir = p.parent_path();
        if (dir.empty()) dir = ".";
        return loadHf(dir.string(), path, stop);
    }

    auto file = MappedFile::open(path);
    if (!file) return file.takeError();
    const auto& f = *file;
    if (f->size() >= 4 && std::memcmp(f->data(), "GGUF", 4) == 0) {
        auto g = GgufFile::parse(f);
        if (!g) return g.takeError();
        if (stop.stop_requested()) return loadCancelled(path);
        auto m = loadGgufModel(*g, stop);
        if (!m) return m.takeError();
        return share(std::move(*m));
    }
    return makeError(ErrorKind::Format, "not a GGUF file or Hugging Face folder", path, 0);
}

Error loadCancelled(const std::string& path) { return makeError(ErrorKind::Cancelled, "loading was cancelled", path); }

std::string findModelsDir() {
    std::error_code ec;
    auto isDir = [&](const fs::path& d) { return !d.empty() && fs::is_directory(d, ec); };
    auto finish = [&](const fs::path& d) {
        fs::path c = fs::weakly_canonical(d, ec);
        return (ec ? d : c).string();
    };
    if (const char* env = std::getenv("ATTNSCOPE_MODELS"); env && *env && isDir(env)) return finish(env);

    const fs::path rel = fs::path("..") / "shared" / "models";
    if (isDir(rel)) return finish(fs::absolute(rel, ec));

    fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    if (ec || exe.empty()) return {};
    // Installed: the demo model the package ships, <prefix>/share/attnscope/models.
    const fs::path installed = exe.parent_path().parent_path() / "share" / "attnscope" / "models";
    if (isDir(installed)) return finish(installed);
    // Next to the executable: <ancestor>/shared/models for the executable's folder and each
    // ancestor (covers <repo>/../shared/models for binaries anywhere under the repository).
    for (fs::path d = exe.parent_path(); !d.empty(); d = d.parent_path()) {
        if (isDir(d / "shared" / "models")) return finish(d / "shared" / "models");
        if (d == d.root_path()) break;
    }
    return {};
}

std::string resolveModelPath(const std::string& nameOrPath) {
    std::error_code ec;
    if (nameOrPath.empty() || fs::exists(nameOrPath, ec)) return nameOrPath;
    const fs::path p(nameOrPath);
    if (p.has_parent_path()) return nameOrPath;  // an explicit path: leave the error to the loader
    const std::string dir = findModelsDir();
    if (!dir.empty() && fs::exists(fs::path(dir) / p, ec)) return (fs::path(dir) / p).string();
    return nameOrPath;
}

}  // namespace attnscope
