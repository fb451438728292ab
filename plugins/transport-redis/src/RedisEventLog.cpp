// The event log on a Redis stream: appends through the Lua script, reads through the pool.
#include "RedisEventLog.h"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <chrono>

#include "ProjectionReader.h"
#include "ReactionWorker.h"
#include "RedisDeadLetters.h"

namespace ordersystem::plugins::redis {

using sdk::AppendRequest;
using sdk::AppendResult;
using sdk::EventRecord;
using sdk::Result;
using sdk::Status;
using sdk::StatusCode;

namespace {
constexpr int64_t kMaxOrderId = (int64_t{1} << 53) - 1;
/// Appends per pipelined write: large enough to absorb every HTTP thread, small enough that one
/// batch's replies arrive well within the command timeout.
constexpr size_t kMaxAppendBatch = 128;
}  // namespace

RedisEventLog::RedisEventLog(TransportCore& core)
    : _core(core),
      _idempotency(core),
      _membership(core),
      _meter(*core.metrics),
      _pipeline(*core.pool, core.scripts.append, core.settings.appendPipelines, kMaxAppendBatch,
                &core.metrics->counter("ordersystem_redis_append_batches_total",
                                       "Pipelined writes of append scripts to Redis (round trips of the append path)"),
                core.settings.minReplicasAck > 0,
                [this](const std::vector<Result<ReplyPtr>>& replies, int acked) { publishReplicated(replies, acked); }),
      _ids(
          core.settings.orderIdBlock, [this] { return reserveIdBlock(); },
          [](std::function<void(bool)> work) {
              work(false);  // on the caller, after its id was handed out
              return true;
          }) {}

RedisEventLog::~RedisEventLog() { shutdown(); }

Status RedisEventLog::startMembership() { return _membership.start(); }

void RedisEventLog::shutdown() noexcept {
    _pipeline.close();  // accepted asynchronous appends complete while the pool is still open
    _subscriptions.stopAll();
    _membership.stop();
}

void RedisEventLog::publishReplicated(const std::vector<Result<ReplyPtr>>& replies, int acked) {
    if (_core.settings.minReplicasAck == 0 || acked < _core.settings.minReplicasAck) return;
    // Positions are handed out in the order Redis replicates the writes: WAIT covering this
    // batch's last write covers every lower position, whoever wrote it.
    uint64_t highest = 0;
    for (const auto& r : replies)
        if (r && replyInteger(replyAt(r.value().get(), 0), -1) == 1)
            highest = std::max<uint64_t>(highest, positionOfId(replyString(replyAt(r.value().get(), 1))));
    if (highest == 0) return;
    auto raised = _core.pool->script(_core.scripts.raise, {_core.keys.replicated}, {std::to_string(highest)});
    if (!raised || replyIsError(raised.value().get()))
        _core.logger->debug("transport-redis: raising the replicated position failed; the next batch raises it");
}

Result<int64_t> RedisEventLog::reserveIdBlock() {
    const int64_t block = _core.settings.orderIdBlock;
    int acked = kNotWaited;
    auto reply = _core.pool->command({"INCRBY", _core.keys.orderIds, std::to_string(block)}, &acked);
    if (!reply) return reply.status();
    const redisReply* r = reply.value().get();
    if (replyIsError(r) || r->type != REDIS_REPLY_INTEGER)
        return Status(StatusCode::Internal, "allocating order ids: " + replyString(r));
    // A block only the primary holds would be handed out again by a promoted replica: skip it.
    if (acked != kNotWaited && acked < _core.settings.minReplicasAck)
        return Status(StatusCode::Unavailable, "order id block up to " + std::to_string(r->integer) +
                                                   " not used: WAIT saw " + std::to_string(acked) + " of " +
                                                   std::to_string(_core.settings.minReplicasAck) + " replicas");
    // The counter holds the last id reserved by any node, so the block is (last - block, last].
    const long long last = r->integer;
    if (last - block + 1 <= 0 || last > kMaxOrderId)
        return Status(StatusCode::Internal, "order id space exhausted (" + std::to_string(last) + ")");
    return static_cast<int64_t>(last - block + 1);
}

Result<int64_t> RedisEventLog::allocateOrderId() noexcept {
    try {
        return _ids.next();
    } catch (const std::exception& e) {
        return Status(StatusCode::Internal, std::string("allocating an order id: ") + e.what());
    }
}

AppendResult RedisEventLog::append(AppendRequest& request) noexcept {
    try {
        return appendChecked(request);
    } catch (const std::exception& e) {
        AppendResult out;
        out.status = Status(StatusCode::Internal, std::string("append: ") + e.what());
        return out;
    }
}

Status RedisEventLog::encodeAppend(const AppendRequest& request, std::vector<std::string>& keys,
                                   std::vector<std::string>& args) const {
    const size_t n = request.events.size();
    if (request.orderId <= 0 || n == 0 || request.expectedVersion < 0)
        return Status(StatusCode::InvalidArgument, "append needs an order id > 0 and at least one event");
    args.reserve(5 + 2 * n);
    args.push_back(std::to_string(request.expectedVersion));
    args.push_back(std::to_string(_core.settings.streamMaxLen));
    args.push_back(std::to_string(n));
    for (size_t i = 0; i < n; ++i) {
        const EventRecord& e = request.events[i];
        const int64_t version = request.expectedVersion + static_cast<int64_t>(i) + 1;
        if (e.orderId != request.orderId || e.version != version || e.eventId.empty())
            return Status(StatusCode::InvalidArgument, "append: event " + std::to_string(i) +
                                                           " must carry the order id, version " +
                                                           std::to_string(version) + " and an eventId");
        args.push_back(sdk::toJson(e));
    }
    for (const auto& e : request.events) args.push_back(e.eventId);
    keys = {_core.keys.orderEvents(request.orderId), _core.keys.position, _core.keys.log};
    if (request.idempotency) {
        keys.push_back(_core.keys.idempotency(request.idempotency->key));
        args.push_back(completedValue(*request.idempotency));
        args.push_back(std::to_string(_core.settings.idempotencyTtlSeconds));
    }
    return Status::ok();
}

AppendResult RedisEventLog::appendChecked(AppendRequest& request) {
    std::vector<std::string> keys, args;
    if (Status st = encodeAppend(request, keys, args); !st) return AppendResult{st, 0, -1};
    const auto started = std::chrono::steady_clock::now();
    int acked = kNotWaited;
    auto reply = _pipeline.run(keys, args, &acked);
    return decodeAppend(request, std::move(reply), acked, started);
}

AppendResult RedisEventLog::decodeAppend(AppendRequest& request, Result<ReplyPtr>&& reply, int acked,
                                         std::chrono::steady_clock::time_point started) {
    size_t appended = 0;
    AppendResult out = decodeReply(request, std::move(reply), &appended);
    requireReplicas(request, acked, out);
    _meter.record(appended, out.status.code, std::chrono::steady_clock::now() - started);
    return out;
}

AppendResult RedisEventLog::decodeReply(AppendRequest& request, Result<ReplyPtr>&& reply, size_t* appended) {
    AppendResult out;
    if (!reply) {
        out.status = reply.status();
        return out;
    }
    // The script answers {1 appended | 2 appended earlier by this same request | 0 conflict, last position, version}.
    const redisReply* r = reply.value().get();
    const long long code = replySize(r) == 3 ? replyInteger(replyAt(r, 0), -1) : -1;
    const size_t n = request.events.size();
    const uint64_t last = positionOfId(replyString(replyAt(r, 1)));
    if (code == 0) {
        out.currentVersion = replyInteger(replyAt(r, 2), -1);
        out.status = Status(StatusCode::VersionConflict, "order " + std::to_string(request.orderId) +
                                                             " is at version " + std::to_string(out.currentVersion) +
                                                             ", not " + std::to_string(request.expectedVersion));
        return out;
    }
    if ((code != 1 && code != 2) || last < n) {
        out.status = Status(StatusCode::Internal, "append script failed: " + replyString(r));
        return out;
    }
    // One script run INCRs the position n times atomically, so the events hold consecutive positions.
    for (size_t i = 0; i < n; ++i) request.events[i].position = last - n + 1 + i;
    out.lastPosition = last;
    if (code == 1) *appended = n;
    return out;
}

void RedisEventLog::requireReplicas(const AppendRequest& request, int acked, AppendResult& out) const {
    const int wanted = _core.settings.minReplicasAck;
    if (wanted == 0 || !out.status || acked >= wanted) return;
    // Written on the primary but maybe not on a replica that a failover promotes: neither done nor undone.
    const std::string seen = acked == kNotWaited ? "WAIT did not answer" : "WAIT saw " + std::to_string(acked);
    const std::string what = "append of order " + std::to_string(request.orderId) + " version " +
                             std::to_string(request.expectedVersion + static_cast<int64_t>(request.events.size())) +
                             " uncertain: " + seen + " of " + std::to_string(wanted) + " replicas; it may still appear";
    _core.logger->warn("transport-redis: " + what);
    out.status = Status(StatusCode::Timeout, what);  // Timeout: "it may have been made", not "nothing changed"
    out.lastPosition = 0;
}

/// An appendAsync() in the pipeline: owns the script's keys and arguments and the caller's callback.
struct RedisEventLog::AsyncAppend final : AsyncCall {
    AsyncAppend(RedisEventLog& l, AppendRequest& r, AppendCallback d)
        : log(l), request(r), done(std::move(d)), started(std::chrono::steady_clock::now()) {}
    void complete(Result<ReplyPtr>&& reply) noexcept override {
        AppendResult out;
        try {
            out = log.decodeAppend(request, std::move(reply), replicasAcked, started);
        } catch (const std::exception& e) {
            out = AppendResult{Status(StatusCode::Internal, std::string("append: ") + e.what()), 0, -1};
        }
        log.deliver(done, std::move(out));
    }
    RedisEventLog& log;
    AppendRequest& request;
    AppendCallback done;
    std::chrono::steady_clock::time_point started;
};

void RedisEventLog::appendAsync(AppendRequest& request, AppendCallback done) noexcept {
    std::unique_ptr<AsyncAppend> call;
    AppendResult refused;
    try {
        call = std::make_unique<AsyncAppend>(*this, request, std::move(done));
        refused.status = encodeAppend(request, call->keys, call->args);
        if (refused.status && _pipeline.runAsync(call.get())) {
            call.release();  // the pipeline owns it now and may already have completed it
            return;
        }
        if (refused.status) refused.status = Status(StatusCode::Unavailable, "the Redis transport is stopping");
    } catch (const std::exception& e) {
        refused.status = Status(StatusCode::Internal, std::string("append: ") + e.what());
    }
    // Refused at once: on the caller's thread (done was moved into call only when call exists).
    deliver(call ? call->done : done, std::move(refused));  // NOLINT(bugprone-use-after-move)
}

void RedisEventLog::deliver(AppendCallback& done, AppendResult&& result) noexcept {
    try {
        done(std::move(result));
    } catch (const std::exception& e) {
        _core.logger->error(std::string("transport-redis: an append callback threw: ") + e.what());
    } catch (...) {
        _core.logger->error("transport-redis: an append callback threw");
    }
}

Result<std::vector<EventRecord>> RedisEventLog::readOrder(int64_t orderId) noexcept {
    try {
        auto reply = _core.pool->command({"LRANGE", _core.keys.orderEvents(orderId), "0", "-1"});
        if (!reply) return reply.status();
        const redisReply* r = reply.value().get();
        if (replyIsError(r)) return Status(StatusCode::Internal, "reading order events: " + replyString(r));
        std::vector<EventRecord> events;
        events.reserve(replySize(r));
        for (size_t i = 0; i < replySize(r); ++i) {
            auto ev = eventOfOrderItem(orderId, replyString(replyAt(r, i)));
            if (!ev) return ev.status();
            events.push_back(std::move(ev.value()));
        }
        return events;
    } catch (const std::exception& e) {
        return Status(StatusCode::Internal, std::string("reading order events: ") + e.what());
    }
}

Result<uint64_t> RedisEventLog::headPosition() noexcept {
    try {
        auto reply = _core.pool->command({"GET", _core.keys.position});
        if (!reply) return reply.status();
        const redisReply* r = reply.value().get();
        if (replyIsError(r)) return Status(StatusCode::Internal, "reading the head position: " + replyString(r));
        return static_cast<uint64_t>(replyInteger(r, 0));
    } catch (const std::exception& e) {
        return Status(StatusCode::Internal, std::string("reading the head position: ") + e.what());
    }
}

Result<std::vector<EventRecord>> RedisEventLog::readRange(uint64_t afterPosition, size_t maxEvents) noexcept {
    try {
        auto reply = _core.pool->command({"XRANGE", _core.keys.log, std::to_string(afterPosition + 1) + "-0", "+",
                                          "COUNT", std::to_string(std::max<size_t>(maxEvents, 1))});
        if (!reply) return reply.status();
        const redisReply* r = reply.value().get();
        if (replyIsError(r)) return Status(StatusCode::Internal, "reading the log: " + replyString(r));
        std::vector<EventRecord> events;
        for (const auto& entry : parseEntries(r)) {
            auto ev = eventOfEntry(entry);
            if (!ev) return Status(StatusCode::Internal, "reading the log: " + ev.status().message);
            events.push_back(std::move(ev.value()));
        }
        return events;
    } catch (const std::exception& e) {
        return Status(StatusCode::Internal, std::string("reading the log: ") + e.what());
    }
}

Status RedisEventLog::ensureOrderIdsAbove(int64_t orderId) noexcept {
    try {
        if (orderId < 0 || orderId > kMaxOrderId)
            return Status(StatusCode::InvalidArgument, "order id " + std::to_string(orderId) + " is out of range");
        int acked = kNotWaited;
        auto reply = _core.pool->script(_core.scripts.raise, {_core.keys.orderIds}, {std::to_string(orderId)}, &acked);
        if (!reply) return reply.status();
        if (replyIsError(reply.value().get()))
            return Status(StatusCode::Internal, "raising the order id counter: " + replyString(reply.value().get()));
        if (acked != kNotWaited && acked < _core.settings.minReplicasAck)
            return Status(StatusCode::Unavailable, "raising the order id counter: WAIT saw " + std::to_string(acked) +
                                                       " of " + std::to_string(_core.settings.minReplicasAck) +
                                                       " replicas");
        return Status::ok();
    } catch (const std::exception& e) {
        return Status(StatusCode::Internal, std::string("raising the order id counter: ") + e.what());
    }
}

Result<sdk::SubscriptionId> RedisEventLog::subscribe(sdk::Projection& projection) noexcept {
    try {
        auto reader = std::make_unique<ProjectionReader>(_core, projection);
        reader->start();
        return _subscriptions.add(std::move(reader));
    } catch (const std::exception& e) {
        return Status(StatusCode::Internal, std::string("subscribing a projection: ") + e.what());
    }
}

/// A reaction group as a subscription: stopping it also takes it off the list retryDeadLetter() uses.
struct RedisEventLog::GroupSubscription final : Subscription {
    GroupSubscription(RedisEventLog& l, std::shared_ptr<ReactionGroup> g) : log(l), group(std::move(g)) {}
    void stop() noexcept override {
        {
            std::lock_guard<std::mutex> lock(log._reactionsMutex);
            auto it = log._reactions.find(group->name());
            if (it != log._reactions.end() && it->second == group) log._reactions.erase(it);
        }
        group->stop();
    }
    RedisEventLog& log;
    std::shared_ptr<ReactionGroup> group;
};

Result<sdk::SubscriptionId> RedisEventLog::subscribe(sdk::Reaction& reaction) noexcept {
    try {
        auto group = std::make_shared<ReactionGroup>(_core, reaction);
        group->start();
        {
            std::lock_guard<std::mutex> lock(_reactionsMutex);
            _reactions[group->name()] = group;
        }
        return _subscriptions.add(std::make_unique<GroupSubscription>(*this, std::move(group)));
    } catch (const std::exception& e) {
        return Status(StatusCode::Internal, std::string("subscribing a reaction: ") + e.what());
    }
}

Result<std::vector<sdk::DeadLetter>> RedisEventLog::deadLetters(std::string_view reaction, size_t limit) noexcept {
    try {
        if (reaction.empty()) return Status(StatusCode::InvalidArgument, "no reaction named");
        return RedisDeadLetterStore(_core, std::string(reaction))
            .list(std::min(limit, transport::kMaxDeadLettersListed));
    } catch (const std::exception& e) {
        return Status(StatusCode::Internal, std::string("listing dead letters: ") + e.what());
    }
}

Status RedisEventLog::retryDeadLetter(std::string_view reaction, const std::string& eventId) noexcept {
    try {
        std::shared_ptr<ReactionGroup> group;
        {
            std::lock_guard<std::mutex> lock(_reactionsMutex);
            auto it = _reactions.find(reaction);
            if (it != _reactions.end()) group = it->second;
        }
        if (!group)
            return Status(StatusCode::Unavailable, "reaction " + std::string(reaction) + " does not run on this node");
        return group->retryDeadLetter(eventId);
    } catch (const std::exception& e) {
        return Status(StatusCode::Internal, std::string("retrying a dead letter: ") + e.what());
    }
}

void RedisEventLog::unsubscribe(sdk::SubscriptionId id) noexcept { _subscriptions.stop(id); }

}  // namespace ordersystem::plugins::redis
