// appendAsync() against a real nats-server: every call is answered exactly once, never on the
// caller's thread once accepted, with the same outcomes as append(); a silent or lost server and
// a stopping log answer within a bounded time; late acknowledgements change nothing.
#include <pthread.h>

#include <csignal>

#include "NatsTestNodes.h"

using namespace ordersystem::natstest;
using ordersystem::testing::ChildProcess;
using ordersystem::testing::freePort;

namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kWait = std::chrono::seconds(20);

/// New-order calls for the given ids (one OrderCreated each).
std::vector<std::unique_ptr<AsyncCall>> newOrders(const std::vector<int64_t>& ids) {
    std::vector<std::unique_ptr<AsyncCall>> calls;
    for (int64_t id : ids) {
        auto call = std::make_unique<AsyncCall>();
        call->request.orderId = id;
        call->request.events.push_back(makeEvent(id, 1));
        calls.push_back(std::move(call));
    }
    return calls;
}

bool allAnswered(const std::vector<std::unique_ptr<AsyncCall>>& calls) {
    for (const auto& c : calls)
        if (!c->answered()) return false;
    return true;
}

std::vector<int64_t> allocate(NatsEventLog& log, int n) {
    std::vector<int64_t> ids;
    for (int i = 0; i < n; ++i) ids.push_back(*log.allocateOrderId());
    return ids;
}

/// A nats-server of this test that can be paused (SIGSTOP): connected, but silent.
class PausableNats {
public:
    PausableNats() : _port(freePort()) {
        _process = std::make_unique<ChildProcess>(
            "nats-server",
            std::vector<std::string>{"-js", "-a", "127.0.0.1", "-p", std::to_string(_port), "-sd",
                                     _dir.path() + "/store"},
            _dir.path() + "/nats.log");
        ok = waitUntil([this] { return reachable(); }, std::chrono::seconds(10));
    }
    ~PausableNats() { resume(); }
    std::string url() const { return "nats://127.0.0.1:" + std::to_string(_port); }
    /// Returns once the server is stopped (a signal is delivered when the process next runs).
    void pause() {
        ::kill(_process->pid(), SIGSTOP);
        waitUntil([this] { return state() == 'T'; }, std::chrono::seconds(5), std::chrono::milliseconds(1));
    }
    void resume() { ::kill(_process->pid(), SIGCONT); }
    bool ok = false;

private:
    char state() const {  // the field after "(comm)" in /proc/<pid>/stat
        const std::string stat = ordersystem::testing::readFile("/proc/" + std::to_string(_process->pid()) + "/stat");
        const auto close = stat.rfind(')');
        return close != std::string::npos && close + 2 < stat.size() ? stat[close + 2] : '?';
    }
    bool reachable() const {
        natsConnection* nc = nullptr;
        const bool up = natsConnection_ConnectTo(&nc, url().c_str()) == NATS_OK;
        natsConnection_Destroy(nc);
        return up;
    }
    TempDir _dir;
    int _port;
    std::unique_ptr<ChildProcess> _process;
};

/// One node on a server of its own that the test may pause; publishes time out after 500 ms.
class NatsSilent : public ::testing::Test {
protected:
    void SetUp() override {
        ASSERT_TRUE(nats.ok) << "nats-server could not be started";
        env.url = nats.url();
        node = startNode(env, "node-a", dir.path(), {{"request_timeout_ms", "500"}});
        ASSERT_TRUE(node);
    }
    void TearDown() override { nats.resume(); }  // the node's stop() must find NATS running
    NatsEventLog& log() { return node->log(); }

    PausableNats nats;
    NatsEnv env{false, false};
    TempDir dir;
    std::unique_ptr<TestNode> node;
};

class NatsAsync : public ::testing::Test {
protected:
    void SetUp() override {
        ASSERT_TRUE(env.ok) << "nats-server could not be started (is it installed?)";
        a = startNode(env, "node-a", dir.path());
        b = startNode(env, "node-b", dir.path());
        ASSERT_TRUE(a && b);
    }
    NatsEnv env;
    TempDir dir;
    std::unique_ptr<TestNode> a, b;
};

}  // namespace

TEST_F(NatsAsync, TheLogSaysItAppendsAsynchronously) { EXPECT_TRUE(a->log().appendsAsynchronously()); }

