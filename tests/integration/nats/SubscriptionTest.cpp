// Projections and reactions over JetStream consumers: every node sees every event in order from
// its checkpoint; a reaction runs once per cluster, is redelivered when not acknowledged in time
// and is dead-lettered after its maximum deliveries.
#include "NatsTestNodes.h"

using namespace ordersystem::natstest;

namespace {

constexpr auto kWait = std::chrono::seconds(20);

class NatsSubscriptions : public NatsNodesTest {};

/// Positions strictly consecutive, each event once.
void expectGapFreeAscending(const std::vector<EventRecord>& events, uint64_t firstPosition) {
    for (size_t i = 0; i < events.size(); ++i) ASSERT_EQ(events[i].position, firstPosition + i) << "index " << i;
}

}  // namespace

TEST_F(NatsSubscriptions, EveryNodeSeesEveryEventOnceInLogOrder) {
    auto a = node("node-a"), b = node("node-b"), c = node("node-c");
    ASSERT_TRUE(a && b && c);
    RecordingProjection pa("read-model"), pb("read-model"), pc("read-model");
    auto sa = a->log().subscribe(pa), sb = b->log().subscribe(pb), sc = c->log().subscribe(pc);
    ASSERT_TRUE(sa.isOk() && sb.isOk() && sc.isOk()) << sa.status().message;
    TestNode* nodes[] = {a.get(), b.get(), c.get()};
    for (int64_t id = 1; id <= 30; ++id) appendNew(nodes[id % 3]->log(), id, "node-x");
    for (int64_t id = 1; id <= 30; id += 3) ASSERT_TRUE(appendNext(nodes[(id + 1) % 3]->log(), id, 1).status.isOk());
    for (RecordingProjection* p : {&pa, &pb, &pc}) {
        ASSERT_TRUE(waitUntil([&] { return p->count() >= 40; }, kWait)) << "got " << p->count();
        expectGapFreeAscending(p->events(), 1);
        EXPECT_EQ(p->count(), 40u);
        EXPECT_FALSE(p->overlapped());
    }
    // The same event reaches each node with the same content.
    EXPECT_EQ(pa.events()[17].eventId, pc.events()[17].eventId);
    a->log().unsubscribe(*sa);
    b->log().unsubscribe(*sb);
    c->log().unsubscribe(*sc);
}

TEST_F(NatsSubscriptions, OwnWriteIsAppliedOnTheAcceptingNodeWithoutWaitingForAPoll) {
    auto a = node("node-a");
    ASSERT_TRUE(a);
    RecordingProjection p("read-model");
    auto sub = a->log().subscribe(p);
    ASSERT_TRUE(sub.isOk());
    for (int64_t id = 1; id <= 20; ++id) {
        const uint64_t pos = appendNew(a->log(), id);
        ASSERT_TRUE(waitUntil([&] { return p.checkpoint() >= pos; }, kWait, std::chrono::milliseconds(1)));
    }
    a->log().unsubscribe(*sub);
    EXPECT_EQ(p.count(), 20u);
}

TEST_F(NatsSubscriptions, ProjectionResumesAfterItsCheckpointAndGetsLaterEventsToo) {
    auto a = node("node-a");
    ASSERT_TRUE(a);
    for (int64_t id = 1; id <= 10; ++id) appendNew(a->log(), id);
    RecordingProjection p("analytics", 6);
    auto sub = a->log().subscribe(p);
    ASSERT_TRUE(sub.isOk());
    ASSERT_TRUE(waitUntil([&] { return p.count() >= 4; }, kWait));
    appendNew(a->log(), 11);
    ASSERT_TRUE(waitUntil([&] { return p.count() >= 5; }, kWait));
    a->log().unsubscribe(*sub);
    expectGapFreeAscending(p.events(), 7);
    EXPECT_EQ(p.count(), 5u);
    EXPECT_EQ(p.events().front().orderId, 7);
}

