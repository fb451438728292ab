// Contract: how every transport delivers events to a reaction: the same retry rule, the same
// give-up rule, the same log lines and the same metric families, whatever the engine does to
// redeliver (an in-process sleep, a Redis XCLAIM, a JetStream NakWithDelay) and wherever it keeps
// dead letters.
// - The policy is the reaction's own deliveryPolicy() where it sets a field (the [notifications]
//   keys), else the transport's settings.
// - deliver(event, n) calls handle() for delivery number n (1 = first) and says what the engine
//   must do next: Acknowledge, Retry after retryInMs (retry_initial_ms doubling up to
//   retry_max_ms, with jitter: between half and all of that; never sooner than the failure's
//   retryAfterMs, which is capped at an hour), or DeadLetter once n reached max_deliveries. A
//   failure is logged on the first delivery and every fifth.
// - The engine then records the dead letter and calls gaveUp(), which logs an error naming the
//   event and counts ordersystem_reaction_dead_letters_total; skippedDuplicate() counts a
//   redelivery the engine recognised as already handled.
// Thread-safe (reaction_workers threads may share one); handle() may run on several at once.
#pragma once

#include <cstdint>
#include <string>

#include "ordersystem/sdk/eventlog.h"
#include "ordersystem/sdk/logger.h"
#include "ordersystem/sdk/metrics.h"

namespace ordersystem::transport {

struct ReactionPolicy {
    int64_t maxDeliveries = 25;
    int64_t retryInitialMs = 200;
    int64_t retryMaxMs = 30000;
};

/// Where a dead letter went, for the log line.
struct DeadLetterRecord {
    std::string eventId;  ///< empty: the entry could not be read as an event
    int64_t orderId = 0;
    uint64_t position = 0;  ///< log position
    int64_t deliveries = 0;
    std::string reason;    ///< the last failure
    std::string movedTo;   ///< e.g. "dead_letters", "P:deadletter:notifications"
    bool recorded = true;  ///< false: the engine could not store it (the event is lost to the reaction)
};

class ReactionDeliveries {
public:
    enum class Next { Acknowledge, Retry, DeadLetter };
    struct Outcome {
        Next next = Next::Acknowledge;
        sdk::Status status;     ///< handle()'s answer
        int64_t retryInMs = 0;  ///< Retry: the wait before the next delivery
    };

    ReactionDeliveries(sdk::Reaction& reaction, ReactionPolicy policy, sdk::Logger& logger, sdk::Metrics& metrics);

    const std::string& name() const noexcept { return _name; }
    const ReactionPolicy& policy() const noexcept { return _policy; }

    Outcome deliver(const sdk::EventRecord& event, int64_t delivery);
    /// The wait before delivery number delivery + 1, without jitter (the longest one).
    int64_t retryDelayMs(int64_t delivery) const noexcept;
    /// The wait before delivery number delivery + 1 after failure: jittered, at least its retryAfterMs.
    int64_t retryDelayMs(int64_t delivery, const sdk::Status& failure) const noexcept;
    bool exhausted(int64_t deliveries) const noexcept { return deliveries >= _policy.maxDeliveries; }
    void gaveUp(const DeadLetterRecord& record);
    void skippedDuplicate(const std::string& eventId);

private:
    sdk::Reaction& _reaction;
    const ReactionPolicy _policy;
    sdk::Logger& _logger;
    std::string _name;
    sdk::Counter& _deadLetters;
    sdk::Counter& _duplicates;
};

}  // namespace ordersystem::transport
