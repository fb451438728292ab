// Contract: the one thin RAII layer over the sqlite3 C API through which every plugin keeps its
// SQLite files (the standalone event log, the orders read model, analytics, notifications).
// One Db is one connection; it is NOT thread-safe: each thread (or the group-commit leader, which
// holds leadership) uses its own Db, or the owner serialises the calls. Errors come back as
// sdk::Status (never exceptions): Unavailable for a database failure, Conflict for a constraint.
//
// Why the C API and not Poco::Data: every one of these files is written per event, and the log
// and the read model are read per request; statements prepared once per connection, bound
// without copies and reset instead of rebuilt skip Poco::Data's per-execution binders and
// extractors, its re-prepare on every execute() (Poco 1.11) and its "a Statement that threw is
// unusable" rule (docs/architecture.md, "SQLite").
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "ordersystem/sdk/status.h"

namespace ordersystem::sqlite {

class Db;

/// A prepared statement reused across executions; reset() before each use.
class Stmt {
public:
    Stmt() = default;
    ~Stmt();
    Stmt(const Stmt&) = delete;
    Stmt& operator=(const Stmt&) = delete;
    Stmt(Stmt&& other) noexcept : _stmt(other._stmt), _db(other._db) { other._stmt = nullptr; }
    Stmt& operator=(Stmt&& other) noexcept;

    sdk::Status prepare(Db& db, const char* sql);
    /// Clears bindings and rewinds; call before binding a new execution.
    void reset() noexcept;
    void bind(int index, int64_t value) noexcept;
    void bind(int index, std::string_view text) noexcept;
    void bindNull(int index) noexcept;
    /// Executes one step: SQLITE_ROW, SQLITE_DONE or an error code.
    int step() noexcept;
    /// step() expecting SQLITE_DONE; the Status names the statement on failure.
    sdk::Status exec() noexcept;
    /// step() for a query: true on a row, false when done; *error is set on a failure.
    bool nextRow(sdk::Status* error) noexcept;
    int64_t int64(int column) const noexcept { return sqlite3_column_int64(_stmt, column); }
    std::string text(int column) const;
    /// The column's text without a copy; valid until the next step() or reset().
    std::string_view textView(int column) const noexcept;

private:
    sdk::Status failure(int rc) const;
    sqlite3_stmt* _stmt = nullptr;
    sqlite3* _db = nullptr;
};

/// One SQLite connection.
class Db {
public:
    Db() = default;
    ~Db() { close(); }
    Db(const Db&) = delete;
    Db& operator=(const Db&) = delete;

    /// Opens (creating when allowed) with a short busy timeout, through the gathering VFS this
    /// shared object registered (wal_gathering_vfs.h), the plain VFS when it registered none.
    sdk::Status open(const std::string& path, bool readOnly, int busyTimeoutMs = 2000);
    void close() noexcept;
    /// Runs one or more statements without results.
    sdk::Status execute(const char* sql) noexcept;
    sdk::Status execute(const std::string& sql) noexcept { return execute(sql.c_str()); }
    /// The first column of the first row of a one-off query (PRAGMA user_version, COUNT(*));
    /// 0 when it returns no row.
    sdk::Result<int64_t> queryInt(const char* sql);
    sqlite3* handle() noexcept { return _db; }
    std::string lastError() const;
    int changes() const noexcept { return sqlite3_changes(_db); }
    /// False inside a transaction.
    bool autocommit() const noexcept { return sqlite3_get_autocommit(_db) != 0; }
    /// Copies this database as of one read transaction into a new file at path (SQLite's online
    /// backup: writers in other connections and processes go on); retries while it is locked.
    sdk::Status backupInto(const std::string& path);

private:
    sqlite3* _db = nullptr;
};

}  // namespace ordersystem::sqlite
