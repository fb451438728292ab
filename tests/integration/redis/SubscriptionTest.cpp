// Projections (every node, every event, in order) and reactions (once per cluster) on Redis.
#include <thread>

#include "RedisTestNodes.h"

using namespace ordersystem::redistest;
using ordersystem::testing::TempDir;
using ordersystem::testing::waitUntil;

namespace {

class RedisSubscriptions : public ::testing::Test {
protected:
    void SetUp() override {
        ASSERT_TRUE(SharedRedis::instance().ok()) << "redis-server could not be started (is it installed?)";
        url = SharedRedis::instance().url();
        prefix = uniquePrefix("sub");
    }
    void TearDown() override {
        if (!url.empty()) dropPrefix(url, prefix);
    }
    std::unique_ptr<TestNode> node(const std::string& id, const std::map<std::string, std::string>& extra = {}) {
        return startNode(url, prefix, id, dir.path(), extra);
    }
    /// Short retry/claim settings so failure paths finish quickly.
    static std::map<std::string, std::string> fastReactions() {
        return {{"reaction_retry_ms", "20"},
                {"reaction_retry_max_ms", "40"},
                {"reaction_claim_idle_ms", "300"},
                {"reaction_max_deliveries", "3"}};
    }
    TempDir dir;
    std::string url;
    std::string prefix;
};

}  // namespace

TEST_F(RedisSubscriptions, EveryNodesProjectionSeesEveryEventOfBothNodesInPositionOrder) {
    auto a = node("node-a"), b = node("node-b");
    ASSERT_TRUE(a && b);
    RecordingProjection pa("orders-read-model"), pb("orders-read-model");
    StopOnExit stop_a{a};
    StopOnExit stop_b{b};
    auto sa = a->log().subscribe(pa);
    auto sb = b->log().subscribe(pb);
    ASSERT_TRUE(sa.isOk() && sb.isOk());
    std::thread wa([&] {
        for (int i = 1; i <= 60; ++i) appendNew(a->log(), i, "node-a");
    });
    std::thread wb([&] {
        for (int i = 61; i <= 120; ++i) appendNew(b->log(), i, "node-b");
    });
    wa.join();
    wb.join();
    ASSERT_TRUE(waitUntil([&] { return pa.count() >= 120 && pb.count() >= 120; }, std::chrono::seconds(10)));
    const auto ea = pa.snapshot(), eb = pb.snapshot();
    ASSERT_EQ(ea.size(), 120u);
    ASSERT_EQ(eb.size(), 120u);
    for (size_t i = 0; i < ea.size(); ++i) {
        EXPECT_EQ(ea[i].eventId, eb[i].eventId) << "both nodes see the same order of events";
        if (i) {
            EXPECT_LT(ea[i - 1].position, ea[i].position);
        }
    }
    EXPECT_EQ(pa.orderViolations, 0);
    EXPECT_EQ(ea.back().position, a->log().headPosition().value());
    a->log().unsubscribe(sa.value());
    b->log().unsubscribe(sb.value());
}

TEST_F(RedisSubscriptions, ANodeSeesItsOwnAppendThroughItsProjection) {
    auto a = node("node-a");
    ASSERT_TRUE(a);
    RecordingProjection p("orders-read-model");
    StopOnExit stop_a{a};
    auto s = a->log().subscribe(p);
    ASSERT_TRUE(s.isOk());
    const uint64_t pos = appendNew(a->log(), 1);
    EXPECT_TRUE(waitUntil([&] { return p.position() >= pos; }, std::chrono::seconds(5), std::chrono::milliseconds(1)));
    a->log().unsubscribe(s.value());
}

