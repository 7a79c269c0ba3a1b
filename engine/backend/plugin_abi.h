#pragma once
// The C boundary of a dynamically loaded compute backend, a library libattnscope_NAME.so (e.g.
// libattnscope_cuda.so).
//
// A plugin exports one symbol, ATTNSCOPE_PLUGIN_ENTRY ("attnscope_backend_plugin"), a function
// returning a pointer to a static AttnscopeBackendPlugin. The registry (backend_registry.cpp)
// dlopen()s the library, checks apiVersion, abiTag and that `name` is the NAME of its file, calls
// probe(), and only then create().
//
// Constraint: create() returns a C++ object (attnscope::Backend*) that the host uses and
// deletes through its virtual destructor, and results cross the boundary as C++ values
// (std::string, std::vector, std::shared_ptr). Host and plugin must therefore be built from the
// same engine headers with the same compiler and standard library; abiTag encodes that
// (compiler and version, C++ ABI, interface version, sizes of the exchanged types) and the
// registry refuses a plugin whose tag differs from its own. The library is never unloaded, so
// run states and backends created by it stay valid for the life of the process.
#include <stddef.h>
#include <stdint.h>

#define ATTNSCOPE_PLUGIN_API_VERSION 1u
#define ATTNSCOPE_PLUGIN_ENTRY "attnscope_backend_plugin"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct AttnscopeBackendPlugin {
    uint32_t apiVersion;  // ATTNSCOPE_PLUGIN_API_VERSION of the plugin
    uint32_t structSize;  // sizeof(AttnscopeBackendPlugin) in the plugin
    const char* name;     // device family, e.g. "cuda": devices "cuda" and "cuda:N", file libattnscope_cuda.so
    const char* abiTag;   // attnscopePluginAbiTag() as compiled into the plugin
    // Number of usable devices; 0 when the hardware or driver is missing, with a one-line reason
    // written to `reason` (NUL-terminated, truncated to reasonSize). Must never abort.
    int (*probe)(char* reason, size_t reasonSize);
    // A new attnscope::Backend* for `device`, or null with the reason. `options` is a
    // "key=value,..." string the plugin documents (CUDA: dtype=bf16|f16|f32, rowblock=N).
    void* (*create)(int device, int threads, const char* options, char* reason, size_t reasonSize);
} AttnscopeBackendPlugin;

typedef const AttnscopeBackendPlugin* (*AttnscopeBackendPluginEntry)(void);

#ifdef __cplusplus
}  // extern "C"

#include <string>

#include "backend/backend.h"

namespace attnscope {

// Interface version of Backend/RunState/RunOutput/AnalysisResult; bump it when they change.
constexpr int kBackendInterfaceVersion = 2;  // 2: Backend::startDecoding

// The build fingerprint both sides must share (see the constraint above).
inline std::string attnscopePluginAbiTag() {
    std::string t;
#if defined(__clang__)
    t += "clang-" + std::to_string(__clang_major__) + "." + std::to_string(__clang_minor__);
#elif defined(__GNUC__)
    t += "gcc-" + std::to_string(__GNUC__) + "." + std::to_string(__GNUC_MINOR__);
#else
    t += "cc";
#endif
#if defined(_GLIBCXX_USE_CXX11_ABI)
    t += "|cxx11abi=" + std::to_string(_GLIBCXX_USE_CXX11_ABI);
#endif
#if defined(_LIBCPP_VERSION)
    t += "|libc++";
#endif
    t += "|iface=" + std::to_string(kBackendInterfaceVersion);
    t += "|sizes=" + std::to_string(sizeof(AnalysisResult)) + "," + std::to_string(sizeof(RunRequest)) + "," +
         std::to_string(sizeof(RunOutput)) + "," + std::to_string(sizeof(EncodingPlan)) + "," +
         std::to_string(sizeof(LoadedModel)) + "," + std::to_string(sizeof(AttentionTile)) + "," +
         std::to_string(sizeof(Error));
    return t;
}

}  // namespace attnscope
#endif
