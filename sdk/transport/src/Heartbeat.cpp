#include "ordersystem/transport/heartbeat.h"

#include <algorithm>

#include "ordersystem/sdk/util.h"

namespace ordersystem::transport {

Heartbeat::Heartbeat(std::string nodeId, int64_t intervalMs, Beat beat, sdk::Logger& logger)
    : _nodeId(std::move(nodeId)),
      _intervalMs(std::max<int64_t>(1, intervalMs)),
      _beat(std::move(beat)),
      _logger(logger) {}

sdk::Status Heartbeat::start() {
    if (_thread.joinable()) return sdk::Status::ok();
    if (sdk::Status st = _beat(); !st) return st;
    _stop.rearm();
    _thread = std::thread([this] { run(); });
    return sdk::Status::ok();
}

bool Heartbeat::stop() noexcept {
    if (!_thread.joinable()) return false;
    _stop.raise();
    _thread.join();
    return true;
}

void Heartbeat::run() {
    sdk::nameThisThread("membership");
    bool failing = false;
    while (_stop.sleepFor(_intervalMs)) {
        sdk::Status st;
        try {
            st = _beat();
        } catch (const std::exception& e) {
            st = sdk::Status(sdk::StatusCode::Internal, e.what());
        }
        if (!st && !failing)
            _logger.warn("heartbeat of node " + _nodeId + " failed: " + st.message +
                         " (other nodes drop it from their live list after node_ttl_ms)");
        else if (st && failing) _logger.info("heartbeat of node " + _nodeId + " is back");
        failing = !st;
    }
}

}  // namespace ordersystem::transport
