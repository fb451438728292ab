// The delivery rules of a reaction on Redis (sdk/eventlog.h, Reaction): a failing event holds back
// only its own order, one order's events come in version order one at a time across nodes, the
// policy decides when an event becomes a dead letter, dead letters are listed by every node and
// delivered again on request, and a node holds a bounded number of undelivered events.
#include <functional>
#include <thread>

#include "RedisTestNodes.h"

using namespace ordersystem::redistest;
using ordersystem::testing::TempDir;
using ordersystem::testing::waitUntil;

namespace {

/// Every handle() call, in the order they started, from all nodes.
struct Calls {
    std::mutex mutex;
    std::vector<std::pair<int64_t, int64_t>> started;  ///< (orderId, version)
    std::map<std::string, int> attempts;               ///< by eventId
    std::map<std::string, int> delivered;
    std::map<std::string, std::vector<std::chrono::steady_clock::time_point>> times;
    std::set<int64_t> busyOrders;  ///< orders with a handle() running
    int overlaps = 0;              ///< calls that started while another of their order ran
    int attemptsOf(const std::string& eventId) {
        std::lock_guard<std::mutex> lock(mutex);
        return attempts.count(eventId) ? attempts[eventId] : 0;
    }
    bool wasDelivered(const std::string& eventId) {
        std::lock_guard<std::mutex> lock(mutex);
        return delivered.count(eventId) > 0;
    }
};

/// A reaction whose answer per call is decided by the test (attempt counts this event's calls).
class ScriptedReaction final : public Reaction {
public:
    using Script = std::function<Status(const EventRecord&, int attempt)>;
    ScriptedReaction(Calls& calls, Script script, DeliveryPolicy policy = {})
        : _calls(calls), _script(std::move(script)), _policy(policy) {}
    std::string_view reactionName() const noexcept override { return "notifications"; }
    DeliveryPolicy deliveryPolicy() const noexcept override { return _policy; }
    Status handle(const EventRecord& event) noexcept override {
        int attempt = 0;
        {
            std::lock_guard<std::mutex> lock(_calls.mutex);
            _calls.started.emplace_back(event.orderId, event.version);
            if (!_calls.busyOrders.insert(event.orderId).second) ++_calls.overlaps;
            attempt = ++_calls.attempts[event.eventId];
            _calls.times[event.eventId].push_back(std::chrono::steady_clock::now());
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(2));  // room for an overlap to show
        Status st = _script(event, attempt);
        std::lock_guard<std::mutex> lock(_calls.mutex);
        _calls.busyOrders.erase(event.orderId);
        if (st) ++_calls.delivered[event.eventId];
        return st;
    }

private:
    Calls& _calls;
    Script _script;
    DeliveryPolicy _policy;
};

Status refused(const std::string& why = "webhook answered 400 (test)") { return Status(StatusCode::Unavailable, why); }

class RedisReactionDeliveries : public ::testing::Test {
protected:
    void SetUp() override {
        ASSERT_TRUE(SharedRedis::instance().ok()) << "redis-server could not be started (is it installed?)";
        url = SharedRedis::instance().url();
        prefix = uniquePrefix("dl");
    }
    void TearDown() override {
        if (!url.empty()) dropPrefix(url, prefix);
    }
    std::unique_ptr<TestNode> node(const std::string& id, const std::map<std::string, std::string>& extra = {}) {
        std::map<std::string, std::string> settings = {{"reaction_claim_idle_ms", "1000"}};
        for (const auto& kv : extra) settings[kv.first] = kv.second;
        return startNode(url, prefix, id, dir.path(), settings);
    }
    /// Appends the next version of an order; its eventId.
    static std::string appendVersion(EventLog& log, int64_t orderId, int64_t version) {
        AppendRequest req;
        req.orderId = orderId;
        req.expectedVersion = version - 1;
        req.events.push_back(makeEvent(orderId, version));
        AppendResult res = log.append(req);
        EXPECT_TRUE(res.status.isOk()) << res.status.message;
        return req.events[0].eventId;
    }
    TempDir dir;
    std::string url;
    std::string prefix;
};

/// Refuses every event of one order, accepts the others'.
ScriptedReaction::Script refusingOrder(int64_t orderId) {
    return [orderId](const EventRecord& e, int) { return e.orderId == orderId ? refused() : Status::ok(); };
}

DeliveryPolicy fastPolicy(int64_t maxAttempts) { return DeliveryPolicy{maxAttempts, 20, 40}; }

}  // namespace

