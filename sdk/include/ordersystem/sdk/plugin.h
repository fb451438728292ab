// Contract: a plugin is one shared library exporting exactly one C symbol,
// ordersystem_plugin_descriptor(), which returns a pointer to a static descriptor.
// The host checks abiVersion before touching anything else and refuses a mismatch by name.
//
// Lifecycle (all on the host's main thread): create(config) -> start(host) -> stop() -> destroy.
// Start order: transport, domain, handlers, then the HTTP listener opens; stop in exact reverse.
// create() only parses configuration (it also runs for --check-config); start() opens files and
// connections and may fail (e.g. unreachable broker). stop() is called only after a successful
// start(). The library is never unloaded while a plugin object lives.
#pragma once

#include <cstdint>
#include <exception>
#include <string>

#include "ordersystem/sdk/config.h"
#include "ordersystem/sdk/host.h"
#include "ordersystem/sdk/status.h"

/// Bump on every change to any header under sdk/include (a test checks the headers' hash).
#define ORDERSYSTEM_SDK_ABI_VERSION 13u

#define ORDERSYSTEM_PLUGIN_EXPORT extern "C" __attribute__((visibility("default")))

namespace ordersystem::sdk {

enum class PluginKind : int {
    Transport = 0,  ///< owns the event log; exactly one per process
    Domain = 1,     ///< commands, queries, routes
    Handler = 2,    ///< projections and reactions on the event stream
};

class Plugin {
public:
    virtual ~Plugin() = default;
    /// Opens resources, subscribes, registers routes and health checks. Non-Ok aborts start-up.
    virtual Status start(Host& host) noexcept = 0;
    /// Stops threads, unsubscribes, closes resources. Must not fail.
    virtual void stop() noexcept = 0;
};

struct PluginDescriptor {
    uint32_t abiVersion;  ///< ORDERSYSTEM_SDK_ABI_VERSION at the plugin's build
    const char* name;     ///< kebab-case; = folder, .so basename, [plugins] load name
    PluginKind kind;
    const char* section;              ///< its ini section, e.g. "transport.redis"
    const ConfigKeySpec* configKeys;  ///< declared keys of the section
    uint32_t configKeyCount;
    /// Builds the plugin from its validated section; on failure returns null and sets *error.
    Plugin* (*create)(const ConfigSection& config, Status* error) noexcept;
    void (*destroy)(Plugin* plugin) noexcept;
};

/// The shared body of every plugin's create(): runs make(error), which returns the new plugin
/// or null with *error set, and turns any exception into a Status so none crosses the C entry.
template <class Make>
Plugin* guardedCreate(const char* pluginName, Status* error, Make&& make) noexcept {
    Status ignored;
    Status* out = error ? error : &ignored;
    try {
        return make(out);
    } catch (const std::exception& e) {
        *out = Status(StatusCode::Internal, std::string(pluginName) + ": create failed: " + e.what());
    } catch (...) {
        *out = Status(StatusCode::Internal, std::string(pluginName) + ": create failed");
    }
    return nullptr;
}

/// The shared destroy() of every plugin (destructors must not throw).
inline void destroyPlugin(Plugin* plugin) noexcept { delete plugin; }

}  // namespace ordersystem::sdk

/// The single exported entry point of every plugin.
using ordersystem_plugin_descriptor_fn = const ordersystem::sdk::PluginDescriptor* (*)();
#define ORDERSYSTEM_PLUGIN_ENTRY_SYMBOL "ordersystem_plugin_descriptor"
