// Once-per-cluster delivery of a reaction through a Redis consumer group.
#include "ReactionWorker.h"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <set>

#include "ordersystem/sdk/util.h"

namespace ordersystem::plugins::redis {

using sdk::Status;
using sdk::StatusCode;

namespace {
/// Entries taken per read: small, so that a slow handle() does not leave many read-but-unhandled
/// entries idling toward another node's claim.
constexpr int kReactionBatch = 10;
constexpr int kMaxPages = 10;
/// Pending entries listed per XPENDING page when loading this consumer's own.
constexpr int kRecoverPage = 100;
/// Due entries delivered per pass before new entries are read again.
constexpr int kDuePerPass = 50;
/// A consumer silent this long with nothing pending belongs to a node that is gone.
constexpr long long kPruneIdleMs = 3600LL * 1000;
constexpr auto kLogEvery = std::chrono::seconds(10);

long long msSince(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t).count();
}
}  // namespace

ReactionWorker::ReactionWorker(TransportCore& core, transport::ReactionDeliveries& deliveries, std::string consumer,
                               StopSignal& stop, sdk::Counter& claims, size_t maxHeld)
    : _core(core),
      _deliveries(deliveries),
      _name(deliveries.name()),
      _consumer(std::move(consumer)),
      _stop(stop),
      _link(core, stop, "reaction " + _name + " (" + _consumer + ")",
            core.settings.blockMs + core.settings.commandTimeoutMs),
      _claims(claims),
      _gate(core, _name),
      _maxHeld(maxHeld) {}

bool ReactionWorker::fail(const Status& status) {
    _link.drop(status);
    return false;
}

ReactionWorker::Clock::time_point ReactionWorker::nextDue() const {
    auto next = Clock::time_point::max();
    for (const auto& [position, h] : _held) next = std::min(next, h.due);
    return next;
}

