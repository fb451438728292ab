// The delivery rules of sdk::Reaction in the standalone engine: a failing event does not hold back
// other orders, one order's events come in version order one at a time, dead letters are listed
// and delivered again, the reaction's own policy and a failure's retryAfterMs apply, a restart
// loses nothing, and a receiver refusing everything does not make the node hold every event.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <set>
#include <thread>
#include <utility>

#include "LogFixture.h"
#include "ordersystem/testing/TestSupport.h"

namespace ordersystem::plugins::inmemory::test {
namespace {

using ordersystem::testing::waitUntil;
using Clock = std::chrono::steady_clock;
constexpr auto kWait = std::chrono::seconds(20);

/// Records every call as (orderId, version), counts calls of one order that overlap, answers as
/// decide says (default Ok).
class OrderReaction final : public Reaction {
public:
    struct Call {
        int64_t orderId;
        int64_t version;
        Clock::time_point at;
    };
    std::string_view reactionName() const noexcept override { return "test-reaction"; }
    DeliveryPolicy deliveryPolicy() const noexcept override { return policy; }
    Status handle(const EventRecord& event) noexcept override {
        int attempt;
        std::function<Status(const EventRecord&, int)> decideNow;
        {
            std::lock_guard<std::mutex> lock(_mutex);
            if (!_inside.insert(event.orderId).second) ++overlaps;
            calls.push_back(Call{event.orderId, event.version, Clock::now()});
            attempt = ++_attempts[event.eventId];
            decideNow = decide;
        }
        const Status answer = decideNow ? decideNow(event, attempt) : Status::ok();
        if (holdMs > 0) std::this_thread::sleep_for(std::chrono::milliseconds(holdMs));
        std::lock_guard<std::mutex> lock(_mutex);
        _inside.erase(event.orderId);
        if (answer) acked.emplace_back(event.orderId, event.version);
        return answer;
    }
    void setDecide(std::function<Status(const EventRecord&, int)> d) {
        std::lock_guard<std::mutex> lock(_mutex);
        decide = std::move(d);
    }
    bool isAcked(int64_t orderId, int64_t version) {
        std::lock_guard<std::mutex> lock(_mutex);
        return std::find(acked.begin(), acked.end(), std::make_pair(orderId, version)) != acked.end();
    }
    size_t ackedCount() {
        std::lock_guard<std::mutex> lock(_mutex);
        return acked.size();
    }
    std::vector<Call> callsOf(int64_t orderId) {
        std::lock_guard<std::mutex> lock(_mutex);
        std::vector<Call> out;
        for (const auto& c : calls)
            if (c.orderId == orderId) out.push_back(c);
        return out;
    }
    std::vector<int64_t> ackedVersionsOf(int64_t orderId) {
        std::lock_guard<std::mutex> lock(_mutex);
        std::vector<int64_t> out;
        for (const auto& [id, version] : acked)
            if (id == orderId) out.push_back(version);
        return out;
    }
    size_t distinctOrdersCalled() {
        std::lock_guard<std::mutex> lock(_mutex);
        std::set<int64_t> ids;
        for (const auto& c : calls) ids.insert(c.orderId);
        return ids.size();
    }

