// The analytics file through the plugins' SQLite layer; BEGIN IMMEDIATE, so a batch never
// waits for a lock halfway.
#include "AnalyticsStore.h"

#include <array>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include "ordersystem/sqlite/db.h"
#include "ordersystem/sqlite/wal_gathering_vfs.h"

namespace ordersystem::plugins::analytics {

using sdk::Status;
using sdk::StatusCode;

namespace {
/// 1: per-order rows and the checkpoint. 2: also the totals beside the checkpoint, so start-up
/// reads one row instead of adding up every order.
constexpr int kSchemaVersion = 2;
/// How long SQLite waits for a lock: short, so a stuck file fails an apply instead of hanging it.
constexpr int kBusyTimeoutMs = 2000;
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

/// Throws StoreError when s is not Ok (this store's methods report by throwing).
void check(const Status& s) {
    if (!s) throw StoreError(s.message);
}

/// Runs st to completion and resets it.
void run(sqlite::Stmt& st) {
    const Status s = st.exec();
    st.reset();
    check(s);
}
}  // namespace

/// The projection's statements; used by the apply thread alone.
struct AnalyticsStore::Statements {
    sqlite::Stmt begin, commit, rollback, find, upsert, checkpoint;

    explicit Statements(sqlite::Db& db) {
        const std::string checkpointSql = "UPDATE checkpoint SET " + checkpointAssignments() + " WHERE id = 1";
        const std::pair<sqlite::Stmt*, const char*> all[] = {
            {&begin, "BEGIN IMMEDIATE"},
            {&commit, "COMMIT"},
            {&rollback, "ROLLBACK"},
            {&find, "SELECT status, total_cents, version FROM orders WHERE order_id = ?"},
            {&upsert,
             "INSERT INTO orders(order_id, status, total_cents, version) VALUES (?, ?, ?, ?) "
             "ON CONFLICT(order_id) DO UPDATE SET status = excluded.status, "
             "total_cents = excluded.total_cents, version = excluded.version"},
            {&checkpoint, checkpointSql.c_str()},
        };
        for (const auto& [stmt, sql] : all) check(stmt->prepare(db, sql));
    }
};

AnalyticsStore::AnalyticsStore() = default;
AnalyticsStore::~AnalyticsStore() { close(); }

Status AnalyticsStore::open(const std::string& path) {
    _path = path;
    _createdFresh = false;
    _upgradedFrom = 0;
    try {
        std::error_code ec;
        const auto parent = std::filesystem::path(path).parent_path();
        if (!parent.empty()) std::filesystem::create_directories(parent, ec);
        if (ec) throw StoreError("cannot create " + parent.string() + ": " + ec.message());
        // Each commit's WAL frames in one write (see wal_gathering_vfs.h); the plain VFS otherwise.
        sqlite::registerWalGatheringVfs(kVfsName);
        _db = std::make_unique<sqlite::Db>();
        check(_db->open(path, false, kBusyTimeoutMs));
        check(_db->execute("PRAGMA journal_mode=WAL"));
        check(_db->execute("PRAGMA synchronous=NORMAL"));
        auto found = _db->queryInt("PRAGMA user_version");
        check(found.status());
        const int version = static_cast<int>(*found);
        if (version > kSchemaVersion) {
            _db.reset();
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
        _statements = std::make_unique<Statements>(*_db);
        return Status::ok();
    } catch (const std::exception& e) {
        _statements.reset();
        _db.reset();
        return Status(StatusCode::Unavailable, "cannot open " + path + ": " + e.what());
    }
}

void AnalyticsStore::migrate(int from) {
    sqlite::Db& db = *_db;
    if (from < 1) {
        check(
            db.execute("CREATE TABLE IF NOT EXISTS orders ("
                       " order_id INTEGER PRIMARY KEY NOT NULL,"
                       " status TEXT NOT NULL,"
                       " total_cents INTEGER NOT NULL,"
                       " version INTEGER NOT NULL)"));
        check(
            db.execute("CREATE TABLE IF NOT EXISTS checkpoint ("
                       " id INTEGER PRIMARY KEY CHECK (id = 1),"
                       " position INTEGER NOT NULL)"));
        check(db.execute("INSERT OR IGNORE INTO checkpoint(id, position) VALUES(1, 0)"));
    }
    if (from < 2) {
        for (const auto& pair : kTotalsColumns)
            for (const char* column : pair)
                check(db.execute(std::string("ALTER TABLE checkpoint ADD COLUMN ") + column +
                                 " INTEGER NOT NULL DEFAULT 0"));
        // A file of version 1 has per-order rows: add them up once.
        const Totals t = totalsFromOrders();
        for (size_t i = 0; i < kStatusCount; ++i) {
            sqlite::Stmt set;
            const std::string sql = std::string("UPDATE checkpoint SET ") + kTotalsColumns[i][0] + " = ?, " +
                                    kTotalsColumns[i][1] + " = ? WHERE id = 1";
            check(set.prepare(db, sql.c_str()));
            set.bind(1, t.countByStatus[i]);
            set.bind(2, t.centsByStatus[i]);
            run(set);
        }
    }
    check(db.execute("PRAGMA user_version = " + std::to_string(kSchemaVersion)));
}

void AnalyticsStore::close() noexcept {
    _statements.reset();  // finalize before the connection closes
    _db.reset();
}

Totals AnalyticsStore::loadTotals() {
    std::string columns;
    for (const auto& pair : kTotalsColumns) {
        if (!columns.empty()) columns += ", ";
        columns += std::string(pair[0]) + ", " + pair[1];
    }
    sqlite::Stmt q;
    check(q.prepare(*_db, ("SELECT " + columns + " FROM checkpoint WHERE id = 1").c_str()));
    Status error;
    Totals t;
    if (q.nextRow(&error)) {
        for (size_t i = 0; i < kStatusCount; ++i) {
            t.countByStatus[i] = q.int64(static_cast<int>(2 * i));
            t.centsByStatus[i] = q.int64(static_cast<int>(2 * i + 1));
        }
    }
    check(error);
    return t;
}

Totals AnalyticsStore::totalsFromOrders() {
    sqlite::Stmt q;
    check(q.prepare(*_db, "SELECT status, COUNT(*), SUM(total_cents) FROM orders GROUP BY status"));
    Status error;
    Totals t;
    while (q.nextRow(&error)) {
        const std::string name = q.text(0);
        const auto status = statusFromName(name);
        if (!status) throw StoreError(_path + " holds an unknown order status \"" + name + "\"");
        t.countByStatus[static_cast<size_t>(*status)] = q.int64(1);
        t.centsByStatus[static_cast<size_t>(*status)] = q.int64(2);
    }
    check(error);
    return t;
}

uint64_t AnalyticsStore::loadCheckpoint() {
    auto position = _db->queryInt("SELECT position FROM checkpoint WHERE id = 1");
    check(position.status());
    return static_cast<uint64_t>(*position);
}

void AnalyticsStore::begin() {
    if (_statements) return run(_statements->begin);
    check(_db->execute("BEGIN IMMEDIATE"));  // during open(), before the statements exist
}

void AnalyticsStore::commit() {
    if (_statements) return run(_statements->commit);
    check(_db->execute("COMMIT"));
}

void AnalyticsStore::rollback() noexcept {
    // No transaction open (BEGIN failed): nothing to undo.
    if (!_db || _db->autocommit()) return;
    if (_statements) {
        (void)_statements->rollback.exec();
        _statements->rollback.reset();
    } else {
        (void)_db->execute("ROLLBACK");
    }
}

std::map<int64_t, OrderState> AnalyticsStore::findMany(const std::vector<int64_t>& ids) {
    std::map<int64_t, OrderState> found;
    sqlite::Stmt& st = _statements->find;
    for (const int64_t id : ids) {
        st.reset();
        st.bind(1, id);
        Status error;
        if (st.nextRow(&error)) {
            const std::string_view name = st.textView(0);
            const auto status = statusFromName(name);
            if (!status) {
                const std::string message =
                    _path + " holds an unknown status \"" + std::string(name) + "\" for order " + std::to_string(id);
                st.reset();
                throw StoreError(message);
            }
            found[id] = OrderState{*status, st.int64(1), st.int64(2)};
        }
        st.reset();
        check(error);
    }
    return found;
}

void AnalyticsStore::upsertMany(const std::map<int64_t, OrderState>& orders) {
    sqlite::Stmt& st = _statements->upsert;
    for (const auto& [id, order] : orders) {
        st.bind(1, id);
        st.bind(2, std::string_view(statusName(order.status)));
        st.bind(3, order.totalCents);
        st.bind(4, order.version);
        run(st);
    }
}

void AnalyticsStore::setCheckpoint(uint64_t position, const Totals& totals) {
    sqlite::Stmt& st = _statements->checkpoint;
    st.bind(1, static_cast<int64_t>(position));
    for (size_t i = 0; i < kStatusCount; ++i) {
        st.bind(static_cast<int>(2 + 2 * i), totals.countByStatus[i]);
        st.bind(static_cast<int>(3 + 2 * i), totals.centsByStatus[i]);
    }
    run(st);
}

}  // namespace ordersystem::plugins::analytics
