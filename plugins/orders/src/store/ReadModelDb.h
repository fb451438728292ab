// Contract: the orders read model's SQLite file through Poco::Data.
// - open() (start-up thread) creates the folder, opens the writer session, sets WAL and
//   synchronous=NORMAL (the file is rebuildable from the log) and migrates the schema in place
//   (PRAGMA user_version; a newer version than this build knows is refused).
// - writeBatch() is called only by the projection's apply thread; it uses the one writer session
//   and `BEGIN IMMEDIATE`, and stores the checkpoint in the same transaction as the rows.
// - loadOrder()/list()/readCheckpoint() run on any thread; each borrows a reader session from a small
//   pool (a session is never used by two threads at once).
// Errors come back as Status (Unavailable for database failures); nothing here throws.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "domain/Order.h"
#include "ordersystem/sdk/logger.h"
#include "ordersystem/sdk/status.h"

namespace Poco::Data {
class Session;
}

namespace ordersystem::plugins::orders::store {

/// The schema version this build writes (see migrate() in ReadModelDb.cpp for the history).
inline constexpr int kSchemaVersion = 2;

/// One row: the aggregate plus the items exactly as stored (JSON array text).
struct OrderRow {
    domain::Order order;  ///< items left empty; itemsJson holds them
    std::string itemsJson;
};

struct ListFilter {
    std::optional<domain::OrderStatus> status;
    std::optional<std::string> customer;
    int64_t afterId = 0;     ///< cursor: ids strictly after this one in the chosen direction (0 = start)
    bool newestFirst = false;
    int64_t limit = 100;
};

class ReadModelDb {
public:
    explicit ReadModelDb(sdk::Logger& logger);
    ~ReadModelDb();
    ReadModelDb(const ReadModelDb&) = delete;
    ReadModelDb& operator=(const ReadModelDb&) = delete;

    sdk::Status open(const std::string& path);
    void close() noexcept;

    sdk::Result<uint64_t> readCheckpoint(const std::string& projection) noexcept;
    /// Upserts the orders and sets the checkpoint, all in one transaction.
    sdk::Status writeBatch(const std::vector<const domain::Order*>& orders, const std::string& projection,
                           uint64_t checkpoint) noexcept;

    /// The order with its items parsed; NotFound when absent.
    sdk::Result<domain::Order> loadOrder(int64_t id) noexcept;
    sdk::Result<std::vector<OrderRow>> list(const ListFilter& filter) noexcept;

    /// Schema version found in the file when it was opened (before migrating).
    int openedSchemaVersion() const noexcept { return _openedVersion; }

private:
    class ReaderLease;
    struct Reader;
    struct WriterStatements;
    /// Prepared once and re-executed per row; rebuilt after a failure (a Statement that threw is unusable).
    WriterStatements& writerStatements(const std::string& projection);
    std::unique_ptr<Poco::Data::Session> newSession();
    std::unique_ptr<Reader> acquireReader();
    void releaseReader(std::unique_ptr<Reader> reader);
    void migrate(Poco::Data::Session& session);

    sdk::Logger& _logger;
    std::string _path;
    std::unique_ptr<Poco::Data::Session> _writer;
    std::unique_ptr<WriterStatements> _statements;  ///< apply thread only
    std::mutex _poolMutex;
    std::vector<std::unique_ptr<Reader>> _readers;
    int _openedVersion = 0;
};

}  // namespace ordersystem::plugins::orders::store
