// The plugin entry of libattnscope_cuda.so (see backend/plugin_abi.h): probe without aborting
// when there is no driver or GPU, create the CUDA backend, report failures as text.
#include <cstdio>
#include <exception>
#include <string>

#include "backend/cuda/cuda_backend.h"
#include "backend/plugin_abi.h"

namespace {

void writeReason(char* out, size_t size, const std::string& text) {
    if (!out || size == 0) return;
    std::snprintf(out, size, "%s", text.c_str());
}

int probe(char* reason, size_t reasonSize) {
    try {
        std::string why;
        const int n = attnscope::cuda::probeCudaDevices(why);
        if (n <= 0) writeReason(reason, reasonSize, why);
        return n;
    } catch (const std::exception& e) {
        writeReason(reason, reasonSize, std::string("CUDA probe failed: ") + e.what());
        return 0;
    }
}

void* create(int device, int threads, const char* options, char* reason, size_t reasonSize) {
    try {
        auto opt = attnscope::cuda::parseCudaBackendOptions(options ? options : "", device, threads);
        if (!opt) {
            writeReason(reason, reasonSize, opt.error().describe());
            return nullptr;
        }
        auto b = attnscope::cuda::makeCudaBackend(*opt);
        if (!b) {
            writeReason(reason, reasonSize, b.error().describe());
            return nullptr;
        }
        return b->release();
    } catch (const std::exception& e) {
        writeReason(reason, reasonSize, std::string("CUDA backend failed to start: ") + e.what());
        return nullptr;
    }
}

std::string& abiTag() {
    static std::string tag = attnscope::attnscopePluginAbiTag();
    return tag;
}

}  // namespace

extern "C" __attribute__((visibility("default"))) const AttnscopeBackendPlugin* attnscope_backend_plugin(void) {
    static const AttnscopeBackendPlugin plugin = {
        ATTNSCOPE_PLUGIN_API_VERSION, sizeof(AttnscopeBackendPlugin), "cuda", abiTag().c_str(), probe, create};
    return &plugin;
}
