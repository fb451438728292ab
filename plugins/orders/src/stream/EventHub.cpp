// The live event stream's hub (see EventHub.h).
#include "stream/EventHub.h"

#include <algorithm>
#include <chrono>

#include "ordersystem/sdk/util.h"

namespace ordersystem::plugins::orders::stream {

namespace {

/// How soon a paced subscriber is looked at again.
constexpr int64_t kPaceRetryMs = 20;
/// A replay that the client takes nothing of for this long is ended.
constexpr int64_t kReplayStallMs = 30000;
/// Events read from the log per round of a replay (one blocking read on the fan-out thread).
constexpr size_t kLogPageEvents = 256;
constexpr std::string_view kKeepAlive = ": keep-alive\n\n";

int64_t steadyMs() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

}  // namespace

std::string formatMessage(const sdk::EventRecord& event) {
    std::string text = "id: " + std::to_string(event.position) + "\nevent: " + event.type + "\ndata: ";
    text += sdk::toJson(event);
    text += "\n\n";
    return text;
}

EventHub::EventHub(sdk::Logger& logger, HubSettings settings, uint64_t applied, std::function<uint64_t()> acknowledged,
                   HistoryReader history)
    : _logger(logger),
      _settings(settings),
      _acknowledged(std::move(acknowledged)),
      _history(std::move(history)),
      _replayableAfter(applied),
      _applied(applied) {}

uint64_t EventHub::applied() const {
    std::lock_guard<std::mutex> lock(_mutex);
    return _applied;
}

void EventHub::skipRingTo(uint64_t position) {
    _applied = std::max(_applied, position);
    _ring.clear();
    _replayableAfter = _applied;
}

void EventHub::apply(const std::vector<sdk::EventRecord>& batch) noexcept {
    if (batch.empty()) return;
    try {
        {
            std::lock_guard<std::mutex> lock(_mutex);
            if (_subscribers.empty()) {
                // Nobody to feed: no message is formatted; a later subscriber reads the log.
                skipRingTo(batch.back().position);
                return;
            }
        }
        std::vector<std::shared_ptr<const StreamMessage>> messages;
        messages.reserve(batch.size());
        for (const auto& event : batch)
            messages.push_back(std::make_shared<const StreamMessage>(
                StreamMessage{event.position, event.orderId, formatMessage(event)}));
        {
            std::lock_guard<std::mutex> lock(_mutex);
            for (auto& m : messages) {
                if (m->position <= _applied) continue;  // a redelivery after a transport retry
                _applied = m->position;
                _ring.push_back(std::move(m));
            }
            while (_ring.size() > _settings.replayEvents) {
                _replayableAfter = _ring.front()->position;
                _ring.pop_front();
            }
            ++_generation;
        }
        _wake.notify_one();
    } catch (const std::exception& e) {
        // Out of memory formatting: the subscribers read the log for what the ring missed.
        std::lock_guard<std::mutex> lock(_mutex);
        skipRingTo(batch.back().position);
        _logger.warn(std::string("events-stream: ") + e.what());
    }
}

void EventHub::start() {
    _thread = std::thread([this] {
        sdk::nameThisThread("events-fanout");
        run();
    });
}

void EventHub::stop() noexcept {
    std::unordered_map<uint64_t, std::shared_ptr<Subscriber>> subscribers;
    {
        std::lock_guard<std::mutex> lock(_mutex);
        _stopping = true;
        subscribers.swap(_subscribers);
    }
    _wake.notify_one();
    if (_thread.joinable()) _thread.join();
    for (auto& [id, subscriber] : subscribers) subscriber->sink->close();
}

EventHub::Outcome EventHub::subscribe(const StreamQuery& query, const std::shared_ptr<sdk::StreamSink>& sink,
                                      uint64_t* oldest) {
    auto subscriber = std::make_shared<Subscriber>();
    {
        std::lock_guard<std::mutex> lock(_mutex);
        *oldest = _replayableAfter;
        if (_stopping) return Outcome::Stopped;
        if (query.after && *query.after < _replayableAfter && !_history) return Outcome::TooOld;
        subscriber->id = _nextId++;
        subscriber->sink = sink;
        subscriber->orderId = query.orderId;
        // Without a position: after everything applied, and everything this node acknowledged
        // (its clients saw those writes answered; the projection may not have them yet).
        subscriber->cursor = query.after ? *query.after : std::max(_applied, _acknowledged ? _acknowledged() : 0);
        subscriber->lastSentMs = steadyMs();
        subscriber->replaying = subscriber->cursor < _applied;
        _subscribers.emplace(subscriber->id, subscriber);
        ++_generation;
    }
    _wake.notify_one();
    std::weak_ptr<EventHub> self = weak_from_this();
    sink->onClose([self, id = subscriber->id] {
        if (auto hub = self.lock()) hub->remove(id);
    });
    return Outcome::Subscribed;
}

size_t EventHub::subscribers() const {
    std::lock_guard<std::mutex> lock(_mutex);
    return _subscribers.size();
}

void EventHub::remove(uint64_t id) {
    std::lock_guard<std::mutex> lock(_mutex);
    _subscribers.erase(id);
}

void EventHub::run() {
    std::unique_lock<std::mutex> lock(_mutex);
    uint64_t seen = 0;
    Next next = Next::Idle;
    int64_t nextKeepAliveMs = steadyMs() + _settings.keepAliveMs;
    while (!_stopping) {
        if (_generation == seen && next != Next::More) {
            const int64_t until = next == Next::Paced ? steadyMs() + kPaceRetryMs : nextKeepAliveMs;
            _wake.wait_until(lock, std::chrono::steady_clock::time_point(std::chrono::milliseconds(until)));
            if (_stopping) break;
        }
        seen = _generation;
        std::vector<std::shared_ptr<Subscriber>> subscribers;
        subscribers.reserve(_subscribers.size());
        uint64_t lowest = _applied;
        for (auto& [id, subscriber] : _subscribers) {
            subscribers.push_back(subscriber);
            lowest = std::min(lowest, subscriber->cursor);
        }
        const uint64_t base = _replayableAfter;
        const auto first = std::lower_bound(_ring.begin(), _ring.end(), lowest + 1,
                                            [](const auto& m, uint64_t p) { return m->position < p; });
        const std::vector<std::shared_ptr<const StreamMessage>> messages(first, _ring.end());
        lock.unlock();
        const int64_t now = steadyMs();
        next = Next::Idle;
        nextKeepAliveMs = now + _settings.keepAliveMs;
        for (auto& subscriber : subscribers) {
            next = std::max(next, feed(*subscriber, messages, base, now));
            nextKeepAliveMs = std::min(nextKeepAliveMs, subscriber->lastSentMs + _settings.keepAliveMs);
        }
        subscribers.clear();  // a sink's last reference may go here, without the lock
        lock.lock();
    }
}

EventHub::Next EventHub::feed(Subscriber& subscriber, const std::vector<std::shared_ptr<const StreamMessage>>& messages,
                              uint64_t base, int64_t now) {
    if (subscriber.cursor < base) {
        if (_history) return feedFromLog(subscriber, base, now);
        // Events it was due were dropped from the ring before it got them: end it rather than skip.
        _logger.debug("events-stream: a subscriber fell behind the replay ring; closing its stream");
        subscriber.sink->close();
        return Next::Idle;
    }
    auto it = std::upper_bound(messages.begin(), messages.end(), subscriber.cursor,
                               [](uint64_t p, const auto& m) { return p < m->position; });
    std::string out;
    const size_t room = subscriber.replaying ? subscriber.sink->room() : 0;
    bool full = false;
    for (; it != messages.end(); ++it) {
        // Only a replay is paced; live events go out at once and a client that does not take them
        // runs into the host's bound ([http] max_stream_buffer_bytes) and is dropped.
        // A replay takes at most half the room per round (chunk framing adds a few bytes).
        if (subscriber.replaying && out.size() + (*it)->text.size() > room / 2) {
            full = true;
            break;
        }
        const StreamMessage& m = **it;
        if (subscriber.orderId == 0 || subscriber.orderId == m.orderId) out += m.text;
        subscriber.cursor = m.position;
    }
    if (!full) subscriber.replaying = false;
    return deliver(subscriber, std::move(out), full, now);
}

EventHub::Next EventHub::feedFromLog(Subscriber& subscriber, uint64_t base, int64_t now) {
    subscriber.replaying = true;
    auto events = _history(subscriber.cursor, kLogPageEvents);
    if (!events) {
        _logger.warn("events-stream: reading the log after position " + std::to_string(subscriber.cursor) +
                     " failed (" + events.status().message + "); closing the stream, the client may resume");
        subscriber.sink->close();
        return Next::Idle;
    }
    // Only up to base: what comes after it is in the ring, and applied by this node's read model.
    const size_t room = subscriber.sink->room();
    std::string out;
    bool full = false;
    bool reachedRing = events->size() < kLogPageEvents;  // a short page: the log has nothing more now
    for (const auto& event : *events) {
        if (event.position > base) {
            reachedRing = true;
            break;
        }
        if (subscriber.orderId == 0 || subscriber.orderId == event.orderId) {
            std::string text = formatMessage(event);
            if (out.size() + text.size() > room / 2) {
                full = true;
                break;
            }
            out += text;
        }
        subscriber.cursor = event.position;
    }
    if (reachedRing && !full) subscriber.cursor = std::max(subscriber.cursor, base);
    const Next next = deliver(subscriber, std::move(out), full, now);
    return next == Next::Idle ? Next::More : next;
}

EventHub::Next EventHub::deliver(Subscriber& subscriber, std::string&& out, bool full, int64_t now) {
    sdk::StreamSink& sink = *subscriber.sink;
    if (full && out.empty()) {
        if (subscriber.stalledSinceMs == 0) subscriber.stalledSinceMs = now;
        if (now - subscriber.stalledSinceMs >= kReplayStallMs) {
            _logger.debug("events-stream: a client took nothing of its replay for 30 s; closing its stream");
            sink.close();
            return Next::Idle;
        }
        return Next::Paced;
    }
    subscriber.stalledSinceMs = 0;
    if (out.empty() && now - subscriber.lastSentMs < _settings.keepAliveMs) return Next::Idle;
    if (out.empty()) out = kKeepAlive;
    subscriber.lastSentMs = now;
    sink.push(out);  // false: the host is dropping it, and onClose removes it
    return full ? Next::Paced : Next::Idle;
}

}  // namespace ordersystem::plugins::orders::stream
