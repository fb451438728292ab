// Contract: the command and query handlers of the orders plugin behind one sdk::Mediator.
// Built and wired during the plugin's start() (main thread); afterwards send() is called
// concurrently from HTTP threads. Handlers return sdk::Result values and never throw past the
// mediator. Commands append to the transport's EventLog and, once it succeeded, hand the new order
// state to the read model (ReadModelPort::acknowledge): it is cached at once, and reads that must
// go to SQLite wait until the projection has applied it, so the next read sees the write without
// the command waiting for the projection.
// CreateOrder has an asynchronous handler (Mediator::handleAsync) when the log appends
// asynchronously (EventLog::appendsAsynchronously): the Idempotency-Key claim and the id are still
// fetched on the calling thread, the append completes on a transport thread, which then
// acknowledges the order and completes the message. Otherwise it has the plain, blocking handler.
// Both share every step but the append call. Asynchronous creates still waiting for their append
// are counted; the plugin's stop() waits (bounded) for them before the read model goes away.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "app/Behaviors.h"
#include "app/Messages.h"
#include "app/ReadModelPort.h"
#include "ordersystem/sdk/eventlog.h"
#include "ordersystem/sdk/host.h"
#include "ordersystem/sdk/mediator.h"

namespace ordersystem::plugins::orders::app {

struct ServiceSettings {
    std::string nodeId;
    int64_t idempotencyLeaseMs = 30000;
    int maxConflictRetries = 5;
};

class OrderService {
public:
    OrderService(sdk::EventLog& log, ReadModelPort& readModel, sdk::Host& host, ServiceSettings settings);

    const sdk::Mediator& mediator() const noexcept { return _mediator; }
    /// true when CreateOrder is answered asynchronously (its route may use Router::addAsync).
    bool createsAsynchronously() const noexcept { return _asyncCreates; }
    /// Waits up to timeoutMs until no asynchronous create waits for its append; false on timeout.
    bool waitForPendingCreates(int64_t timeoutMs) noexcept;

private:
    /// One create between its id allocation and its append's outcome: everything the append
    /// points to and everything needed afterwards, in one heap block kept by the append callback.
    struct PendingCreate;
    using CreateCompletion = sdk::Mediator::Completion<CreateOrder>;

    template <class Decide>
    sdk::Result<std::string> transition(int64_t orderId, const CommandContext& command, const Decide& decide);
    /// The order replayed from its log; NotFound when it has no events.
    sdk::Result<domain::Order> readFromLog(int64_t orderId);
    sdk::Result<CreatedOrder> create(const CreateOrder& command);
    void createAsync(const CreateOrder& command, CreateCompletion done);
    /// Claims the Idempotency-Key; the final answer (replay, in flight, error) or nullopt when the
    /// create goes ahead (the key, if any, is now held by it).
    std::optional<sdk::Result<CreatedOrder>> claimOrAnswer(const CreateOrder& command);
    /// Allocates the id and builds the event, the answer and the order; releases the key on failure.
    sdk::Result<std::shared_ptr<PendingCreate>> prepareCreate(const CreateOrder& command);
    /// The append's outcome: acknowledge and answer, or release the key and map the failure.
    sdk::Result<CreatedOrder> finishCreate(PendingCreate& pending, const sdk::AppendResult& appended);
    void finishCreateAsync(PendingCreate& pending, const sdk::AppendResult& appended) noexcept;
    sdk::Status releaseKey(const std::string& key, sdk::Status failure);
    sdk::Result<OrderList> list(const ListOrders& query);
    sdk::Result<std::string> events(const GetOrderEvents& query);
    sdk::Result<std::string> getOrder(const GetOrder& query);
    /// GetOrder with atVersion or asOfMs.
    sdk::Result<std::string> orderAsItWas(const GetOrder& query);
    domain::EventContext context(const CommandContext& command) const;

    sdk::EventLog& _log;
    ReadModelPort& _readModel;
    sdk::Logger& _logger;
    ServiceSettings _settings;
    const bool _asyncCreates;
    sdk::Mediator _mediator;
    std::mutex _pendingMutex;
    std::condition_variable _pendingDone;
    int64_t _pendingCreates = 0;  ///< guarded by _pendingMutex
};

}  // namespace ordersystem::plugins::orders::app
