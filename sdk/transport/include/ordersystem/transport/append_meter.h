// Contract: the append families every transport reports (events appended, conflicts, other
// failures, append time), registered and recorded the same way in every mode. A transport calls
// record() once per append when its outcome is known, with the time it was asked for it.
// Thread-safe (the instruments are lock-free).
#pragma once

#include <chrono>
#include <cstddef>

#include "ordersystem/sdk/eventlog.h"
#include "ordersystem/sdk/metrics.h"
#include "ordersystem/transport/metric_families.h"

namespace ordersystem::transport {

class AppendMeter {
public:
    using Clock = std::chrono::steady_clock;

    explicit AppendMeter(sdk::Metrics& metrics)
        : _appended(families::counter(metrics, families::kEventsAppended)),
          _conflicts(families::counter(metrics, families::kAppendConflicts)),
          _failures(families::counter(metrics, families::kAppendFailures)),
          _seconds(families::histogram(metrics, families::kAppendSeconds)) {}

    /// events: how many the append carried; started: when it was asked for.
    void record(size_t events, const sdk::AppendResult& result, Clock::time_point started) noexcept {
        record(events, result.status.code, Clock::now() - started);
    }
    void record(size_t events, sdk::StatusCode outcome, Clock::duration took) noexcept {
        _seconds.observe(std::chrono::duration<double>(took).count());
        if (outcome == sdk::StatusCode::Ok) _appended.inc(static_cast<double>(events));
        else if (outcome == sdk::StatusCode::VersionConflict) _conflicts.inc();
        else _failures.inc();
    }

private:
    sdk::Counter& _appended;
    sdk::Counter& _conflicts;
    sdk::Counter& _failures;
    sdk::Histogram& _seconds;
};

}  // namespace ordersystem::transport