TEST_F(NatsAsync, ManyConcurrentCallsAreAnsweredOnceEachOffTheCallersThreadWithTheirOwnPositions) {
    constexpr int kThreads = 4, kPerThread = 150;
    auto calls = newOrders(allocate(a->log(), kThreads * kPerThread));
    std::vector<std::thread> threads;
    std::vector<std::thread::id> callers(kThreads);
    for (int t = 0; t < kThreads; ++t)
        threads.emplace_back([&, t] {
            callers[t] = std::this_thread::get_id();
            for (int k = 0; k < kPerThread; ++k) appendAsync(a->log(), *calls[t * kPerThread + k]);
        });
    for (auto& t : threads) t.join();
    ASSERT_TRUE(waitUntil([&] { return allAnswered(calls); }, kWait));
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // a second answer would show now

    std::set<uint64_t> positions;
    for (int i = 0; i < kThreads * kPerThread; ++i) {
        const AsyncCall& c = *calls[i];
        ASSERT_EQ(c.answers.load(), 1) << "call " << i;
        ASSERT_TRUE(c.result.status.isOk()) << c.result.status.message;
        EXPECT_NE(c.thread, callers[i / kPerThread]) << "answered on the caller's thread";
        EXPECT_GT(c.result.lastPosition, 0u);
        EXPECT_EQ(c.request.events[0].position, c.result.lastPosition);
        positions.insert(c.result.lastPosition);
    }
    EXPECT_EQ(positions.size(), calls.size());
    for (const auto& c : calls) {
        auto stored = b->log().readOrder(c->request.orderId);
        ASSERT_TRUE(stored.isOk()) << stored.status().message;
        ASSERT_EQ(stored->size(), 1u);
        EXPECT_EQ(stored->front().position, c->result.lastPosition);
        EXPECT_EQ(stored->front().eventId, c->request.events[0].eventId);
    }
}

TEST_F(NatsAsync, AcknowledgementsAreAnsweredOnAThreadNamedForThem) {
    // An operator reading `top -H` sees "nats-acks", not the name of whichever thread published first.
    auto calls = newOrders(allocate(a->log(), 1));
    std::string threadName;
    std::atomic<bool> answered{false};
    a->log().appendAsync(calls[0]->request, [&](AppendResult&& r) {
        EXPECT_TRUE(r.status.isOk()) << r.status.message;
        char name[16] = {};
        pthread_getname_np(pthread_self(), name, sizeof name);
        threadName = name;
        answered.store(true, std::memory_order_release);
    });
    ASSERT_TRUE(waitUntil([&] { return answered.load(std::memory_order_acquire); }, kWait));
    EXPECT_EQ(threadName, "nats-acks");
}

TEST_F(NatsAsync, NextVersionThroughTheCachedTipWorksAndAStaleTipIsAConflictThatWritesNothing) {
    const int64_t id = *a->log().allocateOrderId();
    ASSERT_TRUE(appendAsyncAndWait(a->log(), nextEvent(id, 0)).status.isOk());
    AppendResult second = appendAsyncAndWait(a->log(), nextEvent(id, 1));  // a's own tip: no read first
    ASSERT_TRUE(second.status.isOk()) << second.status.message;
    ASSERT_TRUE(appendNext(b->log(), id, 2, "node-b").status.isOk());  // a's tip is stale now
    const uint64_t head = *a->log().headPosition();

    AppendResult stale = appendAsyncAndWait(a->log(), nextEvent(id, 2));
    EXPECT_EQ(stale.status.code, StatusCode::VersionConflict) << stale.status.message;
    EXPECT_EQ(stale.currentVersion, 3);
    EXPECT_EQ(stale.lastPosition, 0u);
    EXPECT_EQ(*a->log().headPosition(), head);
    // The conflict dropped the stale tip: the next call reads it and succeeds.
    AppendResult fourth = appendAsyncAndWait(a->log(), nextEvent(id, 3));
    ASSERT_TRUE(fourth.status.isOk()) << fourth.status.message;
    auto events = b->log().readOrder(id);
    ASSERT_TRUE(events.isOk());
    ASSERT_EQ(events->size(), 4u);
    EXPECT_EQ(events->back().position, fourth.lastPosition);
    // b never appended version 4 itself: its call takes the slow path and reads the tip.
    EXPECT_TRUE(appendAsyncAndWait(b->log(), nextEvent(id, 4)).status.isOk());
}

