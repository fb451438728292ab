// Contract: group commit by leader/follower hand-off. Any thread calls submit(); the first
// caller that finds no commit in progress becomes the leader: it takes up to maxBatch queued ops
// (FIFO), commits them in one SQLite transaction (one fsync) on its own thread, publishes the
// committed events, names the oldest still-queued op the next leader (waking it first, so the
// next commit starts while this batch's callers wake) and then wakes the followers of its batch.
// Followers sleep on a futex word inside their own stack-allocated Op: no thread switch for the
// leader, no heap allocation and no lock round-trip per wake-up.
// Async ops (submitAsync, for EventLog::appendAsync) never make their submitter wait or lead:
// they queue in the same FIFO and are committed by whichever leader takes them. Leadership goes
// to the committer thread (started on the first async op) when an async op is queued with no
// leader active, or when a batch ends with an async op at the head of the queue: one wake-up
// per batch, none per op. After its commit the leader wakes the sync followers first, then
// calls each async op's complete() on its own thread and frees it.
// Thread-safe. refuseExternal()/close() block until the queue is empty, no commit runs and every
// accepted async op has completed; close() also joins the committer thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "LogWriter.h"
#include "ordersystem/sdk/metrics.h"

namespace ordersystem::plugins::inmemory {

/// An op whose submitter does not wait. Heap-allocated by the submitter; once submitAsync()
/// accepted it, the committer owns it: after its batch committed (or failed: see status/result)
/// the leader calls complete() exactly once, on the committing thread, then deletes it.
struct AsyncOp : Op {
    using Op::Op;
    virtual ~AsyncOp() = default;
    /// Reports the outcome; must not block. An exception is swallowed by the committer.
    virtual void complete() = 0;
};

class GroupCommitter {
public:
    /// True on a thread that is running async ops' callbacks right now: a blocking submit() there
    /// would wait for itself, so such callers must queue work with submitAsync() instead.
    static bool inCallback() noexcept;

    /// Called by the leader after each commit with the committed events (may be moved from).
    using Publisher = std::function<void(std::vector<sdk::EventRecord>& committed)>;

    struct Instruments {
        sdk::Counter* commits = nullptr;
        sdk::Histogram* batchSize = nullptr;
    };

    GroupCommitter(LogWriter& writer, size_t maxBatch, Publisher publisher, Instruments instruments);
    ~GroupCommitter();
    GroupCommitter(const GroupCommitter&) = delete;
    GroupCommitter& operator=(const GroupCommitter&) = delete;

    /// Queues op and returns once it was committed (or failed: see op.status / op.result).
    /// false: refused because the log is stopping (external ops) or closed (all ops).
    bool submit(Op& op, bool external);

    /// Queues an external op without waiting (never leads on the caller's thread). true: queued,
    /// the committer owns it now (op is null). false: refused because the log is stopping; the
    /// caller keeps op. Throws only when the committer thread cannot be started.
    bool submitAsync(std::unique_ptr<AsyncOp>& op);

    /// New external ops are refused from now on; waits for queued work to finish.
    void refuseExternal();
    /// Every op is refused from now on; waits for queued work to finish, stops the committer thread.
    void close();

    /// false after a batch failed at the database level, until a later batch succeeds.
    bool healthy() const noexcept { return _healthy.load(std::memory_order_relaxed); }

private:
    /// What the end of a batch hands on.
    enum class Next { Nobody, SyncOp, CommitterThread };

    /// Runs one group commit as the leader (called without the lock). self: the leader's own op,
    /// or nullptr on the committer thread.
    void lead(Op* self);
    void takeBatch();
    void commitAndPublish();
    /// Names the next leader (takes the lock); returns whom, and the sync op in nextOp.
    Next handOff(Op*& nextOp);
    /// Wakes the sync followers, completes and frees the async ops, then marks self done when it
    /// was in the batch. Reorders batch (a copy of this batch's ops).
    void finish(Op** batch, size_t count, Op* self);
    void runCommitterThread();
    /// Appends op to the queue (caller holds _mutex).
    void push(Op& op);
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
    /// Async ops accepted and not yet completed.
    size_t _asyncPending = 0;

    // The committer thread: leads when _committerTurn is set (guarded by _mutex).
    std::thread _committerThread;
    std::condition_variable _committerWake;
    bool _committerTurn = false;
    bool _stopCommitter = false;

    // Leader-only scratch, reused across commits (only one leader at a time).
    std::vector<Op*> _batch;
    std::vector<sdk::EventRecord> _committed;
    int64_t _lastPurgeMs = 0;
    std::atomic<bool> _healthy{true};
};

}  // namespace ordersystem::plugins::inmemory
