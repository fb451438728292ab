// The delivery rules of sdk::Reaction on JetStream, with one or more nodes on one nats-server: a
// failing event holds back only its own order, one order's events reach handle() in version order
// one at a time cluster-wide, dead letters are listed by every node and delivered again on request,
// the reaction's own policy and a receiver's Retry-After are kept, and what the server holds out
// at once is bounded.
#include "NatsTestNodes.h"
#include "ReactionWorker.h"

using namespace ordersystem::natstest;

namespace {

constexpr auto kWait = std::chrono::seconds(30);
using Clock = std::chrono::steady_clock;

/// Every handle() call of one reaction on every node, and whether two calls of one order overlapped.
class Ledger {
public:
    struct Call {
        int64_t orderId;
        int64_t version;
        std::string eventId;
        bool ok;
        Clock::time_point at;  ///< when handle() was entered
    };
    Status run(const EventRecord& e, const std::function<Status(const EventRecord&)>& decide) {
        const Clock::time_point at = Clock::now();
        {
            std::lock_guard<std::mutex> lock(_mutex);
            if (!_inFlight.insert(e.orderId).second) _overlapped = true;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(2));  // widens the window an overlap would need
        const Status st = decide ? decide(e) : Status::ok();
        std::lock_guard<std::mutex> lock(_mutex);
        _inFlight.erase(e.orderId);
        _calls.push_back({e.orderId, e.version, e.eventId, st.isOk(), at});
        return st;
    }
    std::vector<Call> calls() const {
        std::lock_guard<std::mutex> lock(_mutex);
        return _calls;
    }
    std::vector<Call> of(int64_t orderId) const {
        std::vector<Call> out;
        for (const Call& c : calls())
            if (c.orderId == orderId) out.push_back(c);
        return out;
    }
    size_t successes() const {
        size_t n = 0;
        for (const Call& c : calls()) n += c.ok ? 1 : 0;
        return n;
    }
    size_t callsOf(const std::string& eventId) const {
        size_t n = 0;
        for (const Call& c : calls()) n += c.eventId == eventId ? 1 : 0;
        return n;
    }
    bool handled(const std::string& eventId) const {
        for (const Call& c : calls())
            if (c.ok && c.eventId == eventId) return true;
        return false;
    }
    bool overlapped() const {
        std::lock_guard<std::mutex> lock(_mutex);
        return _overlapped;
    }

private:
    mutable std::mutex _mutex;
    std::vector<Call> _calls;
    std::set<int64_t> _inFlight;
    bool _overlapped = false;
};

/// A reaction with its own delivery policy, writing to a ledger shared by the nodes.
class LedgerReaction final : public Reaction {
public:
    LedgerReaction(Ledger& ledger, std::function<Status(const EventRecord&)> decide, DeliveryPolicy policy)
        : _ledger(ledger), _decide(std::move(decide)), _policy(policy) {}
    std::string_view reactionName() const noexcept override { return "notifications"; }
    Status handle(const EventRecord& event) noexcept override { return _ledger.run(event, _decide); }
    DeliveryPolicy deliveryPolicy() const noexcept override { return _policy; }

private:
    Ledger& _ledger;
    std::function<Status(const EventRecord&)> _decide;
    DeliveryPolicy _policy;
};

class NatsReactionDeliveries : public NatsNodesTest {
protected:
    /// Appends versions 1..versions of each order, round-robin over the orders, through log.
    std::map<std::pair<int64_t, int64_t>, std::string> appendOrders(NatsEventLog& log, int64_t firstOrder,
                                                                    int64_t orders, int64_t versions) {
        std::map<std::pair<int64_t, int64_t>, std::string> ids;
        for (int64_t v = 1; v <= versions; ++v)
            for (int64_t o = firstOrder; o < firstOrder + orders; ++o) {
                AppendRequest req = nextEvent(o, v - 1);
                ids[{o, v}] = req.events[0].eventId;
                EXPECT_TRUE(log.append(req).status.isOk());
            }
        return ids;
    }
};

/// Counts calls per eventId so a decide function can fail an event a number of times.
class FailCounts {
public:
    bool failAgain(const std::string& eventId, int times) {
        std::lock_guard<std::mutex> lock(_mutex);
        return _seen[eventId]++ < times;
    }

private:
    std::mutex _mutex;
    std::map<std::string, int> _seen;
};

const Status kRefused(StatusCode::Unavailable, "webhook answered 400 (test)");

}  // namespace

