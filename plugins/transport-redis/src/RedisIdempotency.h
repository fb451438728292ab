// Contract: cluster-wide idempotency keys in Redis (P:idem:<key>). Thread-safe; called on HTTP
// threads. A claim is a value with a lease (PX); completion replaces it with the stored response
// for 24 h (also written by the append script when an AppendRequest carries a completion).
// Each claim carries a random token so that a claim retried after a lost reply is recognised as
// our own instead of "in flight". With min_replicas_ack a claim or completion that WAIT did not see
// on enough replicas fails with Timeout (503); such a claim is released again.
#pragma once

#include "TransportCore.h"
#include "ordersystem/sdk/eventlog.h"

namespace ordersystem::plugins::redis {

/// "C\n<fingerprint>\n<response>": how a completed key is stored.
std::string completedValue(const sdk::IdempotencyCompletion& completion);

class RedisIdempotencyStore final : public sdk::IdempotencyStore {
public:
    explicit RedisIdempotencyStore(TransportCore& core) : _core(core) {}
    sdk::Result<sdk::IdempotencyClaim> claim(const std::string& key, const std::string& fingerprint,
                                             int64_t leaseMs) noexcept override;
    sdk::Status complete(const sdk::IdempotencyCompletion& completion) noexcept override;
    sdk::Status release(const std::string& key) noexcept override;

private:
    /// Ok, or Timeout naming what when acked is below min_replicas_ack.
    sdk::Status replicated(const std::string& what, int acked) const;
    TransportCore& _core;
};

}  // namespace ordersystem::plugins::redis