    DeliveryPolicy policy;
    int holdMs = 0;
    int overlaps = 0;
    std::vector<Call> calls;
    std::vector<std::pair<int64_t, int64_t>> acked;

private:
    std::function<Status(const EventRecord&, int)> decide;
    std::mutex _mutex;
    std::set<int64_t> _inside;
    std::map<std::string, int> _attempts;
};

Status refused(std::string message = "receiver answered 400") {
    return Status(StatusCode::Unavailable, std::move(message));
}

/// Appends the next event of orderId (its current version is `version`).
void appendNext(LogFixture& f, int64_t orderId, int64_t version) {
    auto req = makeAppend(orderId, version);
    ASSERT_TRUE(f.log().append(req).status.isOk());
}

std::string eventIdOf(LogFixture& f, int64_t orderId, int64_t version) {
    return f.log().readOrder(orderId).value().at(static_cast<size_t>(version - 1)).eventId;
}

TEST(InMemoryDeliveries, AnEventTheReceiverKeepsRefusingDoesNotHoldBackOtherOrdersAndItsOwnLaterEventsWait) {
    LogFixture f;
    f.start(
        {{"reaction_retry_initial_ms", "10"}, {"reaction_retry_max_ms", "30"}, {"reaction_max_deliveries", "1000"}});
    OrderReaction reaction;
    std::atomic<bool> receiverBack{false};
    const int64_t a = f.appendOrder(1);
    reaction.setDecide([&](const EventRecord& e, int) {
        return e.orderId == a && e.version == 1 && !receiverBack ? refused() : Status::ok();
    });
    auto sub = f.log().subscribe(reaction);
    ASSERT_TRUE(sub.isOk());
    appendNext(f, a, 1);  // waits behind a's first event
    const int64_t b = f.appendOrder(3);

    ASSERT_TRUE(waitUntil([&] { return reaction.ackedVersionsOf(b).size() == 3; }, kWait));
    EXPECT_FALSE(reaction.isAcked(a, 1));
    EXPECT_GE(reaction.callsOf(a).size(), 2u);  // retried meanwhile
    for (const auto& call : reaction.callsOf(a)) EXPECT_EQ(call.version, 1);
    EXPECT_TRUE(f.host().fakeLogger().contains("wait behind event " + eventIdOf(f, a, 1)));

    receiverBack = true;
    ASSERT_TRUE(waitUntil([&] { return reaction.ackedVersionsOf(a).size() == 2; }, kWait));
    f.log().unsubscribe(sub.value());
    EXPECT_EQ(reaction.ackedVersionsOf(a), (std::vector<int64_t>{1, 2}));
    EXPECT_EQ(reaction.overlaps, 0);
}

TEST(InMemoryDeliveries, EveryOrdersEventsArriveInVersionOrderOneAtATimeAlsoWhileSomeFail) {
    LogFixture f;
    f.start({{"reaction_retry_initial_ms", "2"}, {"reaction_retry_max_ms", "5"}, {"reaction_workers", "4"}});
    OrderReaction reaction;
    reaction.holdMs = 1;  // calls last long enough to overlap if the engine let them
    reaction.setDecide([](const EventRecord& e, int attempt) {
        return e.version == 2 && e.orderId % 2 == 0 && attempt <= 2 ? refused() : Status::ok();
    });
    auto sub = f.log().subscribe(reaction);
    ASSERT_TRUE(sub.isOk());
    constexpr int kOrders = 12;
    constexpr int kVersions = 5;
    std::vector<int64_t> ids;
    for (int i = 0; i < kOrders; ++i) ids.push_back(f.appendOrder(1));
    for (int64_t v = 1; v < kVersions; ++v)
        for (int64_t id : ids) appendNext(f, id, v);  // the orders' events interleave in the log

    ASSERT_TRUE(waitUntil([&] { return reaction.ackedCount() == kOrders * kVersions; }, kWait));
    f.log().unsubscribe(sub.value());
    EXPECT_EQ(reaction.overlaps, 0);
    for (int64_t id : ids) {
        EXPECT_EQ(reaction.ackedVersionsOf(id), (std::vector<int64_t>{1, 2, 3, 4, 5})) << "order " << id;
        std::vector<int64_t> versions;
        for (const auto& call : reaction.callsOf(id)) versions.push_back(call.version);
        const std::vector<int64_t> expected =
            id % 2 == 0 ? std::vector<int64_t>{1, 2, 2, 2, 3, 4, 5} : std::vector<int64_t>{1, 2, 3, 4, 5};
        EXPECT_EQ(versions, expected) << "order " << id;
    }
}

TEST(InMemoryDeliveries, AfterTheReactionsLastAttemptTheEventIsAListedDeadLetterAndTheOrdersNextEventFlows) {
    LogFixture f;
    f.start();  // the transport's 25 attempts: the reaction's own policy must win
    OrderReaction reaction;
    reaction.policy.maxAttempts = 3;
    reaction.policy.retryInitialMs = 20;
    reaction.policy.retryMaxMs = 40;
    const int64_t a = f.appendOrder(1);
    reaction.setDecide([&](const EventRecord& e, int) {
        return e.orderId == a && e.version == 1 ? refused("receiver answered 400") : Status::ok();
    });
    const int64_t startedMs = nowMs();
    auto sub = f.log().subscribe(reaction);
    ASSERT_TRUE(sub.isOk());
    appendNext(f, a, 1);

    ASSERT_TRUE(waitUntil([&] { return reaction.isAcked(a, 2); }, kWait));
    EXPECT_EQ(reaction.callsOf(a).size(), 4u);  // three of version 1, then version 2
    auto letters = f.log().deadLetters("test-reaction", 10);
    ASSERT_TRUE(letters.isOk()) << letters.status().message;
    ASSERT_EQ(letters.value().size(), 1u);
    const DeadLetter& letter = letters.value()[0];
    EXPECT_EQ(letter.event.eventId, eventIdOf(f, a, 1));
    EXPECT_EQ(letter.event.orderId, a);
    EXPECT_EQ(letter.event.version, 1);
    EXPECT_EQ(letter.event.position, 1u);
    EXPECT_EQ(letter.event.type, "OrderCreated");
    EXPECT_EQ(letter.attempts, 3);
    EXPECT_EQ(letter.lastError, "receiver answered 400");
    EXPECT_GE(letter.failedAtMs, startedMs);
    EXPECT_EQ(f.host().fakeMetrics().value("ordersystem_reaction_dead_letters_total", {{"reaction", "test-reaction"}}),
              1.0);
    EXPECT_TRUE(f.log().deadLetters("other-reaction", 10).value().empty());
    f.log().unsubscribe(sub.value());
    EXPECT_EQ(reaction.overlaps, 0);
}

TEST(InMemoryDeliveries, ADeadLetterRetriedStaysListedUntilADeliverySucceedsThenIsRemoved) {
    LogFixture f;
    f.start();
    OrderReaction reaction;
    reaction.policy = DeliveryPolicy{2, 20, 40};
    std::atomic<int> callNo{0};
    std::atomic<bool> inRetry{false};
    std::atomic<bool> proceed{false};
    // Calls 1-2 fail (its first life), call 3 (the retry's first attempt) fails once the test has
    // looked, call 4 succeeds.
    reaction.setDecide([&](const EventRecord&, int) {
        const int n = ++callNo;
        if (n == 3) {
            inRetry = true;
            waitUntil([&] { return proceed.load(); }, kWait, std::chrono::milliseconds(5));
        }
        return n <= 3 ? refused() : Status::ok();
    });
    auto sub = f.log().subscribe(reaction);
    ASSERT_TRUE(sub.isOk());
    const int64_t a = f.appendOrder(1);
    const std::string eventId = eventIdOf(f, a, 1);
    ASSERT_TRUE(waitUntil([&] { return f.log().deadLetters("test-reaction", 10).value().size() == 1; }, kWait));

    EXPECT_EQ(f.log().retryDeadLetter("test-reaction", "no-such-event").code, StatusCode::NotFound);
    EXPECT_EQ(f.log().retryDeadLetter("other-reaction", eventId).code, StatusCode::Unavailable);
    ASSERT_TRUE(f.log().retryDeadLetter("test-reaction", eventId).isOk());
    ASSERT_TRUE(waitUntil([&] { return inRetry.load(); }, kWait));
    auto during = f.log().deadLetters("test-reaction", 10);
    ASSERT_TRUE(during.isOk());
    ASSERT_EQ(during.value().size(), 1u);  // listed while it is being delivered again
    EXPECT_EQ(during.value()[0].attempts, 2);
    EXPECT_EQ(f.log().retryDeadLetter("test-reaction", eventId).code, StatusCode::Conflict);
    proceed = true;

    ASSERT_TRUE(waitUntil([&] { return reaction.isAcked(a, 1); }, kWait));
    ASSERT_TRUE(waitUntil([&] { return f.log().deadLetters("test-reaction", 10).value().empty(); }, kWait));
    EXPECT_EQ(f.log().retryDeadLetter("test-reaction", eventId).code, StatusCode::NotFound);
    EXPECT_EQ(callNo.load(), 4);
    f.log().unsubscribe(sub.value());
}

TEST(InMemoryDeliveries, ADeadLetterIsStillListedAfterARestartAlsoBeforeTheReactionSubscribes) {
    LogFixture f;
    f.start();
    OrderReaction reaction;
    reaction.policy = DeliveryPolicy{1, 10, 10};
    reaction.setDecide([](const EventRecord&, int) { return refused(); });
    auto sub = f.log().subscribe(reaction);
    ASSERT_TRUE(sub.isOk());
    const int64_t a = f.appendOrder(1);
    ASSERT_TRUE(waitUntil([&] { return f.log().deadLetters("test-reaction", 10).value().size() == 1; }, kWait));
    f.log().unsubscribe(sub.value());

    f.restart();
    auto letters = f.log().deadLetters("test-reaction", 10);
    ASSERT_TRUE(letters.isOk()) << letters.status().message;
    ASSERT_EQ(letters.value().size(), 1u);
    EXPECT_EQ(letters.value()[0].event.eventId, eventIdOf(f, a, 1));
    EXPECT_EQ(letters.value()[0].attempts, 1);
    EXPECT_EQ(f.log().retryDeadLetter("test-reaction", eventIdOf(f, a, 1)).code, StatusCode::Unavailable);
}

TEST(InMemoryDeliveries, AFailuresRetryAfterIsWaitedOutBeforeTheNextAttempt) {
    LogFixture f;
    f.start();
    OrderReaction reaction;
    reaction.policy = DeliveryPolicy{5, 1, 2};
    reaction.setDecide([](const EventRecord&, int attempt) {
        if (attempt > 1) return Status::ok();
        Status busy = refused("receiver answered 503");
        busy.retryAfterMs = 400;
        return busy;
    });
    auto sub = f.log().subscribe(reaction);
    ASSERT_TRUE(sub.isOk());
    const int64_t a = f.appendOrder(1);
    ASSERT_TRUE(waitUntil([&] { return reaction.isAcked(a, 1); }, kWait));
    f.log().unsubscribe(sub.value());
    const auto calls = reaction.callsOf(a);
    ASSERT_EQ(calls.size(), 2u);
    EXPECT_GE(calls[1].at - calls[0].at, std::chrono::milliseconds(400));
}

TEST(InMemoryDeliveries, AfterARestartEveryEventNotYetDoneIsDeliveredAgainAndNoneDoneIsRepeated) {
    LogFixture f;
    f.start(
        {{"reaction_retry_initial_ms", "10"}, {"reaction_retry_max_ms", "20"}, {"reaction_max_deliveries", "1000"}});
    const int64_t a = f.appendOrder(1);
    const int64_t b = f.appendOrder(1);
    {
        OrderReaction first;
        first.setDecide([&](const EventRecord& e, int) { return e.orderId == a ? refused() : Status::ok(); });
        auto sub = f.log().subscribe(first);
        ASSERT_TRUE(sub.isOk());
        ASSERT_TRUE(waitUntil([&] { return first.isAcked(b, 1) && first.callsOf(a).size() >= 2; }, kWait));
        f.log().unsubscribe(sub.value());
    }
    f.restart();
    OrderReaction second;
    auto sub = f.log().subscribe(second);
    ASSERT_TRUE(sub.isOk());
    const int64_t c = f.appendOrder(1);
    ASSERT_TRUE(waitUntil([&] { return second.isAcked(a, 1) && second.isAcked(c, 1); }, kWait));
    f.log().unsubscribe(sub.value());
    EXPECT_TRUE(second.callsOf(b).empty()) << "b was delivered behind the failing a before the restart";

    f.restart();  // everything done: the checkpoint is past all of it
    OrderReaction third;
    sub = f.log().subscribe(third);
    ASSERT_TRUE(sub.isOk());
    const int64_t d = f.appendOrder(1);
    ASSERT_TRUE(waitUntil([&] { return third.isAcked(d, 1); }, kWait));
    f.log().unsubscribe(sub.value());
    EXPECT_EQ(third.calls.size(), 1u);
}

TEST(InMemoryDeliveries, AReceiverRefusingEverythingDoesNotMakeTheNodeHoldMoreThanItsCap) {
    LogFixture f;
    f.start({{"reaction_retry_initial_ms", "5"},
             {"reaction_retry_max_ms", "10"},
             {"reaction_max_deliveries", "100000"},
             {"reaction_max_held", "16"}});
    OrderReaction reaction;
    std::atomic<bool> receiverBack{false};
    reaction.setDecide([&](const EventRecord&, int) { return receiverBack ? Status::ok() : refused(); });
    auto sub = f.log().subscribe(reaction);
    ASSERT_TRUE(sub.isOk());
    constexpr size_t kOrders = 100;
    for (size_t i = 0; i < kOrders; ++i) f.appendOrder(1);

    ASSERT_TRUE(waitUntil([&] { return reaction.distinctOrdersCalled() >= 16; }, kWait));
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // room for a wrong engine to read on
    EXPECT_EQ(reaction.distinctOrdersCalled(), 16u);
    EXPECT_TRUE(f.host().fakeLogger().contains("reading the log pauses"));

    receiverBack = true;
    ASSERT_TRUE(waitUntil([&] { return reaction.ackedCount() == kOrders; }, kWait));
    f.log().unsubscribe(sub.value());
}

}  // namespace
}  // namespace ordersystem::plugins::inmemory::test
