// Contract: a stop flag with an interruptible sleep, for a transport's background threads:
// raise() wakes every sleeper at once. Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace ordersystem::transport {

class StopSignal {
public:
    void raise() noexcept;
    /// Lowers it again before a new thread starts (no thread may be waiting on it).
    void rearm() noexcept { _raised.store(false, std::memory_order_release); }
    bool raised() const noexcept { return _raised.load(std::memory_order_acquire); }
    /// Sleeps up to ms; false when stopped (before or during the sleep).
    bool sleepFor(int64_t ms);
    bool sleepFor(std::chrono::milliseconds d) { return sleepFor(static_cast<int64_t>(d.count())); }

private:
    std::atomic<bool> _raised{false};
    std::mutex _mutex;
    std::condition_variable _cv;
};

}  // namespace ordersystem::transport
