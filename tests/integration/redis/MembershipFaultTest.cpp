// Membership through heartbeats, and what a node does when Redis is unreachable, dies or returns.
#include <csignal>
#include <iostream>
#include <thread>

#include "RedisTestNodes.h"

using namespace ordersystem::redistest;
using ordersystem::testing::RedisServer;
using ordersystem::testing::TempDir;
using ordersystem::testing::waitUntil;

namespace {

bool listed(const std::vector<NodeInfo>& nodes, const std::string& id) {
    for (const auto& n : nodes)
        if (n.nodeId == id) return true;
    return false;
}

std::vector<NodeInfo> live(TestNode& node) {
    auto r = node.log().membership().liveNodes();
    EXPECT_TRUE(r.isOk()) << r.status().message;
    return r.isOk() ? r.value() : std::vector<NodeInfo>{};
}

const std::map<std::string, std::string> kFastMembership = {{"heartbeat_interval_ms", "100"}, {"node_ttl_ms", "600"}};

}  // namespace

TEST(RedisMembership, BothNodesAreListedWithAddressModeAndLastSeen) {
    ASSERT_TRUE(SharedRedis::instance().ok());
    TempDir dir;
    const std::string prefix = uniquePrefix("members");
    auto a = startNode(SharedRedis::instance().url(), prefix, "node-a", dir.path(), kFastMembership);
    auto b = startNode(SharedRedis::instance().url(), prefix, "node-b", dir.path(), kFastMembership);
    ASSERT_TRUE(a && b);
    auto nodes = live(*a);
    ASSERT_EQ(nodes.size(), 2u);
    for (const auto& n : nodes) {
        EXPECT_EQ(n.mode, "distributed");
        EXPECT_EQ(n.address.rfind("http://127.0.0.1:", 0), 0u) << n.address;
        EXPECT_GT(n.lastSeenMs, nowMs() - 60000);
    }
    EXPECT_TRUE(listed(nodes, "node-a") && listed(nodes, "node-b"));
    a.reset();
    b.reset();
    dropPrefix(SharedRedis::instance().url(), prefix);
}

TEST(RedisMembership, ANodeThatStopsHeartbeatingDropsOutAfterTheTtlAndAStoppedNodeAtOnce) {
    ASSERT_TRUE(SharedRedis::instance().ok());
    TempDir dir;
    const std::string prefix = uniquePrefix("members");
    auto a = startNode(SharedRedis::instance().url(), prefix, "node-a", dir.path(), kFastMembership);
    auto b = startNode(SharedRedis::instance().url(), prefix, "node-b", dir.path(), kFastMembership);
    ASSERT_TRUE(a && b);
    // node-ghost beat once (as a node killed with -9 right after its heartbeat would have).
    auto raw = rawConnection(SharedRedis::instance().url());
    ASSERT_TRUE(raw);
    const std::string now = rawCommand(*raw, {"TIME"});
    const long long ms = std::atoll(now.substr(0, now.find(' ')).c_str()) * 1000 +
                         std::atoll(now.substr(now.find(' ') + 1).c_str()) / 1000;
    rawCommand(*raw, {"ZADD", prefix + ":nodes", std::to_string(ms), "node-ghost"});
    rawCommand(*raw, {"HSET", prefix + ":nodes:info", "node-ghost", "http://10.0.0.9:5000\ndistributed"});
    EXPECT_TRUE(listed(live(*a), "node-ghost"));
    EXPECT_TRUE(waitUntil([&] { return !listed(live(*a), "node-ghost"); }, std::chrono::seconds(5)));
    EXPECT_TRUE(listed(live(*a), "node-b")) << "a node that keeps beating stays listed past the ttl";
    b->plugin->stop();
    EXPECT_FALSE(listed(live(*a), "node-b"));
    EXPECT_EQ(live(*a).size(), 1u);
    a.reset();
    b.reset();
    dropPrefix(SharedRedis::instance().url(), prefix);
}

TEST(RedisFaults, StartFailsWithAClearLineWhenRedisIsUnreachable) {
    TempDir dir;
    const int port = ordersystem::testing::freePort();
    Status st;
    auto n = startNode("redis://127.0.0.1:" + std::to_string(port), "x", "node-a", dir.path(), {}, &st);
    EXPECT_FALSE(n);
    EXPECT_EQ(st.code, StatusCode::Unavailable);
    EXPECT_NE(st.message.find("cannot reach Redis at redis://127.0.0.1:" + std::to_string(port)), std::string::npos)
        << st.message;
}

