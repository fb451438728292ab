// Contract: the live event stream's source on this node. The hub is a projection of its own
// ("events-stream", in memory): the transport feeds it every event once, in log order, like the
// read model, whatever the number of clients. apply() (the projection's thread) only formats
// each event once as an SSE message and appends it to a bounded ring ([orders]
// stream_replay_events); one fan-out thread then hands each subscriber what is new for it as one
// non-blocking push (sdk::StreamSink: the host bounds what a slow client holds and drops it), so
// commands and the projection never wait for clients.
// - A subscriber has a cursor (the last position it was given): it starts at the newest applied
//   position, or at the client's Last-Event-ID / ?after, and the ring gives it everything past the
//   cursor; history and live events are one sequence, so there is no gap or repeat at the switch.
//   A replay is paced by the room the sink has left (sdk::StreamSink::room); live events are
//   pushed at once. Without a position the cursor is the newest position applied or acknowledged
//   by this node, so a write answered before the stream opened is never in it.
// - The ring holds every event after replayableAfter(): at start the hub subscribes from the log's
//   head minus the ring's size, so a node that restarted can still replay its recent history.
//   A position older than that is refused (subscribe() answers TooOld: a 410, never a silent gap);
//   a subscriber that falls behind the ring (the fan-out thread starved) is ended the same way.
// - An idle subscriber gets a comment (": keep-alive") every keepAliveMs.
// Threads: apply() on the transport's thread, subscribe() on event loops (never blocks: a mutex
// held for a copy), the fan-out thread of its own; stop() ends every stream and joins the thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "ordersystem/sdk/eventlog.h"
#include "ordersystem/sdk/http.h"
#include "ordersystem/sdk/logger.h"
#include "stream/StreamQuery.h"

namespace ordersystem::plugins::orders::stream {

struct HubSettings {
    size_t replayEvents = 10000;
    int64_t keepAliveMs = 15000;
};

/// One event as every subscriber gets it.
struct StreamMessage {
    uint64_t position = 0;
    int64_t orderId = 0;
    std::string text;  ///< "id: ...\nevent: ...\ndata: ...\n\n"
};

/// "id: <position>\nevent: <type>\ndata: <the event document>\n\n".
std::string formatMessage(const sdk::EventRecord& event);

class EventHub final : public sdk::Projection, public std::enable_shared_from_this<EventHub> {
public:
    static constexpr std::string_view kName = "events-stream";

    /// replayableAfter: the position the hub is subscribed from (its first checkpoint);
    /// acknowledged: the newest position this node answered a command for (may be empty).
    EventHub(sdk::Logger& logger, HubSettings settings, uint64_t replayableAfter,
             std::function<uint64_t()> acknowledged);
    ~EventHub() override { stop(); }

    std::string_view projectionName() const noexcept override { return kName; }
    uint64_t checkpoint() noexcept override;
    sdk::Status apply(const std::vector<sdk::EventRecord>& batch) noexcept override;

    void start();
    /// Closes every stream and joins the fan-out thread; subscribe() refuses afterwards.
    void stop() noexcept;

    enum class Outcome { Subscribed, TooOld, Stopped };
    /// Starts feeding sink (see the contract above); *oldest: the oldest position a client may
    /// resume after (for TooOld's explanation).
    Outcome subscribe(const StreamQuery& query, const std::shared_ptr<sdk::StreamSink>& sink, uint64_t* oldest);
    size_t subscribers() const;

private:
    struct Subscriber {
        uint64_t id = 0;
        std::shared_ptr<sdk::StreamSink> sink;
        int64_t orderId = 0;
        uint64_t cursor = 0;         ///< the fan-out thread's after being added
        int64_t lastSentMs = 0;      ///< for the keep-alive
        bool replaying = false;      ///< resumed from an older position and not caught up yet
        bool behind = false;         ///< paced: more is due than the sink was given
        int64_t stalledSinceMs = 0;  ///< paced without getting anything out since
    };
    void run();
    /// Gives one subscriber what is new for it in messages (ascending; the ring holds every event
    /// after base).
    void feed(Subscriber& subscriber, const std::vector<std::shared_ptr<const StreamMessage>>& messages, uint64_t base,
              int64_t nowMs);
    void remove(uint64_t id);

    sdk::Logger& _logger;
    const HubSettings _settings;
    const std::function<uint64_t()> _acknowledged;
    mutable std::mutex _mutex;
    std::condition_variable _wake;
    std::deque<std::shared_ptr<const StreamMessage>> _ring;  ///< ascending positions
    uint64_t _replayableAfter;                               ///< every event after it is in _ring
    uint64_t _applied;                                       ///< the newest position applied
    uint64_t _generation = 0;                                ///< bumped by apply() and subscribe()
    std::unordered_map<uint64_t, std::shared_ptr<Subscriber>> _subscribers;
    uint64_t _nextId = 1;
    bool _stopping = false;
    std::thread _thread;
};

}  // namespace ordersystem::plugins::orders::stream
