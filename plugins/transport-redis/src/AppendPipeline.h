// Contract: groups the append scripts that callers want to run at the same moment into one
// pipelined write/read on one pooled connection. Each script run stays atomic and independent in
// Redis; only the network round trip is shared, so one call's conflict or error never affects
// another's. At most maxInFlight batches run at once, each of at most maxBatch calls (FIFO).
// - run() (blocking callers, leader/follower): a caller that finds fewer than maxInFlight batches
//   under way leads: it takes the queue's head (its own call among it when the queue is short),
//   runs it with ConnectionPool::scriptBatch and hands each call its reply. Followers sleep on a
//   futex word inside their own stack-allocated call, so a leader wakes them without the lock.
// - runAsync() (callers that must not wait, e.g. event-loop threads): the call is queued beside
//   the blocking ones and the caller returns at once; it never leads. Pipeline threads (up to
//   maxInFlight, started on the first asynchronous call) lead instead: one is woken when an
//   asynchronous call reaches the head of the queue with a batch slot free and no pipeline thread
//   already told to lead, so there is one wake-up per batch, not per call.
// - A batch that ends names the next leader when the queue is not empty: the head's own caller
//   (blocking) or a pipeline thread (asynchronous head).
// - Completion, after the batch's connection went back to the pool and its slot was freed: the
//   blocking followers are woken first, then every AsyncCall::complete() runs on the thread that
//   ran the batch (a pipeline thread, or a blocking leader whose batch took asynchronous calls)
//   and the call is deleted. A completion may use the pool (e.g. an idempotency release) and may
//   even run() again: its own batch no longer counts against maxInFlight.
// - close(): new calls are refused from then on (run() answers Unavailable, runAsync() false);
//   it returns once every accepted call was completed (Ok, or failed as Redis answered) and the
//   pipeline threads were joined. It must not be called from inside a completion.
// - With waitForReplicas, each batch ends with WAIT min_replicas_ack in the same pipeline and every
//   call learns what it saw (replicasAcked), so its caller acknowledges only what replicas hold;
//   afterBatch runs before the batch's calls complete (e.g. to publish how far replicas hold the log).
// Thread-safe; run() waits at most for the batches ahead of it, each bounded by the command timeout.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "ConnectionPool.h"
#include "ordersystem/sdk/metrics.h"
#include "ordersystem/transport/handoff.h"

namespace ordersystem::plugins::redis {

/// One queued run of the script. A blocking caller keeps its own on its stack; an asynchronous
/// one is an AsyncCall owned by the pipeline.
struct PipelineCall {
    ScriptCall script;
    std::optional<sdk::Result<ReplyPtr>> result;  ///< blocking calls: written before the hand-off is finished
    bool async = false;
    bool queued = true;              ///< guarded by the pipeline's mutex
    int replicasAcked = kNotWaited;  ///< what the batch's WAIT saw; written before the result
    /// Blocking calls: queued, named the next leader (under the mutex) or done (by its leader).
    transport::HandOff handoff;
};

/// A run whose caller does not wait: heap-allocated by the caller with the script's keys and
/// arguments; runAsync() that accepts it takes it over and deletes it after complete().
struct AsyncCall : PipelineCall {
    std::vector<std::string> keys;
    std::vector<std::string> args;
    AsyncCall() { async = true; }
    virtual ~AsyncCall() = default;
    /// Called exactly once with the script's reply (or why there is none), on the thread that ran
    /// the batch. Must not throw and should not block for long: later batches' callers wait.
    virtual void complete(sdk::Result<ReplyPtr>&& reply) noexcept = 0;
};

class AppendPipeline {
public:
    /// batches counts the pipelined writes (Redis round trips of the append path).
    /// Sees a batch's replies and what its WAIT saw before any call of it completes.
    using BatchHook = std::function<void(const std::vector<sdk::Result<ReplyPtr>>&, int acked)>;
    AppendPipeline(ConnectionPool& pool, const LuaScript& script, int maxInFlight, size_t maxBatch,
                   sdk::Counter* batches, bool waitForReplicas = false, BatchHook afterBatch = {});
    ~AppendPipeline();
    AppendPipeline(const AppendPipeline&) = delete;
    AppendPipeline& operator=(const AppendPipeline&) = delete;

    /// Runs the script with keys and args, batched with concurrent callers; the reply or why not.
    /// *acked: what the batch's WAIT saw (kNotWaited without waitForReplicas).
    sdk::Result<ReplyPtr> run(const std::vector<std::string>& keys, const std::vector<std::string>& args,
                              int* acked = nullptr);
    /// Queues call and returns at once. true: accepted, the pipeline owns call now and completes
    /// it on another thread. false: refused (closed); the caller still owns call. Throws only when
    /// a pipeline thread cannot be started (then call was not queued).
    bool runAsync(AsyncCall* call);
    /// Refuses new calls, completes the accepted ones and joins the pipeline threads.
    void close() noexcept;

private:
    using Call = PipelineCall;
    /// Moves up to _maxBatch calls from the queue into batch and counts it in flight (lock held).
    void take(std::vector<Call*>& batch);
    /// Runs a taken batch without the lock and completes every call in it (self's last; self is
    /// null on a pipeline thread).
    void runBatch(std::vector<Call*>& batch, Call* self);
    /// Hands each call of a batch its result: wakes the blocking ones, then completes and deletes
    /// the asynchronous ones; reorders batch. Returns whether self was in it.
    bool completeBatch(std::vector<Call*>& batch, std::vector<sdk::Result<ReplyPtr>>& results, Call* self);
    /// Names the next leader when a batch may start (lock held): the head's caller or a pipeline thread.
    void nameNextLeader();
    void pipelineThread();

    ConnectionPool& _pool;
    const LuaScript& _script;
    const int _maxInFlight;
    const size_t _maxBatch;
    sdk::Counter* _batches;
    const bool _waitForReplicas;
    BatchHook _afterBatch;
    std::mutex _mutex;
    std::deque<Call*> _queue;  ///< guarded by _mutex (as is everything below)
    int _inFlight = 0;         ///< batches holding a slot (taken, replies not yet read)
    int _running = 0;          ///< batches taken and not yet completed
    bool _threadTurn = false;  ///< a pipeline thread has been told to lead and has not yet looked
    bool _closed = false;
    bool _stopThreads = false;
    std::condition_variable _turn;  ///< pipeline threads wait here for _threadTurn
    std::condition_variable _idle;  ///< close() waits here for the queue to drain
    std::vector<std::thread> _threads;
};

}  // namespace ordersystem::plugins::redis
