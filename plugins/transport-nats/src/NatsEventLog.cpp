// The cluster-mode event log on JetStream; see NatsEventLog.h.
#include "NatsEventLog.h"

#include <chrono>
#include <cstdlib>

#include "CnatsGuards.h"
#include "EventMessage.h"
#include "KvIdempotencyStore.h"
#include "KvMembership.h"
#include "ProjectionFeed.h"
#include "ordersystem/sdk/json.h"

namespace ordersystem::plugins::nats {

namespace {

constexpr int64_t kNanosPerMs = 1000000;
// JetStream's default, stated explicitly; it covers an append's whole retry period (append_timeout_ms
// is at most 1 min), so every repeat of a publish is recognised by its Nats-Msg-Id.
constexpr int64_t kDuplicateWindowNs = 2 * 60 * 1000 * kNanosPerMs;
constexpr size_t kMaxCachedTips = 100000;
constexpr size_t kMaxEventsPerOrder = 100000;
constexpr int kReadOrderAttempts = 3;
/// Threads and queue of appendAsync()'s slow path: it is the exception (several events, an
/// Idempotency-Key, a tip to read), the fast path takes the common create without them.
constexpr size_t kExecutorThreads = 2;
constexpr size_t kExecutorQueue = 4096;

std::string header(natsMsg* msg, const char* name) {
    const char* value = nullptr;
    if (natsMsgHeader_Get(msg, name, &value) == NATS_OK && value != nullptr) return value;
    return {};
}

}  // namespace

NatsEventLog::NatsEventLog(const Settings& settings, NatsClient& client, sdk::Host& host,
                           KvIdempotencyStore& idempotency, KvMembership& membership)
    : _settings(settings),
      _client(client),
      _host(host),
      _logger(host.logger()),
      _idempotency(idempotency),
      _membership(membership),
      _meter(host.metrics()),
      _publisher(settings, client, _logger),
      _executor(kExecutorThreads, kExecutorQueue, _logger, "nats-task"),
      _ids(
          kIdBlock, [this] { return reserveIdBlock(); },
          [this](std::function<void(bool)> work) { return _executor.tryPost(std::move(work)); }) {}

NatsEventLog::~NatsEventLog() {
    stopAppends();
    stopSubscriptions();
}

sdk::Status NatsEventLog::ensureStream(const std::string& name, const std::string& subject, int64_t maxMsgs,
                                       bool allowDirect, int64_t maxAgeNs) {
    const char* subjects[] = {subject.c_str()};
    jsStreamConfig cfg;
    jsStreamConfig_Init(&cfg);
    cfg.Name = name.c_str();
    cfg.Subjects = subjects;
    cfg.SubjectsLen = 1;
    cfg.Storage = js_FileStorage;
    cfg.Retention = js_LimitsPolicy;
    cfg.Replicas = _settings.streamReplicas;
    cfg.Duplicates = kDuplicateWindowNs;
    cfg.MaxMsgs = maxMsgs;
    cfg.MaxAge = maxAgeNs;
    cfg.AllowDirect = allowDirect;
    cfg.DenyDelete = true;
    jsOptions jo = _client.requestOptions();
    jsErrCode jerr = static_cast<jsErrCode>(0);
    StreamInfoGuard created;
    natsStatus s = _client.untilLeader(
        [&](jsErrCode* e) { return js_AddStream(&created.info, _client.js(), &cfg, &jo, e); }, &jerr);
    if (s == NATS_OK) return sdk::Status::ok();
    if (jerr != JSStreamNameExistErr) return toStatus(s, jerr, "cannot create JetStream stream " + name);

    // It exists with another configuration (an operator tuned it, or an older version made it):
    // keep it as long as it still captures our subject.
    StreamInfoGuard existing;
    s = _client.untilLeader(
        [&](jsErrCode* e) { return js_GetStreamInfo(&existing.info, _client.js(), name.c_str(), &jo, e); }, &jerr);
    if (s != NATS_OK) return toStatus(s, jerr, "cannot read JetStream stream " + name);
    // Changing the replica count moves data between servers: the operator decides, not a start.
    if (auto st = checkReplicas(_settings, "stream", name, existing.info->Config->Replicas); !st) return st;
    bool hasSubject = false;
    for (int i = 0; i < existing.info->Config->SubjectsLen; ++i)
        if (subject == existing.info->Config->Subjects[i]) hasSubject = true;
    if (!hasSubject)
        return sdk::Status(sdk::StatusCode::InvalidConfig, "JetStream stream " + name +
                                                               " exists but does not capture '" + subject +
                                                               "'; fix transport.nats.stream or the stream");
    if (allowDirect && !existing.info->Config->AllowDirect) {
        existing.info->Config->AllowDirect = true;
        StreamInfoGuard updated;
        s = js_UpdateStream(&updated.info, _client.js(), existing.info->Config, &jo, &jerr);
        if (s != NATS_OK) return toStatus(s, jerr, "cannot enable direct get on JetStream stream " + name);
    }
    _logger.info("JetStream stream " + name + " already exists with its own settings; using it as it is");
    return sdk::Status::ok();
}

sdk::Status NatsEventLog::ensureStreams() {
    if (auto st = ensureStream(_settings.stream, _settings.eventsFilter(), -1, true, 0); !st) return st;
    // The id stream keeps one message: only its ever-growing sequence matters.
    if (auto st = ensureStream(_settings.idStream(), _settings.idSubject, 1, false, 0); !st) return st;
    // Dead letters are kept 30 days for an operator to inspect and replay.
    const int64_t thirtyDaysNs = int64_t{30} * 24 * 3600 * 1000 * kNanosPerMs;
    if (auto st =
            ensureStream(_settings.deadLetterStream(), _settings.deadLetterPrefix + ".>", -1, false, thirtyDaysNs);
        !st)
        return st;
    checkIdCounter();
    return sdk::Status::ok();
}

void NatsEventLog::checkIdCounter() {
    // Ids are distinct and positive, so the highest one handed out is at least the number of
    // orders (one subject each) and at least the newest event's order id. A counter whose
    // reach is below either was reset (its stream deleted) and would hand out ids again.
    jsOptions jo = _client.requestOptions();
    StreamInfoGuard events, ids;
    if (js_GetStreamInfo(&events.info, _client.js(), _settings.stream.c_str(), &jo, nullptr) != NATS_OK ||
        js_GetStreamInfo(&ids.info, _client.js(), _settings.idStream().c_str(), &jo, nullptr) != NATS_OK)
        return;
    const uint64_t blocks = ids.info->State.LastSeq;
    const uint64_t reach = blocks == 0 ? 0 : blocks * kIdBlock + kIdBlock - 1;
    const auto orders = static_cast<uint64_t>(events.info->State.NumSubjects);
    uint64_t newestId = 0;
    if (events.info->State.LastSeq > 0) {
        jsDirectGetMsgOptions dg;
        jsDirectGetMsgOptions_Init(&dg);
        dg.Sequence = events.info->State.LastSeq;
        MsgGuard m;
        const std::string prefix = _settings.subjectPrefix + ".";
        if (js_DirectGetMsg(&m.msg, _client.js(), _settings.stream.c_str(), &jo, &dg) == NATS_OK) {
            const std::string subject = natsMsg_GetSubject(m.msg);
            if (subject.compare(0, prefix.size(), prefix) == 0)
                newestId = std::strtoull(subject.c_str() + prefix.size(), nullptr, 10);
        }
    }
    if (reach < orders || reach < newestId)
        _logger.error("id stream " + _settings.idStream() + " is at " + std::to_string(blocks) + " (ids up to " +
                      std::to_string(reach) + ") but stream " + _settings.stream + " already holds " +
                      std::to_string(orders) + " orders, the newest with id " + std::to_string(newestId) +
                      ": the id counter was reset, new orders will collide with old ones until it passes them");
}

sdk::Result<int64_t> NatsEventLog::reserveIdBlock() {
    if (!_client.connected()) return _client.unavailable("cannot allocate an order id");
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = _settings.requestTimeoutMs;
    PubAckGuard ack;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    // Rides over a leader election like an append does; a repeat after a lost acknowledgement
    // only wastes a block (gaps are fine, reuse is not).
    const natsStatus s = _client.untilLeader(
        [&](jsErrCode* e) {
            jsPubAck_Destroy(ack.ack);
            ack.ack = nullptr;
            return js_Publish(&ack.ack, _client.js(), _settings.idSubject.c_str(), "", 0, &po, e);
        },
        &jerr);
    if (s == NATS_TIMEOUT)
        return sdk::Status(sdk::StatusCode::Timeout, "cannot allocate an order id: NATS did not answer");
    if (s != NATS_OK) return toStatus(s, jerr, "cannot allocate an order id");
    const uint64_t block = ack.ack->Sequence;
    if (block == 0 || block > static_cast<uint64_t>((kMaxSafeOrderId - kIdBlock + 1) / kIdBlock))
        return sdk::Status(sdk::StatusCode::Internal,
                           "order id space exhausted (id block " + std::to_string(block) + ")");
    const int64_t first = static_cast<int64_t>(block) * kIdBlock;
    _logger.debug("reserved order ids " + std::to_string(first) + "-" + std::to_string(first + kIdBlock - 1));
    return first;
}

sdk::Result<int64_t> NatsEventLog::allocateOrderId() noexcept {
    try {
        // While NATS is away no id is handed out, not even from a reserved block: a create answers 503 at once.
        if (!_client.connected()) return _client.unavailable("cannot allocate an order id");
        return _ids.next();
    } catch (const std::exception& e) {
        return sdk::Status(sdk::StatusCode::Internal, std::string("allocateOrderId: ") + e.what());
    }
}

sdk::Result<NatsEventLog::Tip> NatsEventLog::readTip(int64_t orderId) {
    if (!_client.connected()) return _client.unavailable("cannot read order " + std::to_string(orderId));
    const std::string subject = _settings.orderSubject(orderId);
    jsDirectGetMsgOptions dg;
    jsDirectGetMsgOptions_Init(&dg);
    dg.LastBySubject = subject.c_str();
    jsOptions jo = _client.requestOptions();
    MsgGuard m;
    const natsStatus s = js_DirectGetMsg(&m.msg, _client.js(), _settings.stream.c_str(), &jo, &dg);
    if (s == NATS_NOT_FOUND) return Tip{};
    if (s != NATS_OK)
        return toStatus(s, static_cast<jsErrCode>(0), "cannot read the last event of order " + std::to_string(orderId));
    Tip tip;
    tip.seq = natsMsg_GetSequence(m.msg);
    const std::string version = header(m.msg, kVersionHeader);
    tip.lastEventId = header(m.msg, kMsgIdHeader);
    if (!version.empty() && !tip.lastEventId.empty()) {
        tip.version = std::stoll(version);
        return tip;
    }
    auto event = decodeEvent(m.msg, tip.seq);  // written by someone without our headers
    if (!event) return event.status();
    tip.version = event->version;
    tip.lastEventId = event->eventId;
    return tip;
}

bool NatsEventLog::cachedTip(int64_t orderId, Tip* out) {
    std::lock_guard<std::mutex> lock(_tipMutex);
    auto it = _tips.find(orderId);
    if (it == _tips.end()) return false;
    *out = it->second;
    return true;
}

void NatsEventLog::rememberTip(int64_t orderId, const Tip& tip) {
    std::lock_guard<std::mutex> lock(_tipMutex);
    if (tip.seq == 0) {
        _tips.erase(orderId);
        return;
    }
    if (_tips.size() >= kMaxCachedTips) _tips.clear();
    _tips[orderId] = tip;
}

sdk::AppendResult NatsEventLog::conflict(int64_t currentVersion, const std::string& why) {
    sdk::AppendResult r;
    r.status = sdk::Status(sdk::StatusCode::VersionConflict, why);
    r.currentVersion = currentVersion;
    return r;
}

sdk::AppendResult NatsEventLog::append(sdk::AppendRequest& request) noexcept {
    const auto start = std::chrono::steady_clock::now();
    sdk::AppendResult result;
    try {
        result = appendUnchecked(request, appendDeadline(start));
    } catch (const std::exception& e) {
        result.status = sdk::Status(sdk::StatusCode::Internal, std::string("append: ") + e.what());
    }
    recordOutcome(request, result, start);
    return result;
}

void NatsEventLog::recordOutcome(const sdk::AppendRequest& request, const sdk::AppendResult& result,
                                 std::chrono::steady_clock::time_point start) {
    _meter.record(request.events.size(), result, start);
    if (!result.status && result.status.code != sdk::StatusCode::VersionConflict)
        _logger.warn("append to order " + std::to_string(request.orderId) + " failed: " + result.status.message);
}

int64_t NatsEventLog::landedPrefix(sdk::AppendRequest& request, const Tip& tip) {
    auto& events = request.events;
    const int64_t landed = tip.version - request.expectedVersion;
    // The order moved on by k events and its newest is our k-th: an earlier attempt of this very
    // append was stored (a retry after a timeout or crash), beyond the Nats-Msg-Id window too.
    if (landed < 1 || landed > static_cast<int64_t>(events.size()) || tip.lastEventId != events[landed - 1].eventId)
        return -1;
    events[landed - 1].position = tip.seq;
    auto stored = landed > 1 ? readOrder(request.orderId)
                             : sdk::Result<std::vector<sdk::EventRecord>>(std::vector<sdk::EventRecord>{});
    if (stored)
        for (int64_t i = 0; i < landed - 1; ++i)
            for (const auto& e : *stored)
                if (e.eventId == events[i].eventId) events[i].position = e.position;
    return landed;
}

sdk::Status NatsEventLog::checkRequest(const sdk::AppendRequest& request) {
    const auto& events = request.events;
    const int64_t n = static_cast<int64_t>(events.size());
    if (n == 0 || request.orderId <= 0 || request.expectedVersion < 0)
        return sdk::Status(sdk::StatusCode::InvalidArgument, "append needs an order id and at least one event");
    for (int64_t i = 0; i < n; ++i) {
        if (events[i].orderId != request.orderId || events[i].version != request.expectedVersion + 1 + i ||
            events[i].eventId.empty())
            return sdk::Status(sdk::StatusCode::InvalidArgument,
                               "events must belong to the order, carry ids and follow its version");
    }
    return sdk::Status::ok();
}

NatsEventLog::Clock::time_point NatsEventLog::appendDeadline(Clock::time_point start) const {
    return start + std::chrono::milliseconds(_settings.appendTimeoutMs);
}

sdk::AppendResult NatsEventLog::appendUnchecked(sdk::AppendRequest& request, Clock::time_point deadline) {
    if (auto st = checkRequest(request); !st) return {st, 0, -1};
    if (!_client.connected())
        return {_client.unavailable("cannot append to order " + std::to_string(request.orderId)), 0, -1};

    Tip tip;
    if (!cachedTip(request.orderId, &tip) || tip.version != request.expectedVersion) {
        if (request.expectedVersion == 0) {
            tip = Tip{};  // a new order: the server checks "no message yet", no need to look first
        } else {
            auto fresh = readTip(request.orderId);
            if (!fresh) return {fresh.status(), 0, -1};
            tip = *fresh;
        }
    }
    int64_t next = 0;  // index of the first event still to publish
    if (tip.version != request.expectedVersion) {
        next = landedPrefix(request, tip);
        if (next < 0)
            return conflict(tip.version, "order " + std::to_string(request.orderId) + " is at version " +
                                             std::to_string(tip.version) + ", not " +
                                             std::to_string(request.expectedVersion));
    }
    return publishFrom(request, tip, next, deadline);
}

sdk::AppendResult NatsEventLog::publishFrom(sdk::AppendRequest& request, Tip tip, int64_t next,
                                            Clock::time_point deadline) {
    auto& events = request.events;
    while (next < static_cast<int64_t>(events.size())) {
        uint64_t seq = 0;
        sdk::Status st = publishEvent(events[next], tip.seq, &seq, deadline);
        if (st.code == sdk::StatusCode::VersionConflict) {
            sdk::AppendResult refused;
            if (!resumeAfterConflict(request, st, &tip, &next, &refused)) return refused;
            continue;
        }
        if (!st) {
            rememberTip(request.orderId, Tip{});
            return {st, 0, -1};
        }
        events[next].position = seq;
        tip = Tip{events[next].version, seq, events[next].eventId};
        ++next;
    }
    return stored(request, tip);
}

bool NatsEventLog::resumeAfterConflict(sdk::AppendRequest& request, const sdk::Status& why, Tip* tip, int64_t* next,
                                       sdk::AppendResult* refused) {
    rememberTip(request.orderId, Tip{});
    auto fresh = readTip(request.orderId);
    if (!fresh) {
        *refused = conflict(-1, why.message);
        return false;
    }
    const int64_t landed = landedPrefix(request, *fresh);
    if (landed > *next) {  // our own earlier attempt, stored after all
        *tip = *fresh;
        *next = landed;
        return true;
    }
    if (*next > 0)
        _logger.error("append to order " + std::to_string(request.orderId) + " stored only " + std::to_string(*next) +
                      " of " + std::to_string(request.events.size()) + " events before a concurrent write");
    *refused = conflict(fresh->version, why.message);
    return false;
}

sdk::AppendResult NatsEventLog::stored(sdk::AppendRequest& request, const Tip& tip) {
    rememberTip(request.orderId, tip);
    completeIdempotency(request);
    sdk::AppendResult ok;
    ok.lastPosition = request.events.back().position;
    return ok;
}

void NatsEventLog::completeIdempotency(const sdk::AppendRequest& request) {
    if (request.idempotency == nullptr) return;
    // Not atomic with the publish (JetStream has no multi-subject transaction): if this node dies
    // between the two, the key stays "in flight" until its lease ends and a retry after that
    // creates a second order. The window is one KV round trip; the events themselves are safe.
    const sdk::Status st = _idempotency.complete(*request.idempotency);
    if (!st)
        _logger.warn("order " + std::to_string(request.orderId) +
                     " was stored but its Idempotency-Key could not be completed: " + st.message);
}

sdk::Result<std::vector<sdk::EventRecord>> NatsEventLog::readOrder(int64_t orderId) noexcept {
    try {
        // Any server of the stream answers a direct get, and one that was paused or cut off can
        // hold a copy with holes: a history whose versions are not 1..n is read again (another
        // server may answer), and never handed out.
        for (int attempt = 1;; ++attempt) {
            auto events = readOrderOnce(orderId);
            if (!events) return events;
            bool whole = true;
            for (size_t i = 0; i < events->size() && whole; ++i)
                whole = (*events)[i].version == static_cast<int64_t>(i) + 1;
            if (whole) return events;
            if (attempt == kReadOrderAttempts)
                return sdk::Status(sdk::StatusCode::Unavailable,
                                   "cannot read order " + std::to_string(orderId) +
                                       ": the servers that answered hold an incomplete copy of its events");
        }
    } catch (const std::exception& e) {
        return sdk::Status(sdk::StatusCode::Internal, std::string("readOrder: ") + e.what());
    }
}

sdk::Result<std::vector<sdk::EventRecord>> NatsEventLog::readOrderOnce(int64_t orderId) {
    if (!_client.connected()) return _client.unavailable("cannot read order " + std::to_string(orderId));
    const std::string subject = _settings.orderSubject(orderId);
    std::vector<sdk::EventRecord> events;
    uint64_t next = 1;
    jsOptions jo = _client.requestOptions();
    while (events.size() < kMaxEventsPerOrder) {
        jsDirectGetMsgOptions dg;
        jsDirectGetMsgOptions_Init(&dg);
        dg.NextBySubject = subject.c_str();
        dg.Sequence = next;
        MsgGuard m;
        const natsStatus s = js_DirectGetMsg(&m.msg, _client.js(), _settings.stream.c_str(), &jo, &dg);
        if (s == NATS_NOT_FOUND) break;
        if (s != NATS_OK) return toStatus(s, static_cast<jsErrCode>(0), "cannot read order " + std::to_string(orderId));
        const uint64_t seq = natsMsg_GetSequence(m.msg);
        auto event = decodeEvent(m.msg, seq);
        if (!event) return event.status();
        events.push_back(std::move(*event));
        next = seq + 1;
    }
    return events;
}

sdk::Result<uint64_t> NatsEventLog::headPosition() noexcept {
    if (!_client.connected()) return _client.unavailable("cannot read the log head");
    jsOptions jo = _client.requestOptions();
    jsErrCode jerr = static_cast<jsErrCode>(0);
    StreamInfoGuard info;
    const natsStatus s = js_GetStreamInfo(&info.info, _client.js(), _settings.stream.c_str(), &jo, &jerr);
    if (s != NATS_OK) return toStatus(s, jerr, "cannot read the log head");
    return static_cast<uint64_t>(info.info->State.LastSeq);
}

sdk::IdempotencyStore& NatsEventLog::idempotency() noexcept { return _idempotency; }
sdk::Membership& NatsEventLog::membership() noexcept { return _membership; }

}  // namespace ordersystem::plugins::nats
