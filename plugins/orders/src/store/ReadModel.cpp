// The orders read-model projection (see ReadModel.h).
#include "store/ReadModel.h"

#include <chrono>
#include <unordered_map>

namespace ordersystem::plugins::orders::store {

using sdk::Result;
using sdk::Status;
using sdk::StatusCode;

namespace {
std::shared_ptr<const CachedOrder> makeEntry(domain::Order order) {
    auto entry = std::make_shared<CachedOrder>();
    entry->order = std::move(order);
    entry->document.reserve(512);
    sdk::JsonWriter w(entry->document);
    domain::writeOrderDocument(w, entry->order);
    return entry;
}
}  // namespace

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
        std::unordered_map<int64_t, domain::Order> touched;
        std::vector<int64_t> touchOrder;
        for (const auto& e : batch) {
            auto it = touched.find(e.orderId);
            if (it == touched.end()) {
                domain::Order current;
                if (e.type != domain::eventtype::kCreated || e.version != 1) {
                    auto loaded = loadOrder(e.orderId);
                    if (loaded) {
                        current = std::move(*loaded);
                    } else if (loaded.status().code != StatusCode::NotFound) {
                        setFailure(loaded.status().message);
                        _logger.error(loaded.status().message);
                        return loaded.status();
                    }
                }
                it = touched.emplace(e.orderId, std::move(current)).first;
                touchOrder.push_back(e.orderId);
            }
            if (e.version <= it->second.version) continue;  // already applied (replayed delivery)
            if (Status s = domain::applyEvent(it->second, e); !s)
                _logger.warn("orders read model: skipping event " + e.eventId + " at position " +
                             std::to_string(e.position) + ": " + s.message);
        }
        std::vector<const domain::Order*> rows;
        rows.reserve(touchOrder.size());
        for (int64_t id : touchOrder) {
            const auto& o = touched[id];
            if (o.version > 0) rows.push_back(&o);
        }
        const uint64_t last = batch.back().position;
        if (Status s = _db.writeBatch(rows, std::string(kName), last); !s) {
            setFailure(s.message);
            _logger.error(s.message);
            return s;
        }
        std::vector<std::shared_ptr<const CachedOrder>> entries;
        entries.reserve(rows.size());
        for (const auto* o : rows) entries.push_back(makeEntry(*o));
        _cache.publish(entries);
        setFailure(std::string());
        wakeUpTo(last);
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

Result<std::shared_ptr<const CachedOrder>> ReadModel::fetch(int64_t id) noexcept {
    if (auto hit = _cache.find(id)) return hit;
    const uint64_t generation = _cache.generation();
    auto loaded = _db.loadOrder(id);
    if (!loaded) return loaded.status();
    try {
        auto entry = makeEntry(std::move(*loaded));
        _cache.fill(entry, generation);
        return entry;
    } catch (const std::exception& e) {
        return Status(StatusCode::Internal, e.what());
    }
}

Status ReadModel::appendDocument(int64_t id, std::string* out) noexcept {
    try {
        if (_cache.copyDocument(id, out)) return Status::ok();
    } catch (const std::exception& e) {
        return Status(StatusCode::Internal, e.what());
    }
    auto entry = fetch(id);
    if (!entry) return entry.status();
    out->append((*entry)->document);
    return Status::ok();
}

Result<domain::Order> ReadModel::loadOrder(int64_t id) noexcept {
    auto entry = fetch(id);
    if (!entry) return entry.status();
    return (*entry)->order;
}

}  // namespace ordersystem::plugins::orders::store
