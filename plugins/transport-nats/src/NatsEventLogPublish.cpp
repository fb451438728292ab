// Publishing one event of an append, repeated while it is not acknowledged; see NatsEventLog.h.
#include "CnatsGuards.h"
#include "EventMessage.h"
#include "NatsEventLog.h"
#include "ordersystem/transport/backoff.h"

namespace ordersystem::plugins::nats {

namespace {

/// Pauses between repeats of an unacknowledged publish: quick for a lost acknowledgement, then
/// no busier than a few a second while a leader is elected.
constexpr int64_t kRepeatInitialMs = 50;
constexpr int64_t kRepeatMaxMs = 500;

}  // namespace

sdk::Status NatsEventLog::publishEvent(const sdk::EventRecord& event, uint64_t expectedSubjectSeq, uint64_t* seq,
                                       Clock::time_point deadline) {
    EventMessage m;
    if (auto st = buildEventMessage(_settings, event, expectedSubjectSeq, _settings.requestTimeoutMs, &m); !st)
        return st;
    // Every repeat is the same message (Nats-Msg-Id and version check): stored once, a repeat of a
    // stored one is answered as a duplicate with its sequence, or refused as a conflict.
    transport::Backoff backoff(kRepeatInitialMs, kRepeatMaxMs);
    for (int attempt = 1;; ++attempt) {
        bool repeat = false;
        sdk::Status st = publishOnce(m, event, seq, &repeat);
        if (!repeat) {
            if (st) noteAppendsFlow();
            return st;
        }
        const int64_t delayMs = backoff.next();
        const bool inTime = Clock::now() + std::chrono::milliseconds(delayMs) < deadline;
        // A lost acknowledgement is published once more even then, as a single server always was.
        const bool lostAck = attempt == 1 && st.code == sdk::StatusCode::Timeout;
        if (_appendsStopped || !(inTime || lostAck)) return gaveUp(event, st, attempt);
        noteAppendsRepeated(st);
        if (!lostAck && !_repeatStop.sleepFor(delayMs)) return gaveUp(event, st, attempt);
    }
}

sdk::Status NatsEventLog::publishOnce(EventMessage& m, const sdk::EventRecord& event, uint64_t* seq, bool* repeat) {
    *repeat = false;
    if (!_client.connected()) {
        *repeat = true;  // nothing was sent; the library is moving to another server
        return _client.unavailable("cannot append to order " + std::to_string(event.orderId));
    }
    PubAckGuard ack;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    const natsStatus s = js_PublishMsg(&ack.ack, _client.js(), m.msg, &m.options, &jerr);
    if (s == NATS_OK && inFlightDuplicate(ack.ack)) {
        *repeat = true;
        return sdk::Status(sdk::StatusCode::Timeout,
                           "cannot append to order " + std::to_string(event.orderId) + ": " + kInFlightDuplicate);
    }
    if (s == NATS_OK) {
        *seq = ack.ack->Sequence;
        if (ack.ack->Duplicate) _logger.debug("event " + event.eventId + " was already stored (duplicate publish)");
        return sdk::Status::ok();
    }
    *repeat = worthRepeating(s, jerr);
    return appendFailure(event.orderId, s, jerr, natsErrorText(s));
}

sdk::Status NatsEventLog::gaveUp(const sdk::EventRecord& event, const sdk::Status& last, int attempts) const {
    if (attempts < 2) return last;
    return sdk::Status(last.code, "cannot append to order " + std::to_string(event.orderId) +
                                      ": cluster without a stream leader, no publish was acknowledged within " +
                                      "append_timeout_ms (" + std::to_string(_settings.appendTimeoutMs) + " ms, " +
                                      std::to_string(attempts) + " attempts); last: " + last.message);
}

void NatsEventLog::noteAppendsRepeated(const sdk::Status& why) {
    if (_repeating.exchange(true)) return;  // one line per episode, not per repeat
    _logger.warn("appends to stream " + _settings.stream + " are not acknowledged (" + why.message +
                 "): no stream leader, or the connection is moving to another server; each append is published "
                 "again with its event id for up to " +
                 std::to_string(_settings.appendTimeoutMs) + " ms");
}

void NatsEventLog::noteAppendsFlow() {
    if (_repeating.load(std::memory_order_relaxed) && _repeating.exchange(false))
        _logger.info("stream " + _settings.stream + " acknowledges appends again");
}

}  // namespace ordersystem::plugins::nats
