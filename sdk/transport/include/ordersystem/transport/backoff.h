// Contract: an exponential back-off: initial, doubling on every failure, capped. Not thread-safe
// (one per retrying loop).
#pragma once

#include <algorithm>
#include <cstdint>

namespace ordersystem::transport {

class Backoff {
public:
    constexpr Backoff(int64_t initialMs, int64_t maxMs) noexcept
        : _initialMs(std::max<int64_t>(1, initialMs)), _maxMs(std::max(_initialMs, maxMs)), _nextMs(_initialMs) {}

    /// The delay before the next attempt; each call doubles the one after, up to the cap.
    int64_t next() noexcept {
        const int64_t d = _nextMs;
        _nextMs = std::min(_nextMs * 2, _maxMs);
        return d;
    }
    void reset() noexcept { _nextMs = _initialMs; }
    /// The delay before attempt number attempt + 1 (attempt 1 failed: the initial delay).
    constexpr int64_t after(int64_t attempt) const noexcept {
        int64_t d = _initialMs;
        for (int64_t i = 1; i < attempt && d < _maxMs; ++i) d *= 2;
        return std::min(d, _maxMs);
    }

private:
    int64_t _initialMs;
    int64_t _maxMs;
    int64_t _nextMs;
};

}  // namespace ordersystem::transport
