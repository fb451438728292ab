// Once-per-cluster delivery to a reaction; see ReactionWorker.h.
#include "ReactionWorker.h"

#include <algorithm>
#include <chrono>

#include "CnatsGuards.h"
#include "KvBuckets.h"
#include "ordersystem/sdk/util.h"

namespace ordersystem::plugins::nats {

using transport::DeadLetterRecord;

namespace {

constexpr int64_t kNanosPerMs = 1000000;
constexpr int64_t kPollMs = 250;  // longest a stop() waits for the fetch in progress
constexpr int64_t kDoneTtlNs = int64_t{24} * 3600 * 1000 * kNanosPerMs;
/// Extra server-side deliveries beyond ours, so a failed dead-letter publish is retried.
constexpr int64_t kMaxDeliverSlack = 3;

}  // namespace

ReactionWorker::ReactionWorker(const Settings& settings, NatsClient& client, sdk::Reaction& reaction, sdk::Host& host)
    : _settings(settings),
      _client(client),
      _logger(host.logger()),
      _deliveries(reaction,
                  transport::ReactionPolicy{settings.reactionMaxDeliveries, settings.reactionRetryBaseMs,
                                            settings.reactionRetryMaxMs},
                  host.logger(), host.metrics()),
      _name(reaction.reactionName()),
      _consumer(safeName(std::string(reaction.reactionName()))),
      _filter(settings.eventsFilter()) {}

ReactionWorker::~ReactionWorker() { stop(); }

sdk::Status ReactionWorker::ensureConsumer() {
    jsConsumerConfig cc;
    jsConsumerConfig_Init(&cc);
    cc.Durable = _consumer.c_str();
    cc.AckPolicy = js_AckExplicit;
    cc.AckWait = _settings.reactionAckWaitMs * kNanosPerMs;
    cc.MaxDeliver = _settings.reactionMaxDeliveries + kMaxDeliverSlack;
    cc.DeliverPolicy = js_DeliverAll;
    cc.FilterSubject = _filter.c_str();
    cc.MaxAckPending = 1000;
    jsOptions jo = _client.requestOptions();
    jsErrCode jerr = static_cast<jsErrCode>(0);
    ConsumerInfoGuard info;
    // Waits out a consumer leader election (a server just came back) like every start-up step.
    natsStatus s = _client.untilLeader(
        [&](jsErrCode* e) { return js_AddConsumer(&info.info, _client.js(), _settings.stream.c_str(), &cc, &jo, e); },
        &jerr);
    if (s == NATS_OK) return sdk::Status::ok();
    // It exists with other settings (ack wait or max deliveries changed in the ini): update it.
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
    auto bucket = openBucket(_client, _settings.reactionsDoneBucket(), kDoneTtlNs, _settings);
    if (!bucket) return bucket.status();
    _done = *bucket;
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
                 std::to_string(_settings.reactionMaxDeliveries) + " deliveries)");
    return sdk::Status::ok();
}

void ReactionWorker::stop() noexcept {
    _stop.raise();
    for (auto& t : _threads)
        if (t.joinable()) t.join();
    _threads.clear();
    // Destroy only: the shared durable consumer must outlive this node.
    for (natsSubscription* sub : _subs) natsSubscription_Destroy(sub);
    _subs.clear();
    if (_done != nullptr) kvStore_Destroy(_done);
    _done = nullptr;
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

bool ReactionWorker::alreadyDone(const std::string& eventId) {
    kvEntry* entry = nullptr;
    const natsStatus s = kvStore_Get(&entry, _done, (_consumer + "." + safeName(eventId)).c_str());
    kvEntry_Destroy(entry);
    return s == NATS_OK;
}

void ReactionWorker::markDone(const std::string& eventId) {
    uint64_t rev = 0;
    const natsStatus s = kvStore_PutString(&rev, _done, (_consumer + "." + safeName(eventId)).c_str(), "1");
    if (s != NATS_OK)
        _logger.debug("reaction " + _name + ": could not record event " + eventId + " as done: " + natsErrorText(s));
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
        deadLetter(msg, DeadLetterRecord{"", 0, seq, static_cast<int64_t>(deliveries),
                                         "not an event: " + event.status().message, "", true});
        return;
    }
    event->position = seq;
    // Checked on every delivery, not only redeliveries: a NATS crash can roll the consumer's
    // delivery count back, and a webhook sent twice is worse than one KV read.
    if (alreadyDone(event->eventId)) {
        _deliveries.skippedDuplicate(event->eventId);
        natsMsg_AckSync(msg, nullptr, nullptr);
        return;
    }
    using Next = transport::ReactionDeliveries::Next;
    const auto outcome = _deliveries.deliver(*event, static_cast<int64_t>(deliveries));
    if (outcome.next == Next::Acknowledge) {
        markDone(event->eventId);
        // A lost ack means a redelivery, which the done-bucket turns into a no-op.
        natsMsg_AckSync(msg, nullptr, nullptr);
    } else if (outcome.next == Next::DeadLetter) {
        deadLetter(msg, DeadLetterRecord{event->eventId, event->orderId, seq, static_cast<int64_t>(deliveries),
                                         outcome.status.message, "", true});
    } else {
        natsMsg_NakWithDelay(msg, outcome.retryInMs, nullptr);
    }
}

void ReactionWorker::deadLetter(natsMsg* msg, DeadLetterRecord record) {
    const std::string subject = _settings.deadLetterSubject(_consumer);
    // Unreadable messages are told apart by their stream sequence (the dedup id below).
    const std::string eventId = record.eventId.empty() ? "seq-" + std::to_string(record.position) : record.eventId;
    const std::string deliveries = std::to_string(record.deliveries);
    const std::string& why = record.reason;
    natsMsg* dl = nullptr;
    natsStatus s = natsMsg_Create(&dl, subject.c_str(), nullptr, natsMsg_GetData(msg), natsMsg_GetDataLength(msg));
    if (s == NATS_OK) s = natsMsgHeader_Set(dl, "Os-Reaction", _name.c_str());
    if (s == NATS_OK) s = natsMsgHeader_Set(dl, "Os-Event-Id", eventId.c_str());
    if (s == NATS_OK) s = natsMsgHeader_Set(dl, "Os-Deliveries", deliveries.c_str());
    if (s == NATS_OK) s = natsMsgHeader_Set(dl, "Os-Error", why.substr(0, 1000).c_str());
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
    if (s != NATS_OK) {
        _logger.error("reaction " + _name + " gave up on event " + eventId + " but could not dead-letter it (" +
                      natsErrorText(s) + "); it will be delivered again");
        natsMsg_NakWithDelay(msg, _deliveries.retryDelayMs(record.deliveries), nullptr);
        return;
    }
    natsMsg_Term(msg, nullptr);
    record.movedTo = subject;
    _deliveries.gaveUp(record);
}

}  // namespace ordersystem::plugins::nats
