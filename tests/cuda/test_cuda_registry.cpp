// Backend choice and fallback (backend_registry.h), on any machine: "auto" takes the CUDA
// plugin only when it loads and finds a GPU, else the CPU with a log line saying why; "cuda"
// is an error naming the reason when CUDA is unusable; a missing or broken plugin never stops
// the program.
#include <gtest/gtest.h>

#include <dlfcn.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "backend/backend_registry.h"
#include "backend/plugin_abi.h"

using namespace attnscope;
namespace fs = std::filesystem;

namespace {

struct Log {
    std::vector<std::string> lines;
    std::function<void(const std::string&)> fn() {
        return [this](const std::string& s) { lines.push_back(s); };
    }
    bool contains(const std::string& what) const {
        for (const auto& l : lines)
            if (l.find(what) != std::string::npos) return true;
        return false;
    }
    std::string all() const {
        std::string s;
        for (const auto& l : lines) s += l + "\n";
        return s;
    }
};

bool startsWith(const std::string& s, const std::string& p) { return s.rfind(p, 0) == 0; }

std::string tempDir(const std::string& tag) {
    fs::path p = fs::temp_directory_path() / ("attnscope-registry-" + tag + "-" + std::to_string(::getpid()));
    fs::remove_all(p);
    fs::create_directories(p);
    return p.string();
}

}  // namespace

TEST(BackendRegistry, CpuOnRequest) {
    Log log;
    auto b = createBackend("cpu", 1, log.fn());
    ASSERT_TRUE(b.ok()) << b.error().describe();
    EXPECT_TRUE(startsWith((*b)->name(), "cpu")) << (*b)->name();
    EXPECT_TRUE(log.lines.empty()) << log.all();
}

TEST(BackendRegistry, UnknownDeviceIsAnInputError) {
    for (const char* d : {"gpu", "cuda:", "cuda:x", "tpu:0"}) {
        auto b = createBackend(d, 1, {});
        ASSERT_FALSE(b.ok()) << d;
        EXPECT_EQ(b.error().kind, ErrorKind::InvalidInput) << d;
    }
}

// On this machine: CUDA if usable, else the CPU with a log line naming why.
TEST(BackendRegistry, AutoFallsBackToCpuWithTheReason) {
    const std::string reason = cudaUnavailableReason();
    Log log;
    auto b = createBackend("auto", 1, log.fn());
    ASSERT_TRUE(b.ok()) << b.error().describe();
    if (reason.empty()) {
        EXPECT_TRUE(startsWith((*b)->name(), "cuda")) << "CUDA is usable here but auto chose " << (*b)->name();
        return;
    }
    EXPECT_TRUE(startsWith((*b)->name(), "cpu")) << (*b)->name();
    EXPECT_TRUE(log.contains("CUDA unavailable: " + reason)) << "log was:\n" << log.all() << "reason: " << reason;
    EXPECT_TRUE(log.contains("using the CPU")) << log.all();
    std::cout << "[ info     ] auto → " << (*b)->name() << "; log: " << log.all();
}

TEST(BackendRegistry, CudaWithoutGpuIsAClearError) {
    const std::string reason = cudaUnavailableReason();
    auto b = createBackend("cuda", 1, {});
    if (reason.empty()) {
        ASSERT_TRUE(b.ok()) << b.error().describe();
        EXPECT_TRUE(startsWith((*b)->name(), "cuda"));
        return;
    }
    ASSERT_FALSE(b.ok());
    EXPECT_EQ(b.error().kind, ErrorKind::Backend);
    EXPECT_EQ(b.error().message, "CUDA unavailable: " + reason);
    auto b1 = createBackend("cuda:1", 1, {});
    EXPECT_FALSE(b1.ok());
}

TEST(BackendRegistry, AvailableDevicesListsCpuFirst) {
    const auto d = availableDevices();
    ASSERT_FALSE(d.empty());
    EXPECT_EQ(d.front(), "cpu");
    const bool cuda = std::find(d.begin(), d.end(), "cuda") != d.end();
    EXPECT_EQ(cuda, cudaUnavailableReason().empty());
}

TEST(BackendRegistry, MissingPluginFolder) {
    BackendOptions o;
    o.pluginDir = tempDir("empty");
    Log log;
    auto b = createBackend("auto", 1, log.fn(), o);
    ASSERT_TRUE(b.ok());
    EXPECT_TRUE(startsWith((*b)->name(), "cpu"));
    EXPECT_TRUE(log.contains("CUDA unavailable: backend plugin libattnscope_cuda.so not found")) << log.all();
    auto c = createBackend("cuda", 1, {}, o);
    ASSERT_FALSE(c.ok());
    EXPECT_NE(c.error().message.find("not found"), std::string::npos) << c.error().message;
}

TEST(BackendRegistry, BrokenPluginFileIsALogLine) {
    BackendOptions o;
    o.pluginDir = tempDir("broken");
    std::ofstream(fs::path(o.pluginDir) / "libattnscope_cuda.so") << "not a shared library";
    Log log;
    auto b = createBackend("auto", 1, log.fn(), o);
    ASSERT_TRUE(b.ok());
    EXPECT_TRUE(startsWith((*b)->name(), "cpu"));
    EXPECT_TRUE(log.contains("CUDA unavailable: cannot load")) << log.all();
}

#ifdef ATTNSCOPE_CUDA_PLUGIN_BUILT
// The plugin built with this tree: loadable on any machine (it links the CUDA runtime
// statically and cuBLAS dynamically), with the right entry point, API version and ABI tag, and a
// probe that answers without aborting.
TEST(BackendRegistry, BuiltPluginLoadsAndProbes) {
    const char* dir = std::getenv("ATTNSCOPE_BACKEND_DIR");
    ASSERT_TRUE(dir && *dir) << "CTest sets ATTNSCOPE_BACKEND_DIR to the plugin folder";
    const std::string path = std::string(dir) + "/libattnscope_cuda.so";
    ASSERT_TRUE(fs::exists(path)) << path;
    void* h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!h) GTEST_SKIP() << "the plugin's libraries are missing here: " << dlerror();
    auto entry = reinterpret_cast<AttnscopeBackendPluginEntry>(dlsym(h, ATTNSCOPE_PLUGIN_ENTRY));
    ASSERT_NE(entry, nullptr);
    const AttnscopeBackendPlugin* api = entry();
    ASSERT_NE(api, nullptr);
    EXPECT_EQ(api->apiVersion, ATTNSCOPE_PLUGIN_API_VERSION);
    EXPECT_EQ(std::string(api->name), "cuda");
    EXPECT_EQ(std::string(api->abiTag), attnscopePluginAbiTag());
    char reason[512] = {};
    const int n = api->probe(reason, sizeof reason);
    if (n <= 0) {
        EXPECT_GT(std::string(reason).size(), 0u);
        EXPECT_EQ(cudaUnavailableReason(), std::string(reason));
        std::cout << "[ info     ] probe: " << reason << "\n";
        char why[512] = {};
        EXPECT_EQ(api->create(0, 1, "", why, sizeof why), nullptr) << "create must fail cleanly without a GPU";
    } else {
        EXPECT_TRUE(cudaUnavailableReason().empty());
    }
    // Bad options are reported, not fatal.
    char why[512] = {};
    EXPECT_EQ(api->create(0, 1, "dtype=f8", why, sizeof why), nullptr);
    EXPECT_NE(std::string(why).find("f8"), std::string::npos) << why;
}
#endif