TEST_F(NatsSubscriptions, ResubscribingAfterAStopContinuesWithoutRepeatsOrGaps) {
    auto a = node("node-a");
    ASSERT_TRUE(a);
    RecordingProjection p("read-model");
    for (int round = 0; round < 3; ++round) {
        auto sub = a->log().subscribe(p);
        ASSERT_TRUE(sub.isOk()) << sub.status().message;
        for (int64_t k = 1; k <= 5; ++k) appendNew(a->log(), round * 100 + k);
        ASSERT_TRUE(waitUntil([&] { return p.count() >= static_cast<size_t>(5 * (round + 1)); }, kWait));
        a->log().unsubscribe(*sub);
    }
    // Events appended while nobody listened are picked up by the next subscription.
    appendNew(a->log(), 999);
    auto sub = a->log().subscribe(p);
    ASSERT_TRUE(waitUntil([&] { return p.count() >= 16; }, kWait));
    a->log().unsubscribe(*sub);
    expectGapFreeAscending(p.events(), 1);
    EXPECT_EQ(p.count(), 16u);
}

TEST_F(NatsSubscriptions, NewNodeWithAnEmptyDatabaseCatchesUpFromTheStream) {
    auto a = node("node-a"), b = node("node-b");
    ASSERT_TRUE(a && b);
    for (int64_t id = 1; id <= 60; ++id) appendNew((id % 2 ? a : b)->log(), id);
    auto fresh = node("node-new");
    ASSERT_TRUE(fresh);
    RecordingProjection p("read-model", 0);
    auto sub = fresh->log().subscribe(p);
    ASSERT_TRUE(sub.isOk());
    ASSERT_TRUE(waitUntil([&] { return p.count() >= 60; }, kWait)) << p.count();
    fresh->log().unsubscribe(*sub);
    expectGapFreeAscending(p.events(), 1);
    EXPECT_EQ(p.count(), 60u);
}

TEST_F(NatsSubscriptions, FailedApplyIsRetriedWithTheSameEvents) {
    auto a = node("node-a");
    ASSERT_TRUE(a);
    RecordingProjection p("read-model");
    p.failNext(2);
    auto sub = a->log().subscribe(p);
    ASSERT_TRUE(sub.isOk());
    for (int64_t id = 1; id <= 3; ++id) appendNew(a->log(), id);
    ASSERT_TRUE(waitUntil([&] { return p.count() >= 3; }, kWait));
    a->log().unsubscribe(*sub);
    expectGapFreeAscending(p.events(), 1);
    EXPECT_EQ(p.count(), 3u);
    EXPECT_GE(p.calls(), 3);
    EXPECT_TRUE(a->host->fakeLogger().contains("failed to apply"));
}

TEST_F(NatsSubscriptions, ReadModelsOfANodeShareOneCursorAndEachGetsEveryEventOnceInOrder) {
    auto a = node("node-a");
    ASSERT_TRUE(a);
    RecordingProjection orders("read-model"), analytics("analytics");
    auto so = a->log().subscribe(orders), sa = a->log().subscribe(analytics);
    ASSERT_TRUE(so.isOk() && sa.isOk());
    for (int64_t id = 1; id <= 25; ++id) appendNew(a->log(), id);
    for (RecordingProjection* p : {&orders, &analytics}) {
        ASSERT_TRUE(waitUntil([&] { return p->count() >= 25; }, kWait)) << "got " << p->count();
        expectGapFreeAscending(p->events(), 1);
    }
    RawNats raw(env.url);
    EXPECT_TRUE(raw.consumerExists(env.names.at("stream"), "node-a_read-models"));
    EXPECT_FALSE(raw.consumerExists(env.names.at("stream"), "node-a_read-model"));
    EXPECT_FALSE(raw.consumerExists(env.names.at("stream"), "node-a_analytics"));
    a->log().unsubscribe(*so);
    a->log().unsubscribe(*sa);
    EXPECT_EQ(orders.count(), 25u);
    EXPECT_EQ(analytics.count(), 25u);
}

