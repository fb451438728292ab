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

#include <algorithm>
#include <stdexcept>

#include "ordersystem/sdk/json.h"
#include "ordersystem/sqlite/wal_gathering_vfs.h"
#include "ordersystem/sqlite/nonblocking_reads.h"
#include "store/ReadModelWriter.h"

namespace ordersystem::plugins::orders::store {

using namespace Poco::Data::Keywords;
using Poco::Data::Session;
using app::OrderRow;
using app::WaitPolicy;
using sdk::Result;
using sdk::Status;
using sdk::StatusCode;

namespace {

/// Busy timeout in seconds: a stuck lock fails a request quickly instead of hanging it.
constexpr size_t kBusyTimeoutSeconds = 2;
/// Page cache per session in KiB (SQLite's default is 2000).
constexpr int kCacheKiB = 512;
constexpr const char* kVfsName = "ordersystem-orders";

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
    sqlite3_stmt* documentById = nullptr;

    explicit Reader(std::unique_ptr<Session> s) : session(std::move(s)) {
        sqlite3* db = Poco::Data::SQLite::Utility::dbHandle(*session);
        const std::string sql = std::string(kSelectColumns) + " WHERE id = ?";
        if (sqlite3_prepare_v3(db, sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &byId, nullptr) != SQLITE_OK ||
            sqlite3_prepare_v3(db, "SELECT document FROM orders WHERE id = ?", -1, SQLITE_PREPARE_PERSISTENT,
                               &documentById, nullptr) != SQLITE_OK) {
            const std::string message = sqlite3_errmsg(db);
            sqlite3_finalize(byId);
            sqlite3_finalize(documentById);
            throw std::runtime_error("preparing the order lookup: " + message);
        }
    }
    ~Reader() {
        sqlite3_finalize(byId);
        sqlite3_finalize(documentById);
    }
    /// Appends the stored document of `id`; 1 appended, 0 no such row, -1 row without a document.
    int appendDocument(int64_t id, std::string* out) {
        sqlite3_bind_int64(documentById, 1, id);
        const int rc = sqlite3_step(documentById);
        int found = 0;
        if (rc == SQLITE_ROW) {
            const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(documentById, 0));
            const int n = sqlite3_column_bytes(documentById, 0);
            if (p && n > 0) {
                out->append(p, static_cast<size_t>(n));
                found = 1;
            } else {
                found = -1;
            }
        }
        std::string message =
            rc == SQLITE_ROW || rc == SQLITE_DONE ? std::string() : sqlite3_errmsg(sqlite3_db_handle(documentById));
        sqlite3_reset(documentById);
        if (!message.empty()) throw std::runtime_error(message);
        return found;
    }
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

/// Returns a borrowed reader to the pool when it goes out of scope. MustNotWait: its reads come
/// from the page cache only, for as long as it lives.
class ReadModelDb::ReaderLease {
public:
    ReaderLease(ReadModelDb& db, WaitPolicy wait) : _db(db), _slot(db.acquireReader(wait)) {
        if (wait == WaitPolicy::MustNotWait) _pageCacheOnly.emplace();
    }
    ~ReaderLease() {
        if (held()) _db.releaseReader(_slot, _discard);
    }
    ReaderLease(const ReaderLease&) = delete;
    ReaderLease& operator=(const ReaderLease&) = delete;
    /// False when every session was busy and the caller must not wait for one.
    bool held() const { return _slot != kNoSlot; }
    Reader& operator*() { return *_db._slots[_slot].reader; }
    Reader* operator->() { return _db._slots[_slot].reader.get(); }
    /// A read failed because it would have waited for the disk: not a failure of the session.
    bool refused() const { return _pageCacheOnly && _pageCacheOnly->refused(); }
    /// After a failure the statements are unusable: close the reader instead of reusing it (a
    /// refused read was reset by SQLite and the reader stays).
    void discard() { _discard = !refused(); }

private:
    ReadModelDb& _db;
    size_t _slot;
    bool _discard = false;
    std::optional<sqlite::NonBlockingReads> _pageCacheOnly;
};

template <class R, class Read>
R ReadModelDb::withReader(WaitPolicy wait, const char* what, int64_t id, Read&& read) noexcept {
    auto failed = [&](const std::string& why) {
        return Status(StatusCode::Unavailable, std::string("orders read model: ") + what +
                                                   (id > 0 ? " " + std::to_string(id) : std::string()) + ": " + why);
    };
    try {
        ReaderLease lease(*this, wait);
        if (!lease.held()) return Status(StatusCode::WouldBlock, "orders read model: every reader session is busy");
        try {
            return read(*lease);
        } catch (...) {
            if (lease.refused()) {
                if (_diskRefusals) _diskRefusals->inc();
                return Status(StatusCode::WouldBlock, "orders read model: the read needs the disk");
            }
            lease.discard();
            throw;
        }
    } catch (const Poco::Exception& e) {
        return failed(e.displayText());
    } catch (const std::exception& e) {
        return failed(e.what());
    }
}

ReadModelDb::WriterStatements& ReadModelDb::writerStatements(const std::string& projection) {
    if (!_statements || _statements->projection != projection)
        _statements = std::make_unique<WriterStatements>(*_writer, projection);
    return *_statements;
}

ReadModelDb::ReadModelDb(sdk::Logger& logger) : _logger(logger) {}

ReadModelDb::~ReadModelDb() { close(); }

std::unique_ptr<Session> ReadModelDb::newSession() {
    // Each commit's WAL frames in one write (see wal_gathering_vfs.h); the plain VFS otherwise.
    auto session =
        std::make_unique<Session>("SQLite", sqlite::openNameThroughWalGathering(_path, kVfsName), kBusyTimeoutSeconds);
    // Rebuildable from the log, so NORMAL is enough: WAL keeps it consistent across a crash.
    *session << "PRAGMA synchronous=NORMAL", now;
    // Bounded page cache per session (KiB), so RSS does not grow with the number of orders.
    *session << "PRAGMA cache_size=-" + std::to_string(kCacheKiB), now;
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
                 "cancel_reason TEXT NOT NULL DEFAULT '', document TEXT)",
                now;
            s << "CREATE TABLE IF NOT EXISTS checkpoints (projection TEXT PRIMARY KEY, position INTEGER NOT NULL)", now;
        }
        if (version == 1) {
            // Version 1 had no cancellation columns and no status index.
            s << "ALTER TABLE orders ADD COLUMN cancelled_at_ms INTEGER NOT NULL DEFAULT 0", now;
            s << "ALTER TABLE orders ADD COLUMN has_cancel_reason INTEGER NOT NULL DEFAULT 0", now;
            s << "ALTER TABLE orders ADD COLUMN cancel_reason TEXT NOT NULL DEFAULT ''", now;
        }
        if (version == 1 || version == 2) {
            // Version 3 stores the order document (NULL in migrated rows: built when read).
            s << "ALTER TABLE orders ADD COLUMN document TEXT", now;
        }
        if (version >= 1 && version <= 3) {
            // Version 4 orders lists by creation time: the indexes gain created_at_ms.
            s << "DROP INDEX IF EXISTS orders_by_customer", now;
            s << "DROP INDEX IF EXISTS orders_by_status", now;
        }
        s << "CREATE INDEX IF NOT EXISTS orders_by_customer ON orders(customer_name, created_at_ms, id)", now;
        s << "CREATE INDEX IF NOT EXISTS orders_by_status ON orders(status, created_at_ms, id)", now;
        s << "CREATE INDEX IF NOT EXISTS orders_by_created ON orders(created_at_ms, id)", now;
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
        // Called when no query runs any more (plugin stop).
        for (auto& slot : _slots) slot.reader.reset();
        _statements.reset();
        _writer.reset();
    } catch (...) {
    }
}