TEST_F(RedisReactionDeliveries, AFailingEventOfOneOrderDoesNotHoldBackTheEventsOfOtherOrders) {
    auto a = node("node-a");
    ASSERT_TRUE(a);
    Calls calls;
    ScriptedReaction r(calls, refusingOrder(1), DeliveryPolicy{1000, 50, 100});
    StopOnExit stop{a};
    auto s = a->log().subscribe(r);
    ASSERT_TRUE(s.isOk());
    const std::string failing = appendVersion(a->log(), 1, 1);
    ASSERT_TRUE(waitUntil([&] { return calls.attemptsOf(failing) >= 2; }, std::chrono::seconds(10)));
    std::vector<std::string> others;
    for (int64_t order = 2; order <= 6; ++order) others.push_back(appendVersion(a->log(), order, 1));
    others.push_back(appendVersion(a->log(), 2, 2));
    EXPECT_TRUE(waitUntil(
        [&] {
            for (const auto& id : others)
                if (!calls.wasDelivered(id)) return false;
            return true;
        },
        std::chrono::seconds(10)));
    EXPECT_FALSE(calls.wasDelivered(failing)) << "order 1's event is still being retried";
    a->log().unsubscribe(s.value());
}

TEST_F(RedisReactionDeliveries, OneOrdersEventsReachHandleInVersionOrderOneAtATimeAcrossTwoNodes) {
    auto a = node("node-a"), b = node("node-b");
    ASSERT_TRUE(a && b);
    Calls calls;
    // Every third event fails twice first; waiting behind it must not count as an attempt.
    auto script = [](const EventRecord& e, int attempt) {
        return (e.orderId + e.version) % 3 == 0 && attempt <= 2 ? refused() : Status::ok();
    };
    ScriptedReaction ra(calls, script, fastPolicy(3)), rb(calls, script, fastPolicy(3));
    StopOnExit stop_a{a};
    StopOnExit stop_b{b};
    auto sa = a->log().subscribe(ra);
    auto sb = b->log().subscribe(rb);
    ASSERT_TRUE(sa.isOk() && sb.isOk());
    constexpr int kOrders = 8, kVersions = 5;
    for (int64_t v = 1; v <= kVersions; ++v)
        for (int64_t order = 1; order <= kOrders; ++order) appendVersion(v % 2 ? a->log() : b->log(), order, v);
    ASSERT_TRUE(waitUntil(
        [&] {
            std::lock_guard<std::mutex> lock(calls.mutex);
            return calls.delivered.size() == size_t{kOrders * kVersions};
        },
        std::chrono::seconds(30)));
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // room for a stray call to show up
    std::lock_guard<std::mutex> lock(calls.mutex);
    EXPECT_EQ(calls.overlaps, 0) << "two calls of one order ran at once";
    std::map<int64_t, int64_t> last;
    for (const auto& [order, version] : calls.started) {
        EXPECT_TRUE(version == last[order] || version == last[order] + 1)
            << "order " << order << ": version " << version << " after " << last[order];
        last[order] = version;
    }
    for (const auto& [eventId, n] : calls.delivered) EXPECT_EQ(n, 1) << eventId;
    auto listed = a->log().deadLetters("notifications", 100);
    ASSERT_TRUE(listed.isOk());
    EXPECT_TRUE(listed.value().empty()) << "waiting is never an attempt: nothing gave up";
    a->log().unsubscribe(sa.value());
    b->log().unsubscribe(sb.value());
}