TEST_F(RedisSubscriptions, AProjectionCatchesUpFromItsCheckpointWithNothingBeforeItAndNothingMissing) {
    auto a = node("node-a", {{"read_batch", "7"}});
    ASSERT_TRUE(a);
    std::vector<uint64_t> positions;
    for (int i = 1; i <= 50; ++i) positions.push_back(appendNew(a->log(), i));
    RecordingProjection p("late-node", positions[19]);
    StopOnExit stop_a{a};
    auto s = a->log().subscribe(p);
    ASSERT_TRUE(s.isOk());
    ASSERT_TRUE(waitUntil([&] { return p.count() >= 30; }, std::chrono::seconds(10)));
    const auto events = p.snapshot();
    ASSERT_EQ(events.size(), 30u);
    for (size_t i = 0; i < events.size(); ++i) EXPECT_EQ(events[i].position, positions[20 + i]);
    EXPECT_GE(p.applyCalls, 5) << "read_batch bounds each batch";
    a->log().unsubscribe(s.value());
}

TEST_F(RedisSubscriptions, AFailedApplyIsRetriedFromTheCheckpointWithTheSameEvents) {
    auto a = node("node-a");
    ASSERT_TRUE(a);
    RecordingProjection p("flaky");
    StopOnExit stop_a{a};
    p.failNext(2);
    auto s = a->log().subscribe(p);
    ASSERT_TRUE(s.isOk());
    const uint64_t pos = appendNew(a->log(), 1);
    ASSERT_TRUE(waitUntil([&] { return p.count() >= 1; }, std::chrono::seconds(10)));
    EXPECT_EQ(p.snapshot().front().position, pos);
    EXPECT_EQ(p.failedBatchStarts(), (std::vector<uint64_t>{pos, pos}));
    EXPECT_GE(p.checkpointCalls, 3) << "checkpoint() is re-read after each failure";
    EXPECT_TRUE(a->host->fakeLogger().contains("projection flaky failed to apply"));
    a->log().unsubscribe(s.value());
}

TEST_F(RedisSubscriptions, UnsubscribeStopsDeliveryAtOnce) {
    auto a = node("node-a");
    ASSERT_TRUE(a);
    RecordingProjection p("p");
    StopOnExit stop_a{a};
    auto s = a->log().subscribe(p);
    appendNew(a->log(), 1);
    ASSERT_TRUE(waitUntil([&] { return p.count() == 1; }, std::chrono::seconds(5)));
    a->log().unsubscribe(s.value());
    appendNew(a->log(), 2);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    EXPECT_EQ(p.count(), 1u);
}

TEST_F(RedisSubscriptions, AReactionOnTwoNodesHandlesEachEventOnceInTheCluster) {
    auto a = node("node-a"), b = node("node-b");
    ASSERT_TRUE(a && b);
    DeliveryLog deliveries;
    RecordingReaction ra("notifications", "node-a", deliveries), rb("notifications", "node-b", deliveries);
    StopOnExit stop_a{a};
    StopOnExit stop_b{b};
    auto sa = a->log().subscribe(ra);
    auto sb = b->log().subscribe(rb);
    ASSERT_TRUE(sa.isOk() && sb.isOk());
    for (int i = 1; i <= 100; ++i) appendNew(i % 2 ? a->log() : b->log(), i);
    ASSERT_TRUE(waitUntil([&] { return deliveries.delivered() >= 100; }, std::chrono::seconds(20)));
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // room for any duplicate to show up
    std::lock_guard<std::mutex> lock(deliveries.mutex);
    EXPECT_EQ(deliveries.deliveredByEvent.size(), 100u);
    for (const auto& kv : deliveries.attemptsByEvent) EXPECT_EQ(kv.second, 1) << kv.first;
    a->log().unsubscribe(sa.value());
    b->log().unsubscribe(sb.value());
}

TEST_F(RedisSubscriptions, ANewReactionGroupStartsAtTheBeginningOfTheLog) {
    auto a = node("node-a");
    ASSERT_TRUE(a);
    for (int i = 1; i <= 5; ++i) appendNew(a->log(), i);
    DeliveryLog deliveries;
    RecordingReaction r("audit", "node-a", deliveries);
    StopOnExit stop_a{a};
    auto s = a->log().subscribe(r);
    EXPECT_TRUE(waitUntil([&] { return deliveries.delivered() == 5; }, std::chrono::seconds(10)));
    a->log().unsubscribe(s.value());
}

