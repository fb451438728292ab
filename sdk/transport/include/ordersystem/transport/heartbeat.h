// Contract: a node's heartbeat for the membership of a shared engine: beat() (the engine's
// part: write this node's entry with the time) runs once in start(), whose failure is
// start()'s, then every interval on a thread of its own until stop(). An outage is logged
// once when it begins and once when beats flow again, so other nodes dropping this one (after
// node_ttl_ms) is explained in its log. start()/stop() on one thread (the plugin's);
// stop() returns once the thread has ended and says whether it was running.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <thread>

#include "ordersystem/sdk/logger.h"
#include "ordersystem/sdk/status.h"
#include "ordersystem/transport/stop_signal.h"

namespace ordersystem::transport {

class Heartbeat {
public:
    using Beat = std::function<sdk::Status()>;

    Heartbeat(std::string nodeId, int64_t intervalMs, Beat beat, sdk::Logger& logger);
    ~Heartbeat() { stop(); }
    Heartbeat(const Heartbeat&) = delete;
    Heartbeat& operator=(const Heartbeat&) = delete;

    sdk::Status start();
    bool stop() noexcept;

private:
    void run();

    const std::string _nodeId;
    const int64_t _intervalMs;
    const Beat _beat;
    sdk::Logger& _logger;
    StopSignal _stop;
    std::thread _thread;
};

}  // namespace ordersystem::transport
