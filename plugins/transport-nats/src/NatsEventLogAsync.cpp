// appendAsync(): the cluster-mode event log's asynchronous append; see NatsEventLog.h.
// Threads: appendAsync() runs on the caller's (an event loop); the fast path's acknowledgement on
// the cnats thread of AsyncPublisher, which only answers Ok without an Idempotency-Key there
// (remember the tip, count, call back: nothing that waits); every other answer is handed to the
// executor, because the caller's callback may then wait on NATS (orders releases its key).
#include "NatsEventLog.h"

#include <exception>

#include "EventMessage.h"

namespace ordersystem::plugins::nats {

struct NatsEventLog::AsyncAppend {
    AsyncAppend(sdk::AppendRequest& r, AppendCallback d) : request(r), done(std::move(d)) {}
    sdk::AppendRequest& request;
    AppendCallback done;  ///< empty once called
    const std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
};

sdk::Status NatsEventLog::startAppends() { return _publisher.open(); }

void NatsEventLog::stopAppends() noexcept {
    _appendsStopped = true;
    _repeatStop.raise();
    _publisher.close();  // answers every publish; its answers may still go to the executor
    _executor.close();   // runs what it was given
}

void NatsEventLog::appendAsync(sdk::AppendRequest& request, AppendCallback done) noexcept {
    AsyncAppendPtr op;
    try {
        op = std::make_shared<AsyncAppend>(request, std::move(done));
    } catch (const std::exception& e) {
        sdk::AppendResult failed{sdk::Status(sdk::StatusCode::Internal, std::string("append: ") + e.what()), 0, -1};
        if (done) runLogged(_logger, "an append callback", done, std::move(failed));
        return;
    }
    sdk::AppendResult refused;
    try {
        uint64_t expectedSubjectSeq = 0;
        const std::string order = std::to_string(request.orderId);
        if (auto st = checkRequest(request); !st) refused = {st, 0, -1};
        else if (_appendsStopped)
            refused = {sdk::Status(sdk::StatusCode::Unavailable,
                                   "cannot append to order " + order + ": the event log is stopping"),
                       0, -1};
        else if (!_client.connected()) refused = {_client.unavailable("cannot append to order " + order), 0, -1};
        else if (fastPathSequence(request, &expectedSubjectSeq)) return publishAsync(op, expectedSubjectSeq);
        else if (appendOnExecutor(op)) return;
        else
            refused = {sdk::Status(sdk::StatusCode::Unavailable,
                                   "cannot append to order " + order + ": too many appends waiting"),
                       0, -1};
    } catch (const std::exception& e) {
        refused = {sdk::Status(sdk::StatusCode::Internal, std::string("append: ") + e.what()), 0, -1};
    }
    finishAsync(*op, std::move(refused), true);  // refused at once: on the caller's thread
}

bool NatsEventLog::fastPathSequence(const sdk::AppendRequest& request, uint64_t* expectedSubjectSeq) {
    if (request.events.size() != 1) return false;
    if (request.expectedVersion == 0) {  // a new order: "no message on its subject yet"
        *expectedSubjectSeq = 0;
        return true;
    }
    Tip tip;
    if (!cachedTip(request.orderId, &tip) || tip.version != request.expectedVersion) return false;
    *expectedSubjectSeq = tip.seq;
    return true;
}

void NatsEventLog::publishAsync(const AsyncAppendPtr& op, uint64_t expectedSubjectSeq) {
    EventMessage message;
    // No MaxWait: cnats 3.4.1 has no per-message deadline, the publisher keeps its own.
    if (auto st = buildEventMessage(_settings, op->request.events.front(), expectedSubjectSeq, 0, &message); !st)
        return finishAsync(*op, {st, 0, -1}, true);
    AsyncPublisher::Done onOutcome = [this, op, expectedSubjectSeq](PublishOutcome&& outcome) {
        published(op, expectedSubjectSeq, std::move(outcome));
    };
    _publisher.publish(message, std::move(onOutcome));  // answers exactly once, from here on
}

void NatsEventLog::published(const AsyncAppendPtr& op, uint64_t expectedSubjectSeq, PublishOutcome&& outcome) {
    try {
        sdk::AppendRequest& request = op->request;
        if (outcome.status == NATS_OK) {
            sdk::EventRecord& event = request.events.front();
            event.position = outcome.sequence;
            if (outcome.duplicate) _logger.debug("event " + event.eventId + " was already stored (duplicate publish)");
            const Tip tip{event.version, outcome.sequence, event.eventId};
            // Completing an Idempotency-Key is a KV round trip: not on this thread.
            if (request.idempotency == nullptr) return finishAsync(*op, stored(request, tip), true);
            return _executor.post([this, op, tip](bool) { finishAsync(*op, stored(op->request, tip), true); });
        }
        const sdk::Status failure = appendFailure(request.orderId, outcome.status, outcome.jsError, outcome.detail);
        if (worthRepeating(outcome.status, outcome.jsError) && !_appendsStopped &&
            Clock::now() < appendDeadline(op->start)) {
            noteAppendsRepeated(failure);
            return _executor.post([this, op, expectedSubjectSeq, failure](bool cancelled) {
                finishAsync(*op, cancelled ? sdk::AppendResult{failure, 0, -1} : repeatAsync(op, expectedSubjectSeq),
                            true);
            });
        }
        _executor.post([this, op, failure](bool) { finishAsync(*op, afterRefusal(op->request, failure), true); });
    } catch (const std::exception& e) {
        finishAsync(*op, {sdk::Status(sdk::StatusCode::Internal, std::string("append: ") + e.what()), 0, -1}, true);
    }
}

sdk::AppendResult NatsEventLog::repeatAsync(const AsyncAppendPtr& op, uint64_t expectedSubjectSeq) {
    sdk::AppendRequest& request = op->request;
    const Tip tip{request.expectedVersion, expectedSubjectSeq, {}};
    return publishFrom(request, tip, 0, appendDeadline(op->start));
}

sdk::AppendResult NatsEventLog::afterRefusal(sdk::AppendRequest& request, const sdk::Status& failure) {
    if (failure.code != sdk::StatusCode::VersionConflict) {
        rememberTip(request.orderId, Tip{});
        return {failure, 0, -1};
    }
    // As the blocking append: a retry of an append that landed earlier is Ok, else a conflict
    // with the order's current version (for a new order: its id is in use).
    Tip tip;
    int64_t next = 0;
    sdk::AppendResult refused;
    if (!resumeAfterConflict(request, failure, &tip, &next, &refused)) return refused;
    return publishFrom(request, tip, next, appendDeadline(std::chrono::steady_clock::now()));
}

bool NatsEventLog::appendOnExecutor(const AsyncAppendPtr& op) {
    return _executor.tryPost([this, op](bool cancelled) {
        if (cancelled) {
            sdk::Status stopping(
                sdk::StatusCode::Unavailable,
                "cannot append to order " + std::to_string(op->request.orderId) + ": the event log is stopping");
            return finishAsync(*op, {stopping, 0, -1}, true);
        }
        finishAsync(*op, append(op->request), false);  // append() counted it
    });
}

void NatsEventLog::finishAsync(AsyncAppend& op, sdk::AppendResult&& result, bool record) noexcept {
    try {
        if (record) recordOutcome(op.request, result, op.start);
    } catch (...) {
        // a metric or log line lost; the answer still goes out
    }
    AppendCallback done = std::move(op.done);
    op.done = nullptr;
    if (done) runLogged(_logger, "an append callback", done, std::move(result));
}

}  // namespace ordersystem::plugins::nats