TEST(RedisFaults, RedisKilledUnderLoadWritesFailFastAndAfterItsRestartNothingAcknowledgedIsLost) {
    ASSERT_TRUE(RedisServer::available());
    TempDir dir;
    RedisServer redis(dir.file("redis"));
    ASSERT_TRUE(redis.start());
    const std::string prefix = uniquePrefix("faults");
    auto a = startNode(redis.url(), prefix, "node-a", dir.path(), {{"command_timeout_ms", "1000"}});
    auto b = startNode(redis.url(), prefix, "node-b", dir.path(), {{"command_timeout_ms", "1000"}});
    ASSERT_TRUE(a && b);
    RecordingProjection projection("orders-read-model");
    StopOnExit stopA{a}, stopB{b};
    auto sub = b->log().subscribe(projection);
    ASSERT_TRUE(sub.isOk());

    // Writers on both nodes keep creating orders; every acknowledged one is remembered.
    std::mutex mutex;
    std::map<int64_t, std::string> acknowledged;  // orderId -> eventId
    std::atomic<bool> stop{false};
    std::atomic<int> failedFast{0}, slowFailures{0};
    std::atomic<int64_t> nextId{1};
    auto writer = [&](TestNode& node) {
        while (!stop.load()) {
            const int64_t id = nextId++;
            AppendRequest req;
            req.orderId = id;
            req.events.push_back(makeEvent(id, 1));
            const auto t0 = std::chrono::steady_clock::now();
            AppendResult res = node.log().append(req);
            const auto took = std::chrono::steady_clock::now() - t0;
            if (res.status.isOk()) {
                std::lock_guard<std::mutex> lock(mutex);
                acknowledged[id] = req.events[0].eventId;
            } else {
                EXPECT_TRUE(res.status.code == StatusCode::Unavailable || res.status.code == StatusCode::Timeout)
                    << res.status.message;
                // "No hang": bounded by the 1 s command timeout plus one connect; 5 s is far beyond.
                (took < std::chrono::seconds(5) ? failedFast : slowFailures)++;
                std::this_thread::sleep_for(std::chrono::milliseconds(20));
            }
        }
    };
    std::thread w1(writer, std::ref(*a)), w2(writer, std::ref(*b));
    struct JoinOnExit {
        std::atomic<bool>& stop;
        std::thread& t1;
        std::thread& t2;
        ~JoinOnExit() {
            stop = true;
            if (t1.joinable()) t1.join();
            if (t2.joinable()) t2.join();
        }
    } joinWriters{stop, w1, w2};
    ASSERT_TRUE(waitUntil(
        [&] {
            std::lock_guard<std::mutex> l(mutex);
            return acknowledged.size() >= 100;
        },
        std::chrono::seconds(20)));
    redis.kill9();
    ASSERT_TRUE(waitUntil([&] { return failedFast.load() >= 4; }, std::chrono::seconds(10)));
    EXPECT_TRUE(waitUntil([&] { return !a->host->healthChecks().at("redis")().healthy; }, std::chrono::seconds(5)));
    EXPECT_TRUE(a->log().readOrder(1).status().code == StatusCode::Unavailable ||
                a->log().readOrder(1).status().code == StatusCode::Timeout);
    size_t before = 0;
    {
        std::lock_guard<std::mutex> l(mutex);
        before = acknowledged.size();
    }
    ASSERT_TRUE(redis.start());  // same port and folder: Redis replays its append-only file
    ASSERT_TRUE(waitUntil(
        [&] {
            std::lock_guard<std::mutex> l(mutex);
            return acknowledged.size() >= before + 100;
        },
        std::chrono::seconds(20)))
        << "appends work again after Redis returns";
    stop = true;
    w1.join();
    w2.join();
    EXPECT_EQ(slowFailures.load(), 0);
    std::cout << "[ measured ] acknowledged " << acknowledged.size() << " appends (" << before << " before the kill), "
              << failedFast.load() << " failed fast while Redis was down\n";

    std::map<int64_t, std::string> acked;
    {
        std::lock_guard<std::mutex> l(mutex);
        acked = acknowledged;
    }
    for (const auto& [id, eventId] : acked) {
        auto events = a->log().readOrder(id);
        ASSERT_TRUE(events.isOk()) << events.status().message;
        ASSERT_EQ(events->size(), 1u) << "acknowledged order " << id << " was lost";
        EXPECT_EQ((*events)[0].eventId, eventId);
    }
    // The projection reconnected by itself and has every acknowledged event.
    ASSERT_TRUE(
        waitUntil([&] { return projection.position() >= b->log().headPosition().value(); }, std::chrono::seconds(10)));
    std::set<std::string> projected;
    for (const auto& e : projection.snapshot()) projected.insert(e.eventId);
    for (const auto& kv : acked) EXPECT_EQ(projected.count(kv.second), 1u) << "order " << kv.first;
    EXPECT_EQ(projection.orderViolations, 0);
    EXPECT_TRUE(waitUntil([&] { return a->host->healthChecks().at("redis")().healthy; }, std::chrono::seconds(5)));
    EXPECT_GE(a->host->fakeMetrics().value("ordersystem_redis_reconnects_total"), 1.0);
    EXPECT_TRUE(a->host->fakeLogger().contains("is unreachable"));
    EXPECT_TRUE(a->host->fakeLogger().contains("reconnected to Redis"));
    b->log().unsubscribe(sub.value());
}

