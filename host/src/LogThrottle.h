// Contract: lets a log line that a fault can repeat thousands of times a second (accept failing
// with EMFILE, say) through at most once per interval, and says how many were held back.
// Thread-safe; lock-free.
#pragma once

#include <atomic>
#include <cstdint>

namespace ordersystem::host {

class LogThrottle {
public:
    explicit LogThrottle(int64_t intervalMs = 10000) : _intervalMs(intervalMs) {}

    /// True when this occurrence may be logged; *heldBack is then how many were not since the last.
    bool allow(int64_t nowMs, uint64_t* heldBack) noexcept {
        int64_t next = _nextMs.load(std::memory_order_relaxed);
        if (nowMs < next || !_nextMs.compare_exchange_strong(next, nowMs + _intervalMs)) {
            _heldBack.fetch_add(1, std::memory_order_relaxed);
            return false;
        }
        *heldBack = _heldBack.exchange(0, std::memory_order_relaxed);
        return true;
    }

private:
    const int64_t _intervalMs;
    std::atomic<int64_t> _nextMs{0};
    std::atomic<uint64_t> _heldBack{0};
};

}  // namespace ordersystem::host