TEST_F(NatsReactionDeliveries, AFailingEventHoldsBackOnlyItsOwnOrderWhileOtherOrdersFlow) {
    auto a = node("node-a", {{"reaction_workers", "2"}});
    ASSERT_TRUE(a);
    Ledger ledger;
    auto ids = appendOrders(a->log(), 1, 1, 2);  // order 1: versions 1 and 2
    const std::string stuck = ids.at({1, 1});
    std::atomic<bool> othersDone{false};
    // Order 1's first event is refused until the other orders' events were all handled.
    LedgerReaction reaction(
        ledger, [&](const EventRecord& e) { return e.eventId == stuck && !othersDone ? kRefused : Status::ok(); },
        {200, 20, 50});
    auto sub = a->log().subscribe(reaction);
    ASSERT_TRUE(sub.isOk()) << sub.status().message;
    ASSERT_TRUE(waitUntil([&] { return ledger.callsOf(stuck) >= 1; }, kWait));
    auto others = appendOrders(a->log(), 2, 5, 2);  // created after order 1 started failing
    ASSERT_TRUE(waitUntil(
        [&] {
            for (const auto& [key, id] : others)
                if (!ledger.handled(id)) return false;
            return true;
        },
        kWait))
        << "other orders were held back by order 1's failing event";
    EXPECT_FALSE(ledger.handled(stuck));
    EXPECT_FALSE(ledger.handled(ids.at({1, 2}))) << "order 1's second event overtook its first";
    othersDone = true;
    ASSERT_TRUE(waitUntil([&] { return ledger.handled(ids.at({1, 2})); }, kWait));
    a->log().unsubscribe(*sub);
    const auto order1 = ledger.of(1);
    EXPECT_GE(order1.size(), 3u);
    EXPECT_EQ(order1.back().version, 2);
    EXPECT_EQ(ledger.callsOf(ids.at({1, 2})), 1u);
}

TEST_F(NatsReactionDeliveries, EventsOfOneOrderReachTheReactionInVersionOrderOneAtATimeAcrossTwoNodes) {
    const std::map<std::string, std::string> ini = {{"reaction_workers", "3"}};
    auto a = node("node-a", ini), b = node("node-b", ini);
    ASSERT_TRUE(a && b);
    Ledger ledger;
    FailCounts failures;
    // Version 2 of every even order fails twice, version 4 of order 3 once.
    auto decide = [&](const EventRecord& e) {
        const int times = (e.version == 2 && e.orderId % 2 == 0) ? 2 : (e.orderId == 3 && e.version == 4) ? 1 : 0;
        return failures.failAgain(e.eventId, times) ? kRefused : Status::ok();
    };
    LedgerReaction ra(ledger, decide, {10, 20, 40}), rb(ledger, decide, {10, 20, 40});
    auto sa = a->log().subscribe(ra), sb = b->log().subscribe(rb);
    ASSERT_TRUE(sa.isOk() && sb.isOk()) << sa.status().message;
    const int64_t orders = 8, versions = 5;
    appendOrders(a->log(), 1, orders / 2, versions);
    appendOrders(b->log(), 1 + orders / 2, orders / 2, versions);
    ASSERT_TRUE(waitUntil([&] { return ledger.successes() >= orders * versions; }, kWait)) << ledger.successes();
    std::this_thread::sleep_for(std::chrono::milliseconds(500));  // room for a wrong extra delivery
    a->log().unsubscribe(*sa);
    b->log().unsubscribe(*sb);

    EXPECT_FALSE(ledger.overlapped()) << "two calls of one order ran at the same time";
    for (int64_t o = 1; o <= orders; ++o) {
        std::vector<int64_t> handled;
        int64_t last = 0;
        for (const auto& c : ledger.of(o)) {
            EXPECT_GE(c.version, last) << "order " << o << ": version " << c.version << " after " << last;
            last = c.version;
            if (c.ok) handled.push_back(c.version);
        }
        EXPECT_EQ(handled, (std::vector<int64_t>{1, 2, 3, 4, 5})) << "order " << o;
        const size_t expectedCalls = versions + (o % 2 == 0 ? 2 : 0) + (o == 3 ? 1 : 0);
        EXPECT_EQ(ledger.of(o).size(), expectedCalls) << "order " << o << ": waiting must not be an attempt";
    }
}

