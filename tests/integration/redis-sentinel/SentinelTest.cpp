// A node on a Sentinel-monitored Redis: it writes to the primary, follows failovers, and with
// min_replicas_ack acknowledges only what replicas hold.
#include <atomic>
#include <set>
#include <thread>

#include "RedisTestNodes.h"
#include "ordersystem/testing/RedisSentinelGroup.h"

using namespace ordersystem::redistest;
using ordersystem::testing::RedisSentinelGroup;
using ordersystem::testing::TempDir;
using ordersystem::testing::waitUntil;

namespace {

/// One acknowledged append.
struct Acked {
    int64_t orderId;
    int64_t version;
    std::string eventId;
};

size_t occurrences(const std::string& text, const std::string& needle) {
    size_t n = 0;
    for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + needle.size())) ++n;
    return n;
}

size_t logLinesWith(TestNode& node, const std::string& text) {
    size_t n = 0;
    for (const auto& line : node.host->fakeLogger().lines())
        if (line.second.find(text) != std::string::npos) ++n;
    return n;
}

AppendResult appendVersion(EventLog& log, int64_t orderId, int64_t version, std::string* eventId = nullptr) {
    AppendRequest req;
    req.orderId = orderId;
    req.expectedVersion = version - 1;
    req.events.push_back(makeEvent(orderId, version));
    if (eventId) *eventId = req.events.back().eventId;
    return log.append(req);
}

class RedisSentinel : public ::testing::Test {
protected:
    void SetUp() override {
        if (!ordersystem::testing::RedisServer::available()) GTEST_SKIP() << "redis-server is not installed";
        group = std::make_unique<RedisSentinelGroup>(dir.path() + "/redis");
        ASSERT_TRUE(group->start()) << "the primary, replicas and Sentinels did not come up";
        ASSERT_EQ(group->primaryIndex(), 0);
    }
    /// A node finding the primary through the Sentinels; url names a replica unless told otherwise.
    std::unique_ptr<TestNode> sentinelNode(std::map<std::string, std::string> extra = {}, size_t urlServer = 1) {
        extra.emplace("sentinels", group->sentinelList());
        extra.emplace("master_name", group->masterName());
        extra.emplace("connect_timeout_ms", "300");
        extra.emplace("command_timeout_ms", "1000");
        extra.emplace("heartbeat_interval_ms", "200");
        extra.emplace("node_ttl_ms", "2000");
        return startNode(group->serverUrl(urlServer), prefix, "node-a", dir.path(), extra);
    }
    std::string onServer(size_t i, const std::vector<std::string>& argv) {
        auto raw = rawConnection(group->serverUrl(i));
        return raw ? rawCommand(*raw, argv) : "<unreachable>";
    }
    TempDir dir;
    std::string prefix = uniquePrefix("sentinel");
    std::unique_ptr<RedisSentinelGroup> group;
};

TEST(RedisSentinelStart, StartFailsNamingTheSentinelsWhenNoneAnswers) {
    TempDir dir;
    const int a = ordersystem::testing::freePort(), b = ordersystem::testing::freePort();
    const std::string list = "127.0.0.1:" + std::to_string(a) + ",127.0.0.1:" + std::to_string(b);
    Status st;
    auto node = startNode("redis://127.0.0.1:1", uniquePrefix("sentinel"), "node-a", dir.path(),
                          {{"sentinels", list}, {"connect_timeout_ms", "200"}}, &st);
    EXPECT_FALSE(node);
    EXPECT_EQ(st.code, StatusCode::Unavailable);
    EXPECT_NE(st.message.find("cannot reach Redis at the primary 'ordersystem' of Sentinels " + list),
              std::string::npos)
        << st.message;
    EXPECT_NE(st.message.find("Sentinel 127.0.0.1:" + std::to_string(b)), std::string::npos) << "each one is asked";
}

TEST_F(RedisSentinel, ANodeWritesToThePrimaryEvenWhenItsUrlNamesAReplica) {
    auto node = sentinelNode();
    ASSERT_TRUE(node);
    StopOnExit stop{node};
    ASSERT_NE(appendNew(node->log(), 7), 0u) << "an append through Sentinel must reach the primary";
    EXPECT_EQ(onServer(0, {"LLEN", prefix + ":order:7:events"}), "1");
    EXPECT_EQ(onServer(1, {"ROLE"}).rfind("slave", 0), 0u) << "the url's server stays a replica";
}

