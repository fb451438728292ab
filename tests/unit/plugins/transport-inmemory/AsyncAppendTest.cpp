// appendAsync: completion exactly once on a transport thread, group commit of async appends,
// mixing with append(), the version check, idempotency, refusal and draining at shutdown.
#include <atomic>
#include <chrono>
#include <set>
#include <stdexcept>
#include <thread>

#include "LogFixture.h"

namespace ordersystem::plugins::inmemory::test {
namespace {

using namespace std::chrono_literals;

/// What one appendAsync callback saw.
struct Outcome {
    int calls = 0;
    StatusCode code = StatusCode::Internal;
    uint64_t lastPosition = 0;
    int64_t currentVersion = -1;
    std::thread::id thread;
};

/// Callbacks that record their outcome per slot; tests wait (bounded) for a total.
class Completions {
public:
    explicit Completions(size_t slots) : _outcomes(slots) {}

    EventLog::AppendCallback callback(size_t slot) {
        return [this, slot](AppendResult&& result) {
            std::lock_guard<std::mutex> lock(_mutex);
            Outcome& o = _outcomes.at(slot);
            ++o.calls;
            o.code = result.status.code;
            o.lastPosition = result.lastPosition;
            o.currentVersion = result.currentVersion;
            o.thread = std::this_thread::get_id();
            ++_total;
            _cv.notify_all();
        };
    }
    bool waitFor(size_t total, std::chrono::milliseconds timeout = 10s) {
        std::unique_lock<std::mutex> lock(_mutex);
        return _cv.wait_for(lock, timeout, [&] { return _total >= total; });
    }
    size_t total() {
        std::lock_guard<std::mutex> lock(_mutex);
        return _total;
    }
    std::vector<Outcome> outcomes() {
        std::lock_guard<std::mutex> lock(_mutex);
        return _outcomes;
    }

private:
    std::mutex _mutex;
    std::condition_variable _cv;
    std::vector<Outcome> _outcomes;
    size_t _total = 0;
};

/// A gate a callback can be held at (bounded), to keep the committing thread busy.
class Gate {
public:
    void arriveAndWait() {
        std::unique_lock<std::mutex> lock(_mutex);
        _arrived = true;
        _cv.notify_all();
        _cv.wait_for(lock, 10s, [&] { return _open; });
    }
    bool waitArrived() {
        std::unique_lock<std::mutex> lock(_mutex);
        return _cv.wait_for(lock, 10s, [&] { return _arrived; });
    }
    void open() {
        std::lock_guard<std::mutex> lock(_mutex);
        _open = true;
        _cv.notify_all();
    }

private:
    std::mutex _mutex;
    std::condition_variable _cv;
    bool _arrived = false;
    bool _open = false;
};

/// New-order requests for count fresh ids (they must outlive their callbacks).
std::vector<AppendRequest> newOrders(EventLog& log, size_t count) {
    std::vector<AppendRequest> requests;
    requests.reserve(count);
    for (size_t i = 0; i < count; ++i) {
        auto id = log.allocateOrderId();
        EXPECT_TRUE(id.isOk());
        requests.push_back(makeAppend(id.value(), 0));
    }
    return requests;
}

/// Holds the committing thread in the callback of one async append; open() the gate to go on.
void holdCommitter(EventLog& log, AppendRequest& request, Gate& gate, Completions& completions, size_t slot) {
    auto record = completions.callback(slot);
    log.appendAsync(request, [&gate, record](AppendResult&& r) mutable {
        record(std::move(r));
        gate.arriveAndWait();
    });
    ASSERT_TRUE(gate.waitArrived()) << "the first async append never completed";
}

TEST(InMemoryAsyncAppend, FromManyThreadsEveryCallbackRunsOnceOnATransportThreadAndEveryEventIsDurable) {
    LogFixture f(Durability::Full);
    f.start();
    ASSERT_TRUE(f.log().appendsAsynchronously());
    constexpr size_t kThreads = 8, kPerThread = 200, kTotal = kThreads * kPerThread;
    auto requests = newOrders(f.log(), kTotal);
    Completions completions(kTotal);
    std::vector<std::thread::id> submitters(kThreads);
    std::vector<std::thread> threads;
    for (size_t t = 0; t < kThreads; ++t)
        threads.emplace_back([&, t] {
            submitters[t] = std::this_thread::get_id();
            for (size_t i = t * kPerThread; i < (t + 1) * kPerThread; ++i)
                f.log().appendAsync(requests[i], completions.callback(i));
        });
    for (auto& t : threads) t.join();
    ASSERT_TRUE(completions.waitFor(kTotal)) << completions.total() << " of " << kTotal << " completed";

    std::set<uint64_t> positions;
    const std::set<std::thread::id> submitterSet(submitters.begin(), submitters.end());
    const auto outcomes = completions.outcomes();
    for (size_t i = 0; i < kTotal; ++i) {
        ASSERT_EQ(outcomes[i].calls, 1) << "slot " << i;
        ASSERT_EQ(outcomes[i].code, StatusCode::Ok) << "slot " << i;
        EXPECT_EQ(outcomes[i].lastPosition, requests[i].events[0].position);
        EXPECT_EQ(submitterSet.count(outcomes[i].thread), 0u) << "callback ran on the submitting thread";
        positions.insert(outcomes[i].lastPosition);
    }
    EXPECT_EQ(positions.size(), kTotal);
    EXPECT_EQ(*positions.begin(), 1u);
    EXPECT_EQ(*positions.rbegin(), kTotal);
    EXPECT_EQ(f.host().fakeMetrics().value("ordersystem_events_appended_total"), static_cast<double>(kTotal));

    f.restart();
    EXPECT_EQ(completions.total(), kTotal) << "a callback ran more than once";
    EXPECT_EQ(f.log().headPosition().value(), kTotal);
    for (size_t i = 0; i < kTotal; ++i) {
        auto events = f.log().readOrder(requests[i].orderId);
        ASSERT_TRUE(events.isOk());
        ASSERT_EQ(events.value().size(), 1u);
        EXPECT_EQ(events.value()[0].position, outcomes[i].lastPosition);
        EXPECT_EQ(events.value()[0].eventId, requests[i].events[0].eventId);
    }
}

TEST(InMemoryAsyncAppend, MixedWithSyncAppendsFromOtherThreadsAllCompleteAndAreAllStored) {
    LogFixture f;
    f.start();
    constexpr size_t kThreads = 4, kPerThread = 200, kEach = kThreads * kPerThread;
    auto asyncRequests = newOrders(f.log(), kEach);
    auto syncRequests = newOrders(f.log(), kEach);
    Completions completions(kEach);
    std::atomic<size_t> syncOk{0};
    std::vector<std::thread> threads;
    for (size_t t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            for (size_t i = t * kPerThread; i < (t + 1) * kPerThread; ++i)
                f.log().appendAsync(asyncRequests[i], completions.callback(i));
        });
        threads.emplace_back([&, t] {
            for (size_t i = t * kPerThread; i < (t + 1) * kPerThread; ++i)
                if (f.log().append(syncRequests[i]).status.isOk()) ++syncOk;
        });
    }
    for (auto& t : threads) t.join();
    ASSERT_TRUE(completions.waitFor(kEach)) << completions.total() << " of " << kEach << " completed";
    EXPECT_EQ(syncOk.load(), kEach);