TEST_F(RedisSubscriptions, AFailingDeliveryIsRetriedUntilItSucceeds) {
    auto a = node("node-a", fastReactions());
    ASSERT_TRUE(a);
    DeliveryLog deliveries;
    RecordingReaction r("notifications", "node-a", deliveries, /*failFirst=*/2);
    StopOnExit stop_a{a};
    auto s = a->log().subscribe(r);
    appendNew(a->log(), 1);
    ASSERT_TRUE(waitUntil([&] { return deliveries.delivered() == 1; }, std::chrono::seconds(10)));
    std::lock_guard<std::mutex> lock(deliveries.mutex);
    EXPECT_EQ(deliveries.attemptsByEvent.begin()->second, 3);
    EXPECT_EQ(a->host->fakeMetrics().value("ordersystem_reaction_dead_letters_total", {{"reaction", "notifications"}}),
              0.0);
    a->log().unsubscribe(s.value());
}

TEST_F(RedisSubscriptions, AnEventFailingMaxDeliveriesTimesBecomesADeadLetterAndIsLoggedAndCounted) {
    auto a = node("node-a", fastReactions());
    ASSERT_TRUE(a);
    DeliveryLog deliveries;
    RecordingReaction r("notifications", "node-a", deliveries, /*failFirst=*/-1);
    StopOnExit stop_a{a};
    auto s = a->log().subscribe(r);
    AppendRequest req;
    req.orderId = 1;
    req.events.push_back(makeEvent(1, 1));
    ASSERT_TRUE(a->log().append(req).status.isOk());
    const std::string eventId = req.events[0].eventId;
    auto& metrics = a->host->fakeMetrics();
    ASSERT_TRUE(waitUntil(
        [&] {
            return metrics.value("ordersystem_reaction_dead_letters_total", {{"reaction", "notifications"}}) == 1.0;
        },
        std::chrono::seconds(10)));
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    EXPECT_EQ(deliveries.attempts(eventId), 3) << "exactly reaction_max_deliveries attempts";
    EXPECT_TRUE(a->host->fakeLogger().contains("gave up on event " + eventId));
    auto listed = a->log().deadLetters("notifications", 10);
    ASSERT_TRUE(listed.isOk()) << listed.status().message;
    ASSERT_EQ(listed.value().size(), 1u);
    EXPECT_EQ(listed.value()[0].event.eventId, eventId);
    EXPECT_EQ(listed.value()[0].lastError, "webhook answered 502 (test)");
    auto raw = rawConnection(url);
    ASSERT_TRUE(raw);
    EXPECT_EQ(rawCommand(*raw, {"XPENDING", prefix + ":log", "notifications"}).substr(0, 1), "0") << "acked";
    a->log().unsubscribe(s.value());
}

TEST_F(RedisSubscriptions, DeliveriesLeftPendingByADeadNodeAreClaimedAndDeliveredByALiveOne) {
    auto a = node("node-a", fastReactions());
    ASSERT_TRUE(a);
    for (int i = 1; i <= 4; ++i) appendNew(a->log(), i);
    // node-dead read the four events into its pending list and died before handling them.
    auto raw = rawConnection(url);
    ASSERT_TRUE(raw);
    rawCommand(*raw, {"XGROUP", "CREATE", prefix + ":log", "notifications", "0", "MKSTREAM"});
    const std::string taken = rawCommand(
        *raw, {"XREADGROUP", "GROUP", "notifications", "node-dead", "COUNT", "10", "STREAMS", prefix + ":log", ">"});
    ASSERT_NE(taken.find("OrderCreated"), std::string::npos) << taken;
    DeliveryLog deliveries;
    RecordingReaction r("notifications", "node-a", deliveries);
    StopOnExit stop_a{a};
    auto s = a->log().subscribe(r);
    ASSERT_TRUE(waitUntil([&] { return deliveries.delivered() == 4; }, std::chrono::seconds(15)));
    EXPECT_EQ(a->host->fakeMetrics().value("ordersystem_redis_reaction_claims_total", {{"reaction", "notifications"}}),
              4.0);
    EXPECT_TRUE(a->host->fakeLogger().contains("took over 4 deliveries"));
    EXPECT_TRUE(waitUntil(
        [&] {
            return rawCommand(*raw, {"XPENDING", prefix + ":log", "notifications"}).substr(0, 1) == "0";
        },
        std::chrono::seconds(5)));
    a->log().unsubscribe(s.value());
}

