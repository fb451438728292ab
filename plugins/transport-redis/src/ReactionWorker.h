// Contract: delivers a Reaction's events once per cluster through a Redis consumer group named
// after the reaction (created at ID 0 with MKSTREAM: a new group starts at the beginning of the
// log, so no event is ever missed; BUSYGROUP means it exists). A ReactionGroup runs
// reaction_workers threads on this node, each a consumer ("<nodeId>", "<nodeId>#1", ...) with its
// own connection. Each worker:
//  - reads new entries (XREADGROUP ... >) and calls handle(); Ok => marks the eventId delivered
//    (24 h) and XACKs in one script; an eventId already marked is acked without calling handle();
//  - retries its own failed entries when their back-off has passed (XPENDING idle/count, then
//    XCLAIM to itself, which counts the delivery); after reaction_max_deliveries failures the
//    entry goes to the dead-letter stream P:deadletter:<reaction>, is acked, and reported through
//    transport::ReactionDeliveries (the same log line and counter in every mode);
//  - takes over entries other consumers left pending longer than reaction_claim_idle_ms
//    (XAUTOCLAIM ... JUSTID: a crashed node's deliveries are finished by a live one), and now and
//    then removes consumers idle for an hour with nothing pending.
// handle() is called on the worker threads (several at once when reaction_workers > 1).
// stop() joins every worker; no handle() runs afterwards.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "RedisEventLog.h"
#include "TransportCore.h"
#include "ordersystem/transport/reaction_deliveries.h"

namespace ordersystem::plugins::redis {

class ReactionWorker {
public:
    ReactionWorker(TransportCore& core, transport::ReactionDeliveries& deliveries, std::string consumer,
                   StopSignal& stop, sdk::Counter& claims);
    void run();

private:
    using Clock = std::chrono::steady_clock;
    bool ensureGroup(RedisConnection& c);
    bool readNew(RedisConnection& c);
    bool retryPending(RedisConnection& c);
    /// Before handling an entry read a while ago: whether it is still ours (another node may have
    /// claimed it meanwhile), refreshing its idle time; false when the connection failed.
    bool stillMine(RedisConnection& c, const std::string& id, Clock::time_point readAt, bool* mine);
    bool autoclaim(RedisConnection& c);
    /// Removes consumers idle for an hour with nothing pending (nodes that are gone).
    bool pruneConsumers(RedisConnection& c);
    /// Delivers one entry on its deliveries-th attempt; false when the connection failed.
    /// Whether replicas hold the log up to position (always with min_replicas_ack 0); waits up to
    /// the command timeout. An error when the connection failed.
    sdk::Result<bool> replicated(RedisConnection& connection, uint64_t position);
    bool deliver(RedisConnection& c, const StreamEntry& entry, long long deliveries);
    bool deadLetter(RedisConnection& c, const StreamEntry& entry, const std::string& eventId, long long deliveries,
                    const std::string& reason);
    bool ack(RedisConnection& c, const StreamEntry& entry, const std::string& eventId);
    bool fail(const sdk::Status& status);

    TransportCore& _core;
    transport::ReactionDeliveries& _deliveries;
    std::string _name;
    std::string _consumer;
    StopSignal& _stop;
    ThreadLink _link;
    sdk::Counter& _claims;
    Clock::time_point _nextRetry{};
    Clock::time_point _nextClaim{};
    Clock::time_point _nextPrune{};
    /// Last failure text per pending entry id, for the dead-letter reason.
    std::map<std::string, std::string> _lastError;
    /// The highest replicated position seen (min_replicas_ack): entries up to it need no GET.
    uint64_t _replicatedSeen = 0;
};

class ReactionGroup final : public Subscription {
public:
    ReactionGroup(TransportCore& core, sdk::Reaction& reaction);
    ~ReactionGroup() override { stop(); }
    void start();
    void stop() noexcept override;

private:
    TransportCore& _core;
    sdk::Reaction& _reaction;
    std::unique_ptr<transport::ReactionDeliveries> _deliveries;
    StopSignal _stop;
    std::vector<std::unique_ptr<ReactionWorker>> _workers;
    std::vector<std::thread> _threads;
};

}  // namespace ordersystem::plugins::redis
