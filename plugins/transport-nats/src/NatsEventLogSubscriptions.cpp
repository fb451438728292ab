// The cluster-mode event log's subscriptions: the node's projections share one cursor and thread
// (ProjectionFeed.h), each reaction has workers of its own (ReactionWorker.h) and its dead letters
// in one bucket shared by every node (KvDeadLetterStore.h).
#include "KvBuckets.h"
#include "KvDeadLetterStore.h"
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
        auto bucket = deadLetterBucket();
        if (!bucket) return bucket.status();
        auto worker = std::make_unique<ReactionWorker>(_settings, _client, *this, *bucket, reaction, _host);
        if (auto st = worker->start(); !st) return st;
        ReactionWorker* running = worker.get();
        std::lock_guard<std::mutex> lock(_reactionsMutex);
        const sdk::SubscriptionId id = _subscriptions.add(std::move(worker));
        _reactions.emplace(id, running);
        return id;
    } catch (const std::exception& e) {
        return sdk::Status(sdk::StatusCode::Internal, std::string("subscribe: ") + e.what());
    }
}

void NatsEventLog::unsubscribe(sdk::SubscriptionId id) noexcept {
    {
        std::lock_guard<std::mutex> lock(_reactionsMutex);
        _reactions.erase(id);
    }
    _subscriptions.stop(id);
}

void NatsEventLog::stopSubscriptions() noexcept {
    {
        std::lock_guard<std::mutex> lock(_reactionsMutex);
        _reactions.clear();
    }
    _subscriptions.stopAll();
    {
        std::lock_guard<std::mutex> lock(_feedMutex);
        if (_feed) _feed->stop();
    }
    std::lock_guard<std::mutex> lock(_deadLetterMutex);
    if (_deadLetterBucket != nullptr) kvStore_Destroy(_deadLetterBucket);
    _deadLetterBucket = nullptr;
}

sdk::Result<kvStore*> NatsEventLog::deadLetterBucket() {
    std::lock_guard<std::mutex> lock(_deadLetterMutex);
    if (_deadLetterBucket != nullptr) return _deadLetterBucket;
    auto opened = openBucket(_client, _settings.deadLettersBucket(), 0, _settings);  // no TTL: kept until retried
    if (!opened) return opened.status();
    _deadLetterBucket = *opened;
    return _deadLetterBucket;
}

sdk::Result<std::vector<sdk::DeadLetter>> NatsEventLog::deadLetters(std::string_view reaction, size_t limit) noexcept {
    try {
        auto bucket = deadLetterBucket();
        if (!bucket) return bucket.status();
        return KvDeadLetterStore(_client, *bucket, std::string(reaction))
            .list(std::min(limit, transport::kMaxDeadLettersListed));
    } catch (const std::exception& e) {
        return sdk::Status(sdk::StatusCode::Internal, std::string("deadLetters: ") + e.what());
    }
}

sdk::Status NatsEventLog::retryDeadLetter(std::string_view reaction, const std::string& eventId) noexcept {
    try {
        std::lock_guard<std::mutex> lock(_reactionsMutex);
        for (auto& [id, worker] : _reactions)
            if (worker->name() == reaction) return worker->retryDeadLetter(eventId);
        return sdk::Status(sdk::StatusCode::Unavailable,
                           "reaction " + std::string(reaction) + " does not run on this node");
    } catch (const std::exception& e) {
        return sdk::Status(sdk::StatusCode::Internal, std::string("retryDeadLetter: ") + e.what());
    }
}

}  // namespace ordersystem::plugins::nats