size_t ReadModelDb::acquireReader(WaitPolicy wait) {
    for (;;) {
        for (size_t i = 0; i < kReaderSlots; ++i) {
            bool expected = false;
            if (_slots[i].busy.load(std::memory_order_relaxed) ||
                !_slots[i].busy.compare_exchange_strong(expected, true))
                continue;
            if (!_slots[i].reader) {
                try {
                    _slots[i].reader = std::make_unique<Reader>(newSession());
                } catch (...) {
                    releaseReader(i, true);
                    throw;
                }
            }
            return i;
        }
        if (wait == WaitPolicy::MustNotWait) return kNoSlot;
        // Every slot is busy: sleep until one is released. The waiter count is raised before the
        // re-check and read after the release (both seq_cst), so no wake-up is lost.
        std::unique_lock<std::mutex> lock(_poolMutex);
        _slotWaiters.fetch_add(1);
        bool anyFree = false;
        for (const auto& slot : _slots) anyFree = anyFree || !slot.busy.load();
        if (!anyFree) _poolCv.wait(lock);
        _slotWaiters.fetch_sub(1);
    }
}

void ReadModelDb::releaseReader(size_t slot, bool discard) noexcept {
    if (discard) _slots[slot].reader.reset();
    _slots[slot].busy.store(false);
    if (_slotWaiters.load() > 0) {
        std::lock_guard<std::mutex> lock(_poolMutex);
        _poolCv.notify_one();
    }
}

