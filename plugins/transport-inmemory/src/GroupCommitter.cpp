#include "GroupCommitter.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>

#include "ordersystem/sdk/util.h"

namespace ordersystem::plugins::inmemory {

namespace {

constexpr int64_t kPurgeIntervalMs = 60 * 1000;
constexpr int kQueued = 0;
constexpr int kDone = 1;
constexpr int kLead = 2;

int* futexWord(std::atomic<int>& state) {
    static_assert(sizeof(std::atomic<int>) == sizeof(int), "std::atomic<int> must be a plain int to be a futex");
    return reinterpret_cast<int*>(&state);
}

/// Sleeps while state == expected (returns on change, signal or spurious wake-up).
void futexWait(std::atomic<int>& state, int expected) {
    syscall(SYS_futex, futexWord(state), FUTEX_WAIT_PRIVATE, expected, nullptr, nullptr, 0);
}

/// Wakes the waiter of state. The Op may already have returned (it re-checks its word before
/// sleeping): a wake on a dead address is a spurious wake-up for whoever reuses it, which every
/// futex user tolerates.
void futexWake(std::atomic<int>& state) {
    syscall(SYS_futex, futexWord(state), FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
}

}  // namespace

GroupCommitter::GroupCommitter(LogWriter& writer, size_t maxBatch, Publisher publisher, Instruments instruments)
    : _writer(writer), _maxBatch(maxBatch == 0 ? 1 : maxBatch), _publisher(std::move(publisher)),
      _instruments(instruments) {
    _batch.reserve(_maxBatch);
    _lastPurgeMs = sdk::nowMs();
}

bool GroupCommitter::submit(Op& op, bool external) {
    bool leading = false;
    {
        std::lock_guard<std::mutex> lock(_mutex);
        if (_closed || (external && _refuseExternal)) return false;
        op.state.store(kQueued, std::memory_order_relaxed);
        op.next = nullptr;
        if (_tail) _tail->next = &op;
        else _head = &op;
        _tail = &op;
        if (!_leaderActive) {
            _leaderActive = true;
            leading = true;
        }
    }
    while (true) {
        if (leading) {
            lead(op);
            if (op.state.load(std::memory_order_acquire) == kDone) return true;
            // Our op did not fit into that batch; lead() already named the next leader.
        }
        int s;
        while ((s = op.state.load(std::memory_order_acquire)) == kQueued) futexWait(op.state, kQueued);
        if (s == kDone) return true;
        op.state.store(kQueued, std::memory_order_relaxed);  // kLead: we commit the next batch
        leading = true;
    }
}

void GroupCommitter::lead(Op& self) {
    {
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

    _committed.clear();
    const bool ok = _writer.commitBatch(_batch.data(), _batch.size(), _committed);
    _healthy.store(ok, std::memory_order_relaxed);
    if (ok) {
        if (_instruments.commits) _instruments.commits->inc();
        if (_instruments.batchSize) _instruments.batchSize->observe(static_cast<double>(_batch.size()));
    }
    if (!_committed.empty()) {
        if (_instruments.appended) _instruments.appended->inc(static_cast<double>(_committed.size()));
        // Publish before waking the callers: the projection starts applying while they wake.
        _publisher(_committed);
    }
    const int64_t now = sdk::nowMs();
    if (now - _lastPurgeMs > kPurgeIntervalMs) {
        _lastPurgeMs = now;
        _writer.purgeExpired(now);
    }

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

    Op* nextLeader = nullptr;
    {
        std::lock_guard<std::mutex> lock(_mutex);
        nextLeader = _head;
        if (nextLeader) nextLeader->state.store(kLead, std::memory_order_release);
        else {
            _leaderActive = false;
            _idle.notify_all();
        }
    }
    // Wake the next leader first so the next commit overlaps with this batch's wake-ups.
    if (nextLeader && nextLeader != &self) futexWake(nextLeader->state);
    for (size_t i = 0; i < count; ++i) {
        Op* op = batch[i];
        if (op == &self) continue;
        op->state.store(kDone, std::memory_order_release);
        futexWake(op->state);
    }
    // Our own op last, since once the state says kDone our caller may return.
    for (size_t i = 0; i < count; ++i)
        if (batch[i] == &self) self.state.store(kDone, std::memory_order_release);
}

void GroupCommitter::drain(std::unique_lock<std::mutex>& lock) {
    _idle.wait(lock, [this] { return !_leaderActive && !_head; });
}

void GroupCommitter::refuseExternal() {
    std::unique_lock<std::mutex> lock(_mutex);
    _refuseExternal = true;
    drain(lock);
}

void GroupCommitter::close() {
    std::unique_lock<std::mutex> lock(_mutex);
    _refuseExternal = true;
    _closed = true;
    drain(lock);
}

}  // namespace ordersystem::plugins::inmemory
