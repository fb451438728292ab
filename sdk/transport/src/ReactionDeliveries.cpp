#include "ordersystem/transport/reaction_deliveries.h"

#include <algorithm>
#include <random>

#include "ordersystem/transport/backoff.h"
#include "ordersystem/transport/metric_families.h"

namespace ordersystem::transport {

namespace {
/// A Retry-After longer than this is taken as this: a receiver cannot park an event for days.
constexpr int64_t kMaxRetryAfterMs = 3600LL * 1000;

ReactionPolicy merged(ReactionPolicy p, const sdk::DeliveryPolicy& own) {
    if (own.maxAttempts > 0) p.maxDeliveries = own.maxAttempts;
    if (own.retryInitialMs > 0) p.retryInitialMs = own.retryInitialMs;
    if (own.retryMaxMs > 0) p.retryMaxMs = own.retryMaxMs;
    return p;
}

ReactionPolicy sane(ReactionPolicy p) {
    p.maxDeliveries = std::max<int64_t>(1, p.maxDeliveries);
    p.retryInitialMs = std::max<int64_t>(1, p.retryInitialMs);
    p.retryMaxMs = std::max(p.retryInitialMs, p.retryMaxMs);
    return p;
}
}  // namespace

ReactionDeliveries::ReactionDeliveries(sdk::Reaction& reaction, ReactionPolicy policy, sdk::Logger& logger,
                                       sdk::Metrics& metrics)
    : _reaction(reaction),
      _policy(sane(merged(policy, reaction.deliveryPolicy()))),
      _logger(logger),
      _name(reaction.reactionName()),
      _deadLetters(families::counter(metrics, families::kReactionDeadLetters,
                                     families::labelled(families::kReactionDeadLetters, _name))),
      _duplicates(families::counter(metrics, families::kReactionDuplicates,
                                    families::labelled(families::kReactionDuplicates, _name))) {}

int64_t ReactionDeliveries::retryDelayMs(int64_t delivery) const noexcept {
    return Backoff(_policy.retryInitialMs, _policy.retryMaxMs).after(delivery);
}

int64_t ReactionDeliveries::retryDelayMs(int64_t delivery, const sdk::Status& failure) const noexcept {
    const int64_t full = retryDelayMs(delivery);
    // Jitter spreads the retries of many events that failed together (a receiver back from an outage).
    thread_local std::minstd_rand random(std::random_device{}());
    const int64_t jittered = full / 2 + std::uniform_int_distribution<int64_t>(0, full - full / 2)(random);
    return std::max(jittered, std::min(failure.retryAfterMs, kMaxRetryAfterMs));
}

ReactionDeliveries::Outcome ReactionDeliveries::deliver(const sdk::EventRecord& event, int64_t delivery) {
    Outcome out;
    out.status = _reaction.handle(event);
    if (out.status) return out;
    if (exhausted(delivery)) {
        out.next = Next::DeadLetter;
        return out;
    }
    out.next = Next::Retry;
    out.retryInMs = retryDelayMs(delivery, out.status);
    if (delivery == 1 || delivery % 5 == 0)
        _logger.warn("reaction " + _name + ": delivery " + std::to_string(delivery) + "/" +
                     std::to_string(_policy.maxDeliveries) + " of event " + event.eventId + " (" + event.type +
                     ", order " + std::to_string(event.orderId) + ") failed: " + out.status.message + "; retrying in " +
                     std::to_string(out.retryInMs) + " ms");
    return out;
}

void ReactionDeliveries::gaveUp(const DeadLetterRecord& r) {
    _deadLetters.inc();
    _logger.error("reaction " + _name + " gave up on event " + (r.eventId.empty() ? "(unreadable)" : r.eventId) +
                  (r.orderId > 0 ? " (order " + std::to_string(r.orderId) + ", log position " : " (log position ") +
                  std::to_string(r.position) + ") after " + std::to_string(r.deliveries) + " deliveries: " + r.reason +
                  (r.recorded ? "; moved to " + r.movedTo : "; could NOT record it in " + r.movedTo));
}

void ReactionDeliveries::skippedDuplicate(const std::string& eventId) {
    _duplicates.inc();
    _logger.debug("reaction " + _name + ": event " + eventId + " was already handled; acknowledging it");
}

}  // namespace ordersystem::transport
