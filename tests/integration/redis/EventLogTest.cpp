// The Redis event log as two nodes see it: version races, ids, per-order reads, idempotency keys.
#include <thread>

#include "RedisTestNodes.h"

using namespace ordersystem::redistest;
using ordersystem::testing::TempDir;

namespace {

class RedisLog : public ::testing::Test {
protected:
    void SetUp() override {
        ASSERT_TRUE(SharedRedis::instance().ok()) << "redis-server could not be started (is it installed?)";
        url = SharedRedis::instance().url();
        prefix = uniquePrefix("log");
        a = startNode(url, prefix, "node-a", dir.path());
        b = startNode(url, prefix, "node-b", dir.path());
        ASSERT_TRUE(a && b);
    }
    void TearDown() override {
        a.reset();
        b.reset();
        if (!url.empty()) dropPrefix(url, prefix);
    }
    TempDir dir;
    std::string url;
    std::string prefix;
    std::unique_ptr<TestNode> a, b;
};

}  // namespace

TEST_F(RedisLog, ModeIsDistributed) { EXPECT_EQ(a->log().mode(), "distributed"); }

TEST_F(RedisLog, TwoNodesRacingOnOneOrderHaveExactlyOneWinner) {
    for (int64_t orderId = 1; orderId <= 40; ++orderId) {
        appendNew(a->log(), orderId);
        AppendResult results[2];
        std::atomic<int> ready{0};
        auto race = [&](TestNode& node, int slot) {
            AppendRequest req;
            req.orderId = orderId;
            req.expectedVersion = 1;
            req.events.push_back(makeEvent(orderId, 2, slot ? "node-b" : "node-a"));
            ++ready;
            while (ready.load() < 2) std::this_thread::yield();
            results[slot] = node.log().append(req);
        };
        std::thread ta(race, std::ref(*a), 0), tb(race, std::ref(*b), 1);
        ta.join();
        tb.join();
        const int wins = (results[0].status.isOk() ? 1 : 0) + (results[1].status.isOk() ? 1 : 0);
        ASSERT_EQ(wins, 1) << "order " << orderId;
        const AppendResult& loser = results[0].status.isOk() ? results[1] : results[0];
        EXPECT_EQ(loser.status.code, StatusCode::VersionConflict);
        EXPECT_EQ(loser.currentVersion, 2);
        EXPECT_EQ(loser.lastPosition, 0u);
        auto events = b->log().readOrder(orderId);
        ASSERT_TRUE(events.isOk());
        ASSERT_EQ(events->size(), 2u);
        EXPECT_EQ((*events)[1].version, 2);
    }
}

TEST_F(RedisLog, CreatingAnOrderThatExistsIsAVersionConflictAndWritesNothing) {
    const uint64_t first = appendNew(a->log(), 7);
    AppendRequest again;
    again.orderId = 7;
    again.expectedVersion = 0;
    again.events.push_back(makeEvent(7, 1));
    AppendResult res = b->log().append(again);
    EXPECT_EQ(res.status.code, StatusCode::VersionConflict);
    EXPECT_EQ(res.currentVersion, 1);
    EXPECT_EQ(b->log().readOrder(7)->size(), 1u);
    EXPECT_EQ(b->log().headPosition().value(), first);
}

TEST_F(RedisLog, AnAppendRetriedAfterALostReplyIsAnsweredAsDoneNotDuplicated) {
    AppendRequest req;
    req.orderId = 11;
    req.expectedVersion = 0;
    req.events.push_back(makeEvent(11, 1));
    AppendResult first = a->log().append(req);
    ASSERT_TRUE(first.status.isOk());
    AppendResult retry = b->log().append(req);  // same eventIds, as a retry after a timeout would send
    EXPECT_TRUE(retry.status.isOk()) << retry.status.message;
    EXPECT_EQ(retry.lastPosition, first.lastPosition);
    EXPECT_EQ(a->log().readOrder(11)->size(), 1u);
    EXPECT_EQ(a->host->fakeMetrics().value("ordersystem_events_appended_total") +
                  b->host->fakeMetrics().value("ordersystem_events_appended_total"),
              1.0);
}

