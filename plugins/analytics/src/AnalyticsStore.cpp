// SQLite through Poco::Data: a fresh Statement per call (a Statement that threw is unusable in
// Poco 1.11), BEGIN IMMEDIATE issued by hand (Session::begin() is DEFERRED).
#include "AnalyticsStore.h"

#include <Poco/Data/SQLite/SessionImpl.h>
#include <Poco/Data/SQLite/Utility.h>
#include <Poco/Data/Session.h>
#include <Poco/Data/Statement.h>
#include <Poco/Exception.h>
#include <Poco/File.h>
#include <Poco/Path.h>

#include <sqlite3.h>

#include <array>
#include <string>
#include <vector>

#include "ordersystem/sqlite/wal_gathering_vfs.h"

namespace ordersystem::plugins::analytics {

using namespace Poco::Data::Keywords;
using sdk::Status;
using sdk::StatusCode;

namespace {
/// 1: per-order rows and the checkpoint. 2: the totals beside the checkpoint (start-up reads one
/// row instead of aggregating every order: ~0.7 s per million orders before).
constexpr int kSchemaVersion = 2;
/// Seconds SQLite waits for a lock: short, so a stuck file fails an apply instead of hanging it.
constexpr std::size_t kBusyTimeoutSeconds = 2;
constexpr const char* kVfsName = "ordersystem-analytics";
/// The totals columns of the checkpoint row, in Totals order (status index, count then cents).
constexpr const char* kTotalsColumns[kStatusCount][2] = {
    {"pending_orders", "pending_cents"},
    {"processing_orders", "processing_cents"},
    {"completed_orders", "completed_cents"},
    {"cancelled_orders", "cancelled_cents"},
};

/// "position = ?1, pending_orders = ?2, pending_cents = ?3, ..." for the checkpoint's UPDATE.
std::string checkpointAssignments() {
    std::string sql = "position = ?1";
    int parameter = 2;
    for (const auto& pair : kTotalsColumns)
        for (const char* column : pair) sql += std::string(", ") + column + " = ?" + std::to_string(parameter++);
    return sql;
}
}  // namespace

/// The projection's statements; used by the apply thread alone. Errors throw
/// Poco::DataException with SQLite's message, like the Poco calls around them.
struct AnalyticsStore::Statements {
    sqlite3* db;
    sqlite3_stmt* begin = nullptr;
    sqlite3_stmt* commit = nullptr;
    sqlite3_stmt* rollback = nullptr;
    sqlite3_stmt* find = nullptr;
    sqlite3_stmt* upsert = nullptr;
    sqlite3_stmt* checkpoint = nullptr;

    explicit Statements(sqlite3* handle) : db(handle) {
        try {
            begin = prepare("BEGIN IMMEDIATE");
            commit = prepare("COMMIT");
            rollback = prepare("ROLLBACK");
            find = prepare("SELECT status, total_cents, version FROM orders WHERE order_id = ?");
            upsert = prepare(
                "INSERT INTO orders(order_id, status, total_cents, version) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(order_id) DO UPDATE SET status = excluded.status, "
                "total_cents = excluded.total_cents, version = excluded.version");
            checkpoint = prepare(("UPDATE checkpoint SET " + checkpointAssignments() + " WHERE id = 1").c_str());
        } catch (...) {
            finalizeAll();
            throw;
        }
    }
    ~Statements() { finalizeAll(); }
    Statements(const Statements&) = delete;
    Statements& operator=(const Statements&) = delete;

    sqlite3_stmt* prepare(const char* sql) {
        sqlite3_stmt* st = nullptr;
        if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, nullptr) != SQLITE_OK)
            throw Poco::DataException(std::string("preparing ") + sql + ": " + sqlite3_errmsg(db));
        return st;
    }
    void finalizeAll() noexcept {
        for (sqlite3_stmt** st : {&begin, &commit, &rollback, &find, &upsert, &checkpoint}) {
            sqlite3_finalize(*st);
            *st = nullptr;
        }
    }
    /// Steps once; true when a row is ready. Throws on an error (after resetting).
    bool step(sqlite3_stmt* st) {
        const int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) return true;
        if (rc == SQLITE_DONE) return false;
        const std::string message = sqlite3_errmsg(db);
        sqlite3_reset(st);
        throw Poco::DataException(message);
    }
    void run(sqlite3_stmt* st) {
        step(st);
        sqlite3_reset(st);
    }
};