    std::set<uint64_t> positions;
    for (const auto& o : completions.outcomes()) {
        EXPECT_EQ(o.calls, 1);
        EXPECT_EQ(o.code, StatusCode::Ok);
        positions.insert(o.lastPosition);
    }
    for (const auto& r : syncRequests) positions.insert(r.events[0].position);
    EXPECT_EQ(positions.size(), 2 * kEach);
    EXPECT_EQ(*positions.rbegin(), 2 * kEach);

    f.restart();
    EXPECT_EQ(f.log().headPosition().value(), 2 * kEach);
    for (const auto* requests : {&asyncRequests, &syncRequests})
        for (const auto& r : *requests) ASSERT_EQ(f.log().readOrder(r.orderId).value().size(), 1u);
}

TEST(InMemoryAsyncAppend, WithAStaleExpectedVersionCompletesWithAVersionConflictAndStoresNothing) {
    LogFixture f;
    f.start();
    const int64_t id = f.appendOrder(2);  // version 2
    auto stale = makeAppend(id, 1);
    Completions completions(1);
    f.log().appendAsync(stale, completions.callback(0));
    ASSERT_TRUE(completions.waitFor(1));
    const Outcome o = completions.outcomes()[0];
    EXPECT_EQ(o.code, StatusCode::VersionConflict);
    EXPECT_EQ(o.currentVersion, 2);
    EXPECT_EQ(o.lastPosition, 0u);
    EXPECT_EQ(stale.events[0].position, 0u);
    EXPECT_EQ(f.log().readOrder(id).value().size(), 2u);
    EXPECT_EQ(f.log().headPosition().value(), 2u);
}

