// Contract: the "analytics" Handler plugin. create() (main thread, also for --check-config)
// reads [analytics] database. start() opens the SQLite file (resolved with Host::dataPath),
// loads the aggregates into memory, registers GET /api/analytics and the readiness check
// "analytics", then subscribes the Projection "analytics"; stop() unsubscribes (returns once no
// apply() runs) and closes the file.
// apply() runs on the transport's one thread for this projection; getAnalytics() and the health
// check run on HTTP threads and read only the in-memory aggregates under a mutex.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "Aggregates.h"
#include "AnalyticsStore.h"
#include "ordersystem/sdk/eventlog.h"
#include "ordersystem/sdk/plugin.h"

namespace ordersystem::plugins::analytics {

/// The keys of [analytics], as the descriptor declares them.
extern const sdk::ConfigKeySpec kConfigKeys[];
extern const uint32_t kConfigKeyCount;

class AnalyticsPlugin final : public sdk::Plugin, public sdk::Projection {
public:
    explicit AnalyticsPlugin(std::string database);
    ~AnalyticsPlugin() override;

    /// Descriptor entry: the plugin, or null with *error set.
    static std::unique_ptr<AnalyticsPlugin> create(const sdk::ConfigSection& config, sdk::Status* error);

    sdk::Status start(sdk::Host& host) noexcept override;
    void stop() noexcept override;

    std::string_view projectionName() const noexcept override { return "analytics"; }
    uint64_t checkpoint() noexcept override { return _checkpoint.load(); }
    sdk::Status apply(const std::vector<sdk::EventRecord>& batch) noexcept override;

    /// A consistent copy of the in-memory aggregates (what GET /api/analytics renders).
    Totals totals() const;

private:
    /// Applies the batch inside the open transaction; returns the delta and last position.
    uint64_t applyInTransaction(const std::vector<sdk::EventRecord>& batch, Totals& delta);
    void noteFailure(const std::string& message);

    std::string _database;  ///< as configured; resolved in start()
    std::string _path;
    AnalyticsStore _store;
    sdk::Host* _host = nullptr;
    std::optional<sdk::SubscriptionId> _subscription;

    mutable std::mutex _mutex;  ///< guards _totals and _lastError
    Totals _totals;
    std::string _lastError;  ///< the last apply failure; cleared by the next success
    std::atomic<uint64_t> _checkpoint{0};
};

}  // namespace ordersystem::plugins::analytics
