// The node's projections fed from one durable cursor; see ProjectionFeed.h.
#include "ProjectionFeed.h"

#include <algorithm>
#include <chrono>
#include <limits>

#include "CnatsGuards.h"
#include "EventMessage.h"
#include "ordersystem/sdk/util.h"
#include "ordersystem/transport/backoff.h"

namespace ordersystem::plugins::nats {

namespace {

constexpr int64_t kNanosPerMs = 1000000;
constexpr int64_t kPollMs = 250;  // longest a stop() waits for the fetch in progress (idle: 4 requests/s)
constexpr int64_t kInactiveNs = int64_t{7} * 24 * 3600 * 1000 * kNanosPerMs;
constexpr int64_t kCursorRetryInitialMs = 100;
constexpr int64_t kCursorRetryMaxMs = 2000;
// Positions read from the leader per batch when a cursor skipped some; more wait for the next one.
constexpr size_t kMaxHolesPerBatch = 256;
// Tries (with the cursor back-off, about 30 s) before a position even the leader lacks is passed.
constexpr int kHoleAttempts = 20;

}  // namespace

ProjectionFeed::ProjectionFeed(const Settings& settings, NatsClient& client, sdk::Host& host,
                               const std::string& consumerSuffix, bool shared)
    : _settings(settings),
      _client(client),
      _host(host),
      _logger(host.logger()),
      _shared(shared),
      _consumer(safeName(host.node().nodeId + "_" + consumerSuffix)),
      _filter(settings.eventsFilter()),
      _threadName("proj:" + consumerSuffix) {}

ProjectionFeed::~ProjectionFeed() { stop(); }

sdk::Status ProjectionFeed::add(sdk::Projection& projection) {
    std::lock_guard<std::mutex> life(_lifecycle);
    auto member = std::make_unique<Member>();
    member->projection = &projection;
    member->name = std::string(projection.projectionName());
    member->applier = std::make_unique<transport::ProjectionApplier>(projection, _logger);
    member->applied = projection.checkpoint();
    member->seen = member->applied;
    warnIfBeyondHead(*member);
    const uint64_t from = member->applied + 1;
    const bool starting = !_thread.joinable();
    if (starting) {
        if (auto st = openCursor(from, false); !st) return st;
    }
    _logger.info("projection " + member->name + " follows stream " + _settings.stream + " from position " +
                 std::to_string(from) + " through durable consumer " + _consumer);
    {
        std::lock_guard<std::mutex> lock(_mutex);
        if (starting) {
            _cursorAt = from - 1;
            _held.clear();
            _heldFrom = _heldTo = _cursorAt;
        }
        _members.push_back(std::move(member));  // below the cursor: the thread rewinds it
    }
    if (starting) {
        _stop.rearm();
        _thread = std::thread([this] { run(); });
    }
    return sdk::Status::ok();
}

void ProjectionFeed::remove(sdk::Projection& projection) noexcept {
    std::lock_guard<std::mutex> life(_lifecycle);
    std::unique_ptr<Member> gone;
    bool last = false;
    {
        std::lock_guard<std::mutex> lock(_mutex);  // waits for an apply in progress
        auto it =
            std::find_if(_members.begin(), _members.end(), [&](const auto& m) { return m->projection == &projection; });
        if (it == _members.end()) return;
        gone = std::move(*it);
        _members.erase(it);
        last = _members.empty();
    }
    if (gone->own) gone->own->stop();
    if (last) stopThread();
}

void ProjectionFeed::stop() noexcept {
    std::lock_guard<std::mutex> life(_lifecycle);
    std::vector<std::unique_ptr<Member>> members;
    {
        std::lock_guard<std::mutex> lock(_mutex);
        members.swap(_members);
    }
    for (auto& m : members)
        if (m->own) m->own->stop();
    stopThread();
}

void ProjectionFeed::stopThread() noexcept {
    _stop.raise();
    if (_thread.joinable()) _thread.join();
    closeCursor();
    std::lock_guard<std::mutex> lock(_mutex);
    _held.clear();
    _heldFrom = _heldTo = _cursorAt;
}

void ProjectionFeed::warnIfBeyondHead(const Member& member) {
    jsOptions jo = _client.requestOptions();
    StreamInfoGuard si;
    if (js_GetStreamInfo(&si.info, _client.js(), _settings.stream.c_str(), &jo, nullptr) == NATS_OK &&
        si.info->State.LastSeq < member.applied)
        _logger.warn(
            "projection " + member.name + " is at position " + std::to_string(member.applied) + " but stream " +
            _settings.stream + " ends at " + std::to_string(si.info->State.LastSeq) +
            ": the stream was recreated or this node's data belongs to another cluster; delete the node's read "
            "model files to rebuild them from the stream");
}

sdk::Status ProjectionFeed::openCursor(uint64_t from, bool forceRecreate) {
    closeCursor();
    if (!_client.connected()) return _client.unavailable("cannot open the cursor " + _consumer);
    jsOptions jo = _client.requestOptions();
    jsErrCode jerr = static_cast<jsErrCode>(0);
    bool reuse = false;
    {
        ConsumerInfoGuard ci;
        // Each step waits out a consumer leader election (a server just came back).
        natsStatus s = _client.untilLeader(
            [&](jsErrCode* e) {
                return js_GetConsumerInfo(&ci.info, _client.js(), _settings.stream.c_str(), _consumer.c_str(), &jo, e);
            },
            &jerr);
        if (s == NATS_OK) {
            const jsConsumerConfig* c = ci.info->Config;
            const bool sameShape = c->AckPolicy == js_AckNone && c->FilterSubject != nullptr &&
                                   _filter == c->FilterSubject &&
                                   (c->DeliverSubject == nullptr || *c->DeliverSubject == '\0');
            reuse = !forceRecreate && sameShape && ci.info->Delivered.Stream + 1 == from && ci.info->NumAckPending == 0;
            if (reuse) _lastConsumerSeq = ci.info->Delivered.Consumer;
            if (!reuse) {
                s = _client.untilLeader(
                    [&](jsErrCode* e) {
                        return js_DeleteConsumer(_client.js(), _settings.stream.c_str(), _consumer.c_str(), &jo, e);
                    },
                    &jerr);
                if (s != NATS_OK && s != NATS_NOT_FOUND) return toStatus(s, jerr, "cannot reset consumer " + _consumer);
            }
        } else if (s != NATS_NOT_FOUND) {
            return toStatus(s, jerr, "cannot look up consumer " + _consumer);
        }
    }
    if (!reuse) {
        jsConsumerConfig cc;
        jsConsumerConfig_Init(&cc);
        cc.Durable = _consumer.c_str();
        cc.AckPolicy = js_AckNone;
        cc.FilterSubject = _filter.c_str();
        cc.InactiveThreshold = kInactiveNs;
        cc.MaxRequestBatch = _settings.projectionBatch;
        if (from <= 1) {
            cc.DeliverPolicy = js_DeliverAll;
        } else {
            cc.DeliverPolicy = js_DeliverByStartSequence;
            cc.OptStartSeq = from;
        }
        ConsumerInfoGuard created;
        const natsStatus s = _client.untilLeader(
            [&](jsErrCode* e) {
                return js_AddConsumer(&created.info, _client.js(), _settings.stream.c_str(), &cc, &jo, e);
            },
            &jerr);
        if (s != NATS_OK) return toStatus(s, jerr, "cannot create consumer " + _consumer);
        _lastConsumerSeq = 0;
    }
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = _settings.stream.c_str();
    so.Consumer = _consumer.c_str();
    const natsStatus s = js_PullSubscribe(&_sub, _client.js(), _filter.c_str(), _consumer.c_str(), &jo, &so, &jerr);
    if (s != NATS_OK) {
        _sub = nullptr;
        return toStatus(s, jerr, "cannot bind to consumer " + _consumer);
    }
    _needReset = false;
    _reopen = false;
    return sdk::Status::ok();
}

void ProjectionFeed::closeCursor() {
    // Destroy only: Unsubscribe/Drain would delete a consumer the library created.
    if (_sub != nullptr) natsSubscription_Destroy(_sub);
    _sub = nullptr;
}

std::vector<natsMsg*> ProjectionFeed::fetchBatch() {
    std::vector<natsMsg*> out;
    // Wait for one message (returns as soon as it arrives: read-your-writes latency), then take
    // exactly what the server says is pending, which a second fetch returns without waiting.
    int want = 1;
    int64_t wait = kPollMs;
    while (!_stop.raised() && static_cast<int64_t>(out.size()) < _settings.projectionBatch) {
        natsMsgList list;
        jsErrCode jerr = static_cast<jsErrCode>(0);
        const natsStatus s = natsSubscription_Fetch(&list, _sub, want, wait, &jerr);
        if (s == NATS_TIMEOUT) {
            if (out.empty()) _behind = 0;  // nothing arrived in kPollMs: nothing waits either
            break;
        }
        if (s != NATS_OK) {
            if (_client.connected()) {
                _logger.warn("fetch from " + _consumer + " failed: " + natsErrorText(s) + "; re-creating the cursor");
                _needReset = true;
            }
            break;
        }
        uint64_t pending = 0;
        for (int i = 0; i < list.Count; ++i) {
            MetaGuard meta;
            if (natsMsg_GetMetaData(&meta.meta, list.Msgs[i]) != NATS_OK ||
                meta.meta->Sequence.Consumer != _lastConsumerSeq + 1) {
                // A delivery went missing (or came twice): re-align the cursor on what was applied.
                _needReset = true;
                break;
            }
            _lastConsumerSeq = meta.meta->Sequence.Consumer;
            pending = meta.meta->NumPending;
            out.push_back(list.Msgs[i]);
            list.Msgs[i] = nullptr;
        }
        natsMsgList_Destroy(&list);
        _behind = pending;
        if (_needReset || pending == 0) break;
        want = static_cast<int>(
            std::min<uint64_t>(pending, static_cast<uint64_t>(_settings.projectionBatch) - out.size()));
        if (want <= 0) break;
        wait = _settings.requestTimeoutMs;
    }
    return out;
}

std::vector<sdk::EventRecord> ProjectionFeed::parse(std::vector<natsMsg*>& msgs, uint64_t after, uint64_t* last,
                                                    std::vector<uint64_t>* missing) {
    std::vector<sdk::EventRecord> batch;
    batch.reserve(msgs.size());
    uint64_t expected = after + 1;
    for (natsMsg* m : msgs) {
        MetaGuard meta;
        if (natsMsg_GetMetaData(&meta.meta, m) != NATS_OK) continue;
        const uint64_t seq = meta.meta->Sequence.Stream;
        for (; expected < seq && missing->size() < kMaxHolesPerBatch; ++expected) missing->push_back(expected);
        if (expected < seq) break;  // too many at once: the rest after the filled ones, next time
        expected = seq + 1;
        *last = std::max(*last, seq);
        auto event = decodeEvent(m, seq);
        if (event) batch.push_back(std::move(*event));
        else _logger.error(event.status().message + "; skipped by " + _consumer);
    }
    // All at once: cnats frees messages on its collector thread, woken per destroy while idle.
    for (natsMsg* m : msgs) natsMsg_Destroy(m);
    msgs.clear();
    if (!missing->empty()) *last = std::max(*last, missing->back());
    return batch;
}

uint64_t ProjectionFeed::fillHoles(std::vector<sdk::EventRecord>& batch, const std::vector<uint64_t>& missing,
                                   uint64_t last) {
    jsOptions jo = _client.requestOptions();
    const std::string prefix = _settings.subjectPrefix + ".";
    std::vector<sdk::EventRecord> found;
    uint64_t complete = last;
    for (const uint64_t seq : missing) {
        MsgGuard m;
        jsErrCode jerr = static_cast<jsErrCode>(0);
        // Not a direct get: the stream leader answers, and it holds every acknowledged message.
        const natsStatus s = js_GetMsg(&m.msg, _client.js(), _settings.stream.c_str(), seq, &jo, &jerr);
        if (s == NATS_OK) {
            const char* subject = natsMsg_GetSubject(m.msg);
            if (subject == nullptr || std::string_view(subject).substr(0, prefix.size()) != prefix) continue;
            auto event = decodeEvent(m.msg, seq);
            if (event) found.push_back(std::move(*event));
            else _logger.error(event.status().message + "; skipped by " + _consumer);
            continue;
        }
        if (s == NATS_NOT_FOUND && ++_holeAttempts > kHoleAttempts) {
            _logger.error("stream " + _settings.stream + " has no message at position " + std::to_string(seq) +
                          ", not even on its leader, after " + std::to_string(kHoleAttempts) + " tries; " + _consumer +
                          " goes on without it");
            _holeAttempts = 0;
            continue;
        }
        // The leader does not have it (yet) or cannot be asked: stop before it and try again.
        complete = seq - 1;
        _reopen = true;
        break;
    }
    if (!found.empty() && complete >= found.front().position)
        _logger.warn("cursor " + _consumer + " skipped " + std::to_string(found.size()) + " of stream " +
                     _settings.stream + "'s positions " + std::to_string(found.front().position) + "-" +
                     std::to_string(found.back().position) +
                     " (its server's copy has a hole); read them from the stream leader");
    if (complete == last) _holeAttempts = 0;
    for (auto& e : found)
        if (e.position <= complete) batch.push_back(std::move(e));
    batch.erase(std::remove_if(batch.begin(), batch.end(), [&](const auto& e) { return e.position > complete; }),
                batch.end());
    std::sort(batch.begin(), batch.end(), [](const auto& a, const auto& b) { return a.position < b.position; });
    return complete;
}

uint64_t ProjectionFeed::lowestSeen() const {
    uint64_t lowest = std::numeric_limits<uint64_t>::max();
    for (const auto& m : _members)
        if (!m->own) lowest = std::min(lowest, m->seen);
    return lowest;
}

bool ProjectionFeed::applyTo(Member& member) {
    if (member.seen >= _heldTo) return false;
    if (member.seen < _heldFrom) return false;  // below the cursor: run() rewinds it
    std::vector<sdk::EventRecord> rest;
    const bool whole = _held.empty() || _held.front().position > member.seen;
    if (!whole)
        std::copy_if(_held.begin(), _held.end(), std::back_inserter(rest),
                     [&](const sdk::EventRecord& e) { return e.position > member.seen; });
    const std::vector<sdk::EventRecord>& events = whole ? _held : rest;
    if (events.empty()) {
        member.seen = _heldTo;
        return false;
    }
    if (member.applier->apply(events)) {
        member.applied = events.back().position;
        member.seen = _heldTo;
        return false;
    }
    // Part of it may have landed before the failure: the checkpoint says what.
    member.applied = std::max(member.applied, member.applier->checkpoint());
    member.seen = std::max(member.seen, member.applied);
    _retryInMs = std::max(_retryInMs, member.applier->retryDelayMs());
    return true;
}

bool ProjectionFeed::detach(Member& member) {
    auto own = std::make_unique<ProjectionFeed>(_settings, _client, _host, member.name, false);
    if (auto st = own->add(*member.projection); !st) {
        _logger.warn("projection " + member.name + " cannot move to a cursor of its own (" + st.message +
                     "); it stays on " + _consumer);
        return false;
    }
    _logger.error("projection " + member.name + " failed " + std::to_string(member.applier->failures()) +
                  " times in a row; it now follows the stream on its own cursor " + own->consumerName() +
                  " so that the other read models on " + _consumer + " go on (until the node restarts)");
    member.own = std::move(own);
    return true;
}

bool ProjectionFeed::applyHeld() {
    bool failed = false;
    size_t healthy = 0;
    for (auto& m : _members)
        if (!m->own && m->applier->failures() == 0) ++healthy;
    for (auto& m : _members) {
        if (m->own || !applyTo(*m)) continue;
        // Leave only for the sake of others that work; a feed of one just keeps retrying.
        if (_shared && m->applier->failures() >= kAttemptsBeforeDetach && healthy > 0 && detach(*m)) continue;
        failed = true;
    }
    return failed;
}

void ProjectionFeed::run() {
    // Niced only while it keeps up: creates do not wait for the read models, but a feed niced for
    // good starves under load when nats-server shares the cores (docs/performance.md).
    sdk::CatchUpPriority priority;
    sdk::nameThisThread(_threadName);
    transport::Backoff cursorBackoff(kCursorRetryInitialMs, kCursorRetryMaxMs);
    transport::Backoff holeBackoff(kCursorRetryInitialMs, kCursorRetryMaxMs);
    while (!_stop.raised()) {
        uint64_t rewindTo = 0;
        bool holding = false;
        {
            std::lock_guard<std::mutex> lock(_mutex);
            const uint64_t lowest = lowestSeen();
            holding = _heldTo > _heldFrom;
            const uint64_t have = holding ? _heldFrom : _cursorAt;
            if (lowest != std::numeric_limits<uint64_t>::max() &&
                (lowest < have || _needReset || _reopen || _sub == nullptr)) {
                rewindTo = lowest + 1;  // a member below the cursor, a lost delivery, no cursor
                _held.clear();
                _heldFrom = _heldTo = _cursorAt;
                holding = false;
            }
        }
        if (rewindTo != 0) {
            const sdk::Status st = openCursor(rewindTo, true);
            if (!st) {
                if (_client.connected()) _logger.warn(st.message);
                _stop.sleepFor(cursorBackoff.next());
                continue;
            }
            cursorBackoff.reset();
            std::lock_guard<std::mutex> lock(_mutex);
            _cursorAt = rewindTo - 1;
            _heldFrom = _heldTo = _cursorAt;
        }
        if (!_client.connected()) {
            _stop.sleepFor(100);  // the library reconnects; fetching now would only fail
            continue;
        }
        if (!holding) {
            std::vector<natsMsg*> msgs = fetchBatch();
            priority.update(_behind);
            uint64_t last = 0;
            std::vector<uint64_t> missing;
            std::vector<sdk::EventRecord> batch = parse(msgs, _cursorAt, &last, &missing);
            if (!missing.empty() && !_needReset) last = fillHoles(batch, missing, last);
            if (_reopen && last <= _cursorAt) _stop.sleepFor(holeBackoff.next());
            std::lock_guard<std::mutex> lock(_mutex);
            if (last <= _cursorAt || _needReset) continue;
            _heldFrom = _cursorAt;
            _heldTo = _cursorAt = last;
            _held = std::move(batch);
        }
        bool failed = false;
        {
            std::lock_guard<std::mutex> lock(_mutex);
            _retryInMs = 0;
            failed = applyHeld();
            if (!failed) {
                _held.clear();
                _heldFrom = _heldTo;
            }
        }
        if (failed) _stop.sleepFor(_retryInMs);
    }
}

}  // namespace ordersystem::plugins::nats