TEST_F(RedisReactionDeliveries, AfterThePolicysLastAttemptTheEventIsADeadLetterOnEveryNodeAndItsOrderMovesOn) {
    // The node's own defaults (25 attempts, 1 s) lose to the reaction's policy (3 attempts, 20 ms).
    auto a = node("node-a"), b = node("node-b");
    ASSERT_TRUE(a && b);
    Calls calls;
    ScriptedReaction r(
        calls, [](const EventRecord& e, int) { return e.version == 1 ? refused() : Status::ok(); }, fastPolicy(3));
    StopOnExit stop{a};
    StopOnExit stop_b{b};
    auto s = a->log().subscribe(r);
    ASSERT_TRUE(s.isOk());
    const std::string first = appendVersion(a->log(), 7, 1);
    const std::string second = appendVersion(a->log(), 7, 2);
    ASSERT_TRUE(waitUntil([&] { return calls.wasDelivered(second); }, std::chrono::seconds(10)));
    EXPECT_EQ(calls.attemptsOf(first), 3);
    for (auto* n : {a.get(), b.get()}) {
        auto listed = n->log().deadLetters("notifications", 10);
        ASSERT_TRUE(listed.isOk()) << listed.status().message;
        ASSERT_EQ(listed.value().size(), 1u);
        const DeadLetter& letter = listed.value().front();
        EXPECT_EQ(letter.event.eventId, first);
        EXPECT_EQ(letter.event.orderId, 7);
        EXPECT_EQ(letter.event.version, 1);
        EXPECT_GT(letter.event.position, 0u);
        EXPECT_EQ(letter.attempts, 3);
        EXPECT_EQ(letter.lastError, "webhook answered 400 (test)");
        EXPECT_GT(letter.failedAtMs, 0);
    }
    EXPECT_TRUE(a->host->fakeLogger().contains("gave up on event " + first));
    auto raw = rawConnection(url);
    ASSERT_TRUE(raw);
    EXPECT_EQ(rawCommand(*raw, {"XPENDING", prefix + ":log", "notifications"}).substr(0, 1), "0") << "acked";
    a->log().unsubscribe(s.value());
}

TEST_F(RedisReactionDeliveries, ADeadLetterRetriedStaysListedWhileItFailsAndIsRemovedOnceDelivered) {
    auto a = node("node-a");
    ASSERT_TRUE(a);
    Calls calls;
    std::atomic<bool> receiverBack{false};
    std::atomic<int> listedWhileRetried{0};
    EventLog* log = &a->log();
    ScriptedReaction r(
        calls,
        [&](const EventRecord& e, int attempt) {
            if (!receiverBack) return refused();
            if (attempt == 3) {  // the first attempt of the retry: fails once more, while still listed
                auto listed = log->deadLetters("notifications", 10);
                if (listed && listed.value().size() == 1 && listed.value()[0].event.eventId == e.eventId)
                    ++listedWhileRetried;
                return refused();
            }
            return Status::ok();
        },
        fastPolicy(2));
    StopOnExit stop{a};
    auto s = a->log().subscribe(r);
    ASSERT_TRUE(s.isOk());
    const std::string eventId = appendVersion(a->log(), 3, 1);
    ASSERT_TRUE(waitUntil(
        [&] {
            auto listed = a->log().deadLetters("notifications", 10);
            return listed && listed.value().size() == 1;
        },
        std::chrono::seconds(10)));
    EXPECT_EQ(a->log().retryDeadLetter("notifications", "no-such-event").code, StatusCode::NotFound);
    receiverBack = true;
    ASSERT_TRUE(a->log().retryDeadLetter("notifications", eventId).isOk());
    ASSERT_TRUE(waitUntil([&] { return calls.wasDelivered(eventId); }, std::chrono::seconds(10)));
    EXPECT_EQ(calls.attemptsOf(eventId), 4);
    EXPECT_EQ(listedWhileRetried.load(), 1);
    EXPECT_TRUE(waitUntil(
        [&] {
            auto listed = a->log().deadLetters("notifications", 10);
            return listed && listed.value().empty();
        },
        std::chrono::seconds(5)));
    EXPECT_EQ(a->log().retryDeadLetter("notifications", eventId).code, StatusCode::NotFound);
    a->log().unsubscribe(s.value());
}

