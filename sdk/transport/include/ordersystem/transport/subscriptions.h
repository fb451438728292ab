// Contract: a transport's running subscriptions by id. add() takes a started Subscription and
// hands out its EventLog id; stop(id) removes it and stops it outside the lock, so that
// unsubscribe() returns once no callback of it runs (Subscription::stop()'s promise) without
// holding up other subscribers; stopAll() does that for every one (the transport's shutdown).
// Thread-safe. stop() must not be called from inside the subscription's own callback.
#pragma once

#include <map>
#include <memory>
#include <mutex>

#include "ordersystem/sdk/eventlog.h"

namespace ordersystem::transport {

class Subscription {
public:
    virtual ~Subscription() = default;
    /// Stops delivering; returns once no callback runs or will run.
    virtual void stop() noexcept = 0;
};

class Subscriptions {
public:
    sdk::SubscriptionId add(std::unique_ptr<Subscription> subscription) {
        std::lock_guard<std::mutex> lock(_mutex);
        const sdk::SubscriptionId id = _nextId++;
        _running.emplace(id, std::move(subscription));
        return id;
    }
    /// false: no such subscription (already stopped, or never added).
    bool stop(sdk::SubscriptionId id) noexcept {
        std::unique_ptr<Subscription> gone;
        {
            std::lock_guard<std::mutex> lock(_mutex);
            auto it = _running.find(id);
            if (it == _running.end()) return false;
            gone = std::move(it->second);
            _running.erase(it);
        }
        gone->stop();
        return true;
    }
    void stopAll() noexcept {
        std::map<sdk::SubscriptionId, std::unique_ptr<Subscription>> all;
        {
            std::lock_guard<std::mutex> lock(_mutex);
            all.swap(_running);
        }
        for (auto& [id, s] : all) s->stop();
    }

private:
    std::mutex _mutex;
    std::map<sdk::SubscriptionId, std::unique_ptr<Subscription>> _running;
    sdk::SubscriptionId _nextId = 1;
};

}  // namespace ordersystem::transport
