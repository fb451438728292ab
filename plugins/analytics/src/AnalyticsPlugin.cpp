// The analytics projection: one batch = one SQLite transaction holding the effect and the
// checkpoint; memory is updated only after the commit, so a failed batch changes nothing.
#include "AnalyticsPlugin.h"

#include <algorithm>
#include <exception>
#include <map>

#include "ordersystem/sdk/util.h"

namespace ordersystem::plugins::analytics {

using sdk::ConfigType;
using sdk::Status;
using sdk::StatusCode;

const sdk::ConfigKeySpec kConfigKeys[] = {
    {"database", ConfigType::Path, "analytics.db",
     "SQLite file behind GET /api/analytics, relative to [node] data_dir; rebuilt from the event log if deleted"},
};
const uint32_t kConfigKeyCount = sizeof(kConfigKeys) / sizeof(kConfigKeys[0]);

AnalyticsPlugin::AnalyticsPlugin(std::string database) : _database(std::move(database)) {}

AnalyticsPlugin::~AnalyticsPlugin() { stop(); }

std::unique_ptr<AnalyticsPlugin> AnalyticsPlugin::create(const sdk::ConfigSection& config, Status* error) {
    std::string database = config.getString("database");
    if (database.find_first_not_of(" \t") == std::string::npos) {
        if (error) *error = Status(StatusCode::InvalidConfig, "analytics.database must name a file");
        return nullptr;
    }
    return std::make_unique<AnalyticsPlugin>(std::move(database));
}

Status AnalyticsPlugin::start(sdk::Host& host) noexcept {
    try {
        _host = &host;
        sdk::EventLog* log = host.eventLog();
        if (!log) return Status(StatusCode::Internal, "analytics: no event log (a transport plugin must start first)");
        _path = host.dataPath(_database);
        Status opened = _store.open(_path);
        if (!opened) return Status(opened.code, "analytics: " + opened.message);
        {
            Totals loaded = _store.loadTotals();
            std::lock_guard<std::mutex> lock(_mutex);
            _totals = loaded;
        }
        _checkpoint.store(_store.loadCheckpoint());

        host.router().add(
            "GET", "/api/analytics",
            [this](const sdk::HttpRequest&, sdk::HttpResponse& res) {
                res.status = 200;
                res.contentType = "application/json";
                res.body = renderAnalytics(totals());
            },
            sdk::RouteOptions{false, "getAnalytics"});
        host.addHealthCheck("analytics", [this]() {
            std::lock_guard<std::mutex> lock(_mutex);
            if (!_lastError.empty()) return sdk::HealthCheckResult{false, "last batch failed: " + _lastError};
            return sdk::HealthCheckResult{true, "checkpoint " + std::to_string(_checkpoint.load())};
        });

        auto sub = log->subscribe(static_cast<sdk::Projection&>(*this));
        if (!sub) {
            _store.close();
            return Status(sub.status().code, "analytics: cannot subscribe to the event log: " + sub.status().message);
        }
        _subscription = sub.value();
        const Totals t = totals();
        host.logger().info("analytics: " + std::to_string(t.totalOrders()) + " orders at checkpoint " +
                           std::to_string(_checkpoint.load()) + " in " + _path +
                           (_store.createdFresh() ? " (new file: rebuilding from the start of the event log)" : "") +
                           (_store.upgradedFrom() > 0
                                ? " (file upgraded from schema " + std::to_string(_store.upgradedFrom()) + ")"
                                : std::string()));
        return Status::ok();
    } catch (const StoreError& e) {
        _store.close();
        return Status(StatusCode::Unavailable, "analytics: cannot load " + _path + ": " + e.what());
    } catch (const std::exception& e) {
        _store.close();
        return Status(StatusCode::Internal, std::string("analytics: start failed: ") + e.what());
    }
}

void AnalyticsPlugin::stop() noexcept {
    if (_subscription && _host && _host->eventLog()) _host->eventLog()->unsubscribe(*_subscription);
    _subscription.reset();
    _store.close();
}

Totals AnalyticsPlugin::totals() const {
    std::lock_guard<std::mutex> lock(_mutex);
    return _totals;
}

Status AnalyticsPlugin::apply(const std::vector<sdk::EventRecord>& batch) noexcept {
    if (batch.empty() || batch.back().position <= _checkpoint.load()) return Status::ok();  // replayed: done before
    if (!_store.isOpen()) return Status(StatusCode::Unavailable, "analytics: the database is not open");
    Totals delta;
    uint64_t last = 0;
    try {
        _store.begin();
        try {
            last = applyInTransaction(batch, delta);
            Totals after = totals();  // only this thread changes them
            after.merge(delta);
            _store.setCheckpoint(last, after);
            _store.commit();
        } catch (...) {
            _store.rollback();
            throw;
        }
    } catch (const StoreError& e) {
        noteFailure(e.what());
        return Status(StatusCode::Unavailable, "analytics: " + _path + ": " + e.what());
    } catch (const std::exception& e) {
        noteFailure(e.what());
        return Status(StatusCode::Internal, std::string("analytics: ") + e.what());
    }
    {
        std::lock_guard<std::mutex> lock(_mutex);
        _totals.merge(delta);
        _lastError.clear();
    }
    _checkpoint.store(last);
    return Status::ok();
}

uint64_t AnalyticsPlugin::applyInTransaction(const std::vector<sdk::EventRecord>& batch, Totals& delta) {
    const uint64_t from = _checkpoint.load();
    std::vector<int64_t> ids;
    ids.reserve(batch.size());
    for (const auto& event : batch)
        if (event.position > from) ids.push_back(event.orderId);
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    // Orders as the batch goes: later events of an order see the earlier ones.
    std::map<int64_t, OrderState> orders = _store.findMany(ids);
    std::map<int64_t, OrderState> changed;
    uint64_t last = from;
    for (const auto& event : batch) {
        if (event.position <= last) continue;  // at or below the checkpoint: already counted
        last = event.position;
        std::optional<OrderState> current;
        if (auto it = orders.find(event.orderId); it != orders.end()) current = it->second;
        const Decision d = decide(event, current);
        if (!d.note.empty() && _host) {
            if (d.noteIsWarning) _host->logger().warn("analytics: " + d.note);
            else _host->logger().debug("analytics: " + d.note);
        }
        if (d.kind != Decision::Kind::Upsert) continue;
        if (current) delta.remove(*current);
        delta.add(d.next);
        orders[event.orderId] = d.next;
        changed[event.orderId] = d.next;
    }
    _store.upsertMany(changed);
    return last;
}

void AnalyticsPlugin::noteFailure(const std::string& message) {
    if (_host) _host->logger().warn("analytics: a batch failed and will be retried: " + message);
    std::lock_guard<std::mutex> lock(_mutex);
    _lastError = message;
}

}  // namespace ordersystem::plugins::analytics