TEST(InMemoryAsyncAppend, AfterShutdownCompletesAtOnceOnTheCallersThreadAsUnavailable) {
    LogFixture f;
    f.start();
    auto* raw = dynamic_cast<InMemoryEventLog*>(&f.log());
    ASSERT_NE(raw, nullptr);
    raw->shutdown();
    auto req = makeAppend(1, 0);
    Completions completions(1);
    f.log().appendAsync(req, completions.callback(0));
    ASSERT_EQ(completions.total(), 1u) << "the refusal was not reported before appendAsync returned";
    const Outcome o = completions.outcomes()[0];
    EXPECT_EQ(o.code, StatusCode::Unavailable);
    EXPECT_EQ(o.thread, std::this_thread::get_id());
}

TEST(InMemoryAsyncAppend, AppendsQueuedWhileTheCommitterIsBusyAreCommittedTogetherInOneGroup) {
    LogFixture f;
    f.start();
    constexpr size_t kQueued = 100;
    auto requests = newOrders(f.log(), kQueued + 1);
    const double commitsBefore = f.host().fakeMetrics().value("ordersystem_inmemory_commits_total");
    Completions completions(kQueued + 1);
    Gate gate;
    holdCommitter(f.log(), requests[0], gate, completions, 0);
    for (size_t i = 1; i <= kQueued; ++i) f.log().appendAsync(requests[i], completions.callback(i));
    // Every appendAsync returned although nothing could commit meanwhile.
    EXPECT_EQ(completions.total(), 1u);
    gate.open();
    ASSERT_TRUE(completions.waitFor(kQueued + 1)) << completions.total() << " completed";

    for (const auto& o : completions.outcomes()) EXPECT_EQ(o.code, StatusCode::Ok);
    const double commits = f.host().fakeMetrics().value("ordersystem_inmemory_commits_total") - commitsBefore;
    EXPECT_LE(commits, 2.0) << "the queued appends were not grouped";
    EXPECT_EQ(f.log().headPosition().value(), kQueued + 1);
}

TEST(InMemoryAsyncAppend, AnIdempotencyCompletionPassedWithItIsFoundByClaimAfterwards) {
    LogFixture f;
    f.start();
    auto& store = f.log().idempotency();
    ASSERT_EQ(store.claim("async-key", "fp-a", 30000).value().state, IdempotencyClaim::State::Claimed);
    IdempotencyCompletion completion{"async-key", "fp-a", R"({"status":201,"body":"order"})"};
    auto req = makeAppend(f.log().allocateOrderId().value(), 0);
    req.idempotency = &completion;
    Completions completions(1);
    f.log().appendAsync(req, completions.callback(0));
    ASSERT_TRUE(completions.waitFor(1));
    ASSERT_EQ(completions.outcomes()[0].code, StatusCode::Ok);

    auto again = store.claim("async-key", "fp-other", 30000);
    ASSERT_TRUE(again.isOk());
    EXPECT_EQ(again.value().state, IdempotencyClaim::State::Completed);
    EXPECT_EQ(again.value().fingerprint, "fp-a");
    EXPECT_EQ(again.value().response, completion.response);
    f.restart();
    EXPECT_EQ(f.log().idempotency().claim("async-key", "fp-a", 30000).value().state,
              IdempotencyClaim::State::Completed);
}

