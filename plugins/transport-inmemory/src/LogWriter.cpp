#include "LogWriter.h"

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <system_error>

#include "Schema.h"
#include "ordersystem/sdk/util.h"
#include "ordersystem/sqlite/wal_gathering_vfs.h"

namespace ordersystem::plugins::inmemory {

using sdk::Status;
using sdk::StatusCode;

namespace {
constexpr int64_t kCompletedKeyTtlMs = 24LL * 60 * 60 * 1000;
constexpr const char* kInFlight = "inflight";
constexpr const char* kCompleted = "completed";
constexpr const char* kVfsName = "ordersystem-transport-inmemory";
}  // namespace

Status LogWriter::open(const std::string& path, sdk::Durability durability, LogState& state) {
    std::error_code ec;
    const auto parent = std::filesystem::path(path).parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent, ec);
    if (ec) return Status(StatusCode::Unavailable, "cannot create folder '" + parent.string() + "': " + ec.message());

    // Each commit's WAL frames in one write (see wal_gathering_vfs.h), for the readers too.
    sqlite::registerWalGatheringVfs(kVfsName);
    if (auto s = _db.open(path, false); !s) return Status(s.code, "event log: " + s.message);
    if (auto s = _db.execute("PRAGMA journal_mode=WAL"); !s) return s;
    const char* sync = durability == sdk::Durability::Full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL";
    if (auto s = _db.execute(sync); !s) return s;
    // Appends touch only the right edges of the position b-tree and the (order_id, version)
    // index, so a small page cache suffices; it is bounded so RSS does not grow with the log.
    if (auto s = _db.execute("PRAGMA cache_size=-8192"); !s) return s;
    if (auto s = _db.execute(kSchemaSql); !s) return s;
    auto hasMetadata = _db.queryInt(kHasMetadataSql);
    if (!hasMetadata) return hasMetadata.status();
    if (*hasMetadata == 0)
        if (auto s = _db.execute(kAddMetadataSql); !s) return s;

    Stmt q;
    if (auto s = q.prepare(_db, "SELECT COALESCE(MAX(position), 0) FROM events"); !s) return s;
    if (q.step() == SQLITE_ROW) state.headPosition = static_cast<uint64_t>(q.int64(0));
    if (auto s = q.prepare(_db, "SELECT high_water FROM id_reservation WHERE id = 1"); !s) return s;
    state.idHighWater = q.step() == SQLITE_ROW ? q.int64(0) : 0;
    // Orders up to the id high water are looked up when an append first names them (one index
    // lookup each); only ids beyond it (appended without the allocator: tests, foreign writers)
    // are loaded now, so start-up does not grow with the number of orders.
    _storedUpTo = state.idHighWater;
    _storedVersions.clear();
    _versions.reset(_storedUpTo);
    if (auto s = q.prepare(_db, "SELECT order_id, MAX(version) FROM events WHERE order_id > ?1 GROUP BY order_id"); !s)
        return s;
    q.bind(1, _storedUpTo);
    int rc;
    while ((rc = q.step()) == SQLITE_ROW) _versions.set(q.int64(0), q.int64(1));
    if (rc != SQLITE_DONE) return Status(StatusCode::Unavailable, "cannot load order versions: " + _db.lastError());
    _nextPosition = state.headPosition + 1;
    return prepareAll();
}

