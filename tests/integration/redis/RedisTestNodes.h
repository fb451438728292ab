// Test helpers for the Redis transport's integration tests: a redis-server per suite (or the one
// named by ORDERSYSTEM_TEST_REDIS_URL), "nodes" = transport plugin instances on FakeHosts sharing
// that server under a per-test key prefix, raw Redis access, and recording projections/reactions.
// Header-only; every server and plugin started here is stopped by its owner's destructor.
#pragma once

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "RedisConnection.h"
#include "RedisSettings.h"
#include "RedisTransportPlugin.h"
#include "ordersystem/sdk/util.h"
#include "ordersystem/testing/Events.h"
#include "ordersystem/testing/FakeHost.h"
#include "ordersystem/testing/TestSupport.h"

namespace ordersystem::redistest {

using namespace ordersystem::sdk;
using ordersystem::plugins::redis::RedisConnection;
using ordersystem::plugins::redis::RedisEventLog;
using ordersystem::plugins::redis::RedisTransportPlugin;
using ordersystem::plugins::redis::ReplyPtr;
using ordersystem::testing::FakeHost;

inline std::string uniquePrefix(const std::string& what) { return "test-" + what + "-" + newUuid().substr(0, 8); }

using ordersystem::testing::makeEvent;

/// One "node": a transport plugin on its own FakeHost.
struct TestNode {
    std::unique_ptr<FakeHost> host;
    std::unique_ptr<RedisTransportPlugin> plugin;
    RedisEventLog& log() { return *plugin->eventLog(); }
};

/// Stops a node's transport when a test leaves its scope, even through a failed ASSERT: declared
/// after the test's projections/reactions, it ends their delivery threads before they are destroyed.
struct StopOnExit {
    std::unique_ptr<TestNode>& node;
    ~StopOnExit() {
        if (node && node->plugin) node->plugin->stop();
    }
};

/// Builds and starts a node; returns null and fails the test when start() fails.
inline std::unique_ptr<TestNode> startNode(const std::string& url, const std::string& prefix, const std::string& nodeId,
                                           const std::string& dataDir,
                                           const std::map<std::string, std::string>& extra = {},
                                           Status* startStatus = nullptr, Durability durability = Durability::Normal) {
    auto node = std::make_unique<TestNode>();
    node->host = std::make_unique<FakeHost>(dataDir, nodeId);
    node->host->mutableNode().durability = durability;
    node->host->mutableNode().httpAddress =
        "http://127.0.0.1:" + std::to_string(1000 + (std::hash<std::string>{}(nodeId) % 50000));
    ordersystem::testing::FakeConfig config("transport.redis",
                                            {{"url", url}, {"key_prefix", prefix}, {"block_ms", "100"}});
    for (const auto& kv : extra) config.set(kv.first, kv.second);
    auto settings = ordersystem::plugins::redis::parseRedisSettings(config);
    if (!settings) {
        ADD_FAILURE() << settings.status().message;
        return nullptr;
    }
    node->plugin = std::make_unique<RedisTransportPlugin>(settings.value());
    Status st = node->plugin->start(*node->host);
    if (startStatus) *startStatus = st;
    if (!st) {
        if (!startStatus) ADD_FAILURE() << "start failed: " << st.message;
        return nullptr;
    }
    return node;
}

/// A raw connection for inspecting and poking at Redis from a test.
inline std::unique_ptr<RedisConnection> rawConnection(const std::string& url) {
    auto ep = ordersystem::plugins::redis::parseRedisUrl(url);
    if (!ep) return nullptr;
    auto c = RedisConnection::open(ep.value(), 1000, 5000);
    return c ? std::move(c.value()) : nullptr;
}

/// Runs a command and returns its reply rendered as text (arrays flattened with spaces).
inline std::string rawCommand(RedisConnection& c, const std::vector<std::string>& argv) {
    auto r = c.command(argv);
    if (!r) return "<" + r.status().message + ">";
    std::function<std::string(const redisReply*)> render = [&](const redisReply* x) -> std::string {
        using namespace ordersystem::plugins::redis;
        if (replyIsArray(x)) {
            std::string out;
            for (size_t i = 0; i < replySize(x); ++i) out += (i ? " " : "") + render(replyAt(x, i));
            return out;
        }
        return replyString(x);
    };
    return render(r.value().get());
}

/// Deletes every key under prefix (tests sharing one server leave nothing behind).
inline void dropPrefix(const std::string& url, const std::string& prefix) {
    auto c = rawConnection(url);
    if (!c) return;
    std::string cursor = "0";
    for (int round = 0; round < 10000; ++round) {
        auto r = c->command({"SCAN", cursor, "MATCH", prefix + ":*", "COUNT", "1000"});
        if (!r) return;
        using namespace ordersystem::plugins::redis;
        const redisReply* reply = r.value().get();
        cursor = replyString(replyAt(reply, 0));
        const redisReply* keys = replyAt(reply, 1);
        std::vector<std::string> argv = {"UNLINK"};
        for (size_t i = 0; i < replySize(keys); ++i) argv.push_back(replyString(replyAt(keys, i)));
        if (argv.size() > 1) c->command(argv);
        if (cursor == "0" || cursor.empty()) return;
    }
}

/// Appends a new order (version 1); returns its position (0 on failure, test fails).
inline uint64_t appendNew(EventLog& log, int64_t orderId, const std::string& nodeId = "node-a") {
    AppendRequest req;
    req.orderId = orderId;
    req.expectedVersion = 0;
    req.events.push_back(makeEvent(orderId, 1, nodeId));
    AppendResult res = log.append(req);
    EXPECT_TRUE(res.status.isOk()) << res.status.message;
    return res.lastPosition;
}

/// A projection that records what it applied; can be told to fail its next applies.
class RecordingProjection final : public Projection {
public:
    explicit RecordingProjection(std::string name, uint64_t checkpoint = 0)
        : _name(std::move(name)), _checkpoint(checkpoint) {}
    std::string_view projectionName() const noexcept override { return _name; }
    uint64_t checkpoint() noexcept override {
        std::lock_guard<std::mutex> lock(_mutex);
        ++checkpointCalls;
        return _checkpoint;
    }
    Status apply(const std::vector<EventRecord>& batch) noexcept override {
        std::lock_guard<std::mutex> lock(_mutex);
        ++applyCalls;
        if (_failNext > 0) {
            --_failNext;
            failedBatches.push_back(batch.front().position);
            return Status(StatusCode::Unavailable, "disk full (test)");
        }
        for (const auto& e : batch) {
            if (e.position <= _checkpoint) orderViolations++;
            _checkpoint = e.position;
            events.push_back(e);
        }
        return Status::ok();
    }
    void failNext(int n) {
        std::lock_guard<std::mutex> lock(_mutex);
        _failNext = n;
    }
    std::vector<EventRecord> snapshot() {
        std::lock_guard<std::mutex> lock(_mutex);
        return events;
    }
    size_t count() {
        std::lock_guard<std::mutex> lock(_mutex);
        return events.size();
    }
    uint64_t position() {
        std::lock_guard<std::mutex> lock(_mutex);
        return _checkpoint;
    }
    std::vector<uint64_t> failedBatchStarts() {
        std::lock_guard<std::mutex> lock(_mutex);
        return failedBatches;
    }
    int orderViolations = 0;
    int checkpointCalls = 0;
    int applyCalls = 0;

private:
    std::string _name;
    std::mutex _mutex;
    uint64_t _checkpoint;
    int _failNext = 0;
    std::vector<EventRecord> events;
    std::vector<uint64_t> failedBatches;
};

/// Deliveries seen by every node's reaction, shared so a test can count per cluster.
struct DeliveryLog {
    std::mutex mutex;
    std::map<std::string, int> attemptsByEvent;   ///< every handle() call
    std::map<std::string, int> deliveredByEvent;  ///< handle() calls that returned Ok
    std::map<std::string, std::string> nodeByEvent;
    size_t delivered() {
        std::lock_guard<std::mutex> lock(mutex);
        size_t n = 0;
        for (const auto& kv : deliveredByEvent) n += static_cast<size_t>(kv.second);
        return n;
    }
    int attempts(const std::string& eventId) {
        std::lock_guard<std::mutex> lock(mutex);
        auto it = attemptsByEvent.find(eventId);
        return it == attemptsByEvent.end() ? 0 : it->second;
    }
};

/// A reaction that records deliveries into a shared DeliveryLog; fails the first failFirst
/// attempts of each event (or all of them when failFirst < 0).
class RecordingReaction final : public Reaction {
public:
    RecordingReaction(std::string name, std::string nodeId, DeliveryLog& log, int failFirst = 0, int delayMs = 0)
        : _name(std::move(name)), _nodeId(std::move(nodeId)), _log(log), _failFirst(failFirst), _delayMs(delayMs) {}
    std::string_view reactionName() const noexcept override { return _name; }
    Status handle(const EventRecord& event) noexcept override {
        if (_delayMs > 0) std::this_thread::sleep_for(std::chrono::milliseconds(_delayMs));  // a slow webhook
        std::lock_guard<std::mutex> lock(_log.mutex);
        int attempt = ++_log.attemptsByEvent[event.eventId];
        if (_failFirst < 0 || attempt <= _failFirst)
            return Status(StatusCode::Unavailable, "webhook answered 502 (test)");
        ++_log.deliveredByEvent[event.eventId];
        _log.nodeByEvent[event.eventId] = _nodeId;
        return Status::ok();
    }

private:
    std::string _name;
    std::string _nodeId;
    DeliveryLog& _log;
    int _failFirst;
    int _delayMs;
};

/// A redis-server of a test's own (appendonly, free loopback port) that the test can freeze with
/// SIGSTOP: it then accepts connections and answers nothing. Thawed again when it goes.
class FreezableRedis {
public:
    explicit FreezableRedis(const std::string& dir)
        : _port(ordersystem::testing::freePort()),
          _url("redis://127.0.0.1:" + std::to_string(_port)),
          _server("redis-server",
                  {"--port", std::to_string(_port), "--bind", "127.0.0.1", "--dir", dir, "--appendonly", "yes",
                   "--save", ""},
                  dir + "/redis.log") {}
    ~FreezableRedis() { thaw(); }
    /// Waits until it answers PING.
    bool ready() {
        return ordersystem::testing::waitUntil(
            [&] {
                auto raw = rawConnection(_url);
                return raw && rawCommand(*raw, {"PING"}) == "PONG";
            },
            std::chrono::seconds(10));
    }
    bool freeze() { return ::kill(_server.pid(), SIGSTOP) == 0; }
    void thaw() { ::kill(_server.pid(), SIGCONT); }
    const std::string& url() const { return _url; }

private:
    int _port;
    std::string _url;
    ordersystem::testing::ChildProcess _server;
};

/// One redis-server for a whole test suite (or the shared one from ORDERSYSTEM_TEST_REDIS_URL).
class SharedRedis {
public:
    static SharedRedis& instance() {
        static SharedRedis s;
        return s;
    }
    const std::string& url() const { return _url; }
    bool ok() const { return !_url.empty(); }

private:
    SharedRedis() {
        if (const char* env = std::getenv("ORDERSYSTEM_TEST_REDIS_URL"); env && *env) {
            _url = env;
            return;
        }
        if (!ordersystem::testing::RedisServer::available()) return;
        _dir = std::make_unique<ordersystem::testing::TempDir>();
        _server = std::make_unique<ordersystem::testing::RedisServer>(_dir->path());
        if (_server->start()) _url = _server->url();
    }
    std::unique_ptr<ordersystem::testing::TempDir> _dir;
    std::unique_ptr<ordersystem::testing::RedisServer> _server;
    std::string _url;
};

}  // namespace ordersystem::redistest
