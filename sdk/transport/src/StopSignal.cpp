#include "ordersystem/transport/stop_signal.h"

namespace ordersystem::transport {

void StopSignal::raise() noexcept {
    {
        std::lock_guard<std::mutex> lock(_mutex);
        _raised.store(true, std::memory_order_release);
    }
    _cv.notify_all();
}

bool StopSignal::sleepFor(int64_t ms) {
    std::unique_lock<std::mutex> lock(_mutex);
    if (ms > 0) _cv.wait_for(lock, std::chrono::milliseconds(ms), [this] { return raised(); });
    return !raised();
}

}  // namespace ordersystem::transport
