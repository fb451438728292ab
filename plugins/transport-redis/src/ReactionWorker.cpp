// Once-per-cluster delivery of a reaction through a Redis consumer group.
#include "ReactionWorker.h"

#include <hiredis/hiredis.h>

#include <algorithm>

#include "ordersystem/sdk/util.h"

namespace ordersystem::plugins::redis {

using sdk::Status;
using sdk::StatusCode;

namespace {
/// Entries taken per read: small, so that a slow handle() does not leave many read-but-unhandled
/// entries idling toward another node's claim.
constexpr int kReactionBatch = 10;
constexpr int kMaxPages = 10;
/// A consumer silent this long with nothing pending belongs to a node that is gone.
constexpr long long kPruneIdleMs = 3600LL * 1000;
}  // namespace

ReactionWorker::ReactionWorker(TransportCore& core, transport::ReactionDeliveries& deliveries, std::string consumer,
                               StopSignal& stop, sdk::Counter& claims)
    : _core(core),
      _deliveries(deliveries),
      _name(deliveries.name()),
      _consumer(std::move(consumer)),
      _stop(stop),
      _link(core, stop, "reaction " + _name + " (" + _consumer + ")",
            core.settings.blockMs + core.settings.commandTimeoutMs),
      _claims(claims) {}

bool ReactionWorker::fail(const Status& status) {
    _link.drop(status);
    return false;
}

void ReactionWorker::run() {
    sdk::runAsBackgroundThread();
    sdk::nameThisThread("react:" + _name);
    const auto retryEvery = std::chrono::milliseconds(std::clamp(_core.settings.reactionRetryMs / 2, 20, 1000));
    const auto claimEvery = std::chrono::milliseconds(std::clamp(_core.settings.reactionClaimIdleMs / 3, 50, 5000));
    while (!_stop.raised()) {
        bool fresh = false;
        RedisConnection* c = _link.get(&fresh);
        if (!c) break;
        if (fresh && !ensureGroup(*c)) continue;
        const auto now = Clock::now();
        if (now >= _nextClaim) {
            if (!autoclaim(*c)) continue;
            _nextClaim = now + claimEvery;
        }
        if (now >= _nextRetry) {
            if (!retryPending(*c)) continue;
            _nextRetry = now + retryEvery;
        }
        readNew(*c);
    }
}

bool ReactionWorker::ensureGroup(RedisConnection& c) {
    // Start ID 0: a brand-new group delivers the whole log, so no event is ever missed.
    auto reply = c.command({"XGROUP", "CREATE", _core.keys.log, _name, "0", "MKSTREAM"});
    if (!reply) return fail(reply.status());
    const redisReply* r = reply.value().get();
    if (_link.refusedAsReplica(r)) return false;
    if (replyIsError(r) && replyString(r).rfind("BUSYGROUP", 0) != 0) {
        if (replyString(r).rfind("LOADING", 0) == 0) {  // Redis replays its AOF after a restart
            _stop.sleepFor(std::chrono::milliseconds(200));
            return false;
        }
        _core.logger->error("reaction " + _name + ": cannot create consumer group: " + replyString(r));
        _stop.sleepFor(std::chrono::milliseconds(1000));
        return false;
    }
    if (!replyIsError(r)) _core.logger->info("reaction " + _name + ": created consumer group on " + _core.keys.log);
    return true;
}

bool ReactionWorker::readNew(RedisConnection& c) {
    auto reply = c.command({"XREADGROUP", "GROUP", _name, _consumer, "COUNT", std::to_string(kReactionBatch), "BLOCK",
                            std::to_string(_core.settings.blockMs), "STREAMS", _core.keys.log, ">"});
    if (!reply) return fail(reply.status());
    const redisReply* r = reply.value().get();
    if (_link.refusedAsReplica(r)) return false;
    if (replyIsError(r)) {
        // NOGROUP: the stream or group vanished (Redis lost its data or was flushed): recreate it.
        // LOADING: Redis replays its AOF after a restart.
        if (replyString(r).rfind("LOADING", 0) != 0)
            _core.logger->warn("reaction " + _name + ": XREADGROUP refused: " + replyString(r));
        _stop.sleepFor(std::chrono::milliseconds(200));
        return ensureGroup(c);
    }
    if (replyIsNil(r)) return true;
    const auto readAt = Clock::now();
    for (const auto& entry : parseEntries(replyAt(replyAt(r, 0), 1))) {
        if (_stop.raised()) break;  // left pending: delivered after the restart or by another node
        bool stillOurs = true;
        if (!stillMine(c, entry.id, readAt, &stillOurs)) return false;
        if (!stillOurs) continue;
        if (!deliver(c, entry, 1)) return false;
    }
    return true;
}

bool ReactionWorker::stillMine(RedisConnection& c, const std::string& id, Clock::time_point readAt, bool* mine) {
    *mine = true;
    const long long elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - readAt).count();
    if (elapsed <= _core.settings.reactionClaimIdleMs / 2) return true;  // nobody may have claimed it yet
    // Idle since our read unless another consumer claimed it (which reset its idle time to less
    // than elapsed - claim_idle): XCLAIM with that bound succeeds only for our own, and refreshes it.
    const long long minIdle = std::max(0LL, elapsed - std::min(50LL, _core.settings.reactionClaimIdleMs / 2LL));
    auto reply = c.command({"XCLAIM", _core.keys.log, _name, _consumer, std::to_string(minIdle), id, "JUSTID"});
    if (!reply) return fail(reply.status());
    const redisReply* r = reply.value().get();
    if (replyIsError(r)) return true;
    *mine = replySize(r) == 1;
    if (!*mine)
        _core.logger->debug("reaction " + _name + ": " + id + " was taken over by another consumer; skipping it");
    return true;
}

