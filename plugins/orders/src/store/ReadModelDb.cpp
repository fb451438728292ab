// The orders read model in SQLite (see ReadModelDb.h).
#include "store/ReadModelDb.h"

#include <Poco/Data/SQLite/Connector.h>
#include <Poco/Data/SQLite/Utility.h>
#include <Poco/Data/Session.h>
#include <Poco/Data/Statement.h>
#include <Poco/Exception.h>
#include <Poco/File.h>
#include <Poco/Path.h>

#include <sqlite3.h>

#include <stdexcept>

#include "ordersystem/sdk/json.h"

namespace ordersystem::plugins::orders::store {

using namespace Poco::Data::Keywords;
using Poco::Data::Session;
using sdk::Result;
using sdk::Status;
using sdk::StatusCode;

namespace {

/// Busy timeout in seconds: a stuck lock fails a request quickly instead of hanging it.
constexpr size_t kBusyTimeoutSeconds = 2;

constexpr const char* kSelectColumns =
    "SELECT id, order_number, customer_name, total_cents, status, version, items_json, created_at_ms, "
    "processed_at_ms, completed_at_ms, cancelled_at_ms, has_cancel_reason, cancel_reason FROM orders";

Status dbError(const std::string& what, const Poco::Exception& e) {
    return Status(StatusCode::Unavailable, "orders read model: " + what + ": " + e.displayText());
}

/// Column vectors for one SELECT of kSelectColumns.
struct Columns {
    std::vector<Poco::Int64> id, total, version, created, processed, completed, cancelled;
    std::vector<std::string> number, customer, items, reason;
    std::vector<int> status, hasReason;

    void bindInto(Poco::Data::Statement& st) {
        st, into(id), into(number), into(customer), into(total), into(status), into(version), into(items),
            into(created), into(processed), into(completed), into(cancelled), into(hasReason), into(reason);
    }
    OrderRow row(size_t i) {
        OrderRow r;
        domain::Order& o = r.order;
        o.id = id[i];
        o.orderNumber = std::move(number[i]);
        o.customerName = std::move(customer[i]);
        o.totalCents = total[i];
        o.status = static_cast<domain::OrderStatus>(status[i]);
        o.version = version[i];
        o.createdAtMs = created[i];
        o.processedAtMs = processed[i];
        o.completedAtMs = completed[i];
        o.cancelledAtMs = cancelled[i];
        o.hasCancelReason = hasReason[i] != 0;
        o.cancelReason = std::move(reason[i]);
        r.itemsJson = std::move(items[i]);
        return r;
    }
};

}  // namespace

/// A reader session with its by-id lookup prepared once on the session's sqlite3 handle.
struct ReadModelDb::Reader {
    std::unique_ptr<Session> session;
    sqlite3_stmt* byId = nullptr;

    explicit Reader(std::unique_ptr<Session> s) : session(std::move(s)) {
        sqlite3* db = Poco::Data::SQLite::Utility::dbHandle(*session);
        const std::string sql = std::string(kSelectColumns) + " WHERE id = ?";
        if (sqlite3_prepare_v3(db, sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &byId, nullptr) != SQLITE_OK) {
            const std::string message = sqlite3_errmsg(db);
            sqlite3_finalize(byId);
            throw std::runtime_error("preparing the order lookup: " + message);
        }
    }
    ~Reader() { sqlite3_finalize(byId); }
    Reader(const Reader&) = delete;
    Reader& operator=(const Reader&) = delete;

    static std::string text(sqlite3_stmt* st, int column) {
        const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(st, column));
        return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(st, column))) : std::string();
    }
    /// Reads order `id` into *o and its items JSON into *items; false when there is no such row.
    bool find(int64_t id, domain::Order* o, std::string* items) {
        sqlite3_bind_int64(byId, 1, id);
        const int rc = sqlite3_step(byId);
        if (rc == SQLITE_ROW) {
            o->id = sqlite3_column_int64(byId, 0);
            o->orderNumber = text(byId, 1);
            o->customerName = text(byId, 2);
            o->totalCents = sqlite3_column_int64(byId, 3);
            o->status = static_cast<domain::OrderStatus>(sqlite3_column_int(byId, 4));
            o->version = sqlite3_column_int64(byId, 5);
            *items = text(byId, 6);
            o->createdAtMs = sqlite3_column_int64(byId, 7);
            o->processedAtMs = sqlite3_column_int64(byId, 8);
            o->completedAtMs = sqlite3_column_int64(byId, 9);
            o->cancelledAtMs = sqlite3_column_int64(byId, 10);
            o->hasCancelReason = sqlite3_column_int(byId, 11) != 0;
            o->cancelReason = text(byId, 12);
        }
        std::string message = rc == SQLITE_ROW || rc == SQLITE_DONE ? std::string() : sqlite3_errmsg(sqlite3_db_handle(byId));
        sqlite3_reset(byId);
        if (!message.empty()) throw std::runtime_error(message);
        return rc == SQLITE_ROW;
    }
};

