// Asynchronous appends (EventLog::appendAsync) on Redis: batched beside blocking ones, completed
// once each on a pipeline thread, drained by shutdown, Unavailable without hanging when Redis is gone.
#include <thread>

#include "RedisTestNodes.h"

using namespace ordersystem::redistest;
using ordersystem::testing::RedisServer;
using ordersystem::testing::TempDir;
using ordersystem::testing::waitUntil;

namespace {

/// appendAsync calls and what their callbacks saw. Slots are made before any is submitted and
/// stay put until the test ends (a request must outlive its callback).
struct AsyncAppends {
    struct Slot {
        AppendRequest request;
        std::atomic<int> calls{0};
        AppendResult result;
        std::thread::id thread;
    };
    std::vector<std::unique_ptr<Slot>> slots;
    std::atomic<size_t> completed{0};

    Slot& add(int64_t orderId, int64_t expectedVersion = 0) {
        auto s = std::make_unique<Slot>();
        s->request.orderId = orderId;
        s->request.expectedVersion = expectedVersion;
        s->request.events.push_back(makeEvent(orderId, expectedVersion + 1));
        slots.push_back(std::move(s));
        return *slots.back();
    }
    void submit(EventLog& log, Slot& s) {
        log.appendAsync(s.request, [this, &s](AppendResult&& r) {
            s.result = std::move(r);
            s.thread = std::this_thread::get_id();
            s.calls.fetch_add(1);
            completed.fetch_add(1);
        });
    }
    bool waitAll(std::chrono::milliseconds timeout) {
        return waitUntil([&] { return completed.load() == slots.size(); }, timeout, std::chrono::milliseconds(5));
    }
};

/// Submits every slot while Redis is gone: submitting must not wait (a caller on an event loop never
/// blocks on the network) and each slot must complete once, failed as an outage, without hanging.
void expectOutageFailures(EventLog& log, AsyncAppends& appends, std::chrono::milliseconds submitBudget) {
    const auto t0 = std::chrono::steady_clock::now();
    for (auto& s : appends.slots) appends.submit(log, *s);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, submitBudget) << "appendAsync must not wait";
    ASSERT_TRUE(appends.waitAll(std::chrono::seconds(5))) << "completions must not hang while Redis is gone";
    for (const auto& s : appends.slots) {
        EXPECT_EQ(s->calls.load(), 1);
        const StatusCode code = s->result.status.code;
        EXPECT_TRUE(code == StatusCode::Unavailable || code == StatusCode::Timeout) << s->result.status.message;
    }
}

class RedisAsyncAppend : public ::testing::Test {
protected:
    void SetUp() override {
        ASSERT_TRUE(SharedRedis::instance().ok()) << "redis-server could not be started (is it installed?)";
        url = SharedRedis::instance().url();
        prefix = uniquePrefix("async");
    }
    void TearDown() override {
        if (!url.empty()) dropPrefix(url, prefix);
    }
    size_t streamLength() {
        auto raw = rawConnection(url);
        return raw ? std::stoul(rawCommand(*raw, {"XLEN", prefix + ":log"})) : 0;
    }
    TempDir dir;
    std::string url;
    std::string prefix;
};

}  // namespace

TEST_F(RedisAsyncAppend, TheRedisLogAppendsAsynchronously) {
    auto node = startNode(url, prefix, "node-a", dir.path());
    ASSERT_TRUE(node);
    EXPECT_TRUE(node->log().appendsAsynchronously());
    node->plugin->stop();
}

