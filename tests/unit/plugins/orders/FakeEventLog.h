// A small in-memory sdk::EventLog for the orders plugin's unit tests: a vector of events with the
// version check, one delivery thread per subscribed projection, an idempotency map, and knobs to
// inject a version conflict (optionally after a competing write) or an outage.
// Thread-safe like the real contract: every method may be called from any thread.
// setAsynchronous(true) makes it an asynchronous log: appendAsync() returns at once and its
// own completion thread appends and calls done; holdAppends(true) keeps submitted appends
// queued (not written, done not called) until holdAppends(false). Appends still held when the
// log is destroyed are dropped without calling done.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "ordersystem/sdk/eventlog.h"

namespace ordersystem::plugins::orders::testing {

using namespace ordersystem::sdk;

class FakeEventLog final : public EventLog, public IdempotencyStore, public Membership {
public:
    ~FakeEventLog() override {
        {
            std::lock_guard<std::mutex> lock(_asyncMutex);
            _asyncStop = true;
            _asyncCv.notify_all();
        }
        if (_completer.joinable()) _completer.join();
        std::vector<SubscriptionId> ids;
        {
            std::lock_guard<std::mutex> lock(_mutex);
            for (auto& s : _subs) ids.push_back(s.first);
        }
        for (auto id : ids) unsubscribe(id);
    }

    std::string_view mode() const noexcept override { return "standalone"; }

    Result<int64_t> allocateOrderId() noexcept override {
        std::lock_guard<std::mutex> lock(_mutex);
        if (_unavailable) return Result<int64_t>(StatusCode::Unavailable, "fake log is down");
        return _nextId++;
    }

    AppendResult append(AppendRequest& request) noexcept override {
        std::function<void(FakeEventLog&)> hook;
        {
            std::lock_guard<std::mutex> lock(_mutex);
            ++_appendCalls;
            if (_unavailable || _appendsUnavailable)
                return AppendResult{Status(StatusCode::Unavailable, "fake log is down"), 0, -1};
            if (_refuseAppends > 0) {
                --_refuseAppends;
                return AppendResult{Status(StatusCode::VersionConflict, "injected conflict"), 0,
                                    versionLocked(request.orderId)};
            }
            hook = std::move(_beforeNextAppend);
            _beforeNextAppend = nullptr;
        }
        if (hook) hook(*this);  // a competing writer gets in first
        std::lock_guard<std::mutex> lock(_mutex);
        const int64_t current = versionLocked(request.orderId);
        if (current != request.expectedVersion)
            return AppendResult{Status(StatusCode::VersionConflict, "version conflict"), 0, current};
        for (auto& e : request.events) {
            e.position = _events.size() + 1;
            _events.push_back(e);
        }
        _versions[request.orderId] = request.events.back().version;
        if (request.idempotency) {
            auto& k = _keys[request.idempotency->key];
            k.completed = true;
            k.fingerprint = request.idempotency->fingerprint;
            k.response = request.idempotency->response;
        }
        _cv.notify_all();
        if (_confirmationsLost)  // written, but the answer never came back
            return AppendResult{Status(StatusCode::Timeout, "fake log did not answer"), 0, -1};
        return AppendResult{Status::ok(), _events.back().position, -1};
    }

    bool appendsAsynchronously() const noexcept override { return _asynchronous.load(); }
    void appendAsync(AppendRequest& request, AppendCallback done) noexcept override {
        if (!_asynchronous.load()) return done(append(request));
        std::lock_guard<std::mutex> lock(_asyncMutex);
        ++_asyncAppendCalls;
        _submitted.emplace_back(&request, std::move(done));
        if (!_completer.joinable()) _completer = std::thread([this] { completeAppends(); });
        _asyncCv.notify_all();
    }

    Result<std::vector<EventRecord>> readOrder(int64_t orderId) noexcept override {
        std::lock_guard<std::mutex> lock(_mutex);
        if (_unavailable) return Result<std::vector<EventRecord>>(StatusCode::Unavailable, "fake log is down");
        ++_readOrderCalls;
        std::vector<EventRecord> out;
        for (const auto& e : _events)
            if (e.orderId == orderId) out.push_back(e);
        return out;
    }

