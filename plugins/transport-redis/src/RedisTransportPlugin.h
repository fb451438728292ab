// Contract: the transport-redis plugin object (distributed mode). create() parses
// [transport.redis] (bad values => InvalidConfig naming the key); start() connects (unreachable =>
// Unavailable "cannot reach Redis at <url>: <reason>", so the host exits 1), loads the Lua
// scripts, joins the membership, registers the "redis" health check and provides the event log;
// stop() ends every thread and connection. All three run on the host's main thread.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>

#include "RedisEventLog.h"
#include "RedisSettings.h"
#include "TransportCore.h"
#include "ordersystem/sdk/plugin.h"

namespace ordersystem::plugins::redis {

class RedisTransportPlugin final : public sdk::Plugin {
public:
    explicit RedisTransportPlugin(RedisSettings settings) : _settings(std::move(settings)) {}
    ~RedisTransportPlugin() override { stop(); }
    sdk::Status start(sdk::Host& host) noexcept override;
    void stop() noexcept override;

    /// The log once started (tests drive it directly).
    RedisEventLog* eventLog() noexcept { return _log.get(); }
    const RedisSettings& settings() const noexcept { return _settings; }

private:
    sdk::Status startChecked(sdk::Host& host);
    sdk::Status loadScripts();
    /// Warns when Redis's persistence is weaker than the node's [node] durability promises.
    void warnUnlessAppendOnly(sdk::Durability durability);
    /// Warns when min_replicas_ack asks for more replicas than the primary has connected.
    void warnUnlessEnoughReplicas();
    sdk::HealthCheckResult health();

    RedisSettings _settings;
    std::unique_ptr<TransportCore> _core;
    std::unique_ptr<RedisEventLog> _log;
    /// The health check answers from a cache for a second so /health stays cheap.
    std::mutex _healthMutex;
    std::chrono::steady_clock::time_point _healthAt{};
    sdk::HealthCheckResult _healthCached;
};

/// The plugin's create(): parses the section; null and *error on a bad configuration.
sdk::Plugin* createRedisTransport(const sdk::ConfigSection& config, sdk::Status* error) noexcept;

}  // namespace ordersystem::plugins::redis