TEST_F(RedisLog, SeveralEventsInOneAppendGetConsecutivePositionsAndAreReadBackInOrder) {
    appendNew(a->log(), 5);
    AppendRequest req;
    req.orderId = 5;
    req.expectedVersion = 1;
    req.events = {makeEvent(5, 2), makeEvent(5, 3)};
    AppendResult res = b->log().append(req);
    ASSERT_TRUE(res.status.isOk()) << res.status.message;
    EXPECT_EQ(req.events[1].position, res.lastPosition);
    EXPECT_EQ(req.events[0].position + 1, req.events[1].position);
    auto events = a->log().readOrder(5);
    ASSERT_TRUE(events.isOk());
    ASSERT_EQ(events->size(), 3u);
    for (size_t i = 0; i < 3; ++i) EXPECT_EQ((*events)[i].version, static_cast<int64_t>(i + 1));
    EXPECT_EQ((*events)[2].eventId, req.events[1].eventId);
    EXPECT_EQ((*events)[2].position, res.lastPosition);
    EXPECT_EQ((*events)[2].dataJson, req.events[1].dataJson);
    EXPECT_EQ(a->log().headPosition().value(), res.lastPosition);
}

TEST_F(RedisLog, AnAppendWithWrongVersionsInItsEventsIsRefusedBeforeReachingRedis) {
    AppendRequest req;
    req.orderId = 9;
    req.expectedVersion = 0;
    req.events.push_back(makeEvent(9, 2));
    EXPECT_EQ(a->log().append(req).status.code, StatusCode::InvalidArgument);
    EXPECT_TRUE(a->log().readOrder(9)->empty());
}

TEST_F(RedisLog, AnUnknownOrderHasNoEvents) {
    auto events = a->log().readOrder(123456);
    ASSERT_TRUE(events.isOk());
    EXPECT_TRUE(events->empty());
}

TEST_F(RedisLog, OrderIdsAllocatedConcurrentlyOnTwoNodesAreUniquePositiveAndBelow2Pow53) {
    std::mutex mutex;
    std::set<int64_t> ids;
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t)
        threads.emplace_back([&, t] {
            TestNode& node = (t % 2) ? *b : *a;
            for (int i = 0; i < 150; ++i) {
                auto id = node.log().allocateOrderId();
                if (!id) {
                    ++failures;
                    continue;
                }
                std::lock_guard<std::mutex> lock(mutex);
                EXPECT_TRUE(ids.insert(id.value()).second) << "duplicate id " << id.value();
            }
        });
    for (auto& t : threads) t.join();
    EXPECT_EQ(failures.load(), 0);
    EXPECT_EQ(ids.size(), 1200u);
    EXPECT_GT(*ids.begin(), 0);
    EXPECT_LT(*ids.rbegin(), int64_t{1} << 53);
}

TEST_F(RedisLog, AnIdempotencyKeyClaimedOnOneNodeIsInFlightOnTheOtherAndCompletedAfterTheAppend) {
    const std::string key = "key-" + newUuid();
    auto claimA = a->log().idempotency().claim(key, "fp1", 30000);
    ASSERT_TRUE(claimA.isOk()) << claimA.status().message;
    EXPECT_EQ(claimA->state, IdempotencyClaim::State::Claimed);
    auto claimB = b->log().idempotency().claim(key, "fp1", 30000);
    ASSERT_TRUE(claimB.isOk());
    EXPECT_EQ(claimB->state, IdempotencyClaim::State::InFlight);
    EXPECT_EQ(claimB->fingerprint, "fp1");

    IdempotencyCompletion completion{key, "fp1", R"({"orderId":42})"};
    AppendRequest req;
    req.orderId = 42;
    req.expectedVersion = 0;
    req.events.push_back(makeEvent(42, 1));
    req.idempotency = &completion;
    ASSERT_TRUE(a->log().append(req).status.isOk());

    auto again = b->log().idempotency().claim(key, "fp1", 30000);
    ASSERT_TRUE(again.isOk());
    EXPECT_EQ(again->state, IdempotencyClaim::State::Completed);
    EXPECT_EQ(again->fingerprint, "fp1");
    EXPECT_EQ(again->response, R"({"orderId":42})");
    // A completed key is kept for 24 h and is not released by a late release().
    EXPECT_TRUE(b->log().idempotency().release(key).isOk());
    EXPECT_EQ(a->log().idempotency().claim(key, "other", 1000)->state, IdempotencyClaim::State::Completed);
    auto raw = rawConnection(url);
    ASSERT_TRUE(raw);
    const long long ttl = std::atoll(rawCommand(*raw, {"TTL", prefix + ":idem:" + key}).c_str());
    EXPECT_GT(ttl, 86000);
    EXPECT_LE(ttl, 86400);
}