TEST_F(RedisReactionDeliveries, AFailuresRetryAfterIsWaitedOutBeforeTheNextAttempt) {
    auto a = node("node-a");
    ASSERT_TRUE(a);
    Calls calls;
    ScriptedReaction r(
        calls,
        [](const EventRecord&, int attempt) {
            if (attempt > 1) return Status::ok();
            Status busy = refused("webhook answered 503 (test)");
            busy.retryAfterMs = 700;
            return busy;
        },
        fastPolicy(5));
    StopOnExit stop{a};
    auto s = a->log().subscribe(r);
    ASSERT_TRUE(s.isOk());
    const std::string eventId = appendVersion(a->log(), 4, 1);
    ASSERT_TRUE(waitUntil([&] { return calls.wasDelivered(eventId); }, std::chrono::seconds(10)));
    std::lock_guard<std::mutex> lock(calls.mutex);
    ASSERT_EQ(calls.times[eventId].size(), 2u);
    EXPECT_GE(calls.times[eventId][1] - calls.times[eventId][0], std::chrono::milliseconds(690))
        << "the second attempt came before the receiver's Retry-After";
    a->log().unsubscribe(s.value());
}

TEST_F(RedisReactionDeliveries, AfterARestartEveryEventIsStillHandledAndNoneAcknowledgedIsHandledAgain) {
    Calls calls;
    std::vector<std::string> others;
    std::string failing;
    {
        auto a = node("node-a");
        ASSERT_TRUE(a);
        ScriptedReaction r(calls, refusingOrder(1), DeliveryPolicy{1000, 50, 100});
        StopOnExit stop{a};
        auto s = a->log().subscribe(r);
        ASSERT_TRUE(s.isOk());
        failing = appendVersion(a->log(), 1, 1);
        for (int64_t order = 2; order <= 5; ++order) others.push_back(appendVersion(a->log(), order, 1));
        ASSERT_TRUE(waitUntil([&] { return calls.wasDelivered(others.back()); }, std::chrono::seconds(10)));
        a->log().unsubscribe(s.value());
    }
    auto again = node("node-a");
    ASSERT_TRUE(again);
    ScriptedReaction r(
        calls, [](const EventRecord&, int) { return Status::ok(); }, DeliveryPolicy{1000, 50, 100});
    StopOnExit stop{again};
    auto s = again->log().subscribe(r);
    ASSERT_TRUE(s.isOk());
    EXPECT_TRUE(waitUntil([&] { return calls.wasDelivered(failing); }, std::chrono::seconds(10)));
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    for (const auto& id : others) EXPECT_EQ(calls.attemptsOf(id), 1) << id;
    again->log().unsubscribe(s.value());
}

TEST_F(RedisReactionDeliveries, AnOrderWhoseEarlierEventsWereHandledBeforeTheProgressWasKeptIsNotHeldBack) {
    auto a = node("node-a");
    ASSERT_TRUE(a);
    appendVersion(a->log(), 9, 1);
    const std::string second = appendVersion(a->log(), 9, 2);
    const std::string third = appendVersion(a->log(), 9, 3);
    auto raw = rawConnection(url);
    ASSERT_TRUE(raw);
    // As an older node left it: versions 1 and 2 read and acknowledged, no progress hash; version 3 new.
    const std::string afterSecond = std::to_string(a->log().readOrder(9).value()[1].position) + "-0";
    ASSERT_EQ(rawCommand(*raw, {"XGROUP", "CREATE", prefix + ":log", "notifications", afterSecond}), "OK");
    Calls calls;
    ScriptedReaction r(calls, [](const EventRecord&, int) { return Status::ok(); });
    StopOnExit stop{a};
    auto s = a->log().subscribe(r);
    ASSERT_TRUE(s.isOk());
    EXPECT_TRUE(waitUntil([&] { return calls.wasDelivered(third); }, std::chrono::seconds(10)));
    EXPECT_EQ(calls.attemptsOf(second), 0);
    a->log().unsubscribe(s.value());
}