bool ReactionWorker::retryPending(RedisConnection& c) {
    std::string start = "-";
    for (int page = 0; page < kMaxPages && !_stop.raised(); ++page) {
        auto reply =
            c.command({"XPENDING", _core.keys.log, _name, "IDLE", std::to_string(_core.settings.reactionRetryMs), start,
                       "+", std::to_string(kReactionBatch), _consumer});
        if (!reply) return fail(reply.status());
        const redisReply* r = reply.value().get();
        if (replyIsError(r)) return true;  // NOGROUP: readNew() recreates it
        for (size_t i = 0; i < replySize(r) && !_stop.raised(); ++i) {
            const redisReply* p = replyAt(r, i);
            const std::string id = replyString(replyAt(p, 0));
            const long long idle = replyInteger(replyAt(p, 2));
            const long long count = replyInteger(replyAt(p, 3));
            start = "(" + id;
            if (!_deliveries.exhausted(count) && idle < _deliveries.retryDelayMs(count)) continue;
            if (_deliveries.exhausted(count)) {
                auto range = c.command({"XRANGE", _core.keys.log, id, id});
                if (!range) return fail(range.status());
                auto entries = parseEntries(range.value().get());
                StreamEntry entry = entries.empty() ? StreamEntry{id, positionOfId(id), ""} : entries.front();
                auto it = _lastError.find(id);
                const std::string reason = it == _lastError.end() ? "delivery failed" : it->second;
                auto ev = eventOfEntry(entry);
                if (!deadLetter(c, entry, ev ? ev.value().eventId : "", count, reason)) return false;
                continue;
            }
            // XCLAIM to ourselves with the back-off as min-idle: counts the delivery, and does
            // nothing when another worker or node took the entry meanwhile.
            auto claimed = c.command(
                {"XCLAIM", _core.keys.log, _name, _consumer, std::to_string(_deliveries.retryDelayMs(count)), id});
            if (!claimed) return fail(claimed.status());
            if (replyIsError(claimed.value().get())) return true;
            for (const auto& entry : parseEntries(claimed.value().get()))
                if (!deliver(c, entry, count + 1)) return false;
        }
        if (replySize(r) < static_cast<size_t>(kReactionBatch)) break;
    }
    return true;
}

