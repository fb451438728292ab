// Contract: opens one plugin file and returns its checked descriptor. Main thread, start-up only.
// Order of checks: file exists -> dlopen (RTLD_LOCAL) -> entry symbol -> descriptor non-null ->
// abiVersion (FIRST field read, before anything else of the descriptor) -> name, section, functions.
// Every refusal is InvalidConfig with the file named. The library is never unloaded
// (a LoadedPlugin keeps it mapped until process exit), so no plugin code can outlive its text.
#pragma once

#include <memory>
#include <string>

#include <Poco/SharedLibrary.h>

#include "ordersystem/sdk/plugin.h"

namespace ordersystem::host {

struct LoadedPlugin {
    std::string name;  ///< as in [plugins] load
    std::string path;  ///< the .so file
    std::unique_ptr<Poco::SharedLibrary> library;
    const sdk::PluginDescriptor* descriptor = nullptr;
};

/// <dir>/<name>.so
std::string pluginFilePath(const std::string& dir, const std::string& name);

/// Loads and checks the plugin `name` from `dir`.
sdk::Result<std::shared_ptr<LoadedPlugin>> loadPlugin(const std::string& dir, const std::string& name);

const char* pluginKindName(sdk::PluginKind kind);

}  // namespace ordersystem::host
