// Contract: the live event stream's source on this node. The hub is fed by the orders read model
// after each batch it applied (apply(), the read model's thread), so the transport reads and
// parses every event once for both, and a client sees an event in the stream only once this node
// can answer a GET of it. While nobody streams, apply() only notes the position. While someone
// does, each event is formatted once as an SSE message into a bounded ring of the newest ones
// ([orders] stream_replay_events); one fan-out thread hands each subscriber what is new for it as
// one non-blocking push (sdk::StreamSink: the host bounds what a slow client holds and drops it),
// so commands and the projection never wait for clients.
// - A subscriber has a cursor (the last position it was given): it starts at the newest applied
//   position, or at the client's Last-Event-ID / ?after. What it is due from before the ring
//   (an older position, or a subscriber the ring ran past) is read from the log (HistoryReader,
//   EventLog::readRange) page by page on the fan-out thread, then it goes on with the ring:
//   history and live events are one sequence, so there is no gap or repeat at the switch.
//   A replay is paced by the room the sink has left (sdk::StreamSink::room); live events are
//   pushed at once. Without a position the cursor is the newest position applied or acknowledged
//   by this node, so a write answered before the stream opened is never in it.
// - Without a HistoryReader (a transport that cannot read by position) a position older than the
//   ring is refused (subscribe() answers TooOld: a 410, never a silent gap) and a subscriber the
//   ring ran past is ended.
// - An idle subscriber gets a comment (": keep-alive") every keepAliveMs.
// Threads: apply() on the read model's thread, subscribe() on event loops (never blocks: a mutex
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

/// Up to max events of the log after a position, in log order (EventLog::readRange).
using HistoryReader = std::function<sdk::Result<std::vector<sdk::EventRecord>>(uint64_t after, size_t max)>;

class EventHub final : public std::enable_shared_from_this<EventHub> {
public:
    /// applied: the read model's position when it starts feeding the hub; acknowledged: the newest
    /// position this node answered a command for (may be empty); history: may be empty.
    EventHub(sdk::Logger& logger, HubSettings settings, uint64_t applied, std::function<uint64_t()> acknowledged,
             HistoryReader history = {});
    ~EventHub() { stop(); }

    /// The read model applied batch (in log order; a repeated event is skipped).
    void apply(const std::vector<sdk::EventRecord>& batch) noexcept;
    uint64_t applied() const;

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
        int64_t stalledSinceMs = 0;  ///< paced without getting anything out since
    };
    /// What a subscriber needs next: nothing until something new, the fan-out thread to look
    /// again soon (its sink is full), or at once (more of the log is due).
    enum class Next { Idle, Paced, More };
    void run();
    /// Gives one subscriber what is new for it in messages (ascending; the ring holds every event
    /// after base), or the next page of the log while its cursor is before base.
    Next feed(Subscriber& subscriber, const std::vector<std::shared_ptr<const StreamMessage>>& messages, uint64_t base,
              int64_t nowMs);
    Next feedFromLog(Subscriber& subscriber, uint64_t base, int64_t nowMs);
    /// Pushes out, or a keep-alive when one is due; full: more was due than fit (paced), and a
    /// subscriber given nothing for kReplayStallMs that way is ended.
    Next deliver(Subscriber& subscriber, std::string&& out, bool full, int64_t nowMs);
    void remove(uint64_t id);
    /// Applied up to position without keeping those events (_mutex held): older ones come from the log.
    void skipRingTo(uint64_t position);

    sdk::Logger& _logger;
    const HubSettings _settings;
    const std::function<uint64_t()> _acknowledged;
    const HistoryReader _history;
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
