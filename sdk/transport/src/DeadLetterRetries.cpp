#include <algorithm>
#include <exception>

#include "ordersystem/sdk/util.h"
#include "ordersystem/transport/dead_letters.h"

namespace ordersystem::transport {

using sdk::Status;
using sdk::StatusCode;

DeadLetterRetries::DeadLetterRetries(ReactionDeliveries& deliveries, DeadLetterStore& store, sdk::Logger& logger,
                                     std::string movedTo)
    : _deliveries(deliveries), _store(store), _logger(logger), _movedTo(std::move(movedTo)) {
    _thread = std::thread([this] { run(); });
}

DeadLetterRetries::~DeadLetterRetries() { stop(); }

Status DeadLetterRetries::retry(const std::string& eventId) {
    {
        std::lock_guard<std::mutex> lock(_mutex);
        if (_stopped) return Status(StatusCode::Unavailable, "the reaction is stopping");
        if (_pending.count(eventId))
            return Status(StatusCode::Conflict, "dead letter " + eventId + " is being delivered again already");
    }
    auto found = _store.find(eventId);
    if (!found) return Status(found.status().code, "cannot read the dead letters: " + found.status().message);
    if (!found.value()) return Status(StatusCode::NotFound, "no dead letter with eventId " + eventId);
    std::lock_guard<std::mutex> lock(_mutex);
    if (_stopped) return Status(StatusCode::Unavailable, "the reaction is stopping");
    if (!_pending.emplace(eventId, Pending{std::move(*found.value()), 1, Clock::now()}).second)
        return Status(StatusCode::Conflict, "dead letter " + eventId + " is being delivered again already");
    _logger.info("reaction " + _deliveries.name() + ": delivering dead letter " + eventId + " again (up to " +
                 std::to_string(_deliveries.policy().maxDeliveries) + " attempts)");
    _cv.notify_all();
    return Status::ok();
}

void DeadLetterRetries::stop() noexcept {
    {
        std::lock_guard<std::mutex> lock(_mutex);
        _stopped = true;
    }
    _cv.notify_all();
    if (_thread.joinable()) _thread.join();
}

void DeadLetterRetries::run() {
    sdk::runAsBackgroundThread();
    sdk::nameThisThread("deadltr:" + _deliveries.name());
    std::unique_lock<std::mutex> lock(_mutex);
    while (!_stopped) {
        auto next = std::min_element(_pending.begin(), _pending.end(),
                                     [](const auto& a, const auto& b) { return a.second.due < b.second.due; });
        if (next == _pending.end()) {
            _cv.wait(lock);
            continue;
        }
        if (next->second.due > Clock::now()) {
            _cv.wait_until(lock, next->second.due);
            continue;
        }
        Pending pending = next->second;
        lock.unlock();
        attempt(pending);  // handle() may take the receiver's whole timeout: never under the lock
        lock.lock();
        auto it = _pending.find(pending.letter.event.eventId);
        if (it == _pending.end()) continue;
        if (pending.delivery == 0) _pending.erase(it);  // done: delivered or dead again
        else it->second = pending;
    }
}

void DeadLetterRetries::attempt(Pending& p) {
    using Next = ReactionDeliveries::Next;
    const std::string& eventId = p.letter.event.eventId;
    ReactionDeliveries::Outcome outcome;
    try {
        outcome = _deliveries.deliver(p.letter.event, p.delivery);
    } catch (const std::exception& e) {
        outcome = {Next::Retry, Status(StatusCode::Internal, e.what()), _deliveries.retryDelayMs(p.delivery)};
    }
    if (outcome.next == Next::Retry) {
        p.due = Clock::now() + std::chrono::milliseconds(outcome.retryInMs);
        ++p.delivery;
        return;
    }
    if (outcome.next == Next::Acknowledge) {
        Status removed = _store.remove(eventId);
        if (removed)
            _logger.info("reaction " + _deliveries.name() + ": dead letter " + eventId + " delivered on attempt " +
                         std::to_string(p.delivery) + " of its retry; removed from " + _movedTo);
        else
            _logger.warn("reaction " + _deliveries.name() + ": dead letter " + eventId +
                         " was delivered but could not be removed (" + removed.message + "); it stays listed");
    } else {
        sdk::DeadLetter again = p.letter;
        again.attempts += p.delivery;
        again.lastError = outcome.status.message;
        again.failedAtMs = sdk::nowMs();
        const bool stored = _store.put(again).isOk();
        _deliveries.gaveUp(DeadLetterRecord{eventId, again.event.orderId, again.event.position, again.attempts,
                                            again.lastError, _movedTo, stored});
    }
    p.delivery = 0;
}

}  // namespace ordersystem::transport
