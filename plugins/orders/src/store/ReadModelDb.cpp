// The orders read model in SQLite (see ReadModelDb.h).
#include "store/ReadModelDb.h"

#include <filesystem>
#include <optional>
#include <system_error>

#include "ordersystem/sdk/json.h"
#include "ordersystem/sqlite/db.h"
#include "ordersystem/sqlite/nonblocking_reads.h"
#include "ordersystem/sqlite/wal_gathering_vfs.h"
#include "store/ReadModelWriter.h"

namespace ordersystem::plugins::orders::store {

using app::OrderRow;
using app::WaitPolicy;
using sdk::Result;
using sdk::Status;
using sdk::StatusCode;

namespace {

/// Busy timeout: a stuck lock fails a request quickly instead of hanging it.
constexpr int kBusyTimeoutMs = 2000;
/// Page cache per connection in KiB (SQLite's default is 2000).
constexpr int kCacheKiB = 512;
constexpr const char* kVfsName = "ordersystem-orders";
/// The oldest schema a build of this plugin wrote (the first build wrote version 2).
constexpr int kOldestSchemaVersion = 2;

constexpr const char* kSelectColumns =
    "SELECT id, order_number, customer_name, total_cents, status, version, items_json, created_at_ms, "
    "processed_at_ms, completed_at_ms, cancelled_at_ms, has_cancel_reason, cancel_reason FROM orders";

Status dbError(const std::string& what, const Status& cause) {
    return Status(StatusCode::Unavailable, "orders read model: " + what + ": " + cause.message);
}

/// The row on q, which selected kSelectColumns.
void readRow(const sqlite::Stmt& q, domain::Order* o, std::string* items) {
    o->id = q.int64(0);
    o->orderNumber = q.text(1);
    o->customerName = q.text(2);
    o->totalCents = q.int64(3);
    o->status = static_cast<domain::OrderStatus>(q.int64(4));
    o->version = q.int64(5);
    *items = q.text(6);
    o->createdAtMs = q.int64(7);
    o->processedAtMs = q.int64(8);
    o->completedAtMs = q.int64(9);
    o->cancelledAtMs = q.int64(10);
    o->hasCancelReason = q.int64(11) != 0;
    o->cancelReason = q.text(12);
}

/// Runs the statements of one migration step; stops at the first failure.
Status executeAll(sqlite::Db& db, std::initializer_list<const char*> statements) {
    for (const char* sql : statements)
        if (Status s = db.execute(sql); !s) return s;
    return Status::ok();
}

}  // namespace

/// A reader connection with its lookups prepared once. Its read transaction stays open between
/// reads while no batch was written: beginning and ending one takes and drops a lock on the -shm
/// file (an fcntl each, under a mutex the other readers contend for), which would cost a GET more
/// than its lookup.
struct ReadModelDb::Reader {
    sqlite::Db db;
    sqlite::Stmt begin;
    sqlite::Stmt end;
    sqlite::Stmt byId;
    sqlite::Stmt documentById;
    sqlite::Stmt checkpoint;
    /// The write generation read just before the open read transaction began.
    uint64_t snapshotGeneration = 0;

