// Distributed mode over HTTP: several ordersystem processes on one redis-server behave as one system.
#include <iostream>
#include <set>
#include <thread>

#include "ClusterHttp.h"
#include "ordersystem/testing/CrossNodeHistory.h"

using namespace ordersystem::clustertest;
using Clock = std::chrono::steady_clock;

namespace {

double secondsSince(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

bool listsNode(int port, const std::string& nodeId) {
    const JsonValue nodes = httpGet(port, "/api/cluster/nodes").json();
    for (const auto& n : nodes.items())
        if (stringField(n, "nodeId") == nodeId) return true;
    return false;
}

int64_t totalOrders(int port) { return intField(httpGet(port, "/api/analytics").json(), "totalOrders"); }

/// Keeps creating orders on the given ports until stopped; remembers every acknowledged id.
class Writers {
public:
    Writers(std::vector<int> ports, int threadsPerPort) {
        for (int port : ports)
            for (int t = 0; t < threadsPerPort; ++t)
                _threads.emplace_back([this, port] {
                    while (!_stop.load()) {
                        HttpResult r;
                        const int64_t id = createOrder(port, "Load", &r);
                        std::lock_guard<std::mutex> lock(_mutex);
                        if (id > 0) _acked.push_back(id);
                        else ++_failures[port][r.status];
                        if (id <= 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
                    }
                });
    }
    ~Writers() { stop(); }
    void stop() {
        _stop = true;
        for (auto& t : _threads)
            if (t.joinable()) t.join();
    }
    std::vector<int64_t> acked() {
        std::lock_guard<std::mutex> lock(_mutex);
        return _acked;
    }
    size_t ackedCount() {
        std::lock_guard<std::mutex> lock(_mutex);
        return _acked.size();
    }
    /// port -> HTTP status (0 = no answer) -> count of failed creates.
    std::map<int, std::map<int, int>> failures() {
        std::lock_guard<std::mutex> lock(_mutex);
        return _failures;
    }

private:
    std::atomic<bool> _stop{false};
    std::mutex _mutex;
    std::vector<int64_t> _acked;
    std::map<int, std::map<int, int>> _failures;
    std::vector<std::thread> _threads;
};

}  // namespace

TEST_F(RedisCluster, AWriteIsReadableOnItsNodeAtOnceAndOnAnotherNodeWithinASecond) {
    OrderNode* a = addNode("node-a");
    OrderNode* b = addNode("node-b");
    ASSERT_TRUE(a && b);
    HttpResult created;
    const int64_t id = createOrder(a->port(), "Alice", &created);
    ASSERT_GT(id, 0) << created.status << " " << created.body;
    EXPECT_EQ(getOrder(a->port(), id).status, 200) << "read-your-writes on the node that wrote";

    const auto t0 = Clock::now();
    ASSERT_TRUE(waitUntil([&] { return getOrder(b->port(), id).status == 200; }, std::chrono::seconds(5),
                          std::chrono::milliseconds(5)));
    std::cout << "[ measured ] another node served the new order after " << secondsSince(t0) * 1000 << " ms\n";

    // A write on the other node, seen back on the first.
    HttpResult processed = command(b->port(), id, "process");
    ASSERT_EQ(processed.status, 200) << processed.body;
    EXPECT_EQ(stringField(processed.json(), "status"), "Processing");
    ASSERT_TRUE(waitUntil([&] { return stringField(getOrder(a->port(), id).json(), "status") == "Processing"; },
                          std::chrono::seconds(5), std::chrono::milliseconds(5)));
    HttpResult events = httpGet(a->port(), "/api/orders/" + std::to_string(id) + "/events");
    ASSERT_EQ(events.json().items().size(), 2u) << events.body;
    EXPECT_EQ(stringField(events.json().items()[1], "nodeId"), "node-b");
    EXPECT_TRUE(
        waitUntil([&] { return totalOrders(a->port()) == 1 && totalOrders(b->port()) == 1; }, std::chrono::seconds(5)));
}

TEST_F(RedisCluster, AnIdempotentCreateRetriedOnAnotherNodeReturnsTheFirstOrder) {
    OrderNode* a = addNode("node-a");
    OrderNode* b = addNode("node-b");
    ASSERT_TRUE(a && b);
    HttpResult first, retry;
    const int64_t id = createOrder(a->port(), "Idem", &first, {{"Idempotency-Key", "retry-me-1"}});
    ASSERT_GT(id, 0) << first.body;
    const int64_t again = createOrder(b->port(), "Idem", &retry, {{"Idempotency-Key", "retry-me-1"}});
    EXPECT_EQ(again, id) << retry.status << " " << retry.body;
    HttpResult other =
        httpPostJson(b->port(), "/api/orders", orderBody("Someone else"), {{"Idempotency-Key", "retry-me-1"}});
    EXPECT_EQ(other.status, 422) << other.body;
    EXPECT_TRUE(waitUntil([&] { return totalOrders(b->port()) == 1; }, std::chrono::seconds(5)));
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    EXPECT_EQ(totalOrders(a->port()), 1);
}

TEST_F(RedisCluster, ThreeHundredConcurrentCreatesOverTwoNodesAllSucceedWithUniqueIds) {
    OrderNode* a = addNode("node-a");
    OrderNode* b = addNode("node-b");
    ASSERT_TRUE(a && b);
    std::mutex mutex;
    std::vector<int64_t> ids;
    std::map<int, int> statuses;
    std::vector<std::thread> threads;
    const auto t0 = Clock::now();
    for (int t = 0; t < 12; ++t)
        threads.emplace_back([&, t] {
            const int port = (t % 2 ? b : a)->port();
            for (int i = 0; i < 25; ++i) {
                HttpResult r;
                const int64_t id = createOrder(port, "Crowd", &r);
                std::lock_guard<std::mutex> lock(mutex);
                ++statuses[r.status];
                if (id > 0) ids.push_back(id);
            }
        });
    for (auto& t : threads) t.join();
    std::cout << "[ measured ] 300 creates over 2 nodes (12 clients) took " << secondsSince(t0) << " s\n";
    EXPECT_EQ(statuses[201], 300) << "statuses: " << statuses.size();
    std::set<int64_t> unique(ids.begin(), ids.end());
    EXPECT_EQ(unique.size(), 300u);
    for (int64_t id : unique) EXPECT_TRUE(id > 0 && id < (int64_t{1} << 53));
    EXPECT_TRUE(waitUntil([&] { return totalOrders(a->port()) == 300 && totalOrders(b->port()) == 300; },
                          std::chrono::seconds(10)));
}

TEST_F(RedisCluster, RacingCommandsFromTwoNodesLeaveOneWinnerAndTheSameStateEverywhere) {
    OrderNode* a = addNode("node-a");
    OrderNode* b = addNode("node-b");
    ASSERT_TRUE(a && b);
    std::vector<int64_t> ids;
    for (int i = 0; i < 30; ++i) ids.push_back(createOrder(a->port(), "Racer"));
    ASSERT_TRUE(waitUntil([&] { return getOrder(b->port(), ids.back()).status == 200; }, std::chrono::seconds(5)));

    auto race = [&](int64_t id, const std::string& onA, const std::string& onB, int* statusA, int* statusB) {
        std::atomic<int> ready{0};
        std::thread ta([&] {
            ++ready;
            while (ready < 2) {
            }
            *statusA = command(a->port(), id, onA).status;
        });
        std::thread tb([&] {
            ++ready;
            while (ready < 2) {
            }
            *statusB = command(b->port(), id, onB, onB == "cancel" ? "?reason=race" : "").status;
        });
        ta.join();
        tb.join();
    };
    for (int i = 0; i < 15; ++i) {  // process vs process: exactly one 200, one 409
        int sa = 0, sb = 0;
        race(ids[i], "process", "process", &sa, &sb);
        EXPECT_TRUE((sa == 200 && sb == 409) || (sa == 409 && sb == 200))
            << "order " << ids[i] << ": " << sa << "/" << sb;
        EXPECT_TRUE(waitUntil(
            [&] {
                return intField(getOrder(a->port(), ids[i]).json(), "version") == 2 &&
                       intField(getOrder(b->port(), ids[i]).json(), "version") == 2;
            },
            std::chrono::seconds(5)));
    }
    for (int i = 15; i < 30; ++i) {  // process vs cancel: cancel is legal either way; process only if first
        int sp = 0, sc = 0;
        race(ids[i], "process", "cancel", &sp, &sc);
        EXPECT_EQ(sc, 200) << "order " << ids[i];
        EXPECT_TRUE(sp == 200 || sp == 409) << sp;
        const int64_t expectedVersion = sp == 200 ? 3 : 2;
        EXPECT_TRUE(waitUntil(
            [&] {
                for (int port : {a->port(), b->port()}) {
                    JsonValue o = getOrder(port, ids[i]).json();
                    if (stringField(o, "status") != "Cancelled" || intField(o, "version") != expectedVersion)
                        return false;
                }
                return true;
            },
            std::chrono::seconds(5)))
            << "order " << ids[i] << " process=" << sp;
    }
}

TEST_F(RedisCluster, AKilledNodeLosesNothingAcknowledgedTheOtherKeepsServingAndItLeavesTheNodeListWithin15s) {
    OrderNode* a = addNode("node-a");
    OrderNode* b = addNode("node-b");
    ASSERT_TRUE(a && b);
    ASSERT_TRUE(listsNode(a->port(), "node-b") && listsNode(b->port(), "node-a"));
    Writers writers({a->port(), b->port()}, 2);
    ASSERT_TRUE(waitUntil([&] { return writers.ackedCount() >= 100; }, std::chrono::seconds(20)));
    b->kill9();
    const auto killedAt = Clock::now();
    const size_t atKill = writers.ackedCount();
    ASSERT_TRUE(waitUntil([&] { return writers.ackedCount() >= atKill + 100; }, std::chrono::seconds(20)))
        << "node-a keeps accepting writes";
    ASSERT_TRUE(waitUntil([&] { return !listsNode(a->port(), "node-b"); }, std::chrono::seconds(20)));
    const double dropped = secondsSince(killedAt);
    std::cout << "[ measured ] the killed node left /api/cluster/nodes after " << dropped << " s\n";
    EXPECT_LE(dropped, 15.0);
    writers.stop();
    EXPECT_EQ(writers.failures()[a->port()].size(), 0u) << "node-a never failed a create";
    for (int64_t id : writers.acked())
        ASSERT_EQ(getOrder(a->port(), id).status, 200) << "acknowledged order " << id << " lost";
    EXPECT_TRUE(listsNode(a->port(), "node-a"));
}

TEST_F(RedisCluster, AFreshThirdNodeWithAnEmptyDatabaseCatchesUpFromTheLogBeforeItServes) {
    OrderNode* a = addNode("node-a");
    OrderNode* b = addNode("node-b");
    ASSERT_TRUE(a && b);
    std::vector<int64_t> ids;
    for (int i = 0; i < 60; ++i) ids.push_back(createOrder((i % 2 ? b : a)->port(), "Early"));
    for (int i = 0; i < 20; ++i) {
        ASSERT_TRUE(waitUntil([&] { return getOrder(a->port(), ids[i]).status == 200; }, std::chrono::seconds(5)));
        ASSERT_EQ(command(a->port(), ids[i], "process").status, 200);
    }
    const auto t0 = Clock::now();
    OrderNode* c = addNode("node-c");
    ASSERT_TRUE(c);
    std::cout << "[ measured ] a fresh node replayed 80 events and was ready after " << secondsSince(t0) << " s\n";
    for (int i = 0; i < 60; ++i) {
        JsonValue o = getOrder(c->port(), ids[i]).json();
        ASSERT_EQ(intField(o, "id"), ids[i]);
        EXPECT_EQ(stringField(o, "status"), i < 20 ? "Processing" : "Pending");
    }
    EXPECT_TRUE(waitUntil([&] { return totalOrders(c->port()) == 60; }, std::chrono::seconds(5)));
    EXPECT_EQ(httpGet(c->port(), "/api/cluster/nodes").json().items().size(), 3u);
    // The newcomer writes for everyone.
    const int64_t fromC = createOrder(c->port(), "Late");
    ASSERT_GT(fromC, 0);
    EXPECT_TRUE(
        waitUntil([&] { return getOrder(a->port(), fromC).status == 200 && getOrder(b->port(), fromC).status == 200; },
                  std::chrono::seconds(5)));
}

TEST_F(RedisCluster, ARedisRestartUnderLoadLosesNothingAcknowledgedAndNodesRecoverByThemselves) {
    OrderNode* a = addNode("node-a");
    OrderNode* b = addNode("node-b");
    ASSERT_TRUE(a && b);
    const int64_t existing = createOrder(a->port(), "Before");
    ASSERT_GT(existing, 0);
    ASSERT_TRUE(waitUntil([&] { return getOrder(b->port(), existing).status == 200; }, std::chrono::seconds(5)));
    Writers writers({a->port(), b->port()}, 2);
    ASSERT_TRUE(waitUntil([&] { return writers.ackedCount() >= 100; }, std::chrono::seconds(20)));
    redis->kill9();
    ASSERT_TRUE(waitUntil([&] { return httpGet(a->port(), "/health/ready").status == 503; }, std::chrono::seconds(5)));
    EXPECT_EQ(getOrder(b->port(), existing).status, 200) << "reads of the local replica keep working";
    const auto t0 = Clock::now();
    HttpResult refused = httpPostJson(a->port(), "/api/orders", orderBody("While down"));
    EXPECT_EQ(refused.status, 503) << refused.body;
    EXPECT_LT(secondsSince(t0), 5.0) << "a write fails fast instead of hanging";
    const size_t beforeRestart = writers.ackedCount();
    ASSERT_TRUE(redis->start());
    ASSERT_TRUE(waitUntil([&] { return writers.ackedCount() >= beforeRestart + 100; }, std::chrono::seconds(20)))
        << "writes work again without restarting the nodes";
    writers.stop();
    EXPECT_TRUE(a->waitReady(std::chrono::seconds(5)) && b->waitReady(std::chrono::seconds(5)));
    const auto acked = writers.acked();
    std::cout << "[ measured ] " << acked.size() << " creates acknowledged around a Redis kill -9 and restart\n";
    ASSERT_TRUE(waitUntil([&] { return getOrder(b->port(), acked.back()).status == 200; }, std::chrono::seconds(5)));
    for (int64_t id : acked) {
        ASSERT_EQ(getOrder(a->port(), id).status, 200) << "acknowledged order " << id << " lost on node-a";
        ASSERT_EQ(getOrder(b->port(), id).status, 200) << "acknowledged order " << id << " lost on node-b";
    }
}

TEST_F(RedisCluster, EveryEventReachesTheWebhookOnceAlthoughEveryNodeRunsNotifications) {
    HookReceiver receiver;
    OrderNode* a = addNode("node-a", {}, receiver.url());
    OrderNode* b = addNode("node-b", {}, receiver.url());
    ASSERT_TRUE(a && b);
    std::vector<int64_t> ids;
    for (int i = 0; i < 20; ++i) ids.push_back(createOrder((i % 2 ? b : a)->port(), "Hooked"));
    for (int i = 0; i < 10; ++i) {
        ASSERT_TRUE(waitUntil([&] { return getOrder(b->port(), ids[i]).status == 200; }, std::chrono::seconds(5)));
        ASSERT_EQ(command(b->port(), ids[i], "process").status, 200);
    }
    std::set<std::string> eventIds;
    for (int64_t id : ids) {
        const JsonValue history = httpGet(a->port(), "/api/orders/" + std::to_string(id) + "/events").json();
        for (const auto& e : history.items()) eventIds.insert(stringField(e, "eventId"));
    }
    ASSERT_EQ(eventIds.size(), 30u);
    ASSERT_TRUE(waitUntil([&] { return receiver.received().size() >= 30; }, std::chrono::seconds(20)));
    std::this_thread::sleep_for(std::chrono::milliseconds(500));  // room for a duplicate to arrive
    const auto received = receiver.received();
    EXPECT_EQ(received.size(), 30u);
    EXPECT_EQ(receiver.total(), 30) << "an event was delivered more than once";
    for (const auto& kv : received) {
        EXPECT_EQ(eventIds.count(kv.first), 1u) << "unknown Idempotency-Key " << kv.first;
        EXPECT_EQ(kv.second, 1) << kv.first;
    }
}

TEST_F(RedisCluster, ANodeRefusesToStartWithOneClearLineWhenRedisIsUnreachable) {
    OrderNode::Options o;
    o.nodeId = "node-lonely";
    o.transport = "transport-redis";
    o.brokerUrl = "redis://127.0.0.1:" + std::to_string(freePort());
    OrderNode node(dir.file("lonely"), o);
    EXPECT_FALSE(node.start(std::chrono::seconds(10)));
    ASSERT_NE(node.process(), nullptr);
    EXPECT_EQ(node.process()->wait(std::chrono::seconds(10)), 1);
    EXPECT_NE(node.output().find("cannot reach Redis at " + o.brokerUrl), std::string::npos) << node.output();
}

TEST_F(RedisCluster, WebhooksPendingOnAKilledNodeAreTakenOverAndDeliveredOnceByAnother) {
    HookReceiver receiver;
    receiver.setFailing(true);
    const std::map<std::string, std::map<std::string, std::string>> keys = {
        {"transport.redis", {{"reaction_claim_idle_ms", "1000"}}},
        {"notifications", {{"retry_initial_ms", "100"}, {"retry_max_ms", "300"}}}};
    OrderNode* a = addNode("node-a", keys, receiver.url());
    OrderNode* b = addNode("node-b", keys, receiver.url());
    ASSERT_TRUE(a && b);
    std::vector<int64_t> ids;
    for (int i = 0; i < 20; ++i) ids.push_back(createOrder(b->port(), "Pending"));
    // Every event has been tried (and refused) at least once, so each sits in a node's pending list.
    ASSERT_TRUE(waitUntil([&] { return receiver.attemptedKeys() >= 20; }, std::chrono::seconds(10)));
    b->kill9();
    receiver.setFailing(false);
    ASSERT_TRUE(waitUntil([&] { return receiver.received().size() >= 20; }, std::chrono::seconds(30)))
        << "delivered " << receiver.received().size() << " of 20";
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    EXPECT_EQ(receiver.received().size(), 20u);
    EXPECT_EQ(receiver.total(), 20) << "an event was accepted more than once";
    const std::string metrics = httpGet(a->port(), "/metrics").body;
    const double claimed = metricSample(metrics, "ordersystem_redis_reaction_claims_total{reaction=\"notifications\"}");
    ASSERT_GE(claimed, 0.0) << metrics;
    EXPECT_GT(claimed, 0.0) << "node-a took over node-b's pending deliveries";
}

TEST_F(RedisCluster, AWebhookThatNeverAcceptsEndsInTheDeadLetterStreamVisibleInLogsAndMetrics) {
    HookReceiver receiver;
    receiver.setFailing(true);
    OrderNode* a = addNode(
        "node-a", {{"notifications", {{"max_attempts", "3"}, {"retry_initial_ms", "50"}, {"retry_max_ms", "100"}}}},
        receiver.url());
    ASSERT_TRUE(a);
    const int64_t id = createOrder(a->port(), "Doomed");
    ASSERT_GT(id, 0);
    const JsonValue history = httpGet(a->port(), "/api/orders/" + std::to_string(id) + "/events").json();
    ASSERT_EQ(history.items().size(), 1u);
    const std::string eventId = stringField(history.items()[0], "eventId");
    auto deadLetters = [&] {
        return metricSample(httpGet(a->port(), "/metrics").body,
                            "ordersystem_reaction_dead_letters_total{reaction=\"notifications\"}");
    };
    ASSERT_TRUE(waitUntil([&] { return deadLetters() == 1.0; }, std::chrono::seconds(15))) << deadLetters();
    EXPECT_NE(a->output().find("gave up on event " + eventId), std::string::npos);
    EXPECT_EQ(receiver.received().size(), 0u);
}

TEST_F(RedisCluster, AStaleIfMatchIs412OnAnyNodeAndEveryNodeShowsTheEventMetadata) {
    OrderNode* a = addNode("node-a");
    OrderNode* b = addNode("node-b");
    ASSERT_TRUE(a && b);
    checkIfMatchAndMetadataAcrossNodes(a->port(), b->port());
}
