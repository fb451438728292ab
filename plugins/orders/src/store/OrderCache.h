// Contract: a bounded hot cache of orders by id: the aggregate plus its serialized document, so a
// GET is a map lookup under a shared lock. Written by command threads after a successful append
// (publish), by the projection's apply thread (refreshing entries it changed) and by readers
// filling a miss; read by HTTP threads. A version never replaces a newer one.
// Thread-safe. Memory is bounded by `capacity` entries (oldest inserted evicted first).
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "app/ReadModelPort.h"

namespace ordersystem::plugins::orders::store {

class OrderCache {
public:
    explicit OrderCache(size_t capacity) : _capacity(capacity) {}

    /// Copies the document into *out; false on a miss.
    bool copyDocument(int64_t id, std::string* out) const {
        std::shared_lock<std::shared_mutex> lock(_mutex);
        auto it = _map.find(id);
        if (it == _map.end()) return false;
        out->append(it->second->document);
        return true;
    }

    /// The cached aggregate (null on a miss).
    std::shared_ptr<const app::RenderedOrder> find(int64_t id) const {
        std::shared_lock<std::shared_mutex> lock(_mutex);
        auto it = _map.find(id);
        return it == _map.end() ? nullptr : it->second;
    }

    /// The generation changes with every applied batch; readers filling a miss pass the value
    /// they saw before reading the database, so a stale row never overwrites a newer apply.
    uint64_t generation() const {
        std::shared_lock<std::shared_mutex> lock(_mutex);
        return _generation;
    }

    /// Reader fill: stored only when no batch was applied since `seenGeneration`.
    void fill(std::shared_ptr<const app::RenderedOrder> entry, uint64_t seenGeneration) {
        std::unique_lock<std::shared_mutex> lock(_mutex);
        if (seenGeneration != _generation) return;
        putLocked(std::move(entry));
    }

    /// A command's new order state (inserted or replacing an older version); bumps the generation.
    void publish(std::shared_ptr<const app::RenderedOrder> entry) {
        std::unique_lock<std::shared_mutex> lock(_mutex);
        putLocked(std::move(entry));
        ++_generation;
    }

    /// Version of the cached order; -1 when not cached.
    int64_t cachedVersion(int64_t id) const {
        std::shared_lock<std::shared_mutex> lock(_mutex);
        auto it = _map.find(id);
        return it == _map.end() ? -1 : it->second->order.version;
    }

    /// Apply thread, after each committed batch: replaces cached entries that are older than the
    /// given ones (absent ids are not inserted) and bumps the generation, so a reader that read
    /// the database before this batch does not fill a stale row.
    void refresh(std::vector<std::shared_ptr<const app::RenderedOrder>>& entries) {
        std::unique_lock<std::shared_mutex> lock(_mutex);
        for (auto& e : entries) {
            auto it = _map.find(e->order.id);
            if (it != _map.end() && it->second->order.version < e->order.version) it->second = std::move(e);
        }
        ++_generation;
    }

    void clear() {
        std::unique_lock<std::shared_mutex> lock(_mutex);
        _map.clear();
        _fifo.clear();
        ++_generation;
    }

    size_t size() const {
        std::shared_lock<std::shared_mutex> lock(_mutex);
        return _map.size();
    }

private:
    void putLocked(std::shared_ptr<const app::RenderedOrder> entry) {
        if (_capacity == 0) return;
        const int64_t id = entry->order.id;
        auto it = _map.find(id);
        if (it != _map.end()) {
            if (it->second->order.version <= entry->order.version) it->second = std::move(entry);
            return;
        }
        while (_map.size() >= _capacity && !_fifo.empty()) {
            _map.erase(_fifo.front());
            _fifo.pop_front();
        }
        _map.emplace(id, std::move(entry));
        _fifo.push_back(id);
    }

    const size_t _capacity;
    mutable std::shared_mutex _mutex;
    std::unordered_map<int64_t, std::shared_ptr<const app::RenderedOrder>> _map;
    std::deque<int64_t> _fifo;  ///< insertion order; each id once
    uint64_t _generation = 0;
};

}  // namespace ordersystem::plugins::orders::store
