// Contract: every Redis key the transport uses, derived from [transport.redis] key_prefix, and
// the Lua scripts that change them. Immutable after construction; shared read-only by all threads.
//
// Data layout (P = key_prefix):
//   P:log                      stream, the event log; entry id "<position>-0", field "event" = JSON
//   P:position                 counter of the last position handed out (INCR inside the append script)
//   P:order-id                 counter of order ids (INCR)
//   P:order:<id>:events        list of "<position> <event JSON>", one per version (LLEN = version)
//   P:idem:<key>               idempotency key: "I\n<fingerprint>\n<token>" while claimed (PX lease),
//                              "C\n<fingerprint>\n<response>" when completed (EX 24 h)
//   P:nodes / P:nodes:info     membership: zset nodeId -> last heartbeat (Redis TIME, ms); hash
//                              nodeId -> "<address>\n<mode>"
//   P:reaction:<name>:done:<eventId>   marker "delivered" (EX 24 h) for deduplication
//   P:reaction:<name>:progress hash orderId -> highest version acknowledged or dead-lettered (kept)
//   P:reaction:<name>:dead-letters       hash eventId -> dead letter JSON
//   P:reaction:<name>:dead-letters:time  zset eventId by failure time (Unix ms): the listing order
//   P:deadletter:<name>        stream of dead letters written before the hash existed (read by nobody)
// Consumer groups on P:log are named after the reaction.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "RedisConnection.h"

namespace ordersystem::plugins::redis {

struct RedisKeys {
    explicit RedisKeys(std::string prefix);
    std::string prefix;
    std::string log;
    std::string position;
    std::string orderIds;
    std::string nodes;
    std::string nodesInfo;
    /// With min_replicas_ack: the highest position WAIT saw on enough replicas; readers stop there.
    std::string replicated;
    std::string orderEvents(int64_t orderId) const { return prefix + ":order:" + std::to_string(orderId) + ":events"; }
    std::string idempotency(std::string_view key) const { return prefix + ":idem:" + std::string(key); }
    std::string reactionDone(std::string_view reaction, std::string_view eventId) const {
        return prefix + ":reaction:" + std::string(reaction) + ":done:" + std::string(eventId);
    }
    /// The order's highest version delivered or dead-lettered, expiring like reactionDone.
    std::string reactionProgress(std::string_view reaction, int64_t orderId) const {
        return prefix + ":reaction:" + std::string(reaction) + ":progress:" + std::to_string(orderId);
    }
    /// The one hash of every order's progress that earlier versions kept forever; removed at start.
    std::string reactionProgressHash(std::string_view reaction) const {
        return prefix + ":reaction:" + std::string(reaction) + ":progress";
    }
    std::string deadLetters(std::string_view reaction) const {
        return prefix + ":reaction:" + std::string(reaction) + ":dead-letters";
    }
    std::string deadLettersByTime(std::string_view reaction) const { return deadLetters(reaction) + ":time"; }
};

/// The Lua scripts; each is safe to run twice with the same arguments (see ConnectionPool's retry).
struct RedisScripts {
    RedisScripts();
    /// KEYS: order list, position counter, log stream [, idempotency key].
    /// ARGV: expectedVersion, maxlen, n, n event JSONs, n eventIds [, idempotency value, ttl seconds].
    /// Returns {1, lastPosition, version} appended | {2, lastPosition, version} already appended by
    /// an earlier attempt with the same eventIds | {0, "0", currentVersion} version conflict.
    LuaScript append;
    /// KEYS: idempotency key. ARGV: claim value, lease ms. Returns the existing value, or nil when claimed.
    LuaScript claim;
    /// KEYS: idempotency key. Deletes it only while it is an in-flight claim.
    LuaScript release;
    /// KEYS: nodes zset, nodes info hash. ARGV: nodeId, "<address>\n<mode>". Returns Redis time in ms.
    LuaScript heartbeat;
    /// KEYS: nodes zset, nodes info hash. ARGV: ttl ms. Returns flat {nodeId, info, lastSeenMs, ...}.
    LuaScript liveNodes;
    /// KEYS: log stream, done marker, progress hash. ARGV: group, entry id, ttl seconds, orderId,
    /// version. Marks delivered, raises the order's progress to version (never lowers it), XACKs.
    LuaScript ack;
    /// KEYS: log stream, dead-letter hash, dead-letter zset, progress hash. ARGV: group, entry id,
    /// eventId, dead letter JSON, failedAtMs, orderId, version. Stores the dead letter, raises the
    /// order's progress and XACKs, atomically; only while the entry is still pending (returns 1), else 0.
    LuaScript deadLetter;
    /// KEYS: dead-letter hash, dead-letter zset. ARGV: eventId, dead letter JSON, failedAtMs. Inserts or replaces.
    LuaScript putDeadLetter;
    /// KEYS: dead-letter hash, dead-letter zset. ARGV: eventId. Removes it (0 when there was none).
    LuaScript removeDeadLetter;
    /// KEYS: replicated position. ARGV: a position WAIT confirmed. Raises the key to it, never lowers it.
    LuaScript raise;
};

}  // namespace ordersystem::plugins::redis
