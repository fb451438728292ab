// The JetStream event log as several nodes see it: version races, duplicate publishes, ids,
// per-order reads, idempotency keys, start-up refusals.
#include "NatsTestNodes.h"

using namespace ordersystem::natstest;

namespace {

class NatsLog : public ::testing::Test {
protected:
    void SetUp() override {
        ASSERT_TRUE(env.ok) << "nats-server could not be started (is it installed?)";
        a = startNode(env, "node-a", dir.path());
        b = startNode(env, "node-b", dir.path());
        c = startNode(env, "node-c", dir.path());
        ASSERT_TRUE(a && b && c);
    }
    NatsEnv env;
    TempDir dir;
    std::unique_ptr<TestNode> a, b, c;
};

/// Runs fn(i) on n threads released at the same moment.
void race(int n, const std::function<void(int)>& fn) {
    std::atomic<int> ready{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < n; ++i)
        threads.emplace_back([&, i] {
            ++ready;
            while (ready.load() < n) std::this_thread::yield();
            fn(i);
        });
    for (auto& t : threads) t.join();
}

}  // namespace

TEST_F(NatsLog, ModeIsCluster) { EXPECT_EQ(a->log().mode(), "cluster"); }

TEST_F(NatsLog, ThreeNodesRacingOnOneOrderHaveExactlyOneWinner) {
    TestNode* nodes[] = {a.get(), b.get(), c.get()};
    for (int64_t orderId = 1; orderId <= 15; ++orderId) {
        appendNew(a->log(), orderId);
        AppendResult results[3];
        race(3, [&](int i) { results[i] = appendNext(nodes[i]->log(), orderId, 1, "node-" + std::to_string(i)); });
        int wins = 0;
        for (const auto& r : results) wins += r.status.isOk() ? 1 : 0;
        ASSERT_EQ(wins, 1) << "order " << orderId;
        for (const auto& r : results) {
            if (r.status.isOk()) continue;
            EXPECT_EQ(r.status.code, StatusCode::VersionConflict) << r.status.message;
            EXPECT_EQ(r.currentVersion, 2);
            EXPECT_EQ(r.lastPosition, 0u);
        }
        auto events = c->log().readOrder(orderId);
        ASSERT_TRUE(events.isOk()) << events.status().message;
        ASSERT_EQ(events->size(), 2u);
        EXPECT_EQ((*events)[1].version, 2);
    }
}

TEST_F(NatsLog, RacingCreatesOfOneNewOrderHaveExactlyOneWinner) {
    TestNode* nodes[] = {a.get(), b.get(), c.get()};
    for (int64_t orderId = 100; orderId < 110; ++orderId) {
        AppendResult results[3];
        race(3, [&](int i) {
            AppendRequest req;
            req.orderId = orderId;
            req.expectedVersion = 0;
            req.events.push_back(makeEvent(orderId, 1, "node-" + std::to_string(i)));
            results[i] = nodes[i]->log().append(req);
        });
        int wins = 0;
        for (const auto& r : results) wins += r.status.isOk() ? 1 : 0;
        ASSERT_EQ(wins, 1) << "order " << orderId;
        for (const auto& r : results) {
            if (r.status.isOk()) continue;
            EXPECT_EQ(r.status.code, StatusCode::VersionConflict) << r.status.message;
            EXPECT_EQ(r.currentVersion, 1);
        }
        auto events = a->log().readOrder(orderId);
        ASSERT_TRUE(events.isOk());
        EXPECT_EQ(events->size(), 1u);
    }
}

TEST_F(NatsLog, StaleVersionIsAConflictThatWritesNothing) {
    appendNew(a->log(), 7);
    ASSERT_TRUE(appendNext(a->log(), 7, 1).status.isOk());
    const uint64_t head = *a->log().headPosition();
    // b never saw version 2 through its own appends: its decision on version 1 must be refused.
    AppendResult r = appendNext(b->log(), 7, 1, "node-b");
    EXPECT_EQ(r.status.code, StatusCode::VersionConflict);
    EXPECT_EQ(r.currentVersion, 2);
    // a's cached tip is stale after b writes: the server's check still wins.
    ASSERT_TRUE(appendNext(b->log(), 7, 2, "node-b").status.isOk());
    AppendResult stale = appendNext(a->log(), 7, 2);
    EXPECT_EQ(stale.status.code, StatusCode::VersionConflict);
    EXPECT_EQ(stale.currentVersion, 3);
    EXPECT_EQ(*a->log().headPosition(), head + 1);
    EXPECT_EQ(a->log().readOrder(7)->size(), 3u);
}