Result<uint64_t> ReadModelDb::readCheckpoint(const std::string& projection) noexcept {
    // A reader session: the writer belongs to the apply thread alone.
    return withReader<Result<uint64_t>>(WaitPolicy::MayWait, "reading the checkpoint", 0, [&](Reader& reader) {
        Poco::Int64 position = 0;
        std::string name = projection;
        *reader.session << "SELECT position FROM checkpoints WHERE projection = ?", use(name), into(position), now;
        return Result<uint64_t>(static_cast<uint64_t>(position));
    });
}

Status ReadModelDb::writeBatch(const std::vector<RowToWrite>& orders, const std::string& projection,
                               uint64_t checkpoint) noexcept {
    if (!_writer) return Status(StatusCode::Unavailable, "orders read model: database is not open");
    try {
        WriterStatements& st = writerStatements(projection);
        st.run(st.begin);
        try {
            for (const RowToWrite& row : orders) st.write(row);
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

Result<OrderRow> ReadModelDb::loadRow(int64_t id, WaitPolicy wait) noexcept {
    return withReader<Result<OrderRow>>(wait, "reading order", id, [&](Reader& reader) {
        OrderRow row;
        if (!reader.find(id, &row.order, &row.itemsJson)) return Result<OrderRow>(StatusCode::NotFound, "Order not found");
        return Result<OrderRow>(std::move(row));
    });
}

Status ReadModelDb::appendDocument(int64_t id, std::string* out, WaitPolicy wait) noexcept {
    int found = 0;
    Status s = withReader<Status>(wait, "reading order", id, [&](Reader& reader) {
        found = reader.appendDocument(id, out);
        return Status::ok();
    });
    if (!s) return s;
    if (found == 0) return Status(StatusCode::NotFound, "Order not found");
    if (found > 0) return Status::ok();
    auto row = loadRow(id, wait);  // migrated row without a stored document
    if (!row) return row.status();
    sdk::JsonWriter w(*out);
    domain::writeOrderDocument(w, row->order, row->itemsJson);
    return Status::ok();
}

Result<domain::Order> ReadModelDb::loadOrder(int64_t id) noexcept {
    auto row = loadRow(id, WaitPolicy::MayWait);
    if (!row) return row.status();
    domain::Order o = std::move(row->order);
    const std::string& itemsJson = row->itemsJson;
    auto items = sdk::parseJson(itemsJson);
    if (!items) return Status(StatusCode::Internal, "orders read model: items of order " + std::to_string(id) + " are not JSON");
    if (Status s = domain::parseItems(*items, &o.items); !s) return s;
    return o;
}

Result<std::vector<OrderRow>> ReadModelDb::list(const app::ListFilter& filter, WaitPolicy wait) noexcept {
    std::string sql = kSelectColumns;
    const char* glue = " WHERE ";
    int status = filter.status ? static_cast<int>(*filter.status) : 0;
    std::string customer = filter.customer ? *filter.customer : std::string();
    Poco::Int64 after = filter.afterId;
    Poco::Int64 afterCreated = filter.afterCreatedAtMs;
    Poco::Int64 limit = filter.limit;
    if (filter.status) { sql += glue; sql += "status = ?"; glue = " AND "; }
    if (filter.customer) { sql += glue; sql += "customer_name = ?"; glue = " AND "; }
    if (filter.afterId > 0) {
        sql += glue;
        sql += filter.newestFirst ? "(created_at_ms, id) < (?, ?)" : "(created_at_ms, id) > (?, ?)";
    }
    sql += filter.newestFirst ? " ORDER BY created_at_ms DESC, id DESC LIMIT ?"
                              : " ORDER BY created_at_ms ASC, id ASC LIMIT ?";
    using Rows = Result<std::vector<OrderRow>>;
    return withReader<Rows>(wait, "querying orders", 0, [&](Reader& reader) {
        Poco::Data::Statement st(*reader.session);
        st << sql;
        if (filter.status) st, use(status);
        if (filter.customer) st, use(customer);
        if (filter.afterId > 0) st, use(afterCreated), use(after);
        st, use(limit);
        Columns c;
        c.bindInto(st);
        st.execute();
        std::vector<OrderRow> rows;
        rows.reserve(c.id.size());
        for (size_t i = 0; i < c.id.size(); ++i) rows.push_back(c.row(i));
        return Rows(std::move(rows));
    });
}

}  // namespace ordersystem::plugins::orders::store
