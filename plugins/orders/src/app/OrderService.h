// Contract: the command and query handlers of the orders plugin behind one sdk::Mediator.
// Built and wired during the plugin's start() (main thread); afterwards send() is called
// concurrently from HTTP threads. Handlers return sdk::Result values and never throw past the
// mediator. Commands append to the transport's EventLog and, once it succeeded, hand the new order
// state to the read model (ReadModel::acknowledge): it is cached at once, and reads that must go
// to SQLite wait (up to commandTimeoutMs) until the projection has applied it, so the next read
// sees the write without the command waiting for the projection.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "app/Behaviors.h"
#include "app/Messages.h"
#include "ordersystem/sdk/eventlog.h"
#include "ordersystem/sdk/host.h"
#include "ordersystem/sdk/mediator.h"
#include "store/ReadModel.h"

namespace ordersystem::plugins::orders::app {

struct ServiceSettings {
    std::string nodeId;
    int64_t commandTimeoutMs = 5000;
    int64_t idempotencyLeaseMs = 30000;
    int maxConflictRetries = 5;
};

class OrderService {
public:
    OrderService(sdk::EventLog& log, store::ReadModel& readModel, sdk::Host& host, ServiceSettings settings);

    const sdk::Mediator& mediator() const noexcept { return _mediator; }

private:
    template <class Decide>
    sdk::Result<std::string> transition(int64_t orderId, const Decide& decide);
    sdk::Result<CreatedOrder> create(const CreateOrder& command);
    sdk::Result<CreatedOrder> createClaimed(const CreateOrder& command);
    sdk::Result<std::string> list(const ListOrders& query);
    sdk::Result<std::string> events(const GetOrderEvents& query);
    domain::EventContext context() const;

    sdk::EventLog& _log;
    store::ReadModel& _readModel;
    sdk::Logger& _logger;
    ServiceSettings _settings;
    sdk::Mediator _mediator;
};

}  // namespace ordersystem::plugins::orders::app