Status LogWriter::prepareAll() {
    struct Item {
        Stmt* stmt;
        const char* sql;
    };
    const Item items[] = {
        {&_begin, "BEGIN IMMEDIATE"},
        {&_commit, "COMMIT"},
        {&_rollback, "ROLLBACK"},
        {&_insertEvent,
         "INSERT INTO events(position, event_id, order_id, version, type, order_number, occurred_at, "
         "node_id, data, metadata) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"},
        {&_selectIdem, "SELECT fingerprint, response, state, expires_at FROM idempotency WHERE key = ?1"},
        {&_upsertIdem,
         "INSERT INTO idempotency(key, fingerprint, response, state, expires_at) VALUES(?1, ?2, ?3, ?4, ?5) "
         "ON CONFLICT(key) DO UPDATE SET fingerprint = excluded.fingerprint, response = excluded.response, "
         "state = excluded.state, expires_at = excluded.expires_at"},
        {&_deleteIdem, "DELETE FROM idempotency WHERE key = ?1 AND state = 'inflight'"},
        {&_setHighWater,
         "INSERT INTO id_reservation(id, high_water) VALUES(1, ?1) "
         "ON CONFLICT(id) DO UPDATE SET high_water = excluded.high_water"},
        {&_raiseHighWater,
         "INSERT INTO id_reservation(id, high_water) VALUES(1, ?1) "
         "ON CONFLICT(id) DO UPDATE SET high_water = MAX(high_water, excluded.high_water)"},
        {&_setReactionCheckpoint,
         "INSERT INTO reaction_checkpoints(name, position) VALUES(?1, ?2) "
         "ON CONFLICT(name) DO UPDATE SET position = excluded.position"},
        {&_insertDeadLetter,
         "INSERT OR REPLACE INTO dead_letters(reaction, position, event_id, attempts, last_error, "
         "dead_at, event_json) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)"},
        {&_deleteDeadLetter, "DELETE FROM dead_letters WHERE reaction = ?1 AND event_id = ?2"},
        {&_purgeIdem, "DELETE FROM idempotency WHERE expires_at < ?1"},
        {&_selectVersion, "SELECT COALESCE(MAX(version), 0) FROM events WHERE order_id = ?1"},
        {&_clearReactionDone, "DELETE FROM reaction_done WHERE name = ?1"},
        {&_insertReactionDone, "INSERT OR IGNORE INTO reaction_done(name, position) VALUES(?1, ?2)"},
    };
    for (const auto& item : items)
        if (auto s = item.stmt->prepare(_db, item.sql); !s) return s;
    return Status::ok();
}

void LogWriter::close() noexcept {
    for (Stmt* s : {&_begin, &_commit, &_rollback, &_insertEvent, &_selectIdem, &_upsertIdem, &_deleteIdem,
                    &_setHighWater, &_raiseHighWater, &_setReactionCheckpoint, &_insertDeadLetter, &_deleteDeadLetter,
                    &_purgeIdem, &_selectVersion, &_clearReactionDone, &_insertReactionDone})
        *s = Stmt();
    _db.close();
}

void VersionTable::set(int64_t orderId, int64_t version) {
    if (orderId > _base && version >= 0 && version <= INT32_MAX) {
        const auto index = static_cast<size_t>(orderId - _base);
        if (index < _dense.size()) {
            _dense[index] = static_cast<int32_t>(version);
            _sparse.erase(orderId);
            return;
        }
        // Ids are handed out consecutively, so the dense table grows in step with the log; an id
        // far beyond it (a test or a foreign writer) goes to the map instead of a huge resize.
        if (index < _dense.size() + kDenseSlack) {
            _dense.resize(std::max(index + 1, _dense.size() + _dense.size() / 2), 0);
            _dense[index] = static_cast<int32_t>(version);
            _sparse.erase(orderId);
            return;
        }
    }
    if (orderId > _base && static_cast<size_t>(orderId - _base) < _dense.size())
        _dense[static_cast<size_t>(orderId - _base)] = 0;
    _sparse[orderId] = version;
}

int64_t VersionTable::get(int64_t orderId) const {
    if (orderId > _base && static_cast<size_t>(orderId - _base) < _dense.size()) {
        const int32_t v = _dense[static_cast<size_t>(orderId - _base)];
        if (v != 0 || _sparse.empty()) return v;
    }
    if (auto it = _sparse.find(orderId); it != _sparse.end()) return it->second;
    return 0;
}

void VersionTable::reset(int64_t base) {
    _base = base;
    _dense.clear();
    _dense.shrink_to_fit();
    _sparse.clear();
}

Status LogWriter::versionOf(int64_t orderId, int64_t& version) {
    if (auto it = _pending.find(orderId); it != _pending.end()) {
        version = it->second;
        return Status::ok();
    }
    if (orderId > _storedUpTo) {
        version = _versions.get(orderId);
        return Status::ok();
    }
    return storedVersion(orderId, version);
}

Status LogWriter::storedVersion(int64_t orderId, int64_t& version) {
    if (auto it = _storedVersions.find(orderId); it != _storedVersions.end()) {
        version = it->second;
        return Status::ok();
    }
    _selectVersion.reset();
    _selectVersion.bind(1, orderId);
    if (_selectVersion.step() != SQLITE_ROW)
        return Status(StatusCode::Unavailable,
                      "cannot read the version of order " + std::to_string(orderId) + ": " + _db.lastError());
    version = _selectVersion.int64(0);
    _selectVersion.reset();
    remember(orderId, version);
    return Status::ok();
}

void LogWriter::remember(int64_t orderId, int64_t version) {
    if (orderId > _storedUpTo) return _versions.set(orderId, version);
    if (_storedVersions.size() >= kStoredCacheMax) _storedVersions.clear();
    _storedVersions[orderId] = version;
}

