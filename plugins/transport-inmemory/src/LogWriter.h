// Contract: the single writer of the event log database. Only the current group-commit leader
// calls commitBatch() (GroupCommitter guarantees one at a time), so nothing here locks.
// open() runs on the plugin's start thread before any append. Errors are sdk::Status values.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "Schema.h"
#include "ordersystem/sdk/eventlog.h"
#include "ordersystem/sdk/host.h"
#include "ordersystem/transport/handoff.h"

namespace ordersystem::plugins::inmemory {

/// RaiseIds: the id high water becomes at least value (never lowered), for an import.
/// DeadLetter: stores event as reaction name's dead letter (replacing one of its position);
/// RemoveDeadLetter: deletes name's dead letter with eventId key.
/// ReactionDone: name's positions done past its checkpoint become positions (replacing the last set).
enum class OpKind : int {
    Append,
    Claim,
    Complete,
    Release,
    ReserveIds,
    RaiseIds,
    ReactionCheckpoint,
    DeadLetter,
    RemoveDeadLetter,
    ReactionDone
};

/// One queued write; lives on the caller's stack (no heap allocation per request), except an
/// AsyncOp (GroupCommitter.h), which the committer owns from submitAsync() on.
struct Op {
    explicit Op(OpKind k) : kind(k) {}
    OpKind kind;
    // Inputs (pointers into the caller's frame; valid until done).
    sdk::AppendRequest* append = nullptr;
    const sdk::IdempotencyCompletion* completion = nullptr;
    const std::string* key = nullptr;
    const std::string* fingerprint = nullptr;
    const std::string* name = nullptr;
    const sdk::EventRecord* event = nullptr;
    const std::string* error = nullptr;
    const std::vector<uint64_t>* positions = nullptr;
    int64_t value = 0;  ///< lease ms, high water, checkpoint position or attempts
    // Outputs.
    sdk::Status status;
    sdk::AppendResult result;
    sdk::IdempotencyClaim claim;
    transport::HandOff handoff;  ///< between the leader and this op's submitter
    Op* next = nullptr;          ///< queue link, guarded by the committer's mutex
    /// Set by GroupCommitter::submitAsync: an AsyncOp, completed by the leader instead of woken.
    bool async = false;
};

/// What was loaded from the database at start.
struct LogState {
    uint64_t headPosition = 0;
    int64_t idHighWater = 0;
};

/// Order id -> current version for the ids above `base`. Standalone ids are consecutive, so a
/// flat array indexed by id - base costs 4 bytes per order (an unordered_map node costs ~60);
/// outliers go to a map.
class VersionTable {
public:
    void set(int64_t orderId, int64_t version);
    int64_t get(int64_t orderId) const;  ///< 0 when unknown
    /// Empties the table; from now on it holds ids above base.
    void reset(int64_t base);

private:
    static constexpr size_t kDenseSlack = size_t{1} << 20;
    int64_t _base = 0;
    std::vector<int32_t> _dense;
    std::unordered_map<int64_t, int64_t> _sparse;
};

class LogWriter {
public:
    LogWriter() = default;
    LogWriter(const LogWriter&) = delete;
    LogWriter& operator=(const LogWriter&) = delete;

    /// Opens/creates the file, applies WAL + synchronous, creates tables. Reads a handful of rows
    /// whatever the size of the log (start-up does not grow with the number of orders).
    sdk::Status open(const std::string& path, sdk::Durability durability, LogState& state);
    void close() noexcept;

    /// Executes ops in one transaction (falls back to one transaction per op when the batch
    /// fails as a whole). Appends the committed events, in position order, to `committed`.
    /// Returns false when the database itself failed (not when a request was refused).
    bool commitBatch(Op* const* ops, size_t count, std::vector<sdk::EventRecord>& committed);

    /// Lazily deletes expired idempotency rows (completed after 24 h, leases when expired).
    void purgeExpired(int64_t nowMs) noexcept;

    uint64_t headPosition() const noexcept { return _nextPosition - 1; }

private:
    sdk::Status prepareAll();
    /// Runs one op inside the open transaction; a non-Ok return means "roll back the batch".
    sdk::Status runOp(Op& op, int64_t nowMs, std::vector<sdk::EventRecord>& committed);
    sdk::Status runAppend(Op& op, std::vector<sdk::EventRecord>& committed);
    sdk::Status runClaim(Op& op, int64_t nowMs);
    sdk::Status storeCompletion(const sdk::IdempotencyCompletion& c, int64_t nowMs);
    sdk::Status runDeadLetter(Op& op, int64_t nowMs);
    sdk::Status runReactionDone(Op& op);
    /// The order's current version (0: no events), as of the open transaction.
    sdk::Status versionOf(int64_t orderId, int64_t& version);
    /// Version of an order stored before open(): cached, else one lookup in the (order_id,
    /// version) index.
    sdk::Status storedVersion(int64_t orderId, int64_t& version);
    void remember(int64_t orderId, int64_t version);
    sdk::Status tryBatch(Op* const* ops, size_t count, int64_t nowMs, std::vector<sdk::EventRecord>& committed);
    static bool isDatabaseFailure(const sdk::Status& status) noexcept;

    Db _db;
    Stmt _begin, _commit, _rollback;
    Stmt _insertEvent, _selectIdem, _upsertIdem, _deleteIdem, _setHighWater, _raiseHighWater;
    Stmt _setReactionCheckpoint, _insertDeadLetter, _deleteDeadLetter, _purgeIdem, _selectVersion;
    Stmt _clearReactionDone, _insertReactionDone;
    /// Ids at or below this (the id high water at open) may have events stored before open():
    /// their versions are looked up when first appended to, not all loaded at start.
    int64_t _storedUpTo = 0;
    /// Versions of such orders looked up or appended since open (cleared when it grows past
    /// kStoredCacheMax: it only saves lookups).
    std::unordered_map<int64_t, int64_t> _storedVersions;
    static constexpr size_t kStoredCacheMax = size_t{1} << 16;
    /// Every order above _storedUpTo: created since open, or an id beyond the allocator's
    /// (loaded at open), so the version check of a new order costs no query.
    VersionTable _versions;
    /// Versions written by the open transaction (merged into _versions on commit).
    std::unordered_map<int64_t, int64_t> _pending;
    uint64_t _nextPosition = 1;
};

}  // namespace ordersystem::plugins::inmemory