TEST_F(NatsLog, NewOrderOverAnExistingOneIsAConflict) {
    appendNew(a->log(), 9);
    AppendRequest req;
    req.orderId = 9;
    req.expectedVersion = 0;
    req.events.push_back(makeEvent(9, 1, "node-b"));
    AppendResult r = b->log().append(req);
    EXPECT_EQ(r.status.code, StatusCode::VersionConflict);
    EXPECT_EQ(r.currentVersion, 1);
}

TEST_F(NatsLog, RetriedAppendOfTheSameEventsIsNotStoredTwice) {
    AppendRequest req;
    req.orderId = 11;
    req.expectedVersion = 0;
    req.events.push_back(makeEvent(11, 1));
    AppendResult first = a->log().append(req);
    ASSERT_TRUE(first.status.isOk());
    const uint64_t head = *a->log().headPosition();
    // The client timed out and retries the very same request, here through another node.
    AppendRequest retry = req;
    retry.events[0].position = 0;
    AppendResult second = b->log().append(retry);
    ASSERT_TRUE(second.status.isOk()) << second.status.message;
    EXPECT_EQ(second.lastPosition, first.lastPosition);
    EXPECT_EQ(retry.events[0].position, first.lastPosition);
    EXPECT_EQ(*b->log().headPosition(), head);
    EXPECT_EQ(b->log().readOrder(11)->size(), 1u);
}

TEST_F(NatsLog, RetryOfAnAppendThatLandedIsRecognisedByItsEventIdOnAnyNode) {
    appendNew(a->log(), 13);
    AppendRequest req;
    req.orderId = 13;
    req.expectedVersion = 1;
    req.events.push_back(makeEvent(13, 2));
    AppendResult first = a->log().append(req);
    ASSERT_TRUE(first.status.isOk());
    // Node b has no cached view: it finds the order at version 2 whose last event is this one.
    AppendRequest retry = req;
    retry.events[0].position = 0;
    AppendResult second = b->log().append(retry);
    ASSERT_TRUE(second.status.isOk()) << second.status.message;
    EXPECT_EQ(second.lastPosition, first.lastPosition);
    EXPECT_EQ(b->log().readOrder(13)->size(), 2u);
    // Another event at the same stale version is still a conflict.
    AppendResult other = appendNext(b->log(), 13, 1, "node-b");
    EXPECT_EQ(other.status.code, StatusCode::VersionConflict);
    EXPECT_EQ(other.currentVersion, 2);
}

TEST_F(NatsLog, PublishCarryingAnExistingEventIdIsDroppedAsDuplicate) {
    AppendRequest req;
    req.orderId = 12;
    req.expectedVersion = 0;
    req.events.push_back(makeEvent(12, 1));
    ASSERT_TRUE(a->log().append(req).status.isOk());
    const uint64_t head = *a->log().headPosition();
    RawNats raw(env.url);
    const std::string body = toJson(req.events[0]);
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MsgId = req.events[0].eventId.c_str();
    jsPubAck* ack = nullptr;
    const std::string subject = env.names.at("subject_prefix") + ".12";
    ASSERT_EQ(js_Publish(&ack, raw.js(), subject.c_str(), body.data(), static_cast<int>(body.size()), &po, nullptr),
              NATS_OK);
    EXPECT_TRUE(ack->Duplicate);
    EXPECT_EQ(ack->Sequence, req.events[0].position);
    jsPubAck_Destroy(ack);
    EXPECT_EQ(*a->log().headPosition(), head);
    auto stored = raw.lastMessage(env.names.at("stream"), subject, "Nats-Msg-Id");
    EXPECT_EQ(stored.second, req.events[0].eventId);
}

TEST_F(NatsLog, OrderIdsAreUniquePositiveAndSafeAcrossConcurrentNodes) {
    TestNode* nodes[] = {a.get(), b.get(), c.get()};
    std::mutex mutex;
    std::set<int64_t> ids;
    int failures = 0;
    race(6, [&](int i) {
        for (int k = 0; k < 40; ++k) {
            auto id = nodes[i % 3]->log().allocateOrderId();
            std::lock_guard<std::mutex> lock(mutex);
            if (!id.isOk()) {
                ++failures;
                continue;
            }
            EXPECT_GT(*id, 0);
            EXPECT_LT(*id, int64_t{1} << 53);
            ids.insert(*id);
        }
    });
    EXPECT_EQ(failures, 0);
    EXPECT_EQ(ids.size(), 240u);
}