TEST_F(RedisReactionDeliveries, AnOrdersProgressExpiresWithItsMarkersAndTheOrdersNextEventStillGoesOnce) {
    auto raw = rawConnection(url);
    ASSERT_TRUE(raw);
    // What an earlier version kept forever: one hash with every order's progress.
    ASSERT_EQ(rawCommand(*raw, {"HSET", prefix + ":reaction:notifications:progress", "1", "1"}), "1");
    auto a = node("node-a");
    ASSERT_TRUE(a);
    Calls calls;
    ScriptedReaction r(calls, [](const EventRecord&, int) { return Status::ok(); });
    StopOnExit stop{a};
    auto s = a->log().subscribe(r);
    ASSERT_TRUE(s.isOk());
    const std::string first = appendVersion(a->log(), 12, 1);
    ASSERT_TRUE(waitUntil([&] { return calls.wasDelivered(first); }, std::chrono::seconds(10)));
    const std::string progress = prefix + ":reaction:notifications:progress:12";
    EXPECT_TRUE(waitUntil([&] { return rawCommand(*raw, {"GET", progress}) == "1"; }, std::chrono::seconds(5)));
    const long long ttl = std::stoll(rawCommand(*raw, {"TTL", progress}));
    EXPECT_GT(ttl, 0) << "a progress that never expires grows with every order";
    EXPECT_LE(ttl, 86400);
    EXPECT_EQ(rawCommand(*raw, {"EXISTS", prefix + ":reaction:notifications:progress"}), "0")
        << "the old hash is freed at start";
    // As expiry leaves it: no progress and no delivered marker for version 1.
    ASSERT_EQ(rawCommand(*raw, {"DEL", progress, prefix + ":reaction:notifications:done:" + first}), "2");
    const std::string second = appendVersion(a->log(), 12, 2);
    EXPECT_TRUE(waitUntil([&] { return calls.wasDelivered(second); }, std::chrono::seconds(10)));
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    EXPECT_EQ(calls.attemptsOf(first), 1);
    EXPECT_EQ(calls.attemptsOf(second), 1);
    a->log().unsubscribe(s.value());
}

TEST_F(RedisReactionDeliveries, AReceiverRefusingEverythingDoesNotMakeANodeHoldEveryEvent) {
    auto a = node("node-a", {{"reaction_workers", "1"}});
    ASSERT_TRUE(a);
    constexpr int kEvents = 4600;
    for (int64_t order = 1; order <= kEvents; ++order) appendVersion(a->log(), order, 1);
    Calls calls;
    ScriptedReaction r(
        calls, [](const EventRecord&, int) { return refused(); }, DeliveryPolicy{1000, 5000, 10000});
    StopOnExit stop{a};
    auto s = a->log().subscribe(r);
    ASSERT_TRUE(s.isOk());
    ASSERT_TRUE(waitUntil([&] { return a->host->fakeLogger().contains("reading new events pauses"); },
                          std::chrono::seconds(60)));
    auto raw = rawConnection(url);
    ASSERT_TRUE(raw);
    const std::string pending = rawCommand(*raw, {"XPENDING", prefix + ":log", "notifications"});
    const long long held = std::atoll(pending.c_str());
    EXPECT_LE(held, 4000) << pending;
    EXPECT_GE(held, 3990) << pending;
    a->log().unsubscribe(s.value());
}
