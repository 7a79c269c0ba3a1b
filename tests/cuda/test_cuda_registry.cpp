// Backend choice and fallback (backend_registry.h), on any machine: "auto" takes a plugin (the
// CUDA one here) only when it loads and finds a device, else the CPU with a log line saying why;
// "cuda" is an error naming the reason when CUDA is unusable; a missing, broken, foreign or
// differently built plugin never stops the program. The generic parts (discovery, dispatch on
// the plugin's name, refusal, the session's fallback) run against the stand-in plugins of
// fake_plugin.cpp, so they are tested without a GPU.
#include <gtest/gtest.h>

#include <dlfcn.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "backend/backend_registry.h"
#include "backend/plugin_abi.h"
#include "session/session.h"
#include "common/model_writers.h"

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

// A fresh folder named `tag`; all of them lie in one folder of this process, removed at exit.
std::string tempDir(const std::string& tag) {
    static const test::TempDir root("registry");
    fs::path p = fs::path(root.path()) / tag;
    fs::remove_all(p);
    fs::create_directories(p);
    return p.string();
}

// A fresh plugin folder holding the stand-in plugins built as fake_plugins/VARIANT/FILE, each
// given as {VARIANT, FILE} and copied under its own name or `as`.
struct FakeFile {
    std::string variant, file, as = {};
};

std::string fakePluginDir(const std::string& tag, const std::vector<FakeFile>& files) {
    const std::string dir = tempDir(tag);
    for (const auto& f : files) {
        const fs::path from = fs::path(ATTNSCOPE_FAKE_PLUGINS) / f.variant / f.file;
        fs::copy_file(from, fs::path(dir) / (f.as.empty() ? f.file : f.as), fs::copy_options::overwrite_existing);
    }
    return dir;
}

BackendOptions inFolder(const std::string& dir) {
    BackendOptions o;
    o.pluginDir = dir;
    return o;
}

// Sets an environment variable for the life of this object.
class ScopedEnv {
public:
    ScopedEnv(const char* name, const std::string& value) : name_(name) {
        if (const char* old = std::getenv(name)) old_ = old;
        setenv(name, value.c_str(), 1);
    }
    ~ScopedEnv() {
        if (old_) setenv(name_, old_->c_str(), 1);
        else unsetenv(name_);
    }

private:
    const char* name_;
    std::optional<std::string> old_;
};

bool cudaPluginFound() {
    const auto names = backendPluginNames();
    return std::find(names.begin(), names.end(), "cuda") != names.end();
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
    const std::string reason = backendUnavailableReason("cuda");
    Log log;
    auto b = createBackend("auto", 1, log.fn());
    ASSERT_TRUE(b.ok()) << b.error().describe();
    if (reason.empty()) {
        EXPECT_TRUE(startsWith((*b)->name(), "cuda")) << "CUDA is usable here but auto chose " << (*b)->name();
        return;
    }
    EXPECT_TRUE(startsWith((*b)->name(), "cpu")) << (*b)->name();
    if (cudaPluginFound())
        EXPECT_TRUE(log.contains("CUDA unavailable: " + reason)) << "log was:\n" << log.all() << "reason: " << reason;
    else  // not built here: no plugin at all
        EXPECT_TRUE(log.contains("no backend plugin libattnscope_*.so found")) << log.all();
    EXPECT_TRUE(log.contains("using the CPU")) << log.all();
    std::cout << "[ info     ] auto → " << (*b)->name() << "; log: " << log.all();
}

TEST(BackendRegistry, CudaWithoutGpuIsAClearError) {
    const std::string reason = backendUnavailableReason("cuda");
    auto b = createBackend("cuda", 1, {});
    if (reason.empty()) {
        ASSERT_TRUE(b.ok()) << b.error().describe();
        EXPECT_TRUE(startsWith((*b)->name(), "cuda"));
        return;
    }
    ASSERT_FALSE(b.ok());
    if (!cudaPluginFound()) {  // not built here: "cuda" names no plugin
        EXPECT_EQ(b.error().kind, ErrorKind::InvalidInput);
        EXPECT_EQ(b.error().message, "unknown device 'cuda': " + reason);
        return;
    }
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
    EXPECT_EQ(cuda, backendUnavailableReason("cuda").empty());
}

