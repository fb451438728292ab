// The cluster-mode event log's subscriptions: the node's projections share one cursor and thread
// (ProjectionFeed.h), each reaction has workers of its own (ReactionWorker.h).
#include "NatsEventLog.h"

#include "ProjectionFeed.h"
#include "ReactionWorker.h"

namespace ordersystem::plugins::nats {

sdk::SubscriptionId NatsEventLog::addWorker(std::unique_ptr<SubscriptionWorker> worker) {
    const sdk::SubscriptionId id = _nextSubscription.fetch_add(1);
    std::lock_guard<std::mutex> lock(_subMutex);
    _workers.emplace(id, std::move(worker));
    return id;
}

sdk::Result<sdk::SubscriptionId> NatsEventLog::subscribe(sdk::Projection& projection) noexcept {
    try {
        std::lock_guard<std::mutex> lock(_subMutex);
        if (!_feed) _feed = std::make_unique<ProjectionFeed>(_settings, _client, _host, "read-models", true);
        if (auto st = _feed->add(projection); !st) return st;
        const sdk::SubscriptionId id = _nextSubscription.fetch_add(1);
        _projections.emplace(id, &projection);
        return id;
    } catch (const std::exception& e) {
        return sdk::Status(sdk::StatusCode::Internal, std::string("subscribe: ") + e.what());
    }
}

sdk::Result<sdk::SubscriptionId> NatsEventLog::subscribe(sdk::Reaction& reaction) noexcept {
    try {
        auto worker = std::make_unique<ReactionWorker>(_settings, _client, reaction, _host);
        if (auto st = worker->start(); !st) return st;
        return addWorker(std::move(worker));
    } catch (const std::exception& e) {
        return sdk::Status(sdk::StatusCode::Internal, std::string("subscribe: ") + e.what());
    }
}

void NatsEventLog::unsubscribe(sdk::SubscriptionId id) noexcept {
    std::unique_ptr<SubscriptionWorker> worker;
    {
        std::lock_guard<std::mutex> lock(_subMutex);
        if (auto p = _projections.find(id); p != _projections.end()) {
            _feed->remove(*p->second);  // returns once no apply() of it runs
            _projections.erase(p);
            return;
        }
        auto it = _workers.find(id);
        if (it == _workers.end()) return;
        worker = std::move(it->second);
        _workers.erase(it);
    }
    worker->stop();
}

void NatsEventLog::stopSubscriptions() noexcept {
    std::map<sdk::SubscriptionId, std::unique_ptr<SubscriptionWorker>> workers;
    {
        std::lock_guard<std::mutex> lock(_subMutex);
        workers.swap(_workers);
        if (_feed) _feed->stop();
        _projections.clear();
    }
    for (auto& w : workers) w.second->stop();
}

}  // namespace ordersystem::plugins::nats