TEST_F(RedisSentinel, WithoutSentinelsAReplicaUrlRefusesWrites) {
    // The counterpart of the test above: the same url without sentinels cannot write.
    Status started;
    auto node =
        startNode(group->serverUrl(1), prefix, "node-a", dir.path(), {{"command_timeout_ms", "1000"}}, &started);
    if (!node) {  // the first write of start-up (the heartbeat) is refused already
        EXPECT_NE(started.message.find("READONLY"), std::string::npos) << started.message;
        return;
    }
    StopOnExit stop{node};
    EXPECT_FALSE(appendVersion(node->log(), 8, 1).status.isOk());
}

TEST_F(RedisSentinel, KillingThePrimaryDuringAppendsLosesNoAcknowledgedAppendAndReusesNoId) {
    auto node = sentinelNode({{"min_replicas_ack", "1"}, {"order_id_block", "5"}});
    ASSERT_TRUE(node);
    StopOnExit stop{node};
    std::mutex mutex;
    std::vector<Acked> acked;
    std::vector<int64_t> ids;
    std::atomic<bool> done{false};
    auto writer = [&] {
        for (int i = 0; i < 100000 && !done; ++i) {
            auto id = node->log().allocateOrderId();
            if (!id) {
                std::this_thread::sleep_for(std::chrono::milliseconds(20));
                continue;
            }
            {
                std::lock_guard<std::mutex> lock(mutex);
                ids.push_back(id.value());
            }
            for (int64_t v = 1; v <= 3; ++v) {
                std::string eventId;
                if (!appendVersion(node->log(), id.value(), v, &eventId).status.isOk()) break;
                std::lock_guard<std::mutex> lock(mutex);
                acked.push_back({id.value(), v, eventId});
            }
        }
    };
    auto ackedCount = [&] {
        std::lock_guard<std::mutex> lock(mutex);
        return acked.size();
    };
    std::vector<std::thread> writers;
    for (int t = 0; t < 4; ++t) writers.emplace_back(writer);
    const bool before = waitUntil([&] { return ackedCount() >= 100; }, std::chrono::seconds(20));
    group->kill9(0);
    const size_t atKill = ackedCount();
    const int promoted = group->waitForNewPrimary(0, std::chrono::seconds(30));
    const bool after =
        promoted > 0 && waitUntil([&] { return ackedCount() >= atKill + 100; }, std::chrono::seconds(30));
    done = true;
    for (auto& w : writers) w.join();
    ASSERT_TRUE(before) << "appends did not run before the kill";
    ASSERT_GT(promoted, 0) << "Sentinel promoted no replica";
    EXPECT_TRUE(after) << "the node did not keep appending on the promoted replica";
    EXPECT_EQ(logLinesWith(*node, "primary is now 127.0.0.1:" + std::to_string(group->serverPort(promoted))), 1u);

    const std::string stream = onServer(static_cast<size_t>(promoted), {"XRANGE", prefix + ":log", "-", "+"});
    std::map<int64_t, int64_t> highest;
    for (const auto& a : acked) {
        EXPECT_EQ(occurrences(stream, a.eventId), 1u) << "order " << a.orderId << " version " << a.version;
        highest[a.orderId] = std::max(highest[a.orderId], a.version);
    }
    for (const auto& [orderId, version] : highest) {
        auto events = node->log().readOrder(orderId);
        ASSERT_TRUE(events.isOk()) << events.status().message;
        ASSERT_GE(events.value().size(), static_cast<size_t>(version)) << "order " << orderId << " lost versions";
        for (size_t i = 0; i < events.value().size(); ++i) EXPECT_EQ(events.value()[i].version, int64_t(i) + 1);
    }
    EXPECT_EQ(std::set<int64_t>(ids.begin(), ids.end()).size(), ids.size()) << "an order id was handed out twice";
}