/// Returns a borrowed reader to the pool when it goes out of scope.
class ReadModelDb::ReaderLease {
public:
    explicit ReaderLease(ReadModelDb& db) : _db(db), _reader(db.acquireReader()) {}
    ~ReaderLease() {
        if (_reader) _db.releaseReader(std::move(_reader));
    }
    Reader& operator*() { return *_reader; }
    Reader* operator->() { return _reader.get(); }
    /// After a failure the statements are unusable: drop the reader instead of pooling it.
    void discard() { _reader.reset(); }

private:
    ReadModelDb& _db;
    std::unique_ptr<Reader> _reader;
};

/// The apply thread's statements, prepared once on the writer session's own sqlite3 handle:
/// Poco 1.11 re-prepares a Statement on every execute(), which would cost more than the insert.
struct ReadModelDb::WriterStatements {
    sqlite3* db;
    std::string projection;
    sqlite3_stmt* begin = nullptr;
    sqlite3_stmt* commit = nullptr;
    sqlite3_stmt* rollback = nullptr;
    sqlite3_stmt* insert = nullptr;
    sqlite3_stmt* checkpoint = nullptr;
    std::string items;  ///< reused buffer for the items JSON

    WriterStatements(Session& s, const std::string& name)
        : db(Poco::Data::SQLite::Utility::dbHandle(s)), projection(name) {
        try {
            begin = prepare("BEGIN IMMEDIATE");
            commit = prepare("COMMIT");
            rollback = prepare("ROLLBACK");
            insert = prepare(
                "INSERT OR REPLACE INTO orders (id, order_number, customer_name, total_cents, status, version, "
                "items_json, created_at_ms, processed_at_ms, completed_at_ms, cancelled_at_ms, has_cancel_reason, "
                "cancel_reason) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)");
            checkpoint = prepare("INSERT OR REPLACE INTO checkpoints (projection, position) VALUES (?, ?)");
        } catch (...) {
            finalizeAll();
            throw;
        }
    }
    ~WriterStatements() { finalizeAll(); }
    WriterStatements(const WriterStatements&) = delete;
    WriterStatements& operator=(const WriterStatements&) = delete;

    sqlite3_stmt* prepare(const char* sql) {
        sqlite3_stmt* st = nullptr;
        if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, nullptr) != SQLITE_OK)
            throw std::runtime_error(std::string("preparing ") + sql + ": " + sqlite3_errmsg(db));
        return st;
    }
    void finalizeAll() {
        for (sqlite3_stmt** st : {&begin, &commit, &rollback, &insert, &checkpoint}) {
            sqlite3_finalize(*st);
            *st = nullptr;
        }
    }
    /// Steps to completion and resets; throws with SQLite's message on failure.
    void run(sqlite3_stmt* st) {
        const int rc = sqlite3_step(st);
        if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
            std::string message = sqlite3_errmsg(db);
            sqlite3_reset(st);
            throw std::runtime_error(message);
        }
        sqlite3_reset(st);
    }
    static void text(sqlite3_stmt* st, int index, const std::string& value) {
        sqlite3_bind_text(st, index, value.data(), static_cast<int>(value.size()), SQLITE_STATIC);
    }
    void write(const domain::Order& o) {
        items.clear();
        sdk::JsonWriter w(items);
        domain::writeItems(w, o.items);
        sqlite3_bind_int64(insert, 1, o.id);
        text(insert, 2, o.orderNumber);
        text(insert, 3, o.customerName);
        sqlite3_bind_int64(insert, 4, o.totalCents);
        sqlite3_bind_int(insert, 5, static_cast<int>(o.status));
        sqlite3_bind_int64(insert, 6, o.version);
        text(insert, 7, items);
        sqlite3_bind_int64(insert, 8, o.createdAtMs);
        sqlite3_bind_int64(insert, 9, o.processedAtMs);
        sqlite3_bind_int64(insert, 10, o.completedAtMs);
        sqlite3_bind_int64(insert, 11, o.cancelledAtMs);
        sqlite3_bind_int(insert, 12, o.hasCancelReason ? 1 : 0);
        text(insert, 13, o.cancelReason);
        run(insert);
    }
    void writeCheckpoint(uint64_t position) {
        text(checkpoint, 1, projection);
        sqlite3_bind_int64(checkpoint, 2, static_cast<sqlite3_int64>(position));
        run(checkpoint);
    }
    void tryRollback() noexcept {
        if (!sqlite3_get_autocommit(db)) {
            sqlite3_step(rollback);
            sqlite3_reset(rollback);
        }
    }
};

