// Pipelining of the append script: blocking callers lead their batches, pipeline threads lead for
// asynchronous ones.
#include "AppendPipeline.h"

#include <algorithm>
#include <memory>

#include "ordersystem/sdk/util.h"

namespace ordersystem::plugins::redis {

using sdk::Result;
using sdk::Status;
using sdk::StatusCode;

AppendPipeline::AppendPipeline(ConnectionPool& pool, const LuaScript& script, int maxInFlight, size_t maxBatch,
                               sdk::Counter* batches, bool waitForReplicas, BatchHook afterBatch)
    : _pool(pool),
      _script(script),
      _maxInFlight(std::max(1, maxInFlight)),
      _maxBatch(std::max<size_t>(1, maxBatch)),
      _batches(batches),
      _waitForReplicas(waitForReplicas),
      _afterBatch(std::move(afterBatch)) {}

AppendPipeline::~AppendPipeline() { close(); }

Result<ReplyPtr> AppendPipeline::run(const std::vector<std::string>& keys, const std::vector<std::string>& args,
                                     int* acked) {
    Call self;
    self.script = ScriptCall{&keys, &args};
    std::vector<Call*> batch;
    {
        std::lock_guard<std::mutex> lock(_mutex);
        if (_closed) return Status(StatusCode::Unavailable, "the Redis transport is stopping");
        _queue.push_back(&self);
        if (_inFlight < _maxInFlight) take(batch);
    }
    for (;;) {
        if (!batch.empty()) runBatch(batch, &self);
        if (self.handoff.await() == transport::HandOff::kDone) {
            if (acked) *acked = self.replicasAcked;
            return std::move(*self.result);
        }
        // Named the next leader: lead unless another leader took this call meanwhile (then it
        // completes it) or the batches in flight are at the limit again (one of them names a
        // leader when it ends).
        std::lock_guard<std::mutex> lock(_mutex);
        if (!self.handoff.takeLead()) continue;
        if (self.queued && _inFlight < _maxInFlight) take(batch);
    }
}

bool AppendPipeline::runAsync(AsyncCall* call) {
    std::lock_guard<std::mutex> lock(_mutex);
    if (_closed) return false;
    // Started with the first asynchronous call: a node whose callers all block needs none.
    while (_threads.size() < static_cast<size_t>(_maxInFlight)) _threads.emplace_back([this] { pipelineThread(); });
    call->script = ScriptCall{&call->keys, &call->args};
    call->queued = true;
    _queue.push_back(call);
    nameNextLeader();  // wakes a pipeline thread only when this call is at the head and a slot is free
    return true;
}

void AppendPipeline::pipelineThread() {
    sdk::nameThisThread("redis-append");
    std::vector<Call*> batch;
    std::unique_lock<std::mutex> lock(_mutex);
    for (;;) {
        _turn.wait(lock, [this] { return _threadTurn || _stopThreads; });
        if (!_threadTurn) return;  // stopping: close() drained the queue first
        _threadTurn = false;
        // A blocking leader may have taken the queue meanwhile, or filled the slots again.
        if (_queue.empty() || _inFlight >= _maxInFlight) continue;
        take(batch);
        lock.unlock();
        runBatch(batch, nullptr);
        lock.lock();
    }
}

void AppendPipeline::take(std::vector<Call*>& batch) {
    const size_t n = std::min(_queue.size(), _maxBatch);
    batch.assign(_queue.begin(), _queue.begin() + static_cast<std::ptrdiff_t>(n));
    _queue.erase(_queue.begin(), _queue.begin() + static_cast<std::ptrdiff_t>(n));
    for (Call* c : batch) c->queued = false;
    ++_inFlight;
    ++_running;
    nameNextLeader();  // calls queued meanwhile may start their own batch up to the limit
}

void AppendPipeline::nameNextLeader() {
    if (_queue.empty() || _inFlight >= _maxInFlight) return;
    Call* next = _queue.front();
    if (next->async) {
        // Its caller does not wait for a hand-off: a pipeline thread leads, one wake-up per batch.
        if (_threadTurn) return;
        _threadTurn = true;
        _turn.notify_one();
        return;
    }
    // A queued call is not done, so its frame is alive while the lock is held.
    next->handoff.nameLeaderIfQueued();
}

void AppendPipeline::runBatch(std::vector<Call*>& batch, Call* self) {
    const size_t n = batch.size();
    std::vector<Result<ReplyPtr>> results;
    int acked = kNotWaited;
    try {
        std::vector<ScriptCall> calls;
        calls.reserve(n);
        for (Call* c : batch) calls.push_back(c->script);
        results = _pool.scriptBatch(_script, calls, _waitForReplicas ? &acked : nullptr);
        if (_afterBatch) _afterBatch(results, acked);
    } catch (const std::exception& e) {
        results.clear();
        for (size_t i = 0; i < n; ++i)
            results.emplace_back(Status(StatusCode::Internal, std::string("append pipeline: ") + e.what()));
    }
    if (_batches) _batches->inc();
    for (Call* c : batch) c->replicasAcked = acked;
    {
        std::lock_guard<std::mutex> lock(_mutex);
        --_inFlight;
        nameNextLeader();
    }
    const bool mine = completeBatch(batch, results, self);
    {
        std::lock_guard<std::mutex> lock(_mutex);
        if (--_running == 0 && _queue.empty()) _idle.notify_all();
    }
    if (mine) self->handoff.finish();
    batch.clear();
}

bool AppendPipeline::completeBatch(std::vector<Call*>& batch, std::vector<Result<ReplyPtr>>& results, Call* self) {
    // Blocking followers first (a futex wake each). A woken follower's call may be gone at once,
    // so the asynchronous calls are gathered at the front of batch on the way and read from there.
    size_t asyncCount = 0;
    bool mine = false;
    for (size_t i = 0; i < batch.size(); ++i) {
        Call* c = batch[i];
        c->result.emplace(std::move(results[i]));
        if (c->async) {
            batch[asyncCount++] = c;
        } else if (c == self) {
            mine = true;
        } else {
            c->handoff.finishAndWake();
        }
    }
    for (size_t i = 0; i < asyncCount; ++i) {
        std::unique_ptr<AsyncCall> owned(static_cast<AsyncCall*>(batch[i]));
        owned->complete(std::move(*owned->result));
    }
    return mine;
}

void AppendPipeline::close() noexcept {
    std::vector<std::thread> threads;
    {
        std::unique_lock<std::mutex> lock(_mutex);
        _closed = true;
        // Queued calls still find a leader: their own callers, or the pipeline threads.
        _idle.wait(lock, [this] { return _queue.empty() && _running == 0; });
        _stopThreads = true;
        threads.swap(_threads);
    }
    _turn.notify_all();
    for (auto& t : threads)
        if (t.joinable()) t.join();
}

}  // namespace ordersystem::plugins::redis