TEST_F(NatsLog, OrderIdsAreNeverReusedAfterNodesRestart) {
    const int64_t before = *a->log().allocateOrderId();
    a->stop();
    a = startNode(env, "node-a", dir.path());
    ASSERT_TRUE(a);
    EXPECT_GT(*a->log().allocateOrderId(), before);
}

TEST_F(NatsLog, ANodeTakesOneIdBlockPerHundredOrdersAndReservesTheNextAheadOnceHalfIsUsed) {
    using ordersystem::plugins::nats::kIdBlock;
    RawNats raw(env.url);
    const std::string idStream = env.names.at("stream") + "_IDS";
    auto idSequence = [&] {
        jsStreamInfo* info = nullptr;
        EXPECT_EQ(js_GetStreamInfo(&info, raw.js(), idStream.c_str(), nullptr, nullptr), NATS_OK);
        const uint64_t seq = info != nullptr ? info->State.LastSeq : 0;
        jsStreamInfo_Destroy(info);
        return seq;
    };
    const int64_t first = *a->log().allocateOrderId();
    const uint64_t blocksBefore = idSequence();
    std::vector<int64_t> ids{first};
    while (static_cast<int64_t>(ids.size()) < kIdBlock / 2 - 1) ids.push_back(*a->log().allocateOrderId());
    EXPECT_EQ(idSequence(), blocksBefore);  // short of half the block: no round trip yet
    while (static_cast<int64_t>(ids.size()) < kIdBlock) ids.push_back(*a->log().allocateOrderId());
    // The next block is reserved in the background, before this one runs out ...
    ASSERT_TRUE(waitUntil([&] { return idSequence() == blocksBefore + 1; }, std::chrono::seconds(5)));
    for (size_t k = 1; k < ids.size(); ++k) EXPECT_EQ(ids[k], ids[k - 1] + 1);
    EXPECT_EQ(first % kIdBlock, 0);
    // ... so the create crossing the boundary takes it without another round trip.
    const int64_t next = *a->log().allocateOrderId();
    EXPECT_EQ(idSequence(), blocksBefore + 1);
    EXPECT_GT(next, ids.back());
    EXPECT_EQ(next % kIdBlock, 0);
}

TEST_F(NatsLog, IdsOfANodeOnlyIncreaseAcrossManyBlocksWhileOtherNodesReserveToo) {
    std::mutex mutex;
    std::set<int64_t> all;
    std::atomic<int> decreases{0}, failures{0};
    TestNode* nodes[] = {a.get(), a.get(), a.get(), b.get()};
    race(4, [&](int i) {
        int64_t previous = 0;
        for (int k = 0; k < 400; ++k) {
            auto id = nodes[i]->log().allocateOrderId();
            if (!id.isOk()) {
                ++failures;
                continue;
            }
            if (*id <= previous) ++decreases;  // per caller on one node: strictly increasing
            previous = *id;
            std::lock_guard<std::mutex> lock(mutex);
            all.insert(*id);
        }
    });
    EXPECT_EQ(failures.load(), 0);
    EXPECT_EQ(decreases.load(), 0);
    EXPECT_EQ(all.size(), 1600u);
}

TEST_F(NatsLog, ConcurrentCreatesOnANodeUseUpEveryIdBlockTheyStartNoneIsLeftHalfUsed) {
    // Many callers running out of a block together, while the next one is still being reserved
    // ahead: only one of them may move on to a new block.
    using ordersystem::plugins::nats::kIdBlock;
    std::mutex mutex;
    std::map<int64_t, int> perBlock;
    std::atomic<int> failures{0};
    race(6, [&](int) {
        for (int k = 0; k < 500; ++k) {
            auto id = a->log().allocateOrderId();
            if (!id.isOk()) {
                ++failures;
                continue;
            }
            std::lock_guard<std::mutex> lock(mutex);
            ++perBlock[*id / kIdBlock];
        }
    });
    EXPECT_EQ(failures.load(), 0);
    ASSERT_EQ(perBlock.size(), 30u);  // 3000 ids: exactly 30 blocks, each used up
    for (const auto& [block, used] : perBlock) EXPECT_EQ(used, kIdBlock) << "block " << block;
}

