// Contract: one reaction's dead letters in the JetStream KV bucket <stream>_DEADLETTERS, shared by
// every node (transport::DeadLetterStore). Key <reaction>.<eventId> (safeName of both), value
// {"event":<wire document>,"position":n,"attempts":n,"lastError":"..","failedAtMs":n}. The bucket
// has no TTL: a dead letter stays until it is delivered again. list() walks the keys in the order
// they were last written, which is the order of their last failure, and reads no further than limit.
// Thread-safe (cnats KV calls are); the kvStore is the caller's and outlives this object.
#pragma once

#include <string>

#include <nats/nats.h>

#include "NatsClient.h"
#include "ordersystem/transport/dead_letters.h"

namespace ordersystem::plugins::nats {

class KvDeadLetterStore final : public transport::DeadLetterStore {
public:
    KvDeadLetterStore(NatsClient& client, kvStore* bucket, const std::string& reaction);

    sdk::Result<std::vector<sdk::DeadLetter>> list(size_t limit) noexcept override;
    sdk::Result<std::optional<sdk::DeadLetter>> find(const std::string& eventId) noexcept override;
    sdk::Status put(const sdk::DeadLetter& letter) noexcept override;
    sdk::Status remove(const std::string& eventId) noexcept override;

private:
    std::string key(const std::string& eventId) const;

    NatsClient& _client;
    kvStore* _bucket;
    const std::string _prefix;  ///< "<reaction>."
};

}  // namespace ordersystem::plugins::nats
