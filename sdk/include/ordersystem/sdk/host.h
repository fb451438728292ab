// Contract: what the host offers a plugin. Each plugin gets its own Host object (its logger is
// named after it); the object and everything it returns live until after the plugin's
// destroy. Methods are thread-safe unless noted.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "ordersystem/sdk/config.h"
#include "ordersystem/sdk/eventlog.h"
#include "ordersystem/sdk/http.h"
#include "ordersystem/sdk/logger.h"
#include "ordersystem/sdk/metrics.h"

namespace ordersystem::sdk {

enum class Durability : int {
    Full = 0,  ///< fsync on every commit: survives power loss
    Normal,    ///< survives a process crash
};

/// The [node] section and facts about this process.
struct NodeSettings {
    std::string nodeId;
    std::string dataDir;  ///< absolute, exists (created by the host)
    Durability durability = Durability::Full;
    std::string httpAddress;  ///< advertised http://host:port (the real port once bound)
    std::string version;      ///< product version, e.g. "1.0.0"
    /// false in an operator command (--export, --import) that opens only the transport: it then
    /// sends no heartbeat, so the process is never listed as a node.
    bool joinsMembership = true;
};

struct HealthCheckResult {
    bool healthy = true;
    std::string detail;  ///< shown in /health "checks"; say what is wrong
};

/// A readiness check; called on HTTP threads for /health and /health/ready. Must be quick.
using HealthCheck = std::function<HealthCheckResult()>;

class Host {
public:
    virtual ~Host() = default;

    virtual const NodeSettings& node() const noexcept = 0;
    /// The plugin's own validated ini section.
    virtual const ConfigSection& config() const noexcept = 0;
    /// Resolves a path from the ini: absolute stays, relative is against the ini file's folder.
    virtual std::string resolvePath(std::string_view path) const = 0;
    /// Resolves a file name against [node] data_dir (absolute stays).
    virtual std::string dataPath(std::string_view fileName) const = 0;

    virtual Logger& logger() noexcept = 0;
    virtual Metrics& metrics() noexcept = 0;
    /// Route registration; only during start().
    virtual Router& router() noexcept = 0;
    /// Adds a named check to /health and /health/ready; only during start().
    virtual void addHealthCheck(std::string name, HealthCheck check) = 0;

    /// The transport's event log; null until the transport plugin has started.
    virtual EventLog* eventLog() noexcept = 0;
    /// Called by the transport plugin in start(); the log must stay valid until its stop().
    virtual void provideEventLog(EventLog* log) = 0;
};

}  // namespace ordersystem::sdk