ReadModelDb::WriterStatements& ReadModelDb::writerStatements(const std::string& projection) {
    if (!_statements || _statements->projection != projection)
        _statements = std::make_unique<WriterStatements>(*_writer, projection);
    return *_statements;
}

ReadModelDb::ReadModelDb(sdk::Logger& logger) : _logger(logger) {}

ReadModelDb::~ReadModelDb() { close(); }

std::unique_ptr<Session> ReadModelDb::newSession() {
    auto session = std::make_unique<Session>("SQLite", _path, kBusyTimeoutSeconds);
    // Rebuildable from the log, so NORMAL is enough: WAL keeps it consistent across a crash.
    *session << "PRAGMA synchronous=NORMAL", now;
    return session;
}

Status ReadModelDb::open(const std::string& path) {
    _path = path;
    try {
        Poco::Data::SQLite::Connector::registerConnector();
        Poco::File(Poco::Path(path).parent()).createDirectories();
        if (!Poco::File(path).exists()) {
            // A WAL left beside a deleted database would be replayed into the new, empty file.
            for (const char* suffix : {"-wal", "-shm"}) {
                Poco::File stale(path + suffix);
                if (stale.exists()) stale.remove();
            }
        }
        _writer = newSession();
        std::string mode;
        *_writer << "PRAGMA journal_mode=WAL", into(mode), now;
        migrate(*_writer);
    } catch (const Poco::Exception& e) {
        _writer.reset();
        return dbError("cannot open " + path, e);
    } catch (const std::exception& e) {
        _writer.reset();
        return Status(StatusCode::Unavailable, "orders read model: cannot open " + path + ": " + e.what());
    }
    return Status::ok();
}

void ReadModelDb::migrate(Session& s) {
    int version = 0;
    s << "PRAGMA user_version", into(version), now;
    _openedVersion = version;
    if (version > kSchemaVersion)
        throw Poco::DataException("schema version " + std::to_string(version) + " is newer than this build's " +
                                  std::to_string(kSchemaVersion) + "; delete the file to rebuild it from the log");
    if (version == kSchemaVersion) return;
    s << "BEGIN IMMEDIATE", now;
    try {
        if (version == 0) {
            // Fresh file: the current schema at once.
            s << "CREATE TABLE IF NOT EXISTS orders (id INTEGER PRIMARY KEY, order_number TEXT NOT NULL, "
                 "customer_name TEXT NOT NULL, total_cents INTEGER NOT NULL, status INTEGER NOT NULL, "
                 "version INTEGER NOT NULL, items_json TEXT NOT NULL, created_at_ms INTEGER NOT NULL, "
                 "processed_at_ms INTEGER NOT NULL DEFAULT 0, completed_at_ms INTEGER NOT NULL DEFAULT 0, "
                 "cancelled_at_ms INTEGER NOT NULL DEFAULT 0, has_cancel_reason INTEGER NOT NULL DEFAULT 0, "
                 "cancel_reason TEXT NOT NULL DEFAULT '')",
                now;
            s << "CREATE TABLE IF NOT EXISTS checkpoints (projection TEXT PRIMARY KEY, position INTEGER NOT NULL)", now;
        }
        if (version == 1) {
            // Version 1 had no cancellation columns and no status index.
            s << "ALTER TABLE orders ADD COLUMN cancelled_at_ms INTEGER NOT NULL DEFAULT 0", now;
            s << "ALTER TABLE orders ADD COLUMN has_cancel_reason INTEGER NOT NULL DEFAULT 0", now;
            s << "ALTER TABLE orders ADD COLUMN cancel_reason TEXT NOT NULL DEFAULT ''", now;
        }
        s << "CREATE INDEX IF NOT EXISTS orders_by_customer ON orders(customer_name, id)", now;
        s << "CREATE INDEX IF NOT EXISTS orders_by_status ON orders(status, id)", now;
        s << "PRAGMA user_version=" + std::to_string(kSchemaVersion), now;
        s << "COMMIT", now;
    } catch (...) {
        try { s << "ROLLBACK", now; } catch (...) {}
        throw;
    }
    if (version != 0)
        _logger.info("orders read model: migrated schema of " + _path + " from version " + std::to_string(version) +
                     " to " + std::to_string(kSchemaVersion));
}

void ReadModelDb::close() noexcept {
    try {
        std::lock_guard<std::mutex> lock(_poolMutex);
        _readers.clear();
        _statements.reset();
        _writer.reset();
    } catch (...) {
    }
}

