#include "ReactionScheduler.h"

#include <algorithm>
#include <exception>

#include "Schema.h"
#include "ordersystem/sdk/util.h"

namespace ordersystem::plugins::inmemory {

using sdk::Status;
using sdk::StatusCode;
using Next = transport::ReactionDeliveries::Next;

namespace {
/// At most one "waits behind" and one "reading pauses" line per reaction in this time.
constexpr auto kLogEvery = std::chrono::seconds(30);
/// A window position: an event not done yet, a gap without an event, an event done.
constexpr uint8_t kPending = 0;
constexpr uint8_t kNothing = 1;
constexpr uint8_t kDone = 2;
}  // namespace

ReactionScheduler::ReactionScheduler(transport::ReactionDeliveries& deliveries, const ReactionSettings& settings,
                                     uint64_t checkpoint, std::vector<uint64_t> doneAfterCheckpoint, Sinks sinks,
                                     sdk::Logger& logger)
    : _deliveries(deliveries),
      _settings(settings),
      _sinks(std::move(sinks)),
      _logger(logger),
      _checkpoint(checkpoint),
      _doneBefore(doneAfterCheckpoint.begin(), doneAfterCheckpoint.end()),
      _saved(checkpoint),
      _lastWaitingLog(Clock::now() - kLogEvery),
      _lastFullLog(Clock::now() - kLogEvery) {}

ReactionScheduler::~ReactionScheduler() { stop(); }

void ReactionScheduler::start(const std::shared_ptr<void>& keepAlive) {
    const size_t count = std::max<size_t>(1, _settings.workers);
    std::lock_guard<std::mutex> lock(_mutex);
    for (size_t i = 0; i < count; ++i)
        _threads.emplace_back([this, keepAlive] {
            sdk::runAsBackgroundThread();
            sdk::nameThisThread("deliver:" + _deliveries.name());
            run();
        });
}

bool ReactionScheduler::full() const noexcept {
    const size_t maxHeld = std::max<size_t>(1, _settings.maxHeld);
    return _held >= maxHeld || _window.size() >= maxHeld * kWindowPerHeld;
}

bool ReactionScheduler::add(const sdk::EventRecord& event) {
    std::unique_lock<std::mutex> lock(_mutex);
    if (full() && !_stopping) {
        if (const auto now = Clock::now(); now - _lastFullLog >= kLogEvery) {
            _lastFullLog = now;
            _logger.warn("reaction " + _deliveries.name() + " holds " + std::to_string(_held) +
                         " events not yet delivered, " + std::to_string(_window.size()) +
                         " log positions past its checkpoint; reading the log pauses until held events are "
                         "delivered or dead-lettered");
        }
        _space.wait(lock, [&] { return _stopping || !full(); });
    }
    if (_stopping) return false;
    const uint64_t last = _checkpoint + _window.size();
    if (event.position <= last) return true;  // held or done already
    _window.resize(static_cast<size_t>(event.position - _checkpoint - 1), kNothing);
    if (_doneBefore.erase(event.position) > 0) {  // delivered before the restart
        _window.push_back(kDone);
        markDone(event.position);  // stored with the next delivery's checkpoint, or at stop()
        return true;
    }
    _window.push_back(kPending);
    ++_held;
    Fifo& fifo = _orders[event.orderId];
    fifo.push_back(Held{event, 1});
    if (fifo.size() == 1) makeEligible(event.orderId, Clock::now());
    else noteWaiting(event.orderId, fifo);
    return true;
}

void ReactionScheduler::requestStop() noexcept {
    {
        std::lock_guard<std::mutex> lock(_mutex);
        _stopping = true;
    }
    _work.notify_all();
    _space.notify_all();
}

void ReactionScheduler::stop() noexcept {
    requestStop();
    std::vector<std::thread> threads;
    {
        std::lock_guard<std::mutex> lock(_mutex);
        threads.swap(_threads);
    }
    for (auto& thread : threads) {
        if (!thread.joinable()) continue;
        if (thread.get_id() == std::this_thread::get_id()) {
            // Called from inside handle(): joining would deadlock; the thread ends on return.
            _logger.error("reaction " + _deliveries.name() + " unsubscribed from its own handle()");
            thread.detach();
            continue;
        }
        thread.join();
    }
    try {
        std::vector<uint64_t> done;
        {
            std::unique_lock<std::mutex> lock(_mutex);
            saveCheckpoints(lock);
            if (_finalSaved) return;  // stopped before: the owner may be going away now
            _finalSaved = true;
            done = donePastCheckpoint();
        }
        if (_sinks.doneAfterCheckpoint) _sinks.doneAfterCheckpoint(done);
    } catch (const std::exception& e) {
        _logger.error("reaction " + _deliveries.name() + ": cannot store its last checkpoint: " + e.what());
    }
}

std::vector<uint64_t> ReactionScheduler::donePastCheckpoint() const {
    std::vector<uint64_t> positions;
    for (size_t i = 0; i < _window.size() && positions.size() < kMaxDoneKept; ++i)
        if (_window[i] == kDone) positions.push_back(_checkpoint + 1 + i);
    for (const uint64_t p : _doneBefore)  // not read again before this stop
        if (p > _checkpoint + _window.size() && positions.size() < kMaxDoneKept) positions.push_back(p);
    return positions;
}

void ReactionScheduler::run() {
    std::unique_lock<std::mutex> lock(_mutex);
    while (!_stopping) {
        if (_due.empty()) {
            _work.wait(lock);
            continue;
        }
        const Due next = _due.top();
        if (next.at > Clock::now()) {
            _work.wait_until(lock, next.at);
            continue;
        }
        _due.pop();
        deliverHead(lock, next.orderId);
    }
}

void ReactionScheduler::deliverHead(std::unique_lock<std::mutex>& lock, int64_t orderId) {
    const auto found = _orders.find(orderId);
    if (found == _orders.end() || found->second.empty()) return;
    Fifo& fifo = found->second;  // stays valid: only the thread delivering its head removes it
    Held& head = fifo.front();   // a deque keeps its elements in place while add() appends
    lock.unlock();
    transport::ReactionDeliveries::Outcome outcome;
    try {
        outcome = _deliveries.deliver(head.event, head.delivery);
    } catch (const std::exception& e) {
        outcome = {Next::Retry, Status(StatusCode::Internal, e.what()), _deliveries.retryDelayMs(head.delivery)};
        if (_deliveries.exhausted(head.delivery)) outcome.next = Next::DeadLetter;
    }
    if (outcome.next == Next::DeadLetter) {
        bool stored = false;
        try {
            stored = _sinks.deadLetter(head.event, head.delivery, outcome.status.message);
        } catch (const std::exception& e) {
            _logger.error("reaction " + _deliveries.name() + ": storing a dead letter threw: " + e.what());
        }
        _deliveries.gaveUp(transport::DeadLetterRecord{head.event.eventId, head.event.orderId, head.event.position,
                                                       head.delivery, outcome.status.message, kDeadLettersTable,
                                                       stored});
    }
    lock.lock();
    if (outcome.next == Next::Retry) {
        ++head.delivery;
        makeEligible(orderId, Clock::now() + std::chrono::milliseconds(outcome.retryInMs));
        noteWaiting(orderId, fifo);
        return;
    }
    finishHead(lock, orderId, fifo);
}

void ReactionScheduler::finishHead(std::unique_lock<std::mutex>& lock, int64_t orderId, Fifo& fifo) {
    const uint64_t position = fifo.front().event.position;
    fifo.pop_front();
    --_held;
    if (fifo.empty()) _orders.erase(orderId);
    else makeEligible(orderId, Clock::now());
    markDone(position);
    _space.notify_one();
    saveCheckpoints(lock);
}

void ReactionScheduler::markDone(uint64_t position) {
    _window[static_cast<size_t>(position - _checkpoint - 1)] = kDone;
    while (!_window.empty() && _window.front() != kPending) {
        _window.pop_front();
        ++_checkpoint;
    }
}

void ReactionScheduler::saveCheckpoints(std::unique_lock<std::mutex>& lock) {
    if (_saving) return;
    _saving = true;
    while (_checkpoint > _saved) {
        const uint64_t position = _checkpoint;
        lock.unlock();
        try {
            _sinks.checkpoint(position);  // a group commit: acknowledgements meanwhile join the next one
        } catch (const std::exception& e) {
            _logger.error("reaction " + _deliveries.name() + ": storing checkpoint threw: " + e.what());
        }
        lock.lock();
        _saved = position;
    }
    _saving = false;
}

void ReactionScheduler::makeEligible(int64_t orderId, Clock::time_point at) {
    _due.push(Due{at, orderId});
    _work.notify_one();
}

void ReactionScheduler::noteWaiting(int64_t orderId, const Fifo& fifo) {
    if (fifo.size() < 2 || fifo.front().delivery < 2) return;
    const auto now = Clock::now();
    if (now - _lastWaitingLog < kLogEvery) return;
    _lastWaitingLog = now;
    const Held& head = fifo.front();
    _logger.warn("reaction " + _deliveries.name() + ": " + std::to_string(fifo.size() - 1) + " event(s) of order " +
                 std::to_string(orderId) + " wait behind event " + head.event.eventId + ", which failed " +
                 std::to_string(head.delivery - 1) + " time(s); other orders' events go on");
}

}  // namespace ordersystem::plugins::inmemory
