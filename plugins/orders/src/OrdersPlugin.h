// Contract: the orders plugin object (kind Domain, section [orders]). create() only reads the
// validated section; start() (host main thread, after the transport) opens the read model,
// subscribes it to the event log, registers routes and the "orders-read-model" readiness check,
// and starts the live event stream (stream::EventHub, fed by the read model); stop() first waits (up to
// command_timeout_ms) for asynchronous creates still waiting for their append, then unsubscribes (no apply() runs
// afterwards), stops the event stream and closes the database. Never throws.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "app/OrderService.h"
#include "ordersystem/sdk/plugin.h"
#include "store/ReadModel.h"
#include "stream/EventHub.h"

namespace ordersystem::plugins::orders {

struct OrdersSettings {
    std::string database = "orders.db";
    int64_t cacheEntries = 20000;
    int64_t commandTimeoutMs = 5000;
    int64_t idempotencyLeaseMs = 30000;
    int64_t maxConflictRetries = 5;
    int64_t streamReplayEvents = 10000;
    int64_t streamKeepAliveMs = 15000;
};

/// Reads and checks the [orders] section; InvalidConfig names the bad key.
sdk::Result<OrdersSettings> readSettings(const sdk::ConfigSection& config);

class OrdersPlugin final : public sdk::Plugin {
public:
    explicit OrdersPlugin(OrdersSettings settings) : _settings(std::move(settings)) {}
    ~OrdersPlugin() override { stop(); }

    sdk::Status start(sdk::Host& host) noexcept override;
    void stop() noexcept override;

    /// For tests: the projection this plugin feeds.
    store::ReadModel* readModel() noexcept { return _readModel.get(); }

private:
    OrdersSettings _settings;
    sdk::Host* _host = nullptr;
    sdk::EventLog* _log = nullptr;
    std::unique_ptr<store::ReadModel> _readModel;
    std::unique_ptr<app::OrderService> _service;
    sdk::SubscriptionId _subscription = 0;
    bool _subscribed = false;
    std::shared_ptr<stream::EventHub> _hub;
    /// The live event stream (its fan-out thread and route), fed by the read model from its
    /// current position on: call before the read model is subscribed.
    void startEventStream(uint64_t head);
};

}  // namespace ordersystem::plugins::orders
