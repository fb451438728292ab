// Idempotency keys shared by every node through Redis.
#include "RedisIdempotency.h"

#include <hiredis/hiredis.h>

#include <algorithm>

#include "ordersystem/sdk/util.h"

namespace ordersystem::plugins::redis {

using sdk::IdempotencyClaim;
using sdk::Result;
using sdk::Status;
using sdk::StatusCode;

std::string completedValue(const sdk::IdempotencyCompletion& c) { return "C\n" + c.fingerprint + "\n" + c.response; }

Result<IdempotencyClaim> RedisIdempotencyStore::claim(const std::string& key, const std::string& fingerprint,
                                                      int64_t leaseMs) noexcept {
    try {
        if (key.empty()) return Status(StatusCode::InvalidArgument, "empty idempotency key");
        const std::string token = sdk::newUuid();
        const std::string mine = "I\n" + fingerprint + "\n" + token;
        int acked = kNotWaited;
        auto reply = _core.pool->script(_core.scripts.claim, {_core.keys.idempotency(key)},
                                        {mine, std::to_string(leaseMs > 0 ? leaseMs : 1)}, &acked);
        if (!reply) return reply.status();
        const redisReply* r = reply.value().get();
        if (replyIsError(r)) return Status(StatusCode::Internal, "idempotency claim: " + replyString(r));
        IdempotencyClaim out;
        if (replyIsNil(r)) {
            // A claim a failover could lose would let a retry on another node run the request twice.
            if (Status st = replicated("idempotency claim of '" + key + "'", acked); !st) {
                release(key);
                return st;
            }
            return out;  // Claimed
        }
        const std::string value = replyString(r);
        if (value == mine) return out;  // our own claim, its reply was lost and the call retried
        const auto nl1 = value.find('\n');
        const auto nl2 = nl1 == std::string::npos ? std::string::npos : value.find('\n', nl1 + 1);
        if (value.size() < 2 || nl1 != 1)
            return Status(StatusCode::Internal, "idempotency key '" + key + "' holds an unknown value");
        out.fingerprint = value.substr(2, (nl2 == std::string::npos ? value.size() : nl2) - 2);
        if (value[0] == 'C') {
            out.state = IdempotencyClaim::State::Completed;
            out.response = nl2 == std::string::npos ? std::string() : value.substr(nl2 + 1);
        } else {
            out.state = IdempotencyClaim::State::InFlight;
        }
        return out;
    } catch (const std::exception& e) {
        return Status(StatusCode::Internal, std::string("idempotency claim: ") + e.what());
    }
}

Status RedisIdempotencyStore::complete(const sdk::IdempotencyCompletion& completion) noexcept {
    try {
        int acked = kNotWaited;
        auto reply = _core.pool->command({"SET", _core.keys.idempotency(completion.key), completedValue(completion),
                                          "EX", std::to_string(_core.settings.idempotencyTtlSeconds)},
                                         &acked);
        if (!reply) return reply.status();
        if (replyIsError(reply.value().get()))
            return Status(StatusCode::Internal, "idempotency complete: " + replyString(reply.value().get()));
        return replicated("idempotency completion of '" + completion.key + "'", acked);
    } catch (const std::exception& e) {
        return Status(StatusCode::Internal, std::string("idempotency complete: ") + e.what());
    }
}

Status RedisIdempotencyStore::replicated(const std::string& what, int acked) const {
    const int wanted = _core.settings.minReplicasAck;
    if (wanted == 0 || acked >= wanted) return Status::ok();
    return Status(StatusCode::Timeout, what + " uncertain: WAIT saw " + std::to_string(std::max(acked, 0)) + " of " +
                                           std::to_string(wanted) + " replicas");
}

// A release lost in a failover leaves the lease to expire by itself: no WAIT.
Status RedisIdempotencyStore::release(const std::string& key) noexcept {
    try {
        auto reply = _core.pool->script(_core.scripts.release, {_core.keys.idempotency(key)}, {});
        if (!reply) return reply.status();
        if (replyIsError(reply.value().get()))
            return Status(StatusCode::Internal, "idempotency release: " + replyString(reply.value().get()));
        return Status::ok();
    } catch (const std::exception& e) {
        return Status(StatusCode::Internal, std::string("idempotency release: ") + e.what());
    }
}

}  // namespace ordersystem::plugins::redis