TEST_F(NatsSubscriptions, ReadModelJoiningBehindTheOthersGetsEverythingAfterItsCheckpointAndNobodyGetsRepeats) {
    auto a = node("node-a");
    ASSERT_TRUE(a);
    RecordingProjection ahead("read-model");
    auto s1 = a->log().subscribe(ahead);
    ASSERT_TRUE(s1.isOk());
    for (int64_t id = 1; id <= 10; ++id) appendNew(a->log(), id);
    ASSERT_TRUE(waitUntil([&] { return ahead.count() >= 10; }, kWait));
    RecordingProjection behind("analytics", 3);  // e.g. restored from an older backup
    auto s2 = a->log().subscribe(behind);
    ASSERT_TRUE(s2.isOk());
    for (int64_t id = 11; id <= 15; ++id) appendNew(a->log(), id);
    ASSERT_TRUE(waitUntil([&] { return ahead.count() >= 15 && behind.count() >= 12; }, kWait)) << behind.count();
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    a->log().unsubscribe(*s1);
    a->log().unsubscribe(*s2);
    expectGapFreeAscending(ahead.events(), 1);
    EXPECT_EQ(ahead.count(), 15u);
    expectGapFreeAscending(behind.events(), 4);
    EXPECT_EQ(behind.count(), 12u);
}

TEST_F(NatsSubscriptions, ReadModelThatKeepsFailingMovesToACursorOfItsOwnAndNoLongerHoldsUpTheOthers) {
    auto a = node("node-a");
    ASSERT_TRUE(a);
    RecordingProjection healthy("read-model"), broken("analytics");
    broken.failNext(1000000);
    auto s1 = a->log().subscribe(healthy), s2 = a->log().subscribe(broken);
    ASSERT_TRUE(s1.isOk() && s2.isOk());
    for (int64_t id = 1; id <= 5; ++id) appendNew(a->log(), id);
    ASSERT_TRUE(waitUntil([&] { return healthy.count() >= 5; }, kWait));
    ASSERT_TRUE(waitUntil(
        [&] { return a->host->fakeLogger().contains("it now follows the stream on its own cursor node-a_analytics"); },
        kWait));
    // Once moved, the others no longer wait for it at all.
    for (int64_t id = 6; id <= 10; ++id) appendNew(a->log(), id);
    ASSERT_TRUE(waitUntil([&] { return healthy.count() >= 10; }, std::chrono::seconds(3)));
    EXPECT_EQ(broken.count(), 0u);
    // Repaired, it catches up on its own cursor from its checkpoint: nothing lost, nothing twice.
    broken.failNext(0);
    ASSERT_TRUE(waitUntil([&] { return broken.count() >= 10; }, kWait)) << broken.count();
    a->log().unsubscribe(*s1);
    a->log().unsubscribe(*s2);
    expectGapFreeAscending(healthy.events(), 1);
    expectGapFreeAscending(broken.events(), 1);
    EXPECT_EQ(broken.count(), 10u);
    RawNats raw(env.url);
    EXPECT_TRUE(raw.consumerExists(env.names.at("stream"), "node-a_analytics"));
}

