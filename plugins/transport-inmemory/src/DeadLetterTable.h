// Contract: one reaction's dead letters in the standalone log's dead_letters table, as the
// transport toolkit's DeadLetterStore (DeadLetterRetries and EventLog::deadLetters use it).
// Reads go through this object's own connection (opened on first use, serialised by a mutex);
// writes are ops of the log's one writer, through the group committer (never a second writer).
// Thread-safe; every method is bounded by SQLite's busy timeout and the commit it waits for.
#pragma once

#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "GroupCommitter.h"
#include "Schema.h"
#include "ordersystem/transport/dead_letters.h"

namespace ordersystem::plugins::inmemory {

class DeadLetterTable final : public transport::DeadLetterStore {
public:
    DeadLetterTable(std::string dbPath, std::string reaction, GroupCommitter& committer);

    sdk::Result<std::vector<sdk::DeadLetter>> list(size_t limit) noexcept override;
    sdk::Result<std::optional<sdk::DeadLetter>> find(const std::string& eventId) noexcept override;
    sdk::Status put(const sdk::DeadLetter& letter) noexcept override;
    sdk::Status remove(const std::string& eventId) noexcept override;

private:
    /// Opens the connection and prepares the queries once (caller holds _mutex).
    sdk::Status openReader();
    /// Runs q (bound already) and collects its rows (caller holds _mutex).
    sdk::Result<std::vector<sdk::DeadLetter>> collect(Stmt& q);
    sdk::Status submit(Op& op);

    const std::string _dbPath;
    const std::string _reaction;
    GroupCommitter& _committer;
    std::mutex _mutex;
    Db _db;
    Stmt _list;
    Stmt _find;
};

}  // namespace ordersystem::plugins::inmemory