TEST_F(RedisSentinel, AnAppendThatTooFewReplicasConfirmIsRefusedAsUncertain) {
    auto node = sentinelNode({{"min_replicas_ack", "2"}, {"command_timeout_ms", "500"}});
    ASSERT_TRUE(node);
    RecordingProjection projection("sentinel-readers");
    DeliveryLog deliveries;
    RecordingReaction webhook("sentinel-webhook", "node-a", deliveries);
    StopOnExit stop{node};
    ASSERT_TRUE(node->log().subscribe(projection).isOk());
    ASSERT_TRUE(node->log().subscribe(webhook).isOk());
    ASSERT_TRUE(appendVersion(node->log(), 1, 1).status.isOk()) << "both replicas confirm";
    ASSERT_TRUE(group->freeze(2));
    const AppendResult refused = appendVersion(node->log(), 2, 1);
    group->thaw(2);
    EXPECT_FALSE(refused.status.isOk());
    EXPECT_EQ(httpStatusFor(refused.status.code), 503);
    EXPECT_EQ(logLinesWith(*node, "append of order 2 version 1 uncertain: WAIT saw 1 of 2 replicas"), 1u);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    EXPECT_EQ(projection.count(), 1u) << "a read model never shows what a failover could still take back";
    EXPECT_EQ(deliveries.delivered(), 1u) << "nor is a webhook called for it";
    EXPECT_TRUE(waitUntil([&] { return appendVersion(node->log(), 3, 1).status.isOk(); }, std::chrono::seconds(10)))
        << "with both replicas back appends are acknowledged again";
    // The uncertain append stayed on the primary and is replicated now: it appears, in log order.
    EXPECT_TRUE(waitUntil([&] { return projection.count() == 3; }, std::chrono::seconds(10))) << projection.count();
    EXPECT_TRUE(waitUntil([&] { return deliveries.delivered() == 3; }, std::chrono::seconds(10)))
        << deliveries.delivered();
    EXPECT_EQ(projection.orderViolations, 0);
}

TEST_F(RedisSentinel, ANodeAskingForMoreReplicasThanThePrimaryHasWarnsAtStartAndRefusesAppends) {
    auto node = sentinelNode({{"min_replicas_ack", "3"}, {"command_timeout_ms", "300"}});
    ASSERT_TRUE(node);
    StopOnExit stop{node};
    EXPECT_EQ(logLinesWith(*node, "min_replicas_ack = 3 but Redis at " + group->serverUrl(0) + " has 2 replicas"), 1u);
    EXPECT_EQ(appendVersion(node->log(), 1, 1).status.code, StatusCode::Timeout) << "written, but not on 3 replicas";
}

TEST_F(RedisSentinel, AReadOnlyReplyMakesTheNodeAskSentinelAgainAndWriteToTheNewPrimary) {
    // No heartbeat meanwhile: the test's own append is the first write to meet the demoted server.
    auto node = sentinelNode({{"heartbeat_interval_ms", "60000"}, {"node_ttl_ms", "120000"}});
    ASSERT_TRUE(node);
    StopOnExit stop{node};
    ASSERT_TRUE(appendVersion(node->log(), 1, 1).status.isOk());
    // The node's pooled connections stay open to server 0, which now answers writes with READONLY.
    ASSERT_TRUE(group->promoteQuietly(2));
    ASSERT_TRUE(group->waitForRole(0, "slave", std::chrono::seconds(10)));
    const AppendResult first = appendVersion(node->log(), 1, 2);
    EXPECT_FALSE(first.status.isOk()) << "the demoted server cannot take the write";
    EXPECT_NE(first.status.message.find("READONLY"), std::string::npos) << first.status.message;
    EXPECT_TRUE(appendVersion(node->log(), 1, 2).status.isOk()) << "the next write goes to the new primary";
    EXPECT_EQ(onServer(2, {"LLEN", prefix + ":order:1:events"}), "2");
    EXPECT_EQ(logLinesWith(*node, "primary is now 127.0.0.1:" + std::to_string(group->serverPort(2)) +
                                      " (was 127.0.0.1:" + std::to_string(group->serverPort(0)) + ")"),
              1u);
}

TEST_F(RedisSentinel, AfterAManualFailoverTheNodeFindsTheNewPrimaryAndContinues) {
    auto node = sentinelNode({{"min_replicas_ack", "1"}});
    ASSERT_TRUE(node);
    StopOnExit stop{node};
    ASSERT_TRUE(appendVersion(node->log(), 1, 1).status.isOk());
    ASSERT_TRUE(group->failover());
    const int promoted = group->waitForNewPrimary(0, std::chrono::seconds(30));
    ASSERT_GT(promoted, 0);
    // Sentinel demotes the old primary only seconds later: until then its WAIT sees no replica.
    int64_t version = 2;
    int appended = 0;
    EXPECT_TRUE(waitUntil(
        [&] {
            const AppendResult r = appendVersion(node->log(), 1, version);
            if (r.status.isOk()) ++appended, ++version;
            if (r.status.code == StatusCode::VersionConflict) version = r.currentVersion + 1;
            return appended >= 3;
        },
        std::chrono::seconds(15)));
    EXPECT_EQ(onServer(static_cast<size_t>(promoted), {"LLEN", prefix + ":order:1:events"}),
              std::to_string(version - 1));
    EXPECT_EQ(logLinesWith(*node, "primary is now 127.0.0.1:" + std::to_string(group->serverPort(promoted)) +
                                      " (was 127.0.0.1:" + std::to_string(group->serverPort(0)) + ")"),
              1u);
}

}  // namespace
