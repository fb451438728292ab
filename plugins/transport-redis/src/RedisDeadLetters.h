// Contract: a reaction's dead letters in Redis, shared by every node (transport::DeadLetterStore).
// P:reaction:<name>:dead-letters is a hash eventId -> JSON {"event", "position", "attempts",
// "lastError", "failedAtMs"}; P:reaction:<name>:dead-letters:time a sorted set of the eventIds by
// failure time, the listing order. A give-up writes both together with the XACK in one script
// (ReactionWorker); put() and remove() change both in one script. Thread-safe: every call borrows a
// pooled connection and fails within the command timeout.
#pragma once

#include <string>

#include "TransportCore.h"
#include "ordersystem/transport/dead_letters.h"

namespace ordersystem::plugins::redis {

class RedisDeadLetterStore final : public transport::DeadLetterStore {
public:
    RedisDeadLetterStore(TransportCore& core, std::string reaction);
    sdk::Result<std::vector<sdk::DeadLetter>> list(size_t limit) noexcept override;
    sdk::Result<std::optional<sdk::DeadLetter>> find(const std::string& eventId) noexcept override;
    sdk::Status put(const sdk::DeadLetter& letter) noexcept override;
    sdk::Status remove(const std::string& eventId) noexcept override;
    /// The hash's key, for log lines.
    const std::string& where() const noexcept { return _hash; }

private:
    TransportCore& _core;
    std::string _hash;
    std::string _byTime;
};

}  // namespace ordersystem::plugins::redis
