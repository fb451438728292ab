// Contract: groups the append scripts that HTTP threads want to run at the same moment into one
// pipelined write/read on one pooled connection (leader/follower). Any thread calls run(); a
// caller that finds fewer than maxInFlight batches under way becomes a leader: it takes up to
// maxBatch queued calls (FIFO, its own among them when the queue is short), runs them with
// ConnectionPool::scriptBatch and hands each caller its own reply. A leader that finishes names
// the oldest still-queued caller the next leader. Followers sleep on a futex word inside their
// own stack-allocated Call, so the leader wakes them without taking the queue lock (a condition
// variable notified under the lock would wake each follower only to block it on the lock again).
// Each script run stays atomic and independent in Redis; only the network round trip is shared,
// so one call's conflict or error never affects another's.
// Thread-safe; run() waits at most for the batches ahead of it, each bounded by the command timeout.
#pragma once

#include <atomic>
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "ConnectionPool.h"
#include "ordersystem/sdk/metrics.h"

namespace ordersystem::plugins::redis {

class AppendPipeline {
public:
    /// batches counts the pipelined writes (Redis round trips of the append path).
    AppendPipeline(ConnectionPool& pool, const LuaScript& script, int maxInFlight, size_t maxBatch,
                   sdk::Counter* batches);

    /// Runs the script with keys and args, batched with concurrent callers; the reply or why not.
    sdk::Result<ReplyPtr> run(const std::vector<std::string>& keys, const std::vector<std::string>& args);

private:
    struct Call {
        ScriptCall script;
        std::optional<sdk::Result<ReplyPtr>> result;  ///< written by the leader before state = done
        bool queued = true;                           ///< guarded by _mutex
        /// kQueued, kLead (named next leader, set under _mutex) or kDone (set by its batch's leader).
        std::atomic<int> state{0};
    };
    /// Moves up to _maxBatch calls from the queue into batch and counts it in flight (lock held).
    void take(std::vector<Call*>& batch);
    /// Runs a taken batch without the lock and completes every call in it (self's last).
    void runBatch(std::vector<Call*>& batch, Call& self);
    /// Names the oldest queued call the next leader when a batch may start (lock held).
    void nameNextLeader();

    ConnectionPool& _pool;
    const LuaScript& _script;
    const int _maxInFlight;
    const size_t _maxBatch;
    sdk::Counter* _batches;
    std::mutex _mutex;
    std::deque<Call*> _queue;  ///< guarded by _mutex
    int _inFlight = 0;         ///< batches being run; guarded by _mutex
};

}  // namespace ordersystem::plugins::redis
