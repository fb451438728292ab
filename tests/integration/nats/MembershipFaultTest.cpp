// Membership through heartbeats, health, and what happens when NATS goes away and comes back:
// writes fail fast, nothing acknowledged is lost, nodes reconnect by themselves.
#include "NatsTestNodes.h"

using namespace ordersystem::natstest;

namespace {

constexpr auto kWait = std::chrono::seconds(20);
const std::map<std::string, std::string> kFastHeartbeats = {{"heartbeat_interval_ms", "200"}, {"node_ttl_ms", "1000"}};

std::set<std::string> liveIds(TestNode& node) {
    std::set<std::string> ids;
    auto nodes = node.log().membership().liveNodes();
    if (nodes.isOk())
        for (const auto& n : *nodes) ids.insert(n.nodeId);
    return ids;
}

HealthCheckResult health(TestNode& node) { return node.host->healthChecks().at("nats")(); }

}  // namespace

TEST(NatsMembership, ListsEveryLiveNodeAndDropsOneThatLeaves) {
    NatsEnv env;
    ASSERT_TRUE(env.ok);
    TempDir dir;
    auto a = startNode(env, "node-a", dir.path(), kFastHeartbeats);
    auto b = startNode(env, "node-b", dir.path(), kFastHeartbeats);
    auto c = startNode(env, "node-c", dir.path(), kFastHeartbeats);
    ASSERT_TRUE(a && b && c);
    EXPECT_EQ(liveIds(*b), (std::set<std::string>{"node-a", "node-b", "node-c"}));
    auto nodes = a->log().membership().liveNodes();
    ASSERT_TRUE(nodes.isOk());
    for (const auto& n : *nodes) {
        EXPECT_EQ(n.mode, "cluster");
        EXPECT_EQ(n.address.rfind("http://127.0.0.1:", 0), 0u) << n.address;
        EXPECT_GT(n.lastSeenMs, nowMs() - 5000);
    }
    c->stop();
    EXPECT_EQ(liveIds(*a), (std::set<std::string>{"node-a", "node-b"}));
}

TEST(NatsMembership, NodeWhoseHeartbeatsStopIsDroppedAfterItsTtl) {
    NatsEnv env;
    ASSERT_TRUE(env.ok);
    TempDir dir;
    auto a = startNode(env, "node-a", dir.path(), kFastHeartbeats);
    ASSERT_TRUE(a);
    // What a node killed with -9 leaves behind: its last heartbeat, never refreshed or deleted.
    RawNats raw(env.url);
    kvStore* kv = nullptr;
    ASSERT_EQ(js_KeyValue(&kv, raw.js(), (env.names.at("stream") + "_NODES").c_str()), NATS_OK);
    const std::string entry = R"({"nodeId":"node-dead","address":"http://127.0.0.1:1","mode":"cluster","lastSeen":)" +
                              std::to_string(nowMs()) + "}";
    uint64_t rev = 0;
    ASSERT_EQ(kvStore_PutString(&rev, kv, "node-dead", entry.c_str()), NATS_OK);
    kvStore_Destroy(kv);
    EXPECT_EQ(liveIds(*a).count("node-dead"), 1u);
    ASSERT_TRUE(waitUntil([&] { return liveIds(*a).count("node-dead") == 0; }, kWait));
    EXPECT_EQ(liveIds(*a), (std::set<std::string>{"node-a"}));  // the live one stays through many TTLs
}

TEST(NatsFaults, WhileNatsIsDownWritesFailFastAndHealthIsUnhealthy) {
    NatsEnv env(false);
    ASSERT_TRUE(env.ok);
    TempDir dir;
    auto a = startNode(env, "node-a", dir.path());
    ASSERT_TRUE(a);
    EXPECT_TRUE(health(*a).healthy) << health(*a).detail;
    appendNew(a->log(), 1);
    env.server->kill9();
    ASSERT_TRUE(waitUntil([&] { return !health(*a).healthy; }, kWait));
    EXPECT_NE(health(*a).detail.find("not connected"), std::string::npos) << health(*a).detail;

    AppendResult r = appendNext(a->log(), 1, 1);
    EXPECT_EQ(r.status.code, StatusCode::Unavailable) << r.status.message;
    AppendRequest create;
    create.orderId = 2;
    create.events.push_back(makeEvent(2, 1));
    EXPECT_EQ(a->log().append(create).status.code, StatusCode::Unavailable);
    EXPECT_EQ(a->log().allocateOrderId().status().code, StatusCode::Unavailable);
    EXPECT_EQ(a->log().idempotency().claim("k", "fp", 1000).status().code, StatusCode::Unavailable);
    EXPECT_FALSE(a->log().readOrder(1).isOk());
    EXPECT_FALSE(a->log().membership().liveNodes().isOk());
    // The library reports the loss on its own callback thread, a moment later.
    EXPECT_TRUE(waitUntil([&] { return a->host->fakeLogger().contains("lost the connection to NATS"); }, kWait));
}

