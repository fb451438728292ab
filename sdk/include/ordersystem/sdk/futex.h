// Contract: the smallest Linux futex wrapper, for one thread handing a result to another that
// sleeps on a word in its own stack frame (the group committers of the transports). Header-only.
// - futexWait() sleeps while the word still holds expected; it may return spuriously, so callers
//   re-check their word in a loop.
// - futexWake() wakes one sleeper of the word. The waiter may already have returned and its frame
//   be reused: that is at worst a spurious wake-up for whoever waits there now, which every futex
//   user tolerates.
#pragma once

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>

namespace ordersystem::sdk {

inline int* futexWord(std::atomic<int>& word) noexcept {
    static_assert(sizeof(std::atomic<int>) == sizeof(int), "std::atomic<int> must be a plain int to be a futex");
    return reinterpret_cast<int*>(&word);
}

inline void futexWait(std::atomic<int>& word, int expected) noexcept {
    syscall(SYS_futex, futexWord(word), FUTEX_WAIT_PRIVATE, expected, nullptr, nullptr, 0);
}

inline void futexWake(std::atomic<int>& word) noexcept {
    syscall(SYS_futex, futexWord(word), FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
}

}  // namespace ordersystem::sdk
