#pragma once
// Chooses and creates the compute backend. The CPU backend is built in; the CUDA backend is a
// plugin (libattnscope_cuda.so, plugin_abi.h) loaded at run time, so the engine never links
// CUDA and the program starts on any machine. Any failure to load or start the plugin is a log
// line naming the reason, and "auto" falls back to the CPU.
//
// Where the plugin is looked for, in order: $ATTNSCOPE_BACKEND_DIR, the running executable's
// folder, ../lib/attnscope relative to that folder (the installed layout), and ../../lib/attnscope
// (the build tree's app/gui).
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "core/error.h"

namespace attnscope {

struct BackendOptions {
    // Options handed to the CUDA plugin ("dtype=f32,rowblock=256"); empty: defaults, with
    // ATTNSCOPE_CUDA_DTYPE read by the plugin.
    std::string cudaOptions;
    // Folder to load plugins from instead of the search above (tests).
    std::string pluginDir;
};

// device: "auto" (CUDA when usable, else CPU), "cpu", "cuda" or "cuda:N" (an error when CUDA is
// unusable). threads: CPU threads (<= 0: all cores). log: one-line notices.
Result<std::unique_ptr<Backend>> createBackend(const std::string& device, int threads,
                                               const std::function<void(const std::string&)>& log);
Result<std::unique_ptr<Backend>> createBackend(const std::string& device, int threads,
                                               const std::function<void(const std::string&)>& log,
                                               const BackendOptions& options);

// Device names usable with createBackend here and now: always "cpu", then "cuda" and "cuda:N"
// for each usable GPU.
std::vector<std::string> availableDevices();

// Why CUDA cannot be used here (empty when it can): plugin missing, not loadable, or no GPU.
std::string cudaUnavailableReason();

}  // namespace attnscope