bool LogWriter::commitBatch(Op* const* ops, size_t count, std::vector<sdk::EventRecord>& committed) {
    const int64_t now = sdk::nowMs();
    Status status = tryBatch(ops, count, now, committed);
    if (status || count == 1) return !isDatabaseFailure(status);
    // One op poisoned the batch (e.g. a repeated eventId): give every op its own transaction.
    bool databaseOk = true;
    for (size_t i = 0; i < count; ++i)
        if (isDatabaseFailure(tryBatch(ops + i, 1, now, committed))) databaseOk = false;
    return databaseOk;
}

bool LogWriter::isDatabaseFailure(const Status& status) noexcept {
    // A refused request (constraint, malformed events) says nothing about the database's health.
    return !status.isOk() && status.code != StatusCode::Conflict && status.code != StatusCode::InvalidArgument;
}

Status LogWriter::tryBatch(Op* const* ops, size_t count, int64_t nowMs, std::vector<sdk::EventRecord>& committed) {
    const uint64_t savedPosition = _nextPosition;
    const size_t savedCommitted = committed.size();
    _pending.clear();
    Op* failedOp = nullptr;
    _begin.reset();
    Status status = _begin.exec();
    for (size_t i = 0; status && i < count; ++i) {
        status = runOp(*ops[i], nowMs, committed);
        if (!status) failedOp = ops[i];
    }
    if (status) {
        _commit.reset();
        status = _commit.exec();
    }
    if (!status) {
        _rollback.reset();
        (void)_rollback.exec();  // fails harmlessly when BEGIN or COMMIT already ended it
        _nextPosition = savedPosition;
        committed.resize(savedCommitted);
        _pending.clear();
        for (size_t i = 0; i < count; ++i) {
            if (count > 1 && ops[i] != failedOp) continue;  // the caller retries them one by one
            ops[i]->status = status;
            ops[i]->result = sdk::AppendResult{status, 0, -1};
        }
        return status;
    }
    for (const auto& [orderId, version] : _pending) remember(orderId, version);
    _pending.clear();
    return status;
}

Status LogWriter::runOp(Op& op, int64_t nowMs, std::vector<sdk::EventRecord>& committed) {
    op.status = Status::ok();
    switch (op.kind) {
    case OpKind::Append: return runAppend(op, committed);
    case OpKind::Claim: return runClaim(op, nowMs);
    case OpKind::Complete: return storeCompletion(*op.completion, nowMs);
    case OpKind::Release:
        _deleteIdem.reset();
        _deleteIdem.bind(1, *op.key);
        return _deleteIdem.exec();
    case OpKind::ReserveIds:
        _setHighWater.reset();
        _setHighWater.bind(1, op.value);
        return _setHighWater.exec();
    case OpKind::RaiseIds:
        _raiseHighWater.reset();
        _raiseHighWater.bind(1, op.value);
        return _raiseHighWater.exec();
    case OpKind::ReactionCheckpoint:
        _setReactionCheckpoint.reset();
        _setReactionCheckpoint.bind(1, *op.name);
        _setReactionCheckpoint.bind(2, op.value);
        return _setReactionCheckpoint.exec();
    case OpKind::DeadLetter: return runDeadLetter(op, nowMs);
    case OpKind::ReactionDone: return runReactionDone(op);
    case OpKind::RemoveDeadLetter:
        _deleteDeadLetter.reset();
        _deleteDeadLetter.bind(1, *op.name);
        _deleteDeadLetter.bind(2, *op.key);
        return _deleteDeadLetter.exec();
    }
    return Status(StatusCode::Internal, "unknown log operation");
}

