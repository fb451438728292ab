#include "InMemoryEventLog.h"

#include <unistd.h>

#include "Schema.h"
#include "ordersystem/sdk/util.h"

namespace ordersystem::plugins::inmemory {

using sdk::Result;
using sdk::Status;
using sdk::StatusCode;

namespace {
/// Order ids stay exactly representable as JSON numbers (doubles).
constexpr int64_t kMaxOrderId = (int64_t{1} << 53) - 1;

/// An appendAsync() in the committer's queue: owns the caller's callback.
struct AsyncAppend final : AsyncOp {
    AsyncAppend(sdk::AppendRequest& request, sdk::EventLog::AppendCallback callback, sdk::Logger& log,
                transport::AppendMeter& m)
        : AsyncOp(OpKind::Append), done(std::move(callback)), logger(log), meter(m) {
        append = &request;
    }
    /// Hands result (filled by the commit, or by a refusal) to the callback, exactly once.
    void complete() override {
        meter.record(append->events.size(), result, started);
        try {
            done(std::move(result));
        } catch (const std::exception& e) {
            logger.error(std::string("an append callback threw: ") + e.what());
        } catch (...) {
            logger.error("an append callback threw");
        }
    }
    sdk::EventLog::AppendCallback done;
    sdk::Logger& logger;
    transport::AppendMeter& meter;
    transport::AppendMeter::Clock::time_point started = transport::AppendMeter::Clock::now();
};
/// A release() asked for inside an append callback: queued, not waited for (the callback runs on
/// the committing thread, which would wait for itself). Owns its key.
struct QueuedRelease final : AsyncOp {
    QueuedRelease(std::string k, sdk::Logger& log) : AsyncOp(OpKind::Release), ownedKey(std::move(k)), logger(log) {
        key = &ownedKey;
    }
    void complete() override {
        if (!status) logger.warn("releasing Idempotency-Key failed: " + status.message);
    }
    std::string ownedKey;
    sdk::Logger& logger;
};
}  // namespace

InMemoryEventLog::InMemoryEventLog(LogSettings settings, sdk::Logger& logger, sdk::Metrics& metrics)
    : _settings(std::move(settings)), _logger(logger), _metrics(metrics), _meter(metrics) {}

InMemoryEventLog::~InMemoryEventLog() { shutdown(); }

Status InMemoryEventLog::unavailable() { return Status(StatusCode::Unavailable, "the event log is stopped"); }

Status InMemoryEventLog::open() {
    LogState state;
    if (auto s = _writer.open(_settings.databasePath, _settings.durability, state); !s) {
        _writer.close();
        return s;
    }
    GroupCommitter::Instruments instruments;
    instruments.commits = &_metrics.counter("ordersystem_inmemory_commits_total", "Group commits of the event log");
    instruments.batchSize = &_metrics.histogram("ordersystem_inmemory_commit_batch_size", "Operations per group commit",
                                                {}, {1, 2, 4, 8, 16, 32, 64, 128, 256, 512});
    _committer = std::make_unique<GroupCommitter>(
        _writer, _settings.maxBatch, [this](std::vector<sdk::EventRecord>& committed) { _hub->publish(committed); },
        instruments);
    _hub = std::make_unique<SubscriptionHub>(_settings.databasePath, state.headPosition, _settings.maxBatch,
                                             _settings.projectionLingerMs, _settings.reaction, _logger, _metrics,
                                             *_committer);
    _reservedHigh = state.idHighWater;
    _ids = std::make_unique<transport::IdBlockAllocator>(_settings.idBlock, [this] { return reserveIdBlock(); });
    _open = true;
    _logger.info("event log '" + _settings.databasePath + "' open: head position " +
                 std::to_string(state.headPosition) + ", order ids above " + std::to_string(state.idHighWater) +
                 ", synchronous=" + (_settings.durability == sdk::Durability::Full ? "FULL" : "NORMAL") +
                 ", max batch " + std::to_string(_settings.maxBatch));
    return Status::ok();
}

void InMemoryEventLog::shutdown() noexcept {
    if (!_open.exchange(false)) return;
    try {
        _committer->refuseExternal();  // in-flight group finishes; new appends are Unavailable
        _hub->stopAll();               // reactions may still store their checkpoints
        _committer->close();           // the committer and hub objects stay: late callers get Unavailable
        {
            std::lock_guard<std::mutex> lock(_readersMutex);
            _readers.clear();
        }
        _writer.close();
        _logger.info("event log '" + _settings.databasePath + "' closed");
    } catch (...) {
        _logger.error("event log '" + _settings.databasePath + "' did not close cleanly");
    }
}

sdk::HealthCheckResult InMemoryEventLog::health() const {
    if (!_open) return {false, "event log is closed"};
    if (::access(_settings.databasePath.c_str(), W_OK) != 0)
        return {false, "event log file '" + _settings.databasePath + "' is not writable"};
    if (_committer && !_committer->healthy()) return {false, "the last commit to the event log failed"};
    return {true, "standalone log, head position " + std::to_string(_hub ? _hub->head() : 0)};
}

Result<int64_t> InMemoryEventLog::allocateOrderId() noexcept {
    try {
        if (!_open) return unavailable();
        return _ids->next();
    } catch (const std::exception& e) {
        return Status(StatusCode::Internal, std::string("allocateOrderId: ") + e.what());
    }
}

Result<int64_t> InMemoryEventLog::reserveIdBlock() {
    // Durable before any id of the block is handed out, so a crash never reuses one.
    Op op(OpKind::ReserveIds);
    op.value = _reservedHigh + _settings.idBlock;
    if (op.value > kMaxOrderId) return Status(StatusCode::Internal, "order ids exhausted (2^53)");
    if (!_committer->submit(op, true)) return unavailable();
    if (!op.status) return op.status;
    _reservedHigh = op.value;
    return op.value - _settings.idBlock + 1;
}

sdk::AppendResult InMemoryEventLog::append(sdk::AppendRequest& request) noexcept {
    try {
        if (!_open) return sdk::AppendResult{unavailable(), 0, -1};
        const auto started = transport::AppendMeter::Clock::now();
        Op op(OpKind::Append);
        op.append = &request;
        if (!_committer->submit(op, true)) op.result = sdk::AppendResult{unavailable(), 0, -1};
        _meter.record(request.events.size(), op.result, started);
        return std::move(op.result);
    } catch (const std::exception& e) {
        return sdk::AppendResult{Status(StatusCode::Internal, std::string("append: ") + e.what()), 0, -1};
    }
}

void InMemoryEventLog::appendAsync(sdk::AppendRequest& request, AppendCallback done) noexcept {
    std::unique_ptr<AsyncOp> op;
    try {
        op = std::make_unique<AsyncAppend>(request, std::move(done), _logger, _meter);
        if (_open && _committer->submitAsync(op)) return;  // the committer owns op now
        op->result = sdk::AppendResult{unavailable(), 0, -1};
    } catch (const std::exception& e) {
        try {
            sdk::AppendResult failed{Status(StatusCode::Internal, std::string("append: ") + e.what()), 0, -1};
            if (!op) {
                done(std::move(failed));  // the op could not be made, so done was not moved from
                return;
            }
            op->result = std::move(failed);
        } catch (...) {
            _logger.error("appendAsync: could not report a failure to the callback");
            return;
        }
    }
    try {
        op->complete();  // refused at once: on the caller's thread
    } catch (...) {
        _logger.error("an append callback threw");
    }
}

Result<std::unique_ptr<InMemoryEventLog::Reader>> InMemoryEventLog::takeReader() {
    {
        std::lock_guard<std::mutex> lock(_readersMutex);
        if (!_readers.empty()) {
            auto reader = std::move(_readers.back());
            _readers.pop_back();
            return reader;
        }
    }
    auto reader = std::make_unique<Reader>();
    if (auto s = reader->db.open(_settings.databasePath, false); !s) return s;
    const std::string sql =
        std::string("SELECT ") + kEventColumns + " FROM events WHERE order_id = ?1 ORDER BY version";
    if (auto s = reader->byOrder.prepare(reader->db, sql.c_str()); !s) return s;
    const std::string range =
        std::string("SELECT ") + kEventColumns + " FROM events WHERE position > ?1 ORDER BY position LIMIT ?2";
    if (auto s = reader->range.prepare(reader->db, range.c_str()); !s) return s;
    return reader;
}

void InMemoryEventLog::giveBack(std::unique_ptr<Reader> reader) {
    std::lock_guard<std::mutex> lock(_readersMutex);
    if (_open) _readers.push_back(std::move(reader));
}

Result<std::vector<sdk::EventRecord>> InMemoryEventLog::readRows(Stmt Reader::*query,
                                                                 const std::function<void(Stmt&)>& bind,
                                                                 const std::string& what) {
    if (!_open) return unavailable();
    auto taken = takeReader();
    if (!taken) return taken.status();
    std::unique_ptr<Reader> reader = std::move(taken.value());
    Stmt& q = (*reader).*query;
    q.reset();
    bind(q);
    std::vector<sdk::EventRecord> events;
    int rc;
    while ((rc = q.step()) == SQLITE_ROW) {
        events.push_back(eventFromRow(q));
    }
    q.reset();
    if (rc != SQLITE_DONE)
        return Status(StatusCode::Unavailable, "cannot read " + what + ": " + reader->db.lastError());
    giveBack(std::move(reader));
    return events;
}

Result<std::vector<sdk::EventRecord>> InMemoryEventLog::readOrder(int64_t orderId) noexcept {
    try {
        return readRows(
            &Reader::byOrder, [orderId](Stmt& q) { q.bind(1, orderId); }, "order " + std::to_string(orderId));
    } catch (const std::exception& e) {
        return Status(StatusCode::Internal, std::string("readOrder: ") + e.what());
    }
}

Result<std::vector<sdk::EventRecord>> InMemoryEventLog::readRange(uint64_t afterPosition, size_t maxEvents) noexcept {
    try {
        return readRows(
            &Reader::range,
            [afterPosition, maxEvents](Stmt& q) {
                q.bind(1, static_cast<int64_t>(afterPosition));
                q.bind(2, static_cast<int64_t>(maxEvents));
            },
            "the log after position " + std::to_string(afterPosition));
    } catch (const std::exception& e) {
        return Status(StatusCode::Internal, std::string("readRange: ") + e.what());
    }
}

Status InMemoryEventLog::ensureOrderIdsAbove(int64_t orderId) noexcept {
    try {
        if (!_open) return unavailable();
        if (orderId < 0 || orderId > kMaxOrderId)
            return Status(StatusCode::InvalidArgument, "order id " + std::to_string(orderId) + " is out of range");
        Op op(OpKind::RaiseIds);
        op.value = orderId;
        if (!_committer->submit(op, true)) return unavailable();
        return op.status;
    } catch (const std::exception& e) {
        return Status(StatusCode::Internal, std::string("ensureOrderIdsAbove: ") + e.what());
    }
}

Result<uint64_t> InMemoryEventLog::headPosition() noexcept {
    if (!_open) return unavailable();
    return _hub->head();
}

Result<sdk::SubscriptionId> InMemoryEventLog::subscribe(sdk::Projection& projection) noexcept {
    try {
        if (!_open) return unavailable();
        return _hub->subscribe(projection);
    } catch (const std::exception& e) {
        return Status(StatusCode::Internal, std::string("subscribe: ") + e.what());
    }
}

Result<sdk::SubscriptionId> InMemoryEventLog::subscribe(sdk::Reaction& reaction) noexcept {
    try {
        if (!_open) return unavailable();
        return _hub->subscribe(reaction);
    } catch (const std::exception& e) {
        return Status(StatusCode::Internal, std::string("subscribe: ") + e.what());
    }
}

void InMemoryEventLog::unsubscribe(sdk::SubscriptionId id) noexcept {
    try {
        if (_hub) _hub->unsubscribe(id);
    } catch (...) {
        _logger.error("unsubscribe " + std::to_string(id) + " failed");
    }
}

Result<std::vector<sdk::DeadLetter>> InMemoryEventLog::deadLetters(std::string_view reaction, size_t limit) noexcept {
    try {
        if (!_open) return unavailable();
        return _hub->deadLetters(reaction, limit);
    } catch (const std::exception& e) {
        return Status(StatusCode::Internal, std::string("deadLetters: ") + e.what());
    }
}

Status InMemoryEventLog::retryDeadLetter(std::string_view reaction, const std::string& eventId) noexcept {
    try {
        if (!_open) return unavailable();
        return _hub->retryDeadLetter(reaction, eventId);
    } catch (const std::exception& e) {
        return Status(StatusCode::Internal, std::string("retryDeadLetter: ") + e.what());
    }
}

Result<sdk::IdempotencyClaim> InMemoryEventLog::claim(const std::string& key, const std::string& fingerprint,
                                                      int64_t leaseMs) noexcept {
    try {
        if (!_open) return unavailable();
        Op op(OpKind::Claim);
        op.key = &key;
        op.fingerprint = &fingerprint;
        op.value = leaseMs;
        if (!_committer->submit(op, true)) return unavailable();
        if (!op.status) return op.status;
        return std::move(op.claim);
    } catch (const std::exception& e) {
        return Status(StatusCode::Internal, std::string("claim: ") + e.what());
    }
}

Status InMemoryEventLog::complete(const sdk::IdempotencyCompletion& completion) noexcept {
    try {
        if (!_open) return unavailable();
        Op op(OpKind::Complete);
        op.completion = &completion;
        if (!_committer->submit(op, true)) return unavailable();
        return op.status;
    } catch (const std::exception& e) {
        return Status(StatusCode::Internal, std::string("complete: ") + e.what());
    }
}

Status InMemoryEventLog::release(const std::string& key) noexcept {
    try {
        if (!_open) return unavailable();
        if (GroupCommitter::inCallback()) {
            // Called from an append callback (a failed create giving its key back): queue it.
            std::unique_ptr<AsyncOp> queued = std::make_unique<QueuedRelease>(key, _logger);
            return _committer->submitAsync(queued) ? Status::ok() : unavailable();
        }
        Op op(OpKind::Release);
        op.key = &key;
        if (!_committer->submit(op, true)) return unavailable();
        return op.status;
    } catch (const std::exception& e) {
        return Status(StatusCode::Internal, std::string("release: ") + e.what());
    }
}

Result<std::vector<sdk::NodeInfo>> InMemoryEventLog::liveNodes() noexcept {
    try {
        return std::vector<sdk::NodeInfo>{
            sdk::NodeInfo{_settings.nodeId, _settings.httpAddress, "standalone", sdk::nowMs()}};
    } catch (const std::exception& e) {
        return Status(StatusCode::Internal, std::string("liveNodes: ") + e.what());
    }
}

}  // namespace ordersystem::plugins::inmemory
