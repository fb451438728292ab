// Contract: cluster-wide Idempotency-Keys (sdk::IdempotencyStore) in the KV bucket
// <stream>_IDEMPOTENCY whose entries expire 24 h after their last write. A claim is a KV create
// (compare-and-set on "absent"), so of two nodes claiming one key exactly one gets Claimed; an
// in-flight claim whose lease ran out is taken over with a KV update on its revision.
// Thread-safe; every call is one or two NATS round trips, bounded by request_timeout_ms, and
// Unavailable at once while NATS is away. open() in start(), close() in stop().
#pragma once

#include <string>

#include "NatsClient.h"
#include "ordersystem/sdk/eventlog.h"

namespace ordersystem::plugins::nats {

class KvIdempotencyStore final : public sdk::IdempotencyStore {
public:
    KvIdempotencyStore(const Settings& settings, NatsClient& client);
    ~KvIdempotencyStore() override;

    sdk::Status open();
    void close() noexcept;

    sdk::Result<sdk::IdempotencyClaim> claim(const std::string& key, const std::string& fingerprint,
                                             int64_t leaseMs) noexcept override;
    sdk::Status complete(const sdk::IdempotencyCompletion& completion) noexcept override;
    sdk::Status release(const std::string& key) noexcept override;

private:
    sdk::Result<sdk::IdempotencyClaim> claimOnce(const std::string& kvKey, const std::string& fingerprint,
                                                 int64_t leaseMs, bool* retry);

    const Settings& _settings;
    NatsClient& _client;
    kvStore* _kv = nullptr;
};

}  // namespace ordersystem::plugins::nats
