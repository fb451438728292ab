// Shared helpers for the transport-inmemory unit tests: a plugin started on a FakeHost in a
// temporary folder (restartable, like a process restart), event builders and recording
// subscribers that tests can wait on (bounded waits only).
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "InMemoryTransportPlugin.h"
#include "ordersystem/sdk/util.h"
#include "ordersystem/testing/FakeHost.h"
#include "ordersystem/testing/TestSupport.h"

namespace ordersystem::plugins::inmemory::test {

using namespace ordersystem::sdk;
using ordersystem::testing::FakeHost;

inline EventRecord makeEvent(int64_t orderId, int64_t version, std::string type = "") {
    EventRecord e;
    e.eventId = newUuid();
    e.type = type.empty() ? (version == 1 ? "OrderCreated" : "OrderProcessing") : type;
    e.orderId = orderId;
    e.orderNumber = "ORD-" + std::to_string(orderId);
    e.version = version;
    e.occurredAtMs = nowMs();
    e.nodeId = "node-test";
    e.dataJson = R"({"customerId":"c-1","total":12.5})";
    return e;
}

/// One event continuing orderId from expectedVersion.
inline AppendRequest makeAppend(int64_t orderId, int64_t expectedVersion) {
    AppendRequest r;
    r.orderId = orderId;
    r.expectedVersion = expectedVersion;
    r.events.push_back(makeEvent(orderId, expectedVersion + 1));
    return r;
}

/// The plugin on a FakeHost in its own temp folder; restart() is a clean process restart.
class LogFixture {
public:
    explicit LogFixture(Durability durability = Durability::Normal) : _durability(durability) {}
    ~LogFixture() { stop(); }

    /// Starts with the declared defaults plus overrides; fails the test on error.
    void start(const std::map<std::string, std::string>& overrides = {}) {
        _overrides = overrides;
        _host = std::make_unique<FakeHost>(_dir.path());
        _host->mutableNode().durability = _durability;
        for (uint32_t i = 0; i < kConfigKeyCount; ++i)
            _host->mutableConfig().set(kConfigKeys[i].name, kConfigKeys[i].defaultValue);
        for (const auto& [k, v] : overrides) _host->mutableConfig().set(k, v);
        auto created = InMemoryTransportPlugin::create(_host->config());
        ASSERT_TRUE(created.isOk()) << created.status().message;
        _plugin = std::move(created.value());
        const Status s = _plugin->start(*_host);
        ASSERT_TRUE(s.isOk()) << s.message;
        ASSERT_NE(_host->eventLog(), nullptr);
    }
    void stop() {
        if (_plugin) _plugin->stop();
        _plugin.reset();
    }
    /// Stops and starts again on the same folder and settings.
    void restart() {
        stop();
        start(_overrides);
    }

    EventLog& log() { return *_host->eventLog(); }
    FakeHost& host() { return *_host; }
    const std::string& dir() const { return _dir.path(); }
    std::string dbPath() const { return _dir.file("events.db"); }

    /// Appends a new order with `events` consecutive events; returns its id.
    int64_t appendOrder(int events = 1) {
        auto id = log().allocateOrderId();
        EXPECT_TRUE(id.isOk());
        for (int v = 0; v < events; ++v) {
            auto req = makeAppend(id.value(), v);
            auto res = log().append(req);
            EXPECT_TRUE(res.status.isOk()) << res.status.message;
        }
        return id.value();
    }

private:
    ordersystem::testing::TempDir _dir;
    Durability _durability;
    std::map<std::string, std::string> _overrides;
    std::unique_ptr<FakeHost> _host;
    std::unique_ptr<InMemoryTransportPlugin> _plugin;
};

/// A projection that remembers what it applied; its checkpoint survives restarts because the
/// test keeps the object (as a real projection keeps it in its own database).
class RecordingProjection final : public Projection {
public:
    explicit RecordingProjection(std::string name = "test-projection") : _name(std::move(name)) {}
    std::string_view projectionName() const noexcept override { return _name; }
    uint64_t checkpoint() noexcept override {
        std::lock_guard<std::mutex> lock(_mutex);
        ++checkpointCalls;
        return _checkpoint;
    }
    Status apply(const std::vector<EventRecord>& batch) noexcept override {
        std::unique_lock<std::mutex> lock(_mutex);
        attempts.push_back(batch.front().position);
        if (failuresLeft > 0) {
            --failuresLeft;
            return Status(StatusCode::Unavailable, "simulated projection failure");
        }
        for (const auto& e : batch) applied.push_back(e.position);
        _checkpoint = batch.back().position;
        if (onApply) {
            lock.unlock();
            onApply();
            lock.lock();
        }
        _cv.notify_all();
        return Status::ok();
    }
    /// Waits (bounded) until the checkpoint reaches position.
    bool waitFor(uint64_t position, std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
        std::unique_lock<std::mutex> lock(_mutex);
        return _cv.wait_for(lock, timeout, [&] { return _checkpoint >= position; });
    }
    void setCheckpoint(uint64_t p) {
        std::lock_guard<std::mutex> lock(_mutex);
        _checkpoint = p;
    }
    std::vector<uint64_t> appliedCopy() {
        std::lock_guard<std::mutex> lock(_mutex);
        return applied;
    }

    int failuresLeft = 0;
    int checkpointCalls = 0;
    std::vector<uint64_t> applied;
    std::vector<uint64_t> attempts;  ///< first position of every apply() call
    std::function<void()> onApply;

private:
    std::string _name;
    std::mutex _mutex;
    std::condition_variable _cv;
    uint64_t _checkpoint = 0;
};

/// A reaction that records every delivery and fails as the test says.
class RecordingReaction final : public Reaction {
public:
    explicit RecordingReaction(std::string name = "test-reaction") : _name(std::move(name)) {}
    std::string_view reactionName() const noexcept override { return _name; }
    Status handle(const EventRecord& event) noexcept override {
        std::lock_guard<std::mutex> lock(_mutex);
        deliveries.push_back(event.position);
        if (shouldFail && shouldFail(event, ++_attempts[event.position]))
            return Status(StatusCode::Unavailable, "simulated webhook failure");
        handled.push_back(event.position);
        _cv.notify_all();
        return Status::ok();
    }
    bool waitHandled(size_t count, std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
        std::unique_lock<std::mutex> lock(_mutex);
        return _cv.wait_for(lock, timeout, [&] { return handled.size() >= count; });
    }
    std::vector<uint64_t> deliveriesCopy() {
        std::lock_guard<std::mutex> lock(_mutex);
        return deliveries;
    }
    std::vector<uint64_t> handledCopy() {
        std::lock_guard<std::mutex> lock(_mutex);
        return handled;
    }

    /// (event, attempt number starting at 1) -> fail this delivery?
    std::function<bool(const EventRecord&, int)> shouldFail;
    std::vector<uint64_t> deliveries;
    std::vector<uint64_t> handled;

private:
    std::string _name;
    std::mutex _mutex;
    std::condition_variable _cv;
    std::map<uint64_t, int> _attempts;
};

}  // namespace ordersystem::plugins::inmemory::test
