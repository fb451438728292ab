// Mediator pipeline behaviors (see Behaviors.h).
#include "app/Behaviors.h"

#include <string>

namespace ordersystem::plugins::orders::app {

using sdk::StatusCode;

namespace {
/// By the HTTP status the outcome answers (sdk::httpStatusFor), so the labels follow the one map.
size_t outcomeIndex(StatusCode code) noexcept {
    switch (sdk::httpStatusFor(code)) {
    case 200: return 0;
    case 400: return 1;
    case 404: return 2;
    case 409: return 3;
    case 422: return 4;
    case 503: return 5;
    default: return 6;
    }
}
constexpr const char* kOutcomeNames[] = {"ok",          "invalid", "not_found", "conflict", "unprocessable",
                                         "unavailable", "error"};
}  // namespace

const char* outcomeLabel(StatusCode code) noexcept {
    return code == StatusCode::WouldBlock ? "would_block" : kOutcomeNames[outcomeIndex(code)];
}

void LoggingBehavior::after(const sdk::MessageInfo& info, const sdk::Status& outcome, int64_t elapsedNs) noexcept {
    if (!_logger.enabled(sdk::LogLevel::Debug)) return;
    try {
        std::string line = std::string(info.name) + " " + outcomeLabel(outcome.code) + " in " +
                           std::to_string(elapsedNs / 1000) + " us";
        if (!outcome.isOk()) line += ": " + outcome.message;
        _logger.debug(line);
    } catch (...) {
    }
}

void MetricsBehavior::registerType(size_t index, const char* name, bool isCommand) {
    if (_counters.size() <= index) _counters.resize(index + 1, {});
    for (size_t i = 0; i < kOutcomes; ++i) {
        _counters[index][i] =
            isCommand ? &_metrics.counter("ordersystem_commands_total", "Commands handled by the orders plugin",
                                          {{"command", name}, {"outcome", kOutcomeNames[i]}})
                      : &_metrics.counter("ordersystem_queries_total", "Queries handled by the orders plugin",
                                          {{"query", name}, {"outcome", kOutcomeNames[i]}});
    }
}

void MetricsBehavior::after(const sdk::MessageInfo& info, const sdk::Status& outcome, int64_t) noexcept {
    // A query an event loop handed to a worker is counted once, when the worker has answered it.
    if (info.index >= _counters.size() || outcome.code == StatusCode::WouldBlock) return;
    sdk::Counter* c = _counters[info.index][outcomeIndex(outcome.code)];
    if (c) c->inc();
}

void ErrorBehavior::after(const sdk::MessageInfo& info, const sdk::Status& outcome, int64_t) noexcept {
    try {
        switch (outcome.code) {
        case StatusCode::Unavailable:
        case StatusCode::Timeout:
            _logger.warn(std::string(info.name) + " failed, dependency unavailable: " + outcome.message);
            break;
        case StatusCode::Internal:
        case StatusCode::InvalidConfig: _logger.error(std::string(info.name) + " failed: " + outcome.message); break;
        default: break;
        }
    } catch (...) {
    }
}

}  // namespace ordersystem::plugins::orders::app
