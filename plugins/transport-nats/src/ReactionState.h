// Contract: what the nodes running one reaction share about its deliveries, in JetStream KV
// buckets (keys start with the reaction's consumer name):
// - done (<stream>_REACTIONS_DONE, 24 h): event ids handled successfully, the dedup of redeliveries.
// - progress (<stream>_REACTIONS_PROGRESS, 24 h after the key's last write): per order the highest
//   version acknowledged or dead-lettered; only ever raised (compare-and-set), so the order's next
//   event may go. Without it (expired) the next event goes once its previous one is done.
// - attempts (<stream>_REACTIONS_ATTEMPTS, 7 days): per failing event the deliveries that failed,
//   written on failures only and deleted on success or dead letter. JetStream's own delivery count
//   also counts the times an event waited behind its order, so it cannot be the attempt number.
// Thread-safe (cnats KV calls are); every call is one or two KV round trips.
#pragma once

#include <cstdint>
#include <string>

#include <nats/nats.h>

#include "NatsClient.h"
#include "NatsSettings.h"
#include "ordersystem/sdk/status.h"

namespace ordersystem::plugins::nats {

/// How long the done-bucket remembers an event (an event older than this counts as handled).
inline constexpr int64_t kDoneTtlMs = int64_t{24} * 3600 * 1000;

class ReactionState {
public:
    ReactionState(const Settings& settings, NatsClient& client, std::string consumer);
    ~ReactionState();
    ReactionState(const ReactionState&) = delete;
    ReactionState& operator=(const ReactionState&) = delete;

    /// Opens (creating where missing) the three buckets.
    sdk::Status open();
    void close() noexcept;

    /// True when this event was handled successfully somewhere in the cluster (false also when unknown).
    bool done(const std::string& eventId);
    void markDone(const std::string& eventId);

    /// The order's highest version acknowledged or dead-lettered; 0 when none is recorded.
    sdk::Result<int64_t> progress(int64_t orderId);
    /// Raises the order's progress to version (a no-op when it is there already).
    sdk::Status advance(int64_t orderId, int64_t version);

    /// Failed deliveries of the event so far (0: none recorded).
    sdk::Result<int64_t> failedAttempts(const std::string& eventId);
    sdk::Status recordFailedAttempts(const std::string& eventId, int64_t attempts);
    void clearFailedAttempts(const std::string& eventId);

private:
    std::string eventKey(const std::string& eventId) const;

    const Settings& _settings;
    NatsClient& _client;
    const std::string _consumer;
    kvStore* _done = nullptr;
    kvStore* _progress = nullptr;
    kvStore* _attempts = nullptr;
};

}  // namespace ordersystem::plugins::nats
