#include "backend/backend_registry.h"

#include <dlfcn.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <mutex>

#include "backend/cpu/cpu_backend.h"
#include "backend/plugin_abi.h"

#ifndef ATTNSCOPE_PLUGIN_INSTALL_DIR
#define ATTNSCOPE_PLUGIN_INSTALL_DIR "lib/attnscope"  // the build sets it (CMakeLists.txt)
#endif

namespace attnscope {

namespace {

namespace fs = std::filesystem;

constexpr std::string_view kPluginPrefix = "libattnscope_", kPluginSuffix = ".so";

// A plugin library that was found and, once load() has seen it, checked.
struct Plugin {
    std::string name;  // from the file name: libattnscope_NAME.so
    std::string path;  // empty when no file of that name was found
    const AttnscopeBackendPlugin* api = nullptr;
    std::string error;  // why api is unusable (or why the plugin was not found); empty when usable
};

std::string pluginFile(const std::string& name) {
    return std::string(kPluginPrefix) + name + std::string(kPluginSuffix);
}

// A plugin or device family name: letters, digits, '_' and '-'.
bool isPluginName(std::string_view s) {
    const auto allowed = [](unsigned char c) { return std::isalnum(c) || c == '_' || c == '-'; };
    return !s.empty() && std::all_of(s.begin(), s.end(), allowed);
}

// The plugin name a file stands for ("libattnscope_cuda.so" → "cuda"), or "" for other files.
std::string pluginNameOf(std::string_view file) {
    if (file.size() <= kPluginPrefix.size() + kPluginSuffix.size() || !file.starts_with(kPluginPrefix) ||
        !file.ends_with(kPluginSuffix))
        return {};
    const auto name = file.substr(kPluginPrefix.size(), file.size() - kPluginPrefix.size() - kPluginSuffix.size());
    return isPluginName(name) ? std::string(name) : std::string();
}

std::string joined(const std::vector<std::string>& parts, const char* separator) {
    std::string s;
    for (const auto& p : parts) s += (s.empty() ? "" : separator) + p;
    return s;
}

// "CUDA" for "cuda": how messages name a device family.
std::string label(const std::string& name) {
    std::string s = name;
    for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return s;
}

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
        dirs.push_back((fs::path(exe) / ".." / ATTNSCOPE_PLUGIN_INSTALL_DIR).lexically_normal().string());
        // Build tree: the desktop app sits one folder deeper (app/gui) than the CLI (app).
        dirs.push_back((fs::path(exe) / ".." / ".." / "lib" / "attnscope").lexically_normal().string());
    }
    return dirs;
}

std::string lookedIn(const std::vector<std::string>& dirs) {
    const std::string where = dirs.empty() ? std::string("no folder") : joined(dirs, ", ");
    return "looked in " + where + "; set ATTNSCOPE_BACKEND_DIR";
}

// Every libattnscope_*.so of the search folders, in search order, not loaded yet.
std::vector<Plugin> findPlugins(const std::vector<std::string>& dirs) {
    std::vector<Plugin> found;
    for (const auto& dir : dirs) {
        std::vector<Plugin> here;
        std::error_code ec;
        for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
            std::string name = pluginNameOf(it->path().filename().string());
            std::error_code typeEc;
            if (name.empty() || !it->is_regular_file(typeEc)) continue;
            const auto sameName = [&](const Plugin& p) { return p.name == name; };
            if (std::any_of(found.begin(), found.end(), sameName)) continue;
            Plugin& p = here.emplace_back();
            p.name = std::move(name);
            p.path = it->path().string();
        }
        std::sort(here.begin(), here.end(), [](const Plugin& a, const Plugin& b) { return a.name < b.name; });
        found.insert(found.end(), here.begin(), here.end());
    }
    return found;
}

// Why a plugin's description is unusable by this program, or "" when it is usable.
std::string checkDescription(const AttnscopeBackendPlugin* api, const Plugin& p) {
    if (!api || api->structSize < sizeof(AttnscopeBackendPlugin))
        return p.path + " returned an invalid plugin description";
    if (api->apiVersion != ATTNSCOPE_PLUGIN_API_VERSION)
        return p.path + " speaks plugin API version " + std::to_string(api->apiVersion) + ", this program version " +
               std::to_string(ATTNSCOPE_PLUGIN_API_VERSION);
    if (!api->abiTag || attnscopePluginAbiTag() != api->abiTag)
        return p.path + " was built differently from this program (plugin " + (api->abiTag ? api->abiTag : "?") +
               ", program " + attnscopePluginAbiTag() + "); rebuild both together";
    if (!api->name || p.name != api->name)
        return p.path + " names its backend '" + (api->name ? api->name : "") + "', not '" + p.name + "' (rename it " +
               pluginFile(api->name && isPluginName(api->name) ? api->name : "NAME") + ")";
    if (!api->probe || !api->create) return p.path + " returned an invalid plugin description";
    return {};
}

// Loads (once per path, for the life of the process: backends and run states made by the
// plugin must outlive any single use) and checks the plugin.
Plugin load(Plugin p) {
    static std::mutex mutex;
    static std::map<std::string, Plugin> cache;
    std::lock_guard<std::mutex> lock(mutex);
    if (auto it = cache.find(p.path); it != cache.end()) return it->second;

    void* handle = dlopen(p.path.c_str(), RTLD_NOW | RTLD_LOCAL);
    const auto entry =
        handle ? reinterpret_cast<AttnscopeBackendPluginEntry>(dlsym(handle, ATTNSCOPE_PLUGIN_ENTRY)) : nullptr;
    if (!handle) {
        const char* e = dlerror();
        p.error = "cannot load " + p.path + ": " + (e ? e : "unknown error");
    } else if (!entry) {
        p.error = p.path + " has no entry point " + ATTNSCOPE_PLUGIN_ENTRY;
    } else if (const AttnscopeBackendPlugin* api = entry(); (p.error = checkDescription(api, p)).empty()) {
        p.api = api;
    }
    // A handle that failed its checks stays loaded too: unloading code that may have started
    // threads (a GPU driver's) is not safe.
    cache[p.path] = p;
    return p;
}

