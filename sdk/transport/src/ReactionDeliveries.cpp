#include "ordersystem/transport/reaction_deliveries.h"

#include <algorithm>

#include "ordersystem/transport/backoff.h"
#include "ordersystem/transport/metric_families.h"

namespace ordersystem::transport {

namespace {
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
      _policy(sane(policy)),
      _logger(logger),
      _name(reaction.reactionName()),
      _deadLetters(families::counter(metrics, families::kReactionDeadLetters,
                                     families::labelled(families::kReactionDeadLetters, _name))),
      _duplicates(families::counter(metrics, families::kReactionDuplicates,
                                    families::labelled(families::kReactionDuplicates, _name))) {}

int64_t ReactionDeliveries::retryDelayMs(int64_t delivery) const noexcept {
    return Backoff(_policy.retryInitialMs, _policy.retryMaxMs).after(delivery);
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
    out.retryInMs = retryDelayMs(delivery);
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
