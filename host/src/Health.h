// Contract: the /health, /health/live and /health/ready answers. Checks are added by plugins
// during start() (main thread) and run on HTTP worker threads; a check that throws counts as
// Unhealthy with the exception text. Liveness never runs checks. Readiness (and /health) turns
// Unhealthy as soon as beginShutdown() is called (SIGTERM), so load balancers stop sending.
#pragma once

#include <atomic>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "ordersystem/sdk/host.h"

namespace ordersystem::host {

class Health {
public:
    enum class Probe { Full, Live, Ready };

    void add(std::string name, sdk::HealthCheck check);
    void setIdentity(std::string nodeId, std::string mode);
    void beginShutdown() { _shuttingDown.store(true); }

    /// Runs the probe and fills the response (200 Healthy or 503 Unhealthy).
    void answer(Probe probe, sdk::HttpResponse& response) const;

private:
    mutable std::mutex _mutex;
    std::vector<std::pair<std::string, sdk::HealthCheck>> _checks;
    std::string _nodeId;
    std::string _mode = "unknown";
    std::atomic<bool> _shuttingDown{false};
};

}  // namespace ordersystem::host
