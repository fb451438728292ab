// Contract: the cluster-mode EventLog (sdk/eventlog.h) on one JetStream stream.
// - Layout: stream <stream> holds every event on subject <subject_prefix>.<orderId>; the body is
//   the wire document (events.h), headers carry Nats-Msg-Id = eventId and Os-Version/Os-Type.
//   A position is the stream sequence. Ids come in blocks: publishing to a one-message stream
//   reserves ids sequence*kIdBlock .. +kIdBlock-1 for this node (unique, never reused, gaps).
// - append(): the version check is JetStream's expected last subject sequence, so of two nodes
//   racing on one order exactly one wins; the loser gets VersionConflict. Nats-Msg-Id makes a
//   retried publish a no-op inside the stream's duplicate window (2 min); a retry of an append
//   that already landed is also recognised later by the order's last event id. A publish that is
//   not acknowledged (no stream leader while one is elected, the connection moving to another
//   server of the url list) is published again, the same message, with back-off until
//   append_timeout_ms from the append's start; then 503 naming the missing leader. So an append
//   is stored once or refused (409), never twice; one log line marks such an episode.
// - appendAsync() (appendsAsynchronously() is true) never blocks its caller. Fast path: one event
//   whose expected subject sequence is known without a read (a new order, or this node's cached
//   tip at expectedVersion) is published with js_PublishMsgAsync (AsyncPublisher) and answered
//   from its acknowledgement as append() would answer it, except that a publish not acknowledged
//   within request_timeout_ms is published again on a TaskExecutor thread as append() would,
//   within the same append_timeout_ms (after it: Timeout, outcome unknown). Everything else
//   (several events, a tip to read, a refused version check to look into, an Idempotency-Key to
//   complete after the publish) runs on a TaskExecutor thread, never on the caller's or a cnats
//   thread, within append()'s bounds.
// - Threads: every public method may be called concurrently from HTTP threads; none blocks
//   longer than request_timeout_ms per NATS round trip, and writes fail at once (Unavailable)
//   while the connection is down. Subscriptions run on their own threads: the projections on one
//   shared cursor (ProjectionFeed.h), each reaction on its workers (ReactionWorker.h).
// - Lifetime: created, ensureStreams()'d and startAppends()'d in the plugin's start();
//   stopAppends() in stop() answers every pending appendAsync (later ones: Unavailable at once)
//   and stopSubscriptions() ends any subscription its owner forgot; the NatsClient outlives
//   this object.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "AsyncPublisher.h"
#include "EventMessage.h"
#include "NatsClient.h"
#include "NatsSettings.h"
#include "ordersystem/sdk/eventlog.h"
#include "ordersystem/sdk/host.h"
#include "ordersystem/transport/append_meter.h"
#include "ordersystem/transport/id_block_allocator.h"
#include "ordersystem/transport/stop_signal.h"
#include "ordersystem/transport/subscriptions.h"
#include "ordersystem/transport/task_executor.h"

namespace ordersystem::plugins::nats {

using transport::runLogged;
using transport::TaskExecutor;

/// Order ids reserved per id-stream publish. Cluster-wide constant: changing it could hand out
/// an id twice (a block of one size overlapping one of another), so it is not a setting.
inline constexpr int64_t kIdBlock = 100;
/// Order ids stay exactly representable as JSON numbers (doubles).
inline constexpr int64_t kMaxSafeOrderId = (int64_t{1} << 53) - 1;

class KvIdempotencyStore;
class KvMembership;
class ProjectionFeed;
class ReactionWorker;

/// A running subscription; stop() returns once no callback runs or will run.
using transport::Subscription;

class NatsEventLog final : public sdk::EventLog {
public:
    NatsEventLog(const Settings& settings, NatsClient& client, sdk::Host& host, KvIdempotencyStore& idempotency,
                 KvMembership& membership);
    ~NatsEventLog() override;

    /// Creates (idempotently) the events stream, the id stream and the dead-letter stream.
    sdk::Status ensureStreams();
    /// Opens the asynchronous publishes of appendAsync().
    sdk::Status startAppends();
    /// Answers every pending appendAsync() (Ok, or Unavailable/Timeout); later ones are refused.
    void stopAppends() noexcept;
    void stopSubscriptions() noexcept;

