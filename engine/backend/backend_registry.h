#pragma once
// Chooses and creates the compute backend. The CPU backend is built in; every other backend is a
// plugin, a shared library libattnscope_NAME.so (plugin_abi.h) loaded at run time, so the engine
// links no accelerator library and the program starts on any machine. The registry knows no
// plugin by name: it lists the libattnscope_*.so files of its search folders, and a plugin's
// name (AttnscopeBackendPlugin::name, which must match its file name: "cuda" for
// libattnscope_cuda.so) is what a device string selects. A plugin that is missing, foreign,
// built differently or without a usable device is a log line or an error naming the reason,
// never a crash, and "auto" falls back to the CPU.
//
// Where plugins are looked for, in order: $ATTNSCOPE_BACKEND_DIR, the running executable's
// folder, the installed plugin folder relative to that folder (../ATTNSCOPE_PLUGIN_INSTALL_DIR:
// ../lib/x86_64-linux-gnu/attnscope on Debian, else ../lib/attnscope), and ../../lib/attnscope
// (the build tree's app/gui). A name found in an earlier folder hides the same name in later
// ones; within a folder, plugins are taken in the order of their names.
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "core/error.h"

namespace attnscope {

struct BackendOptions {
    // Options per plugin, by plugin name: the "key=value,..." string that plugin documents
    // (e.g. pluginOptions["cuda"] = "dtype=f32,rowblock=256"). A plugin without an entry gets ""
    // (its defaults).
    std::map<std::string, std::string> pluginOptions;
    // Folder to load plugins from instead of the search above (tests).
    std::string pluginDir;
};

// device: "auto" (device 0 of the first usable plugin, else the CPU with one log line saying why
// each plugin was not used), "cpu", "NAME" (device 0 of plugin NAME) or "NAME:N" (its device N).
// An InvalidInput error for a malformed device or a plugin that is not found, a Backend error
// for a plugin that is found but cannot run here. threads: CPU threads (<= 0: all cores).
// log: one-line notices.
Result<std::unique_ptr<Backend>> createBackend(const std::string& device, int threads,
                                               const std::function<void(const std::string&)>& log,
                                               const BackendOptions& options = {});

// Device names usable with createBackend here and now: always "cpu", then for each plugin with
// usable devices its NAME and NAME:N for each device.
std::vector<std::string> availableDevices(const BackendOptions& options = {});

// The names of the plugins found in the search folders, in search order, usable or not.
std::vector<std::string> backendPluginNames(const BackendOptions& options = {});

// Why plugin `name` cannot be used here (empty when it can): not found, not loadable, built
// differently, or no usable device (the plugin's own reason).
std::string backendUnavailableReason(const std::string& name, const BackendOptions& options = {});

}  // namespace attnscope
