#include "NonBlockingReads.h"

#include <sys/uio.h>

#include <atomic>
#include <cerrno>

namespace ordersystem::sqlite {
namespace {

struct ThreadState {
    bool active = false;
    bool refused = false;
};
thread_local ThreadState tState;

/// Cleared for good the first time the kernel says RWF_NOWAIT is not supported here.
std::atomic<bool> gSupported{true};

}  // namespace

NonBlockingReads::NonBlockingReads() noexcept : _outerActive(tState.active), _outerRefused(tState.refused) {
    tState.active = true;
    tState.refused = false;
}

NonBlockingReads::~NonBlockingReads() {
    tState.active = _outerActive;
    tState.refused = _outerRefused || (_outerActive && tState.refused);
}

bool NonBlockingReads::refused() const noexcept { return tState.refused; }

namespace detail {

bool nonBlockingReadsWanted() noexcept { return tState.active && gSupported.load(std::memory_order_relaxed); }

CachedRead readFromPageCache(int fd, void* out, int amount, long long offset) noexcept {
    auto* p = static_cast<char*>(out);
    size_t done = 0;
    const auto want = static_cast<size_t>(amount);
    while (done < want) {
        iovec iov{p + done, want - done};
        const ssize_t n = preadv2(fd, &iov, 1, static_cast<off_t>(offset + static_cast<long long>(done)), RWF_NOWAIT);
        if (n > 0) {
            done += static_cast<size_t>(n);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) {
            tState.refused = true;
            return CachedRead::WouldWait;
        }
        if (n < 0 && (errno == EOPNOTSUPP || errno == ENOSYS || errno == EINVAL))
            gSupported.store(false, std::memory_order_relaxed);
        // End of file (SQLite's short-read rules) or an error: the wrapped file's own read says.
        return CachedRead::NotServed;
    }
    return CachedRead::Done;
}

}  // namespace detail
}  // namespace ordersystem::sqlite
