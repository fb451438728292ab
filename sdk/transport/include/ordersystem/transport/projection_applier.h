// Contract: how every transport hands batches to a projection. apply() calls the projection; a
// failed batch is not skipped: the transport waits retryDelayMs() (100 ms doubling to 5 s) and
// hands it the events after its checkpoint() again. The first failure of a run and every tenth
// are logged as warnings, the recovery as info, so a read model that cannot write (disk full)
// says so without flooding the log. Counting (applied events, failures, position, lag) is the
// host's (ObservedEventLog), the same for every transport. Used by the one thread that drives
// the projection; not thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ordersystem/sdk/eventlog.h"
#include "ordersystem/sdk/logger.h"
#include "ordersystem/transport/backoff.h"

namespace ordersystem::transport {

inline constexpr int64_t kProjectionRetryInitialMs = 100;
inline constexpr int64_t kProjectionRetryMaxMs = 5000;

class ProjectionApplier {
public:
    ProjectionApplier(sdk::Projection& projection, sdk::Logger& logger);

    sdk::Projection& projection() noexcept { return _projection; }
    const std::string& name() const noexcept { return _name; }
    uint64_t checkpoint() noexcept { return _projection.checkpoint(); }

    /// true: applied (the checkpoint is past batch.back()). false: failed and logged; wait
    /// retryDelayMs(), then resume from checkpoint() + 1.
    bool apply(const std::vector<sdk::EventRecord>& batch);
    /// The wait after the latest failure (grows with each failure in a row).
    int64_t retryDelayMs() const noexcept { return _delayMs; }
    /// Failed applies in a row (0 after a success).
    int failures() const noexcept { return _failures; }

private:
    sdk::Projection& _projection;
    sdk::Logger& _logger;
    std::string _name;
    Backoff _backoff{kProjectionRetryInitialMs, kProjectionRetryMaxMs};
    int64_t _delayMs = kProjectionRetryInitialMs;
    int _failures = 0;
};

}  // namespace ordersystem::transport
