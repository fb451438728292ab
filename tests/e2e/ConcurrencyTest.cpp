// Many users at once: nothing lost, nothing doubled, and of two conflicting changes exactly one wins.
#include "E2e.h"

#include <set>
#include <thread>

using namespace e2e;

namespace {
class Concurrency : public StandaloneTest {};
}  // namespace

TEST_F(Concurrency, HundredsOfParallelCreatesAllSucceedWithUniqueIdsAndAllAreStored) {
    constexpr int kThreads = 16;
    constexpr int kPerThread = 25;
    std::vector<std::vector<int64_t>> ids(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < kPerThread; ++i) {
                const HttpResult r = httpPostJson(port(), "/api/orders", orderBody("Parallel" + std::to_string(t)));
                if (r.status == 201) ids[t].push_back(intField(r.json(), "orderId"));
            }
        });
    for (auto& th : threads) th.join();
    std::set<int64_t> unique;
    size_t total = 0;
    for (const auto& v : ids) {
        total += v.size();
        unique.insert(v.begin(), v.end());
    }
    EXPECT_EQ(total, static_cast<size_t>(kThreads * kPerThread));
    EXPECT_EQ(unique.size(), total);
    for (int t = 0; t < kThreads; ++t)
        EXPECT_EQ(get("/api/orders/customer/Parallel" + std::to_string(t)).json().items().size(),
                  static_cast<size_t>(kPerThread));
    for (const int64_t id : unique) ASSERT_EQ(get("/api/orders/" + std::to_string(id)).status, 200) << id;
}

TEST_F(Concurrency, OfManyParallelProcessCallsOnOneOrderExactlyOneWins) {
    for (int round = 0; round < 5; ++round) {
        const int64_t id = create();
        std::atomic<int> ok{0}, conflict{0}, other{0};
        std::vector<std::thread> threads;
        for (int t = 0; t < 8; ++t)
            threads.emplace_back([&] {
                const int s = post("/api/orders/" + std::to_string(id) + "/process").status;
                (s == 200 ? ok : s == 409 ? conflict : other)++;
            });
        for (auto& th : threads) th.join();
        EXPECT_EQ(ok.load(), 1);
        EXPECT_EQ(conflict.load(), 7);
        EXPECT_EQ(other.load(), 0);
        EXPECT_EQ(get("/api/orders/" + std::to_string(id) + "/events").json().items().size(), 2u);
    }
}

TEST_F(Concurrency, CompleteRacingCancelOnAProcessingOrderHasExactlyOneWinner) {
    for (int round = 0; round < 10; ++round) {
        const int64_t id = create();
        ASSERT_EQ(post("/api/orders/" + std::to_string(id) + "/process").status, 200);
        int completeStatus = 0, cancelStatus = 0;
        std::thread a([&] { completeStatus = post("/api/orders/" + std::to_string(id) + "/complete").status; });
        std::thread b([&] { cancelStatus = post("/api/orders/" + std::to_string(id) + "/cancel?reason=race").status; });
        a.join();
        b.join();
        EXPECT_TRUE((completeStatus == 200 && cancelStatus == 409) || (completeStatus == 409 && cancelStatus == 200))
            << "complete " << completeStatus << " cancel " << cancelStatus;
        const std::string final = status(id);
        EXPECT_EQ(final, completeStatus == 200 ? "Completed" : "Cancelled");
        EXPECT_EQ(get("/api/orders/" + std::to_string(id) + "/events").json().items().size(), 3u);
    }
}

TEST_F(Concurrency, ProcessRacingCancelOnAPendingOrderAlwaysEndsCancelledWithAConsistentHistory) {
    for (int round = 0; round < 10; ++round) {
        const int64_t id = create();
        int processStatus = 0, cancelStatus = 0;
        std::thread a([&] { processStatus = post("/api/orders/" + std::to_string(id) + "/process").status; });
        std::thread b([&] { cancelStatus = post("/api/orders/" + std::to_string(id) + "/cancel?reason=race").status; });
        a.join();
        b.join();
        EXPECT_EQ(cancelStatus, 200);
        EXPECT_TRUE(processStatus == 200 || processStatus == 409) << processStatus;
        EXPECT_EQ(status(id), "Cancelled");
        const size_t events = get("/api/orders/" + std::to_string(id) + "/events").json().items().size();
        EXPECT_EQ(events, processStatus == 200 ? 3u : 2u);
    }
}

TEST_F(Concurrency, ParallelRetriesWithOneIdempotencyKeyCreateOneOrder) {
    const std::string body = orderBody("OnceOnly");
    std::atomic<int> created{0}, inFlight{0}, other{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t)
        threads.emplace_back([&] {
            const int s = httpPostJson(port(), "/api/orders", body, {{"Idempotency-Key", "same-key"}}).status;
            (s == 201 ? created : s == 409 ? inFlight : other)++;
        });
    for (auto& th : threads) th.join();
    EXPECT_GE(created.load(), 1);
    EXPECT_EQ(other.load(), 0);
    EXPECT_EQ(get("/api/orders/customer/OnceOnly").json().items().size(), 1u);
}