    Status open(ReadModelDb& owner) {
        if (Status s = owner.openConnection(db); !s) return s;
        if (Status s = begin.prepare(db, "BEGIN"); !s) return s;
        // A read transaction ends the same either way; ROLLBACK also clears a failed read's error.
        if (Status s = end.prepare(db, "ROLLBACK"); !s) return s;
        const std::string byIdSql = std::string(kSelectColumns) + " WHERE id = ?";
        if (Status s = byId.prepare(db, byIdSql.c_str()); !s) return s;
        if (Status s = documentById.prepare(db, "SELECT document FROM orders WHERE id = ?"); !s) return s;
        return checkpoint.prepare(db, "SELECT position FROM checkpoints WHERE projection = ?");
    }
    /// Reads from here on see every batch of a generation up to `generation`: the open read
    /// transaction is kept when it began in this generation, else replaced by a new one (which
    /// takes its snapshot at its first read, so never an older one).
    Status useSnapshot(uint64_t generation) {
        if (!db.autocommit()) {
            if (snapshotGeneration == generation) return Status::ok();
            endSnapshot();
        }
        snapshotGeneration = generation;
        Status s = begin.exec();
        begin.reset();
        return s;
    }
    /// Ends the open read transaction, if any: the -wal file can then be checkpointed past it.
    void endSnapshot() noexcept {
        if (db.autocommit()) return;
        (void)end.exec();
        end.reset();
    }
    /// Appends the stored document of `id`; 1 appended, 0 no such row, -1 row without a document.
    int appendDocument(int64_t id, std::string* out, Status* error) {
        documentById.reset();
        documentById.bind(1, id);
        int found = 0;
        if (documentById.nextRow(error)) {
            const std::string_view document = documentById.textView(0);
            out->append(document);
            found = document.empty() ? -1 : 1;
        }
        documentById.reset();
        return found;
    }
    /// Reads order `id` into *o and its items JSON into *items; false when there is no such row.
    bool find(int64_t id, domain::Order* o, std::string* items, Status* error) {
        byId.reset();
        byId.bind(1, id);
        const bool found = byId.nextRow(error);
        if (found) readRow(byId, o, items);
        byId.reset();
        return found;
    }
    /// The checkpoint of `projection`, 0 when it has none.
    uint64_t readCheckpoint(const std::string& projection, Status* error) {
        checkpoint.reset();
        checkpoint.bind(1, projection);
        const uint64_t position = checkpoint.nextRow(error) ? static_cast<uint64_t>(checkpoint.int64(0)) : 0;
        checkpoint.reset();
        return position;
    }
};

/// Borrows a reader from the pool; returns it when it goes out of scope. MustNotWait: its reads
/// come from the page cache only, for as long as it lives.
class ReadModelDb::ReaderLease {
public:
    ReaderLease(ReadModelDb& db, WaitPolicy wait) : _db(db), _status(db.acquireReader(wait, &_slot)) {
        if (_status && wait == WaitPolicy::MustNotWait) _pageCacheOnly.emplace();
    }
    ~ReaderLease() {
        _pageCacheOnly.reset();
        if (_status) _db.releaseReader(_slot, _discard);
    }
    ReaderLease(const ReaderLease&) = delete;
    ReaderLease& operator=(const ReaderLease&) = delete;
    /// Not Ok when no reader could be had (then there is nothing to use).
    const Status& status() const noexcept { return _status; }
    Reader& operator*() { return *_db._slots[_slot].reader; }
    /// A read failed because it would have waited for the disk: not a failure of the connection.
    bool refused() const { return _pageCacheOnly && _pageCacheOnly->refused(); }
    /// After a failure the connection may be unusable: close the reader instead of reusing it (a
    /// refused read was reset by SQLite and the reader stays).
    void discardUnlessRefused() { _discard = !refused(); }

private:
    ReadModelDb& _db;
    size_t _slot = 0;
    Status _status;
    bool _discard = false;
    std::optional<sqlite::NonBlockingReads> _pageCacheOnly;
};

template <class R, class Read>
R ReadModelDb::withReader(WaitPolicy wait, const std::string& what, Read&& read) noexcept {
    try {
        ReaderLease lease(*this, wait);
        if (!lease.status())
            return lease.status().code == StatusCode::WouldBlock ? lease.status() : dbError(what, lease.status());
        Status error = (*lease).useSnapshot(_generation.load());
        if (!error) {
            lease.discardUnlessRefused();
            return dbError(what, error);
        }
        R out = read(*lease, &error);
        if (error) return out;
        (*lease).endSnapshot();  // a failed read leaves the connection in its error state until then
        if (lease.refused()) {
            if (_diskRefusals) _diskRefusals->inc();
            return Status(StatusCode::WouldBlock, "orders read model: the read needs the disk");
        }
        lease.discardUnlessRefused();
        return dbError(what, error);
    } catch (const std::exception& e) {
        return Status(StatusCode::Unavailable, "orders read model: " + what + ": " + e.what());
    }
}

ReadModelDb::WriterStatements* ReadModelDb::writerStatements(const std::string& projection, Status* error) {
    if (!_statements || _statements->projection != projection) {
        _statements.reset();
        auto statements = std::make_unique<WriterStatements>(projection);
        if (Status s = statements->prepare(*_writer); !s) {
            *error = s;
            return nullptr;
        }
        _statements = std::move(statements);
    }
    return _statements.get();
}

ReadModelDb::ReadModelDb(sdk::Logger& logger) : _logger(logger) {}

ReadModelDb::~ReadModelDb() { close(); }

Status ReadModelDb::openConnection(sqlite::Db& db) {
    if (Status s = db.open(_path, false, kBusyTimeoutMs); !s) return s;
    // Rebuildable from the log, so NORMAL is enough: WAL keeps it consistent across a crash.
    if (Status s = db.execute("PRAGMA synchronous=NORMAL"); !s) return s;
    // Bounded page cache per connection (KiB), so RSS does not grow with the number of orders.
    return db.execute("PRAGMA cache_size=-" + std::to_string(kCacheKiB));
}

Status ReadModelDb::open(const std::string& path) {
    _path = path;
    std::error_code ec;
    const auto parent = std::filesystem::path(path).parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent, ec);
    if (ec)
        return Status(StatusCode::Unavailable,
                      "orders read model: cannot create " + parent.string() + ": " + ec.message());
    if (!std::filesystem::exists(path, ec)) {
        // A WAL left beside a deleted database would be replayed into the new, empty file.
        for (const char* suffix : {"-wal", "-shm"}) std::filesystem::remove(path + suffix, ec);
    }
    // Each commit's WAL frames in one write (see wal_gathering_vfs.h); the plain VFS otherwise.
    sqlite::registerWalGatheringVfs(kVfsName);
    auto writer = std::make_unique<sqlite::Db>();
    Status s = openConnection(*writer);
    if (s) s = writer->execute("PRAGMA journal_mode=WAL");
    if (s) s = migrate(*writer);
    if (!s) return Status(s.code, "orders read model: cannot open " + path + ": " + s.message);
    _writer = std::move(writer);
    return Status::ok();
}

