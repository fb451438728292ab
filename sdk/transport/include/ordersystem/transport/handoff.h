// Contract: the word a follower of a leader/follower batcher sleeps on (the in-memory group
// committer, the Redis append pipeline). A follower queues its call with its own HandOff inside,
// then await()s: a leader either runs the call and marks it done, or names it the next leader.
// It is a futex word, not a condition variable, so a leader wakes a follower without any lock and
// without a heap allocation; a woken follower's frame may be gone at once, so nothing of the call
// is read after done(). Header-only; every operation is lock-free.
#pragma once

#include <atomic>

#include "ordersystem/sdk/futex.h"

namespace ordersystem::transport {

class HandOff {
public:
    enum Turn : int { kQueued = 0, kLead = 1, kDone = 2 };

    /// Before the call is queued (or queued again after it led a batch it did not fit into).
    void queue() noexcept { _word.store(kQueued, std::memory_order_relaxed); }
    /// Sleeps while queued; kLead (lead the next batch) or kDone.
    Turn await() noexcept {
        int s;
        while ((s = _word.load(std::memory_order_acquire)) == kQueued) sdk::futexWait(_word, kQueued);
        return static_cast<Turn>(s);
    }
    bool done() const noexcept { return _word.load(std::memory_order_acquire) == kDone; }

    /// Leader: this queued call leads next (the leader holds the queue's lock; wake() may follow
    /// after the lock is released).
    void nameLeader() noexcept { _word.store(kLead, std::memory_order_release); }
    /// Leader: names it only if it is still queued and wakes it; false when it was not.
    bool nameLeaderIfQueued() noexcept {
        int expected = kQueued;
        if (!_word.compare_exchange_strong(expected, kLead, std::memory_order_acq_rel)) return false;
        wake();
        return true;
    }
    /// Follower named leader: takes the turn back to queued before leading; false when a leader
    /// completed the call meanwhile.
    bool takeLead() noexcept {
        int expected = kLead;
        return _word.compare_exchange_strong(expected, kQueued, std::memory_order_acq_rel);
    }
    void wake() noexcept { sdk::futexWake(_word); }
    /// The call's result is written: its caller may return (and its frame go) from now on.
    void finish() noexcept { _word.store(kDone, std::memory_order_release); }
    void finishAndWake() noexcept {
        finish();
        wake();
    }

private:
    std::atomic<int> _word{kQueued};
};

}  // namespace ordersystem::transport
