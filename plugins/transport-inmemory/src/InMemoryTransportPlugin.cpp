#include "InMemoryTransportPlugin.h"

namespace ordersystem::plugins::inmemory {

using sdk::Result;
using sdk::Status;
using sdk::StatusCode;

const sdk::ConfigKeySpec kConfigKeys[] = {
    {"database", sdk::ConfigType::Path, "events.db",
     "SQLite file of the event log, relative to [node] data_dir; the only copy of a standalone system's history: "
     "back it up, never delete it"},
    {"max_batch", sdk::ConfigType::Int, "512",
     "most appends written in one SQLite commit, one fsync (1..100000); appends arriving together share a commit, "
     "so a larger batch favours throughput under load"},
    {"projection_linger_ms", sdk::ConfigType::Int, "2",
     "milliseconds a read model that keeps up waits after a batch to gather more commits (0..1000; 0: wakes for "
     "every commit); a read waiting for its own write may wait this much longer"},
    {"reaction_max_deliveries", sdk::ConfigType::Int, "25",
     "for a reaction without a retry schedule of its own (the webhook uses [notifications] max_attempts): "
     "deliveries of one event, the first included, before it becomes a dead letter (at least 1)"},
    {"reaction_retry_initial_ms", sdk::ConfigType::Int, "200",
     "for a reaction without a retry schedule of its own (the webhook uses [notifications] retry_initial_ms): milliseconds before the second delivery of an event a reaction failed; the pause doubles after each failure "
     "up to reaction_retry_max_ms (at least 1)"},
    {"reaction_retry_max_ms", sdk::ConfigType::Int, "30000",
     "for a reaction without a retry schedule of its own (the webhook uses [notifications] retry_max_ms): longest pause in milliseconds between two deliveries of one event (at least reaction_retry_initial_ms)"},
    {"reaction_workers", sdk::ConfigType::Int, "4",
     "delivery threads per reaction (the webhook) (1..64): so many receivers may be slow at once before other "
     "orders' events wait"},
    {"reaction_max_held", sdk::ConfigType::Int, "4096",
     "events not yet delivered a reaction holds in memory at most (16..1000000); beyond it reading the log pauses "
     "until held events are delivered or dead-lettered"},
};
const uint32_t kConfigKeyCount = sizeof(kConfigKeys) / sizeof(kConfigKeys[0]);

Result<std::unique_ptr<InMemoryTransportPlugin>> InMemoryTransportPlugin::create(const sdk::ConfigSection& config) {
    auto plugin = std::make_unique<InMemoryTransportPlugin>();
    plugin->_database = config.getString("database");
    if (plugin->_database.empty()) plugin->_database = "events.db";
    plugin->_maxBatch = config.getInt("max_batch");
    plugin->_projectionLingerMs = config.getInt("projection_linger_ms");
    transport::ReactionPolicy& policy = plugin->_reaction.policy;
    policy.maxDeliveries = config.getInt("reaction_max_deliveries");
    policy.retryInitialMs = config.getInt("reaction_retry_initial_ms");
    policy.retryMaxMs = config.getInt("reaction_retry_max_ms");
    const int64_t workers = config.getInt("reaction_workers");
    const int64_t maxHeld = config.getInt("reaction_max_held");
    const std::string section(config.name());
    if (plugin->_maxBatch < 1 || plugin->_maxBatch > 100000)
        return Status(StatusCode::InvalidConfig, "[" + section + "] max_batch must be 1..100000");
    if (plugin->_projectionLingerMs < 0 || plugin->_projectionLingerMs > 1000)
        return Status(StatusCode::InvalidConfig, "[" + section + "] projection_linger_ms must be 0..1000");
    if (policy.maxDeliveries < 1)
        return Status(StatusCode::InvalidConfig, "[" + section + "] reaction_max_deliveries must be at least 1");
    if (policy.retryInitialMs < 1 || policy.retryMaxMs < policy.retryInitialMs)
        return Status(StatusCode::InvalidConfig,
                      "[" + section + "] need 1 <= reaction_retry_initial_ms <= reaction_retry_max_ms");
    if (workers < 1 || workers > 64)
        return Status(StatusCode::InvalidConfig, "[" + section + "] reaction_workers must be 1..64");
    if (maxHeld < 16 || maxHeld > 1000000)
        return Status(StatusCode::InvalidConfig, "[" + section + "] reaction_max_held must be 16..1000000");
    plugin->_reaction.workers = static_cast<size_t>(workers);
    plugin->_reaction.maxHeld = static_cast<size_t>(maxHeld);
    return plugin;
}

Status InMemoryTransportPlugin::start(sdk::Host& host) noexcept {
    try {
        LogSettings settings;
        settings.databasePath = host.dataPath(_database);
        settings.durability = host.node().durability;
        settings.maxBatch = static_cast<size_t>(_maxBatch);
        settings.reaction = _reaction;
        settings.projectionLingerMs = _projectionLingerMs;
        settings.nodeId = host.node().nodeId;
        settings.httpAddress = host.node().httpAddress;
        auto log = std::make_unique<InMemoryEventLog>(settings, host.logger(), host.metrics());
        if (auto s = log->open(); !s) {
            host.logger().error("transport-inmemory cannot start: " + s.message);
            return s;
        }
        _log = std::move(log);
        InMemoryEventLog* raw = _log.get();
        host.addHealthCheck("event-log", [raw] { return raw->health(); });
        host.provideEventLog(raw);
        return Status::ok();
    } catch (const std::exception& e) {
        return Status(StatusCode::Internal, std::string("transport-inmemory start: ") + e.what());
    }
}

void InMemoryTransportPlugin::stop() noexcept {
    if (_log) _log->shutdown();
}

}  // namespace ordersystem::plugins::inmemory