TEST_F(NatsAsync, NewOrderOverAnExistingOneIsAConflictAndARetriedCreateIsOk) {
    const int64_t id = *a->log().allocateOrderId();
    AppendRequest create = nextEvent(id, 0);
    AppendResult first = appendAsyncAndWait(a->log(), create);
    ASSERT_TRUE(first.status.isOk()) << first.status.message;

    AppendResult other = appendAsyncAndWait(b->log(), nextEvent(id, 0));  // another event for the same id
    EXPECT_EQ(other.status.code, StatusCode::VersionConflict) << other.status.message;
    EXPECT_EQ(other.currentVersion, 1);
    // The same create again (a client's retry), through the other node: stored once, same position.
    AppendResult retry = appendAsyncAndWait(b->log(), create);
    ASSERT_TRUE(retry.status.isOk()) << retry.status.message;
    EXPECT_EQ(retry.lastPosition, first.lastPosition);
    EXPECT_EQ(a->log().readOrder(id)->size(), 1u);
}

TEST_F(NatsAsync, SeveralEventsAndIdempotencyKeysAreAnsweredOffTheCallersThread) {
    const int64_t id = *a->log().allocateOrderId();
    AsyncCall two;
    two.request.orderId = id;
    two.request.events = {makeEvent(id, 1), makeEvent(id, 2)};
    appendAsync(a->log(), two);
    ASSERT_TRUE(waitUntil([&] { return two.answered(); }, kWait));
    ASSERT_TRUE(two.result.status.isOk()) << two.result.status.message;
    EXPECT_NE(two.thread, std::this_thread::get_id());
    EXPECT_EQ(two.request.events[1].position, two.request.events[0].position + 1);
    EXPECT_EQ(two.result.lastPosition, two.request.events[1].position);

    const std::string key = "async-" + newUuid();
    ASSERT_EQ(a->log().idempotency().claim(key, "fp", 30000)->state, IdempotencyClaim::State::Claimed);
    const int64_t keyed = *a->log().allocateOrderId();
    IdempotencyCompletion completion{key, "fp", R"({"orderId":)" + std::to_string(keyed) + "}"};
    AppendRequest req = nextEvent(keyed, 0);
    req.idempotency = &completion;
    ASSERT_TRUE(appendAsyncAndWait(a->log(), req).status.isOk());
    // Completed with the append, before the answer: a retry on another node replays it.
    auto claim = b->log().idempotency().claim(key, "fp", 30000);
    ASSERT_TRUE(claim.isOk());
    EXPECT_EQ(claim->state, IdempotencyClaim::State::Completed);
    EXPECT_EQ(claim->response, completion.response);
}

TEST_F(NatsAsync, AFailedCallsCallbackMayReleaseItsKeyWithoutDeadlock) {
    // What the orders plugin does when a create fails: give the Idempotency-Key back from the callback.
    const int64_t id = *a->log().allocateOrderId();
    appendNew(b->log(), id);
    const std::string key = "release-" + newUuid();
    ASSERT_EQ(a->log().idempotency().claim(key, "fp", 30000)->state, IdempotencyClaim::State::Claimed);
    IdempotencyCompletion completion{key, "fp", "{}"};
    AsyncCall call;
    call.request = nextEvent(id, 0);  // the id is in use: the version check refuses it
    call.request.idempotency = &completion;
    std::atomic<bool> released{false};
    NatsEventLog& log = a->log();
    log.appendAsync(call.request, [&](AppendResult&& r) {
        call.result = std::move(r);
        released = log.idempotency().release(key).isOk();  // a KV round trip inside the callback
        call.answers.fetch_add(1);
    });
    ASSERT_TRUE(waitUntil([&] { return call.answered(); }, kWait));
    EXPECT_EQ(call.result.status.code, StatusCode::VersionConflict);
    EXPECT_TRUE(released.load());
    EXPECT_EQ(b->log().idempotency().claim(key, "fp", 30000)->state, IdempotencyClaim::State::Claimed);
}

TEST_F(NatsAsync, StoppingAnswersEveryPendingCallAndRefusesLaterOnesAtOnce) {
    auto calls = newOrders(allocate(a->log(), 600));
    std::thread second([&] {
        for (size_t i = 1; i < calls.size(); i += 2) appendAsync(a->log(), *calls[i]);
    });
    for (size_t i = 0; i < calls.size(); i += 2) appendAsync(a->log(), *calls[i]);
    second.join();
    a->log().stopAppends();
    size_t ok = 0;
    for (const auto& c : calls) {
        ASSERT_EQ(c->answers.load(), 1) << "order " << c->request.orderId << " not answered by stopAppends()";
        const StatusCode code = c->result.status.code;
        EXPECT_TRUE(code == StatusCode::Ok || code == StatusCode::Unavailable || code == StatusCode::Timeout)
            << c->result.status.message;
        if (code != StatusCode::Ok) continue;
        ++ok;
        EXPECT_EQ(b->log().readOrder(c->request.orderId)->size(), 1u);
    }
    EXPECT_GT(ok, 0u);
    AsyncCall late;
    late.request = nextEvent(*a->log().allocateOrderId(), 0);
    appendAsync(a->log(), late);
    ASSERT_TRUE(late.answered()) << "a call after stopAppends() must be refused at once";
    EXPECT_EQ(late.result.status.code, StatusCode::Unavailable);
}