bool ReactionWorker::autoclaim(RedisConnection& c) {
    std::string cursor = "0-0";
    size_t taken = 0;
    for (int page = 0; page < kMaxPages && !_stop.raised(); ++page) {
        auto reply = c.command({"XAUTOCLAIM", _core.keys.log, _name, _consumer,
                                std::to_string(_core.settings.reactionClaimIdleMs), cursor, "COUNT", "100", "JUSTID"});
        if (!reply) return fail(reply.status());
        const redisReply* r = reply.value().get();
        if (replyIsError(r)) return true;  // NOGROUP: readNew() recreates it
        // Redis 7 answers {next cursor, claimed ids, deleted ids}; 6.2 had two elements.
        taken += replySize(replyAt(r, 1));
        cursor = replyString(replyAt(r, 0));
        if (cursor.empty() || cursor == "0-0") break;
    }
    if (Clock::now() >= _nextPrune) {
        _nextPrune = Clock::now() + std::chrono::minutes(10);
        if (!pruneConsumers(c)) return false;
    }
    if (taken > 0) {
        _claims.inc(static_cast<double>(taken));
        _nextRetry = Clock::now();
        _core.logger->info("reaction " + _name + ": " + _consumer + " took over " + std::to_string(taken) +
                           " deliveries left pending by a silent consumer for over " +
                           std::to_string(_core.settings.reactionClaimIdleMs) + " ms");
    }
    return true;
}

bool ReactionWorker::pruneConsumers(RedisConnection& c) {
    // Consumers of nodes gone for an hour, whose pending entries were all taken over, are only
    // clutter in XINFO CONSUMERS. One with pending entries is never removed.
    auto reply = c.command({"XINFO", "CONSUMERS", _core.keys.log, _name});
    if (!reply) return fail(reply.status());
    const redisReply* r = reply.value().get();
    for (size_t i = 0; i < replySize(r); ++i) {
        const redisReply* info = replyAt(r, i);
        std::string name;
        long long pending = -1, idle = 0;
        for (size_t f = 0; f + 1 < replySize(info); f += 2) {
            const std::string field = replyString(replyAt(info, f));
            if (field == "name") name = replyString(replyAt(info, f + 1));
            else if (field == "pending") pending = replyInteger(replyAt(info, f + 1), -1);
            else if (field == "idle") idle = replyInteger(replyAt(info, f + 1));
        }
        if (name.empty() || pending != 0 || idle < kPruneIdleMs) continue;
        auto del = c.command({"XGROUP", "DELCONSUMER", _core.keys.log, _name, name});
        if (!del) return fail(del.status());
        _core.logger->info("reaction " + _name + ": removed consumer " + name + " (idle " +
                           std::to_string(idle / 60000) + " min, nothing pending)");
    }
    return true;
}

sdk::Result<bool> ReactionWorker::replicated(RedisConnection& c, uint64_t position) {
    if (_core.settings.minReplicasAck == 0 || position <= _replicatedSeen) return true;
    // An event a failover could still lose is not delivered yet: it stays pending until it is safe.
    const auto deadline = Clock::now() + std::chrono::milliseconds(_core.settings.commandTimeoutMs);
    while (!_stop.raised()) {
        auto reply = c.command({"GET", _core.keys.replicated});
        if (!reply) return reply.status();
        _replicatedSeen = std::max(_replicatedSeen, static_cast<uint64_t>(replyInteger(reply.value().get(), 0)));
        if (_replicatedSeen >= position) return true;
        if (Clock::now() >= deadline) return false;
        _stop.sleepFor(std::chrono::milliseconds(2));
    }
    return false;
}

