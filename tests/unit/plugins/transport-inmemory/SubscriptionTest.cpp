// Delivery to projections and reactions: catch-up, live order, retries, dead letters, unsubscribe.
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <thread>

#include "LogFixture.h"
#include "ordersystem/sdk/util.h"
#include "ordersystem/sqlite/db.h"
#include "ordersystem/testing/TestSupport.h"

namespace ordersystem::plugins::inmemory::test {
namespace {

std::vector<uint64_t> range(uint64_t from, uint64_t to) {
    std::vector<uint64_t> out;
    for (uint64_t p = from; p <= to; ++p) out.push_back(p);
    return out;
}

void appendOrders(LogFixture& f, int count) {
    for (int i = 0; i < count; ++i) f.appendOrder(1);
}

int niceOfThisThread() { return getpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid))); }

TEST(InMemoryProjection, ProjectionsRunAtBackgroundPriorityWhileAppendersKeepTheirOwn) {
    LogFixture f;
    f.start();
    const int appender = niceOfThisThread();
    std::atomic<int> applying{-100};
    RecordingProjection projection;
    projection.onApply = [&] { applying = niceOfThisThread(); };
    auto sub = f.log().subscribe(projection);
    ASSERT_TRUE(sub.isOk());
    appendOrders(f, 3);
    ASSERT_TRUE(projection.waitFor(3));
    f.log().unsubscribe(sub.value());
    EXPECT_EQ(applying.load(), std::min(19, appender + sdk::kBackgroundNice));
    EXPECT_EQ(niceOfThisThread(), appender);
}

TEST(InMemoryProjection, AProjectionThatUnsubscribesFromItsOwnApplyStopsGetsNothingMoreAndTheLogStopsCleanly) {
    LogFixture f;
    f.start();
    RecordingProjection projection;
    std::atomic<sdk::SubscriptionId> id{0};
    std::atomic<int> applies{0};
    projection.onApply = [&] {
        if (++applies == 1) f.log().unsubscribe(id.load());
    };
    auto sub = f.log().subscribe(projection);
    ASSERT_TRUE(sub.isOk());
    id = sub.value();
    appendOrders(f, 1);
    ASSERT_TRUE(projection.waitFor(1));
    ASSERT_TRUE(ordersystem::testing::waitUntil(
        [&] { return f.host().fakeLogger().contains("unsubscribed from its own callback"); }, std::chrono::seconds(5)));
    appendOrders(f, 5);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_EQ(applies.load(), 1);
    f.log().unsubscribe(sub.value());  // already gone: nothing happens
}

TEST(InMemoryProjection, CatchesUpAfterARestartFromItsCheckpointWithoutGapsOrDuplicates) {
    LogFixture f;
    f.start();
    RecordingProjection projection;
    appendOrders(f, 60);
    auto sub = f.log().subscribe(projection);
    ASSERT_TRUE(sub.isOk());
    ASSERT_TRUE(projection.waitFor(60));
    f.log().unsubscribe(sub.value());

    f.restart();
    appendOrders(f, 40);  // written while the projection was away: read back from the file
    sub = f.log().subscribe(projection);
    ASSERT_TRUE(sub.isOk());
    appendOrders(f, 30);  // live
    ASSERT_TRUE(projection.waitFor(130));
    f.log().unsubscribe(sub.value());
    EXPECT_EQ(projection.appliedCopy(), range(1, 130));
}

TEST(InMemoryProjection, SubscribingWhileAppendsRunSwitchesFromCatchUpToLiveWithoutGapsOrDuplicates) {
    LogFixture f;
    f.start({{"max_batch", "16"}});
    appendOrders(f, 100);
    std::atomic<bool> stop{false};
    std::vector<std::thread> writers;
    for (int t = 0; t < 4; ++t)
        writers.emplace_back([&] {
            for (int i = 0; i < 150 && !stop; ++i) f.appendOrder(1);
        });
    RecordingProjection projection;
    auto sub = f.log().subscribe(projection);
    ASSERT_TRUE(sub.isOk());
    for (auto& w : writers) w.join();
    ASSERT_TRUE(projection.waitFor(700));
    f.log().unsubscribe(sub.value());
    EXPECT_EQ(projection.appliedCopy(), range(1, 700));
}