    Result<uint64_t> headPosition() noexcept override {
        std::lock_guard<std::mutex> lock(_mutex);
        return static_cast<uint64_t>(_events.size());
    }

    Result<SubscriptionId> subscribe(Projection& projection) noexcept override {
        std::lock_guard<std::mutex> lock(_mutex);
        const SubscriptionId id = ++_lastSub;
        auto sub = std::make_unique<Sub>();
        sub->projection = &projection;
        Sub* raw = sub.get();
        const uint64_t start = projection.checkpoint();
        sub->thread = std::thread([this, raw, start] { deliver(*raw, start); });
        _subs.emplace(id, std::move(sub));
        return id;
    }
    Result<SubscriptionId> subscribe(Reaction&) noexcept override {
        return Result<SubscriptionId>(StatusCode::Internal, "reactions are not faked");
    }
    void unsubscribe(SubscriptionId id) noexcept override {
        std::unique_ptr<Sub> sub;
        {
            std::lock_guard<std::mutex> lock(_mutex);
            auto it = _subs.find(id);
            if (it == _subs.end()) return;
            sub = std::move(it->second);
            _subs.erase(it);
            sub->stop = true;
            _cv.notify_all();
        }
        sub->thread.join();
    }

    IdempotencyStore& idempotency() noexcept override { return *this; }
    Membership& membership() noexcept override { return *this; }

    Result<IdempotencyClaim> claim(const std::string& key, const std::string& fingerprint, int64_t) noexcept override {
        std::lock_guard<std::mutex> lock(_mutex);
        _claimThreads.push_back(std::this_thread::get_id());
        IdempotencyClaim c;
        auto it = _keys.find(key);
        if (it == _keys.end()) {
            _keys[key] = Key{false, fingerprint, {}};
            c.state = IdempotencyClaim::State::Claimed;
        } else if (it->second.completed) {
            c.state = IdempotencyClaim::State::Completed;
            c.fingerprint = it->second.fingerprint;
            c.response = it->second.response;
        } else {
            c.state = IdempotencyClaim::State::InFlight;
        }
        return c;
    }
    Status complete(const IdempotencyCompletion& completion) noexcept override {
        std::lock_guard<std::mutex> lock(_mutex);
        _keys[completion.key] = Key{true, completion.fingerprint, completion.response};
        return Status::ok();
    }
    Status release(const std::string& key) noexcept override {
        std::lock_guard<std::mutex> lock(_mutex);
        auto it = _keys.find(key);
        if (it != _keys.end() && !it->second.completed) _keys.erase(it);
        return Status::ok();
    }

    Result<std::vector<NodeInfo>> liveNodes() noexcept override { return std::vector<NodeInfo>{}; }

    // --- knobs and probes for tests ---
    void refuseNextAppends(int count) {
        std::lock_guard<std::mutex> l(_mutex);
        _refuseAppends = count;
    }
    /// Runs once inside the next append, before its version check (simulates another writer).
    void beforeNextAppend(std::function<void(FakeEventLog&)> hook) {
        std::lock_guard<std::mutex> l(_mutex);
        _beforeNextAppend = std::move(hook);
    }
    void setUnavailable(bool down) {
        std::lock_guard<std::mutex> l(_mutex);
        _unavailable = down;
    }
    /// Appends fail with Unavailable; ids are still handed out.
    void setAppendsUnavailable(bool down) {
        std::lock_guard<std::mutex> l(_mutex);
        _appendsUnavailable = down;
    }
    /// Appends are written but answer Timeout, as when an acknowledgement is lost on the way back.
    void setConfirmationsLost(bool lost) {
        std::lock_guard<std::mutex> l(_mutex);
        _confirmationsLost = lost;
    }
    /// Set before the plugin starts: appendsAsynchronously() and appendAsync() on another thread.
    void setAsynchronous(bool on) { _asynchronous.store(on); }
    /// Holds submitted asynchronous appends (not written, done not called) until released.
    void holdAppends(bool hold) {
        std::lock_guard<std::mutex> l(_asyncMutex);
        _holding = hold;
        _asyncCv.notify_all();
    }
    /// Asynchronous appends submitted and not yet completed.
    size_t appendsWaiting() {
        std::lock_guard<std::mutex> l(_asyncMutex);
        return _submitted.size() + _completing;
    }
    int asyncAppendCalls() {
        std::lock_guard<std::mutex> l(_asyncMutex);
        return _asyncAppendCalls;
    }
    /// Holds back delivery to projections (appends still succeed).
    void pauseDelivery(bool paused) {
        std::lock_guard<std::mutex> l(_mutex);
        _paused = paused;
        _cv.notify_all();
    }
    size_t eventCount() {
        std::lock_guard<std::mutex> l(_mutex);
        return _events.size();
    }
    std::vector<EventRecord> events() {
        std::lock_guard<std::mutex> l(_mutex);
        return _events;
    }
    int appendCalls() {
        std::lock_guard<std::mutex> l(_mutex);
        return _appendCalls;
    }
    /// The threads claim() was called on, in order.
    std::vector<std::thread::id> claimThreads() {
        std::lock_guard<std::mutex> l(_mutex);
        return _claimThreads;
    }
    int readOrderCalls() {
        std::lock_guard<std::mutex> l(_mutex);
        return _readOrderCalls;
    }
    /// Appends an event as another node would (version checked against the log).
    Status appendForeign(EventRecord event) {
        AppendRequest r;
        r.orderId = event.orderId;
        r.expectedVersion = event.version - 1;
        r.events.push_back(std::move(event));
        return append(r).status;
    }

private:
    struct Sub {
        Projection* projection = nullptr;
        std::thread thread;
        bool stop = false;
    };
    struct Key {
        bool completed = false;
        std::string fingerprint;
        std::string response;
    };

