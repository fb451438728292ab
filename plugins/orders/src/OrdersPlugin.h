// Contract: the orders plugin object (kind Domain, section [orders]). create() only reads the
// validated section; start() (host main thread, after the transport) opens the read model,
// subscribes it to the event log, registers routes and the "orders-read-model" readiness check;
// stop() first waits (up to command_timeout_ms) for asynchronous creates still waiting for their
// append, then unsubscribes (no apply() runs afterwards) and closes the database. Never throws.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "app/OrderService.h"
#include "ordersystem/sdk/plugin.h"
#include "store/ReadModel.h"

namespace ordersystem::plugins::orders {

struct OrdersSettings {
    std::string database = "orders.db";
    int64_t cacheEntries = 20000;
    int64_t commandTimeoutMs = 5000;
    int64_t idempotencyLeaseMs = 30000;
    int64_t maxConflictRetries = 5;
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
};

}  // namespace ordersystem::plugins::orders