Status ReadModelDb::migrate(sqlite::Db& db) {
    auto found = db.queryInt("PRAGMA user_version");
    if (!found) return found.status();
    const int version = static_cast<int>(*found);
    _openedVersion = version;
    if (version > kSchemaVersion)
        return Status(StatusCode::Unavailable, "schema version " + std::to_string(version) +
                                                   " is newer than this build's " + std::to_string(kSchemaVersion) +
                                                   "; delete the file to rebuild it from the log");
    if (version != 0 && version < kOldestSchemaVersion)
        return Status(StatusCode::Unavailable, "schema version " + std::to_string(version) +
                                                   " was never written by this plugin; delete the file to rebuild it "
                                                   "from the log");
    if (version == kSchemaVersion) return Status::ok();
    if (Status s = db.execute("BEGIN IMMEDIATE"); !s) return s;
    Status s;
    if (version == 0) {
        // Fresh file: the current schema at once.
        s = executeAll(
            db, {"CREATE TABLE IF NOT EXISTS orders (id INTEGER PRIMARY KEY, order_number TEXT NOT NULL, "
                 "customer_name TEXT NOT NULL, total_cents INTEGER NOT NULL, status INTEGER NOT NULL, "
                 "version INTEGER NOT NULL, items_json TEXT NOT NULL, created_at_ms INTEGER NOT NULL, "
                 "processed_at_ms INTEGER NOT NULL DEFAULT 0, completed_at_ms INTEGER NOT NULL DEFAULT 0, "
                 "cancelled_at_ms INTEGER NOT NULL DEFAULT 0, has_cancel_reason INTEGER NOT NULL DEFAULT 0, "
                 "cancel_reason TEXT NOT NULL DEFAULT '', document TEXT)",
                 "CREATE TABLE IF NOT EXISTS checkpoints (projection TEXT PRIMARY KEY, position INTEGER NOT NULL)"});
    }
    if (s && version == 2) {
        // Version 3 stores the order document (NULL in migrated rows: built when read).
        s = db.execute("ALTER TABLE orders ADD COLUMN document TEXT");
    }
    if (s && (version == 2 || version == 3)) {
        // Version 4 orders lists by creation time: the indexes gain created_at_ms.
        s = executeAll(db, {"DROP INDEX IF EXISTS orders_by_customer", "DROP INDEX IF EXISTS orders_by_status"});
    }
    if (s)
        s = executeAll(db, {"CREATE INDEX IF NOT EXISTS orders_by_customer ON orders(customer_name, created_at_ms, id)",
                            "CREATE INDEX IF NOT EXISTS orders_by_status ON orders(status, created_at_ms, id)",
                            "CREATE INDEX IF NOT EXISTS orders_by_created ON orders(created_at_ms, id)"});
    if (s) s = db.execute("PRAGMA user_version=" + std::to_string(kSchemaVersion));
    if (s) s = db.execute("COMMIT");
    if (!s) {
        (void)db.execute("ROLLBACK");
        return s;
    }
    if (version != 0)
        _logger.info("orders read model: migrated schema of " + _path + " from version " + std::to_string(version) +
                     " to " + std::to_string(kSchemaVersion));
    return Status::ok();
}

void ReadModelDb::close() noexcept {
    // Called when no query runs any more (plugin stop); statements go before their connections.
    for (auto& slot : _slots) slot.reader.reset();
    _statements.reset();
    _writer.reset();
}

