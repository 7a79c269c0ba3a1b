#include "backend/backend_registry.h"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>

#include "backend/cpu/cpu_backend.h"
#include "backend/plugin_abi.h"

namespace attnscope {

namespace {

namespace fs = std::filesystem;

constexpr const char* kCudaPluginFile = "libattnscope_cuda.so";

// A plugin library that was found, loaded and checked, or why not.
struct LoadedPlugin {
    const AttnscopeBackendPlugin* api = nullptr;
    std::string path;
    std::string error;  // empty when api is usable
};

std::string executableDir() {
    std::error_code ec;
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    if (ec) return {};
    return exe.parent_path().string();
}

std::vector<std::string> searchDirs(const BackendOptions& o) {
    if (!o.pluginDir.empty()) return {o.pluginDir};
    std::vector<std::string> dirs;
    if (const char* env = std::getenv("ATTNSCOPE_BACKEND_DIR"); env && *env) dirs.emplace_back(env);
    const std::string exe = executableDir();
    if (!exe.empty()) {
        dirs.push_back(exe);
        dirs.push_back((fs::path(exe) / ".." / "lib" / "attnscope").lexically_normal().string());
        // Build tree: the desktop app sits one folder deeper (app/gui) than the CLI (app).
        dirs.push_back((fs::path(exe) / ".." / ".." / "lib" / "attnscope").lexically_normal().string());
    }
    return dirs;
}

// Loads (once per path, for the life of the process: backends and run states made by the
// plugin must outlive any single use) and checks the plugin.
LoadedPlugin loadPlugin(const std::string& path) {
    static std::mutex mutex;
    static std::map<std::string, LoadedPlugin> cache;
    std::lock_guard<std::mutex> lock(mutex);
    if (auto it = cache.find(path); it != cache.end()) return it->second;

    LoadedPlugin p;
    p.path = path;
    void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        const char* e = dlerror();
        p.error = "cannot load " + path + ": " + (e ? e : "unknown error");
    } else if (auto entry = reinterpret_cast<AttnscopeBackendPluginEntry>(dlsym(handle, ATTNSCOPE_PLUGIN_ENTRY)); !entry) {
        p.error = path + " has no entry point " + ATTNSCOPE_PLUGIN_ENTRY;
    } else if (const AttnscopeBackendPlugin* api = entry(); !api || api->structSize < sizeof(AttnscopeBackendPlugin)) {
        p.error = path + " returned an invalid plugin description";
    } else if (api->apiVersion != ATTNSCOPE_PLUGIN_API_VERSION) {
        p.error = path + " speaks plugin API version " + std::to_string(api->apiVersion) + ", this program version " +
                  std::to_string(ATTNSCOPE_PLUGIN_API_VERSION);
    } else if (!api->abiTag || attnscopePluginAbiTag() != api->abiTag) {
        p.error = path + " was built differently from this program (plugin " + (api->abiTag ? api->abiTag : "?") +
                  ", program " + attnscopePluginAbiTag() + "); rebuild both together";
    } else {
        p.api = api;
    }
    // A handle that failed its checks stays loaded too: unloading code that may have started
    // threads (CUDA) is not safe.
    cache[path] = p;
    return p;
}

// The CUDA plugin from the search path, or the reason it is unusable.
LoadedPlugin findCudaPlugin(const BackendOptions& o) {
    const auto dirs = searchDirs(o);
    for (const auto& dir : dirs) {
        const fs::path candidate = fs::path(dir) / kCudaPluginFile;
        std::error_code ec;
        if (fs::is_regular_file(candidate, ec)) return loadPlugin(candidate.string());
    }
    LoadedPlugin p;
    std::string where;
    for (const auto& dir : dirs) where += (where.empty() ? "" : ", ") + dir;
    p.error = std::string("backend plugin ") + kCudaPluginFile + " not found (looked in " +
              (where.empty() ? "no folder" : where) + "; set ATTNSCOPE_BACKEND_DIR)";
    return p;
}

// Number of usable GPUs, or 0 with the reason.
int probe(const LoadedPlugin& p, std::string& reason) {
    if (!p.api) {
        reason = p.error;
        return 0;
    }
    char buf[512] = {};
    const int n = p.api->probe(buf, sizeof buf);
    if (n <= 0) reason = buf[0] ? buf : "no usable device";
    return n;
}

Result<std::unique_ptr<Backend>> createCuda(const LoadedPlugin& p, int device, int threads, const BackendOptions& o) {
    std::string reason;
    const int n = probe(p, reason);
    if (n <= 0) return makeError(ErrorKind::Backend, "CUDA unavailable: " + reason);
    if (device < 0 || device >= n)
        return makeError(ErrorKind::InvalidInput, "CUDA device " + std::to_string(device) + " does not exist (" +
                                                      std::to_string(n) + " found)");
    char buf[1024] = {};
    void* b = p.api->create(device, threads, o.cudaOptions.c_str(), buf, sizeof buf);
    if (!b) return makeError(ErrorKind::Backend, std::string("CUDA backend failed to start: ") + (buf[0] ? buf : "unknown reason"));
    return std::unique_ptr<Backend>(static_cast<Backend*>(b));
}

// "cuda" → 0, "cuda:3" → 3, anything else → -1.
int cudaDeviceIndex(const std::string& device) {
    if (device == "cuda") return 0;
    if (device.rfind("cuda:", 0) != 0 || device.size() == 5) return -1;
    char* end = nullptr;
    const long n = std::strtol(device.c_str() + 5, &end, 10);
    if (!end || *end || n < 0 || n > 1024) return -1;
    return static_cast<int>(n);
}

}  // namespace

Result<std::unique_ptr<Backend>> createBackend(const std::string& device, int threads,
                                               const std::function<void(const std::string&)>& log) {
    return createBackend(device, threads, log, BackendOptions{});
}

Result<std::unique_ptr<Backend>> createBackend(const std::string& device, int threads,
                                               const std::function<void(const std::string&)>& log,
                                               const BackendOptions& options) {
    auto say = [&](const std::string& s) {
        if (log) log(s);
    };
    if (device == "cpu") return makeCpuBackend(threads);
    if (device == "auto" || device.empty()) {
        auto cuda = createCuda(findCudaPlugin(options), 0, threads, options);
        if (cuda) return cuda;
        say(cuda.error().message + "; using the CPU");
        return makeCpuBackend(threads);
    }
    const int index = cudaDeviceIndex(device);
    if (index < 0)
        return makeError(ErrorKind::InvalidInput, "unknown device '" + device + "' (use auto, cpu, cuda or cuda:N)");
    return createCuda(findCudaPlugin(options), index, threads, options);
}

std::vector<std::string> availableDevices() {
    std::vector<std::string> out = {"cpu"};
    std::string reason;
    const int n = probe(findCudaPlugin(BackendOptions{}), reason);
    if (n > 0) out.emplace_back("cuda");
    for (int i = 0; i < n; ++i) out.push_back("cuda:" + std::to_string(i));
    return out;
}

std::string cudaUnavailableReason() {
    std::string reason;
    return probe(findCudaPlugin(BackendOptions{}), reason) > 0 ? std::string() : reason;
}

}  // namespace attnscope