TEST_F(NatsSubscriptions, ReactionHandlesEachEventOnceAcrossTheCluster) {
    auto a = node("node-a"), b = node("node-b"), c = node("node-c");
    ASSERT_TRUE(a && b && c);
    RecordingReaction ra("notifications"), rb("notifications"), rc("notifications");
    auto sa = a->log().subscribe(ra), sb = b->log().subscribe(rb), sc = c->log().subscribe(rc);
    ASSERT_TRUE(sa.isOk() && sb.isOk() && sc.isOk()) << sa.status().message;
    std::set<std::string> appended;
    for (int64_t id = 1; id <= 45; ++id) {
        AppendRequest req;
        req.orderId = id;
        req.events.push_back(makeEvent(id, 1));
        appended.insert(req.events[0].eventId);
        ASSERT_TRUE((id % 2 ? a : b)->log().append(req).status.isOk());
    }
    auto total = [&] { return ra.handled().size() + rb.handled().size() + rc.handled().size(); };
    ASSERT_TRUE(waitUntil([&] { return total() >= 45; }, kWait)) << total();
    std::this_thread::sleep_for(std::chrono::milliseconds(500));  // room for a wrong second delivery
    std::multiset<std::string> seen;
    for (auto* r : {&ra, &rb, &rc})
        for (const auto& id : r->handled()) seen.insert(id);
    EXPECT_EQ(seen.size(), 45u);
    EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()), appended);
    // The work was shared: more than one node did some of it.
    const int busy = (ra.handled().empty() ? 0 : 1) + (rb.handled().empty() ? 0 : 1) + (rc.handled().empty() ? 0 : 1);
    EXPECT_GE(busy, 2);
    a->log().unsubscribe(*sa);
    b->log().unsubscribe(*sb);
    c->log().unsubscribe(*sc);
}

TEST_F(NatsSubscriptions, EventNotAcknowledgedInTimeIsRedeliveredToAnotherNode) {
    const std::map<std::string, std::string> fast = {{"reaction_ack_wait_ms", "1000"}, {"reaction_workers", "1"}};
    auto a = node("node-a", fast), b = node("node-b", fast);
    ASSERT_TRUE(a && b);
    // Node a takes the event and hangs far past the ack wait (a stuck webhook, a frozen process).
    RecordingReaction stuck("notifications", [](const EventRecord&) {
        std::this_thread::sleep_for(std::chrono::milliseconds(3500));
        return Status(StatusCode::Unavailable, "hung (test)");
    });
    RecordingReaction healthy("notifications");
    auto sa = a->log().subscribe(stuck);
    ASSERT_TRUE(sa.isOk());
    AppendRequest req;
    req.orderId = 1;
    req.events.push_back(makeEvent(1, 1));
    ASSERT_TRUE(a->log().append(req).status.isOk());
    ASSERT_TRUE(waitUntil([&] { return !stuck.attempts().empty(); }, kWait));
    auto sb = b->log().subscribe(healthy);
    ASSERT_TRUE(sb.isOk());
    ASSERT_TRUE(waitUntil([&] { return !healthy.handled().empty(); }, kWait));
    EXPECT_EQ(healthy.handled().front(), req.events[0].eventId);
    a->log().unsubscribe(*sa);
    b->log().unsubscribe(*sb);
    EXPECT_TRUE(stuck.handled().empty());
}

TEST_F(NatsSubscriptions, EventThatKeepsFailingIsDeadLetteredAfterMaxDeliveries) {
    auto a =
        node("node-a", {{"reaction_max_deliveries", "3"}, {"reaction_retry_base_ms", "50"}, {"reaction_workers", "1"}});
    ASSERT_TRUE(a);
    AppendRequest bad;
    bad.orderId = 1;
    bad.events.push_back(makeEvent(1, 1));
    const std::string badId = bad.events[0].eventId;
    RecordingReaction r("notifications", [&](const EventRecord& e) {
        return e.eventId == badId ? Status(StatusCode::Unavailable, "webhook answered 500") : Status::ok();
    });
    auto sub = a->log().subscribe(r);
    ASSERT_TRUE(sub.isOk());
    ASSERT_TRUE(a->log().append(bad).status.isOk());
    appendNew(a->log(), 2);
    auto& metrics = a->host->fakeMetrics();
    const Labels labels = {{"reaction", "notifications"}};
    ASSERT_TRUE(
        waitUntil([&] { return metrics.value("ordersystem_reaction_dead_letters_total", labels) >= 1; }, kWait));
    ASSERT_TRUE(waitUntil([&] { return r.handled().size() >= 1; }, kWait));
    std::this_thread::sleep_for(std::chrono::milliseconds(400));  // a wrong extra delivery would show now
    a->log().unsubscribe(*sub);

    const auto attempts = r.attempts();
    EXPECT_EQ(std::count(attempts.begin(), attempts.end(), badId), 3);
    EXPECT_EQ(metrics.value("ordersystem_reaction_dead_letters_total", labels), 1.0);
    EXPECT_EQ(r.handled().size(), 1u);  // the good event went through normally
    EXPECT_TRUE(a->host->fakeLogger().contains("gave up on event " + badId));
    RawNats raw(env.url);
    const std::string stream = env.names.at("stream") + "_DEADLETTER";
    EXPECT_EQ(raw.streamMessages(stream), 1u);
    auto dead = raw.lastMessage(stream, env.names.at("deadletter_prefix") + ".notifications", "Os-Event-Id");
    EXPECT_EQ(dead.second, badId);
    EXPECT_NE(dead.first.find(badId), std::string::npos);
}

