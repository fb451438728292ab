// Contract: owns the loaded plugins and drives their lifecycle on the main thread:
// load (files, ABI, exactly one transport) -> create (section validated first) -> start in order
// transport, domain, handlers (stable by [plugins] load order) -> stop in exact reverse ->
// destroy. Libraries stay mapped until process exit, so no plugin object outlives its code.
// Every call into a plugin is wrapped in try/catch; failures come back as one InvalidConfig /
// Unavailable Status naming the plugin. The destructor stops and destroys whatever is left.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "Config.h"
#include "ConfigSchema.h"
#include "HostContext.h"
#include "Logging.h"
#include "PluginLoader.h"

namespace ordersystem::host {

/// Splits "a, b ,c" into names (empty items dropped).
std::vector<std::string> splitList(std::string_view text);

class PluginManager {
public:
    PluginManager(HostServices& services, const Logging& logging) : _services(services), _logging(logging) {}
    ~PluginManager();
    PluginManager(const PluginManager&) = delete;
    PluginManager& operator=(const PluginManager&) = delete;

    /// Loads every named plugin from dir and checks there is exactly one transport.
    sdk::Status load(const std::vector<std::string>& names, const std::string& dir);
    /// Validates each plugin's section (unknown key, wrong type) and calls create().
    sdk::Status create(const EnvLookup& env);
    /// Starts every plugin in order; on failure stops the started ones in reverse.
    sdk::Status start();
    /// Starts only the transport (an operator command needs its event log, nothing else).
    sdk::Status startTransport();
    /// Stops started plugins in exact reverse order.
    void stop() noexcept;
    /// Destroys created plugins in reverse order (after stop()).
    void destroy() noexcept;

    /// Plugin names in start order.
    std::vector<std::string> names() const;
    std::string transportName() const;
    /// A key of the transport's validated section ("" before create()).
    std::string transportSetting(std::string_view key) const;
    /// True when `section` belongs to one of the loaded plugins.
    bool ownsSection(std::string_view section) const;

private:
    struct Entry;
    /// Starts one plugin; on failure stops every started one in reverse.
    sdk::Status startOne(Entry& e);
    struct Entry {
        std::shared_ptr<LoadedPlugin> loaded;
        std::unique_ptr<ValidatedSection> section;
        std::unique_ptr<HostContext> context;
        sdk::Plugin* plugin = nullptr;
        bool started = false;
    };
    HostServices& _services;
    const Logging& _logging;
    std::vector<Entry> _entries;
    std::shared_ptr<spdlog::logger> _log;
};

}  // namespace ordersystem::host