TEST_F(RedisAsyncAppend, ManyConcurrentAsyncAppendsFromSeveralThreadsCompleteOnceOkWithUniquePositionsAllInTheStream) {
    auto node = startNode(url, prefix, "node-a", dir.path());
    ASSERT_TRUE(node);
    constexpr int kThreads = 4, kPerThread = 250, kTotal = kThreads * kPerThread;
    AsyncAppends appends;
    for (int t = 0; t < kThreads; ++t)
        for (int i = 0; i < kPerThread; ++i) appends.add(1 + t * 1000 + i);
    std::vector<std::thread> threads;
    std::set<std::thread::id> submitters;
    for (int t = 0; t < kThreads; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < kPerThread; ++i) appends.submit(node->log(), *appends.slots[t * kPerThread + i]);
        });
    for (auto& th : threads) {
        submitters.insert(th.get_id());
        th.join();
    }
    ASSERT_TRUE(appends.waitAll(std::chrono::seconds(30)))
        << appends.completed.load() << " of " << kTotal << " completed";
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // a second completion would show by now
    std::set<uint64_t> positions;
    for (const auto& s : appends.slots) {
        EXPECT_EQ(s->calls.load(), 1) << "order " << s->request.orderId;
        ASSERT_TRUE(s->result.status.isOk()) << s->result.status.message;
        EXPECT_EQ(s->request.events[0].position, s->result.lastPosition) << "the position is filled in";
        EXPECT_TRUE(positions.insert(s->result.lastPosition).second)
            << "position " << s->result.lastPosition << " twice";
        EXPECT_EQ(submitters.count(s->thread), 0u) << "a submitting thread ran a callback: it must not lead";
    }
    EXPECT_EQ(*positions.begin(), 1u);
    EXPECT_EQ(*positions.rbegin(), static_cast<uint64_t>(kTotal));
    EXPECT_EQ(node->log().headPosition().value(), static_cast<uint64_t>(kTotal));
    EXPECT_EQ(streamLength(), static_cast<size_t>(kTotal));
    auto events = node->log().readOrder(1 + 2 * 1000 + 17);
    ASSERT_TRUE(events.isOk());
    ASSERT_EQ(events->size(), 1u);
    EXPECT_EQ((*events)[0].position, appends.slots[2 * kPerThread + 17]->result.lastPosition);
    auto& metrics = node->host->fakeMetrics();
    EXPECT_EQ(metrics.value("ordersystem_events_appended_total"), static_cast<double>(kTotal));
    EXPECT_LT(metrics.value("ordersystem_redis_append_batches_total"), static_cast<double>(kTotal))
        << "calls share writes";
    node->plugin->stop();
}

TEST_F(RedisAsyncAppend, AConflictIdempotencyAndABadRequestAreAnsweredAsByTheBlockingAppend) {
    auto node = startNode(url, prefix, "node-a", dir.path());
    ASSERT_TRUE(node);
    ASSERT_GT(appendNew(node->log(), 5), 0u);
    AsyncAppends appends;
    auto& stale = appends.add(5, 0);  // the order exists: conflict
    auto& next = appends.add(5, 1);   // version 2 of it
    auto& keyed = appends.add(6, 0);  // completes an idempotency key with the append
    const IdempotencyCompletion completion{"async-key", "fp-1", R"({"orderId":6})"};
    ASSERT_EQ(node->log().idempotency().claim("async-key", "fp-1", 10000)->state, IdempotencyClaim::State::Claimed);
    keyed.request.idempotency = &completion;
    for (auto* s : {&stale, &next, &keyed}) appends.submit(node->log(), *s);
    ASSERT_TRUE(appends.waitAll(std::chrono::seconds(10)));
    EXPECT_EQ(stale.result.status.code, StatusCode::VersionConflict) << stale.result.status.message;
    EXPECT_EQ(stale.result.currentVersion, 1);
    EXPECT_EQ(stale.result.lastPosition, 0u);
    ASSERT_TRUE(next.result.status.isOk()) << next.result.status.message;
    EXPECT_EQ(next.request.events[0].position, next.result.lastPosition);
    ASSERT_TRUE(keyed.result.status.isOk()) << keyed.result.status.message;
    auto again = node->log().idempotency().claim("async-key", "fp-1", 10000);
    ASSERT_TRUE(again.isOk());
    EXPECT_EQ(again->state, IdempotencyClaim::State::Completed);
    EXPECT_EQ(again->response, completion.response);
    EXPECT_EQ(node->host->fakeMetrics().value("ordersystem_event_append_conflicts_total"), 1.0);
    EXPECT_EQ(node->log().readOrder(5)->size(), 2u);

    // Refused before reaching Redis: answered at once, on the caller's thread.
    auto& bad = appends.add(7, 0);
    bad.request.events[0].version = 3;
    appends.submit(node->log(), bad);
    EXPECT_EQ(bad.calls.load(), 1);
    EXPECT_EQ(bad.thread, std::this_thread::get_id());
    EXPECT_EQ(bad.result.status.code, StatusCode::InvalidArgument);
    node->plugin->stop();
}

