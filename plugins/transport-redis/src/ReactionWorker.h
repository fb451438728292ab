// Contract: delivers a Reaction's events once per cluster through a Redis consumer group named
// after the reaction (created at ID 0 with MKSTREAM: a new group starts at the beginning of the
// log, so no event is ever missed; BUSYGROUP means it exists). A ReactionGroup runs
// reaction_workers threads on this node, each a consumer ("<nodeId>", "<nodeId>#1", ...) with its
// own connection. Each worker keeps in memory the entries pending to its consumer ("held": at most
// maxHeld; beyond it reading new entries pauses) with the time each is due, and:
//  - reads new entries (XREADGROUP ... >) and hands each to the OrderGate: an event whose order's
//    previous event is not acknowledged or dead-lettered yet waits (stays pending, looked at again
//    20 ms doubling to 1 s later, its delivery count set back with XCLAIM ... RETRYCOUNT so waiting
//    is never an attempt); one handled already is acked without handle(), as is an eventId marked
//    delivered; otherwise handle(). Ok => marks the eventId delivered (24 h), raises the order's
//    progress and XACKs in one script (the order's waiting events on this worker are due at once);
//  - a failure is due again after the jittered back-off ReactionDeliveries answered (which honours
//    a Retry-After); XCLAIM to itself then counts the delivery. After the policy's last attempt the
//    event becomes a dead letter (RedisDeadLetterStore) with the XACK and the progress in one script,
//    and is reported through ReactionDeliveries (the same log line and counter in every mode);
//  - after a (re)connect it loads its consumer's pending entries (XPENDING): entries of a previous
//    run are due after the un-jittered back-off of their delivery count (their own due time died
//    with the process);
//  - takes over entries other consumers left pending longer than reaction_claim_idle_ms
//    (XAUTOCLAIM ... JUSTID: a crashed node's deliveries are finished by a live one), and now and
//    then removes consumers idle for an hour with nothing pending.
// Every claim of an entry it holds names a min-idle just below the time since its own last touch,
// so an entry another consumer took over meanwhile is never delivered by both.
// handle() is called on the worker threads (several at once when reaction_workers > 1; never two
// events of one order at once, cluster-wide). stop() joins every worker; no handle() runs afterwards.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "OrderGate.h"
#include "RedisDeadLetters.h"
#include "RedisEventLog.h"
#include "TransportCore.h"
#include "ordersystem/transport/dead_letters.h"
#include "ordersystem/transport/reaction_deliveries.h"

namespace ordersystem::plugins::redis {

class ReactionWorker {
public:
    ReactionWorker(TransportCore& core, transport::ReactionDeliveries& deliveries, std::string consumer,
                   StopSignal& stop, sdk::Counter& claims, size_t maxHeld);
    void run();

private:
    using Clock = std::chrono::steady_clock;
    /// A waiting event is looked at again after 20 ms, doubling to 1 s.
    static constexpr long long kWaitFirstMs = 20;
    static constexpr long long kWaitMaxMs = 1000;
    /// An entry pending to this consumer.
    struct Held {
        std::string id;
        long long deliveries = 0;   ///< handle() calls so far: the entry's delivery count in Redis
        Clock::time_point due;      ///< when to look at it again
        Clock::time_point touched;  ///< our last read or claim of it (Redis's idle time starts there)
        int64_t orderId = 0;        ///< 0 until read
        bool waiting = false;       ///< behind an earlier event of its order
        int waits = 0;
        std::string lastError;
    };
    bool ensureGroup(RedisConnection& c);
    /// Adds this consumer's pending entries that are not held yet (after a restart or a takeover).
    bool recover(RedisConnection& c);
    bool readNew(RedisConnection& c, int blockMs);
    /// Delivers (or looks again at) the held entries that are due.
    bool runDue(RedisConnection& c);
    /// XCLAIM of an entry we hold; *reply empty when another consumer took it over meanwhile.
    bool claim(RedisConnection& c, const Held& h, bool justId, long long retryCount, ReplyPtr* reply);
    bool autoclaim(RedisConnection& c);
    /// Claims held entries to ourselves again before they idle past reaction_claim_idle_ms.
    bool keepHeld(RedisConnection& c);
    /// Removes consumers idle for an hour with nothing pending (nodes that are gone).
    bool pruneConsumers(RedisConnection& c);
    /// Whether replicas hold the log up to position (always with min_replicas_ack 0); waits up to
    /// the command timeout. An error when the connection failed.
    sdk::Result<bool> replicated(RedisConnection& connection, uint64_t position);
    /// Handles the held entry at position (its delivery already counted); false when the connection failed.
    bool process(RedisConnection& c, const StreamEntry& entry);
    /// Leaves a held entry pending without counting this delivery, looked at again later.
    bool wait(RedisConnection& c, uint64_t position, const sdk::EventRecord& event, bool behindItsOrder);
    bool deadLetter(RedisConnection& c, const StreamEntry& entry, const sdk::EventRecord* event, long long deliveries,
                    const std::string& reason);
    /// Dead-letters a held entry whose deliveries are used up (a give-up the last run could not store).
    bool deadLetterExhausted(RedisConnection& c, uint64_t position);
    bool ack(RedisConnection& c, const StreamEntry& entry, const sdk::EventRecord& event);
    /// The entry is settled: no longer held; its order's waiting events are due now.
    void settled(uint64_t position, int64_t orderId);
    bool fail(const sdk::Status& status);
    Clock::time_point nextDue() const;

    TransportCore& _core;
    transport::ReactionDeliveries& _deliveries;
    std::string _name;
    std::string _consumer;
    StopSignal& _stop;
    ThreadLink _link;
    sdk::Counter& _claims;
    OrderGate _gate;
    const size_t _maxHeld;
    Clock::time_point _nextClaim{};
    Clock::time_point _nextPrune{};
    Clock::time_point _nextWaitLog{};
    Clock::time_point _nextFullLog{};
    /// By log position (the order of the log, so an order's earlier event comes first).
    std::map<uint64_t, Held> _held;
    /// The highest replicated position seen (min_replicas_ack): entries up to it need no GET.
    uint64_t _replicatedSeen = 0;
};

class ReactionGroup final : public Subscription {
public:
    ReactionGroup(TransportCore& core, sdk::Reaction& reaction);
    ~ReactionGroup() override { stop(); }
    void start();
    void stop() noexcept override;
    const std::string& name() const noexcept { return _deliveries->name(); }
    /// DeadLetterRetries::retry() of this reaction.
    sdk::Status retryDeadLetter(const std::string& eventId);

private:
    TransportCore& _core;
    sdk::Reaction& _reaction;
    std::unique_ptr<transport::ReactionDeliveries> _deliveries;
    std::unique_ptr<RedisDeadLetterStore> _store;
    std::unique_ptr<transport::DeadLetterRetries> _retries;
    StopSignal _stop;
    std::vector<std::unique_ptr<ReactionWorker>> _workers;
    std::vector<std::thread> _threads;
};

}  // namespace ordersystem::plugins::redis