TEST_F(NatsReactionDeliveries, AnEventRefusedOnEveryAttemptIsADeadLetterOnEveryNodeAndItsOrderMovesOn) {
    auto a = node("node-a"), b = node("node-b"), c = node("node-c");
    ASSERT_TRUE(a && b && c);
    Ledger ledger;
    std::atomic<int> mode{0};  // 0: refuse order 1 version 1; 1: accept it, but only once released
    std::atomic<bool> release{false}, retrying{false};
    struct Release {
        std::atomic<bool>& flag;
        ~Release() { flag = true; }  // a failed assertion must not leave a handle() blocked
    } releaseOnExit{release};
    std::string badId;
    auto decide = [&](const EventRecord& e) {
        if (e.eventId != badId) return Status::ok();
        if (mode == 0) return Status(StatusCode::Unavailable, "webhook answered 410 (test)");
        retrying = true;
        while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(5));
        return Status::ok();
    };
    LedgerReaction ra(ledger, decide, {3, 20, 20}), rb(ledger, decide, {3, 20, 20});
    AppendRequest first = nextEvent(1, 0);
    badId = first.events[0].eventId;
    auto sa = a->log().subscribe(ra), sb = b->log().subscribe(rb);
    ASSERT_TRUE(sa.isOk() && sb.isOk());
    const int64_t before = nowMs();
    ASSERT_TRUE(a->log().append(first).status.isOk());
    AppendRequest second = nextEvent(1, 1);
    ASSERT_TRUE(b->log().append(second).status.isOk());
    ASSERT_TRUE(waitUntil([&] { return ledger.handled(second.events[0].eventId); }, kWait))
        << "the order's next event did not flow after the dead letter";
    EXPECT_EQ(ledger.callsOf(badId), 3u);

    for (TestNode* n : {a.get(), b.get(), c.get()}) {  // c runs no reaction and lists it too
        auto listed = n->log().deadLetters("notifications", 100);
        ASSERT_TRUE(listed.isOk()) << listed.status().message;
        ASSERT_EQ(listed->size(), 1u) << n->host->node().nodeId;
        const DeadLetter& dl = listed->front();
        EXPECT_EQ(dl.event.eventId, badId);
        EXPECT_EQ(dl.event.orderId, 1);
        EXPECT_EQ(dl.event.version, 1);
        EXPECT_EQ(dl.event.position, first.events[0].position);
        EXPECT_EQ(dl.attempts, 3);
        EXPECT_EQ(dl.lastError, "webhook answered 410 (test)");
        EXPECT_GE(dl.failedAtMs, before);
        EXPECT_LE(dl.failedAtMs, nowMs());
    }
    EXPECT_TRUE(a->log().deadLetters("another-reaction", 100)->empty());
    EXPECT_EQ(b->log().retryDeadLetter("notifications", "no-such-event").code, StatusCode::NotFound);
    EXPECT_EQ(c->log().retryDeadLetter("notifications", badId).code, StatusCode::Unavailable);

    mode = 1;
    ASSERT_TRUE(b->log().retryDeadLetter("notifications", badId).isOk());
    ASSERT_TRUE(waitUntil([&] { return retrying.load(); }, kWait));
    // While it is being delivered again it stays listed, and a second retry is refused.
    EXPECT_EQ(a->log().deadLetters("notifications", 100)->size(), 1u);
    EXPECT_EQ(b->log().retryDeadLetter("notifications", badId).code, StatusCode::Conflict);
    release = true;
    ASSERT_TRUE(waitUntil([&] { return a->log().deadLetters("notifications", 100)->empty(); }, kWait));
    EXPECT_TRUE(ledger.handled(badId));
    EXPECT_TRUE(c->log().deadLetters("notifications", 100)->empty());
    a->log().unsubscribe(*sa);
    b->log().unsubscribe(*sb);
}

