// Once-per-cluster delivery to a reaction, in order per order; see ReactionWorker.h.
#include "ReactionWorker.h"

#include <algorithm>
#include <chrono>

#include "CnatsGuards.h"
#include "ordersystem/sdk/util.h"

namespace ordersystem::plugins::nats {

using transport::DeadLetterRecord;

namespace {

constexpr int64_t kNanosPerMs = 1000000;
constexpr int64_t kPollMs = 250;  // longest a stop() waits for the fetch in progress
/// A waiting event is offered again after this, doubling with its deliveries up to kWaitMaxMs:
/// quick when the event ahead of it just finished, cheap when that one is in a long back-off.
constexpr int64_t kWaitFirstMs = 50;
constexpr int64_t kWaitMaxMs = 5000;
/// Shared KV state that could not be read or written: offered again after this (not an attempt).
constexpr int64_t kStateRetryMs = 500;
/// At most one "waits behind" line per reaction and node in this time.
constexpr int64_t kWaitLogEveryMs = 10000;

/// Offered again soon, not as an attempt: the shared state it needs was out of reach.
void later(natsMsg* msg) { natsMsg_NakWithDelay(msg, kStateRetryMs, nullptr); }

}  // namespace

ReactionWorker::ReactionWorker(const Settings& settings, NatsClient& client, NatsEventLog& log, kvStore* deadLetters,
                               sdk::Reaction& reaction, sdk::Host& host)
    : _settings(settings),
      _client(client),
      _log(log),
      _logger(host.logger()),
      _deliveries(reaction,
                  transport::ReactionPolicy{settings.reactionMaxDeliveries, settings.reactionRetryBaseMs,
                                            settings.reactionRetryMaxMs},
                  host.logger(), host.metrics()),
      _name(reaction.reactionName()),
      _consumer(safeName(std::string(reaction.reactionName()))),
      _filter(settings.eventsFilter()),
      _state(settings, client, _consumer),
      _store(client, deadLetters, _name) {}

ReactionWorker::~ReactionWorker() { stop(); }

sdk::Status ReactionWorker::ensureConsumer() {
    jsConsumerConfig cc;
    jsConsumerConfig_Init(&cc);
    cc.Durable = _consumer.c_str();
    cc.AckPolicy = js_AckExplicit;
    cc.AckWait = _settings.reactionAckWaitMs * kNanosPerMs;
    // Unlimited: waits behind an order count as deliveries too; our attempts bucket decides.
    cc.MaxDeliver = -1;
    cc.DeliverPolicy = js_DeliverAll;
    cc.FilterSubject = _filter.c_str();
    cc.MaxAckPending = kMaxAckPending;
    jsOptions jo = _client.requestOptions();
    jsErrCode jerr = static_cast<jsErrCode>(0);
    ConsumerInfoGuard info;
    // Waits out a consumer leader election (a server just came back) like every start-up step.
    natsStatus s = _client.untilLeader(
        [&](jsErrCode* e) { return js_AddConsumer(&info.info, _client.js(), _settings.stream.c_str(), &cc, &jo, e); },
        &jerr);
    if (s == NATS_OK) return sdk::Status::ok();
    // It exists with other settings (ack wait changed in the ini, or an older MaxDeliver): update it.
    ConsumerInfoGuard updated;
    s = _client.untilLeader(
        [&](jsErrCode* e) {
            return js_UpdateConsumer(&updated.info, _client.js(), _settings.stream.c_str(), &cc, &jo, e);
        },
        &jerr);
    if (s == NATS_OK) return sdk::Status::ok();
    ConsumerInfoGuard existing;
    if (js_GetConsumerInfo(&existing.info, _client.js(), _settings.stream.c_str(), _consumer.c_str(), &jo, nullptr) ==
        NATS_OK) {
        _logger.warn("reaction " + _name + ": consumer " + _consumer +
                     " exists with other settings that cannot be changed (" + natsErrorText(s) +
                     "); using it as it is");
        return sdk::Status::ok();
    }
    return toStatus(s, jerr, "cannot create consumer " + _consumer);
}

sdk::Status ReactionWorker::start() {
    if (!_client.connected()) return _client.unavailable("cannot subscribe reaction " + _name);
    if (auto st = ensureConsumer(); !st) return st;
    if (auto st = _state.open(); !st) return st;
    _retries =
        std::make_unique<transport::DeadLetterRetries>(_deliveries, _store, _logger, _settings.deadLettersBucket());
    jsOptions jo = _client.requestOptions();
    for (int64_t i = 0; i < _settings.reactionWorkers; ++i) {
        jsSubOptions so;
        jsSubOptions_Init(&so);
        so.Stream = _settings.stream.c_str();
        so.Consumer = _consumer.c_str();
        natsSubscription* sub = nullptr;
        jsErrCode jerr = static_cast<jsErrCode>(0);
        const natsStatus s = js_PullSubscribe(&sub, _client.js(), _filter.c_str(), _consumer.c_str(), &jo, &so, &jerr);
        if (s != NATS_OK) {
            const sdk::Status st = toStatus(s, jerr, "cannot bind reaction " + _name + " to consumer " + _consumer);
            stop();
            return st;
        }
        _subs.push_back(sub);
    }
    for (size_t i = 0; i < _subs.size(); ++i) _threads.emplace_back([this, i] { run(i); });
    _logger.info("reaction " + _name + " takes events from shared durable consumer " + _consumer + " (" +
                 std::to_string(_settings.reactionWorkers) + " workers, ack wait " +
                 std::to_string(_settings.reactionAckWaitMs) + " ms, dead letter after " +
                 std::to_string(_deliveries.policy().maxDeliveries) + " attempts, kept in " +
                 _settings.deadLettersBucket() + ")");
    return sdk::Status::ok();
}

void ReactionWorker::stop() noexcept {
    if (_retries) _retries->stop();  // before the store and the buckets go
    _stop.raise();
    for (auto& t : _threads)
        if (t.joinable()) t.join();
    _threads.clear();
    // Destroy only: the shared durable consumer must outlive this node.
    for (natsSubscription* sub : _subs) natsSubscription_Destroy(sub);
    _subs.clear();
    _state.close();
}

sdk::Status ReactionWorker::retryDeadLetter(const std::string& eventId) {
    if (!_retries) return sdk::Status(sdk::StatusCode::Unavailable, "reaction " + _name + " is not running here");
    return _retries->retry(eventId);
}

void ReactionWorker::run(size_t worker) {
    sdk::runAsBackgroundThread();
    sdk::nameThisThread("react:" + _name);
    natsSubscription* sub = _subs[worker];
    while (!_stop.raised()) {
        if (!_client.connected()) {
            _stop.sleepFor(100);
            continue;
        }
        natsMsgList list;
        jsErrCode jerr = static_cast<jsErrCode>(0);
        // One at a time: each fetched message starts its ack-wait clock at once.
        const natsStatus s = natsSubscription_Fetch(&list, sub, 1, kPollMs, &jerr);
        if (s == NATS_TIMEOUT) continue;
        if (s != NATS_OK) {
            if (_client.connected() && !_stop.raised())
                _logger.warn("reaction " + _name + ": fetch from " + _consumer + " failed: " + natsErrorText(s));
            _stop.sleepFor(250);
            continue;
        }
        for (int i = 0; i < list.Count; ++i) deliver(list.Msgs[i]);
        natsMsgList_Destroy(&list);
    }
}

void ReactionWorker::deliver(natsMsg* msg) {
    MetaGuard meta;
    uint64_t deliveries = 1;
    uint64_t seq = 0;
    if (natsMsg_GetMetaData(&meta.meta, msg) == NATS_OK) {
        deliveries = meta.meta->NumDelivered;
        seq = meta.meta->Sequence.Stream;
    }
    auto event =
        sdk::eventFromJson(std::string_view(natsMsg_GetData(msg), static_cast<size_t>(natsMsg_GetDataLength(msg))));
    if (!event) {
        // Nothing to list or retry: only the archive keeps it.
        DeadLetterRecord record{"",
                                0,
                                seq,
                                static_cast<int64_t>(deliveries),
                                "not an event: " + event.status().message,
                                _settings.deadLetterSubject(_consumer),
                                true};
        if (!archive(msg, record)) {
            later(msg);
            return;
        }
        natsMsg_Term(msg, nullptr);
        _deliveries.gaveUp(record);
        return;
    }
    event->position = seq;
    // Checked on every delivery, not only redeliveries: a NATS crash can roll the consumer's
    // delivery count back, and a webhook sent twice is worse than one KV read.
    const Gate gate = _state.done(event->eventId) ? Gate::Done : this->gate(*event);
    if (gate == Gate::Wait) {
        waitAgain(msg, deliveries);
        return;
    }
    if (gate == Gate::Unknown) {
        later(msg);
        return;
    }
    if (gate == Gate::Done) {
        if (!_state.advance(event->orderId, event->version)) {
            later(msg);
            return;
        }
        _deliveries.skippedDuplicate(event->eventId);
        natsMsg_AckSync(msg, nullptr, nullptr);
        return;
    }
    auto failed = _state.failedAttempts(event->eventId);
    if (!failed) {
        later(msg);
        return;
    }
    handleAndSettle(msg, *event, *failed);
}

ReactionWorker::Gate ReactionWorker::gate(const sdk::EventRecord& event) {
    auto progress = _state.progress(event.orderId);
    if (!progress) return Gate::Unknown;
    if (event.version <= *progress) return Gate::Done;
    if (event.version == *progress + 1) return Gate::Deliver;
    if (*progress == 0 && previousDone(event)) return Gate::Deliver;
    noteWaiting(event, *progress);
    return Gate::Wait;
}

bool ReactionWorker::previousDone(const sdk::EventRecord& event) {
    auto history = _log.readOrder(event.orderId);
    if (!history) return false;
    auto previous = std::find_if(history->begin(), history->end(),
                                 [&](const sdk::EventRecord& e) { return e.version == event.version - 1; });
    if (previous == history->end()) return false;
    if (_state.done(previous->eventId) || previous->occurredAtMs < sdk::nowMs() - kDoneTtlMs) return true;
    jsOptions jo = _client.requestOptions();
    ConsumerInfoGuard info;
    if (js_GetConsumerInfo(&info.info, _client.js(), _settings.stream.c_str(), _consumer.c_str(), &jo, nullptr) !=
        NATS_OK)
        return false;
    return previous->position <= info.info->AckFloor.Stream;
}

void ReactionWorker::handleAndSettle(natsMsg* msg, const sdk::EventRecord& event, int64_t failed) {
    using Next = transport::ReactionDeliveries::Next;
    const int64_t delivery = failed + 1;
    // Stored on an earlier delivery whose progress or termination did not make it.
    if (_deliveries.exhausted(delivery)) {
        auto stored = _store.find(event.eventId);
        if (stored && *stored) {
            settleDeadLetter(msg, event, failed);
            return;
        }
    }
    const auto outcome = _deliveries.deliver(event, delivery);
    if (outcome.next == Next::Acknowledge) {
        _state.markDone(event.eventId);
        if (failed > 0) _state.clearFailedAttempts(event.eventId);
        // Not raised: a redelivery finds the event done and raises it then.
        if (!_state.advance(event.orderId, event.version)) {
            later(msg);
            return;
        }
        // A lost ack means a redelivery, which the done-bucket turns into a no-op.
        natsMsg_AckSync(msg, nullptr, nullptr);
    } else if (outcome.next == Next::DeadLetter) {
        giveUp(msg, sdk::DeadLetter{event, delivery, outcome.status.message, sdk::nowMs()});
    } else {
        if (auto st = _state.recordFailedAttempts(event.eventId, delivery); !st)
            _logger.warn("reaction " + _name + ": " + st.message + "; its next delivery counts as the same attempt");
        natsMsg_NakWithDelay(msg, outcome.retryInMs, nullptr);
    }
}

void ReactionWorker::giveUp(natsMsg* msg, const sdk::DeadLetter& letter) {
    const sdk::EventRecord& event = letter.event;
    DeadLetterRecord record{
        event.eventId, event.orderId, event.position, letter.attempts, letter.lastError, _settings.deadLettersBucket(),
        true};
    if (auto st = _store.put(letter); !st) {
        record.recorded = false;
        _deliveries.gaveUp(record);
        _logger.error("reaction " + _name + ": dead letter " + event.eventId + " not stored (" + st.message +
                      "); the event will be delivered again");
        natsMsg_NakWithDelay(msg, _deliveries.retryDelayMs(letter.attempts), nullptr);
        return;
    }
    if (!archive(msg, record))
        _logger.warn("reaction " + _name + ": dead letter " + event.eventId + " is stored in " +
                     _settings.deadLettersBucket() + " but not archived to " + _settings.deadLetterStream());
    _deliveries.gaveUp(record);
    settleDeadLetter(msg, event, letter.attempts - 1);
}

void ReactionWorker::settleDeadLetter(natsMsg* msg, const sdk::EventRecord& event, int64_t failed) {
    if (!_state.advance(event.orderId, event.version)) {
        later(msg);
        return;
    }
    if (failed > 0) _state.clearFailedAttempts(event.eventId);
    natsMsg_Term(msg, nullptr);
}

void ReactionWorker::waitAgain(natsMsg* msg, uint64_t deliveries) {
    const int64_t doublings = std::min<int64_t>(static_cast<int64_t>(deliveries) - 1, 10);
    natsMsg_NakWithDelay(msg, std::min(kWaitFirstMs << std::max<int64_t>(0, doublings), kWaitMaxMs), nullptr);
}

void ReactionWorker::noteWaiting(const sdk::EventRecord& event, int64_t progress) {
    const int64_t now = sdk::nowMs();
    int64_t last = _waitLoggedMs.load();
    if (now - last < kWaitLogEveryMs || !_waitLoggedMs.compare_exchange_strong(last, now)) return;
    _logger.info("reaction " + _name + ": event " + event.eventId + " (order " + std::to_string(event.orderId) +
                 ", version " + std::to_string(event.version) + ") waits until version " +
                 std::to_string(progress + 1) +
                 " of its order is delivered or dead-lettered (a failing event holds back only its own order)");
}

bool ReactionWorker::archive(natsMsg* msg, const DeadLetterRecord& record) {
    const std::string subject = _settings.deadLetterSubject(_consumer);
    // Unreadable messages are told apart by their stream sequence (the dedup id below).
    const std::string eventId = record.eventId.empty() ? "seq-" + std::to_string(record.position) : record.eventId;
    const std::string deliveries = std::to_string(record.deliveries);
    natsMsg* dl = nullptr;
    natsStatus s = natsMsg_Create(&dl, subject.c_str(), nullptr, natsMsg_GetData(msg), natsMsg_GetDataLength(msg));
    if (s == NATS_OK) s = natsMsgHeader_Set(dl, "Os-Reaction", _name.c_str());
    if (s == NATS_OK) s = natsMsgHeader_Set(dl, "Os-Event-Id", eventId.c_str());
    if (s == NATS_OK) s = natsMsgHeader_Set(dl, "Os-Deliveries", deliveries.c_str());
    if (s == NATS_OK) s = natsMsgHeader_Set(dl, "Os-Error", record.reason.substr(0, 1000).c_str());
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = _settings.requestTimeoutMs;
    const std::string msgId = _consumer + ":" + eventId;
    po.MsgId = msgId.c_str();
    jsPubAck* ack = nullptr;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    if (s == NATS_OK) s = js_PublishMsg(&ack, _client.js(), dl, &po, &jerr);
    jsPubAck_Destroy(ack);
    natsMsg_Destroy(dl);
    if (s != NATS_OK)
        _logger.error("reaction " + _name + ": cannot archive dead letter " + eventId + " to " + subject + ": " +
                      natsErrorText(s));
    return s == NATS_OK;
}

}  // namespace ordersystem::plugins::nats
