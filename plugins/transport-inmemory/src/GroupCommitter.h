// Contract: group commit by leader/follower hand-off. Any thread calls submit(); the first
// caller that finds no commit in progress becomes the leader: it takes up to maxBatch queued ops
// (FIFO), commits them in one SQLite transaction (one fsync) on its own thread, publishes the
// committed events, names the oldest still-queued op the next leader (waking it first, so the
// next commit starts while this batch's callers wake) and then wakes the followers of its batch.
// Followers sleep on a futex word inside their own stack-allocated Op: no thread switch for the
// leader, no heap allocation and no lock round-trip per wake-up.
// Thread-safe. close() blocks until the queue is empty and no commit runs.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <vector>

#include "LogWriter.h"
#include "ordersystem/sdk/metrics.h"

namespace ordersystem::plugins::inmemory {

class GroupCommitter {
public:
    /// Called by the leader after each commit with the committed events (may be moved from).
    using Publisher = std::function<void(std::vector<sdk::EventRecord>& committed)>;

    struct Instruments {
        sdk::Counter* appended = nullptr;
        sdk::Counter* commits = nullptr;
        sdk::Histogram* batchSize = nullptr;
    };

    GroupCommitter(LogWriter& writer, size_t maxBatch, Publisher publisher, Instruments instruments);

    /// Queues op and returns once it was committed (or failed: see op.status / op.result).
    /// false: refused because the log is stopping (external ops) or closed (all ops).
    bool submit(Op& op, bool external);

    /// New external ops are refused from now on; waits for queued work to finish.
    void refuseExternal();
    /// Every op is refused from now on; waits for queued work to finish.
    void close();

    /// false after a batch failed at the database level, until a later batch succeeds.
    bool healthy() const noexcept { return _healthy.load(std::memory_order_relaxed); }

private:
    /// Runs one group commit as the leader (called without the lock).
    void lead(Op& self);
    void drain(std::unique_lock<std::mutex>& lock);

    LogWriter& _writer;
    const size_t _maxBatch;
    Publisher _publisher;
    Instruments _instruments;

    std::mutex _mutex;
    Op* _head = nullptr;
    Op* _tail = nullptr;
    /// A leader is committing, or has been named and is about to.
    bool _leaderActive = false;
    bool _refuseExternal = false;
    bool _closed = false;
    std::condition_variable _idle;

    // Leader-only scratch, reused across commits (only one leader at a time).
    std::vector<Op*> _batch;
    std::vector<sdk::EventRecord> _committed;
    int64_t _lastPurgeMs = 0;
    std::atomic<bool> _healthy{true};
};

}  // namespace ordersystem::plugins::inmemory