Status LogWriter::runAppend(Op& op, std::vector<sdk::EventRecord>& committed) {
    sdk::AppendRequest& req = *op.append;
    int64_t current = 0;
    if (auto s = versionOf(req.orderId, current); !s) return s;  // the database failed: roll back
    if (current != req.expectedVersion) {
        op.result =
            sdk::AppendResult{Status(StatusCode::VersionConflict, "order " + std::to_string(req.orderId) +
                                                                      " is at version " + std::to_string(current) +
                                                                      ", not " + std::to_string(req.expectedVersion)),
                              0, current};
        return Status::ok();  // refusing is not a database failure: the batch goes on
    }
    int64_t version = current;
    for (auto& e : req.events) {
        if (e.orderId != req.orderId || e.version != version + 1) {
            op.result = sdk::AppendResult{
                Status(StatusCode::InvalidArgument, "event " + e.eventId + " does not continue order " +
                                                        std::to_string(req.orderId) + " at version " +
                                                        std::to_string(version + 1)),
                0, current};
            // Undo the positions handed to earlier events of this request in the batch.
            for (auto& prior : req.events) {
                if (&prior == &e) break;
                prior.position = 0;
            }
            return Status(StatusCode::InvalidArgument, op.result.status.message);
        }
        e.position = _nextPosition;
        _insertEvent.reset();
        _insertEvent.bind(1, static_cast<int64_t>(e.position));
        _insertEvent.bind(2, e.eventId);
        _insertEvent.bind(3, e.orderId);
        _insertEvent.bind(4, e.version);
        _insertEvent.bind(5, e.type);
        _insertEvent.bind(6, e.orderNumber);
        _insertEvent.bind(7, e.occurredAtMs);
        _insertEvent.bind(8, e.nodeId);
        _insertEvent.bind(9, e.dataJson);
        if (e.metadataJson.empty()) _insertEvent.bindNull(10);
        else _insertEvent.bind(10, e.metadataJson);
        if (auto s = _insertEvent.exec(); !s) return s;
        ++_nextPosition;
        ++version;
        committed.push_back(e);
    }
    if (req.events.empty()) {
        op.result = sdk::AppendResult{Status(StatusCode::InvalidArgument, "append without events"), 0, current};
        return Status::ok();
    }
    if (req.idempotency)
        if (auto s = storeCompletion(*req.idempotency, sdk::nowMs()); !s) return s;
    _pending[req.orderId] = version;
    op.result = sdk::AppendResult{Status::ok(), req.events.back().position, -1};
    return Status::ok();
}

Status LogWriter::runClaim(Op& op, int64_t nowMs) {
    _selectIdem.reset();
    _selectIdem.bind(1, *op.key);
    const int rc = _selectIdem.step();
    if (rc == SQLITE_ROW && _selectIdem.int64(3) > nowMs) {
        const bool completed = _selectIdem.text(2) == kCompleted;
        op.claim.state = completed ? sdk::IdempotencyClaim::State::Completed : sdk::IdempotencyClaim::State::InFlight;
        op.claim.fingerprint = _selectIdem.text(0);
        op.claim.response = _selectIdem.text(1);
        _selectIdem.reset();
        return Status::ok();
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return Status(StatusCode::Unavailable, "sqlite: " + _db.lastError());
    _selectIdem.reset();
    _upsertIdem.reset();
    _upsertIdem.bind(1, *op.key);
    _upsertIdem.bind(2, *op.fingerprint);
    _upsertIdem.bindNull(3);
    _upsertIdem.bind(4, std::string_view(kInFlight));
    _upsertIdem.bind(5, nowMs + op.value);
    op.claim = sdk::IdempotencyClaim{sdk::IdempotencyClaim::State::Claimed, *op.fingerprint, {}};
    return _upsertIdem.exec();
}

Status LogWriter::storeCompletion(const sdk::IdempotencyCompletion& c, int64_t nowMs) {
    _upsertIdem.reset();
    _upsertIdem.bind(1, c.key);
    _upsertIdem.bind(2, c.fingerprint);
    _upsertIdem.bind(3, c.response);
    _upsertIdem.bind(4, std::string_view(kCompleted));
    _upsertIdem.bind(5, nowMs + kCompletedKeyTtlMs);
    return _upsertIdem.exec();
}

Status LogWriter::runReactionDone(Op& op) {
    _clearReactionDone.reset();
    _clearReactionDone.bind(1, *op.name);
    if (Status s = _clearReactionDone.exec(); !s) return s;
    for (const uint64_t position : *op.positions) {
        _insertReactionDone.reset();
        _insertReactionDone.bind(1, *op.name);
        _insertReactionDone.bind(2, static_cast<int64_t>(position));
        if (Status s = _insertReactionDone.exec(); !s) return s;
    }
    return Status::ok();
}

Status LogWriter::runDeadLetter(Op& op, int64_t nowMs) {
    const std::string json = sdk::toJson(*op.event);
    _insertDeadLetter.reset();
    _insertDeadLetter.bind(1, *op.name);
    _insertDeadLetter.bind(2, static_cast<int64_t>(op.event->position));
    _insertDeadLetter.bind(3, op.event->eventId);
    _insertDeadLetter.bind(4, op.value);
    _insertDeadLetter.bind(5, *op.error);
    _insertDeadLetter.bind(6, nowMs);
    _insertDeadLetter.bind(7, json);
    return _insertDeadLetter.exec();
}

void LogWriter::purgeExpired(int64_t nowMs) noexcept {
    _purgeIdem.reset();
    _purgeIdem.bind(1, nowMs);
    (void)_purgeIdem.exec();
}

}  // namespace ordersystem::plugins::inmemory
