// Contract: a few threads of a transport for work that may wait on its engine, so that neither the
// caller of appendAsync (an HTTP event loop) nor a client library's callback thread ever does: blocking
// appends (the asynchronous append's slow path) and completions that need another round trip (an
// idempotency write, a re-read after a conflict, a caller's callback that may release its key).
// - tryPost(): false when maxQueued tasks already wait or after close(): the caller answers at once.
// - post(): never refused; after close() the task runs at once on the caller's thread.
// - close(): refuses new tasks, runs every queued one, joins the threads. A task that had not
//   started when close() began runs with cancelled = true (it should answer without waiting).
// Thread-safe; a task that throws is logged and dropped.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "ordersystem/sdk/logger.h"

namespace ordersystem::transport {

/// Runs fn(args...) and logs what it throws as "<what> threw: ...": code of others (a task, a
/// caller's callback) must not unwind into a worker loop or a cnats thread.
template <class Fn, class... Args>
void runLogged(sdk::Logger& logger, const char* what, Fn& fn, Args&&... args) noexcept {
    try {
        fn(std::forward<Args>(args)...);
    } catch (const std::exception& e) {
        logger.error(std::string(what) + " threw: " + e.what());
    } catch (...) {
        logger.error(std::string(what) + " threw");
    }
}

class TaskExecutor {
public:
    using Task = std::function<void(bool cancelled)>;

    /// threadName: what the threads are called in top/ps (at most 15 characters).
    TaskExecutor(size_t threads, size_t maxQueued, sdk::Logger& logger, std::string threadName = "transport-task");
    ~TaskExecutor();
    TaskExecutor(const TaskExecutor&) = delete;
    TaskExecutor& operator=(const TaskExecutor&) = delete;

    bool tryPost(Task task) noexcept;
    void post(Task task) noexcept;
    void close() noexcept;

private:
    void run() noexcept;
    void runTask(Task& task, bool cancelled) noexcept;

    const size_t _maxQueued;
    const std::string _threadName;
    sdk::Logger& _logger;
    std::mutex _mutex;
    std::condition_variable _wake;
    std::deque<Task> _queue;
    bool _closing = false;
    std::mutex _closeMutex;
    std::vector<std::thread> _threads;
};

}  // namespace ordersystem::transport
