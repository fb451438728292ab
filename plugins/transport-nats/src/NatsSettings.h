// Contract: the [transport.nats] section parsed and checked once, in the plugin's create() (which
// also runs for --check-config). readSettings() never touches the network; every refusal is an
// InvalidConfig Status whose message names the key, e.g. "transport.nats.url: ...".
// The Settings value is immutable after create() and read from any thread.
#pragma once

#include <cstdint>
#include <string>

#include "ordersystem/sdk/config.h"
#include "ordersystem/sdk/status.h"

namespace ordersystem::plugins::nats {

struct Settings {
    std::string url = "nats://127.0.0.1:4222";
    std::string stream = "ORDERS";                ///< the event log stream
    std::string subjectPrefix = "orders.events";  ///< one subject per order: <prefix>.<orderId>
    std::string deadLetterPrefix = "orders.deadletter";
    std::string idSubject = "orders.ids";
    int64_t streamReplicas = 1;
    int64_t connectTimeoutMs = 2000;
    int64_t requestTimeoutMs = 2000;
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
};

/// The declared keys of [transport.nats] (the descriptor points at this array).
const sdk::ConfigKeySpec* configKeys() noexcept;
uint32_t configKeyCount() noexcept;

/// Reads and validates the section.
sdk::Result<Settings> readSettings(const sdk::ConfigSection& config);

/// A JetStream durable / KV key safe form of a free text name: [A-Za-z0-9_-], others become '_'.
std::string safeName(const std::string& text);

}  // namespace ordersystem::plugins::nats