TEST_F(RedisAsyncAppend, ACallbackMayCallBlockingMethodsOfTheSameLogWithoutDeadlock) {
    // One pipeline: the callback runs on the only thread that could lead a batch.
    auto node = startNode(url, prefix, "node-a", dir.path(), {{"append_pipelines", "1"}});
    ASSERT_TRUE(node);
    constexpr int kCalls = 20;
    AsyncAppends appends;
    std::vector<IdempotencyCompletion> completions(kCalls);
    std::vector<Status> released(kCalls), nested(kCalls);
    for (int i = 0; i < kCalls; ++i) {
        ASSERT_GT(appendNew(node->log(), 100 + i), 0u);
        completions[i] = IdempotencyCompletion{"key-" + std::to_string(i), "fp", "{}"};
        ASSERT_EQ(node->log().idempotency().claim(completions[i].key, "fp", 60000)->state,
                  IdempotencyClaim::State::Claimed);
        appends.add(100 + i, 0).request.idempotency = &completions[i];  // a failed create: the order exists
    }
    std::atomic<int> done{0};
    EventLog& log = node->log();
    for (int i = 0; i < kCalls; ++i) {
        log.appendAsync(appends.slots[i]->request, [&, i](AppendResult&& r) {
            // What the orders plugin does after a failed create, plus a blocking append for good measure.
            released[i] = r.status.code == StatusCode::VersionConflict ? log.idempotency().release(completions[i].key)
                                                                       : Status(StatusCode::Internal, "no conflict");
            AppendRequest other;
            other.orderId = 200 + i;
            other.events.push_back(makeEvent(200 + i, 1));
            nested[i] = log.append(other).status;
            done.fetch_add(1);
        });
    }
    ASSERT_TRUE(waitUntil([&] { return done.load() == kCalls; }, std::chrono::seconds(20))) << done.load();
    for (int i = 0; i < kCalls; ++i) {
        EXPECT_TRUE(released[i].isOk()) << released[i].message;
        EXPECT_TRUE(nested[i].isOk()) << nested[i].message;
        EXPECT_EQ(node->log().idempotency().claim(completions[i].key, "fp", 1000)->state,
                  IdempotencyClaim::State::Claimed)
            << "the key was given back";
    }
    node->plugin->stop();
}

TEST_F(RedisAsyncAppend, BlockingAndAsyncCallersShareOnePipelineAndAllGetTheirOwnAnswer) {
    auto node = startNode(url, prefix, "node-a", dir.path(), {{"append_pipelines", "1"}});
    ASSERT_TRUE(node);
    constexpr int kSyncThreads = 4, kSyncEach = 50, kAsyncThreads = 2, kAsyncEach = 150;
    AsyncAppends appends;
    for (int t = 0; t < kAsyncThreads; ++t)
        for (int i = 0; i < kAsyncEach; ++i) appends.add(10000 + t * 1000 + i);
    std::vector<std::vector<AppendResult>> sync(kSyncThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kSyncThreads; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < kSyncEach; ++i) {
                AppendRequest req;
                req.orderId = 1 + t * 1000 + i;
                req.events.push_back(makeEvent(req.orderId, 1));
                sync[t].push_back(node->log().append(req));
            }
        });
    for (int t = 0; t < kAsyncThreads; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < kAsyncEach; ++i) appends.submit(node->log(), *appends.slots[t * kAsyncEach + i]);
        });
    for (auto& th : threads) th.join();
    ASSERT_TRUE(appends.waitAll(std::chrono::seconds(30)));
    std::set<uint64_t> positions;
    for (const auto& results : sync)
        for (const auto& r : results) {
            ASSERT_TRUE(r.status.isOk()) << r.status.message;
            EXPECT_TRUE(positions.insert(r.lastPosition).second);
        }
    for (const auto& s : appends.slots) {
        EXPECT_EQ(s->calls.load(), 1);
        ASSERT_TRUE(s->result.status.isOk()) << s->result.status.message;
        EXPECT_TRUE(positions.insert(s->result.lastPosition).second);
    }
    constexpr size_t kTotal = kSyncThreads * kSyncEach + kAsyncThreads * kAsyncEach;
    EXPECT_EQ(positions.size(), kTotal);
    EXPECT_EQ(node->log().headPosition().value(), kTotal);
    node->plugin->stop();
}

