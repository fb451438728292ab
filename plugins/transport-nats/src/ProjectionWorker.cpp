// One projection fed from its durable cursor; see ProjectionWorker.h.
#include "ProjectionWorker.h"

#include <algorithm>
#include <chrono>

#include "ordersystem/sdk/util.h"

namespace ordersystem::plugins::nats {

namespace {

constexpr int64_t kNanosPerMs = 1000000;
constexpr int64_t kPollMs = 250;  // longest a stop() waits for the fetch in progress (idle: 4 requests/s)
constexpr int64_t kInactiveNs = int64_t{7} * 24 * 3600 * 1000 * kNanosPerMs;

struct ConsumerInfoGuard {
    jsConsumerInfo* info = nullptr;
    ~ConsumerInfoGuard() { jsConsumerInfo_Destroy(info); }
};
struct MetaGuard {
    jsMsgMetaData* meta = nullptr;
    ~MetaGuard() { jsMsgMetaData_Destroy(meta); }
};

}  // namespace

ProjectionWorker::ProjectionWorker(const Settings& settings, NatsClient& client, sdk::Projection& projection,
                                   sdk::Host& host)
    : _settings(settings),
      _client(client),
      _projection(projection),
      _logger(host.logger()),
      _positionGauge(host.metrics().gauge("ordersystem_projection_position", "last log position applied by a projection",
                                          {{"projection", std::string(projection.projectionName())}})),
      _name(projection.projectionName()),
      _consumer(safeName(host.node().nodeId + "_" + std::string(projection.projectionName()))),
      _filter(settings.eventsFilter()) {}

ProjectionWorker::~ProjectionWorker() { stop(); }

sdk::Status ProjectionWorker::start() {
    _applied = _projection.checkpoint();
    warnIfBeyondHead();
    if (auto st = openCursor(_applied + 1, false); !st) return st;
    _positionGauge.set(static_cast<double>(_applied));
    _logger.info("projection " + _name + " follows stream " + _settings.stream + " from position " +
                 std::to_string(_applied + 1) + " through durable consumer " + _consumer);
    _thread = std::thread([this] { run(); });
    return sdk::Status::ok();
}

void ProjectionWorker::warnIfBeyondHead() {
    jsOptions jo = _client.requestOptions();
    jsStreamInfo* info = nullptr;
    if (js_GetStreamInfo(&info, _client.js(), _settings.stream.c_str(), &jo, nullptr) == NATS_OK && info->State.LastSeq < _applied)
        _logger.warn("projection " + _name + " is at position " + std::to_string(_applied) + " but stream " + _settings.stream +
                     " ends at " + std::to_string(info->State.LastSeq) +
                     ": the stream was recreated or this node's data belongs to another cluster; delete the node's read "
                     "model files to rebuild them from the stream");
    jsStreamInfo_Destroy(info);
}

void ProjectionWorker::stop() noexcept {
    _stop = true;
    if (_thread.joinable()) _thread.join();
    closeCursor();
}

sdk::Status ProjectionWorker::openCursor(uint64_t from, bool forceRecreate) {
    closeCursor();
    if (!_client.connected()) return _client.unavailable("cannot open the cursor of projection " + _name);
    jsOptions jo = _client.requestOptions();
    jsErrCode jerr = static_cast<jsErrCode>(0);
    bool reuse = false;
    {
        ConsumerInfoGuard ci;
        natsStatus s = js_GetConsumerInfo(&ci.info, _client.js(), _settings.stream.c_str(), _consumer.c_str(), &jo, &jerr);
        if (s == NATS_OK) {
            const jsConsumerConfig* c = ci.info->Config;
            const bool sameShape = c->AckPolicy == js_AckNone && c->FilterSubject != nullptr && _filter == c->FilterSubject &&
                                   (c->DeliverSubject == nullptr || *c->DeliverSubject == '\0');
            reuse = !forceRecreate && sameShape && ci.info->Delivered.Stream + 1 == from && ci.info->NumAckPending == 0;
            if (reuse) _lastConsumerSeq = ci.info->Delivered.Consumer;
            if (!reuse) {
                s = js_DeleteConsumer(_client.js(), _settings.stream.c_str(), _consumer.c_str(), &jo, &jerr);
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
        const natsStatus s = js_AddConsumer(&created.info, _client.js(), _settings.stream.c_str(), &cc, &jo, &jerr);
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
    return sdk::Status::ok();
}

void ProjectionWorker::closeCursor() {
    // Destroy only: Unsubscribe/Drain would delete a consumer the library created.
    if (_sub != nullptr) natsSubscription_Destroy(_sub);
    _sub = nullptr;
}

void ProjectionWorker::sleepFor(int64_t ms) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (!_stop && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(std::chrono::milliseconds(20));
}

std::vector<natsMsg*> ProjectionWorker::fetchBatch() {
    std::vector<natsMsg*> out;
    // Wait for one message (returns as soon as it arrives: read-your-writes latency), then take
    // exactly what the server says is pending, which a second fetch returns without waiting.
    int want = 1;
    int64_t wait = kPollMs;
    while (!_stop && static_cast<int64_t>(out.size()) < _settings.projectionBatch) {
        natsMsgList list;
        jsErrCode jerr = static_cast<jsErrCode>(0);
        const natsStatus s = natsSubscription_Fetch(&list, _sub, want, wait, &jerr);
        if (s == NATS_TIMEOUT) break;
        if (s != NATS_OK) {
            if (_client.connected()) {
                _logger.warn("projection " + _name + ": fetch from " + _consumer + " failed: " + natsErrorText(s) +
                             "; re-creating the cursor");
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
        if (_needReset || pending == 0) break;
        want = static_cast<int>(std::min<uint64_t>(pending, static_cast<uint64_t>(_settings.projectionBatch) - out.size()));
        if (want <= 0) break;
        wait = _settings.requestTimeoutMs;
    }
    return out;
}

bool ProjectionWorker::applyWithRetry(std::vector<sdk::EventRecord>& batch) {
    int64_t backoff = 100;
    for (;;) {
        const sdk::Status st = _projection.apply(batch);
        if (st) return true;
        _logger.warn("projection " + _name + " failed to apply positions " + std::to_string(batch.front().position) + "-" +
                     std::to_string(batch.back().position) + ": " + st.message + "; retrying in " + std::to_string(backoff) + " ms");
        sleepFor(backoff);
        if (_stop) return false;
        backoff = std::min<int64_t>(backoff * 2, 5000);
        const uint64_t checkpoint = _projection.checkpoint();
        batch.erase(std::remove_if(batch.begin(), batch.end(), [&](const sdk::EventRecord& e) { return e.position <= checkpoint; }),
                    batch.end());
        if (batch.empty()) return true;
    }
}

void ProjectionWorker::run() {
    sdk::runAsBackgroundThread();
    sdk::nameThisThread("proj:" + _name);
    int64_t errorBackoff = 100;
    while (!_stop) {
        if (_sub == nullptr || _needReset) {
            const sdk::Status st = openCursor(_applied + 1, true);
            if (!st) {
                if (_client.connected()) _logger.warn("projection " + _name + ": " + st.message);
                sleepFor(errorBackoff);
                errorBackoff = std::min<int64_t>(errorBackoff * 2, 2000);
                continue;
            }
            errorBackoff = 100;
        }
        if (!_client.connected()) {
            sleepFor(100);  // the library reconnects; fetching now would only fail
            continue;
        }
        std::vector<natsMsg*> msgs = fetchBatch();
        std::vector<sdk::EventRecord> batch;
        batch.reserve(msgs.size());
        for (natsMsg* m : msgs) {
            MetaGuard meta;
            if (natsMsg_GetMetaData(&meta.meta, m) == NATS_OK && meta.meta->Sequence.Stream > _applied) {
                const uint64_t seq = meta.meta->Sequence.Stream;
                auto event = sdk::eventFromJson(std::string_view(natsMsg_GetData(m), static_cast<size_t>(natsMsg_GetDataLength(m))));
                if (event) {
                    event->position = seq;
                    batch.push_back(std::move(*event));
                } else {
                    _logger.error("projection " + _name + ": stream message " + std::to_string(seq) + " is not an event (" +
                                  event.status().message + "); skipped");
                }
            }
            natsMsg_Destroy(m);
        }
        if (batch.empty()) continue;
        if (!applyWithRetry(batch)) break;
        if (!batch.empty()) _applied = std::max(_applied, batch.back().position);
        _positionGauge.set(static_cast<double>(_applied));
    }
}

}  // namespace ordersystem::plugins::nats