bool ReactionWorker::deliver(RedisConnection& c, const StreamEntry& entry, long long deliveries) {
    auto ev = eventOfEntry(entry);
    if (!ev) return deadLetter(c, entry, "", deliveries, ev.status().message);
    const sdk::EventRecord& event = ev.value();
    auto seen = c.command({"EXISTS", _core.keys.reactionDone(_name, event.eventId)});
    if (!seen) return fail(seen.status());
    if (replyInteger(seen.value().get()) == 1) {
        _deliveries.skippedDuplicate(event.eventId);
        auto acked = c.command({"XACK", _core.keys.log, _name, entry.id});
        if (!acked) return fail(acked.status());
        _lastError.erase(entry.id);
        return true;
    }
    auto safe = replicated(c, entry.position);
    if (!safe) return fail(safe.status());
    if (!safe.value()) return true;  // stays pending; delivered once replicas hold it
    const auto outcome = _deliveries.deliver(event, deliveries);
    using Next = transport::ReactionDeliveries::Next;
    if (outcome.next == Next::Acknowledge) return ack(c, entry, event.eventId);
    if (outcome.next == Next::DeadLetter)
        return deadLetter(c, entry, event.eventId, deliveries, outcome.status.message);
    // Retry: the entry stays pending; retryPending() claims it again once its back-off has passed.
    if (_lastError.size() > 10000) _lastError.clear();
    _lastError[entry.id] = outcome.status.message;
    return true;
}

bool ReactionWorker::ack(RedisConnection& c, const StreamEntry& entry, const std::string& eventId) {
    auto reply = runScript(c, _core.scripts.ack, {_core.keys.log, _core.keys.reactionDone(_name, eventId)},
                           {_name, entry.id, std::to_string(_core.settings.idempotencyTtlSeconds)});
    if (!reply) return fail(reply.status());
    if (_link.refusedAsReplica(reply.value().get())) return false;
    if (replyIsError(reply.value().get()))
        _core.logger->error("reaction " + _name + ": ack of " + entry.id +
                            " refused: " + replyString(reply.value().get()));
    _lastError.erase(entry.id);
    return true;
}

bool ReactionWorker::deadLetter(RedisConnection& c, const StreamEntry& entry, const std::string& eventId,
                                long long deliveries, const std::string& reason) {
    const std::string dlq = _core.keys.deadLetter(_name);
    auto reply = runScript(c, _core.scripts.deadLetter, {_core.keys.log, dlq},
                           {_name, entry.id, eventId, entry.json, std::to_string(deliveries), reason, _core.nodeId});
    if (!reply) return fail(reply.status());
    const redisReply* r = reply.value().get();
    if (_link.refusedAsReplica(r)) return false;
    if (replyIsError(r)) {
        _core.logger->error("reaction " + _name + ": dead-lettering " + entry.id + " refused: " + replyString(r));
        return true;
    }
    _lastError.erase(entry.id);
    if (replyInteger(r) == 1)
        _deliveries.gaveUp(transport::DeadLetterRecord{eventId, 0, entry.position, deliveries, reason, dlq, true});
    return true;
}

ReactionGroup::ReactionGroup(TransportCore& core, sdk::Reaction& reaction) : _core(core), _reaction(reaction) {}

void ReactionGroup::start() {
    const auto& settings = _core.settings;
    _deliveries = std::make_unique<transport::ReactionDeliveries>(
        _reaction,
        transport::ReactionPolicy{settings.reactionMaxDeliveries, settings.reactionRetryMs,
                                  settings.reactionRetryMaxMs},
        *_core.logger, *_core.metrics);
    sdk::Counter& claims = _core.metrics->counter("ordersystem_redis_reaction_claims_total",
                                                  "Pending deliveries taken over from silent consumers",
                                                  {{"reaction", _deliveries->name()}});
    for (int i = 0; i < settings.reactionWorkers; ++i) {
        std::string consumer = i == 0 ? _core.nodeId : _core.nodeId + "#" + std::to_string(i);
        _workers.push_back(std::make_unique<ReactionWorker>(_core, *_deliveries, std::move(consumer), _stop, claims));
    }
    for (auto& w : _workers) _threads.emplace_back([worker = w.get()] { worker->run(); });
}

void ReactionGroup::stop() noexcept {
    _stop.raise();
    for (auto& t : _threads)
        if (t.joinable()) t.join();
    _threads.clear();
}

}  // namespace ordersystem::plugins::redis
