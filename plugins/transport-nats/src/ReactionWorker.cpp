// Once-per-cluster delivery to a reaction; see ReactionWorker.h.
#include "ReactionWorker.h"

#include <algorithm>
#include <chrono>

#include "CnatsGuards.h"
#include "KvBuckets.h"
#include "ordersystem/sdk/util.h"

namespace ordersystem::plugins::nats {

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
      _reaction(reaction),
      _logger(host.logger()),
      _deadLetters(host.metrics().counter("ordersystem_reaction_dead_letters_total", "events a reaction gave up on",
                                          {{"reaction", std::string(reaction.reactionName())}})),
      _handled(host.metrics().counter("ordersystem_reaction_handled_total", "events a reaction handled",
                                      {{"reaction", std::string(reaction.reactionName())}})),
      _failures(host.metrics().counter("ordersystem_reaction_failures_total", "failed reaction attempts (redelivered later)",
                                       {{"reaction", std::string(reaction.reactionName())}})),
      _duplicates(host.metrics().counter("ordersystem_reaction_duplicates_total", "redeliveries skipped because already handled",
                                         {{"reaction", std::string(reaction.reactionName())}})),
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
    natsStatus s = js_AddConsumer(&info.info, _client.js(), _settings.stream.c_str(), &cc, &jo, &jerr);
    if (s == NATS_OK) return sdk::Status::ok();
    // It exists with other settings (ack wait or max deliveries changed in the ini): update it.
    ConsumerInfoGuard updated;
    s = js_UpdateConsumer(&updated.info, _client.js(), _settings.stream.c_str(), &cc, &jo, &jerr);
    if (s == NATS_OK) return sdk::Status::ok();
    ConsumerInfoGuard existing;
    if (js_GetConsumerInfo(&existing.info, _client.js(), _settings.stream.c_str(), _consumer.c_str(), &jo, nullptr) == NATS_OK) {
        _logger.warn("reaction " + _name + ": consumer " + _consumer + " exists with other settings that cannot be changed (" +
                     natsErrorText(s) + "); using it as it is");
        return sdk::Status::ok();
    }
    return toStatus(s, jerr, "cannot create consumer " + _consumer);
}

sdk::Status ReactionWorker::start() {
    if (!_client.connected()) return _client.unavailable("cannot subscribe reaction " + _name);
    if (auto st = ensureConsumer(); !st) return st;
    auto bucket = openBucket(_client, _settings.reactionsDoneBucket(), kDoneTtlNs, _settings.streamReplicas);
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
                 std::to_string(_settings.reactionWorkers) + " workers, ack wait " + std::to_string(_settings.reactionAckWaitMs) +
                 " ms, dead letter after " + std::to_string(_settings.reactionMaxDeliveries) + " deliveries)");
    return sdk::Status::ok();
}

void ReactionWorker::stop() noexcept {
    _stop = true;
    for (auto& t : _threads)
        if (t.joinable()) t.join();
    _threads.clear();
    // Destroy only: the shared durable consumer must outlive this node.
    for (natsSubscription* sub : _subs) natsSubscription_Destroy(sub);
    _subs.clear();
    if (_done != nullptr) kvStore_Destroy(_done);
    _done = nullptr;
}

void ReactionWorker::sleepFor(int64_t ms) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (!_stop && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(std::chrono::milliseconds(20));
}

int64_t ReactionWorker::retryDelayMs(uint64_t deliveries) const {
    int64_t delay = _settings.reactionRetryBaseMs;
    for (uint64_t i = 1; i < deliveries && delay < _settings.reactionRetryMaxMs; ++i) delay *= 2;
    return std::min(delay, _settings.reactionRetryMaxMs);
}