std::unique_ptr<ReadModelDb::Reader> ReadModelDb::acquireReader() {
    {
        std::lock_guard<std::mutex> lock(_poolMutex);
        if (!_readers.empty()) {
            auto r = std::move(_readers.back());
            _readers.pop_back();
            return r;
        }
    }
    return std::make_unique<Reader>(newSession());
}

void ReadModelDb::releaseReader(std::unique_ptr<Reader> reader) {
    std::lock_guard<std::mutex> lock(_poolMutex);
    // Bounded: more idle sessions than this are closed.
    if (_readers.size() < 16) _readers.push_back(std::move(reader));
}

Result<uint64_t> ReadModelDb::readCheckpoint(const std::string& projection) noexcept {
    try {
        // A reader session: the writer belongs to the apply thread alone.
        Poco::Int64 position = 0;
        std::string name = projection;
        ReaderLease lease(*this);
        try {
            *lease->session << "SELECT position FROM checkpoints WHERE projection = ?", use(name), into(position), now;
        } catch (...) {
            lease.discard();
            throw;
        }
        return static_cast<uint64_t>(position);
    } catch (const Poco::Exception& e) {
        return dbError("reading checkpoint", e);
    } catch (const std::exception& e) {
        return Status(StatusCode::Unavailable, std::string("orders read model: reading checkpoint: ") + e.what());
    }
}

Status ReadModelDb::writeBatch(const std::vector<const domain::Order*>& orders, const std::string& projection,
                               uint64_t checkpoint) noexcept {
    if (!_writer) return Status(StatusCode::Unavailable, "orders read model: database is not open");
    try {
        WriterStatements& st = writerStatements(projection);
        st.run(st.begin);
        try {
            for (const domain::Order* o : orders) st.write(*o);
            st.writeCheckpoint(checkpoint);
            st.run(st.commit);
        } catch (...) {
            st.tryRollback();
            throw;
        }
    } catch (const Poco::Exception& e) {
        _statements.reset();
        return dbError("writing a batch", e);
    } catch (const std::exception& e) {
        _statements.reset();
        return Status(StatusCode::Unavailable, std::string("orders read model: writing a batch: ") + e.what());
    }
    return Status::ok();
}

Result<domain::Order> ReadModelDb::loadOrder(int64_t id) noexcept {
    domain::Order o;
    std::string itemsJson;
    try {
        ReaderLease lease(*this);
        try {
            if (!lease->find(id, &o, &itemsJson)) return Result<domain::Order>(StatusCode::NotFound, "Order not found");
        } catch (...) {
            lease.discard();
            throw;
        }
    } catch (const Poco::Exception& e) {
        return dbError("reading order " + std::to_string(id), e);
    } catch (const std::exception& e) {
        return Status(StatusCode::Unavailable, std::string("orders read model: reading an order: ") + e.what());
    }
    auto items = sdk::parseJson(itemsJson);
    if (!items) return Status(StatusCode::Internal, "orders read model: items of order " + std::to_string(id) + " are not JSON");
    if (Status s = domain::parseItems(*items, &o.items); !s) return s;
    return o;
}

Result<std::vector<OrderRow>> ReadModelDb::list(const ListFilter& filter) noexcept {
    std::string sql = kSelectColumns;
    const char* glue = " WHERE ";
    int status = filter.status ? static_cast<int>(*filter.status) : 0;
    std::string customer = filter.customer ? *filter.customer : std::string();
    Poco::Int64 after = filter.afterId;
    Poco::Int64 limit = filter.limit;
    if (filter.status) { sql += glue; sql += "status = ?"; glue = " AND "; }
    if (filter.customer) { sql += glue; sql += "customer_name = ?"; glue = " AND "; }
    if (filter.afterId > 0) { sql += glue; sql += filter.newestFirst ? "id < ?" : "id > ?"; }
    sql += filter.newestFirst ? " ORDER BY id DESC LIMIT ?" : " ORDER BY id ASC LIMIT ?";
    try {
        ReaderLease lease(*this);
        try {
            Poco::Data::Statement st(*lease->session);
            st << sql;
            if (filter.status) st, use(status);
            if (filter.customer) st, use(customer);
            if (filter.afterId > 0) st, use(after);
            st, use(limit);
            Columns c;
            c.bindInto(st);
            st.execute();
            std::vector<OrderRow> rows;
            rows.reserve(c.id.size());
            for (size_t i = 0; i < c.id.size(); ++i) rows.push_back(c.row(i));
            return rows;
        } catch (...) {
            lease.discard();
            throw;
        }
    } catch (const Poco::Exception& e) {
        return dbError("querying orders", e);
    } catch (const std::exception& e) {
        return Status(StatusCode::Unavailable, std::string("orders read model: querying orders: ") + e.what());
    }
}

}  // namespace ordersystem::plugins::orders::store
