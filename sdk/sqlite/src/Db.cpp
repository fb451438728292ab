// The thin sqlite3 layer (see ordersystem/sqlite/db.h).
#include "ordersystem/sqlite/db.h"

#include "ordersystem/sqlite/wal_gathering_vfs.h"

namespace ordersystem::sqlite {

using sdk::Result;
using sdk::Status;
using sdk::StatusCode;

Stmt::~Stmt() {
    if (_stmt) sqlite3_finalize(_stmt);
}

Stmt& Stmt::operator=(Stmt&& other) noexcept {
    if (this != &other) {
        if (_stmt) sqlite3_finalize(_stmt);
        _stmt = other._stmt;
        _db = other._db;
        other._stmt = nullptr;
    }
    return *this;
}

Status Stmt::prepare(Db& db, const char* sql) {
    if (_stmt) sqlite3_finalize(_stmt);
    _stmt = nullptr;
    _db = db.handle();
    const int rc = sqlite3_prepare_v3(_db, sql, -1, SQLITE_PREPARE_PERSISTENT, &_stmt, nullptr);
    if (rc == SQLITE_OK) return Status::ok();
    // SQLITE_ERROR is the statement itself (a bug); anything else is the file (busy, I/O).
    const StatusCode code = rc == SQLITE_ERROR ? StatusCode::Internal : StatusCode::Unavailable;
    return Status(code, std::string("cannot prepare '") + sql + "': " + sqlite3_errmsg(_db));
}

void Stmt::reset() noexcept {
    sqlite3_reset(_stmt);
    sqlite3_clear_bindings(_stmt);
}

void Stmt::bind(int index, int64_t value) noexcept { sqlite3_bind_int64(_stmt, index, value); }

void Stmt::bind(int index, std::string_view text) noexcept {
    // SQLITE_STATIC: the caller's string outlives the step (it is bound, stepped, reset in one call).
    sqlite3_bind_text(_stmt, index, text.data(), static_cast<int>(text.size()), SQLITE_STATIC);
}

void Stmt::bindNull(int index) noexcept { sqlite3_bind_null(_stmt, index); }

int Stmt::step() noexcept { return sqlite3_step(_stmt); }

Status Stmt::failure(int rc) const {
    const StatusCode code = (rc == SQLITE_CONSTRAINT) ? StatusCode::Conflict : StatusCode::Unavailable;
    return Status(code, std::string("sqlite: ") + sqlite3_errmsg(_db) + " in '" + sqlite3_sql(_stmt) + "'");
}

Status Stmt::exec() noexcept {
    const int rc = sqlite3_step(_stmt);
    if (rc == SQLITE_DONE || rc == SQLITE_ROW) return Status::ok();
    return failure(rc);
}

bool Stmt::nextRow(Status* error) noexcept {
    const int rc = sqlite3_step(_stmt);
    if (rc == SQLITE_ROW) return true;
    if (rc != SQLITE_DONE) *error = failure(rc);
    return false;
}

std::string Stmt::text(int column) const { return std::string(textView(column)); }

std::string_view Stmt::textView(int column) const noexcept {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(_stmt, column));
    if (!p) return {};
    return std::string_view(p, static_cast<size_t>(sqlite3_column_bytes(_stmt, column)));
}

Status Db::open(const std::string& path, bool readOnly, int busyTimeoutMs) {
    close();
    const int flags = (readOnly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)) |
                      SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI;
    // Each commit's WAL frames in one write (see wal_gathering_vfs.h); the plain VFS otherwise.
    const std::string name = openNameThroughWalGathering(path);
    if (sqlite3_open_v2(name.c_str(), &_db, flags, nullptr) != SQLITE_OK) {
        std::string msg = _db ? sqlite3_errmsg(_db) : "out of memory";
        close();
        return Status(StatusCode::Unavailable, "cannot open '" + path + "': " + msg);
    }
    sqlite3_busy_timeout(_db, busyTimeoutMs);
    return Status::ok();
}

void Db::close() noexcept {
    if (_db) sqlite3_close_v2(_db);
    _db = nullptr;
}

Status Db::execute(const char* sql) noexcept {
    char* err = nullptr;
    if (sqlite3_exec(_db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
        std::string msg = err ? err : sqlite3_errmsg(_db);
        sqlite3_free(err);
        return Status(StatusCode::Unavailable, "sqlite: " + msg + " in '" + sql + "'");
    }
    return Status::ok();
}

Result<int64_t> Db::queryInt(const char* sql) {
    Stmt q;
    if (Status s = q.prepare(*this, sql); !s) return s;
    Status error;
    const int64_t value = q.nextRow(&error) ? q.int64(0) : 0;
    if (!error) return error;
    return value;
}

Status Db::backupInto(const std::string& path) {
    Db target;
    if (Status s = target.open(path, false); !s) return s;
    sqlite3_backup* backup = sqlite3_backup_init(target.handle(), "main", _db, "main");
    if (!backup) return Status(StatusCode::Unavailable, "cannot back up into '" + path + "': " + target.lastError());
    int rc = SQLITE_OK;
    // -1: every page in one step, so the copy is one read transaction of the source.
    for (int attempt = 0; attempt < 200; ++attempt) {
        rc = sqlite3_backup_step(backup, -1);
        if (rc != SQLITE_BUSY && rc != SQLITE_LOCKED) break;
        sqlite3_sleep(25);
    }
    sqlite3_backup_finish(backup);
    if (rc != SQLITE_DONE)
        return Status(StatusCode::Unavailable, "backing up into '" + path + "': " + sqlite3_errstr(rc));
    return Status::ok();
}

std::string Db::lastError() const { return _db ? sqlite3_errmsg(_db) : "closed"; }

}  // namespace ordersystem::sqlite