void ReactionWorker::run(size_t worker) {
    sdk::runAsBackgroundThread();
    sdk::nameThisThread("react:" + _name);
    natsSubscription* sub = _subs[worker];
    while (!_stop) {
        if (!_client.connected()) {
            sleepFor(100);
            continue;
        }
        natsMsgList list;
        jsErrCode jerr = static_cast<jsErrCode>(0);
        // One at a time: each fetched message starts its ack-wait clock at once.
        const natsStatus s = natsSubscription_Fetch(&list, sub, 1, kPollMs, &jerr);
        if (s == NATS_TIMEOUT) continue;
        if (s != NATS_OK) {
            if (_client.connected() && !_stop)
                _logger.warn("reaction " + _name + ": fetch from " + _consumer + " failed: " + natsErrorText(s));
            sleepFor(250);
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
    if (s != NATS_OK) _logger.debug("reaction " + _name + ": could not record event " + eventId + " as done: " + natsErrorText(s));
}

void ReactionWorker::deliver(natsMsg* msg) {
    MetaGuard meta;
    uint64_t deliveries = 1;
    uint64_t seq = 0;
    if (natsMsg_GetMetaData(&meta.meta, msg) == NATS_OK) {
        deliveries = meta.meta->NumDelivered;
        seq = meta.meta->Sequence.Stream;
    }
    auto event = sdk::eventFromJson(std::string_view(natsMsg_GetData(msg), static_cast<size_t>(natsMsg_GetDataLength(msg))));
    if (!event) {
        deadLetter(msg, "(stream message " + std::to_string(seq) + ")", deliveries, "not an event: " + event.status().message);
        return;
    }
    event->position = seq;
    // Checked on every delivery, not only redeliveries: a NATS crash can roll the consumer's
    // delivery count back, and a webhook sent twice is worse than one KV read.
    if (alreadyDone(event->eventId)) {
        _duplicates.inc();
        natsMsg_AckSync(msg, nullptr, nullptr);
        return;
    }
    const sdk::Status st = _reaction.handle(*event);
    if (st) {
        _handled.inc();
        markDone(event->eventId);
        // A lost ack means a redelivery, which the done-bucket turns into a no-op.
        natsMsg_AckSync(msg, nullptr, nullptr);
        return;
    }
    _failures.inc();
    if (static_cast<int64_t>(deliveries) >= _settings.reactionMaxDeliveries) {
        deadLetter(msg, event->eventId, deliveries, st.message);
        return;
    }
    const int64_t delay = retryDelayMs(deliveries);
    _logger.warn("reaction " + _name + " failed on event " + event->eventId + " (delivery " + std::to_string(deliveries) + " of " +
                 std::to_string(_settings.reactionMaxDeliveries) + "): " + st.message + "; redelivery in " + std::to_string(delay) + " ms");
    natsMsg_NakWithDelay(msg, delay, nullptr);
}

void ReactionWorker::deadLetter(natsMsg* msg, const std::string& eventId, uint64_t deliveries, const std::string& why) {
    const std::string subject = _settings.deadLetterSubject(_consumer);
    natsMsg* dl = nullptr;
    natsStatus s = natsMsg_Create(&dl, subject.c_str(), nullptr, natsMsg_GetData(msg), natsMsg_GetDataLength(msg));
    if (s == NATS_OK) s = natsMsgHeader_Set(dl, "Os-Reaction", _name.c_str());
    if (s == NATS_OK) s = natsMsgHeader_Set(dl, "Os-Event-Id", eventId.c_str());
    if (s == NATS_OK) s = natsMsgHeader_Set(dl, "Os-Deliveries", std::to_string(deliveries).c_str());
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
        _logger.error("reaction " + _name + " gave up on event " + eventId + " but could not dead-letter it (" + natsErrorText(s) +
                      "); it will be delivered again");
        natsMsg_NakWithDelay(msg, retryDelayMs(deliveries), nullptr);
        return;
    }
    natsMsg_Term(msg, nullptr);
    _deadLetters.inc();
    _logger.error("reaction " + _name + " gave up on event " + eventId + " after " + std::to_string(deliveries) +
                  " deliveries (last error: " + why + "); dead-lettered to " + subject);
}

}  // namespace ordersystem::plugins::nats