TEST(RedisFaults, TheFirstWriteAfterARedisRestartSucceedsAlthoughEveryPooledConnectionDied) {
    ASSERT_TRUE(RedisServer::available());
    TempDir dir;
    RedisServer redis(dir.file("redis"));
    ASSERT_TRUE(redis.start());
    // No heartbeats during the test: only the write itself touches the pool.
    auto a = startNode(redis.url(), uniquePrefix("stale"), "node-a", dir.path(),
                       {{"heartbeat_interval_ms", "600000"}, {"node_ttl_ms", "3600000"}});
    ASSERT_TRUE(a);
    const uint64_t first = appendNew(a->log(), 1);
    ASSERT_GT(first, 0u);
    redis.stop();
    ASSERT_TRUE(redis.start());
    ASSERT_TRUE(waitUntil(
        [&] {
            auto raw = rawConnection(redis.url());
            return raw && rawCommand(*raw, {"PING"}) == "PONG";
        },
        std::chrono::seconds(10)));
    AppendRequest req;
    req.orderId = 2;
    req.events.push_back(makeEvent(2, 1));
    AppendResult res = a->log().append(req);
    EXPECT_TRUE(res.status.isOk()) << res.status.message;
    EXPECT_EQ(res.lastPosition, first + 1) << "the log survived the restart (appendonly)";
}

TEST(RedisDurability, ANodeWarnsWhenRedisKeepsLessThanItsDurabilityPromises) {
    ASSERT_TRUE(SharedRedis::instance().ok());
    TempDir dir;
    const std::string prefix = uniquePrefix("durability");
    // The test servers run appendonly yes, usually with appendfsync everysec.
    auto raw = rawConnection(SharedRedis::instance().url());
    ASSERT_TRUE(raw);
    const std::string fsync = rawCommand(*raw, {"CONFIG", "GET", "appendfsync"});
    auto full =
        startNode(SharedRedis::instance().url(), prefix, "node-full", dir.path(), {}, nullptr, Durability::Full);
    ASSERT_TRUE(full);
    EXPECT_EQ(full->host->fakeLogger().contains("has appendfsync everysec"), fsync == "appendfsync everysec") << fsync;
    auto normal = startNode(SharedRedis::instance().url(), prefix, "node-normal", dir.path());
    ASSERT_TRUE(normal);
    EXPECT_FALSE(normal->host->fakeLogger().contains("appendfsync"));
    EXPECT_FALSE(normal->host->fakeLogger().contains("without appendonly"));

    // A server without the append-only file: acknowledged events would not survive its restart.
    const int port = ordersystem::testing::freePort();
    ordersystem::testing::ChildProcess bare("redis-server",
                                            {"--port", std::to_string(port), "--bind", "127.0.0.1", "--dir", dir.path(),
                                             "--appendonly", "no", "--save", ""},
                                            dir.file("bare-redis.log"));
    const std::string bareUrl = "redis://127.0.0.1:" + std::to_string(port);
    ASSERT_TRUE(waitUntil(
        [&] {
            auto raw = rawConnection(bareUrl);
            return raw && rawCommand(*raw, {"PING"}) == "PONG";
        },
        std::chrono::seconds(10)));
    auto risky = startNode(bareUrl, prefix, "node-risky", dir.path());
    ASSERT_TRUE(risky);
    EXPECT_TRUE(risky->host->fakeLogger().contains("runs without appendonly"));
    risky.reset();
    full.reset();
    normal.reset();
    dropPrefix(SharedRedis::instance().url(), prefix);
}

TEST(RedisFaults, ARedisThatStopsAnsweringMakesWritesFailWithinTheCommandTimeoutNotHang) {
    TempDir dir;
    FreezableRedis server(dir.path());
    ASSERT_TRUE(server.ready());
    auto a =
        startNode(server.url(), "hung", "node-a", dir.path(),
                  {{"command_timeout_ms", "300"}, {"heartbeat_interval_ms", "600000"}, {"node_ttl_ms", "3600000"}});
    ASSERT_TRUE(a);
    appendNew(a->log(), 1);
    ASSERT_TRUE(server.freeze());  // accepts connections, answers nothing
    for (int i = 0; i < 3; ++i) {
        AppendRequest req;
        req.orderId = 10 + i;
        req.events.push_back(makeEvent(10 + i, 1));
        const auto t0 = std::chrono::steady_clock::now();
        AppendResult res = a->log().append(req);
        const auto took = std::chrono::steady_clock::now() - t0;
        EXPECT_TRUE(res.status.code == StatusCode::Timeout || res.status.code == StatusCode::Unavailable)
            << res.status.message;
        EXPECT_LT(took, std::chrono::seconds(3)) << "bounded by the 300 ms command timeout (plus one connect)";
    }
    EXPECT_TRUE(waitUntil([&] { return !a->host->healthChecks().at("redis")().healthy; }, std::chrono::seconds(5)));
    server.thaw();
    EXPECT_TRUE(waitUntil(
        [&] {
            AppendRequest req;
            req.orderId = 20;
            req.events.push_back(makeEvent(20, 1));
            return a->log().append(req).status.isOk();
        },
        std::chrono::seconds(10)));
}