TEST_F(NatsLog, ConcurrentAppendsOnOneNodeEachGetTheirOwnPosition) {
    // Publishes from many threads share one connection: every caller must get its own ack back.
    std::mutex mutex;
    std::map<int64_t, uint64_t> positions;  // orderId -> acknowledged position
    std::atomic<int> failures{0};
    race(8, [&](int) {
        for (int k = 0; k < 25; ++k) {
            auto id = a->log().allocateOrderId();
            if (!id.isOk()) {
                ++failures;
                continue;
            }
            AppendRequest req;
            req.orderId = *id;
            req.events.push_back(makeEvent(*id, 1));
            AppendResult r = a->log().append(req);
            if (!r.status.isOk()) {
                ++failures;
                continue;
            }
            std::lock_guard<std::mutex> lock(mutex);
            positions[*id] = r.lastPosition;
        }
    });
    EXPECT_EQ(failures.load(), 0);
    ASSERT_EQ(positions.size(), 200u);
    std::set<uint64_t> distinct;
    for (const auto& p : positions) distinct.insert(p.second);
    EXPECT_EQ(distinct.size(), 200u);
    for (const auto& p : positions) {
        auto stored = b->log().readOrder(p.first);
        ASSERT_TRUE(stored.isOk()) << stored.status().message;
        ASSERT_EQ(stored->size(), 1u);
        EXPECT_EQ(stored->front().position, p.second) << "order " << p.first;
    }
}

TEST_F(NatsLog, ResetIdCounterIsReportedAtStart) {
    for (int k = 0; k < 3; ++k) appendNew(a->log(), *a->log().allocateOrderId());
    RawNats raw(env.url);
    ASSERT_EQ(js_DeleteStream(raw.js(), (env.names.at("stream") + "_IDS").c_str(), nullptr, nullptr), NATS_OK);
    auto d = startNode(env, "node-d", dir.path());
    ASSERT_TRUE(d);
    EXPECT_TRUE(d->host->fakeLogger().contains("the id counter was reset"));
    EXPECT_FALSE(a->host->fakeLogger().contains("the id counter was reset"));
}

TEST_F(NatsLog, ReadOrderReturnsOnlyThatOrdersEventsOldestFirstWithPositions) {
    appendNew(a->log(), 21);
    appendNew(b->log(), 22);
    ASSERT_TRUE(appendNext(c->log(), 21, 1).status.isOk());
    ASSERT_TRUE(appendNext(a->log(), 21, 2).status.isOk());
    auto events = b->log().readOrder(21);
    ASSERT_TRUE(events.isOk()) << events.status().message;
    ASSERT_EQ(events->size(), 3u);
    for (size_t i = 0; i < events->size(); ++i) {
        EXPECT_EQ((*events)[i].orderId, 21);
        EXPECT_EQ((*events)[i].version, static_cast<int64_t>(i + 1));
        if (i > 0) {
            EXPECT_GT((*events)[i].position, (*events)[i - 1].position);
        }
    }
    EXPECT_EQ((*events)[0].dataJson, R"({"customerName":"John Doe","totalAmount":10.5})");
    EXPECT_TRUE(b->log().readOrder(999)->empty());
}

TEST_F(NatsLog, HeadPositionIsTheLastAppendedPosition) {
    const uint64_t p1 = appendNew(a->log(), 31);
    EXPECT_EQ(*c->log().headPosition(), p1);
    const AppendResult r = appendNext(b->log(), 31, 1);
    ASSERT_TRUE(r.status.isOk());
    EXPECT_EQ(r.lastPosition, p1 + 1);
    EXPECT_EQ(*a->log().headPosition(), p1 + 1);
}

TEST_F(NatsLog, IdempotencyKeyClaimedOnOneNodeIsInFlightOnAnotherThenCompletedEverywhere) {
    auto first = a->log().idempotency().claim("key-1", "fp-1", 30000);
    ASSERT_TRUE(first.isOk()) << first.status().message;
    EXPECT_EQ(first->state, IdempotencyClaim::State::Claimed);
    auto second = b->log().idempotency().claim("key-1", "fp-1", 30000);
    ASSERT_TRUE(second.isOk());
    EXPECT_EQ(second->state, IdempotencyClaim::State::InFlight);

    // The create completes the key together with its append.
    IdempotencyCompletion done{"key-1", "fp-1", R"({"orderId":41})"};
    AppendRequest req;
    req.orderId = 41;
    req.expectedVersion = 0;
    req.events.push_back(makeEvent(41, 1));
    req.idempotency = &done;
    ASSERT_TRUE(a->log().append(req).status.isOk());

    auto third = c->log().idempotency().claim("key-1", "fp-1", 30000);
    ASSERT_TRUE(third.isOk());
    EXPECT_EQ(third->state, IdempotencyClaim::State::Completed);
    EXPECT_EQ(third->fingerprint, "fp-1");
    EXPECT_EQ(third->response, R"({"orderId":41})");
}

