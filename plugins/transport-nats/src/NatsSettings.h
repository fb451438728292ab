// Contract: the [transport.nats] section parsed and checked once, in the plugin's create() (which
// also runs for --check-config). readSettings() never touches the network; every refusal is an
// InvalidConfig Status whose message names the key, e.g. "transport.nats.url: ...".
// The Settings value is immutable after create() and read from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ordersystem/sdk/config.h"
#include "ordersystem/sdk/status.h"

namespace ordersystem::plugins::nats {

/// append_timeout_ms = 0 with replicated streams: rides over a leader election (seconds in
/// nats-server 2.9) with room to spare, and well inside the streams' 2 min duplicate window.
inline constexpr int64_t kReplicatedAppendTimeoutMs = 10000;

struct Settings {
    std::string url = "nats://127.0.0.1:4222";
    /// url split at its commas: the servers of one cluster, each checked.
    std::vector<std::string> servers = {url};
    std::string stream = "ORDERS";                ///< the event log stream
    std::string subjectPrefix = "orders.events";  ///< one subject per order: <prefix>.<orderId>
    std::string deadLetterPrefix = "orders.deadletter";
    std::string idSubject = "orders.ids";
    int64_t streamReplicas = 1;
    int64_t connectTimeoutMs = 2000;
    int64_t requestTimeoutMs = 2000;
    /// Resolved: never 0 (see the key's help).
    int64_t appendTimeoutMs = 2000;
    int64_t reconnectWaitMs = 250;
    int64_t heartbeatIntervalMs = 2000;
    int64_t nodeTtlMs = 10000;
    int64_t reactionAckWaitMs = 30000;
    int64_t reactionMaxDeliveries = 25;
    int64_t reactionWorkers = 2;
    int64_t reactionRetryBaseMs = 500;
    int64_t reactionRetryMaxMs = 30000;
    int64_t projectionBatch = 256;

    // Names derived from the above (all in one place so tests and operators can find them).
    std::string eventsFilter() const { return subjectPrefix + ".>"; }
    std::string orderSubject(int64_t orderId) const { return subjectPrefix + "." + std::to_string(orderId); }
    std::string idStream() const { return stream + "_IDS"; }
    std::string deadLetterStream() const { return stream + "_DEADLETTER"; }
    std::string deadLetterSubject(const std::string& reaction) const { return deadLetterPrefix + "." + reaction; }
    std::string idempotencyBucket() const { return stream + "_IDEMPOTENCY"; }
    std::string membershipBucket() const { return stream + "_NODES"; }
    std::string reactionsDoneBucket() const { return stream + "_REACTIONS_DONE"; }
    std::string reactionsProgressBucket() const { return stream + "_REACTIONS_PROGRESS"; }
    std::string reactionsAttemptsBucket() const { return stream + "_REACTIONS_ATTEMPTS"; }
    std::string deadLettersBucket() const { return stream + "_DEADLETTERS"; }
};

/// The declared keys of [transport.nats] (the descriptor points at this array).
const sdk::ConfigKeySpec* configKeys() noexcept;
uint32_t configKeyCount() noexcept;

/// Reads and validates the section.
sdk::Result<Settings> readSettings(const sdk::ConfigSection& config);

/// InvalidConfig naming the stream (or KV bucket), its replica count and stream_replicas with
/// the operator's two ways out, unless they agree. kind is "stream" or "key-value bucket".
sdk::Status checkReplicas(const Settings& settings, const std::string& kind, const std::string& name,
                          int64_t existingReplicas);

/// A JetStream durable / KV key safe form of a free text name: [A-Za-z0-9_-], others become '_'.
std::string safeName(const std::string& text);

}  // namespace ordersystem::plugins::nats