AnalyticsStore::AnalyticsStore() = default;
AnalyticsStore::~AnalyticsStore() { close(); }

Status AnalyticsStore::open(const std::string& path) {
    _path = path;
    _createdFresh = false;
    _upgradedFrom = 0;
    try {
        const std::string parent = Poco::Path(path).parent().toString();
        if (!parent.empty()) Poco::File(parent).createDirectories();
        // Each commit's WAL frames in one write (see wal_gathering_vfs.h); the plain VFS otherwise.
        _session = std::make_unique<Poco::Data::Session>(
            new Poco::Data::SQLite::SessionImpl(sqlite::openNameThroughWalGathering(path, kVfsName), kBusyTimeoutSeconds));
        Poco::Data::Session& s = *_session;
        s << "PRAGMA journal_mode=WAL", now;
        s << "PRAGMA synchronous=NORMAL", now;
        int version = 0;
        s << "PRAGMA user_version", into(version), now;
        if (version > kSchemaVersion) {
            _session.reset();
            return Status(StatusCode::Internal, path + " has schema version " + std::to_string(version) +
                                                    ", newer than this build knows (" + std::to_string(kSchemaVersion) +
                                                    "); delete it to rebuild analytics from the log");
        }
        if (version < kSchemaVersion) {
            begin();
            try {
                migrate(version);
                commit();
            } catch (...) {
                rollback();
                throw;
            }
            _createdFresh = version == 0;
            _upgradedFrom = version;
        }
        _statements = std::make_unique<Statements>(Poco::Data::SQLite::Utility::dbHandle(s));
        return Status::ok();
    } catch (const Poco::Exception& e) {
        _statements.reset();
        _session.reset();
        return Status(StatusCode::Unavailable, "cannot open " + path + ": " + e.displayText());
    } catch (const std::exception& e) {
        _statements.reset();
        _session.reset();
        return Status(StatusCode::Unavailable, "cannot open " + path + ": " + e.what());
    }
}

void AnalyticsStore::migrate(int from) {
    Poco::Data::Session& s = *_session;
    if (from < 1) {
        s << "CREATE TABLE IF NOT EXISTS orders ("
             " order_id INTEGER PRIMARY KEY NOT NULL,"
             " status TEXT NOT NULL,"
             " total_cents INTEGER NOT NULL,"
             " version INTEGER NOT NULL)", now;
        s << "CREATE TABLE IF NOT EXISTS checkpoint ("
             " id INTEGER PRIMARY KEY CHECK (id = 1),"
             " position INTEGER NOT NULL)", now;
        s << "INSERT OR IGNORE INTO checkpoint(id, position) VALUES(1, 0)", now;
    }
    if (from < 2) {
        for (const auto& pair : kTotalsColumns)
            for (const char* column : pair)
                s << std::string("ALTER TABLE checkpoint ADD COLUMN ") + column + " INTEGER NOT NULL DEFAULT 0", now;
        // A file of version 1 has per-order rows: add them up once.
        const Totals t = totalsFromOrders();
        for (size_t i = 0; i < kStatusCount; ++i) {
            Poco::Int64 count = t.countByStatus[i], cents = t.centsByStatus[i];
            s << std::string("UPDATE checkpoint SET ") + kTotalsColumns[i][0] + " = ?, " + kTotalsColumns[i][1] +
                     " = ? WHERE id = 1",
                use(count), use(cents), now;
        }
    }
    s << "PRAGMA user_version = " + std::to_string(kSchemaVersion), now;
}

void AnalyticsStore::close() noexcept {
    _statements.reset();  // finalize before the connection closes
    try {
        if (_session) _session->close();
    } catch (...) {
    }
    _session.reset();
}