Status ReadModelDb::acquireReader(WaitPolicy wait, size_t* slot) {
    for (;;) {
        for (size_t i = 0; i < kReaderSlots; ++i) {
            if (!_slots[i].tryClaim()) continue;
            if (!_slots[i].reader) {
                auto reader = std::make_unique<Reader>();
                if (Status s = reader->open(*this); !s) {
                    releaseReader(i, true);
                    return s;
                }
                _slots[i].reader = std::move(reader);
            }
            *slot = i;
            return Status::ok();
        }
        if (wait == WaitPolicy::MustNotWait)
            return Status(StatusCode::WouldBlock, "orders read model: every reader connection is busy");
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

void ReadModelDb::endIdleSnapshots() noexcept {
    for (size_t i = 0; i < kReaderSlots; ++i) {
        if (!_slots[i].tryClaim()) continue;  // in use: it ends its stale snapshot at its next read
        if (_slots[i].reader) _slots[i].reader->endSnapshot();
        releaseReader(i, false);
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
    // A reader connection: the writer belongs to the apply thread alone.
    return withReader<Result<uint64_t>>(WaitPolicy::MayWait, "reading checkpoint", [&](Reader& r, Status* error) {
        return Result<uint64_t>(r.readCheckpoint(projection, error));
    });
}

Status ReadModelDb::writeBatch(const std::vector<RowToWrite>& orders, const std::string& projection,
                               uint64_t checkpoint) noexcept {
    if (!_writer) return Status(StatusCode::Unavailable, "orders read model: database is not open");
    try {
        endIdleSnapshots();
        Status s;
        WriterStatements* st = writerStatements(projection, &s);
        if (st) s = st->run(st->begin);
        if (!s) {
            _statements.reset();
            return dbError("writing a batch", s);
        }
        for (const RowToWrite& row : orders) {
            s = st->write(row);
            if (!s) break;
        }
        if (s) s = st->writeCheckpoint(checkpoint);
        if (s) s = st->run(st->commit);
        if (!s) {
            st->tryRollback(*_writer);
            _statements.reset();
            return dbError("writing a batch", s);
        }
        _generation.fetch_add(1);  // before anyone learns of the batch: readers then take a new snapshot
    } catch (const std::exception& e) {
        if (_statements) _statements->tryRollback(*_writer);
        _statements.reset();
        return Status(StatusCode::Unavailable, std::string("orders read model: writing a batch: ") + e.what());
    }
    return Status::ok();
}

Result<OrderRow> ReadModelDb::loadRow(int64_t id, WaitPolicy wait) noexcept {
    return withReader<Result<OrderRow>>(wait, "reading order " + std::to_string(id), [&](Reader& r, Status* error) {
        OrderRow row;
        if (!r.find(id, &row.order, &row.itemsJson, error)) {
            if (!*error) return Result<OrderRow>(*error);
            return Result<OrderRow>(StatusCode::NotFound, "Order not found");
        }
        return Result<OrderRow>(std::move(row));
    });
}

Status ReadModelDb::appendDocument(int64_t id, std::string* out, WaitPolicy wait) noexcept {
    int found = 0;
    Status s = withReader<Status>(wait, "reading order " + std::to_string(id), [&](Reader& r, Status* error) {
        found = r.appendDocument(id, out, error);
        return *error;
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
    if (!items)
        return Status(StatusCode::Internal,
                      "orders read model: items of order " + std::to_string(id) + " are not JSON");
    if (Status s = domain::parseItems(*items, &o.items); !s) return s;
    return o;
}

Result<std::vector<OrderRow>> ReadModelDb::list(const app::ListFilter& filter, WaitPolicy wait) noexcept {
    std::string sql = kSelectColumns;
    const char* glue = " WHERE ";
    if (filter.status) {
        sql += glue;
        sql += "status = ?";
        glue = " AND ";
    }
    if (filter.customer) {
        sql += glue;
        sql += "customer_name = ?";
        glue = " AND ";
    }
    if (filter.afterId > 0) {
        sql += glue;
        sql += filter.newestFirst ? "(created_at_ms, id) < (?, ?)" : "(created_at_ms, id) > (?, ?)";
    }
    sql += filter.newestFirst ? " ORDER BY created_at_ms DESC, id DESC LIMIT ?"
                              : " ORDER BY created_at_ms ASC, id ASC LIMIT ?";
    using Rows = Result<std::vector<OrderRow>>;
    return withReader<Rows>(wait, "querying orders", [&](Reader& r, Status* error) {
        sqlite::Stmt q;
        *error = q.prepare(r.db, sql.c_str());
        std::vector<OrderRow> rows;
        if (!*error) return Rows(*error);
        int index = 1;
        if (filter.status) q.bind(index++, static_cast<int64_t>(*filter.status));
        if (filter.customer) q.bind(index++, std::string_view(*filter.customer));
        if (filter.afterId > 0) {
            q.bind(index++, filter.afterCreatedAtMs);
            q.bind(index++, filter.afterId);
        }
        q.bind(index, filter.limit);
        while (q.nextRow(error)) {
            OrderRow& row = rows.emplace_back();
            readRow(q, &row.order, &row.itemsJson);
        }
        if (!*error) return Rows(*error);
        return Rows(std::move(rows));
    });
}

}  // namespace ordersystem::plugins::orders::store
