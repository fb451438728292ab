// Appending: the version check, concurrency, durability across restarts, ids, reads.
#include <atomic>
#include <set>
#include <thread>
#include <vector>

#include "LogFixture.h"

namespace ordersystem::plugins::inmemory::test {
namespace {

TEST(InMemoryAppend, WithAStaleExpectedVersionIsRefusedAndWritesNothing) {
    LogFixture f;
    f.start();
    const int64_t id = f.appendOrder(2);  // version 2

    auto stale = makeAppend(id, 1);
    auto res = f.log().append(stale);
    EXPECT_EQ(res.status.code, StatusCode::VersionConflict);
    EXPECT_EQ(res.currentVersion, 2);
    EXPECT_EQ(res.lastPosition, 0u);

    auto events = f.log().readOrder(id);
    ASSERT_TRUE(events.isOk());
    EXPECT_EQ(events.value().size(), 2u);
    EXPECT_EQ(f.log().headPosition().value(), 2u);
}

TEST(InMemoryAppend, OfANewOrderThatAlreadyExistsIsAVersionConflict) {
    LogFixture f;
    f.start();
    const int64_t id = f.appendOrder(1);
    auto again = makeAppend(id, 0);
    EXPECT_EQ(f.log().append(again).status.code, StatusCode::VersionConflict);
}

TEST(InMemoryAppend, FillsPositionsAndReadOrderReturnsTheEventsOldestFirst) {
    LogFixture f;
    f.start();
    auto id = f.log().allocateOrderId().value();
    AppendRequest req;
    req.orderId = id;
    req.expectedVersion = 0;
    req.events = {makeEvent(id, 1, "OrderCreated"), makeEvent(id, 2, "OrderProcessing")};
    auto res = f.log().append(req);
    ASSERT_TRUE(res.status.isOk()) << res.status.message;
    EXPECT_EQ(req.events[0].position, 1u);
    EXPECT_EQ(req.events[1].position, 2u);
    EXPECT_EQ(res.lastPosition, 2u);

    auto read = f.log().readOrder(id);
    ASSERT_TRUE(read.isOk());
    ASSERT_EQ(read.value().size(), 2u);
    EXPECT_EQ(read.value()[0].eventId, req.events[0].eventId);
    EXPECT_EQ(read.value()[1].type, "OrderProcessing");
    EXPECT_EQ(read.value()[1].dataJson, req.events[1].dataJson);
    EXPECT_EQ(read.value()[0].occurredAtMs, req.events[0].occurredAtMs);
    EXPECT_TRUE(f.log().readOrder(id + 1000).value().empty());
}

TEST(InMemoryAppend, OfEventsThatDoNotContinueTheOrderIsRefused) {
    LogFixture f;
    f.start();
    auto id = f.log().allocateOrderId().value();
    AppendRequest req;
    req.orderId = id;
    req.expectedVersion = 0;
    req.events = {makeEvent(id, 2)};  // must be version 1
    EXPECT_EQ(f.log().append(req).status.code, StatusCode::InvalidArgument);
    EXPECT_TRUE(f.log().readOrder(id).value().empty());
    EXPECT_EQ(f.log().headPosition().value(), 0u);
}

TEST(InMemoryAppend, ABrokenAppendIsRefusedAndOtherAppendsOfTheSameGroupStillSucceed) {
    // eventIds are not indexed (see Schema.h); an event that does not continue its order is
    // what poisons a group here: it must fail alone.
    LogFixture f;
    f.start();
    f.appendOrder(1);

    std::atomic<int> ok{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t)
        threads.emplace_back([&, t] {
            auto id = f.log().allocateOrderId().value();
            auto req = makeAppend(id, 0);
            if (t == 0) req.events[0].version = 5;
            auto res = f.log().append(req);
            if (t == 0) EXPECT_FALSE(res.status.isOk());
            else if (res.status.isOk()) ++ok;
        });
    for (auto& t : threads) t.join();
    EXPECT_EQ(ok.load(), 7);
    EXPECT_EQ(f.log().headPosition().value(), 8u);
}

TEST(InMemoryAppend, AnOrderIdFarBeyondTheAllocatedOnesIsVersionCheckedAndSurvivesARestart) {
    LogFixture f;
    f.start();
    const int64_t far = int64_t{1} << 40;
    auto first = makeAppend(far, 0);
    ASSERT_TRUE(f.log().append(first).status.isOk());
    auto stale = makeAppend(far, 0);
    auto refused = f.log().append(stale);
    EXPECT_EQ(refused.status.code, StatusCode::VersionConflict);
    EXPECT_EQ(refused.currentVersion, 1);
    const int64_t near = f.appendOrder(2);
    f.restart();
    auto again = makeAppend(far, 0);
    EXPECT_EQ(f.log().append(again).currentVersion, 1);
    auto next = makeAppend(near, 2);
    EXPECT_TRUE(f.log().append(next).status.isOk());
    auto staleNear = makeAppend(near, 1);
    EXPECT_EQ(f.log().append(staleNear).currentVersion, 3);
}

TEST(InMemoryAppend, OrdersStoredBeforeARestartKeepTheirVersionsForEveryLaterAppend) {
    LogFixture f;
    f.start();
    std::vector<int64_t> ids;
    for (int i = 0; i < 50; ++i) ids.push_back(f.appendOrder(1 + i % 3));
    f.restart();
    // Each order refuses every version but its own, once per order and again after an append
    // (the versions are looked up when first needed, then kept).
    for (size_t i = 0; i < ids.size(); ++i) {
        const int64_t stored = 1 + static_cast<int64_t>(i % 3);
        for (int64_t wrong : {int64_t{0}, stored - 1, stored + 1}) {
            if (wrong == stored) continue;
            auto req = makeAppend(ids[i], wrong);
            auto res = f.log().append(req);
            EXPECT_EQ(res.status.code, StatusCode::VersionConflict) << "order " << ids[i] << " expected " << wrong;
            EXPECT_EQ(res.currentVersion, stored);
        }
        auto next = makeAppend(ids[i], stored);
        EXPECT_TRUE(f.log().append(next).status.isOk()) << "order " << ids[i];
        auto stale = makeAppend(ids[i], stored);
        EXPECT_EQ(f.log().append(stale).currentVersion, stored + 1);
    }
    // A new order after the restart starts at version 1 and cannot be created twice.
    const int64_t fresh = f.appendOrder(1);
    EXPECT_GT(fresh, ids.back());
    auto again = makeAppend(fresh, 0);
    EXPECT_EQ(f.log().append(again).status.code, StatusCode::VersionConflict);
    f.restart();
    auto afterSecondRestart = makeAppend(ids.front(), 2);
    EXPECT_TRUE(f.log().append(afterSecondRestart).status.isOk());
}

TEST(InMemoryAppend, TwoThreadsRacingOnOneOrderExactlyOneWins) {
    LogFixture f;
    f.start();
    for (int round = 0; round < 20; ++round) {
        const int64_t id = f.appendOrder(1);
        std::atomic<int> ready{0};
        std::atomic<int> wins{0}, conflicts{0};
        auto racer = [&] {
            auto req = makeAppend(id, 1);
            ++ready;
            while (ready.load() < 2) std::this_thread::yield();
            auto res = f.log().append(req);
            if (res.status.isOk()) ++wins;
            else if (res.status.code == StatusCode::VersionConflict && res.currentVersion == 2) ++conflicts;
        };
        std::thread a(racer), b(racer);
        a.join();
        b.join();
        EXPECT_EQ(wins.load(), 1) << "round " << round;
        EXPECT_EQ(conflicts.load(), 1) << "round " << round;
        EXPECT_EQ(f.log().readOrder(id).value().size(), 2u);
    }
}

TEST(InMemoryAppend, HundredsOfConcurrentAppendsFrom64ThreadsAreAllDurableWithUniqueIncreasingPositions) {
    LogFixture f(Durability::Full);
    f.start();
    constexpr int kThreads = 64, kOrders = 5, kEvents = 2;
    std::vector<std::vector<std::pair<int64_t, uint64_t>>> seen(kThreads);  // (orderId, position) per thread
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
        threads.emplace_back([&, t] {
            for (int o = 0; o < kOrders; ++o) {
                auto id = f.log().allocateOrderId();
                ASSERT_TRUE(id.isOk());
                for (int v = 0; v < kEvents; ++v) {
                    auto req = makeAppend(id.value(), v);
                    auto res = f.log().append(req);
                    ASSERT_TRUE(res.status.isOk()) << res.status.message;
                    seen[t].emplace_back(id.value(), res.lastPosition);
                }
            }
        });
    for (auto& t : threads) t.join();

    std::set<uint64_t> positions;
    for (const auto& perThread : seen) {
        ASSERT_EQ(perThread.size(), static_cast<size_t>(kOrders * kEvents));
        for (size_t i = 1; i < perThread.size(); ++i) EXPECT_GT(perThread[i].second, perThread[i - 1].second);
        for (const auto& p : perThread) positions.insert(p.second);
    }
    constexpr size_t kTotal = kThreads * kOrders * kEvents;
    EXPECT_EQ(positions.size(), kTotal);
    EXPECT_EQ(*positions.begin(), 1u);
    EXPECT_EQ(*positions.rbegin(), kTotal);
    EXPECT_GT(f.host().fakeMetrics().value("ordersystem_inmemory_commits_total"), 0.0);
    EXPECT_EQ(f.host().fakeMetrics().value("ordersystem_events_appended_total"), static_cast<double>(kTotal));

    f.restart();
    EXPECT_EQ(f.log().headPosition().value(), kTotal);
    for (const auto& perThread : seen)
        for (const auto& [orderId, position] : perThread) {
            auto events = f.log().readOrder(orderId);
            ASSERT_TRUE(events.isOk());
            ASSERT_EQ(events.value().size(), static_cast<size_t>(kEvents));
            EXPECT_TRUE(events.value()[0].position == position || events.value()[1].position == position);
        }
    // The version map was reloaded: continuing needs the stored version.
    auto next = makeAppend(seen[0][0].first, 1);
    EXPECT_EQ(f.log().append(next).status.code, StatusCode::VersionConflict);
    auto right = makeAppend(seen[0][0].first, kEvents);
    EXPECT_TRUE(f.log().append(right).status.isOk());
}

TEST(InMemoryOrderIds, AreUniqueAcrossThreadsAndContinueAboveTheOldOnesAfterARestart) {
    LogFixture f;
    f.start();
    std::vector<std::vector<int64_t>> ids(8);
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < 400; ++i) {
                auto id = f.log().allocateOrderId();
                ASSERT_TRUE(id.isOk());
                ids[t].push_back(id.value());
            }
        });
    for (auto& t : threads) t.join();
    std::set<int64_t> all;
    int64_t maxBefore = 0;
    for (const auto& v : ids)
        for (int64_t id : v) {
            EXPECT_GT(id, 0);
            EXPECT_LT(id, int64_t{1} << 53);
            all.insert(id);
            maxBefore = std::max(maxBefore, id);
        }
    EXPECT_EQ(all.size(), 3200u);

    f.restart();
    for (int i = 0; i < 10; ++i) {
        const int64_t id = f.log().allocateOrderId().value();
        EXPECT_GT(id, maxBefore);
        EXPECT_TRUE(all.insert(id).second);
    }
}