void ReactionWorker::run() {
    sdk::runAsBackgroundThread();
    sdk::nameThisThread("react:" + _name);
    const auto claimEvery = std::chrono::milliseconds(std::clamp(_core.settings.reactionClaimIdleMs / 3, 50, 5000));
    while (!_stop.raised()) {
        bool fresh = false;
        RedisConnection* c = _link.get(&fresh);
        if (!c) break;
        if (fresh && (!ensureGroup(*c) || !recover(*c))) continue;
        if (Clock::now() >= _nextClaim) {
            if (_held.size() < _maxHeld && !autoclaim(*c)) continue;
            _nextClaim = Clock::now() + claimEvery;
        }
        if (!runDue(*c) || !keepHeld(*c)) continue;
        const auto untilDue = std::chrono::duration_cast<std::chrono::milliseconds>(nextDue() - Clock::now()).count();
        const int blockMs = static_cast<int>(std::clamp<long long>(untilDue, 1, _core.settings.blockMs));
        if (_held.size() < _maxHeld) {
            readNew(*c, blockMs);
            continue;
        }
        if (Clock::now() >= _nextFullLog) {
            _nextFullLog = Clock::now() + kLogEvery;
            _core.logger->warn("reaction " + _name + ": " + _consumer + " holds " + std::to_string(_held.size()) +
                               " undelivered events (its limit); reading new events pauses until some are "
                               "acknowledged or dead-lettered");
        }
        _stop.sleepFor(std::chrono::milliseconds(blockMs));
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
    // Earlier versions kept every order's progress in one hash forever; freed in the background.
    (void)c.command({"UNLINK", _core.keys.reactionProgressHash(_name)});
    return true;
}

bool ReactionWorker::recover(RedisConnection& c) {
    std::string start = "-";
    const auto now = Clock::now();
    // Bounded: a consumer never holds much more than maxHeld (takeovers stop at it).
    for (size_t page = 0; page * kRecoverPage < 4 * _maxHeld + kRecoverPage && !_stop.raised(); ++page) {
        auto reply =
            c.command({"XPENDING", _core.keys.log, _name, start, "+", std::to_string(kRecoverPage), _consumer});
        if (!reply) return fail(reply.status());
        const redisReply* r = reply.value().get();
        if (replyIsError(r)) return true;  // NOGROUP: readNew() recreates it
        for (size_t i = 0; i < replySize(r); ++i) {
            const redisReply* p = replyAt(r, i);
            const std::string id = replyString(replyAt(p, 0));
            start = "(" + id;
            const uint64_t position = positionOfId(id);
            if (_held.count(position)) continue;
            Held h;
            h.id = id;
            const long long idle = replyInteger(replyAt(p, 2));
            h.deliveries = replyInteger(replyAt(p, 3));
            h.touched = now - std::chrono::milliseconds(idle);
            // Its jittered due time died with the run that failed it: the un-jittered back-off.
            const long long wait = h.deliveries == 0 ? 0 : std::max(0LL, _deliveries.retryDelayMs(h.deliveries) - idle);
            h.due = now + std::chrono::milliseconds(wait);
            _held.emplace(position, std::move(h));
        }
        if (replySize(r) < static_cast<size_t>(kRecoverPage)) break;
    }
    return true;
}

bool ReactionWorker::readNew(RedisConnection& c, int blockMs) {
    const size_t room = std::min<size_t>(kReactionBatch, _maxHeld - _held.size());
    auto reply = c.command({"XREADGROUP", "GROUP", _name, _consumer, "COUNT", std::to_string(room), "BLOCK",
                            std::to_string(blockMs), "STREAMS", _core.keys.log, ">"});
    if (!reply) return fail(reply.status());
    const redisReply* r = reply.value().get();
    if (_link.refusedAsReplica(r)) return false;
    if (replyIsError(r)) {
        // NOGROUP: the stream or group vanished (Redis lost its data or was flushed): recreate it.
        // LOADING: Redis replays its AOF after a restart.
        if (replyString(r).rfind("LOADING", 0) != 0)
            _core.logger->warn("reaction " + _name + ": XREADGROUP refused: " + replyString(r));
        _stop.sleepFor(std::chrono::milliseconds(200));
        _held.clear();  // what was pending went with the group
        return ensureGroup(c);
    }
    if (replyIsNil(r)) return true;
    const auto readAt = Clock::now();
    const auto entries = parseEntries(replyAt(replyAt(r, 0), 1));
    for (const auto& entry : entries) {
        Held h;
        h.id = entry.id;
        h.deliveries = 1;
        h.touched = readAt;
        h.due = readAt;
        _held.emplace(entry.position, std::move(h));
    }
    for (const auto& entry : entries) {
        if (_stop.raised()) break;  // left pending: delivered after the restart or by another node
        const Held& h = _held.at(entry.position);
        // A slow handle() of an earlier entry may have let this one idle past another node's claim.
        if (msSince(h.touched) > _core.settings.reactionClaimIdleMs / 2) {
            ReplyPtr claimed;
            if (!claim(c, h, true, -1, &claimed)) return false;
            if (replySize(claimed.get()) != 1) {
                _core.logger->debug("reaction " + _name + ": " + entry.id + " was taken over; skipping it");
                _held.erase(entry.position);
                continue;
            }
            _held.at(entry.position).touched = Clock::now();
        }
        if (!process(c, entry)) return false;
    }
    return true;
}

bool ReactionWorker::claim(RedisConnection& c, const Held& h, bool justId, long long retryCount, ReplyPtr* out) {
    // Idle since our last touch unless another consumer claimed it (which reset its idle time to
    // less than elapsed - claim_idle): XCLAIM with this bound succeeds only for our own.
    const long long elapsed = msSince(h.touched);
    const long long minIdle = std::max(0LL, elapsed - std::min(50LL, _core.settings.reactionClaimIdleMs / 2LL));
    std::vector<std::string> argv = {"XCLAIM", _core.keys.log, _name, _consumer, std::to_string(minIdle), h.id};
    if (retryCount >= 0) argv.insert(argv.end(), {"RETRYCOUNT", std::to_string(retryCount)});
    if (justId) argv.push_back("JUSTID");
    auto reply = c.command(argv);
    if (!reply) return fail(reply.status());
    if (_link.refusedAsReplica(reply.value().get())) return false;
    *out = std::move(reply.value());
    return true;
}

bool ReactionWorker::runDue(RedisConnection& c) {
    const auto now = Clock::now();
    std::set<int64_t> blocked;  // orders with an earlier event still waiting in this pass
    int delivered = 0;
    for (auto it = _held.begin(); it != _held.end() && !_stop.raised() && delivered < kDuePerPass;) {
        const uint64_t position = it->first;
        Held& h = (it++)->second;  // process() may erase this entry, never another
        if (h.due > now) continue;
        if (h.waiting && blocked.count(h.orderId)) {
            // Its order's earlier event waits too: no need to ask Redis, only to keep it ours.
            h.due = now + std::chrono::milliseconds(kWaitMaxMs);
            if (msSince(h.touched) < _core.settings.reactionClaimIdleMs / 3) continue;
            ReplyPtr refreshed;
            if (!claim(c, h, true, h.deliveries, &refreshed)) return false;
            if (replySize(refreshed.get()) == 1) h.touched = Clock::now();
            else _held.erase(position);
            continue;
        }
        if (!h.waiting && _deliveries.exhausted(h.deliveries)) {
            if (!deadLetterExhausted(c, position)) return false;
            continue;
        }
        ReplyPtr claimed;  // counts this delivery
        if (!claim(c, h, false, h.deliveries + 1, &claimed)) return false;
        auto entries = replyIsError(claimed.get()) ? std::vector<StreamEntry>{} : parseEntries(claimed.get());
        if (entries.empty()) {  // taken over by another consumer, or acknowledged by it
            _held.erase(position);
            continue;
        }
        h.deliveries += 1;
        h.touched = Clock::now();
        ++delivered;
        if (!process(c, entries.front())) return false;
        auto again = _held.find(position);
        if (again != _held.end() && again->second.waiting) blocked.insert(again->second.orderId);
    }
    return true;
}

bool ReactionWorker::autoclaim(RedisConnection& c) {
    std::string cursor = "0-0";
    size_t taken = 0;
    for (int page = 0; page < kMaxPages && !_stop.raised() && _held.size() + taken < _maxHeld; ++page) {
        const size_t room = std::min<size_t>(100, _maxHeld - _held.size() - taken);
        auto reply = c.command({"XAUTOCLAIM", _core.keys.log, _name, _consumer,
                                std::to_string(_core.settings.reactionClaimIdleMs), cursor, "COUNT",
                                std::to_string(room), "JUSTID"});
        if (!reply) return fail(reply.status());
        const redisReply* r = reply.value().get();
        if (replyIsError(r)) return true;  // NOGROUP: readNew() recreates it
        // Redis 7 answers {next cursor, claimed ids, deleted ids}; 6.2 had two elements.
        const redisReply* ids = replyAt(r, 1);
        for (size_t i = 0; i < replySize(ids); ++i) {
            // One of our own (a handle() ran past the claim time): its idle time starts again now.
            auto own = _held.find(positionOfId(replyString(replyAt(ids, i))));
            if (own != _held.end()) own->second.touched = Clock::now();
            else ++taken;
        }
        cursor = replyString(replyAt(r, 0));
        if (cursor.empty() || cursor == "0-0") break;
    }
    if (Clock::now() >= _nextPrune) {
        _nextPrune = Clock::now() + std::chrono::minutes(10);
        if (!pruneConsumers(c)) return false;
    }
    if (taken > 0) {
        _claims.inc(static_cast<double>(taken));
        _core.logger->info("reaction " + _name + ": " + _consumer + " took over " + std::to_string(taken) +
                           " deliveries left pending by a silent consumer for over " +
                           std::to_string(_core.settings.reactionClaimIdleMs) + " ms");
        return recover(c);  // JUSTID answers no delivery counts: XPENDING has them
    }
    return true;
}

bool ReactionWorker::keepHeld(RedisConnection& c) {
    // Held entries wait for their back-off (up to retry_max_ms or a Retry-After) or for their order:
    // claimed to ourselves again well before they idle into another consumer's takeover.
    const long long claimIdle = _core.settings.reactionClaimIdleMs;
    long long youngest = -1;
    for (const auto& [position, h] : _held) {
        const long long e = msSince(h.touched);
        if (e < claimIdle / 3) continue;
        youngest = youngest < 0 ? e : std::min(youngest, e);
    }
    if (youngest < 0) return true;
    // One XCLAIM for entries touched within claim_idle/4 of each other: a min-idle just below the
    // youngest still fails for any of them another consumer took (its idle < elapsed - claim_idle).
    const long long minIdle = std::max(0LL, youngest - std::min(50LL, claimIdle / 4));
    std::vector<std::string> argv = {"XCLAIM", _core.keys.log, _name, _consumer, std::to_string(minIdle)};
    std::vector<uint64_t> asked;
    for (const auto& [position, h] : _held) {
        const long long e = msSince(h.touched);
        if (e < youngest || e > youngest + claimIdle / 4 || asked.size() >= 100) continue;
        argv.push_back(h.id);
        asked.push_back(position);
    }
    argv.push_back("JUSTID");  // keeps each entry's delivery count
    auto reply = c.command(argv);
    if (!reply) return fail(reply.status());
    const redisReply* r = reply.value().get();
    if (_link.refusedAsReplica(r)) return false;
    if (replyIsError(r)) return true;
    std::set<uint64_t> kept;
    for (size_t i = 0; i < replySize(r); ++i) kept.insert(positionOfId(replyString(replyAt(r, i))));
    const auto now = Clock::now();
    for (uint64_t position : asked) {
        if (kept.count(position)) _held.at(position).touched = now;
        else _held.erase(position);  // another consumer took it over
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

}  // namespace ordersystem::plugins::redis
