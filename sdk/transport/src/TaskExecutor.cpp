// Threads for a transport's work that may block; see task_executor.h.
#include "ordersystem/transport/task_executor.h"

#include "ordersystem/sdk/util.h"

namespace ordersystem::transport {

TaskExecutor::TaskExecutor(size_t threads, size_t maxQueued, sdk::Logger& logger, std::string threadName)
    : _maxQueued(maxQueued), _threadName(std::move(threadName)), _logger(logger) {
    for (size_t i = 0; i < threads; ++i) _threads.emplace_back([this] { run(); });
}

TaskExecutor::~TaskExecutor() { close(); }

bool TaskExecutor::tryPost(Task task) noexcept {
    try {
        std::lock_guard<std::mutex> lock(_mutex);
        if (_closing || _queue.size() >= _maxQueued) return false;
        _queue.push_back(std::move(task));
    } catch (...) {
        return false;  // out of memory: refused like a full queue
    }
    _wake.notify_one();
    return true;
}

void TaskExecutor::post(Task task) noexcept {
    try {
        std::unique_lock<std::mutex> lock(_mutex);
        if (!_closing) {
            _queue.push_back(std::move(task));
            lock.unlock();
            _wake.notify_one();
            return;
        }
    } catch (...) {
        // out of memory queueing it: run it here rather than lose it
    }
    runTask(task, true);
}

void TaskExecutor::close() noexcept {
    std::lock_guard<std::mutex> closing(_closeMutex);  // a second close() waits for the first
    {
        std::lock_guard<std::mutex> lock(_mutex);
        _closing = true;
    }
    _wake.notify_all();
    for (auto& t : _threads)
        if (t.joinable()) t.join();
}

void TaskExecutor::run() noexcept {
    sdk::nameThisThread(_threadName);
    std::unique_lock<std::mutex> lock(_mutex);
    for (;;) {
        _wake.wait(lock, [this] { return _closing || !_queue.empty(); });
        if (_queue.empty()) return;  // closing and drained
        Task task = std::move(_queue.front());
        _queue.pop_front();
        const bool cancelled = _closing;
        lock.unlock();
        runTask(task, cancelled);
        task = nullptr;  // whatever it captured goes now, not under the lock
        lock.lock();
    }
}

void TaskExecutor::runTask(Task& task, bool cancelled) noexcept {
    if (task) runLogged(_logger, "an event log task", task, cancelled);
}

}  // namespace ordersystem::transport
