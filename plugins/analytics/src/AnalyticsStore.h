// Contract: the analytics SQLite file (WAL, synchronous=NORMAL: it can always be rebuilt from
// the log) through the plugins' SQLite layer (sdk/sqlite). Opened and loaded in start() on the
// main thread, then written only by the projection's single transport thread (the SDK
// guarantees apply() calls never overlap), so it holds one connection without a lock. Methods
// throw StoreError on SQLite errors, except open() which returns a Status; the caller
// (AnalyticsPlugin::apply) rolls back and reports.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "Aggregates.h"
#include "ordersystem/sdk/status.h"

namespace ordersystem::sqlite {
class Db;
}

namespace ordersystem::plugins::analytics {

/// A failed read or write of the analytics file, with SQLite's message.
struct StoreError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

class AnalyticsStore {
public:
    AnalyticsStore();
    ~AnalyticsStore();
    AnalyticsStore(const AnalyticsStore&) = delete;
    AnalyticsStore& operator=(const AnalyticsStore&) = delete;

    /// Creates folder and file when missing and migrates the schema (PRAGMA user_version).
    sdk::Status open(const std::string& path);
    void close() noexcept;
    bool isOpen() const noexcept { return _db != nullptr; }
    /// True when open() created the schema, i.e. analytics starts from an empty file.
    bool createdFresh() const noexcept { return _createdFresh; }
    /// The schema version open() found and upgraded, when it was an older one (0 otherwise).
    int upgradedFrom() const noexcept { return _upgradedFrom; }

    /// The totals stored with the checkpoint (one row, whatever the number of orders).
    Totals loadTotals();
    uint64_t loadCheckpoint();

    void begin();  ///< BEGIN IMMEDIATE
    void commit();
    void rollback() noexcept;
    /// The known orders among ids (one prepared lookup each).
    std::map<int64_t, OrderState> findMany(const std::vector<int64_t>& ids);
    /// Writes every order of the map (one prepared upsert each).
    void upsertMany(const std::map<int64_t, OrderState>& orders);
    /// The position applied and the totals after it, in the batch's transaction.
    void setCheckpoint(uint64_t position, const Totals& totals);

private:
    /// Brings the schema from version `from` to the current one (inside a transaction).
    void migrate(int from);
    /// Aggregates recomputed from the per-order rows (migrating a version 1 file).
    Totals totalsFromOrders();

    struct Statements;
    std::unique_ptr<sqlite::Db> _db;
    /// Prepared once per connection: re-parsing the SQL every batch cost more than the rows.
    std::unique_ptr<Statements> _statements;
    std::string _path;
    bool _createdFresh = false;
    int _upgradedFrom = 0;
};

}  // namespace ordersystem::plugins::analytics
