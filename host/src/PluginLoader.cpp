#include "PluginLoader.h"

#include <Poco/Exception.h>
#include <Poco/File.h>

namespace ordersystem::host {

using sdk::Status;
using sdk::StatusCode;

std::string pluginFilePath(const std::string& dir, const std::string& name) {
    std::string d = dir;
    while (d.size() > 1 && d.back() == '/') d.pop_back();
    return d + "/" + name + ".so";
}

const char* pluginKindName(sdk::PluginKind kind) {
    switch (kind) {
    case sdk::PluginKind::Transport: return "transport";
    case sdk::PluginKind::Domain: return "domain";
    case sdk::PluginKind::Handler: return "handler";
    }
    return "unknown";
}

sdk::Result<std::shared_ptr<LoadedPlugin>> loadPlugin(const std::string& dir, const std::string& name) {
    auto refuse = [&](const std::string& why) {
        return Status(StatusCode::InvalidConfig, "plugin '" + name + "': " + why);
    };
    if (name.empty() || name.find('/') != std::string::npos || name.find("..") != std::string::npos)
        return refuse("not a plugin name ([plugins] load)");
    auto plugin = std::make_shared<LoadedPlugin>();
    plugin->name = name;
    plugin->path = pluginFilePath(dir, name);
    try {
        if (!Poco::File(plugin->path).exists())
            return refuse("file " + plugin->path +
                          " not found (unknown plugin name in [plugins] load, or wrong [plugins] dir)");
    } catch (const Poco::Exception& e) {
        return refuse("cannot access " + plugin->path + ": " + e.displayText());
    }
    plugin->library = std::make_unique<Poco::SharedLibrary>();
    try {
        plugin->library->load(plugin->path, Poco::SharedLibrary::SHLIB_LOCAL);
    } catch (const Poco::Exception& e) {
        return refuse("cannot load " + plugin->path + ": " + e.displayText());
    }
    if (!plugin->library->hasSymbol(ORDERSYSTEM_PLUGIN_ENTRY_SYMBOL))
        return refuse(plugin->path + " does not export the entry symbol " ORDERSYSTEM_PLUGIN_ENTRY_SYMBOL
                                     " (not an ordersystem plugin)");
    auto entry =
        reinterpret_cast<ordersystem_plugin_descriptor_fn>(plugin->library->getSymbol(ORDERSYSTEM_PLUGIN_ENTRY_SYMBOL));
    const sdk::PluginDescriptor* d = nullptr;
    try {
        d = entry();
    } catch (...) {
        return refuse(plugin->path + ": " ORDERSYSTEM_PLUGIN_ENTRY_SYMBOL "() threw");
    }
    if (!d) return refuse(plugin->path + ": " ORDERSYSTEM_PLUGIN_ENTRY_SYMBOL "() returned null");
    // The ABI version is the first field and the only one safe to read from a foreign build.
    if (d->abiVersion != ORDERSYSTEM_SDK_ABI_VERSION)
        return refuse(plugin->path + " was built against plugin SDK ABI version " + std::to_string(d->abiVersion) +
                      ", this host uses ABI version " + std::to_string(ORDERSYSTEM_SDK_ABI_VERSION) +
                      " (rebuild the plugin)");
    if (!d->name || name != d->name)
        return refuse(plugin->path + " calls itself '" + std::string(d->name ? d->name : "") +
                      "'; the file name must equal the plugin name");
    if (!d->create || !d->destroy) return refuse(plugin->path + ": descriptor lacks create/destroy");
    if (!d->section || !*d->section) return refuse(plugin->path + ": descriptor lacks its ini section name");
    if (d->configKeyCount > 0 && !d->configKeys)
        return refuse(plugin->path + ": descriptor declares keys but lists none");
    if (d->kind != sdk::PluginKind::Transport && d->kind != sdk::PluginKind::Domain &&
        d->kind != sdk::PluginKind::Handler)
        return refuse(plugin->path + ": unknown plugin kind " + std::to_string(static_cast<int>(d->kind)));
    plugin->descriptor = d;
    return plugin;
}

}  // namespace ordersystem::host