TEST_F(NatsSubscriptions, FailingReactionIsRetriedWithBackOffUntilItSucceeds) {
    auto a = node("node-a", {{"reaction_retry_base_ms", "50"}, {"reaction_workers", "1"}});
    ASSERT_TRUE(a);
    std::atomic<int> failuresLeft{2};
    RecordingReaction r("notifications", [&](const EventRecord&) {
        return failuresLeft.fetch_sub(1) > 0 ? Status(StatusCode::Unavailable, "webhook down") : Status::ok();
    });
    auto sub = a->log().subscribe(r);
    ASSERT_TRUE(sub.isOk());
    appendNew(a->log(), 1);
    ASSERT_TRUE(waitUntil([&] { return !r.handled().empty(); }, kWait));
    a->log().unsubscribe(*sub);
    EXPECT_EQ(r.attempts().size(), 3u);
    EXPECT_EQ(r.handled().size(), 1u);
    EXPECT_EQ(a->host->fakeMetrics().value("ordersystem_reaction_dead_letters_total", {{"reaction", "notifications"}}),
              0.0);
}

TEST_F(NatsSubscriptions, StoppingANodeKeepsItsDurableConsumers) {
    auto a = node("node-a");
    ASSERT_TRUE(a);
    RecordingProjection p("read-model");
    RecordingReaction r("notifications");
    auto sp = a->log().subscribe(p);
    auto sr = a->log().subscribe(r);
    ASSERT_TRUE(sp.isOk() && sr.isOk());
    appendNew(a->log(), 1);
    ASSERT_TRUE(waitUntil([&] { return p.count() >= 1 && r.handled().size() >= 1; }, kWait));
    a->log().unsubscribe(*sp);
    a->log().unsubscribe(*sr);
    a->stop();
    RawNats raw(env.url);
    EXPECT_TRUE(raw.consumerExists(env.names.at("stream"), "node-a_read-models"));
    EXPECT_TRUE(raw.consumerExists(env.names.at("stream"), "notifications"));
    // ... and the next start continues from them: nothing is delivered twice.
    appendNew(startNode(env, "node-b", dir.path())->log(), 2);
    a = node("node-a");
    ASSERT_TRUE(a);
    auto sp2 = a->log().subscribe(p);
    auto sr2 = a->log().subscribe(r);
    ASSERT_TRUE(waitUntil([&] { return p.count() >= 2 && r.handled().size() >= 2; }, kWait));
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    a->log().unsubscribe(*sp2);
    a->log().unsubscribe(*sr2);
    EXPECT_EQ(p.count(), 2u);
    EXPECT_EQ(r.handled().size(), 2u);
}

