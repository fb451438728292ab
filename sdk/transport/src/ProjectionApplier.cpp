#include "ordersystem/transport/projection_applier.h"

namespace ordersystem::transport {

ProjectionApplier::ProjectionApplier(sdk::Projection& projection, sdk::Logger& logger)
    : _projection(projection), _logger(logger), _name(projection.projectionName()) {}

bool ProjectionApplier::apply(const std::vector<sdk::EventRecord>& batch) {
    if (batch.empty()) return true;
    const sdk::Status st = _projection.apply(batch);
    if (st) {
        if (_failures > 0)
            _logger.info("projection " + _name + " applies again after " + std::to_string(_failures) +
                         " failed attempts (position " + std::to_string(batch.back().position) + ")");
        _failures = 0;
        _backoff.reset();
        _delayMs = kProjectionRetryInitialMs;
        return true;
    }
    ++_failures;
    _delayMs = _backoff.next();
    if (_failures == 1 || _failures % 10 == 0)
        _logger.warn("projection " + _name + " failed to apply positions " + std::to_string(batch.front().position) +
                     ".." + std::to_string(batch.back().position) + ": " + st.message + "; retrying in " +
                     std::to_string(_delayMs) + " ms (failure " + std::to_string(_failures) + ")");
    return false;
}

}  // namespace ordersystem::transport