TEST(NatsFaults, NatsKilledAndRestartedUnderLoadLosesNothingAcknowledged) {
    NatsEnv env(false);
    ASSERT_TRUE(env.ok);
    TempDir dir;
    auto a = startNode(env, "node-a", dir.path());
    auto b = startNode(env, "node-b", dir.path());
    ASSERT_TRUE(a && b);
    RecordingProjection projection("read-model");
    auto sub = b->log().subscribe(projection);
    ASSERT_TRUE(sub.isOk());

    // Writers on both nodes create orders as fast as they can and remember what was acknowledged.
    std::mutex mutex;
    std::map<int64_t, std::string> acknowledged;  // orderId -> eventId
    std::atomic<int> refused{0};
    std::atomic<bool> stopWriters{false};
    auto writer = [&](TestNode& node) {
        while (!stopWriters) {
            auto id = node.log().allocateOrderId();
            if (!id.isOk()) {
                ++refused;
                std::this_thread::sleep_for(std::chrono::milliseconds(20));
                continue;
            }
            AppendRequest req;
            req.orderId = *id;
            req.events.push_back(makeEvent(*id, 1, node.host->node().nodeId));
            AppendResult r = node.log().append(req);
            if (r.status.isOk()) {
                std::lock_guard<std::mutex> lock(mutex);
                acknowledged[*id] = req.events[0].eventId;
            } else {
                ++refused;
                std::this_thread::sleep_for(std::chrono::milliseconds(20));
            }
        }
    };
    std::thread wa(writer, std::ref(*a)), wb(writer, std::ref(*b));
    auto ackCount = [&] {
        std::lock_guard<std::mutex> lock(mutex);
        return acknowledged.size();
    };
    ASSERT_TRUE(waitUntil([&] { return ackCount() >= 50; }, kWait));
    env.server->kill9();
    ASSERT_TRUE(waitUntil([&] { return refused.load() > 0; }, kWait));
    const size_t beforeRestart = ackCount();
    ASSERT_TRUE(env.server->start()) << "nats-server did not come back";
    // The nodes reconnect on their own and writes flow again.
    const bool resumed = waitUntil([&] { return ackCount() >= beforeRestart + 50; }, kWait);
    stopWriters = true;
    wa.join();
    wb.join();
    ASSERT_TRUE(resumed) << "writes did not resume after the restart";
    ASSERT_TRUE(waitUntil([&] { return health(*a).healthy && health(*b).healthy; }, kWait));
    EXPECT_TRUE(waitUntil([&] { return a->host->fakeLogger().contains("reconnected to NATS"); }, kWait));

    // Every acknowledged event is in the log, exactly once.
    std::map<int64_t, std::string> acked;
    {
        std::lock_guard<std::mutex> lock(mutex);
        acked = acknowledged;
    }
    for (const auto& [orderId, eventId] : acked) {
        auto events = a->log().readOrder(orderId);
        ASSERT_TRUE(events.isOk()) << events.status().message;
        ASSERT_EQ(events->size(), 1u) << "order " << orderId;
        EXPECT_EQ((*events)[0].eventId, eventId);
    }
    // And the projection on b, which lived through the outage, has all of them without gaps.
    const uint64_t head = *a->log().headPosition();
    ASSERT_TRUE(waitUntil([&] { return projection.checkpoint() >= head; }, kWait))
        << projection.checkpoint() << " < " << head;
    b->log().unsubscribe(*sub);
    const auto seen = projection.events();
    ASSERT_EQ(seen.size(), head);
    for (size_t i = 0; i < seen.size(); ++i) ASSERT_EQ(seen[i].position, i + 1);
    std::set<int64_t> projected;
    for (const auto& e : seen) projected.insert(e.orderId);
    for (const auto& kv : acked) EXPECT_EQ(projected.count(kv.first), 1u) << "order " << kv.first;
}