TEST(BackendRegistry, MissingPluginFolder) {
    BackendOptions o;
    o.pluginDir = tempDir("empty");
    Log log;
    auto b = createBackend("auto", 1, log.fn(), o);
    ASSERT_TRUE(b.ok());
    EXPECT_TRUE(startsWith((*b)->name(), "cpu"));
    EXPECT_TRUE(log.contains("no backend plugin libattnscope_*.so found (looked in " + o.pluginDir)) << log.all();
    auto c = createBackend("cuda", 1, {}, o);
    ASSERT_FALSE(c.ok());
    EXPECT_EQ(c.error().kind, ErrorKind::InvalidInput);
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

// ---- the generic registry, against the stand-in plugins -----------------------------------------

TEST(BackendRegistry, AutoSkipsAnUnusablePluginNamingItAndTheReason) {
    const auto o = inFolder(fakePluginDir("dead", {{"dead", "libattnscope_dead.so"}}));
    Log log;
    auto b = createBackend("auto", 1, log.fn(), o);
    ASSERT_TRUE(b.ok()) << b.error().describe();
    EXPECT_TRUE(startsWith((*b)->name(), "cpu")) << (*b)->name();
    ASSERT_EQ(log.lines.size(), 1u) << log.all();
    EXPECT_EQ(log.lines[0], "DEAD unavailable: no dead device here; using the CPU");
    EXPECT_EQ(backendUnavailableReason("dead", o), "no dead device here");
    EXPECT_EQ(availableDevices(o), std::vector<std::string>{"cpu"});
    auto d = createBackend("dead", 1, {}, o);
    ASSERT_FALSE(d.ok());
    EXPECT_EQ(d.error().kind, ErrorKind::Backend);
    EXPECT_EQ(d.error().message, "DEAD unavailable: no dead device here");
}

TEST(BackendRegistry, AutoTakesTheFirstUsablePluginAndSaysWhyEarlierOnesWereNot) {
    const auto o =
        inFolder(fakePluginDir("dead-fake", {{"fake", "libattnscope_fake.so"}, {"dead", "libattnscope_dead.so"}}));
    EXPECT_EQ(backendPluginNames(o), (std::vector<std::string>{"dead", "fake"}));
    Log log;
    auto b = createBackend("auto", 1, log.fn(), o);
    ASSERT_TRUE(b.ok()) << b.error().describe();
    EXPECT_EQ((*b)->name(), "fake:0");
    ASSERT_EQ(log.lines.size(), 1u) << log.all();
    EXPECT_EQ(log.lines[0], "DEAD unavailable: no dead device here; using fake:0");
}

TEST(BackendRegistry, DeviceNamesDispatchOnThePluginName) {
    auto o = inFolder(fakePluginDir("fake", {{"fake", "libattnscope_fake.so"}}));
    EXPECT_EQ(availableDevices(o), (std::vector<std::string>{"cpu", "fake", "fake:0", "fake:1"}));
    EXPECT_EQ(backendUnavailableReason("fake", o), "");
    for (const auto& [device, name] : std::vector<std::pair<std::string, std::string>>{
             {"fake", "fake:0"}, {"fake:0", "fake:0"}, {"fake:1", "fake:1"}, {"auto", "fake:0"}}) {
        Log log;
        auto b = createBackend(device, 1, log.fn(), o);
        ASSERT_TRUE(b.ok()) << device << ": " << b.error().describe();
        EXPECT_EQ((*b)->name(), name) << device;
        EXPECT_TRUE(log.lines.empty()) << device << ": " << log.all();
    }
    auto two = createBackend("fake:2", 1, {}, o);
    ASSERT_FALSE(two.ok());
    EXPECT_EQ(two.error().kind, ErrorKind::InvalidInput);
    EXPECT_EQ(two.error().message, "FAKE device 2 does not exist (2 found)");
    // Options go to the plugin they are addressed to, and to no other.
    o.pluginOptions = {{"fake", "color=blue"}, {"other", "size=1"}};
    auto opt = createBackend("fake:1", 1, {}, o);
    ASSERT_TRUE(opt.ok()) << opt.error().describe();
    EXPECT_EQ((*opt)->name(), "fake:1 (color=blue)");
    auto none = createBackend("nosuch", 1, {}, o);
    ASSERT_FALSE(none.ok());
    EXPECT_EQ(none.error().kind, ErrorKind::InvalidInput);
    EXPECT_NE(none.error().message.find("libattnscope_nosuch.so not found"), std::string::npos) << none.error().message;
}

TEST(BackendRegistry, ForeignLibraryIsReportedNotUsed) {
    const auto o = inFolder(fakePluginDir("foreign", {{"foreign", "libattnscope_foreign.so"}}));
    Log log;
    auto b = createBackend("auto", 1, log.fn(), o);
    ASSERT_TRUE(b.ok()) << b.error().describe();
    EXPECT_TRUE(startsWith((*b)->name(), "cpu"));
    EXPECT_TRUE(log.contains("FOREIGN unavailable: ")) << log.all();
    EXPECT_TRUE(log.contains("has no entry point attnscope_backend_plugin; using the CPU")) << log.all();
    auto f = createBackend("foreign", 1, {}, o);
    ASSERT_FALSE(f.ok());
    EXPECT_EQ(f.error().kind, ErrorKind::Backend);
    EXPECT_NE(f.error().message.find("has no entry point"), std::string::npos) << f.error().message;
}

TEST(BackendRegistry, PluginBuiltDifferentlyIsRefused) {
    const auto o = inFolder(fakePluginDir("badabi", {{"badabi", "libattnscope_fake.so"}}));
    auto b = createBackend("fake", 1, {}, o);
    ASSERT_FALSE(b.ok());
    EXPECT_EQ(b.error().kind, ErrorKind::Backend);
    EXPECT_NE(b.error().message.find("was built differently from this program (plugin other-build"), std::string::npos)
        << b.error().message;
    Log log;
    auto a = createBackend("auto", 1, log.fn(), o);
    ASSERT_TRUE(a.ok());
    EXPECT_TRUE(startsWith((*a)->name(), "cpu"));
    EXPECT_TRUE(log.contains("FAKE unavailable: ")) << log.all();
}

TEST(BackendRegistry, OtherPluginApiVersionIsRefused) {
    const auto o = inFolder(fakePluginDir("newapi", {{"newapi", "libattnscope_fake.so"}}));
    const std::string reason = backendUnavailableReason("fake", o);
    EXPECT_NE(reason.find("speaks plugin API version 99, this program version"), std::string::npos) << reason;
    EXPECT_FALSE(createBackend("fake", 1, {}, o).ok());
}

TEST(BackendRegistry, FileNameMustMatchThePluginName) {
    const auto o = inFolder(fakePluginDir("renamed", {{"fake", "libattnscope_fake.so", "libattnscope_other.so"}}));
    auto b = createBackend("other", 1, {}, o);
    ASSERT_FALSE(b.ok());
    EXPECT_NE(b.error().message.find("names its backend 'fake', not 'other' (rename it libattnscope_fake.so)"),
              std::string::npos)
        << b.error().message;
    auto f = createBackend("fake", 1, {}, o);
    ASSERT_FALSE(f.ok());
    EXPECT_EQ(f.error().kind, ErrorKind::InvalidInput);
}

namespace {

ContextSpec smallIdContext() {
    ContextSpec spec;
    spec.chunkIds = std::vector<std::vector<std::int32_t>>{{10, 11, 12, 13}, {20, 21, 22}};
    spec.queryIds = std::vector<std::int32_t>{30, 31, 32};
    return spec;
}

}  // namespace

// Under "auto", a run that fails on a plugin's device (the stand-in fails every run, as a GPU
// out of memory would) continues on the CPU, through analyze() and run() alike, with a notice.
TEST(BackendRegistry, SessionOnAutoFallsBackToTheCpuWhenAPluginRunFails) {
    ScopedEnv env("ATTNSCOPE_BACKEND_DIR", fakePluginDir("session", {{"fake", "libattnscope_fake.so"}}));
    for (const bool throughAnalyze : {false, true}) {
        SessionOptions so;
        so.device = "auto";
        Log log;
        auto s = Session::open("stories260K.gguf", so, log.fn());
        ASSERT_TRUE(s.ok()) << s.error().describe();
        EXPECT_EQ((*s)->backendName(), "fake:0");
        auto plan = (*s)->plan(smallIdContext(), EncodingOptions{});
        ASSERT_TRUE(plan.ok()) << plan.error().describe();
        RunRequest req;
        req.plan = &*plan;
        const std::string backend =
            throughAnalyze ? (*s)->analyze(*plan).value()->stats.backend : (*s)->run(req).value().stats.backend;
        EXPECT_TRUE(startsWith(backend, "cpu")) << backend;
        EXPECT_TRUE(startsWith((*s)->backendName(), "cpu")) << (*s)->backendName();
        EXPECT_TRUE(log.contains("backend fake:0 failed (fake:0 ran out of device memory); switching to the CPU"))
            << log.all();
    }
}

// A device asked for by name never falls back: the failed run is the error, and the session
// stays on that device.
TEST(BackendRegistry, SessionOnANamedDeviceReturnsTheRunError) {
    ScopedEnv env("ATTNSCOPE_BACKEND_DIR", fakePluginDir("named", {{"fake", "libattnscope_fake.so"}}));
    for (const bool throughAnalyze : {false, true}) {
        SessionOptions so;
        so.device = "fake";
        Log log;
        auto s = Session::open("stories260K.gguf", so, log.fn());
        ASSERT_TRUE(s.ok()) << s.error().describe();
        auto plan = (*s)->plan(smallIdContext(), EncodingOptions{});
        ASSERT_TRUE(plan.ok()) << plan.error().describe();
        RunRequest req;
        req.plan = &*plan;
        const Error e = throughAnalyze ? (*s)->analyze(*plan).error() : (*s)->run(req).error();
        EXPECT_EQ(e.kind, ErrorKind::Backend);
        EXPECT_EQ(e.message, "fake:0 ran out of device memory");
        EXPECT_EQ((*s)->backendName(), "fake:0");
        EXPECT_FALSE(log.contains("CPU")) << log.all();
    }
}

// Weights that fail to load: an error for a named device, the CPU with a notice under "auto".
TEST(BackendRegistry, FailedWeightUploadFallsBackOnlyUnderAuto) {
    ScopedEnv env("ATTNSCOPE_BACKEND_DIR", fakePluginDir("upload", {{"loadfail", "libattnscope_fake.so"}}));
    SessionOptions named;
    named.device = "fake";
    auto s = Session::open("stories260K.gguf", named);
    ASSERT_FALSE(s.ok()) << "a failed upload to a named device fell back to " << (*s)->backendName();
    EXPECT_EQ(s.error().kind, ErrorKind::Backend);
    EXPECT_EQ(s.error().message, "fake:0 could not upload the weights (out of device memory)");

    SessionOptions automatic;
    Log log;
    auto a = Session::open("stories260K.gguf", automatic, log.fn());
    ASSERT_TRUE(a.ok()) << a.error().describe();
    EXPECT_TRUE(startsWith((*a)->backendName(), "cpu")) << (*a)->backendName();
    EXPECT_TRUE(
        log.contains("backend fake:0 failed (fake:0 could not upload the weights (out of device memory)); "
                     "using the CPU"))
        << log.all();
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
        EXPECT_EQ(backendUnavailableReason("cuda"), std::string(reason));
        std::cout << "[ info     ] probe: " << reason << "\n";
        char why[512] = {};
        EXPECT_EQ(api->create(0, 1, "", why, sizeof why), nullptr) << "create must fail cleanly without a GPU";
    } else {
        EXPECT_TRUE(backendUnavailableReason("cuda").empty());
    }
    // Bad options are reported, not fatal.
    char why[512] = {};
    EXPECT_EQ(api->create(0, 1, "dtype=f8", why, sizeof why), nullptr);
    EXPECT_NE(std::string(why).find("f8"), std::string::npos) << why;
}
#endif
