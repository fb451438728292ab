// Contract: the event log is the truth, and the transport plugin owns it (DESIGN.md).
// Exactly one transport plugin provides an EventLog to the host in its start(); every other
// plugin reaches it through Host::eventLog() from its own start() on.
//
// Threads: every method of EventLog, IdempotencyStore and Membership is thread-safe and may be
// called concurrently from HTTP worker threads. Methods block the caller until done or failed;
// none waits longer than the transport's own timeout (a few seconds): a dead broker is
// Unavailable/Timeout quickly, never a hang.
//
// Subscriptions: each Projection is driven by one transport-owned thread, so apply() calls of
// one projection never overlap and arrive in position order without gaps. Reactions may be
// called on several threads (one per delivery worker). The subscriber must call unsubscribe()
// before it is destroyed; unsubscribe() returns only when no callback is running or will run.
// Start order guarantees the transport outlives its subscribers (they stop first).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "ordersystem/sdk/events.h"
#include "ordersystem/sdk/status.h"

namespace ordersystem::sdk {

/// Stored with the append, atomically where the engine allows (standalone, Redis), so a retried
/// create finds the first response even after a crash.
struct IdempotencyCompletion {
    std::string key;
    std::string fingerprint;  ///< hash of the request body
    std::string response;     ///< opaque to the transport: what to replay
};

struct AppendRequest {
    int64_t orderId = 0;
    /// The order's current version the caller decided on; 0 = the order must not exist yet.
    int64_t expectedVersion = 0;
    /// Events of this order, versions expectedVersion+1, +2, ... (usually one).
    std::vector<EventRecord> events;
    /// Optional: complete this idempotency key together with the append.
    const IdempotencyCompletion* idempotency = nullptr;
};

struct AppendResult {
    /// Ok: durable (per [node] durability) and positions filled in.
    /// VersionConflict: the order's version differs from expectedVersion; nothing written.
    /// Unavailable/Timeout: not written (or, for a timeout, unknown: eventIds make retries safe).
    Status status;
    /// Position of the last appended event (0 unless Ok).
    uint64_t lastPosition = 0;
    /// On VersionConflict: the order's actual current version, when the engine knows it (else -1).
    int64_t currentVersion = -1;
};

/// A read model kept on every node: sees every event, in order, exactly once per position.
class Projection {
public:
    virtual ~Projection() = default;
    /// Unique per node, stable across restarts, e.g. "orders-read-model".
    virtual std::string_view projectionName() const noexcept = 0;
    /// Position of the last event this projection applied durably (0 = nothing yet).
    /// Called once when subscribing, and again after apply() failed.
    virtual uint64_t checkpoint() noexcept = 0;
    /// Apply a batch of consecutive events (ascending positions, all > checkpoint) and store the
    /// new checkpoint atomically with the effect. Non-Ok: the transport retries the same
    /// batch later (after re-reading checkpoint()), with back-off, and logs the failure.
    virtual Status apply(const std::vector<EventRecord>& batch) noexcept = 0;
};

/// How a reaction wants its failing deliveries retried; a field left 0 takes the transport's setting.
struct DeliveryPolicy {
    int64_t maxAttempts = 0;     ///< deliveries of one event before it is a dead letter
    int64_t retryInitialMs = 0;  ///< first back-off; doubles (with jitter) up to retryMaxMs
    int64_t retryMaxMs = 0;
};

/// A side effect done once per event per cluster (at least once across crashes).
/// Delivery rules every transport keeps: a failing event is retried on its own schedule
/// (deliveryPolicy(), a non-Ok Status's retryAfterMs respected) without holding back other orders'
/// events; the events of one order reach handle() in version order, one at a time cluster-wide (a
/// later one waits until the earlier one was acknowledged or dead-lettered).
class Reaction {
public:
    virtual ~Reaction() = default;
    /// Consumer group / durable name shared by all nodes, e.g. "notifications".
    virtual std::string_view reactionName() const noexcept = 0;
    /// Ok: acknowledged, never delivered again in normal operation. Non-Ok: redelivered later
    /// (possibly on another node) until the policy's max attempts, then dead-lettered.
    virtual Status handle(const EventRecord& event) noexcept = 0;
    /// Read once when subscribing.
    virtual DeliveryPolicy deliveryPolicy() const noexcept { return {}; }
};

/// An event a reaction gave up on after its last attempt, kept cluster-wide until retried.
struct DeadLetter {
    EventRecord event;  ///< as it was delivered (eventId, orderId, type, version, position, ...)
    int64_t attempts = 0;
    std::string lastError;
    int64_t failedAtMs = 0;  ///< Unix ms of the last failed attempt
};

/// State of an idempotency key.
struct IdempotencyClaim {
    enum class State : int {
        Claimed = 0,  ///< the key was free: the caller now holds it and must complete or release it
        InFlight,     ///< another request holds it (its lease has not expired)
        Completed,    ///< finished earlier: fingerprint and response are set
    };
    State state = State::Claimed;
    std::string fingerprint;
    std::string response;
};

/// Idempotency keys live with the log so that a retry landing on another node is recognised.
class IdempotencyStore {
public:
    virtual ~IdempotencyStore() = default;
    /// Claims key for leaseMs unless it is held or completed; completed keys expire after 24 h.
    virtual Result<IdempotencyClaim> claim(const std::string& key, const std::string& fingerprint,
                                           int64_t leaseMs) noexcept = 0;
    /// Completes a claimed key outside an append (e.g. to remember an error response).
    virtual Status complete(const IdempotencyCompletion& completion) noexcept = 0;
    /// Releases a claim whose request failed before anything was stored.
    virtual Status release(const std::string& key) noexcept = 0;
};

struct NodeInfo {
    std::string nodeId;
    std::string address;  ///< http://host:port as the node advertises it
    std::string mode;     ///< standalone | distributed | cluster
    int64_t lastSeenMs = 0;
};

/// Live nodes as seen through the transport's heartbeats (standalone: itself).
class Membership {
public:
    virtual ~Membership() = default;
    virtual Result<std::vector<NodeInfo>> liveNodes() noexcept = 0;
};

/// Opaque handle of a subscription, returned by subscribe().
using SubscriptionId = uint64_t;

class EventLog {
public:
    virtual ~EventLog() = default;

