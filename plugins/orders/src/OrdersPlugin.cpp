// The orders plugin's lifecycle (see OrdersPlugin.h).
#include "OrdersPlugin.h"

#include "http/Routes.h"
#include "stream/StreamRoute.h"

namespace ordersystem::plugins::orders {

using sdk::Result;
using sdk::Status;
using sdk::StatusCode;

Result<OrdersSettings> readSettings(const sdk::ConfigSection& config) {
    OrdersSettings s;
    s.database = config.getString("database");
    s.cacheEntries = config.getInt("cache_entries");
    s.commandTimeoutMs = config.getInt("command_timeout_ms");
    s.idempotencyLeaseMs = config.getInt("idempotency_lease_ms");
    s.maxConflictRetries = config.getInt("max_conflict_retries");
    s.streamReplayEvents = config.getInt("stream_replay_events");
    s.streamKeepAliveMs = config.getInt("stream_keepalive_ms");
    auto bad = [](const char* key, const char* rule) {
        return Result<OrdersSettings>(StatusCode::InvalidConfig, std::string("[orders] ") + key + " " + rule);
    };
    if (s.database.empty()) return bad("database", "must not be empty");
    if (s.cacheEntries < 0) return bad("cache_entries", "must be 0 or more");
    if (s.commandTimeoutMs < 1) return bad("command_timeout_ms", "must be at least 1");
    if (s.idempotencyLeaseMs < 1) return bad("idempotency_lease_ms", "must be at least 1");
    if (s.maxConflictRetries < 0 || s.maxConflictRetries > 100) return bad("max_conflict_retries", "must be 0..100");
    if (s.streamReplayEvents < 1000 || s.streamReplayEvents > 1000000)
        return bad("stream_replay_events", "must be 1000..1000000");
    if (s.streamKeepAliveMs < 10 || s.streamKeepAliveMs > 15000) return bad("stream_keepalive_ms", "must be 10..15000");
    return s;
}

Status OrdersPlugin::start(sdk::Host& host) noexcept {
    try {
        _host = &host;
        _log = host.eventLog();
        if (!_log)
            return Status(StatusCode::InvalidConfig, "orders: no event log; load exactly one transport-* plugin");
        const std::string path = host.dataPath(_settings.database);
        _readModel = std::make_unique<store::ReadModel>(host.logger(), static_cast<size_t>(_settings.cacheEntries));
        if (Status s = _readModel->open(path); !s) return s;
        const uint64_t checkpoint = _readModel->checkpoint();
        auto head = _log->headPosition();
        if (!head) return Status(head.status().code, "orders: reading the event log's head: " + head.status().message);
        _readModel->setStartHead(*head);
        _readModel->setReadWaitMs(_settings.commandTimeoutMs);
        _readModel->countDiskRefusals(&host.metrics().counter(
            "ordersystem_reads_sent_to_workers_total",
            "Reads an event loop handed to a worker because they would wait for the disk", {{"reason", "disk"}}));

        app::ServiceSettings settings;
        settings.nodeId = host.node().nodeId;
        settings.idempotencyLeaseMs = _settings.idempotencyLeaseMs;
        settings.maxConflictRetries = static_cast<int>(_settings.maxConflictRetries);
        _service = std::make_unique<app::OrderService>(*_log, *_readModel, host, settings);

        startEventStream(*head);
        auto sub = _log->subscribe(*_readModel);
        if (!sub) return Status(sub.status().code, "orders: subscribing the read model: " + sub.status().message);
        _subscription = *sub;
        _subscribed = true;

        http::RouteModes modes;
        modes.asyncCreate = _service->createsAsynchronously();
        http::registerRoutes(host.router(), _service->mediator(), modes);
        store::ReadModel* model = _readModel.get();
        host.addHealthCheck(std::string(store::ReadModel::kName), [model] { return model->health(); });
        host.logger().info("read model " + path + " (schema v" + std::to_string(store::kSchemaVersion) + ", was v" +
                           std::to_string(_readModel->database().openedSchemaVersion()) + ") at position " +
                           std::to_string(checkpoint) + " of " + std::to_string(*head) + ", cache " +
                           std::to_string(_settings.cacheEntries) + " orders, command timeout " +
                           std::to_string(_settings.commandTimeoutMs) + " ms, log mode " + std::string(_log->mode()) +
                           (_service->createsAsynchronously() ? ", asynchronous creates" : ""));
        return Status::ok();
    } catch (const std::exception& e) {
        return Status(StatusCode::Internal, std::string("orders: start failed: ") + e.what());
    }
}

void OrdersPlugin::startEventStream(uint64_t head) {
    stream::HubSettings settings;
    settings.replayEvents = static_cast<size_t>(_settings.streamReplayEvents);
    settings.keepAliveMs = _settings.streamKeepAliveMs;
    // Older positions than the ring come from the log where the transport can read it by position.
    stream::HistoryReader history;
    sdk::EventLog* log = _log;
    if (log->readRange(head, 1)) {
        history = [log](uint64_t after, size_t max) { return log->readRange(after, max); };
    } else {
        _host->logger().info("events-stream: the " + std::string(log->mode()) +
                             " log cannot be read by position; streams resume within the last " +
                             std::to_string(settings.replayEvents) + " events only");
    }
    store::ReadModel* model = _readModel.get();
    _hub = std::make_shared<stream::EventHub>(
        _host->logger(), settings, model->checkpoint(), [model] { return model->acknowledgedPosition(); },
        std::move(history));
    _hub->start();
    _readModel->onApplied([hub = _hub.get()](const std::vector<sdk::EventRecord>& batch) { hub->apply(batch); });
    stream::registerStreamRoute(_host->router(), _hub);
}

void OrdersPlugin::stop() noexcept {
    // An asynchronous create still waiting for its append would acknowledge into a closed model.
    if (_service && !_service->waitForPendingCreates(_settings.commandTimeoutMs) && _host)
        _host->logger().error("stopping with asynchronous creates still waiting for the event log after " +
                              std::to_string(_settings.commandTimeoutMs) + " ms");
    if (_subscribed && _log) {
        _log->unsubscribe(_subscription);
        _subscribed = false;
        if (_host && _readModel)
            _host->logger().info("stopped; read model at position " + std::to_string(_readModel->appliedPosition()));
    }
    if (_hub) _hub->stop();
    if (_readModel) _readModel->close();
}

}  // namespace ordersystem::plugins::orders