    int64_t versionLocked(int64_t orderId) const {
        auto it = _versions.find(orderId);
        return it == _versions.end() ? 0 : it->second;
    }

    /// The completion thread of an asynchronous log: appends in submission order, then calls done.
    void completeAppends() {
        std::unique_lock<std::mutex> lock(_asyncMutex);
        while (true) {
            _asyncCv.wait(lock, [this] { return _asyncStop || (!_holding && !_submitted.empty()); });
            if (_asyncStop) return;
            auto next = std::move(_submitted.front());
            _submitted.pop_front();
            ++_completing;
            lock.unlock();
            next.second(append(*next.first));
            lock.lock();
            --_completing;
        }
    }

    void deliver(Sub& sub, uint64_t delivered) {
        std::unique_lock<std::mutex> lock(_mutex);
        while (!sub.stop) {
            _cv.wait_for(lock, std::chrono::milliseconds(50),
                         [&] { return sub.stop || (!_paused && _events.size() > delivered); });
            if (sub.stop) break;
            if (_paused || _events.size() <= delivered) continue;
            const size_t end = std::min<size_t>(_events.size(), delivered + 64);
            std::vector<EventRecord> batch(_events.begin() + static_cast<long>(delivered),
                                           _events.begin() + static_cast<long>(end));
            lock.unlock();
            const Status s = sub.projection->apply(batch);
            uint64_t next = batch.back().position;
            if (!s) {
                std::this_thread::sleep_for(std::chrono::milliseconds(10));
                next = sub.projection->checkpoint();
            }
            lock.lock();
            delivered = next;
        }
    }

    std::mutex _mutex;
    std::condition_variable _cv;
    std::vector<EventRecord> _events;
    std::map<int64_t, int64_t> _versions;
    std::map<std::string, Key> _keys;
    std::map<SubscriptionId, std::unique_ptr<Sub>> _subs;
    SubscriptionId _lastSub = 0;
    int64_t _nextId = 1;
    int _refuseAppends = 0;
    int _appendCalls = 0;
    int _readOrderCalls = 0;
    bool _unavailable = false;
    bool _paused = false;
    bool _appendsUnavailable = false;
    bool _confirmationsLost = false;
    std::vector<std::thread::id> _claimThreads;
    std::function<void(FakeEventLog&)> _beforeNextAppend;

    std::atomic<bool> _asynchronous{false};
    std::mutex _asyncMutex;  ///< guards the members below
    std::condition_variable _asyncCv;
    std::deque<std::pair<AppendRequest*, AppendCallback>> _submitted;
    size_t _completing = 0;
    int _asyncAppendCalls = 0;
    bool _holding = false;
    bool _asyncStop = false;
    std::thread _completer;
};

}  // namespace ordersystem::plugins::orders::testing
