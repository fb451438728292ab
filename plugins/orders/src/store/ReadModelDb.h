// Contract: the orders read model's SQLite file through the plugins' SQLite layer (sdk/sqlite).
// - open() (start-up thread) creates the folder, opens the writer connection, sets WAL and
//   synchronous=NORMAL (the file is rebuildable from the log) and migrates the schema in place
//   (PRAGMA user_version; a newer version than this build knows is refused).
// - writeBatch() is called only by the projection's apply thread; it uses the one writer
//   connection and `BEGIN IMMEDIATE`, and stores the checkpoint in the same transaction as the rows.
// - loadOrder()/list()/readCheckpoint() run on any thread; each borrows a reader connection from
//   a pool (a connection is never used by two threads at once); at most kReaderSlots exist, one
//   more caller waits for one to be returned. A reader keeps its read transaction open between
//   reads until a batch is written (each batch raises a generation; a reader that saw an older one
//   takes a new snapshot), and writeBatch() first ends those of idle readers, so an idle reader
//   never holds the -wal file back from its checkpoint.
// - With app::WaitPolicy::MustNotWait a read waits neither for a connection nor for the disk: its
//   pages come from the kernel's page cache only (sqlite/nonblocking_reads.h, scoped to the one
//   read), and where it would have waited it answers WouldBlock (counted in the counter given to
//   countDiskRefusals when the disk was the reason).
// Errors come back as Status (Unavailable for database failures); nothing here throws.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "app/ReadModelPort.h"
#include "domain/Order.h"
#include "ordersystem/sdk/logger.h"
#include "ordersystem/sdk/metrics.h"
#include "ordersystem/sdk/status.h"

namespace ordersystem::sqlite {
class Db;
}

namespace ordersystem::plugins::orders::store {

/// The schema version this build writes (see migrate() in ReadModelDb.cpp for the history).
inline constexpr int kSchemaVersion = 4;

/// One row to upsert: the order and, when the caller has it already, its document JSON
/// (empty: built here). Stored so that a GET of an uncached order copies one column.
struct RowToWrite {
    const domain::Order* order = nullptr;
    std::string_view document;
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
    sdk::Status writeBatch(const std::vector<RowToWrite>& rows, const std::string& projection,
                           uint64_t checkpoint) noexcept;

    /// The order with its items parsed; NotFound when absent.
    sdk::Result<domain::Order> loadOrder(int64_t id) noexcept;
    /// The stored row with the items left as JSON text (no parsing); NotFound when absent.
    sdk::Result<app::OrderRow> loadRow(int64_t id, app::WaitPolicy wait) noexcept;
    /// Appends the stored order document of `id` to *out (built from the row when an older schema
    /// left it empty); NotFound when absent.
    sdk::Status appendDocument(int64_t id, std::string* out, app::WaitPolicy wait) noexcept;
    sdk::Result<std::vector<app::OrderRow>> list(const app::ListFilter& filter, app::WaitPolicy wait) noexcept;

    /// Counts the MustNotWait reads refused because they needed the disk; may be null.
    void countDiskRefusals(sdk::Counter* counter) noexcept { _diskRefusals = counter; }

    /// Schema version found in the file when it was opened (before migrating).
    int openedSchemaVersion() const noexcept { return _openedVersion; }

private:
    class ReaderLease;
    struct Reader;
    struct WriterStatements;
    /// Prepared once and re-executed per row; rebuilt after a failure. Null with *error set when
    /// preparing failed.
    WriterStatements* writerStatements(const std::string& projection, sdk::Status* error);
    /// Opens db on the file with this model's settings (busy timeout, synchronous, page cache).
    sdk::Status openConnection(sqlite::Db& db);
    /// Runs read(reader, &error) on a borrowed reader: R is what read returns (a Status or a
    /// Result); database failures become Unavailable naming `what`, a read that would have
    /// waited (MustNotWait) WouldBlock.
    template <class R, class Read>
    R withReader(app::WaitPolicy wait, const std::string& what, Read&& read) noexcept;
    /// *slot is now owned by the caller, its reader opened; not Ok when opening it failed, and
    /// WouldBlock when every slot is busy and the caller must not wait.
    sdk::Status acquireReader(app::WaitPolicy wait, size_t* slot);
    /// Ends the read transactions of the readers nobody holds (apply thread, before a batch).
    void endIdleSnapshots() noexcept;
    /// Gives the slot back; discard: its reader failed and is closed (reopened on next use).
    void releaseReader(size_t slot, bool discard) noexcept;
    sdk::Status migrate(sqlite::Db& db);

    sdk::Logger& _logger;
    std::string _path;
    std::unique_ptr<sqlite::Db> _writer;
    std::unique_ptr<WriterStatements> _statements;  ///< apply thread only
    /// A fixed set of reader slots claimed with one compare-exchange: no mutex on the common path.
    struct ReaderSlot {
        std::atomic<bool> busy{false};
        std::unique_ptr<Reader> reader;  ///< owned by whoever holds busy; opened lazily
        /// True when this caller now holds the slot (a free-looking slot is claimed with one CAS).
        bool tryClaim() noexcept {
            bool expected = false;
            return !busy.load(std::memory_order_relaxed) && busy.compare_exchange_strong(expected, true);
        }
    };
    /// Bounded (each connection holds up to a 512 KiB page cache; up to 128 HTTP threads), but
    /// above the core count: a preempted slot holder must not stall GETs (docs/performance.md).
    static constexpr size_t kReaderSlots = 64;
    ReaderSlot _slots[kReaderSlots];
    std::atomic<int> _slotWaiters{0};
    std::atomic<uint64_t> _generation{0};  ///< raised after each committed batch
    std::mutex _poolMutex;                 ///< only for sleeping while every slot is busy
    std::condition_variable _poolCv;
    int _openedVersion = 0;
    sdk::Counter* _diskRefusals = nullptr;
};

}  // namespace ordersystem::plugins::orders::store
