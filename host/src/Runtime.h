// Contract: the whole host without the process shell: configuration -> plugins -> HTTP.
// Used by main() (ServerApplication) and by tests (port 0, fixture plugin folder).
// All methods on one thread (the main thread). start() either succeeds completely or cleans up
// and returns ONE Status whose message names the failing key, file or plugin (exit code 1).
// stop() is idempotent: readiness 503 -> stop accepting and drain -> plugins stop in reverse ->
// destroy. The destructor calls stop().
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "Config.h"
#include "ConfigSchema.h"
#include "HostContext.h"
#include "HttpServer.h"
#include "Logging.h"
#include "PluginManager.h"

namespace ordersystem::host {

struct RuntimeOptions {
    std::string configPath;
    std::vector<std::string> defines;  ///< "section.key=value"
    EnvLookup env = processEnvironment();
    /// Folder of the executable: base of the default plugin and docs folders ("" = this process's).
    std::string exeDir;
    /// The malloc in use, named in the start-up line (the executable fills it in; see Allocator.h).
    std::string allocator = "glibc malloc";
    /// An operator command (--export, --import, --backup): logs go to stderr, warnings and up.
    bool operatorCommand = false;
};

/// Settings of the host's own sections after validation.
struct HostSettings {
    std::string nodeId;
    std::string dataDir;
    sdk::Durability durability = sdk::Durability::Full;
    std::string address;
    HttpSettings http;
    std::string docsDir;
    std::string pluginDir;
    std::vector<std::string> pluginNames;
    std::string logLevel = "info";
};

/// The folder holding the running executable.
std::string executableDir();

class Runtime {
public:
    explicit Runtime(RuntimeOptions options);
    ~Runtime();
    Runtime(const Runtime&) = delete;
    Runtime& operator=(const Runtime&) = delete;

    /// --check-config: config, plugin files, schemas, each plugin's create()/destroy(). No I/O beyond that.
    sdk::Status check();
    /// Starts everything; the listener accepts once this returns Ok.
    sdk::Status start();
    /// --describe-config: the plugin folder from [plugins] dir of the ini (optional here), its
    /// --define and environment overrides, or the default. Reads nothing else and opens no log.
    sdk::Result<std::string> locatePlugins();
    /// Operator commands: config and plugins as for start(), then only the transport, which joins
    /// no membership; no HTTP, no domain, no handlers. stop() closes it.
    sdk::Result<sdk::EventLog*> openEventLog();
    /// --backup: config and plugins as --check-config does, nothing started; settings() and
    /// transportName() are then known. stop() releases the plugins.
    sdk::Status prepareOnly();
    std::string transportName() const { return _plugins ? _plugins->transportName() : std::string(); }
    /// The transport's "database" file resolved against [node] data_dir ("" when it has none).
    std::string transportDatabase() const;
    /// Graceful stop; drain bounds how long open connections may finish.
    void stop(std::chrono::milliseconds drain = std::chrono::milliseconds(5000));

    int port() const { return _http ? _http->port() : 0; }
    const HostSettings& settings() const { return _settings; }
    HostServices& services() { return *_services; }
    std::string mode() const { return _mode; }

private:
    sdk::Status prepare();  ///< config, logging, plugin load + create
    sdk::Status readHostSettings();
    sdk::Status createDataDir();
    /// [node] as plugins see it (all but the HTTP address, known once bound).
    sdk::NodeSettings& fillNodeSettings();
    sdk::Status readHttpLimitsAndSecurity(const ValidatedSection& http);  ///< timeouts, sizes, API keys, TLS
    sdk::Status openLogging(const ValidatedSection& log);
    /// [plugins] dir resolved against the ini's folder, or <exe dir>/../lib/ordersystem/plugins.
    std::string pluginDirOf(const ValidatedSection& plugins) const;

    RuntimeOptions _options;
    HostSettings _settings;
    std::unique_ptr<Configuration> _config;
    std::unique_ptr<Logging> _logging;
    std::shared_ptr<spdlog::logger> _log;
    std::unique_ptr<HostServices> _services;
    std::unique_ptr<PluginManager> _plugins;
    std::unique_ptr<HttpServer> _http;
    std::string _mode;
    bool _started = false;
    bool _prepared = false;  ///< openEventLog() or prepareOnly(): plugins to stop and destroy
};

}  // namespace ordersystem::host