TEST_F(NatsReactionDeliveries, TheReactionsOwnPolicyDecidesTheAttemptsAndARetryAfterIsWaitedOut) {
    // The node's own settings would allow 25 deliveries 500 ms apart.
    auto a = node("node-a", {{"reaction_max_deliveries", "25"}, {"reaction_retry_base_ms", "500"}});
    ASSERT_TRUE(a);
    Ledger ledger;
    FailCounts failures;
    std::string hopeless, later;
    auto decide = [&](const EventRecord& e) {
        if (e.eventId == hopeless) return kRefused;
        if (e.eventId == later && failures.failAgain(e.eventId, 1)) {
            Status busy(StatusCode::Unavailable, "webhook answered 503 (test)");
            busy.retryAfterMs = 1500;
            return busy;
        }
        return Status::ok();
    };
    LedgerReaction reaction(ledger, decide, {3, 20, 20});
    auto sub = a->log().subscribe(reaction);
    ASSERT_TRUE(sub.isOk());
    AppendRequest h = nextEvent(1, 0), l = nextEvent(2, 0);
    hopeless = h.events[0].eventId;
    later = l.events[0].eventId;
    ASSERT_TRUE(a->log().append(h).status.isOk());
    ASSERT_TRUE(a->log().append(l).status.isOk());
    const Labels labels = {{"reaction", "notifications"}};
    auto& metrics = a->host->fakeMetrics();
    ASSERT_TRUE(
        waitUntil([&] { return metrics.value("ordersystem_reaction_dead_letters_total", labels) >= 1; }, kWait));
    ASSERT_TRUE(waitUntil([&] { return ledger.handled(later); }, kWait));
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // a wrong fourth attempt would show now
    a->log().unsubscribe(*sub);
    EXPECT_EQ(ledger.callsOf(hopeless), 3u);
    const auto calls = ledger.of(2);
    ASSERT_EQ(calls.size(), 2u);
    EXPECT_GE(calls[1].at - calls[0].at, std::chrono::milliseconds(1400)) << "the Retry-After was not waited out";
}

TEST_F(NatsReactionDeliveries, AnOrderWhoseNodeDiedMidDeliveryContinuesInOrderOnAnotherNode) {
    const std::map<std::string, std::string> fast = {{"reaction_ack_wait_ms", "1000"}, {"reaction_workers", "1"}};
    auto a = node("node-a", fast), b = node("node-b", fast);
    ASSERT_TRUE(a && b);
    Ledger survivor;
    std::atomic<int> hungCalls{0};
    // Node a takes the first event and never answers in time (a frozen process).
    RecordingReaction frozen("notifications", [&](const EventRecord&) {
        ++hungCalls;
        std::this_thread::sleep_for(std::chrono::milliseconds(5000));
        return Status(StatusCode::Unavailable, "hung (test)");
    });
    LedgerReaction healthy(survivor, nullptr, {});
    auto sa = a->log().subscribe(frozen);
    ASSERT_TRUE(sa.isOk());
    auto ids = appendOrders(a->log(), 1, 1, 3);
    ASSERT_TRUE(waitUntil([&] { return hungCalls >= 1; }, kWait));
    auto sb = b->log().subscribe(healthy);
    ASSERT_TRUE(sb.isOk());
    ASSERT_TRUE(waitUntil([&] { return survivor.successes() >= 3; }, kWait)) << survivor.successes();
    a->log().unsubscribe(*sa);  // its late failure must not bring the event back
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    b->log().unsubscribe(*sb);
    const auto calls = survivor.of(1);
    ASSERT_EQ(calls.size(), 3u);
    for (int64_t v = 1; v <= 3; ++v) EXPECT_EQ(calls[v - 1].eventId, ids.at({1, v}));
    EXPECT_EQ(hungCalls.load(), 1);
}