TEST(InMemoryAsyncAppend, AKeyReleasedFromInsideACallbackIsFreedWithoutDeadlock) {
    // A failed create gives its Idempotency-Key back from the append callback, on the committer.
    LogFixture f;
    f.start();
    auto& store = f.log().idempotency();
    ASSERT_EQ(store.claim("given-back", "fp", 30000).value().state, IdempotencyClaim::State::Claimed);
    auto stale = makeAppend(f.log().allocateOrderId().value(), 5);  // version conflict: fails
    Completions completions(1);
    auto record = completions.callback(0);
    f.log().appendAsync(stale, [&store, record](AppendResult&& result) {
        EXPECT_TRUE(store.release("given-back").isOk());
        record(std::move(result));
    });
    ASSERT_TRUE(completions.waitFor(1)) << "release() inside the callback did not return";
    EXPECT_EQ(completions.outcomes()[0].code, StatusCode::VersionConflict);
    bool claimedAgain = false;
    for (int i = 0; i < 100 && !claimedAgain; ++i) {
        claimedAgain = store.claim("given-back", "fp", 30000).value().state == IdempotencyClaim::State::Claimed;
        if (!claimedAgain) std::this_thread::sleep_for(10ms);
    }
    EXPECT_TRUE(claimedAgain) << "the key released from the callback stayed taken";
}

TEST(InMemoryAsyncAppend, ACallbackThatThrowsDoesNotStopLaterAppends) {
    LogFixture f;
    f.start();
    auto requests = newOrders(f.log(), 2);
    f.log().appendAsync(requests[0], [](AppendResult&&) { throw std::runtime_error("boom"); });
    Completions completions(1);
    f.log().appendAsync(requests[1], completions.callback(0));
    ASSERT_TRUE(completions.waitFor(1)) << "the committer stopped after a throwing callback";
    EXPECT_EQ(completions.outcomes()[0].code, StatusCode::Ok);
    auto sync = makeAppend(f.log().allocateOrderId().value(), 0);
    EXPECT_TRUE(f.log().append(sync).status.isOk());
    EXPECT_EQ(f.log().headPosition().value(), 3u);
    EXPECT_TRUE(f.host().fakeLogger().contains("boom"));
}

TEST(InMemoryAsyncAppend, AppendsQueuedBeforeShutdownStillCommitAndShutdownReturnsAfterTheirCallbacks) {
    LogFixture f;
    f.start();
    constexpr size_t kQueued = 50;
    auto requests = newOrders(f.log(), kQueued + 1);
    Completions completions(kQueued + 1);
    Gate gate;
    holdCommitter(f.log(), requests[0], gate, completions, 0);
    for (size_t i = 1; i <= kQueued; ++i) f.log().appendAsync(requests[i], completions.callback(i));

    auto* raw = dynamic_cast<InMemoryEventLog*>(&f.log());
    ASSERT_NE(raw, nullptr);
    std::thread stopper([raw] { raw->shutdown(); });
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (f.log().headPosition().isOk() && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(1ms);  // until shutdown() has begun
    EXPECT_FALSE(f.log().headPosition().isOk());
    auto late = makeAppend(999999, 0);
    Completions lateCompletion(1);
    f.log().appendAsync(late, lateCompletion.callback(0));
    EXPECT_EQ(lateCompletion.total(), 1u);
    EXPECT_EQ(lateCompletion.outcomes()[0].code, StatusCode::Unavailable);
    gate.open();
    stopper.join();

    EXPECT_EQ(completions.total(), kQueued + 1) << "shutdown returned before every accepted callback ran";
    for (const auto& o : completions.outcomes()) EXPECT_EQ(o.code, StatusCode::Ok);
    f.restart();
    EXPECT_EQ(f.log().headPosition().value(), kQueued + 1);
}

}  // namespace
}  // namespace ordersystem::plugins::inmemory::test
