// Contract: opening the plugin's JetStream key-value buckets, idempotently across nodes that
// start at the same time. Called from start() paths; the returned kvStore is owned by the caller
// (kvStore_Destroy) and, like all cnats KV calls, thread-safe.
#pragma once

#include <cstdint>
#include <string>

#include <nats/nats.h>

#include "NatsClient.h"
#include "ordersystem/sdk/status.h"

namespace ordersystem::plugins::nats {

/// Binds to bucket, creating it (file storage, history 1, entries expiring after ttlNs, stream_replicas
/// replicas) if missing; an existing bucket with another replica count is InvalidConfig (checkReplicas).
sdk::Result<kvStore*> openBucket(NatsClient& client, const std::string& bucket, int64_t ttlNs,
                                 const Settings& settings);

/// A KV key for arbitrary text: hex when short (exact, collision-free), else a double hash.
std::string kvKeyFor(const std::string& text);

}  // namespace ordersystem::plugins::nats
