// The cluster-mode event log's subscriptions: the node's projections share one cursor and thread
// (ProjectionFeed.h), each reaction has workers of its own (ReactionWorker.h).
#include "NatsEventLog.h"

#include "ProjectionFeed.h"
#include "ReactionWorker.h"

namespace ordersystem::plugins::nats {

namespace {
/// A projection's place in the shared feed, as a subscription of its own.
class FeedMember final : public Subscription {
public:
    FeedMember(ProjectionFeed& feed, sdk::Projection& projection) : _feed(feed), _projection(projection) {}
    void stop() noexcept override { _feed.remove(_projection); }  // returns once no apply() of it runs

private:
    ProjectionFeed& _feed;
    sdk::Projection& _projection;
};
}  // namespace

sdk::Result<sdk::SubscriptionId> NatsEventLog::subscribe(sdk::Projection& projection) noexcept {
    try {
        std::lock_guard<std::mutex> lock(_feedMutex);
        if (!_feed) _feed = std::make_unique<ProjectionFeed>(_settings, _client, _host, "read-models", true);
        if (auto st = _feed->add(projection); !st) return st;
        return _subscriptions.add(std::make_unique<FeedMember>(*_feed, projection));
    } catch (const std::exception& e) {
        return sdk::Status(sdk::StatusCode::Internal, std::string("subscribe: ") + e.what());
    }
}

sdk::Result<sdk::SubscriptionId> NatsEventLog::subscribe(sdk::Reaction& reaction) noexcept {
    try {
        auto worker = std::make_unique<ReactionWorker>(_settings, _client, reaction, _host);
        if (auto st = worker->start(); !st) return st;
        return _subscriptions.add(std::move(worker));
    } catch (const std::exception& e) {
        return sdk::Status(sdk::StatusCode::Internal, std::string("subscribe: ") + e.what());
    }
}

void NatsEventLog::unsubscribe(sdk::SubscriptionId id) noexcept { _subscriptions.stop(id); }

void NatsEventLog::stopSubscriptions() noexcept {
    _subscriptions.stopAll();
    std::lock_guard<std::mutex> lock(_feedMutex);
    if (_feed) _feed->stop();
}

}  // namespace ordersystem::plugins::nats
