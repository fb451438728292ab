// Contract: the event log the host hands to plugins: a decorator over the transport's log that
// measures what every transport should report the same way, so no plugin has to (the families
// of transport/metric_families.h):
//   ordersystem_events_applied_total{projection}   events each projection applied (counter)
//   ordersystem_projection_position{projection}    last position it applied (gauge)
//   ordersystem_projection_apply_failures_total{projection}  batches it failed to apply
//   ordersystem_projection_lag_events{projection}  head position minus the projection's position
//   ordersystem_reaction_events_total{reaction,outcome}  handle() results: ok | failed (= retried
//                                                   or dead-lettered later by the transport)
// Every call is forwarded unchanged. Thread-safety is the inner log's; the wrapper's own state
// (the subscription table) has a mutex, and per-event counters are lock-free. The lag gauges are
// refreshed by collect(), which /metrics calls before rendering (one headPosition() per scrape).
// Lifetime: created by provideEventLog(), owned by HostServices, outlives every plugin; a
// wrapped subscriber is freed in unsubscribe(), which the inner log guarantees is the last call.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "Metrics.h"
#include "ordersystem/sdk/eventlog.h"

namespace ordersystem::host {

class ObservedEventLog final : public sdk::EventLog {
public:
    ObservedEventLog(sdk::EventLog& inner, sdk::Metrics& metrics);
    ~ObservedEventLog() override;

    std::string_view mode() const noexcept override { return _inner.mode(); }
    sdk::Result<int64_t> allocateOrderId() noexcept override { return _inner.allocateOrderId(); }
    sdk::AppendResult append(sdk::AppendRequest& request) noexcept override { return _inner.append(request); }
    void appendAsync(sdk::AppendRequest& request, AppendCallback done) noexcept override {
        _inner.appendAsync(request, std::move(done));
    }
    bool appendsAsynchronously() const noexcept override { return _inner.appendsAsynchronously(); }
    sdk::Result<std::vector<sdk::EventRecord>> readOrder(int64_t orderId) noexcept override {
        return _inner.readOrder(orderId);
    }
    sdk::Result<uint64_t> headPosition() noexcept override { return _inner.headPosition(); }
    sdk::Result<std::vector<sdk::EventRecord>> readRange(uint64_t afterPosition, size_t maxEvents) noexcept override {
        return _inner.readRange(afterPosition, maxEvents);
    }
    sdk::Status ensureOrderIdsAbove(int64_t orderId) noexcept override { return _inner.ensureOrderIdsAbove(orderId); }
    sdk::Result<sdk::SubscriptionId> subscribe(sdk::Projection& projection) noexcept override;
    sdk::Result<sdk::SubscriptionId> subscribe(sdk::Reaction& reaction) noexcept override;
    void unsubscribe(sdk::SubscriptionId id) noexcept override;
    sdk::Result<std::vector<sdk::DeadLetter>> deadLetters(std::string_view reaction, size_t limit) noexcept override {
        return _inner.deadLetters(reaction, limit);
    }
    sdk::Status retryDeadLetter(std::string_view reaction, const std::string& eventId) noexcept override {
        return _inner.retryDeadLetter(reaction, eventId);
    }
    sdk::IdempotencyStore& idempotency() noexcept override { return _inner.idempotency(); }
    sdk::Membership& membership() noexcept override { return _inner.membership(); }

    /// Refreshes the lag gauges (called from /metrics on an HTTP worker thread).
    void collect() noexcept;
    sdk::EventLog& inner() { return _inner; }

    class ObservedProjection;
    class ObservedReaction;

private:
    sdk::EventLog& _inner;
    sdk::Metrics& _metrics;
    std::mutex _mutex;
    std::map<sdk::SubscriptionId, std::unique_ptr<ObservedProjection>> _projections;
    std::map<sdk::SubscriptionId, std::unique_ptr<ObservedReaction>> _reactions;
};

}  // namespace ordersystem::host
