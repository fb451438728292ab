// SQLite through Poco::Data: a fresh Statement per call (a Statement that threw is unusable in
// Poco 1.11), BEGIN IMMEDIATE issued by hand (Session::begin() is DEFERRED).
#include "AnalyticsStore.h"

#include <Poco/Data/SQLite/SessionImpl.h>
#include <Poco/Data/Session.h>
#include <Poco/Data/Statement.h>
#include <Poco/Exception.h>
#include <Poco/File.h>
#include <Poco/Path.h>

#include <algorithm>
#include <vector>

namespace ordersystem::plugins::analytics {

using namespace Poco::Data::Keywords;
using sdk::Status;
using sdk::StatusCode;

namespace {
constexpr int kSchemaVersion = 1;
/// Seconds SQLite waits for a lock: short, so a stuck file fails an apply instead of hanging it.
constexpr std::size_t kBusyTimeoutSeconds = 2;
/// Rows per multi-row statement: well under SQLite's limits, large enough to amortize prepares.
constexpr size_t kRowsPerStatement = 256;
}  // namespace

AnalyticsStore::AnalyticsStore() = default;
AnalyticsStore::~AnalyticsStore() { close(); }

Status AnalyticsStore::open(const std::string& path) {
    _path = path;
    _createdFresh = false;
    try {
        const std::string parent = Poco::Path(path).parent().toString();
        if (!parent.empty()) Poco::File(parent).createDirectories();
        _session = std::make_unique<Poco::Data::Session>(new Poco::Data::SQLite::SessionImpl(path, kBusyTimeoutSeconds));
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
        if (version < 1) {
            begin();
            try {
                s << "CREATE TABLE IF NOT EXISTS orders ("
                     " order_id INTEGER PRIMARY KEY NOT NULL,"
                     " status TEXT NOT NULL,"
                     " total_cents INTEGER NOT NULL,"
                     " version INTEGER NOT NULL)", now;
                s << "CREATE TABLE IF NOT EXISTS checkpoint ("
                     " id INTEGER PRIMARY KEY CHECK (id = 1),"
                     " position INTEGER NOT NULL)", now;
                s << "INSERT OR IGNORE INTO checkpoint(id, position) VALUES(1, 0)", now;
                s << "PRAGMA user_version = 1", now;
                commit();
            } catch (...) {
                rollback();
                throw;
            }
            _createdFresh = true;
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

void AnalyticsStore::close() noexcept {
    try {
        if (_session) _session->close();
    } catch (...) {
    }
    _session.reset();
}

Totals AnalyticsStore::loadTotals() {
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

void AnalyticsStore::begin() { *_session << "BEGIN IMMEDIATE", now; }

void AnalyticsStore::commit() { *_session << "COMMIT", now; }

void AnalyticsStore::rollback() noexcept {
    try {
        if (_session) *_session << "ROLLBACK", now;
    } catch (...) {
        // No transaction open (BEGIN failed): nothing to undo.
    }
}

std::map<int64_t, OrderState> AnalyticsStore::findMany(const std::vector<int64_t>& ids) {
    std::map<int64_t, OrderState> found;
    for (size_t from = 0; from < ids.size(); from += kRowsPerStatement) {
        const size_t to = std::min(ids.size(), from + kRowsPerStatement);
        // Integers only, formatted by us: no injection possible, and one prepare per chunk.
        std::string sql = "SELECT order_id, status, total_cents, version FROM orders WHERE order_id IN (";
        for (size_t i = from; i < to; ++i) {
            if (i > from) sql += ',';
            sql += std::to_string(ids[i]);
        }
        sql += ')';
        std::vector<Poco::Int64> orderIds, totals, versions;
        std::vector<std::string> statuses;
        *_session << sql, into(orderIds), into(statuses), into(totals), into(versions), now;
        for (size_t i = 0; i < orderIds.size(); ++i) {
            const auto status = statusFromName(statuses[i]);
            if (!status)
                throw Poco::DataException(_path + " holds an unknown status \"" + statuses[i] + "\" for order " +
                                          std::to_string(orderIds[i]));
            found[orderIds[i]] = OrderState{*status, totals[i], versions[i]};
        }
    }
    return found;
}

void AnalyticsStore::upsertMany(const std::map<int64_t, OrderState>& orders) {
    auto it = orders.begin();
    while (it != orders.end()) {
        // Integers and our own fixed status names only: safe to inline, one prepare per chunk.
        std::string sql = "INSERT INTO orders(order_id, status, total_cents, version) VALUES ";
        for (size_t n = 0; n < kRowsPerStatement && it != orders.end(); ++n, ++it) {
            if (n > 0) sql += ',';
            sql += '(' + std::to_string(it->first) + ",'" + statusName(it->second.status) + "'," +
                   std::to_string(it->second.totalCents) + ',' + std::to_string(it->second.version) + ')';
        }
        sql += " ON CONFLICT(order_id) DO UPDATE SET status = excluded.status, "
               "total_cents = excluded.total_cents, version = excluded.version";
        *_session << sql, now;
    }
}

void AnalyticsStore::setCheckpoint(uint64_t position) {
    Poco::Int64 p = static_cast<Poco::Int64>(position);
    *_session << "UPDATE checkpoint SET position = ? WHERE id = 1", use(p), now;
}

}  // namespace ordersystem::plugins::analytics