// Plugin `name` from the search folders, loaded and checked; without a path when not found.
Plugin findPlugin(const std::string& name, const std::vector<std::string>& dirs) {
    for (auto& p : findPlugins(dirs))
        if (p.name == name) return load(std::move(p));
    Plugin missing;
    missing.name = name;
    missing.error = "backend plugin " + pluginFile(name) + " not found (" + lookedIn(dirs) + ")";
    return missing;
}

// Number of usable devices, or 0 with the reason.
int usableDevices(const Plugin& p, std::string& reason) {
    if (!p.api) {
        reason = p.error;
        return 0;
    }
    char buf[512] = {};
    const int n = p.api->probe(buf, sizeof buf);
    if (n <= 0) reason = buf[0] ? buf : "no usable device";
    return n;
}

Result<std::unique_ptr<Backend>> createOn(const Plugin& p, int device, int threads, const BackendOptions& o) {
    std::string reason;
    const int n = usableDevices(p, reason);
    if (n <= 0) return makeError(ErrorKind::Backend, label(p.name) + " unavailable: " + reason);
    if (device < 0 || device >= n)
        return makeError(ErrorKind::InvalidInput, label(p.name) + " device " + std::to_string(device) +
                                                      " does not exist (" + std::to_string(n) + " found)");
    const auto options = o.pluginOptions.find(p.name);
    const char* text = options == o.pluginOptions.end() ? "" : options->second.c_str();
    char buf[1024] = {};
    void* b = p.api->create(device, threads, text, buf, sizeof buf);
    if (!b)
        return makeError(ErrorKind::Backend,
                         label(p.name) + " backend failed to start: " + (buf[0] ? buf : "unknown reason"));
    return std::unique_ptr<Backend>(static_cast<Backend*>(b));
}

// Device 0 of the first plugin that starts, else the CPU; one log line names why each plugin
// that was tried was not used.
using Log = std::function<void(const std::string&)>;

Result<std::unique_ptr<Backend>> createAuto(const std::vector<std::string>& dirs, int threads, const Log& say,
                                            const BackendOptions& o) {
    std::vector<std::string> notUsed;
    for (auto& p : findPlugins(dirs)) {
        auto b = createOn(load(std::move(p)), 0, threads, o);
        if (b) {
            if (!notUsed.empty()) say(joined(notUsed, "; ") + "; using " + (*b)->name());
            return b;
        }
        notUsed.push_back(b.error().message);
    }
    if (notUsed.empty()) notUsed.push_back("no backend plugin " + pluginFile("*") + " found (" + lookedIn(dirs) + ")");
    say(joined(notUsed, "; ") + "; using the CPU");
    return makeCpuBackend(threads);
}

// "NAME" → {NAME, 0}, "NAME:N" → {NAME, N}.
struct DeviceChoice {
    std::string plugin;
    int index = 0;
};

Result<DeviceChoice> parseDevice(const std::string& device) {
    const auto colon = device.find(':');
    DeviceChoice d{device.substr(0, colon), 0};
    bool ok = isPluginName(d.plugin);
    if (colon != std::string::npos) {
        const std::string n = device.substr(colon + 1);
        char* end = nullptr;
        const long index = std::strtol(n.c_str(), &end, 10);
        ok = ok && !n.empty() && std::isdigit(static_cast<unsigned char>(n[0])) && !*end && index <= 1024;
        d.index = static_cast<int>(std::min(index, 1024L));
    }
    if (!ok)
        return makeError(ErrorKind::InvalidInput,
                         "unknown device '" + device + "' (use auto, cpu, or a backend plugin's NAME or NAME:N)");
    return d;
}

}  // namespace

Result<std::unique_ptr<Backend>> createBackend(const std::string& device, int threads,
                                               const std::function<void(const std::string&)>& log,
                                               const BackendOptions& options) {
    auto say = [&](const std::string& s) {
        if (log) log(s);
    };
    if (device == "cpu") return makeCpuBackend(threads);
    const auto dirs = searchDirs(options);
    if (device == "auto" || device.empty()) return createAuto(dirs, threads, say, options);
    ATTN_ASSIGN(choice, parseDevice(device));
    const Plugin p = findPlugin(choice.plugin, dirs);
    if (p.path.empty()) return makeError(ErrorKind::InvalidInput, "unknown device '" + device + "': " + p.error);
    return createOn(p, choice.index, threads, options);
}

std::vector<std::string> availableDevices(const BackendOptions& options) {
    std::vector<std::string> out = {"cpu"};
    for (auto& found : findPlugins(searchDirs(options))) {
        const Plugin p = load(std::move(found));
        std::string reason;
        const int n = usableDevices(p, reason);
        if (n > 0) out.push_back(p.name);
        for (int i = 0; i < n; ++i) out.push_back(p.name + ":" + std::to_string(i));
    }
    return out;
}

std::vector<std::string> backendPluginNames(const BackendOptions& options) {
    std::vector<std::string> names;
    for (const auto& p : findPlugins(searchDirs(options))) names.push_back(p.name);
    return names;
}

std::string backendUnavailableReason(const std::string& name, const BackendOptions& options) {
    std::string reason;
    return usableDevices(findPlugin(name, searchDirs(options)), reason) > 0 ? std::string() : reason;
}

}  // namespace attnscope
