// A stand-in backend plugin for the registry tests (test_cuda_registry.cpp), so that plugin
// discovery, naming, refusal and fallback are tested on machines without a GPU. One source,
// several libraries (tests/cuda/CMakeLists.txt), chosen by compile definitions:
//   FAKE_NAME="fake"      the plugin's name (its file is libattnscope_fake.so)
//   FAKE_DEVICES=N        what probe() answers; 0: no device, with the reason "no NAME device here"
//   FAKE_ABI_TAG="..."    an ABI tag other than this build's (a plugin built differently)
//   FAKE_API_VERSION=N    a plugin API version other than this program's
//   FAKE_NO_ENTRY         no entry symbol at all (a foreign library that happens to match the name)
//   FAKE_LOAD_FAILS       loading the weights fails with a Backend error (a failed upload)
// The backend it creates loads any weights (unless FAKE_LOAD_FAILS) and fails every run with a
// Backend error (as a GPU out of memory would), so the session's fallback to the CPU under
// "auto", and its refusal to fall back for a device asked for by name, can be tested too.
#include <cstdio>
#include <string>

#include "backend/plugin_abi.h"

#ifndef FAKE_NO_ENTRY

#ifndef FAKE_DEVICES
#define FAKE_DEVICES 1
#endif

namespace {

using namespace attnscope;

Error backendError(const std::string& message) {
    Error e;
    e.kind = ErrorKind::Backend;
    e.message = message;
    return e;
}

class FakeBackend final : public Backend {
public:
    explicit FakeBackend(std::string name) : name_(std::move(name)) {}
    std::string name() const override { return name_; }
    Result<void> loadWeights(std::shared_ptr<const LoadedModel>) override {
#ifdef FAKE_LOAD_FAILS
        return backendError(name_ + " could not upload the weights (out of device memory)");
#else
        return {};
#endif
    }
    Result<RunOutput> run(const RunRequest&, std::stop_token, Progress*) override {
        return backendError(name_ + " ran out of device memory");
    }
    Result<AttentionTile> attentionTile(const RunState&, const AttentionTileRequest&, std::stop_token) override {
        return backendError(name_ + " keeps no state");
    }

private:
    std::string name_;
};

void writeReason(char* out, size_t size, const std::string& text) {
    if (out && size > 0) std::snprintf(out, size, "%s", text.c_str());
}

int probe(char* reason, size_t reasonSize) {
    if (FAKE_DEVICES <= 0) writeReason(reason, reasonSize, std::string("no ") + FAKE_NAME + " device here");
    return FAKE_DEVICES;
}

// The backend is named "NAME:DEVICE", followed by " (OPTIONS)" when options were given.
void* create(int device, int, const char* options, char* reason, size_t reasonSize) {
    if (FAKE_DEVICES <= 0) {
        writeReason(reason, reasonSize, std::string("no ") + FAKE_NAME + " device here");
        return nullptr;
    }
    std::string name = std::string(FAKE_NAME) + ":" + std::to_string(device);
    if (options && *options) name += std::string(" (") + options + ")";
    return static_cast<Backend*>(new FakeBackend(name));
}

#ifndef FAKE_API_VERSION
#define FAKE_API_VERSION ATTNSCOPE_PLUGIN_API_VERSION
#endif

const char* abiTag() {
#ifdef FAKE_ABI_TAG
    return FAKE_ABI_TAG;
#else
    static const std::string tag = attnscopePluginAbiTag();
    return tag.c_str();
#endif
}

}  // namespace

extern "C" __attribute__((visibility("default"))) const AttnscopeBackendPlugin* attnscope_backend_plugin(void) {
    static const AttnscopeBackendPlugin plugin = {FAKE_API_VERSION, sizeof(AttnscopeBackendPlugin), FAKE_NAME, abiTag(),
                                                  probe, create};
    return &plugin;
}

#else

// A library without the entry symbol.
extern "C" __attribute__((visibility("default"))) int attnscope_something_else(void) { return 42; }

#endif