    std::string_view mode() const noexcept override { return "cluster"; }
    sdk::Result<int64_t> allocateOrderId() noexcept override;
    sdk::AppendResult append(sdk::AppendRequest& request) noexcept override;
    void appendAsync(sdk::AppendRequest& request, AppendCallback done) noexcept override;
    bool appendsAsynchronously() const noexcept override { return true; }
    sdk::Result<std::vector<sdk::EventRecord>> readOrder(int64_t orderId) noexcept override;
    sdk::Result<uint64_t> headPosition() noexcept override;
    /// One direct get per position (NatsEventLogOperator.cpp).
    sdk::Result<std::vector<sdk::EventRecord>> readRange(uint64_t afterPosition, size_t maxEvents) noexcept override;
    /// Purges the id stream up to the block above orderId, which makes it the next block reserved.
    sdk::Status ensureOrderIdsAbove(int64_t orderId) noexcept override;
    sdk::Result<sdk::SubscriptionId> subscribe(sdk::Projection& projection) noexcept override;
    sdk::Result<sdk::SubscriptionId> subscribe(sdk::Reaction& reaction) noexcept override;
    void unsubscribe(sdk::SubscriptionId id) noexcept override;
    /// From <stream>_DEADLETTERS, the same on every node (KvDeadLetterStore.h).
    sdk::Result<std::vector<sdk::DeadLetter>> deadLetters(std::string_view reaction, size_t limit) noexcept override;
    /// Through this node's worker of that reaction (ReactionWorker.h).
    sdk::Status retryDeadLetter(std::string_view reaction, const std::string& eventId) noexcept override;
    sdk::IdempotencyStore& idempotency() noexcept override;
    sdk::Membership& membership() noexcept override;

private:
    /// The order's newest event as the log has it (version 0 / seq 0: no such order).
    struct Tip {
        int64_t version = 0;
        uint64_t seq = 0;
        std::string lastEventId;
    };

    /// One appendAsync() call: what it was given, since when, and its answer to come.
    struct AsyncAppend;
    using AsyncAppendPtr = std::shared_ptr<AsyncAppend>;

    using Clock = std::chrono::steady_clock;