TEST_F(NatsReactionDeliveries, AnOrderFromBeforeProgressWasKeptContinuesAfterItsHandledEvent) {
    auto a = node("node-a");
    ASSERT_TRUE(a);
    Ledger ledger;
    LedgerReaction reaction(ledger, nullptr, {});
    auto sub = a->log().subscribe(reaction);
    ASSERT_TRUE(sub.isOk());
    appendNew(a->log(), 7);
    ASSERT_TRUE(waitUntil([&] { return ledger.successes() >= 1; }, kWait));
    a->log().unsubscribe(*sub);
    {  // what a node of the version before left: the event in the done-bucket, no progress for the order
        RawNats raw(env.url);
        kvStore* kv = nullptr;
        ASSERT_EQ(js_KeyValue(&kv, raw.js(), (env.names.at("stream") + "_REACTIONS_PROGRESS").c_str()), NATS_OK);
        ASSERT_EQ(kvStore_Purge(kv, "notifications.7", nullptr), NATS_OK);
        kvStore_Destroy(kv);
    }
    ASSERT_TRUE(appendNext(a->log(), 7, 1).status.isOk());
    sub = a->log().subscribe(reaction);
    ASSERT_TRUE(sub.isOk());
    ASSERT_TRUE(waitUntil([&] { return ledger.successes() >= 2; }, kWait)) << "version 2 kept waiting";
    a->log().unsubscribe(*sub);
    EXPECT_EQ(ledger.of(7).back().version, 2);
    EXPECT_EQ(ledger.calls().size(), 2u);
}

TEST_F(NatsReactionDeliveries, AnOrdersProgressExpiresAndABucketLeftWithoutATtlGetsOne) {
    auto a = node("node-a");
    ASSERT_TRUE(a);
    const std::string bucket = env.names.at("stream") + "_REACTIONS_PROGRESS";
    RawNats raw(env.url);
    (void)js_DeleteKeyValue(raw.js(), bucket.c_str());
    ASSERT_EQ(raw.createBucket(bucket), NATS_OK);  // as an earlier version created it: entries never expire
    Ledger ledger;
    LedgerReaction reaction(ledger, nullptr, {});
    auto sub = a->log().subscribe(reaction);
    ASSERT_TRUE(sub.isOk());
    appendNew(a->log(), 8);
    ASSERT_TRUE(waitUntil([&] { return ledger.successes() >= 1; }, kWait));
    a->log().unsubscribe(*sub);
    jsStreamInfo* info = nullptr;
    ASSERT_EQ(js_GetStreamInfo(&info, raw.js(), ("KV_" + bucket).c_str(), nullptr, nullptr), NATS_OK);
    EXPECT_EQ(info->Config->MaxAge, int64_t{24} * 3600 * 1000 * 1000 * 1000)
        << "a progress key per order that never expires grows with every order";
    EXPECT_EQ(info->State.Msgs, 1u) << "the order's progress is in it";
    jsStreamInfo_Destroy(info);
}

TEST_F(NatsReactionDeliveries, TheServerHoldsABoundedNumberOfEventsOutAndNeverStopsOfferingOneThatWaits) {
    // A durable made by the version before: few deliveries, small pending window.
    RawNats raw(env.url);
    auto a = node("node-a");
    ASSERT_TRUE(a);
    {
        const std::string filter = env.names.at("subject_prefix") + ".>";
        jsConsumerConfig cc;
        jsConsumerConfig_Init(&cc);
        cc.Durable = "notifications";
        cc.AckPolicy = js_AckExplicit;
        cc.MaxDeliver = 28;
        cc.MaxAckPending = 1000;
        cc.FilterSubject = filter.c_str();
        jsConsumerInfo* ci = nullptr;
        ASSERT_EQ(js_AddConsumer(&ci, raw.js(), env.names.at("stream").c_str(), &cc, nullptr, nullptr), NATS_OK);
        jsConsumerInfo_Destroy(ci);
    }
    Ledger ledger;
    LedgerReaction refuseAll(ledger, [](const EventRecord&) { return kRefused; }, {1000, 20, 20});
    auto sub = a->log().subscribe(refuseAll);
    ASSERT_TRUE(sub.isOk()) << sub.status().message;
    for (int64_t o = 1; o <= 50; ++o) appendNew(a->log(), o);
    ASSERT_TRUE(waitUntil([&] { return ledger.calls().size() >= 100; }, kWait));
    jsConsumerInfo* ci = nullptr;
    ASSERT_EQ(js_GetConsumerInfo(&ci, raw.js(), env.names.at("stream").c_str(), "notifications", nullptr, nullptr),
              NATS_OK);
    EXPECT_EQ(ci->Config->MaxAckPending, ordersystem::plugins::nats::kMaxAckPending);
    EXPECT_EQ(ci->Config->MaxDeliver, -1);
    EXPECT_LE(ci->NumAckPending, ordersystem::plugins::nats::kMaxAckPending);
    jsConsumerInfo_Destroy(ci);
    a->log().unsubscribe(*sub);
}