TEST(InMemoryProjection, LiveEventsArriveInPositionOrderRightAfterTheirCommit) {
    LogFixture f;
    f.start();
    RecordingProjection projection;
    auto sub = f.log().subscribe(projection);
    ASSERT_TRUE(sub.isOk());
    std::vector<std::thread> writers;
    for (int t = 0; t < 8; ++t)
        writers.emplace_back([&] {
            for (int i = 0; i < 25; ++i) {
                auto id = f.log().allocateOrderId().value();
                auto req = makeAppend(id, 0);
                auto res = f.log().append(req);
                ASSERT_TRUE(res.status.isOk());
                // Read-your-writes as the orders plugin does it: wait for the projection.
                ASSERT_TRUE(projection.waitFor(res.lastPosition));
            }
        });
    for (auto& w : writers) w.join();
    f.log().unsubscribe(sub.value());
    EXPECT_EQ(projection.appliedCopy(), range(1, 200));
}

TEST(InMemoryProjection, ThatFailsOnceGetsTheSameBatchAgainAfterReReadingItsCheckpoint) {
    LogFixture f;
    f.start();
    appendOrders(f, 10);
    RecordingProjection projection;
    projection.failuresLeft = 1;
    auto sub = f.log().subscribe(projection);
    ASSERT_TRUE(sub.isOk());
    ASSERT_TRUE(projection.waitFor(10));
    f.log().unsubscribe(sub.value());
    ASSERT_GE(projection.attempts.size(), 2u);
    EXPECT_EQ(projection.attempts[0], 1u);
    EXPECT_EQ(projection.attempts[1], 1u);
    EXPECT_EQ(projection.appliedCopy(), range(1, 10));
    EXPECT_GE(projection.checkpointCalls, 2);
    EXPECT_TRUE(f.host().fakeLogger().contains("failed to apply positions 1.."));
    EXPECT_TRUE(f.host().fakeLogger().contains("simulated projection failure"));
}

TEST(InMemoryReaction, AFailedDeliveryIsRetriedUntilItSucceedsAndNotRepeatedAfterARestart) {
    LogFixture f;
    f.start({{"reaction_retry_initial_ms", "5"}, {"reaction_retry_max_ms", "20"}});
    RecordingReaction reaction;
    reaction.shouldFail = [](const EventRecord& e, int attempt) { return e.position == 2 && attempt <= 2; };
    auto sub = f.log().subscribe(reaction);
    ASSERT_TRUE(sub.isOk());
    appendOrders(f, 3);
    ASSERT_TRUE(reaction.waitHandled(3));
    f.log().unsubscribe(sub.value());
    // Other orders' events do not wait for the retries of position 2, so only the counts are fixed.
    auto deliveries = reaction.deliveriesCopy();
    std::sort(deliveries.begin(), deliveries.end());
    EXPECT_EQ(deliveries, (std::vector<uint64_t>{1, 2, 2, 2, 3}));
    auto handled = reaction.handledCopy();
    std::sort(handled.begin(), handled.end());
    EXPECT_EQ(handled, (std::vector<uint64_t>{1, 2, 3}));

    f.restart();
    RecordingReaction after;  // same name: resumes from the stored checkpoint
    sub = f.log().subscribe(after);
    ASSERT_TRUE(sub.isOk());
    appendOrders(f, 1);
    ASSERT_TRUE(after.waitHandled(1));
    f.log().unsubscribe(sub.value());
    EXPECT_EQ(after.handledCopy(), (std::vector<uint64_t>{4}));
}

int64_t countDeadLetters(const std::string& dbPath, const std::string& eventId) {
    sqlite::Db db;
    sqlite::Stmt q;
    if (!db.open(dbPath, true).isOk() ||
        !q.prepare(db, "SELECT COUNT(*) FROM dead_letters WHERE event_id = ?1 AND reaction = 'test-reaction'").isOk())
        return -1;
    q.bind(1, eventId);
    sdk::Status error;
    return q.nextRow(&error) ? q.int64(0) : -1;
}

TEST(InMemoryReaction, AnEventThatKeepsFailingIsDeadLetteredAfterMaxDeliveriesAndTheNextOneFollows) {
    LogFixture f;
    f.start({{"reaction_max_deliveries", "3"}, {"reaction_retry_initial_ms", "2"}, {"reaction_retry_max_ms", "5"}});
    RecordingReaction reaction;
    reaction.shouldFail = [](const EventRecord& e, int) { return e.position == 1; };
    auto sub = f.log().subscribe(reaction);
    ASSERT_TRUE(sub.isOk());
    const int64_t poisoned = f.appendOrder(1);
    const std::string eventId = f.log().readOrder(poisoned).value()[0].eventId;
    f.appendOrder(1);
    ASSERT_TRUE(reaction.waitHandled(1));
    ASSERT_TRUE(ordersystem::testing::waitUntil(
        [&] {
            return f.host().fakeMetrics().value("ordersystem_reaction_dead_letters_total",
                                                {{"reaction", "test-reaction"}}) == 1.0;
        },
        std::chrono::seconds(20)));
    f.log().unsubscribe(sub.value());

    auto deliveries = reaction.deliveriesCopy();  // position 2 (another order) does not wait for 1
    std::sort(deliveries.begin(), deliveries.end());
    EXPECT_EQ(deliveries, (std::vector<uint64_t>{1, 1, 1, 2}));
    EXPECT_EQ(reaction.handledCopy(), (std::vector<uint64_t>{2}));
    EXPECT_EQ(f.host().fakeMetrics().value("ordersystem_reaction_dead_letters_total", {{"reaction", "test-reaction"}}),
              1.0);
    EXPECT_TRUE(f.host().fakeLogger().contains(eventId));
    EXPECT_EQ(countDeadLetters(f.dbPath(), eventId), 1);
}

