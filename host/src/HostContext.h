// Contract: HostServices is everything the host shares with all plugins (node facts, metrics,
// routes, health, the event log); it is built on the main thread and outlives every plugin.
// HostContext is one plugin's sdk::Host: its own logger (named after it) and its own validated
// section; it lives from create() until after destroy(). Thread-safety as in sdk/host.h.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "Config.h"
#include "ConfigSchema.h"
#include "Health.h"
#include "Logging.h"
#include "Metrics.h"
#include "ObservedEventLog.h"
#include "Router.h"
#include "ordersystem/sdk/host.h"

namespace ordersystem::host {

struct HostServices {
    explicit HostServices(const Configuration& cfg) : config(cfg), router(&metrics) {}
    const Configuration& config;
    sdk::NodeSettings node;
    MetricsRegistry metrics;
    Router router;
    Health health;
    /// What plugins see: the transport's log behind an ObservedEventLog (metrics), or null.
    std::atomic<sdk::EventLog*> eventLog{nullptr};
    std::string eventLogProvider;  ///< name of the plugin that provided it
    /// Every decorator ever handed out; kept until the host dies (plugins may still hold one).
    std::vector<std::unique_ptr<ObservedEventLog>> observedLogs;
};

class HostContext final : public sdk::Host {
public:
    HostContext(HostServices& services, const ValidatedSection& section, std::string pluginName, bool isTransport,
                std::shared_ptr<spdlog::logger> logger)
        : _services(services),
          _section(section),
          _pluginName(std::move(pluginName)),
          _isTransport(isTransport),
          _logger(std::move(logger)) {}

    const sdk::NodeSettings& node() const noexcept override { return _services.node; }
    const sdk::ConfigSection& config() const noexcept override { return _section; }
    std::string resolvePath(std::string_view path) const override { return _services.config.resolvePath(path); }
    std::string dataPath(std::string_view fileName) const override;
    sdk::Logger& logger() noexcept override { return _logger; }
    sdk::Metrics& metrics() noexcept override { return _services.metrics; }
    sdk::Router& router() noexcept override { return _services.router; }
    void addHealthCheck(std::string name, sdk::HealthCheck check) override;
    sdk::EventLog* eventLog() noexcept override { return _services.eventLog.load(); }
    void provideEventLog(sdk::EventLog* log) override;

    /// The first refused registration since the last call ("" = none). Registration methods never
    /// throw (plugins call them from noexcept start()); the plugin manager fails the start instead.
    std::string takeError();

private:
    void refuse(std::string why);
    HostServices& _services;
    const ValidatedSection& _section;
    std::string _pluginName;
    bool _isTransport;
    SpdLoggerAdapter _logger;
    std::string _error;
};

}  // namespace ordersystem::host