    /// Until when an append that started at start may repeat its publishes (append_timeout_ms).
    Clock::time_point appendDeadline(Clock::time_point start) const;
    sdk::AppendResult appendUnchecked(sdk::AppendRequest& request, Clock::time_point deadline);
    /// InvalidArgument unless the request names an order and carries its next events with ids.
    static sdk::Status checkRequest(const sdk::AppendRequest& request);
    /// Publishes events[next..] one by one from tip; the blocking append's loop.
    sdk::AppendResult publishFrom(sdk::AppendRequest& request, Tip tip, int64_t next, Clock::time_point deadline);
    /// After the version check refused events[*next]: re-reads the tip. true when an earlier
    /// attempt of this very append had stored more (*tip, *next moved on); else *refused is set.
    bool resumeAfterConflict(sdk::AppendRequest& request, const sdk::Status& why, Tip* tip, int64_t* next,
                             sdk::AppendResult* refused);
    /// Every event is stored: remembers the tip, completes the Idempotency-Key, answers Ok.
    sdk::AppendResult stored(sdk::AppendRequest& request, const Tip& tip);
    /// Metrics (and a warning on failure) for one append that took since start.
    void recordOutcome(const sdk::AppendRequest& request, const sdk::AppendResult& result,
                       std::chrono::steady_clock::time_point start);
    /// How many leading events of request are already stored (tip shows our own event ids), or -1.
    int64_t landedPrefix(sdk::AppendRequest& request, const Tip& tip);
    sdk::Result<Tip> readTip(int64_t orderId);
    /// One read of the order's events by direct gets (any server answers each).
    sdk::Result<std::vector<sdk::EventRecord>> readOrderOnce(int64_t orderId);
    bool cachedTip(int64_t orderId, Tip* out);
    void rememberTip(int64_t orderId, const Tip& tip);
    /// One event published with the version check, repeated with back-off while unacknowledged
    /// until deadline; Ok fills *seq. VersionConflict when the order moved on.
    sdk::Status publishEvent(const sdk::EventRecord& event, uint64_t expectedSubjectSeq, uint64_t* seq,
                             Clock::time_point deadline);
    /// One attempt; *repeat tells whether its failure may be repeated (worthRepeating).
    sdk::Status publishOnce(EventMessage& message, const sdk::EventRecord& event, uint64_t* seq, bool* repeat);
    /// The answer after attempts that were not acknowledged: 503 naming the missing leader.
    sdk::Status gaveUp(const sdk::EventRecord& event, const sdk::Status& last, int attempts) const;
    /// The one log line of an episode of repeated publishes, and the one at its end.
    void noteAppendsRepeated(const sdk::Status& why);
    void noteAppendsFlow();
    /// The subject sequence a fast-path append expects, or false when it must take the slow path.
    bool fastPathSequence(const sdk::AppendRequest& request, uint64_t* expectedSubjectSeq);
    void publishAsync(const AsyncAppendPtr& op, uint64_t expectedSubjectSeq);
    /// The fast path's acknowledgement: answers Ok here (no blocking), the rest on the executor.
    void published(const AsyncAppendPtr& op, uint64_t expectedSubjectSeq, PublishOutcome&& outcome);
    /// An unacknowledged fast-path publish, on the executor: published again as append() would.
    sdk::AppendResult repeatAsync(const AsyncAppendPtr& op, uint64_t expectedSubjectSeq);
    /// A refused fast-path publish, on the executor: a version conflict is looked into as append()
    /// does (re-read, maybe our own earlier attempt), any other failure is the answer.
    sdk::AppendResult afterRefusal(sdk::AppendRequest& request, const sdk::Status& failure);
    /// Slow path: append() on an executor thread. false when the executor refused it.
    bool appendOnExecutor(const AsyncAppendPtr& op);
    void finishAsync(AsyncAppend& op, sdk::AppendResult&& result, bool record) noexcept;
    sdk::Status ensureStream(const std::string& name, const std::string& subject, int64_t maxMsgs, bool allowDirect,
                             int64_t maxAgeNs);
    sdk::AppendResult conflict(int64_t currentVersion, const std::string& why);
    /// Logs an error when the id counter is behind the orders stored (its stream was deleted).
    void checkIdCounter();
    /// Reserves a block of kIdBlock ids with one publish to the id stream; its first id.
    sdk::Result<int64_t> reserveIdBlock();
    void completeIdempotency(const sdk::AppendRequest& request);
    /// The dead letters' bucket, opened on first use and kept until stopSubscriptions().
    sdk::Result<kvStore*> deadLetterBucket();

    const Settings& _settings;
    NatsClient& _client;
    sdk::Host& _host;
    sdk::Logger& _logger;
    KvIdempotencyStore& _idempotency;
    KvMembership& _membership;

    transport::AppendMeter _meter;

    /// appendAsync()'s machinery; both stopped by stopAppends(), the publisher first (its
    /// answers may still be handed to the executor).
    AsyncPublisher _publisher;
    TaskExecutor _executor;
    std::atomic<bool> _appendsStopped{false};
    /// Wakes appends waiting to repeat a publish when the log stops.
    transport::StopSignal _repeatStop;
    /// Inside an episode of unacknowledged publishes (logged once when it starts and ends).
    std::atomic<bool> _repeating{false};

    /// Last known tip per order (this node's own appends): saves a read before most appends;
    /// a stale entry is harmless because the server still checks the expected sequence.
    std::mutex _tipMutex;
    std::unordered_map<int64_t, Tip> _tips;

    /// Why blocks: one id-stream round trip per kIdBlock creates instead of one per create. Why
    /// the next block is reserved ahead on the executor: the round trip would otherwise stall
    /// the event loop that runs out, every kIdBlock creates.
    transport::IdBlockAllocator _ids;

    /// Every projection of this node on one cursor (see ProjectionFeed.h); created with the first.
    std::mutex _feedMutex;
    std::unique_ptr<ProjectionFeed> _feed;
    transport::Subscriptions _subscriptions;  ///< reactions, and each projection's place in the feed
    /// This node's reaction workers by subscription, for retryDeadLetter(); a worker leaves before
    /// it is stopped, and a retry holds the mutex, so it never reaches one being destroyed.
    std::mutex _reactionsMutex;
    std::map<sdk::SubscriptionId, ReactionWorker*> _reactions;
    std::mutex _deadLetterMutex;
    kvStore* _deadLetterBucket = nullptr;
};

}  // namespace ordersystem::plugins::nats
