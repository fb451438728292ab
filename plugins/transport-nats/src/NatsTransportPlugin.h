// Contract: the transport-nats plugin (cluster mode). Built by create() from validated Settings;
// start(host) on the host's main thread connects (unreachable NATS -> Unavailable "cannot reach
// NATS at <url>: <reason>", so the host exits 1), creates the stream, the id and dead-letter
// streams and the KV buckets idempotently, starts membership heartbeats, provides the event log
// and registers the "nats" health check. stop() (only after a successful start) answers every
// pending asynchronous append (while the connection and the idempotency store are still open),
// stops any leftover subscription threads, leaves the membership, and closes the connection;
// durable consumers are never deleted.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>

#include "KvIdempotencyStore.h"
#include "KvMembership.h"
#include "NatsClient.h"
#include "NatsEventLog.h"
#include "NatsSettings.h"
#include "ordersystem/sdk/plugin.h"

namespace ordersystem::plugins::nats {

class NatsTransportPlugin final : public sdk::Plugin {
public:
    explicit NatsTransportPlugin(Settings settings);
    ~NatsTransportPlugin() override;

    sdk::Status start(sdk::Host& host) noexcept override;
    void stop() noexcept override;

    /// The event log once started (tests drive it directly).
    NatsEventLog* eventLog() noexcept { return _log.get(); }
    const Settings& settings() const noexcept { return _settings; }

private:
    sdk::Status startUnchecked(sdk::Host& host);
    sdk::HealthCheckResult checkHealth();

    Settings _settings;
    sdk::Host* _host = nullptr;
    std::unique_ptr<NatsClient> _client;
    std::unique_ptr<KvIdempotencyStore> _idempotency;
    std::unique_ptr<KvMembership> _membership;
    std::unique_ptr<NatsEventLog> _log;

    /// The health check answers from a 1 s cache so /health cannot flood NATS.
    std::mutex _healthMutex;
    std::chrono::steady_clock::time_point _healthCheckedAt{};
    sdk::HealthCheckResult _health;
};

}  // namespace ordersystem::plugins::nats
