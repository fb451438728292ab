// Appends pipelined by concurrent callers and order ids handed out from per-node blocks.
#include <thread>

#include "RedisTestNodes.h"

using namespace ordersystem::redistest;
using ordersystem::testing::TempDir;

namespace {

class RedisPipeline : public ::testing::Test {
protected:
    void SetUp() override {
        ASSERT_TRUE(SharedRedis::instance().ok()) << "redis-server could not be started (is it installed?)";
        url = SharedRedis::instance().url();
        prefix = uniquePrefix("pipe");
    }
    void TearDown() override {
        if (!url.empty()) dropPrefix(url, prefix);
    }
    TempDir dir;
    std::string url;
    std::string prefix;
};

AppendResult appendCreate(RedisEventLog& log, int64_t orderId) {
    AppendRequest req;
    req.orderId = orderId;
    req.expectedVersion = 0;
    req.events.push_back(makeEvent(orderId, 1));
    return log.append(req);
}

}  // namespace

TEST_F(RedisPipeline, ConcurrentAppendsOnOneNodeEachGetTheirOwnAnswerAndAConflictFailsOnlyItsOwn) {
    // One pipeline at a time, so concurrent appends must share pipelined writes.
    auto node = startNode(url, prefix, "node-a", dir.path(), {{"append_pipelines", "1"}});
    ASSERT_TRUE(node);
    constexpr int kThreads = 16, kPerThread = 25;
    std::vector<std::vector<AppendResult>> created(kThreads), duplicated(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < kPerThread; ++i) {
                const int64_t id = 1000 + t * 100 + i;
                created[t].push_back(appendCreate(node->log(), id));
                duplicated[t].push_back(appendCreate(node->log(), id));  // the order exists now
            }
        });
    for (auto& th : threads) th.join();
    std::set<uint64_t> positions;
    for (int t = 0; t < kThreads; ++t)
        for (int i = 0; i < kPerThread; ++i) {
            const AppendResult& ok = created[t][i];
            ASSERT_TRUE(ok.status.isOk()) << ok.status.message;
            EXPECT_TRUE(positions.insert(ok.lastPosition).second) << "position " << ok.lastPosition << " twice";
            const AppendResult& dup = duplicated[t][i];
            EXPECT_EQ(dup.status.code, StatusCode::VersionConflict) << dup.status.message;
            EXPECT_EQ(dup.currentVersion, 1);
        }
    EXPECT_EQ(positions.size(), static_cast<size_t>(kThreads * kPerThread));
    EXPECT_EQ(node->log().headPosition().value(), static_cast<uint64_t>(kThreads * kPerThread));
    auto events = node->log().readOrder(1000 + 7 * 100 + 3);
    ASSERT_TRUE(events.isOk());
    ASSERT_EQ(events->size(), 1u);
    EXPECT_EQ((*events)[0].position, created[7][3].lastPosition);
    const double batches = node->host->fakeMetrics().value("ordersystem_redis_append_batches_total");
    EXPECT_GT(batches, 0.0);
    EXPECT_LE(batches, 2.0 * kThreads * kPerThread);
    node->plugin->stop();
}

TEST_F(RedisPipeline, AnAppendAfterEveryPooledConnectionWasKilledSucceedsOnAFreshOne) {
    auto node = startNode(url, prefix, "node-a", dir.path());
    ASSERT_TRUE(node);
    ASSERT_TRUE(appendCreate(node->log(), 1).status.isOk());
    auto raw = rawConnection(url);
    ASSERT_TRUE(raw);
    // Kills every other client, the node's pooled connections among them (its readers reconnect).
    rawCommand(*raw, {"CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"});
    AppendResult res = appendCreate(node->log(), 2);
    EXPECT_TRUE(res.status.isOk()) << res.status.message;
    EXPECT_EQ(node->log().readOrder(2)->size(), 1u);
    node->plugin->stop();
}

TEST_F(RedisPipeline, ANodeRestartedOnTheSamePrefixNeverHandsOutAnIdItHandedOutBefore) {
    std::set<int64_t> ids;
    int64_t highest = 0;
    for (int run = 0; run < 3; ++run) {
        auto node = startNode(url, prefix, "node-a", dir.path(), {{"order_id_block", "10"}});
        ASSERT_TRUE(node);
        int64_t previous = 0;
        for (int i = 0; i < 4; ++i) {  // fewer than a block: the rest of it is skipped on restart
            auto id = node->log().allocateOrderId();
            ASSERT_TRUE(id.isOk()) << id.status().message;
            EXPECT_TRUE(ids.insert(id.value()).second) << "id " << id.value() << " handed out twice";
            EXPECT_GT(id.value(), previous) << "a node's ids increase";
            EXPECT_GT(id.value(), highest) << "a restarted node reused an older block";
            previous = id.value();
        }
        highest = previous;
        node->plugin->stop();
    }
    EXPECT_EQ(ids.size(), 12u);
    EXPECT_GT(*ids.begin(), 0);
}

TEST_F(RedisPipeline, IdsStayUniqueWhenANodeReservesBlocksBesideOneTakingSingleIdsFromTheSameCounter) {
    auto node = startNode(url, prefix, "node-a", dir.path(), {{"order_id_block", "5"}});
    ASSERT_TRUE(node);
    auto raw = rawConnection(url);
    ASSERT_TRUE(raw);
    std::set<int64_t> ids;
    for (int i = 0; i < 12; ++i) {
        auto id = node->log().allocateOrderId();
        ASSERT_TRUE(id.isOk()) << id.status().message;
        EXPECT_TRUE(ids.insert(id.value()).second) << "id " << id.value() << " handed out twice";
        // What a node of the previous version does: INCR the shared counter for one id.
        const int64_t single = std::stoll(rawCommand(*raw, {"INCR", prefix + ":order-id"}));
        EXPECT_TRUE(ids.insert(single).second) << "id " << single << " handed out twice";
    }
    EXPECT_EQ(ids.size(), 24u);
    node->plugin->stop();
}
