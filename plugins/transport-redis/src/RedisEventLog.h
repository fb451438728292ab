// Contract: the SDK EventLog on Redis (see sdk/eventlog.h for the promises). Created by the plugin
// in start() after Redis answered and the scripts were loaded; handed to the host with
// provideEventLog(); shut down by the plugin's stop() (shutdown() first completes every
// asynchronous append already accepted, then stops every subscription that is still running).
// Every method is thread-safe; append/ids/reads/idempotency/membership go through the shared
// ConnectionPool and fail within the command timeout when Redis is down.
// Appends of concurrent callers share pipelined writes (AppendPipeline), whether they block
// (append()) or not (appendAsync(): returns at once, its callback runs on the thread that ran the
// batch, usually a pipeline thread; appendsAsynchronously() is true). Both decode the script's
// answer the same way. A callback may call the blocking idempotency methods (release() after a
// failed create): they borrow their own pooled connection, not the pipeline. After shutdown()
// appends fail with Unavailable (appendAsync() on the caller's thread).
// With min_replicas_ack, an append (and an id block, an idempotency claim) is acknowledged only
// when WAIT saw that many replicas; otherwise it fails (503) and an append is logged as uncertain.
// Order ids come from a block reserved with one INCRBY and are handed out from memory (unused ids
// of a block are lost when the node stops: gaps, never reuse); the caller that crosses half a
// block pays the next INCRBY round trip.
// unsubscribe() joins the subscription's threads, so it must not be called from inside that
// subscription's own apply()/handle(); shutdown() must not be called from an append callback.
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>

#include "AppendPipeline.h"
#include "RedisIdempotency.h"
#include "RedisMembership.h"
#include "TransportCore.h"
#include "ordersystem/sdk/eventlog.h"
#include "ordersystem/transport/append_meter.h"
#include "ordersystem/transport/id_block_allocator.h"
#include "ordersystem/transport/subscriptions.h"

namespace ordersystem::plugins::redis {

using transport::Subscription;
class ReactionGroup;

class RedisEventLog final : public sdk::EventLog {
public:
    explicit RedisEventLog(TransportCore& core);
    ~RedisEventLog() override;

    std::string_view mode() const noexcept override { return "distributed"; }
    sdk::Result<int64_t> allocateOrderId() noexcept override;
    sdk::AppendResult append(sdk::AppendRequest& request) noexcept override;
    void appendAsync(sdk::AppendRequest& request, AppendCallback done) noexcept override;
    bool appendsAsynchronously() const noexcept override { return true; }
    sdk::Result<std::vector<sdk::EventRecord>> readOrder(int64_t orderId) noexcept override;
    sdk::Result<uint64_t> headPosition() noexcept override;
    /// XRANGE of the stream; an entry that is not an event is an error (an export must be whole).
    sdk::Result<std::vector<sdk::EventRecord>> readRange(uint64_t afterPosition, size_t maxEvents) noexcept override;
    /// Raises the INCRBY counter (never lowers it), waiting for replicas as an id block does.
    sdk::Status ensureOrderIdsAbove(int64_t orderId) noexcept override;
    sdk::Result<sdk::SubscriptionId> subscribe(sdk::Projection& projection) noexcept override;
    sdk::Result<sdk::SubscriptionId> subscribe(sdk::Reaction& reaction) noexcept override;
    void unsubscribe(sdk::SubscriptionId id) noexcept override;
    /// From the reaction's dead-letter hash in Redis: the same on every node, subscribed or not.
    sdk::Result<std::vector<sdk::DeadLetter>> deadLetters(std::string_view reaction, size_t limit) noexcept override;
    /// Through the DeadLetterRetries of this node's subscription of that reaction.
    sdk::Status retryDeadLetter(std::string_view reaction, const std::string& eventId) noexcept override;
    sdk::IdempotencyStore& idempotency() noexcept override { return _idempotency; }
    sdk::Membership& membership() noexcept override { return _membership; }

    /// Starts the heartbeat (first beat synchronously so this node is listed at once).
    sdk::Status startMembership();
    /// Completes the accepted asynchronous appends, refuses new appends, stops every subscription
    /// still running and the heartbeat; leaves the membership.
    void shutdown() noexcept;

private:
    struct AsyncAppend;
    sdk::AppendResult appendChecked(sdk::AppendRequest& request);
    /// The outcome of an append from the script's reply and what its WAIT saw, recorded in the append meter.
    sdk::AppendResult decodeAppend(sdk::AppendRequest& request, sdk::Result<ReplyPtr>&& reply, int acked,
                                   std::chrono::steady_clock::time_point started);
    /// Positions filled, conflicts decoded; *appended = events newly appended.
    sdk::AppendResult decodeReply(sdk::AppendRequest& request, sdk::Result<ReplyPtr>&& reply, size_t* appended);
    /// Timeout (503: it may have been made), logged as uncertain, when an append Redis accepted reached fewer replicas
    /// than required.
    void requireReplicas(const sdk::AppendRequest& request, int acked, sdk::AppendResult& out) const;
    /// Hands result to an asynchronous caller's callback; logs what it throws.
    void deliver(AppendCallback& done, sdk::AppendResult&& result) noexcept;
    /// The append script's keys and arguments; InvalidArgument when the events do not fit the request.
    sdk::Status encodeAppend(const sdk::AppendRequest& request, std::vector<std::string>& keys,
                             std::vector<std::string>& args) const;
    /// After a batch WAIT confirmed: raises P:replicated to its highest new position, so readers
    /// (projections, reactions) never show an event a failover could still lose.
    void publishReplicated(const std::vector<sdk::Result<ReplyPtr>>& replies, int acked);
    /// Reserves the next block of order ids with one INCRBY; its first id.
    sdk::Result<int64_t> reserveIdBlock();

    TransportCore& _core;
    RedisIdempotencyStore _idempotency;
    RedisMembership _membership;
    transport::AppendMeter _meter;
    AppendPipeline _pipeline;
    /// The next block is reserved ahead, on the caller that used up half of the current one (it
    /// pays the INCRBY round trip), so callers rarely wait for one.
    transport::IdBlockAllocator _ids;
    transport::Subscriptions _subscriptions;
    struct GroupSubscription;
    /// The running reaction groups by name, for retryDeadLetter(); shared so that a retry request
    /// racing an unsubscribe finds a group that is stopped, never one that is gone.
    std::mutex _reactionsMutex;
    std::map<std::string, std::shared_ptr<ReactionGroup>, std::less<>> _reactions;
};

}  // namespace ordersystem::plugins::redis
