// Contract: threads for HTTP handlers that may block (the event loops must not). post() is
// thread-safe; a new thread starts when a task is queued and every thread is busy, up to
// maxThreads (then tasks wait in FIFO order). stop() lets queued tasks run, then joins.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "ordersystem/sdk/util.h"

namespace ordersystem::host {

class WorkerPool {
public:
    explicit WorkerPool(int maxThreads) : _maxThreads(maxThreads < 1 ? 1 : maxThreads) {}
    ~WorkerPool() { stop(); }
    WorkerPool(const WorkerPool&) = delete;
    WorkerPool& operator=(const WorkerPool&) = delete;

    void post(std::function<void()> task) {
        std::unique_lock<std::mutex> lock(_mutex);
        if (_stopping) return;
        _tasks.push_back(std::move(task));
        if (_idle > _signalled) {
            ++_signalled;
            lock.unlock();
            _wake.notify_one();
            return;
        }
        if (static_cast<int>(_threads.size()) < _maxThreads) _threads.emplace_back([this] { run(); });
    }

    void stop() {
        {
            std::lock_guard<std::mutex> lock(_mutex);
            _stopping = true;
        }
        _wake.notify_all();
        for (auto& t : _threads)
            if (t.joinable()) t.join();
        _threads.clear();
    }

private:
    void run() {
        sdk::nameThisThread("http-worker");
        std::unique_lock<std::mutex> lock(_mutex);
        for (;;) {
            if (_tasks.empty()) {
                if (_stopping) return;
                ++_idle;
                _wake.wait(lock, [this] { return _stopping || !_tasks.empty(); });
                --_idle;
                if (_signalled > 0) --_signalled;
                continue;
            }
            std::function<void()> task = std::move(_tasks.front());
            _tasks.pop_front();
            lock.unlock();
            task();
            lock.lock();
        }
    }

    const int _maxThreads;
    std::mutex _mutex;
    std::condition_variable _wake;
    std::deque<std::function<void()>> _tasks;
    std::vector<std::thread> _threads;
    int _idle = 0;       ///< threads waiting for a task
    int _signalled = 0;  ///< wake-ups sent and not yet taken (so one idle thread is not counted twice)
    bool _stopping = false;
};

}  // namespace ordersystem::host
