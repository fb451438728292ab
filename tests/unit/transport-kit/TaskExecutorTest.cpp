// A transport's task executor on its own: bounded queue, every task run exactly once (queued ones
// at close() told they are cancelled), never lost after close().
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

#include "ordersystem/testing/FakeHost.h"
#include "ordersystem/transport/task_executor.h"

using ordersystem::transport::TaskExecutor;

namespace {

ordersystem::testing::FakeLogger logger;

}  // namespace

TEST(TaskExecutor, RunsPostedTasksOffTheCallersThread) {
    TaskExecutor executor(2, 8, logger);
    std::promise<std::thread::id> ran;
    ASSERT_TRUE(executor.tryPost([&](bool cancelled) {
        EXPECT_FALSE(cancelled);
        ran.set_value(std::this_thread::get_id());
    }));
    EXPECT_NE(ran.get_future().get(), std::this_thread::get_id());
}

TEST(TaskExecutor, TryPostRefusesBeyondTheQueueBoundButPostNever) {
    TaskExecutor executor(1, 2, logger);
    std::promise<void> release;
    std::shared_future<void> gate = release.get_future().share();
    std::atomic<int> runs{0};
    std::atomic<bool> started{false};
    ASSERT_TRUE(executor.tryPost([&](bool) {
        started = true;
        gate.wait();
        ++runs;
    }));
    while (!started) std::this_thread::yield();  // the one thread is busy: what follows queues
    EXPECT_TRUE(executor.tryPost([&](bool) { ++runs; }));
    EXPECT_TRUE(executor.tryPost([&](bool) { ++runs; }));
    EXPECT_FALSE(executor.tryPost([&](bool) { ++runs; })) << "a third queued task is one too many";
    executor.post([&](bool) { ++runs; });  // answers must never be dropped
    release.set_value();
    executor.close();
    EXPECT_EQ(runs.load(), 4);
}

TEST(TaskExecutor, CloseRunsQueuedTasksAsCancelledAndLaterPostsAtOnce) {
    TaskExecutor executor(1, 8, logger);
    std::promise<void> release;
    std::shared_future<void> gate = release.get_future().share();
    std::atomic<bool> started{false};
    std::atomic<int> cancelled{0}, normal{0};
    auto count = [&](bool c) { ++(c ? cancelled : normal); };
    ASSERT_TRUE(executor.tryPost([&](bool c) {
        started = true;
        gate.wait();
        count(c);
    }));
    while (!started) std::this_thread::yield();
    ASSERT_TRUE(executor.tryPost(count));
    ASSERT_TRUE(executor.tryPost(count));
    std::thread closer([&] { executor.close(); });
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // close() has begun
    release.set_value();
    closer.join();
    EXPECT_EQ(normal.load(), 1);     // the one already running
    EXPECT_EQ(cancelled.load(), 2);  // the queued ones, told so
    EXPECT_FALSE(executor.tryPost(count));
    std::thread::id ranOn;
    executor.post([&](bool c) {
        ranOn = std::this_thread::get_id();
        count(c);
    });
    EXPECT_EQ(ranOn, std::this_thread::get_id());
    EXPECT_EQ(cancelled.load(), 3);
}

TEST(TaskExecutor, ATaskThatThrowsIsLoggedAndTheNextStillRuns) {
    TaskExecutor executor(1, 8, logger);
    std::promise<void> ran;
    ASSERT_TRUE(executor.tryPost([](bool) { throw std::runtime_error("boom"); }));
    ASSERT_TRUE(executor.tryPost([&](bool) { ran.set_value(); }));
    ran.get_future().wait();
    EXPECT_TRUE(logger.contains("boom"));
}