TEST_F(NatsLog, ConcurrentClaimsOfOneKeyHaveExactlyOneHolder) {
    TestNode* nodes[] = {a.get(), b.get(), c.get()};
    std::atomic<int> claimed{0}, inFlight{0}, failed{0};
    race(6, [&](int i) {
        auto r = nodes[i % 3]->log().idempotency().claim("contended key with spaces/ünïcode", "fp", 30000);
        if (!r.isOk()) ++failed;
        else if (r->state == IdempotencyClaim::State::Claimed) ++claimed;
        else if (r->state == IdempotencyClaim::State::InFlight) ++inFlight;
    });
    EXPECT_EQ(failed.load(), 0);
    EXPECT_EQ(claimed.load(), 1);
    EXPECT_EQ(inFlight.load(), 5);
}

TEST_F(NatsLog, ReleasedOrExpiredKeyCanBeClaimedAgain) {
    ASSERT_EQ(a->log().idempotency().claim("key-r", "fp", 30000)->state, IdempotencyClaim::State::Claimed);
    ASSERT_TRUE(a->log().idempotency().release("key-r").isOk());
    EXPECT_EQ(b->log().idempotency().claim("key-r", "fp", 30000)->state, IdempotencyClaim::State::Claimed);

    // A holder that died: its short lease runs out and another node takes the key over.
    ASSERT_EQ(a->log().idempotency().claim("key-e", "fp", 50)->state, IdempotencyClaim::State::Claimed);
    std::this_thread::sleep_for(std::chrono::milliseconds(120));
    EXPECT_EQ(b->log().idempotency().claim("key-e", "fp", 30000)->state, IdempotencyClaim::State::Claimed);
    EXPECT_EQ(c->log().idempotency().claim("key-e", "fp", 30000)->state, IdempotencyClaim::State::InFlight);
}

TEST_F(NatsLog, ErrorResponseCompletedOutsideAnAppendIsReplayed) {
    ASSERT_EQ(a->log().idempotency().claim("key-x", "fp-x", 30000)->state, IdempotencyClaim::State::Claimed);
    ASSERT_TRUE(a->log().idempotency().complete({"key-x", "fp-x", "400 problem"}).isOk());
    auto r = b->log().idempotency().claim("key-x", "other-body", 30000);
    ASSERT_TRUE(r.isOk());
    EXPECT_EQ(r->state, IdempotencyClaim::State::Completed);
    EXPECT_EQ(r->fingerprint, "fp-x");  // the caller compares and answers 422
    EXPECT_EQ(r->response, "400 problem");
}

TEST(NatsStart, RefusesAnUnreachableServerWithOneClearLine) {
    TempDir dir;
    const int port = ordersystem::testing::freePort();  // nobody listens there
    Status st;
    NatsEnv fake(false, false);
    fake.url = "nats://127.0.0.1:" + std::to_string(port);
    auto node = startNode(fake, "node-x", dir.path(), {{"connect_timeout_ms", "500"}}, &st);
    EXPECT_FALSE(node);
    EXPECT_EQ(st.code, StatusCode::Unavailable);
    EXPECT_NE(st.message.find("cannot reach NATS at nats://127.0.0.1:" + std::to_string(port)), std::string::npos)
        << st.message;
}

TEST(NatsStart, RefusesAServerWithoutJetStreamSayingHowToFixIt) {
    TempDir dir;
    const int port = ordersystem::testing::freePort();
    ordersystem::testing::ChildProcess plain("nats-server", {"-a", "127.0.0.1", "-p", std::to_string(port)},
                                             dir.file("nats.log"));
    NatsEnv env(false, false);
    env.url = "nats://127.0.0.1:" + std::to_string(port);
    Status st;
    // Until the server listens the refusal is "cannot connect"; then it must name JetStream.
    ASSERT_TRUE(waitUntil(
        [&] {
            startNode(env, "node-x", dir.path(), {{"connect_timeout_ms", "500"}}, &st);
            return st.message.find("JetStream is not enabled") != std::string::npos;
        },
        std::chrono::seconds(10)))
        << st.message;
    EXPECT_EQ(st.code, StatusCode::Unavailable);
    EXPECT_EQ(st.message.rfind("cannot reach NATS at " + env.url, 0), 0u) << st.message;
}
