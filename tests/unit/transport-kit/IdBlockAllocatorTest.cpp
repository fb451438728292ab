// Order ids from durably reserved blocks: unique across threads and "nodes", increasing on one
// node, and an engine failure is the caller's error, not a hang.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "ordersystem/testing/FakeHost.h"
#include "ordersystem/transport/id_block_allocator.h"
#include "ordersystem/transport/task_executor.h"

using ordersystem::sdk::Result;
using ordersystem::sdk::Status;
using ordersystem::sdk::StatusCode;
using ordersystem::transport::IdBlockAllocator;

namespace {

/// A shared counter standing in for the engine's (INCRBY, a KV sequence, a SQLite row).
struct Engine {
    std::mutex mutex;
    int64_t last = 0;
    std::atomic<int> reservations{0};
    std::atomic<bool> failing{false};
    Result<int64_t> reserve(int64_t block) {
        ++reservations;
        if (failing) return Status(StatusCode::Unavailable, "engine away");
        std::lock_guard<std::mutex> lock(mutex);
        last += block;
        return last - block + 1;
    }
};

}  // namespace

TEST(IdBlockAllocator, IdsAreUniqueAcrossNodesAndThreadsAndIncreaseOnEachThread) {
    Engine engine;
    ordersystem::testing::FakeLogger logger;
    ordersystem::transport::TaskExecutor executor(1, 8, logger);
    IdBlockAllocator nodeA(10, [&] { return engine.reserve(10); });
    IdBlockAllocator nodeB(
        10, [&] { return engine.reserve(10); },
        [&](std::function<void(bool)> work) { return executor.tryPost(std::move(work)); });
    std::mutex mutex;
    std::vector<int64_t> all;
    std::vector<std::thread> threads;
    for (int t = 0; t < 6; ++t)
        threads.emplace_back([&, t] {
            IdBlockAllocator& node = t % 2 == 0 ? nodeA : nodeB;
            std::vector<int64_t> mine;
            for (int i = 0; i < 500; ++i) {
                auto id = node.next();
                ASSERT_TRUE(id) << id.status().message;
                mine.push_back(*id);
            }
            EXPECT_TRUE(std::is_sorted(mine.begin(), mine.end()));
            std::lock_guard<std::mutex> lock(mutex);
            all.insert(all.end(), mine.begin(), mine.end());
        });
    for (auto& t : threads) t.join();
    executor.close();
    EXPECT_EQ(std::set<int64_t>(all.begin(), all.end()).size(), all.size());
    EXPECT_GT(*std::min_element(all.begin(), all.end()), 0);
}

TEST(IdBlockAllocator, WithoutReservingAheadABlockIsReservedOnlyWhenTheLastOneIsUsedUp) {
    Engine engine;
    IdBlockAllocator ids(100, [&] { return engine.reserve(100); });
    for (int i = 1; i <= 100; ++i) ASSERT_EQ(*ids.next(), i);
    EXPECT_EQ(engine.reservations.load(), 1);
    EXPECT_EQ(*ids.next(), 101);
    EXPECT_EQ(engine.reservations.load(), 2);
}

TEST(IdBlockAllocator, ReservingAheadHasTheNextBlockReadyBeforeTheCurrentOneRunsOut) {
    Engine engine;
    int ranAhead = 0;
    IdBlockAllocator ids(
        10, [&] { return engine.reserve(10); },
        [&](std::function<void(bool)> work) {
            ++ranAhead;
            work(false);  // inline, as the Redis transport does on the caller's thread
            return true;
        });
    for (int i = 1; i <= 10; ++i) ASSERT_EQ(*ids.next(), i);
    EXPECT_EQ(ranAhead, 1);
    EXPECT_EQ(engine.reservations.load(), 2);  // the first block, and the one ahead
    EXPECT_EQ(*ids.next(), 11);                // from the spare: no wait
    EXPECT_EQ(engine.reservations.load(), 2);
}

TEST(IdBlockAllocator, AnEngineFailureIsTheCallersErrorAndTheNextCallTriesAgain) {
    Engine engine;
    engine.failing = true;
    IdBlockAllocator ids(5, [&] { return engine.reserve(5); });
    auto failed = ids.next();
    ASSERT_FALSE(failed);
    EXPECT_EQ(failed.status().code, StatusCode::Unavailable);
    engine.failing = false;
    EXPECT_EQ(*ids.next(), 1);
}

TEST(IdBlockAllocator, ABlockReservedBehindTheCurrentOneIsNeverHandedOut) {
    std::vector<int64_t> firsts = {100, 50, 200};
    size_t call = 0;
    IdBlockAllocator ids(10, [&]() -> Result<int64_t> { return firsts.at(call++); });
    for (int i = 0; i < 10; ++i) ASSERT_EQ(*ids.next(), 100 + i);
    EXPECT_EQ(*ids.next(), 200);  // 50.. lies behind 100..: dropped, the next reservation is used
}

TEST(IdBlockAllocator, AnAheadReservationThatIsRefusedOrCancelledLeavesNoCallerWaiting) {
    Engine engine;
    int offered = 0;
    IdBlockAllocator ids(
        4, [&] { return engine.reserve(4); },
        [&](std::function<void(bool)> work) {
            if (++offered % 2 == 0) return false;
            work(true);  // cancelled: the executor is closing
            return true;
        });
    for (int i = 1; i <= 20; ++i) ASSERT_EQ(*ids.next(), i);
}
