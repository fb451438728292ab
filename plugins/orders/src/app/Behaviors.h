// Contract: the mediator pipeline of the orders plugin, once for every command and query:
// debug logging, Prometheus counters, and logging of failures that become 5xx. Built at start()
// on the host's main thread; before()/after() are then called concurrently on HTTP threads and
// are lock-free (counters are looked up once per message type at registration).
#pragma once

#include <array>
#include <vector>

#include "ordersystem/sdk/logger.h"
#include "ordersystem/sdk/mediator.h"
#include "ordersystem/sdk/metrics.h"

namespace ordersystem::plugins::orders::app {

/// Outcome label of a status: ok, invalid, not_found, conflict, unprocessable, unavailable, error
/// (and would_block, which is logged but never counted: the query runs again on a worker).
const char* outcomeLabel(sdk::StatusCode code) noexcept;

class LoggingBehavior final : public sdk::Behavior {
public:
    explicit LoggingBehavior(sdk::Logger& logger) : _logger(logger) {}
    void before(const sdk::MessageInfo&) noexcept override {}
    void after(const sdk::MessageInfo& info, const sdk::Status& outcome, int64_t elapsedNs) noexcept override;

private:
    sdk::Logger& _logger;
};

class MetricsBehavior final : public sdk::Behavior {
public:
    explicit MetricsBehavior(sdk::Metrics& metrics) : _metrics(metrics) {}
    /// Looks the counters of message type M up once; call during start-up only.
    template <class M>
    void track() {
        registerType(sdk::detail::messageIndex<M>(), M::kName, M::kIsCommand);
    }
    void before(const sdk::MessageInfo&) noexcept override {}
    void after(const sdk::MessageInfo& info, const sdk::Status& outcome, int64_t elapsedNs) noexcept override;

private:
    static constexpr size_t kOutcomes = 7;
    void registerType(size_t index, const char* name, bool isCommand);
    sdk::Metrics& _metrics;
    std::vector<std::array<sdk::Counter*, kOutcomes>> _counters;
};

/// Names a dependency failure or bug once, at warn/error, where an operator will look for it.
class ErrorBehavior final : public sdk::Behavior {
public:
    explicit ErrorBehavior(sdk::Logger& logger) : _logger(logger) {}
    void before(const sdk::MessageInfo&) noexcept override {}
    void after(const sdk::MessageInfo& info, const sdk::Status& outcome, int64_t elapsedNs) noexcept override;

private:
    sdk::Logger& _logger;
};

}  // namespace ordersystem::plugins::orders::app