Totals AnalyticsStore::loadTotals() {
    std::string columns;
    for (const auto& pair : kTotalsColumns) {
        if (!columns.empty()) columns += ", ";
        columns += std::string(pair[0]) + ", " + pair[1];
    }
    static_assert(kStatusCount == 4, "one into() per column below");
    std::array<Poco::Int64, 2 * kStatusCount> v{};
    *_session << "SELECT " + columns + " FROM checkpoint WHERE id = 1", into(v[0]), into(v[1]), into(v[2]),
        into(v[3]), into(v[4]), into(v[5]), into(v[6]), into(v[7]), now;
    Totals t;
    for (size_t i = 0; i < kStatusCount; ++i) {
        t.countByStatus[i] = v[2 * i];
        t.centsByStatus[i] = v[2 * i + 1];
    }
    return t;
}

Totals AnalyticsStore::totalsFromOrders() {
    std::vector<std::string> statuses;
    std::vector<Poco::Int64> counts, sums;
    *_session << "SELECT status, COUNT(*), SUM(total_cents) FROM orders GROUP BY status", into(statuses),
        into(counts), into(sums), now;
    Totals t;
    for (size_t i = 0; i < statuses.size(); ++i) {
        const auto status = statusFromName(statuses[i]);
        if (!status) throw Poco::DataException(_path + " holds an unknown order status \"" + statuses[i] + "\"");
        t.countByStatus[static_cast<size_t>(*status)] = counts[i];
        t.centsByStatus[static_cast<size_t>(*status)] = sums[i];
    }
    return t;
}

uint64_t AnalyticsStore::loadCheckpoint() {
    Poco::Int64 position = 0;
    *_session << "SELECT position FROM checkpoint WHERE id = 1", into(position), now;
    return static_cast<uint64_t>(position);
}

void AnalyticsStore::begin() {
    if (_statements) return _statements->run(_statements->begin);
    *_session << "BEGIN IMMEDIATE", now;  // during open(), before the statements exist
}

void AnalyticsStore::commit() {
    if (_statements) return _statements->run(_statements->commit);
    *_session << "COMMIT", now;
}

void AnalyticsStore::rollback() noexcept {
    try {
        if (_statements) _statements->run(_statements->rollback);
        else if (_session) *_session << "ROLLBACK", now;
    } catch (...) {
        // No transaction open (BEGIN failed): nothing to undo.
    }
}

std::map<int64_t, OrderState> AnalyticsStore::findMany(const std::vector<int64_t>& ids) {
    std::map<int64_t, OrderState> found;
    sqlite3_stmt* st = _statements->find;
    for (const int64_t id : ids) {
        sqlite3_bind_int64(st, 1, id);
        if (_statements->step(st)) {
            const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
            const std::string_view name(text ? text : "", static_cast<size_t>(sqlite3_column_bytes(st, 0)));
            const auto status = statusFromName(name);
            if (!status) {
                sqlite3_reset(st);
                throw Poco::DataException(_path + " holds an unknown status \"" + std::string(name) + "\" for order " +
                                          std::to_string(id));
            }
            found[id] = OrderState{*status, sqlite3_column_int64(st, 1), sqlite3_column_int64(st, 2)};
        }
        sqlite3_reset(st);
    }
    return found;
}

void AnalyticsStore::upsertMany(const std::map<int64_t, OrderState>& orders) {
    sqlite3_stmt* st = _statements->upsert;
    for (const auto& [id, order] : orders) {
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_text(st, 2, statusName(order.status), -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, order.totalCents);
        sqlite3_bind_int64(st, 4, order.version);
        _statements->run(st);
    }
}

void AnalyticsStore::setCheckpoint(uint64_t position, const Totals& totals) {
    sqlite3_stmt* st = _statements->checkpoint;
    sqlite3_bind_int64(st, 1, static_cast<sqlite3_int64>(position));
    for (size_t i = 0; i < kStatusCount; ++i) {
        sqlite3_bind_int64(st, static_cast<int>(2 + 2 * i), totals.countByStatus[i]);
        sqlite3_bind_int64(st, static_cast<int>(3 + 2 * i), totals.centsByStatus[i]);
    }
    _statements->run(st);
}

}  // namespace ordersystem::plugins::analytics
