// Contract: JetStream publishes that do not wait for their acknowledgement: js_PublishMsgAsync on
// a JetStream context of our own whose AckHandler reports each message, with a deadline kept here
// (cnats 3.4.1 has no per-message acknowledgement timeout).
// - publish() takes the message over and returns at once. done runs exactly once:
//   * on the caller's thread when refused at once: closed, or cnats refused it (among others
//     because kMaxPending publishes are outstanding and none was answered within kStallWaitMs)
//     -> a status other than NATS_TIMEOUT (Unavailable), nothing sent;
//   * on the cnats thread of the acknowledgements: Ok with the stream sequence (possibly a
//     duplicate of a stored message), or the server's refusal (jsError tells which);
//   * on the sweeper thread when no acknowledgement came within request_timeout_ms, or the
//     connection went down while it was outstanding -> NATS_TIMEOUT: outcome unknown, a repeat
//     with the same Nats-Msg-Id cannot store it twice. A later acknowledgement is ignored.
//   done must not block: the thread it runs on serves every other publish.
// - Acknowledgements are matched by the message itself: the handler gets back the natsMsg* we
//   published (cnats holds it until then, so no other message can have its address).
// - Messages cnats still holds for publishes answered by the sweeper are dropped with
//   js_PublishAsyncGetPendingList whenever nothing else is outstanding, so lost acknowledgements
//   (a NATS restart) do not fill kMaxPending.
// - Writes: the connection buffers publishes (NatsClient: SendAsap off) and a flusher thread of
//   ours writes the buffer whenever a publish woke it, with natsConnection_FlushTimeout (the
//   buffer and a PING in one write; it then waits for the PONG, up to kFlushWaitMs, while new
//   publishes gather for the next write). So creates arriving together share one write instead
//   of one each, and nats-server handles them in one read (docs/performance.md). Without our flusher the library's own
//   would write them after up to 1 ms; it still runs as a backstop (a PONG that does not come).
// - close(): refuses new publishes, waits up to request_timeout_ms for the outstanding ones (the
//   flusher still writing), stops the flusher,
//   answers the rest with Timeout and destroys the context. cnats may call the handler after
//   that, so the handler reaches this object through a gate that close() shuts (waiting for a
//   handler in progress); the gate itself is never freed (a few bytes per event log).
// Lifetime: open() once the client is connected, close() before the client closes.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "EventMessage.h"
#include "NatsClient.h"
#include "NatsSettings.h"
#include "ordersystem/sdk/logger.h"

namespace ordersystem::plugins::nats {

/// Outstanding asynchronous publishes cnats accepts before publish() waits (then refuses).
inline constexpr int64_t kMaxPending = 16384;
/// Longest wait inside publish() when kMaxPending are outstanding: the caller is an event loop.
inline constexpr int64_t kStallWaitMs = 20;
/// Longest the flusher waits for the PONG of one write (the library's flusher covers it then).
inline constexpr int64_t kFlushWaitMs = 200;

/// What became of one asynchronous publish, in cnats' terms (appendFailure() turns it into ours).
struct PublishOutcome {
    natsStatus status = NATS_OK;                    ///< NATS_OK: stored (or already stored: duplicate)
    jsErrCode jsError = static_cast<jsErrCode>(0);  ///< the server's refusal, e.g. JSStreamWrongLastSequenceErr
    std::string detail;                             ///< what went wrong, for the message
    uint64_t sequence = 0;                          ///< NATS_OK: the message's stream sequence
    bool duplicate = false;
};

class AsyncPublisher {
public:
    using Done = std::function<void(PublishOutcome&&)>;

    AsyncPublisher(const Settings& settings, NatsClient& client, sdk::Logger& logger);
    ~AsyncPublisher();
    AsyncPublisher(const AsyncPublisher&) = delete;
    AsyncPublisher& operator=(const AsyncPublisher&) = delete;

    sdk::Status open();
    /// Sends message.msg with message.options; message.msg is released when cnats took it.
    void publish(EventMessage& message, Done done) noexcept;
    void close() noexcept;
    /// Publishes not answered yet.
    size_t outstanding() const;

private:
    using Clock = std::chrono::steady_clock;
    struct Gate;
    /// done is empty once answered by the sweeper while cnats still holds the message.
    struct Pending {
        uint64_t ticket = 0;
        Done done;
    };
    struct Deadline {
        Clock::time_point at;
        natsMsg* msg = nullptr;
        uint64_t ticket = 0;
    };

    /// Makes cnats start the thread that runs onAck now, named "nats-acks" (see the .cpp).
    void startAcknowledgementThread();
    static void onAck(jsCtx* js, natsMsg* msg, jsPubAck* ack, jsPubAckErr* err, void* closure);
    void acknowledged(natsMsg* msg, jsPubAck* ack, jsPubAckErr* err);
    /// Removes msg's entry when it is still ticket's; its done if not answered yet (lock held).
    Done takeLocked(natsMsg* msg, uint64_t ticket);
    void refused(natsMsg* msg, uint64_t ticket, natsStatus status);
    void sweep();
    /// Answers (into *expired) the publishes past their deadline, or all of them (lock held).
    void expireLocked(bool all, Clock::time_point now, std::vector<Done>* expired);
    /// Drops what cnats still holds for answered publishes once none is outstanding (lock held).
    void dropAbandonedLocked();
    void answer(Done& done, natsStatus status, std::string detail) noexcept;
    void answer(Done& done, PublishOutcome&& outcome) noexcept;

    const Settings& _settings;
    NatsClient& _client;
    sdk::Logger& _logger;
    Gate* _gate = nullptr;
    jsCtx* _js = nullptr;
    std::thread _sweeper;

    mutable std::mutex _mutex;
    std::condition_variable _changed;  ///< the sweeper's tick, an early stop, the last answer
    std::unordered_map<natsMsg*, Pending> _pending;
    std::deque<Deadline> _deadlines;  ///< in publish order = deadline order (one timeout)
    size_t _live = 0;                 ///< entries of _pending not answered yet
    uint64_t _nextTicket = 0;
    bool _open = false;
    bool _stopping = false;
    /// publish() calls between registering a message and js_PublishMsgAsync returning: cnats may
    /// still read such a message, so nothing is dropped while one runs.
    std::atomic<int> _inPublish{0};

    /// The flusher: writes what publish() left in the connection's buffer, all of it at once,
    /// as soon as it can (see the header comment).
    void flushLoop();
    void wakeFlusher();
    std::thread _flusher;
    std::mutex _flushMutex;
    std::condition_variable _flushWake;
    bool _flushWanted = false;     ///< a publish since the flusher last started writing
    bool _flusherWaiting = false;  ///< asleep on _flushWake: only then does publish() notify
    bool _flushStop = false;
};

}  // namespace ordersystem::plugins::nats
