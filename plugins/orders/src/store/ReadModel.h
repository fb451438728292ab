// Contract: the "orders-read-model" projection: applies events from the transport's projection
// thread (one batch = one SQLite transaction with its checkpoint), then refreshes cached orders it
// changed and wakes readers waiting for a position. Commands (HTTP threads) do not wait for it:
// after a successful append they call acknowledge(), which puts the new order into the hot cache
// and raises the node's acknowledged position; every read that has to go to SQLite (cache miss,
// lists) first waits until the projection has applied that position (read-your-writes for every
// query without a thread hop on the write path). A read that must not wait (app::ReadModelPort)
// answers WouldBlock instead, decided on the one acknowledged position it would have waited for.
// All public methods are thread-safe and noexcept; failures come back as Status.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "app/ReadModelPort.h"
#include "ordersystem/sdk/eventlog.h"
#include "ordersystem/sdk/host.h"
#include "store/OrderCache.h"
#include "store/ReadModelDb.h"

namespace ordersystem::plugins::orders::store {

class ReadModel final : public sdk::Projection, public app::ReadModelPort {
public:
    static constexpr std::string_view kName = "orders-read-model";

    ReadModel(sdk::Logger& logger, size_t cacheEntries);

    sdk::Status open(const std::string& path) { return _db.open(path); }
    void close() noexcept { _db.close(); }

    /// Called on the projection's thread after each batch is written, with that batch (the live
    /// event stream follows the read model); set before the model is subscribed. Must not throw.
    using AppliedListener = std::function<void(const std::vector<sdk::EventRecord>&)>;
    void onApplied(AppliedListener listener) { _onApplied = std::move(listener); }

    std::string_view projectionName() const noexcept override { return kName; }
    uint64_t checkpoint() noexcept override;
    sdk::Status apply(const std::vector<sdk::EventRecord>& batch) noexcept override;

    /// Blocks until the projection has applied `position` or timeoutMs passed; true when applied.
    bool waitForPosition(uint64_t position, int64_t timeoutMs) noexcept;
    uint64_t appliedPosition() const noexcept { return _applied.load(std::memory_order_acquire); }

    /// Puts the order into the cache (never over a newer version) and raises the acknowledged
    /// position to `position`: later SQLite reads wait for it.
    void acknowledge(const domain::Order& order, uint64_t position) noexcept override;
    /// Publishes the rendered order only: the thread completing a batch of appends does no more.
    void acknowledge(std::shared_ptr<const app::RenderedOrder> entry, uint64_t position) noexcept override;
    uint64_t acknowledgedPosition() const noexcept { return _acknowledged.load(std::memory_order_acquire); }
    /// How long a SQLite read waits for the projection to reach the acknowledged position
    /// ([orders] command_timeout_ms); after that it reads anyway and logs a (rate-limited) warning.
    void setReadWaitMs(int64_t ms) noexcept { _readWaitMs.store(ms); }
    /// Counts the reads that must not wait and were refused because they needed the disk.
    void countDiskRefusals(sdk::Counter* counter) noexcept { _db.countDiskRefusals(counter); }

    /// The log's head when the plugin started: the model is "catching up" until it gets there.
    /// It also counts as acknowledged: writes answered before a restart stay readable after it.
    void setStartHead(uint64_t head) noexcept;
    sdk::HealthCheckResult health() const;

    /// Appends the order document of `id` (the cache, else SQLite) to *out.
    sdk::Status appendDocument(int64_t id, std::string* out, app::WaitPolicy wait) noexcept override;
    sdk::Result<std::vector<app::OrderRow>> list(const app::ListFilter& filter, app::WaitPolicy wait) noexcept override;
    sdk::Result<domain::Order> loadOrder(int64_t id) noexcept override;

    ReadModelDb& database() noexcept { return _db; }
    const OrderCache& cache() const noexcept { return _cache; }

private:
    /// Cache, else database. waitForWrites: first wait for the acknowledged position (HTTP
    /// threads); the apply thread passes false (it is the one that would have to catch up).
    sdk::Result<std::shared_ptr<const app::RenderedOrder>> fetch(int64_t id, bool waitForWrites) noexcept;
    /// Before a read of SQLite: everything this node acknowledged is applied, waited for (bounded
    /// by _readWaitMs, then it reads anyway) unless the caller must not wait: then WouldBlock.
    sdk::Status catchUpWithWrites(app::WaitPolicy wait) noexcept;
    void warnReadingBehind(uint64_t position, int64_t timeoutMs) noexcept;
    void setFailure(const std::string& message);

    sdk::Logger& _logger;
    AppliedListener _onApplied;
    ReadModelDb _db;
    OrderCache _cache;
    std::atomic<uint64_t> _applied{0};
    std::atomic<uint64_t> _startHead{0};
    std::atomic<uint64_t> _acknowledged{0};
    std::atomic<int64_t> _readWaitMs{5000};
    std::atomic<int64_t> _lastLagWarningMs{0};
    std::atomic<uint64_t> _suppressedLagWarnings{0};
    /// A command thread waiting for its position; woken alone when that position is applied.
    struct Waiter {
        std::condition_variable cv;
        bool done = false;
    };
    void wakeUpTo(uint64_t position);

    std::mutex _waitMutex;
    std::multimap<uint64_t, Waiter*> _waiters;  ///< by awaited position; guarded by _waitMutex
    mutable std::mutex _failureMutex;
    std::string _failure;  ///< last apply/database failure; empty when healthy
};

}  // namespace ordersystem::plugins::orders::store
