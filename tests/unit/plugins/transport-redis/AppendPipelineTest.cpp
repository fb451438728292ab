// The append pipeline's asynchronous calls without a server: Redis is a loopback port nobody
// listens on, so every batch fails at once with Unavailable and what is checked is the hand-off:
// completed exactly once, on a pipeline thread, drained by close(), refused after it.
#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <memory>
#include <set>
#include <thread>
#include <vector>

#include "AppendPipeline.h"
#include "ordersystem/testing/FakeHost.h"
#include "ordersystem/testing/TestSupport.h"

using namespace ordersystem::plugins::redis;
using ordersystem::sdk::Result;
using ordersystem::sdk::StatusCode;
using ordersystem::testing::waitUntil;

namespace {

/// An asynchronous call that records its completion.
struct RecordingCall final : AsyncCall {
    struct Seen {
        std::atomic<int> calls{0};
        StatusCode code = StatusCode::Ok;
        std::thread::id thread;
    };
    RecordingCall(Seen& s, std::function<void()> then = {}) : seen(s), after(std::move(then)) {
        keys = {"k"};
        args = {"a"};
    }
    void complete(Result<ReplyPtr>&& reply) noexcept override {
        seen.code = reply.status().code;
        seen.thread = std::this_thread::get_id();
        if (after) after();
        seen.calls.fetch_add(1);
    }
    Seen& seen;
    std::function<void()> after;
};

class AppendPipelineUnreachable : public ::testing::Test {
protected:
    AppendPipelineUnreachable() {
        settings.endpoint.port = ordersystem::testing::freePort();
        settings.endpoint.url = "redis://127.0.0.1:" + std::to_string(settings.endpoint.port);
        settings.connectTimeoutMs = 200;
        settings.commandTimeoutMs = 200;
        locator = std::make_unique<PrimaryLocator>(settings, logger);
        pool = std::make_unique<ConnectionPool>(settings, *locator, logger, RedisInstruments{});
        script.name = "append";
        script.body = "return 1";
    }
    std::unique_ptr<AppendPipeline> makePipeline(int maxInFlight) {
        return std::make_unique<AppendPipeline>(*pool, script, maxInFlight, 16, &metrics.counter("batches", ""));
    }
    /// Queues a RecordingCall; false when the pipeline refused it (the call is then deleted here).
    static bool submit(AppendPipeline& pipeline, RecordingCall::Seen& seen, std::function<void()> after = {}) {
        auto call = std::make_unique<RecordingCall>(seen, std::move(after));
        if (!pipeline.runAsync(call.get())) return false;
        call.release();
        return true;
    }
    RedisSettings settings;
    ordersystem::testing::FakeLogger logger;
    ordersystem::testing::FakeMetrics metrics;
    std::unique_ptr<PrimaryLocator> locator;
    std::unique_ptr<ConnectionPool> pool;
    LuaScript script;
};

}  // namespace

TEST_F(AppendPipelineUnreachable, AsyncCallsFromSeveralThreadsCompleteOnceWithUnavailableOnAPipelineThread) {
    auto pipeline = makePipeline(2);
    constexpr int kThreads = 3, kEach = 200;
    std::vector<RecordingCall::Seen> seen(kThreads * kEach);
    std::vector<std::thread> threads;
    std::set<std::thread::id> submitters;
    for (int t = 0; t < kThreads; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < kEach; ++i) ASSERT_TRUE(submit(*pipeline, seen[t * kEach + i]));
        });
    for (auto& th : threads) {
        submitters.insert(th.get_id());
        th.join();
    }
    ASSERT_TRUE(waitUntil(
        [&] {
            for (auto& s : seen)
                if (s.calls.load() == 0) return false;
            return true;
        },
        std::chrono::seconds(10), std::chrono::milliseconds(5)))
        << "completions must not hang with Redis down";
    pipeline->close();
    for (auto& s : seen) {
        EXPECT_EQ(s.calls.load(), 1);
        EXPECT_EQ(s.code, StatusCode::Unavailable);
        EXPECT_EQ(submitters.count(s.thread), 0u) << "an asynchronous caller never leads";
    }
    EXPECT_GT(metrics.value("batches"), 0.0);
    EXPECT_LE(metrics.value("batches"), static_cast<double>(kThreads * kEach));
}

TEST_F(AppendPipelineUnreachable, CloseCompletesEveryQueuedCallThenRefusesNewOnes) {
    auto pipeline = makePipeline(1);
    std::vector<RecordingCall::Seen> seen(300);
    for (auto& s : seen) ASSERT_TRUE(submit(*pipeline, s));
    pipeline->close();
    for (auto& s : seen) EXPECT_EQ(s.calls.load(), 1) << "close() returned before completing a call";

    RecordingCall::Seen late;
    EXPECT_FALSE(submit(*pipeline, late));
    EXPECT_EQ(late.calls.load(), 0) << "a refused call is the caller's to complete";
    const std::vector<std::string> keys{"k"}, args{"a"};
    EXPECT_EQ(pipeline->run(keys, args).status().code, StatusCode::Unavailable);
    pipeline->close();  // twice is harmless
}

TEST_F(AppendPipelineUnreachable, BlockingCallersAndACompletionThatRunsABlockingCallDoNotDeadlock) {
    auto pipeline = makePipeline(1);
    const std::vector<std::string> keys{"k"}, args{"a"};
    constexpr int kCalls = 50;
    std::vector<RecordingCall::Seen> seen(kCalls);
    std::atomic<int> nestedUnavailable{0};
    std::thread blocking([&] {
        for (int i = 0; i < 100; ++i) EXPECT_EQ(pipeline->run(keys, args).status().code, StatusCode::Unavailable);
    });
    for (auto& s : seen)
        ASSERT_TRUE(submit(*pipeline, s, [&] {
            if (pipeline->run(keys, args).status().code == StatusCode::Unavailable) nestedUnavailable.fetch_add(1);
        }));
    blocking.join();
    ASSERT_TRUE(waitUntil([&] { return nestedUnavailable.load() == kCalls; }, std::chrono::seconds(10)));
    pipeline->close();
    for (auto& s : seen) EXPECT_EQ(s.calls.load(), 1);
}
