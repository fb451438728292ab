// The delivery log through the plugins' SQLite layer (sdk/sqlite), statements prepared once.
#include "DeliveredStore.h"

#include <filesystem>
#include <system_error>
#include <utility>

#include "ordersystem/sqlite/db.h"

namespace ordersystem::plugins::notifications {

using sdk::Result;
using sdk::Status;
using sdk::StatusCode;

namespace {
constexpr int kSchemaVersion = 1;
/// How long SQLite waits for a lock; short, so a stuck file shows up as a failure, not a hang.
constexpr int kBusyTimeoutMs = 2000;

/// The file's tables at kSchemaVersion, in one transaction.
Status createSchema(sqlite::Db& db) {
    if (Status s = db.execute("BEGIN IMMEDIATE"); !s) return s;
    Status s = db.execute(
        "CREATE TABLE IF NOT EXISTS delivered ("
        " event_id TEXT PRIMARY KEY NOT NULL,"
        " delivered_at_ms INTEGER NOT NULL) WITHOUT ROWID;"
        "CREATE INDEX IF NOT EXISTS delivered_by_time ON delivered(delivered_at_ms);"
        "PRAGMA user_version = 1;"
        "COMMIT");
    if (!s) (void)db.execute("ROLLBACK");
    return s;
}
}  // namespace

struct DeliveredStore::Statements {
    sqlite::Stmt contains, mark, prune, count;

    Status prepare(sqlite::Db& db) {
        const std::pair<sqlite::Stmt*, const char*> all[] = {
            {&contains, "SELECT COUNT(*) FROM delivered WHERE event_id = ?"},
            {&mark, "INSERT OR IGNORE INTO delivered(event_id, delivered_at_ms) VALUES(?, ?)"},
            {&prune, "DELETE FROM delivered WHERE delivered_at_ms < ?"},
            {&count, "SELECT COUNT(*) FROM delivered"},
        };
        for (const auto& [stmt, sql] : all)
            if (Status s = stmt->prepare(db, sql); !s) return s;
        return Status::ok();
    }
};

namespace {
/// Steps a one-row count query and resets it.
Result<int64_t> countOf(sqlite::Stmt& q) {
    Status error;
    const int64_t n = q.nextRow(&error) ? q.int64(0) : 0;
    q.reset();
    if (!error) return error;
    return n;
}
}  // namespace

DeliveredStore::DeliveredStore() = default;
DeliveredStore::~DeliveredStore() { close(); }

Status DeliveredStore::open(const std::string& path) {
    std::lock_guard<std::mutex> lock(_mutex);
    _path = path;
    std::error_code ec;
    const auto parent = std::filesystem::path(path).parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent, ec);
    if (ec) return Status(StatusCode::Unavailable, "cannot create " + parent.string() + ": " + ec.message());
    auto db = std::make_unique<sqlite::Db>();
    auto statements = std::make_unique<Statements>();
    Status s = db->open(path, false, kBusyTimeoutMs);
    if (s) s = db->execute("PRAGMA journal_mode=WAL");
    if (s) s = db->execute("PRAGMA synchronous=NORMAL");
    auto version = s ? db->queryInt("PRAGMA user_version") : Result<int64_t>(s);
    if (!version) return Status(StatusCode::Unavailable, "cannot open " + path + ": " + version.status().message);
    if (*version > kSchemaVersion)
        return Status(StatusCode::Internal, path + " has schema version " + std::to_string(*version) +
                                                ", newer than this build knows (" + std::to_string(kSchemaVersion) +
                                                ")");
    if (*version < 1) s = createSchema(*db);
    if (s) s = statements->prepare(*db);
    if (!s) return Status(StatusCode::Unavailable, "cannot open " + path + ": " + s.message);
    _db = std::move(db);
    _statements = std::move(statements);
    return Status::ok();
}

void DeliveredStore::close() noexcept {
    std::lock_guard<std::mutex> lock(_mutex);
    _statements.reset();
    _db.reset();
}

Status DeliveredStore::ready() const {
    return _db ? Status::ok() : Status(StatusCode::Unavailable, "delivery log is not open");
}

Result<bool> DeliveredStore::contains(const std::string& eventId) {
    std::lock_guard<std::mutex> lock(_mutex);
    if (Status s = ready(); !s) return s;
    _statements->contains.bind(1, eventId);
    auto found = countOf(_statements->contains);
    if (!found) return Status(StatusCode::Unavailable, _path + ": " + found.status().message);
    return *found > 0;
}

Status DeliveredStore::markDelivered(const std::string& eventId, int64_t nowMs) {
    std::lock_guard<std::mutex> lock(_mutex);
    if (Status s = ready(); !s) return s;
    sqlite::Stmt& q = _statements->mark;
    q.bind(1, eventId);
    q.bind(2, nowMs);
    const Status s = q.exec();
    q.reset();
    if (!s) return Status(StatusCode::Unavailable, _path + ": " + s.message);
    return Status::ok();
}

Result<int64_t> DeliveredStore::pruneOlderThan(int64_t cutoffMs) {
    std::lock_guard<std::mutex> lock(_mutex);
    if (Status s = ready(); !s) return s;
    sqlite::Stmt& q = _statements->prune;
    q.bind(1, cutoffMs);
    const Status s = q.exec();
    q.reset();
    if (!s) return Status(StatusCode::Unavailable, _path + ": " + s.message);
    return static_cast<int64_t>(_db->changes());
}

Result<int64_t> DeliveredStore::size() {
    std::lock_guard<std::mutex> lock(_mutex);
    if (Status s = ready(); !s) return s;
    auto n = countOf(_statements->count);
    if (!n) return Status(StatusCode::Unavailable, _path + ": " + n.status().message);
    return n;
}

}  // namespace ordersystem::plugins::notifications
