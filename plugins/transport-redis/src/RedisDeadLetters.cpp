// Dead letters of a reaction in a Redis hash, listed through a sorted set by failure time.
#include "RedisDeadLetters.h"

#include <hiredis/hiredis.h>

#include "ordersystem/sdk/json.h"

namespace ordersystem::plugins::redis {

using sdk::DeadLetter;
using sdk::Result;
using sdk::Status;
using sdk::StatusCode;

namespace {
/// Longer eventIds are not ours (UUIDs): answered as absent without asking Redis.
constexpr size_t kMaxEventIdLength = 200;
}  // namespace

RedisDeadLetterStore::RedisDeadLetterStore(TransportCore& core, std::string reaction)
    : _core(core), _hash(core.keys.deadLetters(reaction)), _byTime(core.keys.deadLettersByTime(reaction)) {}

Result<std::vector<DeadLetter>> RedisDeadLetterStore::list(size_t limit) noexcept {
    try {
        std::vector<DeadLetter> out;
        if (limit == 0) return out;
        auto ids = _core.pool->command({"ZRANGE", _byTime, "0", std::to_string(limit - 1)});
        if (!ids) return ids.status();
        const redisReply* r = ids.value().get();
        if (replyIsError(r)) return Status(StatusCode::Internal, "listing dead letters: " + replyString(r));
        if (replySize(r) == 0) return out;
        std::vector<std::string> argv = {"HMGET", _hash};
        for (size_t i = 0; i < replySize(r); ++i) argv.push_back(replyString(replyAt(r, i)));
        auto values = _core.pool->command(argv);
        if (!values) return values.status();
        const redisReply* v = values.value().get();
        if (replyIsError(v)) return Status(StatusCode::Internal, "reading dead letters: " + replyString(v));
        for (size_t i = 0; i < replySize(v); ++i) {
            if (replyIsNil(replyAt(v, i))) continue;  // removed between the two reads
            auto letter = transport::deadLetterFromJson(replyString(replyAt(v, i)));
            if (!letter) {
                _core.logger->warn("transport-redis: dead letter " + argv[i + 2] + " in " + _hash +
                                   " is unreadable: " + letter.status().message);
                continue;
            }
            out.push_back(std::move(letter.value()));
        }
        return out;
    } catch (const std::exception& e) {
        return Status(StatusCode::Internal, std::string("listing dead letters: ") + e.what());
    }
}

Result<std::optional<DeadLetter>> RedisDeadLetterStore::find(const std::string& eventId) noexcept {
    try {
        if (eventId.empty() || eventId.size() > kMaxEventIdLength) return std::optional<DeadLetter>();
        auto reply = _core.pool->command({"HGET", _hash, eventId});
        if (!reply) return reply.status();
        const redisReply* r = reply.value().get();
        if (replyIsError(r)) return Status(StatusCode::Internal, "reading a dead letter: " + replyString(r));
        if (replyIsNil(r)) return std::optional<DeadLetter>();
        auto letter = transport::deadLetterFromJson(replyString(r));
        if (!letter) return Status(StatusCode::Internal, "dead letter " + eventId + ": " + letter.status().message);
        return std::optional<DeadLetter>(std::move(letter.value()));
    } catch (const std::exception& e) {
        return Status(StatusCode::Internal, std::string("reading a dead letter: ") + e.what());
    }
}

Status RedisDeadLetterStore::put(const DeadLetter& letter) noexcept {
    try {
        auto reply = _core.pool->script(
            _core.scripts.putDeadLetter, {_hash, _byTime},
            {letter.event.eventId, transport::deadLetterToJson(letter), std::to_string(letter.failedAtMs)});
        if (!reply) return reply.status();
        if (replyIsError(reply.value().get()))
            return Status(StatusCode::Internal, "storing a dead letter: " + replyString(reply.value().get()));
        return Status::ok();
    } catch (const std::exception& e) {
        return Status(StatusCode::Internal, std::string("storing a dead letter: ") + e.what());
    }
}

Status RedisDeadLetterStore::remove(const std::string& eventId) noexcept {
    try {
        auto reply = _core.pool->script(_core.scripts.removeDeadLetter, {_hash, _byTime}, {eventId});
        if (!reply) return reply.status();
        if (replyIsError(reply.value().get()))
            return Status(StatusCode::Internal, "removing a dead letter: " + replyString(reply.value().get()));
        return Status::ok();
    } catch (const std::exception& e) {
        return Status(StatusCode::Internal, std::string("removing a dead letter: ") + e.what());
    }
}

}  // namespace ordersystem::plugins::redis