TEST_F(RedisAsyncAppend, ShutdownCompletesEveryAcceptedAsyncAppendAndRefusesLaterOnesAtOnce) {
    auto node = startNode(url, prefix, "node-a", dir.path());
    ASSERT_TRUE(node);
    constexpr int kCalls = 500;
    AsyncAppends appends;
    for (int i = 0; i < kCalls; ++i) appends.add(1 + i);
    for (auto& s : appends.slots) appends.submit(node->log(), *s);
    node->log().shutdown();  // no wait: most of them are still queued
    EXPECT_EQ(appends.completed.load(), static_cast<size_t>(kCalls)) << "shutdown returned before completing them";
    size_t ok = 0;
    for (const auto& s : appends.slots) {
        EXPECT_EQ(s->calls.load(), 1);
        const StatusCode code = s->result.status.code;
        EXPECT_TRUE(code == StatusCode::Ok || code == StatusCode::Unavailable) << s->result.status.message;
        if (code == StatusCode::Ok) ++ok;
    }
    EXPECT_EQ(streamLength(), ok) << "every Ok append is in the stream, nothing else";

    auto& late = appends.add(kCalls + 1);
    appends.submit(node->log(), late);
    EXPECT_EQ(late.calls.load(), 1) << "refused at once";
    EXPECT_EQ(late.thread, std::this_thread::get_id());
    EXPECT_EQ(late.result.status.code, StatusCode::Unavailable);
    AppendRequest blocking;
    blocking.orderId = kCalls + 2;
    blocking.events.push_back(makeEvent(kCalls + 2, 1));
    EXPECT_EQ(node->log().append(blocking).status.code, StatusCode::Unavailable);
    node->plugin->stop();
}

TEST(RedisAsyncFaults, AStoppedRedisCompletesAsyncAppendsWithUnavailableQuicklyAndTheyWorkAgainAfterItsRestart) {
    ASSERT_TRUE(RedisServer::available());
    TempDir dir;
    RedisServer redis(dir.file("redis"));
    ASSERT_TRUE(redis.start());
    auto a = startNode(redis.url(), uniquePrefix("async-down"), "node-a", dir.path(),
                       {{"heartbeat_interval_ms", "600000"}, {"node_ttl_ms", "3600000"}});
    ASSERT_TRUE(a);
    StopOnExit stopper{a};
    ASSERT_GT(appendNew(a->log(), 1), 0u);
    redis.stop();
    AsyncAppends down;
    for (int i = 0; i < 20; ++i) down.add(10 + i);
    expectOutageFailures(a->log(), down, std::chrono::milliseconds(500));
    ASSERT_TRUE(redis.start());
    AsyncAppends back;
    for (int i = 0; i < 200; ++i) back.add(100 + i);
    size_t next = 0;
    EXPECT_TRUE(waitUntil(
        [&] {
            if (next == back.slots.size()) return false;
            back.submit(a->log(), *back.slots[next++]);
            return waitUntil([&] { return back.completed.load() == next; }, std::chrono::seconds(5)) &&
                   back.slots[next - 1]->result.status.isOk();
        },
        std::chrono::seconds(10), std::chrono::milliseconds(50)));
}

TEST(RedisAsyncFaults, AHungRedisNeverBlocksTheCallerAndCompletesWithinTheCommandTimeout) {
    TempDir dir;
    FreezableRedis server(dir.path());
    ASSERT_TRUE(server.ready());
    auto a =
        startNode(server.url(), "hung-async", "node-a", dir.path(),
                  {{"command_timeout_ms", "300"}, {"heartbeat_interval_ms", "600000"}, {"node_ttl_ms", "3600000"}});
    ASSERT_TRUE(a);
    StopOnExit stopper{a};
    ASSERT_GT(appendNew(a->log(), 1), 0u);
    ASSERT_TRUE(server.freeze());  // accepts connections, answers nothing
    AsyncAppends hung;
    for (int i = 0; i < 10; ++i) hung.add(10 + i);
    // Each batch ends within the 300 ms command timeout (plus a connect).
    expectOutageFailures(a->log(), hung, std::chrono::milliseconds(200));
    server.thaw();
}
