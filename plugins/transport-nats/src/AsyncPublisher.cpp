// Asynchronous JetStream publishes with deadlines of our own; see AsyncPublisher.h.
#include "AsyncPublisher.h"

#include "EventMessage.h"

#include <algorithm>
#include <exception>
#include <stdexcept>
#include <string>

#include "ordersystem/sdk/util.h"
#include "ordersystem/transport/task_executor.h"

namespace ordersystem::plugins::nats {

using transport::runLogged;

/// The acknowledgement handler's way to this object; outlives it (see the header).
struct AsyncPublisher::Gate {
    std::mutex mutex;
    std::condition_variable idle;
    AsyncPublisher* owner = nullptr;
    int inside = 0;

    AsyncPublisher* enter() {
        std::lock_guard<std::mutex> lock(mutex);
        if (owner != nullptr) ++inside;
        return owner;
    }
    void leave() {
        std::lock_guard<std::mutex> lock(mutex);
        if (--inside == 0) idle.notify_all();
    }
    /// After this returns no handler runs in the owner, and none will.
    void shut() {
        std::unique_lock<std::mutex> lock(mutex);
        owner = nullptr;
        idle.wait(lock, [this] { return inside == 0; });
    }
};

AsyncPublisher::AsyncPublisher(const Settings& settings, NatsClient& client, sdk::Logger& logger)
    : _settings(settings), _client(client), _logger(logger) {}

AsyncPublisher::~AsyncPublisher() { close(); }

sdk::Status AsyncPublisher::open() {
    _gate = new Gate();  // freed never: see the header
    _gate->owner = this;
    jsOptions jo = _client.requestOptions();
    jo.PublishAsync.MaxPending = kMaxPending;
    jo.PublishAsync.StallWait = kStallWaitMs;
    jo.PublishAsync.AckHandler = &AsyncPublisher::onAck;
    jo.PublishAsync.AckHandlerClosure = _gate;
    const natsStatus s = natsConnection_JetStream(&_js, _client.connection(), &jo);
    if (s != NATS_OK) return toStatus(s, static_cast<jsErrCode>(0), "cannot set up asynchronous JetStream publishes");
    startAcknowledgementThread();
    std::lock_guard<std::mutex> lock(_mutex);
    _open = true;
    _sweeper = std::thread([this] { sweep(); });
    _flusher = std::thread([this] { flushLoop(); });
    return sdk::Status::ok();
}

void AsyncPublisher::startAcknowledgementThread() {
    // cnats subscribes to the acknowledgements, starting the thread that runs onAck, on the first
    // asynchronous publish (else from an event loop: a third "http-loop" in `top -H`). So the
    // first publish goes to a fresh inbox nobody listens on; the server answers "no responders",
    // which onAck ignores (no entry of ours), or, if it never does, close() destroys it with the
    // context.
    onThreadNamed("nats-acks", [this] {
        natsInbox* inbox = nullptr;
        if (natsInbox_Create(&inbox) != NATS_OK) return;
        if (js_PublishAsync(_js, inbox, "", 0, nullptr) != NATS_OK)
            _logger.debug("NATS: could not start the acknowledgement thread at once; the first event starts it");
        natsInbox_Destroy(inbox);
    });
}

void AsyncPublisher::publish(EventMessage& message, Done done) noexcept {
    natsMsg* msg = message.msg;
    uint64_t ticket = 0;
    try {
        std::unique_lock<std::mutex> lock(_mutex);
        if (!_open || _stopping) {
            lock.unlock();
            answer(done, NATS_CONNECTION_CLOSED, "the event log is shutting down");
            return;
        }
        // What may throw comes first, so that done is still ours to answer if it does.
        auto [it, inserted] = _pending.try_emplace(msg);
        if (!inserted) throw std::logic_error("a message published twice");
        ticket = ++_nextTicket;
        try {
            _deadlines.push_back({Clock::now() + std::chrono::milliseconds(_settings.requestTimeoutMs), msg, ticket});
        } catch (...) {
            _pending.erase(it);
            throw;
        }
        it->second = Pending{ticket, std::move(done)};
        ++_live;
        ++_inPublish;
    } catch (const std::exception& e) {
        answer(done, NATS_NO_MEMORY, e.what());
        return;
    }
    natsMsg* handedOver = msg;
    const natsStatus s = js_PublishMsgAsync(_js, &handedOver, &message.options);
    --_inPublish;
    if (s == NATS_OK) {
        message.release();  // cnats owns it now; the handler destroys it
        wakeFlusher();
        return;
    }
    refused(msg, ticket, s);  // still ours: message destroys it
}

void AsyncPublisher::refused(natsMsg* msg, uint64_t ticket, natsStatus status) {
    Done done;
    {
        std::lock_guard<std::mutex> lock(_mutex);
        done = takeLocked(msg, ticket);
    }
    _changed.notify_all();
    if (!done) return;  // never registered, or the sweeper answered it already
    // NATS_TIMEOUT here is the stall (kMaxPending outstanding for kStallWaitMs): nothing was sent,
    // so it must not read as "outcome unknown".
    if (status == NATS_TIMEOUT) answer(done, NATS_ERR, "too many publishes waiting for NATS");
    else answer(done, status, natsErrorText(status));
}

AsyncPublisher::Done AsyncPublisher::takeLocked(natsMsg* msg, uint64_t ticket) {
    auto it = _pending.find(msg);
    if (it == _pending.end() || it->second.ticket != ticket) return nullptr;
    Done done = std::move(it->second.done);
    _pending.erase(it);
    if (done) --_live;
    return done;
}

void AsyncPublisher::onAck(jsCtx*, natsMsg* msg, jsPubAck* ack, jsPubAckErr* err, void* closure) {
    auto* gate = static_cast<Gate*>(closure);
    if (AsyncPublisher* owner = gate->enter()) {
        owner->acknowledged(msg, ack, err);
        gate->leave();
    }
    natsMsg_Destroy(msg);  // with an AckHandler the original message is ours to destroy
}

void AsyncPublisher::acknowledged(natsMsg* msg, jsPubAck* ack, jsPubAckErr* err) {
    Done done;
    {
        std::lock_guard<std::mutex> lock(_mutex);
        auto it = _pending.find(msg);
        if (it == _pending.end()) return;  // dropped (see dropAbandonedLocked)
        done = std::move(it->second.done);
        _pending.erase(it);
        if (!done) return;  // answered by the sweeper: a late acknowledgement changes nothing
        --_live;
        if (_stopping && _live == 0) _changed.notify_all();
    }
    PublishOutcome outcome;
    if (inFlightDuplicate(ack)) {
        outcome.status = NATS_TIMEOUT;  // outcome unknown: repeated like a lost acknowledgement
        outcome.detail = kInFlightDuplicate;
    } else if (ack != nullptr) {
        outcome.sequence = ack->Sequence;
        outcome.duplicate = ack->Duplicate;
    } else if (err != nullptr) {
        outcome.status = err->Err == NATS_OK ? NATS_ERR : err->Err;
        outcome.jsError = err->ErrCode;
        outcome.detail =
            err->ErrText != nullptr && *err->ErrText != '\0' ? err->ErrText : natsStatus_GetText(outcome.status);
    } else {
        outcome.status = NATS_ERR;
        outcome.detail = "an acknowledgement without a result";
    }
    answer(done, std::move(outcome));
}

void AsyncPublisher::wakeFlusher() {
    bool wake = false;
    {
        std::lock_guard<std::mutex> lock(_flushMutex);
        if (!_flushWanted) {
            _flushWanted = true;
            wake = _flusherWaiting;  // else it is writing and looks again before sleeping
        }
    }
    if (wake) _flushWake.notify_one();
}

void AsyncPublisher::flushLoop() {
    sdk::nameThisThread("nats-flusher");
    std::unique_lock<std::mutex> lock(_flushMutex);
    while (!_flushStop) {
        _flusherWaiting = true;
        _flushWake.wait(lock, [this] { return _flushWanted || _flushStop; });
        _flusherWaiting = false;
        if (_flushStop) break;
        _flushWanted = false;
        lock.unlock();
        // Errors (no connection, no PONG in time) need nothing here: the library keeps what it
        // could not write for after the reconnect, and the sweeper answers unacknowledged publishes.
        (void)natsConnection_FlushTimeout(_client.connection(), kFlushWaitMs);
        lock.lock();
    }
}

void AsyncPublisher::sweep() {
    sdk::nameThisThread("nats-sweeper");
    const auto tick = std::chrono::milliseconds(std::clamp<int64_t>(_settings.requestTimeoutMs / 20, 5, 50));
    std::unique_lock<std::mutex> lock(_mutex);
    while (!_stopping) {
        _changed.wait_for(lock, tick);
        if (_stopping) break;
        lock.unlock();
        const bool down = !_client.connected();  // not under our lock: it takes the connection's
        lock.lock();
        std::vector<Done> expired;
        expireLocked(down, Clock::now(), &expired);
        dropAbandonedLocked();
        if (expired.empty()) continue;
        lock.unlock();
        _changed.notify_all();
        for (auto& done : expired)
            answer(done, NATS_TIMEOUT,
                   std::string("NATS did not acknowledge the publish ") +
                       (down ? "before the connection was lost" : "in time") +
                       "; outcome unknown, a retry with the same event id cannot store it twice");
        lock.lock();
    }
}

void AsyncPublisher::expireLocked(bool all, Clock::time_point now, std::vector<Done>* expired) {
    while (!_deadlines.empty()) {
        const Deadline& front = _deadlines.front();
        auto it = _pending.find(front.msg);
        const bool waiting = it != _pending.end() && it->second.ticket == front.ticket && it->second.done;
        if (waiting && !all && front.at > now) return;
        if (waiting) {
            expired->push_back(std::move(it->second.done));  // the entry stays: cnats holds the message
            --_live;
        }
        _deadlines.pop_front();
    }
}

void AsyncPublisher::dropAbandonedLocked() {
    // Only answered entries are left and no publish() is inside cnats: whatever cnats still holds
    // belongs to them. A handler already past cnats' map finds no entry and just destroys its message.
    if (_live != 0 || _pending.empty() || _inPublish.load() != 0 || _js == nullptr) return;
    natsMsgList held;
    held.Msgs = nullptr;
    held.Count = 0;
    if (js_PublishAsyncGetPendingList(&held, _js) == NATS_OK) natsMsgList_Destroy(&held);
    _pending.clear();
}

void AsyncPublisher::close() noexcept {
    {
        std::unique_lock<std::mutex> lock(_mutex);
        if (!_open) return;
        _stopping = true;
        _changed.wait_for(lock, std::chrono::milliseconds(_settings.requestTimeoutMs), [this] { return _live == 0; });
        _open = false;
    }
    _changed.notify_all();
    if (_sweeper.joinable()) _sweeper.join();
    {
        std::lock_guard<std::mutex> lock(_flushMutex);
        _flushStop = true;
    }
    _flushWake.notify_all();
    if (_flusher.joinable()) _flusher.join();
    std::vector<Done> left;
    {
        std::lock_guard<std::mutex> lock(_mutex);
        expireLocked(true, Clock::now(), &left);
    }
    for (auto& done : left)
        answer(done, NATS_TIMEOUT,
               "the event log stopped before NATS acknowledged the publish; outcome unknown, a retry with the same "
               "event id cannot store it twice");
    while (_inPublish.load() != 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    _gate->shut();
    jsCtx_Destroy(_js);  // destroys the messages cnats still holds
    _js = nullptr;
    std::lock_guard<std::mutex> lock(_mutex);
    _pending.clear();
    _deadlines.clear();
}

size_t AsyncPublisher::outstanding() const {
    std::lock_guard<std::mutex> lock(_mutex);
    return _live;
}

void AsyncPublisher::answer(Done& done, natsStatus status, std::string detail) noexcept {
    PublishOutcome outcome;
    outcome.status = status;
    outcome.detail = std::move(detail);
    answer(done, std::move(outcome));
}

void AsyncPublisher::answer(Done& done, PublishOutcome&& outcome) noexcept {
    runLogged(_logger, "an asynchronous publish's completion", done, std::move(outcome));
}

}  // namespace ordersystem::plugins::nats
