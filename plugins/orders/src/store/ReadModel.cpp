// The orders read-model projection (see ReadModel.h).
#include "store/ReadModel.h"

#include <chrono>
#include <unordered_map>

#include "ordersystem/sdk/util.h"

namespace ordersystem::plugins::orders::store {

using app::WaitPolicy;
using sdk::Result;
using sdk::Status;
using sdk::StatusCode;

ReadModel::ReadModel(sdk::Logger& logger, size_t cacheEntries) : _logger(logger), _db(logger), _cache(cacheEntries) {}

uint64_t ReadModel::checkpoint() noexcept {
    auto cp = _db.readCheckpoint(std::string(kName));
    if (!cp) {
        setFailure(cp.status().message);
        _logger.error(cp.status().message);
        return _applied.load();
    }
    // The transport resumes after this position; waiters compare against it.
    if (*cp > _applied.load()) wakeUpTo(*cp);
    return *cp;
}

Status ReadModel::apply(const std::vector<sdk::EventRecord>& batch) noexcept {
    if (batch.empty()) return Status::ok();
    try {
        // Per touched order: the cached state when a command already published this version or a
        // newer one (no JSON parsing, no copy), else a state of its own the events are applied to.
        struct Touched {
            std::shared_ptr<const app::RenderedOrder> cached;
            domain::Order own;
            const domain::Order& order() const { return cached ? cached->order : own; }
        };
        std::unordered_map<int64_t, Touched> touched;
        std::vector<int64_t> touchOrder;
        for (const auto& e : batch) {
            auto it = touched.find(e.orderId);
            if (it == touched.end()) {
                Touched t;
                if (auto hit = _cache.find(e.orderId); hit && hit->order.version >= e.version) {
                    t.cached = std::move(hit);
                } else if (e.type != domain::eventtype::kCreated || e.version != 1) {
                    auto loaded = fetch(e.orderId, false);
                    if (loaded) {
                        t.own = (*loaded)->order;
                    } else if (loaded.status().code != StatusCode::NotFound) {
                        setFailure(loaded.status().message);
                        _logger.error(loaded.status().message);
                        return loaded.status();
                    }
                }
                it = touched.emplace(e.orderId, std::move(t)).first;
                touchOrder.push_back(e.orderId);
            }
            Touched& t = it->second;
            if (e.version <= t.order().version) continue;  // already applied (replayed delivery, or cached ahead)
            if (t.cached) {
                t.own = t.cached->order;
                t.cached.reset();
            }
            if (Status s = domain::applyEvent(t.own, e); !s)
                _logger.warn("orders read model: skipping event " + e.eventId + " at position " +
                             std::to_string(e.position) + ": " + s.message);
        }
        std::vector<RowToWrite> rows;
        rows.reserve(touchOrder.size());
        for (int64_t id : touchOrder) {
            const Touched& t = touched[id];
            if (t.order().version <= 0) continue;
            RowToWrite row;
            row.order = &t.order();
            if (t.cached) row.document = t.cached->document;  // built once, by the command
            rows.push_back(row);
        }
        const uint64_t last = batch.back().position;
        if (Status s = _db.writeBatch(rows, std::string(kName), last); !s) {
            setFailure(s.message);
            _logger.error(s.message);
            return s;
        }
        // Only cached orders older than what was written need a new document: this node's
        // commands published theirs already, other orders are filled when someone reads them.
        std::vector<std::shared_ptr<const app::RenderedOrder>> entries;
        for (const auto& row : rows) {
            const int64_t cached = _cache.cachedVersion(row.order->id);
            if (cached >= 0 && cached < row.order->version) entries.push_back(app::renderOrder(*row.order));
        }
        _cache.refresh(entries);
        setFailure(std::string());
        wakeUpTo(last);
        if (_onApplied) _onApplied(batch);
        return Status::ok();
    } catch (const std::exception& e) {
        setFailure(e.what());
        return Status(StatusCode::Internal, std::string("orders read model: apply failed: ") + e.what());
    }
}

bool ReadModel::waitForPosition(uint64_t position, int64_t timeoutMs) noexcept {
    if (_applied.load(std::memory_order_acquire) >= position) return true;
    try {
        std::unique_lock<std::mutex> lock(_waitMutex);
        if (_applied.load(std::memory_order_acquire) >= position) return true;
        Waiter waiter;
        auto it = _waiters.emplace(position, &waiter);
        if (waiter.cv.wait_for(lock, std::chrono::milliseconds(timeoutMs), [&] { return waiter.done; })) return true;
        _waiters.erase(it);  // timed out: still registered, since done is only set on removal
        return false;
    } catch (...) {
        return _applied.load() >= position;
    }
}

void ReadModel::wakeUpTo(uint64_t position) {
    std::lock_guard<std::mutex> lock(_waitMutex);
    _applied.store(position, std::memory_order_release);
    // Notified under the lock: a waiter may return and destroy its Waiter right after.
    auto end = _waiters.upper_bound(position);
    for (auto it = _waiters.begin(); it != end; ++it) {
        it->second->done = true;
        it->second->cv.notify_one();
    }
    _waiters.erase(_waiters.begin(), end);
}

void ReadModel::setFailure(const std::string& message) {
    std::lock_guard<std::mutex> lock(_failureMutex);
    _failure = message;
}

sdk::HealthCheckResult ReadModel::health() const {
    {
        std::lock_guard<std::mutex> lock(_failureMutex);
        if (!_failure.empty()) return {false, "read model failing: " + _failure};
    }
    const uint64_t applied = _applied.load();
    const uint64_t head = _startHead.load();
    if (applied < head)
        return {false, "catching up: applied position " + std::to_string(applied) + " of " + std::to_string(head)};
    return {true, "applied position " + std::to_string(applied)};
}

void ReadModel::acknowledge(const domain::Order& order, uint64_t position) noexcept {
    std::shared_ptr<const app::RenderedOrder> entry;
    try {
        entry = app::renderOrder(order);
    } catch (...) {
        // Out of memory for the cache entry: readers miss and wait for the projection instead.
    }
    acknowledge(std::move(entry), position);
}

void ReadModel::acknowledge(std::shared_ptr<const app::RenderedOrder> entry, uint64_t position) noexcept {
    uint64_t seen = _acknowledged.load(std::memory_order_relaxed);
    while (seen < position && !_acknowledged.compare_exchange_weak(seen, position, std::memory_order_acq_rel)) {
    }
    if (!entry) return;
    try {
        _cache.publish(std::move(entry));
    } catch (...) {
    }
}

void ReadModel::setStartHead(uint64_t head) noexcept {
    _startHead.store(head);
    uint64_t seen = _acknowledged.load(std::memory_order_relaxed);
    while (seen < head && !_acknowledged.compare_exchange_weak(seen, head, std::memory_order_acq_rel)) {
    }
}

Status ReadModel::catchUpWithWrites(WaitPolicy wait) noexcept {
    // One position for the decision and the wait: a write acknowledged after this load is not
    // one the caller was answered before it asked, and cannot turn "no wait" into a wait.
    const uint64_t position = _acknowledged.load(std::memory_order_acquire);
    if (_applied.load(std::memory_order_acquire) >= position) return Status::ok();
    if (wait == WaitPolicy::MustNotWait)
        return Status(StatusCode::WouldBlock, "orders read model: not yet at this node's last write");
    const int64_t timeoutMs = _readWaitMs.load(std::memory_order_relaxed);
    if (!waitForPosition(position, timeoutMs)) warnReadingBehind(position, timeoutMs);
    return Status::ok();
}

void ReadModel::warnReadingBehind(uint64_t position, int64_t timeoutMs) noexcept {
    // At most one line per second: a stuck projection must not flood the log once per request.
    const int64_t now = sdk::nowMs();
    int64_t last = _lastLagWarningMs.load(std::memory_order_relaxed);
    const uint64_t suppressed = _suppressedLagWarnings.fetch_add(1, std::memory_order_relaxed);
    if (now - last < 1000 || !_lastLagWarningMs.compare_exchange_strong(last, now)) return;
    _suppressedLagWarnings.fetch_sub(suppressed + 1, std::memory_order_relaxed);
    try {
        _logger.warn(
            "orders read model did not apply position " + std::to_string(position) + " within " +
            std::to_string(timeoutMs) + " ms (applied " + std::to_string(appliedPosition()) + "); reading anyway" +
            (suppressed > 0 ? " (" + std::to_string(suppressed) + " similar since the last warning)" : std::string()));
    } catch (...) {
    }
}

Result<std::vector<app::OrderRow>> ReadModel::list(const app::ListFilter& filter, WaitPolicy wait) noexcept {
    if (Status s = catchUpWithWrites(wait); !s) return s;
    return _db.list(filter, wait);
}

Result<std::shared_ptr<const app::RenderedOrder>> ReadModel::fetch(int64_t id, bool waitForWrites) noexcept {
    if (auto hit = _cache.find(id)) return hit;
    if (waitForWrites) {
        catchUpWithWrites(WaitPolicy::MayWait);
        // The projection may have refreshed it meanwhile (or a command published it).
        if (auto hit = _cache.find(id)) return hit;
    }
    const uint64_t generation = _cache.generation();
    auto loaded = _db.loadOrder(id);
    if (!loaded) return loaded.status();
    try {
        auto entry = app::renderOrder(std::move(*loaded));
        _cache.fill(entry, generation);
        return entry;
    } catch (const std::exception& e) {
        return Status(StatusCode::Internal, e.what());
    }
}

Status ReadModel::appendDocument(int64_t id, std::string* out, WaitPolicy wait) noexcept {
    try {
        if (_cache.copyDocument(id, out)) return Status::ok();
    } catch (const std::exception& e) {
        return Status(StatusCode::Internal, e.what());
    }
    // A miss copies the document column of the row (written by the projection): no parsing, no
    // cache fill. The cache keeps what commands touched recently; a GET of an old order costs one
    // indexed lookup.
    if (Status s = catchUpWithWrites(wait); !s) return s;
    try {
        if (_cache.copyDocument(id, out)) return Status::ok();
        return _db.appendDocument(id, out, wait);
    } catch (const std::exception& e) {
        return Status(StatusCode::Internal, e.what());
    }
}

Result<domain::Order> ReadModel::loadOrder(int64_t id) noexcept {
    auto entry = fetch(id, true);
    if (!entry) return entry.status();
    return (*entry)->order;
}

}  // namespace ordersystem::plugins::orders::store