TEST_F(NatsSubscriptions, EventAlreadyHandledSomewhereInTheClusterIsAcknowledgedWithoutRunningAgain) {
    auto a = node("node-a", {{"reaction_workers", "1"}});
    ASSERT_TRUE(a);
    RecordingReaction r("notifications");
    auto sub = a->log().subscribe(r);
    ASSERT_TRUE(sub.isOk());
    // What a node that handled the event but lost its ack (crash, NATS restart) leaves behind.
    AppendRequest done;
    done.orderId = 1;
    done.events.push_back(makeEvent(1, 1));
    RawNats raw(env.url);
    kvStore* kv = nullptr;
    ASSERT_EQ(js_KeyValue(&kv, raw.js(), (env.names.at("stream") + "_REACTIONS_DONE").c_str()), NATS_OK);
    uint64_t rev = 0;
    ASSERT_EQ(kvStore_PutString(&rev, kv, ("notifications." + done.events[0].eventId).c_str(), "1"), NATS_OK);
    kvStore_Destroy(kv);
    ASSERT_TRUE(a->log().append(done).status.isOk());
    appendNew(a->log(), 2);
    ASSERT_TRUE(waitUntil([&] { return r.handled().size() >= 1; }, kWait));
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    a->log().unsubscribe(*sub);
    EXPECT_EQ(r.attempts().size(), 1u);
    EXPECT_NE(r.handled().front(), done.events[0].eventId);
    EXPECT_EQ(a->host->fakeMetrics().value("ordersystem_reaction_duplicates_total", {{"reaction", "notifications"}}),
              1.0);
}

TEST_F(NatsSubscriptions, ReadModelAheadOfTheStreamIsReportedToTheOperator) {
    auto a = node("node-a");
    ASSERT_TRUE(a);
    appendNew(a->log(), 1);
    RecordingProjection p("read-model", 500);  // data of another cluster, or the stream was recreated
    auto sub = a->log().subscribe(p);
    ASSERT_TRUE(sub.isOk());
    a->log().unsubscribe(*sub);
    EXPECT_TRUE(
        a->host->fakeLogger().contains("is at position 500 but stream " + env.names.at("stream") + " ends at 1"));
    EXPECT_EQ(p.count(), 0u);
}

TEST_F(NatsSubscriptions, StreamSharedWithOtherSubjectsFeedsEveryEventAtOnceAndNothingElse) {
    // An operator's stream that also captures another subject: the cursor's positions jump over
    // those messages, which the feed looks up, finds are not events, and passes without waiting.
    const std::string stream = env.names.at("stream"), prefix = env.names.at("subject_prefix");
    const std::string other = "o" + stream.substr(1) + ".other";
    RawNats raw(env.url);
    {
        const std::string events = prefix + ".>";
        const char* subjects[] = {events.c_str(), other.c_str()};
        jsStreamConfig cfg;
        jsStreamConfig_Init(&cfg);
        cfg.Name = stream.c_str();
        cfg.Subjects = subjects;
        cfg.SubjectsLen = 2;
        cfg.Storage = js_FileStorage;
        jsStreamInfo* si = nullptr;
        ASSERT_EQ(js_AddStream(&si, raw.js(), &cfg, nullptr, nullptr), NATS_OK);
        jsStreamInfo_Destroy(si);
    }
    auto a = node("node-a");
    ASSERT_TRUE(a);
    RecordingProjection p("read-model");
    auto sub = a->log().subscribe(p);
    ASSERT_TRUE(sub.isOk());
    auto publishOther = [&] {
        jsPubAck* ack = nullptr;
        ASSERT_EQ(js_Publish(&ack, raw.js(), other.c_str(), "x", 1, nullptr, nullptr), NATS_OK);
        jsPubAck_Destroy(ack);
    };
    appendNew(a->log(), 1);
    publishOther();
    appendNew(a->log(), 2);
    for (int i = 0; i < 3; ++i) publishOther();
    const uint64_t last = appendNew(a->log(), 3);
    // Well inside the half minute a position the stream leader lacks would be waited for.
    ASSERT_TRUE(waitUntil([&] { return p.checkpoint() >= last; }, std::chrono::seconds(10))) << "got " << p.count();
    a->log().unsubscribe(*sub);
    ASSERT_EQ(p.count(), 3u);
    EXPECT_EQ(p.events()[0].position, 1u);
    EXPECT_EQ(p.events()[1].position, 3u);
    EXPECT_EQ(p.events()[2].position, 7u);
    EXPECT_FALSE(a->host->fakeLogger().contains("skipped"));
}
