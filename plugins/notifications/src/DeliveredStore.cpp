// SQLite through Poco::Data: one session, a fresh Statement per call (Poco 1.11 pitfall).
#include "DeliveredStore.h"

#include <Poco/Data/SQLite/SessionImpl.h>
#include <Poco/Data/Session.h>
#include <Poco/Data/Statement.h>
#include <Poco/Exception.h>
#include <Poco/File.h>
#include <Poco/Path.h>

namespace ordersystem::plugins::notifications {

using namespace Poco::Data::Keywords;
using sdk::Result;
using sdk::Status;
using sdk::StatusCode;

namespace {
constexpr int kSchemaVersion = 1;
/// Seconds SQLite waits for a lock; short, so a stuck file shows up as a failure, not a hang.
constexpr std::size_t kBusyTimeoutSeconds = 2;
}  // namespace

DeliveredStore::DeliveredStore() = default;
DeliveredStore::~DeliveredStore() { close(); }

Status DeliveredStore::open(const std::string& path) {
    std::lock_guard<std::mutex> lock(_mutex);
    _path = path;
    try {
        Poco::Path parent = Poco::Path(path).parent();
        if (!parent.toString().empty()) Poco::File(parent).createDirectories();
        _session = std::make_unique<Poco::Data::Session>(
            new Poco::Data::SQLite::SessionImpl(path, kBusyTimeoutSeconds));
        Poco::Data::Session& s = *_session;
        s << "PRAGMA journal_mode=WAL", now;
        s << "PRAGMA synchronous=NORMAL", now;
        int version = 0;
        s << "PRAGMA user_version", into(version), now;
        if (version > kSchemaVersion) {
            _session.reset();
            return Status(StatusCode::Internal, path + " has schema version " + std::to_string(version) +
                                                    ", newer than this build knows (" + std::to_string(kSchemaVersion) + ")");
        }
        if (version < 1) {
            s << "BEGIN IMMEDIATE", now;
            try {
                s << "CREATE TABLE IF NOT EXISTS delivered ("
                     " event_id TEXT PRIMARY KEY NOT NULL,"
                     " delivered_at_ms INTEGER NOT NULL) WITHOUT ROWID", now;
                s << "CREATE INDEX IF NOT EXISTS delivered_by_time ON delivered(delivered_at_ms)", now;
                s << "PRAGMA user_version = 1", now;
                s << "COMMIT", now;
            } catch (...) {
                try { s << "ROLLBACK", now; } catch (...) {}
                throw;
            }
        }
        return Status::ok();
    } catch (const Poco::Exception& e) {
        _session.reset();
        return Status(StatusCode::Unavailable, "cannot open " + path + ": " + e.displayText());
    } catch (const std::exception& e) {
        _session.reset();
        return Status(StatusCode::Unavailable, "cannot open " + path + ": " + e.what());
    }
}

void DeliveredStore::close() noexcept {
    std::lock_guard<std::mutex> lock(_mutex);
    try {
        if (_session) _session->close();
    } catch (...) {
    }
    _session.reset();
}

Result<bool> DeliveredStore::contains(const std::string& eventId) {
    std::lock_guard<std::mutex> lock(_mutex);
    if (!_session) return Status(StatusCode::Unavailable, "delivery log is not open");
    try {
        int found = 0;
        std::string id = eventId;
        *_session << "SELECT COUNT(*) FROM delivered WHERE event_id = ?", use(id), into(found), now;
        return found > 0;
    } catch (const Poco::Exception& e) {
        return Status(StatusCode::Unavailable, _path + ": " + e.displayText());
    }
}

Status DeliveredStore::markDelivered(const std::string& eventId, int64_t nowMs) {
    std::lock_guard<std::mutex> lock(_mutex);
    if (!_session) return Status(StatusCode::Unavailable, "delivery log is not open");
    try {
        std::string id = eventId;
        Poco::Int64 at = nowMs;
        *_session << "INSERT OR IGNORE INTO delivered(event_id, delivered_at_ms) VALUES(?, ?)", use(id), use(at), now;
        return Status::ok();
    } catch (const Poco::Exception& e) {
        return Status(StatusCode::Unavailable, _path + ": " + e.displayText());
    }
}

Result<int64_t> DeliveredStore::pruneOlderThan(int64_t cutoffMs) {
    std::lock_guard<std::mutex> lock(_mutex);
    if (!_session) return Status(StatusCode::Unavailable, "delivery log is not open");
    try {
        Poco::Int64 cutoff = cutoffMs;
        Poco::Data::Statement st(*_session);
        st << "DELETE FROM delivered WHERE delivered_at_ms < ?", use(cutoff);
        const std::size_t removed = st.execute();
        return static_cast<int64_t>(removed);
    } catch (const Poco::Exception& e) {
        return Status(StatusCode::Unavailable, _path + ": " + e.displayText());
    }
}

Result<int64_t> DeliveredStore::size() {
    std::lock_guard<std::mutex> lock(_mutex);
    if (!_session) return Status(StatusCode::Unavailable, "delivery log is not open");
    try {
        Poco::Int64 n = 0;
        *_session << "SELECT COUNT(*) FROM delivered", into(n), now;
        return static_cast<int64_t>(n);
    } catch (const Poco::Exception& e) {
        return Status(StatusCode::Unavailable, _path + ": " + e.displayText());
    }
}

}  // namespace ordersystem::plugins::notifications
