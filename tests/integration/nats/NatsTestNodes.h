// Test helpers for transport-nats integration tests: a throwaway nats-server -js (or the shared
// one named by ORDERSYSTEM_TEST_NATS_URL, for tests that do not restart NATS), "nodes" = plugin
// instances on FakeHosts sharing it under per-test stream and subject names, raw JetStream
// access for checks, appendAsync() calls awaited, and recording projections/reactions.
// Header-only; every server and plugin started here is stopped by its owner's destructor.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nats/nats.h>

#include "NatsSettings.h"
#include "NatsTransportPlugin.h"
#include "ordersystem/sdk/util.h"
#include "ordersystem/testing/Events.h"
#include "ordersystem/testing/FakeHost.h"
#include "ordersystem/testing/TestSupport.h"

namespace ordersystem::natstest {

using namespace ordersystem::sdk;
using ordersystem::plugins::nats::NatsEventLog;
using ordersystem::plugins::nats::NatsTransportPlugin;
using ordersystem::testing::FakeHost;
using ordersystem::testing::NatsServer;
using ordersystem::testing::TempDir;
using ordersystem::testing::waitUntil;

using ordersystem::testing::makeEvent;

/// A nats-server for one test (own store folder), or the shared one from the environment.
class NatsEnv {
public:
    /// allowShared: use ORDERSYSTEM_TEST_NATS_URL when set. startServer=false: names only (the
    /// caller sets url itself, e.g. to a port nobody listens on).
    explicit NatsEnv(bool allowShared = true, bool startServer = true) {
        const char* shared = std::getenv("ORDERSYSTEM_TEST_NATS_URL");
        const std::string tag = newUuid().substr(0, 8);
        // Per-test names keep tests apart on a shared server.
        names = {{"stream", "T" + tag},
                 {"subject_prefix", "t" + tag + ".events"},
                 {"deadletter_prefix", "t" + tag + ".deadletter"},
                 {"id_subject", "t" + tag + ".ids"}};
        if (allowShared && shared != nullptr && *shared != '\0') {
            url = shared;
            return;
        }
        if (!startServer) return;
        server = std::make_unique<NatsServer>(dir.path() + "/nats");
        ok = server->start();
        url = server->url();
    }
    bool ok = true;
    TempDir dir;
    std::unique_ptr<NatsServer> server;
    std::string url;
    std::map<std::string, std::string> names;
};

/// One "node": a transport plugin on its own FakeHost.
struct TestNode {
    std::unique_ptr<FakeHost> host;
    std::unique_ptr<NatsTransportPlugin> plugin;
    bool started = false;
    NatsEventLog& log() { return *plugin->eventLog(); }
    void stop() {
        if (started) plugin->stop();
        started = false;
    }
    ~TestNode() { stop(); }
};

/// The section as the host would hand it over: every declared key at its default, then overrides.
inline ordersystem::testing::FakeConfig natsConfig(const std::map<std::string, std::string>& overrides) {
    ordersystem::testing::FakeConfig config("transport.nats");
    const auto* keys = ordersystem::plugins::nats::configKeys();
    for (uint32_t i = 0; i < ordersystem::plugins::nats::configKeyCount(); ++i)
        config.set(keys[i].name, keys[i].defaultValue);
    for (const auto& kv : overrides) config.set(kv.first, kv.second);
    return config;
}

/// Builds and starts a node; returns null (and fails the test unless startStatus is given) when
/// start() fails.
inline std::unique_ptr<TestNode> startNode(const NatsEnv& env, const std::string& nodeId, const std::string& dataDir,
                                           std::map<std::string, std::string> extra = {},
                                           Status* startStatus = nullptr) {
    auto node = std::make_unique<TestNode>();
    node->host = std::make_unique<FakeHost>(dataDir, nodeId);
    node->host->mutableNode().httpAddress =
        "http://127.0.0.1:" + std::to_string(1000 + (std::hash<std::string>{}(nodeId) % 50000));
    std::map<std::string, std::string> overrides = env.names;
    overrides["url"] = env.url;
    overrides["request_timeout_ms"] = "2000";
    for (const auto& kv : extra) overrides[kv.first] = kv.second;
    auto settings = ordersystem::plugins::nats::readSettings(natsConfig(overrides));
    if (!settings) {
        ADD_FAILURE() << settings.status().message;
        return nullptr;
    }
    node->plugin = std::make_unique<NatsTransportPlugin>(settings.value());
    Status st = node->plugin->start(*node->host);
    if (startStatus) *startStatus = st;
    if (!st) {
        if (!startStatus) ADD_FAILURE() << "start failed: " << st.message;
        return nullptr;
    }
    node->started = true;
    return node;
}

/// Nodes on one nats-server of the test's own (or the shared one).
class NatsNodesTest : public ::testing::Test {
protected:
    void SetUp() override { ASSERT_TRUE(env.ok) << "nats-server could not be started (is it installed?)"; }
    std::unique_ptr<TestNode> node(const std::string& id, std::map<std::string, std::string> extra = {}) {
        auto n = startNode(env, id, dir.path(), std::move(extra));
        EXPECT_TRUE(n);
        return n;
    }
    NatsEnv env;
    TempDir dir;
};

/// Appends the OrderCreated event of a new order; fails the test unless Ok.
inline uint64_t appendNew(NatsEventLog& log, int64_t orderId, const std::string& nodeId = "node-a") {
    AppendRequest req;
    req.orderId = orderId;
    req.expectedVersion = 0;
    req.events.push_back(makeEvent(orderId, 1, nodeId));
    AppendResult r = log.append(req);
    EXPECT_TRUE(r.status.isOk()) << r.status.message;
    return r.lastPosition;
}

/// Appends the next event of an existing order at expectedVersion.
inline AppendResult appendNext(NatsEventLog& log, int64_t orderId, int64_t expectedVersion,
                               const std::string& nodeId = "node-a") {
    AppendRequest req;
    req.orderId = orderId;
    req.expectedVersion = expectedVersion;
    req.events.push_back(makeEvent(orderId, expectedVersion + 1, nodeId));
    return log.append(req);
}

/// One appendAsync() call and what came back.
struct AsyncCall {
    AppendRequest request;
    std::atomic<int> answers{0};
    AppendResult result;
    std::thread::id thread;
    std::chrono::steady_clock::time_point answeredAt;
    bool answered() const { return answers.load(std::memory_order_acquire) > 0; }
};

inline void appendAsync(NatsEventLog& log, AsyncCall& call) {
    log.appendAsync(call.request, [&call](AppendResult&& r) {
        call.result = std::move(r);
        call.thread = std::this_thread::get_id();
        call.answeredAt = std::chrono::steady_clock::now();
        call.answers.fetch_add(1, std::memory_order_release);
    });
}

/// One call, waited for.
inline AppendResult appendAsyncAndWait(NatsEventLog& log, AppendRequest request,
                                       std::chrono::milliseconds wait = std::chrono::seconds(20)) {
    AsyncCall call;
    call.request = std::move(request);
    appendAsync(log, call);
    EXPECT_TRUE(waitUntil([&] { return call.answered(); }, wait));
    return call.result;
}

inline AppendRequest nextEvent(int64_t orderId, int64_t expectedVersion) {
    AppendRequest req;
    req.orderId = orderId;
    req.expectedVersion = expectedVersion;
    req.events.push_back(makeEvent(orderId, expectedVersion + 1));
    return req;
}

/// Records what it is given; apply() can be told to fail a number of times.
class RecordingProjection final : public Projection {
public:
    explicit RecordingProjection(std::string name, uint64_t checkpoint = 0)
        : _name(std::move(name)), _checkpoint(checkpoint) {}
    std::string_view projectionName() const noexcept override { return _name; }
    uint64_t checkpoint() noexcept override { return _checkpoint.load(); }
    Status apply(const std::vector<EventRecord>& batch) noexcept override {
        std::lock_guard<std::mutex> lock(_mutex);
        ++_calls;
        if (_failuresLeft > 0) {
            --_failuresLeft;
            return Status(StatusCode::Unavailable, "disk full (test)");
        }
        if (_inApply.exchange(true)) _overlapped = true;
        for (const auto& e : batch) _events.push_back(e);
        if (!batch.empty()) _checkpoint = batch.back().position;
        _inApply = false;
        return Status::ok();
    }
    std::vector<EventRecord> events() const {
        std::lock_guard<std::mutex> lock(_mutex);
        return _events;
    }
    size_t count() const {
        std::lock_guard<std::mutex> lock(_mutex);
        return _events.size();
    }
    void failNext(int times) {
        std::lock_guard<std::mutex> lock(_mutex);
        _failuresLeft = times;
    }
    int calls() const {
        std::lock_guard<std::mutex> lock(_mutex);
        return _calls;
    }
    bool overlapped() const { return _overlapped.load(); }

private:
    std::string _name;
    std::atomic<uint64_t> _checkpoint;
    mutable std::mutex _mutex;
    std::vector<EventRecord> _events;
    int _failuresLeft = 0;
    int _calls = 0;
    std::atomic<bool> _inApply{false};
    std::atomic<bool> _overlapped{false};
};

/// Records handled event ids; behaviour per event decided by a test-supplied function.
class RecordingReaction final : public Reaction {
public:
    using Decide = std::function<Status(const EventRecord&)>;
    explicit RecordingReaction(std::string name, Decide decide = nullptr)
        : _name(std::move(name)), _decide(std::move(decide)) {}
    std::string_view reactionName() const noexcept override { return _name; }
    Status handle(const EventRecord& event) noexcept override {
        {
            std::lock_guard<std::mutex> lock(_mutex);
            _attempts.push_back(event.eventId);
        }
        Status st = _decide ? _decide(event) : Status::ok();
        if (st) {
            std::lock_guard<std::mutex> lock(_mutex);
            _handled.push_back(event.eventId);
        }
        return st;
    }
    std::vector<std::string> handled() const {
        std::lock_guard<std::mutex> lock(_mutex);
        return _handled;
    }
    std::vector<std::string> attempts() const {
        std::lock_guard<std::mutex> lock(_mutex);
        return _attempts;
    }

private:
    std::string _name;
    Decide _decide;
    mutable std::mutex _mutex;
    std::vector<std::string> _handled;
    std::vector<std::string> _attempts;
};

/// A raw cnats connection for looking at what the plugin left in JetStream.
class RawNats {
public:
    explicit RawNats(const std::string& url) {
        if (natsConnection_ConnectTo(&_nc, url.c_str()) == NATS_OK) natsConnection_JetStream(&_js, _nc, nullptr);
    }
    ~RawNats() {
        jsCtx_Destroy(_js);
        natsConnection_Destroy(_nc);
    }
    jsCtx* js() { return _js; }
    /// Creates a key-value bucket as an operator or an older version would (history 1, no TTL).
    natsStatus createBucket(const std::string& bucket, int replicas = 1) {
        kvConfig cfg;
        kvConfig_Init(&cfg);
        cfg.Bucket = bucket.c_str();
        cfg.History = 1;
        cfg.Replicas = replicas;
        kvStore* kv = nullptr;
        const natsStatus s = js_CreateKeyValue(&kv, _js, &cfg);
        kvStore_Destroy(kv);
        return s;
    }
    bool consumerExists(const std::string& stream, const std::string& consumer) {
        jsConsumerInfo* ci = nullptr;
        const natsStatus s = js_GetConsumerInfo(&ci, _js, stream.c_str(), consumer.c_str(), nullptr, nullptr);
        jsConsumerInfo_Destroy(ci);
        return s == NATS_OK;
    }
    /// Messages currently in a stream (0 when it does not exist).
    uint64_t streamMessages(const std::string& stream) {
        jsStreamInfo* si = nullptr;
        uint64_t n = 0;
        if (js_GetStreamInfo(&si, _js, stream.c_str(), nullptr, nullptr) == NATS_OK) n = si->State.Msgs;
        jsStreamInfo_Destroy(si);
        return n;
    }
    /// The last message on subject in stream: body and one header (empty when absent).
    std::pair<std::string, std::string> lastMessage(const std::string& stream, const std::string& subject,
                                                    const char* headerName) {
        natsMsg* m = nullptr;
        std::pair<std::string, std::string> out;
        if (js_GetLastMsg(&m, _js, stream.c_str(), subject.c_str(), nullptr, nullptr) == NATS_OK) {
            out.first.assign(natsMsg_GetData(m), static_cast<size_t>(natsMsg_GetDataLength(m)));
            const char* v = nullptr;
            if (natsMsgHeader_Get(m, headerName, &v) == NATS_OK && v != nullptr) out.second = v;
        }
        natsMsg_Destroy(m);
        return out;
    }

private:
    natsConnection* _nc = nullptr;
    jsCtx* _js = nullptr;
};

}  // namespace ordersystem::natstest