TEST(NatsAsyncFaults, WhileNatsIsDownCallsAreRefusedAtOnceAndPendingOnesEndSoon) {
    NatsEnv env(false);
    ASSERT_TRUE(env.ok);
    TempDir dir;
    auto a = startNode(env, "node-a", dir.path());
    ASSERT_TRUE(a);
    auto calls = newOrders(allocate(a->log(), 200));
    for (auto& c : calls) appendAsync(a->log(), *c);
    const auto killedAt = Clock::now();
    env.server->kill9();
    ASSERT_TRUE(waitUntil([&] { return allAnswered(calls); }, std::chrono::seconds(5))) << "pending calls did not end";
    EXPECT_LT(Clock::now() - killedAt, std::chrono::milliseconds(2000 + 1500));
    for (const auto& c : calls) {
        const StatusCode code = c->result.status.code;
        EXPECT_TRUE(code == StatusCode::Ok || code == StatusCode::Unavailable || code == StatusCode::Timeout)
            << c->result.status.message;
    }
    ASSERT_TRUE(waitUntil([&] { return !a->host->healthChecks().at("nats")().healthy; }, kWait));
    for (int events : {1, 2}) {  // the fast path and the slow one
        AsyncCall call;
        call.request.orderId = 1'000'000 + events;
        for (int v = 1; v <= events; ++v) call.request.events.push_back(makeEvent(call.request.orderId, v));
        const auto start = Clock::now();
        appendAsync(a->log(), call);
        ASSERT_TRUE(waitUntil([&] { return call.answered(); }, std::chrono::seconds(1)));
        EXPECT_EQ(call.result.status.code, StatusCode::Unavailable) << call.result.status.message;
        EXPECT_LT(call.answeredAt - start, std::chrono::milliseconds(100));
    }
}

TEST_F(NatsSilent, ASilentServerEndsCallsWithTimeoutAndItsLateAcknowledgementsChangeNothing) {
    ASSERT_TRUE(appendAsyncAndWait(log(), nextEvent(*log().allocateOrderId(), 0)).status.isOk());
    auto calls = newOrders(allocate(log(), 20));
    nats.pause();  // connected, but nobody answers
    const auto start = Clock::now();
    for (auto& c : calls) appendAsync(log(), *c);
    ASSERT_TRUE(waitUntil([&] { return allAnswered(calls); }, std::chrono::seconds(3)))
        << "calls hung on a silent server";
    EXPECT_LT(Clock::now() - start, std::chrono::milliseconds(1500));
    for (const auto& c : calls) EXPECT_EQ(c->result.status.code, StatusCode::Timeout) << c->result.status.message;
    nats.resume();

    // The server stores what it had received and acknowledges it late: nobody is answered twice,
    // and retrying with the same event ids stores nothing a second time.
    ASSERT_TRUE(waitUntil([&] { return log().readOrder(calls.back()->request.orderId)->size() == 1; }, kWait));
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    for (const auto& c : calls) EXPECT_EQ(c->answers.load(), 1);
    for (const auto& c : calls) {
        c->request.events[0].position = 0;
        AppendResult retry = appendAsyncAndWait(log(), c->request);
        EXPECT_TRUE(retry.status.isOk()) << retry.status.message;
        EXPECT_EQ(log().readOrder(c->request.orderId)->size(), 1u);
    }
}

TEST_F(NatsSilent, StoppingWhileTheServerIsSilentEndsPendingCallsWithTimeout) {
    auto calls = newOrders(allocate(log(), 10));
    nats.pause();
    for (auto& c : calls) appendAsync(log(), *c);
    const auto start = Clock::now();
    log().stopAppends();
    EXPECT_LT(Clock::now() - start, std::chrono::milliseconds(1500));
    for (const auto& c : calls) {
        ASSERT_EQ(c->answers.load(), 1);
        EXPECT_EQ(c->result.status.code, StatusCode::Timeout) << c->result.status.message;
    }
}