TEST(InMemoryLifecycle, AppendsAfterStopAreUnavailable) {
    LogFixture f;
    f.start();
    EventLog& log = f.log();
    InMemoryEventLog* raw = dynamic_cast<InMemoryEventLog*>(&log);
    ASSERT_NE(raw, nullptr);
    raw->shutdown();
    auto req = makeAppend(1, 0);
    EXPECT_EQ(log.append(req).status.code, StatusCode::Unavailable);
    EXPECT_EQ(log.allocateOrderId().status().code, StatusCode::Unavailable);
    EXPECT_EQ(log.idempotency().claim("k", "f", 1000).status().code, StatusCode::Unavailable);
    EXPECT_FALSE(f.host().healthChecks().at("event-log")().healthy);
}

TEST(InMemoryLifecycle, ReportsStandaloneModeItselfAsTheOnlyNodeAndAHealthyLog) {
    LogFixture f;
    f.start();
    EXPECT_EQ(f.log().mode(), "standalone");
    auto nodes = f.log().membership().liveNodes();
    ASSERT_TRUE(nodes.isOk());
    ASSERT_EQ(nodes.value().size(), 1u);
    EXPECT_EQ(nodes.value()[0].nodeId, "node-test");
    EXPECT_EQ(nodes.value()[0].mode, "standalone");
    EXPECT_EQ(nodes.value()[0].address, f.host().node().httpAddress);
    EXPECT_GT(nodes.value()[0].lastSeenMs, 0);
    ASSERT_EQ(f.host().healthChecks().count("event-log"), 1u);
    EXPECT_TRUE(f.host().healthChecks().at("event-log")().healthy);
    EXPECT_TRUE(f.host().fakeLogger().contains("head position"));
}

TEST(InMemoryLifecycle, OutOfRangeSettingsAreRefusedAtCreateNamingTheKey) {
    const std::pair<const char*, const char*> bad[] = {
        {"max_batch", "0"}, {"projection_linger_ms", "-1"}, {"projection_linger_ms", "1001"}};
    for (const auto& [key, value] : bad) {
        ordersystem::testing::FakeConfig config("transport.inmemory");
        for (uint32_t i = 0; i < kConfigKeyCount; ++i) config.set(kConfigKeys[i].name, kConfigKeys[i].defaultValue);
        config.set(key, value);
        auto created = InMemoryTransportPlugin::create(config);
        ASSERT_FALSE(created.isOk()) << key << "=" << value;
        EXPECT_EQ(created.status().code, StatusCode::InvalidConfig);
        EXPECT_NE(created.status().message.find(key), std::string::npos) << created.status().message;
    }
}

}  // namespace
}  // namespace ordersystem::plugins::inmemory::test