    /// "standalone" | "distributed" | "cluster".
    virtual std::string_view mode() const noexcept = 0;

    /// A new order id: unique across the cluster, > 0, < 2^53, never handed out twice.
    virtual Result<int64_t> allocateOrderId() noexcept = 0;

    /// Appends request.events atomically if the order's version equals request.expectedVersion.
    /// Fills each event's position on success. Blocks until durable or failed.
    virtual AppendResult append(AppendRequest& request) noexcept = 0;
    using AppendCallback = std::function<void(AppendResult&&)>;
    /// append() without blocking the caller, when appendsAsynchronously(): done runs exactly once,
    /// on a transport thread (or on the caller's thread when refused at once), and must not
    /// block. request, and what it points to, must stay valid until done has run. The default
    /// runs append() on the caller's thread.
    virtual void appendAsync(AppendRequest& request, AppendCallback done) noexcept { done(append(request)); }
    /// true when appendAsync() returns before the append is durable (callers may then use it
    /// from threads that must not block).
    virtual bool appendsAsynchronously() const noexcept { return false; }

    /// All events of one order from the log, oldest first (empty vector: no such order).
    virtual Result<std::vector<EventRecord>> readOrder(int64_t orderId) noexcept = 0;

    /// Position of the newest event in the log (0 when empty): lets a projection tell its lag.
    virtual Result<uint64_t> headPosition() noexcept = 0;

    /// Up to maxEvents events after afterPosition, in position order, positions filled in (empty:
    /// nothing after it). For operator commands (--export) reading the whole log page by page
    /// while nodes keep appending; not for projections (they subscribe).
    virtual Result<std::vector<EventRecord>> readRange(uint64_t afterPosition, size_t maxEvents) noexcept {
        (void)afterPosition;
        (void)maxEvents;
        return Status(StatusCode::Unavailable, "this transport cannot read the log by position");
    }
    /// Moves the durable id allocator past orderId, so nodes started afterwards allocate ids above
    /// it (a no-op when it is already past). For --import, which appends orders with the ids they
    /// had; ids a running node reserved before stay its own.
    virtual Status ensureOrderIdsAbove(int64_t orderId) noexcept {
        (void)orderId;
        return Status(StatusCode::Unavailable, "this transport cannot move its order id allocator");
    }

    /// Starts delivering to projection from its checkpoint()+1 on; see the threading contract.
    virtual Result<SubscriptionId> subscribe(Projection& projection) noexcept = 0;
    /// Starts delivering to reaction: each event once per cluster.
    virtual Result<SubscriptionId> subscribe(Reaction& reaction) noexcept = 0;
    /// Stops a subscription; returns once no callback for it runs or will run.
    virtual void unsubscribe(SubscriptionId id) noexcept = 0;

    /// Up to limit dead letters of the reaction named reaction, oldest first; every node lists the
    /// same ones.
    virtual Result<std::vector<DeadLetter>> deadLetters(std::string_view reaction, size_t limit) noexcept {
        (void)reaction;
        (void)limit;
        return Status(StatusCode::Unavailable, "this transport keeps no dead letters");
    }
    /// Delivers one dead letter again on this node with the reaction's whole retry schedule, in the
    /// background: Ok once it is queued. It stays listed until a delivery succeeds (then it is
    /// removed) and is updated after the last failed attempt. NotFound: no such dead letter;
    /// Conflict: it is being retried already; Unavailable: this node does not run that reaction.
    virtual Status retryDeadLetter(std::string_view reaction, const std::string& eventId) noexcept {
        (void)reaction;
        (void)eventId;
        return Status(StatusCode::Unavailable, "this transport keeps no dead letters");
    }

    virtual IdempotencyStore& idempotency() noexcept = 0;
    virtual Membership& membership() noexcept = 0;
};

}  // namespace ordersystem::sdk
