// Contract: the cluster-mode EventLog (sdk/eventlog.h) on one JetStream stream.
// - Layout: stream <stream> holds every event on subject <subject_prefix>.<orderId>; the body is
//   the wire document (events.h), headers carry Nats-Msg-Id = eventId and Os-Version/Os-Type.
//   A position is the stream sequence. Ids come in blocks: publishing to a one-message stream
//   reserves ids sequence*kIdBlock .. +kIdBlock-1 for this node (unique, never reused, gaps).
// - append(): the version check is JetStream's expected last subject sequence, so of two nodes
//   racing on one order exactly one wins; the loser gets VersionConflict. Nats-Msg-Id makes a
//   retried publish a no-op inside the stream's duplicate window (2 min); a retry of an append
//   that already landed is also recognised later by the order's last event id.
// - Threads: every public method may be called concurrently from HTTP threads; none blocks
//   longer than request_timeout_ms per NATS round trip, and writes fail at once (Unavailable)
//   while the connection is down. Subscriptions run on their own threads (see the workers).
// - Lifetime: created and ensureStreams()'d in the plugin's start(); stopSubscriptions() in stop()
//   ends any subscription its owner forgot; the NatsClient outlives this object.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "NatsClient.h"
#include "NatsSettings.h"
#include "ordersystem/sdk/eventlog.h"
#include "ordersystem/sdk/host.h"

namespace ordersystem::plugins::nats {

/// Order ids reserved per id-stream publish. Cluster-wide constant: changing it could hand out
/// an id twice (a block of one size overlapping one of another), so it is not a setting.
inline constexpr int64_t kIdBlock = 100;

class KvIdempotencyStore;
class KvMembership;

/// A running subscription; stop() returns once no callback runs or will run.
class SubscriptionWorker {
public:
    virtual ~SubscriptionWorker() = default;
    virtual void stop() noexcept = 0;
};

class NatsEventLog final : public sdk::EventLog {
public:
    NatsEventLog(const Settings& settings, NatsClient& client, sdk::Host& host, KvIdempotencyStore& idempotency,
                 KvMembership& membership);
    ~NatsEventLog() override;

    /// Creates (idempotently) the events stream, the id stream and the dead-letter stream.
    sdk::Status ensureStreams();
    void stopSubscriptions() noexcept;

    std::string_view mode() const noexcept override { return "cluster"; }
    sdk::Result<int64_t> allocateOrderId() noexcept override;
    sdk::AppendResult append(sdk::AppendRequest& request) noexcept override;
    sdk::Result<std::vector<sdk::EventRecord>> readOrder(int64_t orderId) noexcept override;
    sdk::Result<uint64_t> headPosition() noexcept override;
    sdk::Result<sdk::SubscriptionId> subscribe(sdk::Projection& projection) noexcept override;
    sdk::Result<sdk::SubscriptionId> subscribe(sdk::Reaction& reaction) noexcept override;
    void unsubscribe(sdk::SubscriptionId id) noexcept override;
    sdk::IdempotencyStore& idempotency() noexcept override;
    sdk::Membership& membership() noexcept override;

private:
    /// The order's newest event as the log has it (version 0 / seq 0: no such order).
    struct Tip {
        int64_t version = 0;
        uint64_t seq = 0;
        std::string lastEventId;
    };

    sdk::AppendResult appendUnchecked(sdk::AppendRequest& request);
    /// How many leading events of request are already stored (tip shows our own event ids), or -1.
    int64_t landedPrefix(sdk::AppendRequest& request, const Tip& tip);
    sdk::Result<Tip> readTip(int64_t orderId);
    bool cachedTip(int64_t orderId, Tip* out);
    void rememberTip(int64_t orderId, const Tip& tip);
    /// One publish with the version check; Ok fills *seq. VersionConflict when the order moved on.
    sdk::Status publishEvent(const sdk::EventRecord& event, uint64_t expectedSubjectSeq, uint64_t* seq);
    sdk::Status ensureStream(const std::string& name, const std::string& subject, int64_t maxMsgs, bool allowDirect,
                             int64_t maxAgeNs);
    sdk::AppendResult conflict(int64_t currentVersion, const std::string& why);
    /// Logs an error when the id counter is behind the orders stored (its stream was deleted).
    void checkIdCounter();
    /// Reserves the next block of kIdBlock ids with one publish to the id stream (lock held).
    sdk::Status reserveIdBlock();
    void completeIdempotency(const sdk::AppendRequest& request);
    sdk::SubscriptionId addWorker(std::unique_ptr<SubscriptionWorker> worker);

    const Settings& _settings;
    NatsClient& _client;
    sdk::Host& _host;
    sdk::Logger& _logger;
    KvIdempotencyStore& _idempotency;
    KvMembership& _membership;

    sdk::Counter& _appendsOk;
    sdk::Counter& _appendsConflict;
    sdk::Counter& _appendsFailed;
    sdk::Histogram& _appendSeconds;

    /// Last known tip per order (this node's own appends): saves a read before most appends;
    /// a stale entry is harmless because the server still checks the expected sequence.
    std::mutex _tipMutex;
    std::unordered_map<int64_t, Tip> _tips;

    /// Ids of the block this node reserved last, handed out in order: [_nextId, _blockEnd).
    /// Why blocks: one id-stream round trip per kIdBlock creates instead of one per create.
    std::mutex _idMutex;
    int64_t _nextId = 0;
    int64_t _blockEnd = 0;

    std::mutex _subMutex;
    std::map<sdk::SubscriptionId, std::unique_ptr<SubscriptionWorker>> _workers;
    std::atomic<sdk::SubscriptionId> _nextSubscription{1};
};

}  // namespace ordersystem::plugins::nats