TEST(InMemoryUnsubscribe, ReturnsOnlyOnceNoCallbackRunsOrWillRun) {
    LogFixture f;
    f.start({{"max_batch", "1"}});
    RecordingProjection projection;
    std::atomic<bool> inside{false};
    std::atomic<int> callsAfterReturn{0};
    std::atomic<bool> returned{false};
    projection.onApply = [&] {
        if (returned) ++callsAfterReturn;
        inside = true;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        inside = false;
    };
    auto sub = f.log().subscribe(projection);
    ASSERT_TRUE(sub.isOk());
    std::atomic<bool> stopWriting{false};
    std::thread writer([&] {
        for (int i = 0; i < 200 && !stopWriting; ++i) f.appendOrder(1);
    });
    ASSERT_TRUE(projection.waitFor(1));
    for (int i = 0; i < 200 && !inside; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    f.log().unsubscribe(sub.value());
    returned = true;
    EXPECT_FALSE(inside.load());
    stopWriting = true;
    writer.join();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_EQ(callsAfterReturn.load(), 0);
}

}  // namespace
}  // namespace ordersystem::plugins::inmemory::test

namespace ordersystem::plugins::inmemory::test {
namespace {

TEST(InMemoryProjection, ASlowProjectionGetsItsBacklogInFewerLargerBatchesWithoutGaps) {
    LogFixture f;
    f.start({{"max_batch", "64"}});
    RecordingProjection projection;
    std::atomic<bool> hold{true};
    std::atomic<int> applies{0};
    projection.onApply = [&] {
        ++applies;
        for (int i = 0; i < 2000 && hold.load(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    };
    auto sub = f.log().subscribe(projection);
    ASSERT_TRUE(sub.isOk());
    f.appendOrder(1);                               // the projection now sits in its first apply
    for (int i = 0; i < 40; ++i) f.appendOrder(1);  // 40 commits of one event each, meanwhile
    hold = false;
    ASSERT_TRUE(projection.waitFor(41));
    f.log().unsubscribe(sub.value());
    EXPECT_EQ(projection.appliedCopy(), range(1, 41));
    EXPECT_LT(applies.load(), 10) << "the 40 single-event commits were merged into larger batches";
}

/// Read models that gather for a second after each batch, and one that has just applied the
/// first event alone: it is lingering now.
class InMemoryLinger : public ::testing::Test {
protected:
    void SetUp() override {
        f.start({{"projection_linger_ms", "1000"}});
        auto subscribed = f.log().subscribe(projection);
        ASSERT_TRUE(subscribed.isOk());
        sub = subscribed.value();
        f.appendOrder(1);
        ASSERT_TRUE(projection.waitFor(1));
    }

    RecordingProjection projection;  // declared first: the log (and its threads) go first
    LogFixture f;
    sdk::SubscriptionId sub = 0;
};

TEST_F(InMemoryLinger, AReadModelThatKeepsUpTakesTheCommitsOfItsLingerInOneBatch) {
    for (int i = 0; i < 10; ++i) {
        f.appendOrder(1);  // ten commits of one event each, 20 ms apart
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ASSERT_TRUE(projection.waitFor(11));
    f.log().unsubscribe(sub);
    EXPECT_EQ(projection.appliedCopy(), range(1, 11));
    // Woken by each commit, it would apply each in a batch of its own (its apply is instant).
    EXPECT_LE(projection.attempts.size(), 3u) << "the ten commits were not gathered";
}

TEST_F(InMemoryLinger, UnsubscribingDoesNotWaitForALingeringReadModel) {
    const auto before = std::chrono::steady_clock::now();
    f.log().unsubscribe(sub);
    EXPECT_LT(std::chrono::steady_clock::now() - before, std::chrono::milliseconds(900))
        << "unsubscribe waited for the linger to run out";
}

}  // namespace
}  // namespace ordersystem::plugins::inmemory::test
