// Contract: the standalone deployment's event log (DESIGN.md "transport-inmemory"): a table in
// its own SQLite file, appended through a group committer, delivered in-process.
// open()/shutdown() run on the host's main thread (plugin start/stop); every other method is
// thread-safe and called from HTTP worker threads. appendAsync() never blocks its caller (an HTTP
// event-loop thread): the append joins the next group commit and its callback runs on the
// committing thread (GroupCommitter.h), so it must not call this log's blocking methods
// (append, allocateOrderId, claim/complete/release): they would wait for that very thread.
// After shutdown() appends, id allocation and idempotency writes return Unavailable
// (appendAsync: at once, on the caller's thread); appends accepted before shutdown() still
// commit, and shutdown() returns after their callbacks ran.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "GroupCommitter.h"
#include "LogWriter.h"
#include "SubscriptionHub.h"
#include "ordersystem/sdk/eventlog.h"
#include "ordersystem/sdk/host.h"
#include "ordersystem/transport/append_meter.h"
#include "ordersystem/transport/id_block_allocator.h"

namespace ordersystem::plugins::inmemory {

struct LogSettings {
    std::string databasePath;  ///< absolute
    sdk::Durability durability = sdk::Durability::Full;
    size_t maxBatch = 512;
    ReactionSettings reaction;
    /// How long a read model that keeps up gathers commits before its next batch (SubscriptionHub).
    int64_t projectionLingerMs = 2;
    std::string nodeId;
    std::string httpAddress;
    /// Order ids reserved durably per write; handed out from memory in between.
    int64_t idBlock = 1000;
};

class InMemoryEventLog final : public sdk::EventLog, public sdk::IdempotencyStore, public sdk::Membership {
public:
    InMemoryEventLog(LogSettings settings, sdk::Logger& logger, sdk::Metrics& metrics);
    ~InMemoryEventLog() override;

    sdk::Status open();
    /// Refuses new appends, finishes the in-flight group, stops subscriptions, closes the file.
    void shutdown() noexcept;
    /// For the "event-log" health check.
    sdk::HealthCheckResult health() const;

    // EventLog
    std::string_view mode() const noexcept override { return "standalone"; }
    sdk::Result<int64_t> allocateOrderId() noexcept override;
    sdk::AppendResult append(sdk::AppendRequest& request) noexcept override;
    void appendAsync(sdk::AppendRequest& request, AppendCallback done) noexcept override;
    bool appendsAsynchronously() const noexcept override { return true; }
    sdk::Result<std::vector<sdk::EventRecord>> readOrder(int64_t orderId) noexcept override;
    sdk::Result<uint64_t> headPosition() noexcept override;
    sdk::Result<std::vector<sdk::EventRecord>> readRange(uint64_t afterPosition, size_t maxEvents) noexcept override;
    sdk::Status ensureOrderIdsAbove(int64_t orderId) noexcept override;
    sdk::Result<sdk::SubscriptionId> subscribe(sdk::Projection& projection) noexcept override;
    sdk::Result<sdk::SubscriptionId> subscribe(sdk::Reaction& reaction) noexcept override;
    void unsubscribe(sdk::SubscriptionId id) noexcept override;
    sdk::Result<std::vector<sdk::DeadLetter>> deadLetters(std::string_view reaction, size_t limit) noexcept override;
    sdk::Status retryDeadLetter(std::string_view reaction, const std::string& eventId) noexcept override;
    sdk::IdempotencyStore& idempotency() noexcept override { return *this; }
    sdk::Membership& membership() noexcept override { return *this; }

    // IdempotencyStore
    sdk::Result<sdk::IdempotencyClaim> claim(const std::string& key, const std::string& fingerprint,
                                             int64_t leaseMs) noexcept override;
    sdk::Status complete(const sdk::IdempotencyCompletion& completion) noexcept override;
    sdk::Status release(const std::string& key) noexcept override;

    // Membership
    sdk::Result<std::vector<sdk::NodeInfo>> liveNodes() noexcept override;

private:
    /// A pooled reader connection for readOrder (SQLite connections are single-threaded).
    struct Reader {
        Db db;
        Stmt byOrder;
        Stmt range;
    };
    /// Runs a prepared query of kEventColumns on a pooled reader; what names the query in errors.
    sdk::Result<std::vector<sdk::EventRecord>> readRows(Stmt Reader::*query, const std::function<void(Stmt&)>& bind,
                                                        const std::string& what);
    sdk::Result<std::unique_ptr<Reader>> takeReader();
    void giveBack(std::unique_ptr<Reader> reader);
    static sdk::Status unavailable();

    const LogSettings _settings;
    sdk::Logger& _logger;
    sdk::Metrics& _metrics;
    transport::AppendMeter _meter;
    LogWriter _writer;
    std::unique_ptr<GroupCommitter> _committer;
    std::unique_ptr<SubscriptionHub> _hub;
    std::atomic<bool> _open{false};

    /// The block reservation: called by _ids, one at a time.
    sdk::Result<int64_t> reserveIdBlock();
    std::unique_ptr<transport::IdBlockAllocator> _ids;
    int64_t _reservedHigh = 0;  ///< last id reserved durably; touched only by reserveIdBlock()

    std::mutex _readersMutex;
    std::vector<std::unique_ptr<Reader>> _readers;
};

}  // namespace ordersystem::plugins::inmemory
