#include "GroupCommitter.h"

#include <algorithm>

#include "ordersystem/sdk/util.h"

namespace ordersystem::plugins::inmemory {

using transport::HandOff;

namespace {
/// Set while this thread runs async callbacks (see GroupCommitter::inCallback()).
thread_local bool tlsInCallback = false;
}  // namespace

bool GroupCommitter::inCallback() noexcept { return tlsInCallback; }

namespace {

constexpr int64_t kPurgeIntervalMs = 60 * 1000;
}  // namespace

GroupCommitter::GroupCommitter(LogWriter& writer, size_t maxBatch, Publisher publisher, Instruments instruments)
    : _writer(writer),
      _maxBatch(maxBatch == 0 ? 1 : maxBatch),
      _publisher(std::move(publisher)),
      _instruments(instruments) {
    _batch.reserve(_maxBatch);
    _lastPurgeMs = sdk::nowMs();
}

GroupCommitter::~GroupCommitter() { close(); }

void GroupCommitter::push(Op& op) {
    op.handoff.queue();
    op.next = nullptr;
    if (_tail) _tail->next = &op;
    else _head = &op;
    _tail = &op;
}

bool GroupCommitter::submit(Op& op, bool external) {
    bool leading = false;
    {
        std::lock_guard<std::mutex> lock(_mutex);
        if (_closed || (external && _refuseExternal)) return false;
        op.async = false;
        push(op);
        if (!_leaderActive) {
            _leaderActive = true;
            leading = true;
        }
    }
    while (true) {
        if (leading) {
            lead(&op);
            if (op.handoff.done()) return true;
            // Our op did not fit into that batch; lead() already named the next leader.
        }
        if (op.handoff.await() == HandOff::kDone) return true;
        op.handoff.queue();  // named the next leader: we commit the next batch
        leading = true;
    }
}

bool GroupCommitter::submitAsync(std::unique_ptr<AsyncOp>& op) {
    bool wake = false;
    {
        std::lock_guard<std::mutex> lock(_mutex);
        if (_closed || _refuseExternal) return false;
        if (!_committerThread.joinable()) _committerThread = std::thread([this] { runCommitterThread(); });
        AsyncOp* queued = op.release();
        queued->async = true;
        push(*queued);
        ++_asyncPending;
        if (!_leaderActive) {
            // Nobody commits: the committer thread leads. Otherwise the active leader's
            // hand-off reaches this op (no wake-up per op).
            _leaderActive = true;
            _committerTurn = true;
            wake = true;
        }
    }
    if (wake) _committerWake.notify_one();
    return true;
}

void GroupCommitter::runCommitterThread() {
    sdk::nameThisThread("log-commit");
    std::unique_lock<std::mutex> lock(_mutex);
    while (true) {
        _committerWake.wait(lock, [this] { return _committerTurn || _stopCommitter; });
        if (!_committerTurn) return;  // stopping, and close() drained the queue before
        _committerTurn = false;
        lock.unlock();
        lead(nullptr);
        lock.lock();
    }
}

void GroupCommitter::lead(Op* self) {
    takeBatch();
    commitAndPublish();

    // Copy the batch before naming the next leader: from then on it reuses _batch.
    Op* local[64];
    std::vector<Op*> spill;
    Op** batch = local;
    const size_t count = _batch.size();
    if (count > 64) {
        spill = _batch;
        batch = spill.data();
    } else {
        std::copy(_batch.begin(), _batch.end(), local);
    }

    Op* nextOp = nullptr;
    const Next next = handOff(nextOp);
    // Wake the next leader first so the next commit overlaps with this batch's wake-ups. The
    // committer thread, when it is the next leader itself, just loops.
    if (next == Next::SyncOp && nextOp != self) nextOp->handoff.wake();
    if (next == Next::CommitterThread && self != nullptr) _committerWake.notify_one();
    finish(batch, count, self);
}

void GroupCommitter::takeBatch() {
    std::lock_guard<std::mutex> lock(_mutex);
    _batch.clear();
    while (_head && _batch.size() < _maxBatch) {
        Op* op = _head;
        _head = op->next;
        op->next = nullptr;
        _batch.push_back(op);
    }
    if (!_head) _tail = nullptr;
}

void GroupCommitter::commitAndPublish() {
    _committed.clear();
    const bool ok = _writer.commitBatch(_batch.data(), _batch.size(), _committed);
    _healthy.store(ok, std::memory_order_relaxed);
    if (ok) {
        if (_instruments.commits) _instruments.commits->inc();
        if (_instruments.batchSize) _instruments.batchSize->observe(static_cast<double>(_batch.size()));
    }
    if (!_committed.empty()) {
        // Publish before waking the callers: the projection starts applying while they wake.
        _publisher(_committed);
    }
    const int64_t now = sdk::nowMs();
    if (now - _lastPurgeMs > kPurgeIntervalMs) {
        _lastPurgeMs = now;
        _writer.purgeExpired(now);
    }
}

GroupCommitter::Next GroupCommitter::handOff(Op*& nextOp) {
    std::lock_guard<std::mutex> lock(_mutex);
    if (!_head) {
        _leaderActive = false;
        _idle.notify_all();
        return Next::Nobody;
    }
    if (_head->async) {
        // Its submitter does not wait for a hand-off: the committer thread leads instead (when
        // it is the current leader, this makes it lead again at once).
        _committerTurn = true;
        return Next::CommitterThread;
    }
    nextOp = _head;
    nextOp->handoff.nameLeader();
    return Next::SyncOp;
}

void GroupCommitter::finish(Op** batch, size_t count, Op* self) {
    // Sync followers first (a futex wake each). Async ops are gathered at the front of batch
    // meanwhile: a woken follower's Op may be gone at once, so it is not read again.
    size_t asyncCount = 0;
    bool selfDone = false;
    for (size_t i = 0; i < count; ++i) {
        Op* op = batch[i];
        if (op->async) {
            batch[asyncCount++] = op;
            continue;
        }
        if (op == self) {
            selfDone = true;
            continue;
        }
        op->handoff.finishAndWake();
    }
    tlsInCallback = true;
    for (size_t i = 0; i < asyncCount; ++i) {
        std::unique_ptr<AsyncOp> owned(static_cast<AsyncOp*>(batch[i]));
        try {
            owned->complete();
        } catch (...) {
            // complete() reports its own failures; a stray exception must not stop the leader.
        }
    }
    tlsInCallback = false;
    if (asyncCount > 0) {
        std::lock_guard<std::mutex> lock(_mutex);
        _asyncPending -= asyncCount;
        if (_asyncPending == 0) _idle.notify_all();
    }
    // Our own op last (when it was in this batch), since once it is finished our caller may return.
    if (selfDone) self->handoff.finish();
}

void GroupCommitter::drain(std::unique_lock<std::mutex>& lock) {
    _idle.wait(lock, [this] { return !_leaderActive && !_head && _asyncPending == 0; });
}

void GroupCommitter::refuseExternal() {
    std::unique_lock<std::mutex> lock(_mutex);
    _refuseExternal = true;
    drain(lock);
}

void GroupCommitter::close() {
    std::thread committer;
    {
        std::unique_lock<std::mutex> lock(_mutex);
        _refuseExternal = true;
        _closed = true;
        drain(lock);
        _stopCommitter = true;
        committer = std::move(_committerThread);
    }
    _committerWake.notify_all();
    if (committer.joinable()) committer.join();
}

}  // namespace ordersystem::plugins::inmemory