TEST_F(RedisLog, AReleasedClaimFreesTheKeyAndAnExpiredLeaseDoesToo) {
    const std::string key = "key-" + newUuid();
    ASSERT_EQ(a->log().idempotency().claim(key, "fp", 30000)->state, IdempotencyClaim::State::Claimed);
    ASSERT_TRUE(a->log().idempotency().release(key).isOk());
    EXPECT_EQ(b->log().idempotency().claim(key, "fp", 50)->state, IdempotencyClaim::State::Claimed);
    EXPECT_TRUE(ordersystem::testing::waitUntil(
        [&] { return a->log().idempotency().claim(key, "fp", 30000)->state == IdempotencyClaim::State::Claimed; },
        std::chrono::seconds(5)));
}

TEST_F(RedisLog, CompletingOutsideAnAppendStoresTheResponseForOtherNodes) {
    const std::string key = "key-" + newUuid();
    ASSERT_EQ(a->log().idempotency().claim(key, "fp", 30000)->state, IdempotencyClaim::State::Claimed);
    ASSERT_TRUE(a->log().idempotency().complete({key, "fp", "{\"status\":400}\nwith a newline"}).isOk());
    auto c = b->log().idempotency().claim(key, "fp", 30000);
    ASSERT_TRUE(c.isOk());
    EXPECT_EQ(c->state, IdempotencyClaim::State::Completed);
    EXPECT_EQ(c->response, "{\"status\":400}\nwith a newline");
}

TEST_F(RedisLog, TheRedisHealthCheckIsHealthyAndNamesTheServer) {
    const auto& checks = a->host->healthChecks();
    ASSERT_EQ(checks.count("redis"), 1u);
    HealthCheckResult r = checks.at("redis")();
    EXPECT_TRUE(r.healthy);
    EXPECT_NE(r.detail.find("127.0.0.1"), std::string::npos);
}

TEST_F(RedisLog, StartLogsOneInfoLineWithModeServerAndNode) {
    EXPECT_TRUE(a->host->fakeLogger().contains("distributed mode on redis://127.0.0.1:"));
    EXPECT_TRUE(a->host->fakeLogger().contains("node node-a"));
    EXPECT_EQ(a->host->eventLog(), a->plugin->eventLog());
}

TEST_F(RedisLog, ALostPositionCounterResumesAfterTheLogsLastEntryInsteadOfFailingAppends) {
    const uint64_t before = appendNew(a->log(), 1);
    auto raw = rawConnection(url);
    ASSERT_TRUE(raw);
    rawCommand(*raw, {"DEL", prefix + ":position"});
    const uint64_t after = appendNew(b->log(), 2);
    EXPECT_EQ(after, before + 1);
}

TEST(RedisLogTrimming, AStreamMaxlenTrimsTheStreamButOrdersKeepTheirHistory) {
    ASSERT_TRUE(SharedRedis::instance().ok());
    TempDir dir;
    const std::string url = SharedRedis::instance().url();
    const std::string prefix = uniquePrefix("trim");
    auto a = startNode(url, prefix, "node-a", dir.path(), {{"stream_maxlen", "10"}});
    ASSERT_TRUE(a);
    for (int i = 1; i <= 300; ++i) appendNew(a->log(), i);
    auto raw = rawConnection(url);
    ASSERT_TRUE(raw);
    EXPECT_LT(std::atoll(rawCommand(*raw, {"XLEN", prefix + ":log"}).c_str()), 300);
    auto first = a->log().readOrder(1);
    ASSERT_TRUE(first.isOk());
    EXPECT_EQ(first->size(), 1u);
    a.reset();
    dropPrefix(url, prefix);
}