TEST_F(RedisSubscriptions, AnEventAlreadyMarkedDeliveredIsAckedWithoutHandlingItAgain) {
    auto a = node("node-a");
    ASSERT_TRUE(a);
    AppendRequest req;
    req.orderId = 1;
    req.events.push_back(makeEvent(1, 1));
    // As if a node handled it, marked it, and crashed before its XACK.
    auto raw = rawConnection(url);
    ASSERT_TRUE(raw);
    rawCommand(*raw, {"SET", prefix + ":reaction:notifications:done:" + req.events[0].eventId, "1", "EX", "60"});
    ASSERT_TRUE(a->log().append(req).status.isOk());
    appendNew(a->log(), 2);
    DeliveryLog deliveries;
    RecordingReaction r("notifications", "node-a", deliveries);
    StopOnExit stop_a{a};
    auto s = a->log().subscribe(r);
    ASSERT_TRUE(waitUntil([&] { return deliveries.delivered() == 1; }, std::chrono::seconds(10)));
    EXPECT_TRUE(waitUntil(
        [&] {
            return a->host->fakeMetrics().value("ordersystem_reaction_duplicates_total",
                                                {{"reaction", "notifications"}}) == 1.0;
        },
        std::chrono::seconds(5)));
    EXPECT_EQ(deliveries.attempts(req.events[0].eventId), 0);
    a->log().unsubscribe(s.value());
}

TEST_F(RedisSubscriptions, ASlowNodesBatchIsNotDeliveredTwiceWhenAnotherNodeTakesPartOfItOver) {
    const std::map<std::string, std::string> settings = {{"reaction_workers", "1"},
                                                         {"reaction_claim_idle_ms", "300"},
                                                         {"reaction_retry_ms", "20"},
                                                         {"reaction_retry_max_ms", "40"}};
    auto a = node("node-a", settings), b = node("node-b", settings);
    ASSERT_TRUE(a && b);
    for (int i = 1; i <= 10; ++i) appendNew(a->log(), i);
    DeliveryLog deliveries;
    // node-a reads all ten at once and needs 100 ms for each: the later ones idle past the claim time.
    RecordingReaction slow("notifications", "node-a", deliveries, 0, /*delayMs=*/100);
    RecordingReaction fast("notifications", "node-b", deliveries);
    StopOnExit stop_a{a};
    StopOnExit stop_b{b};
    auto sa = a->log().subscribe(slow);
    ASSERT_TRUE(waitUntil(
        [&] {
            std::lock_guard<std::mutex> l(deliveries.mutex);
            return !deliveries.attemptsByEvent.empty();
        },
        std::chrono::seconds(5)));
    auto sb = b->log().subscribe(fast);
    ASSERT_TRUE(waitUntil([&] { return deliveries.delivered() >= 10; }, std::chrono::seconds(15)));
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    std::lock_guard<std::mutex> lock(deliveries.mutex);
    EXPECT_EQ(deliveries.deliveredByEvent.size(), 10u);
    int byB = 0;
    for (const auto& kv : deliveries.attemptsByEvent) {
        EXPECT_EQ(kv.second, 1) << kv.first << " was handled twice";
        if (deliveries.nodeByEvent[kv.first] == "node-b") ++byB;
    }
    EXPECT_GT(byB, 0) << "node-b took part of node-a's batch over";
}
