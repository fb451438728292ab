// The ordersystem executable on a Sentinel-monitored Redis, driven over HTTP like a user.
#include "ordersystem/testing/ClusterHttp.h"
#include "ordersystem/testing/RedisSentinelGroup.h"

using namespace ordersystem::testing;
using ordersystem::clustertest::createOrder;
using ordersystem::clustertest::getOrder;

TEST(RedisSentinelHttp, ANodeKeepsTakingOrdersWhenThePrimaryIsKilled) {
    if (!RedisServer::available()) GTEST_SKIP() << "redis-server is not installed";
    TempDir dir;
    RedisSentinelGroup group(dir.path() + "/redis");
    ASSERT_TRUE(group.start());
    OrderNode::Options options;
    options.transport = "transport-redis";
    options.brokerUrl = group.serverUrl(1);  // a replica: with sentinels only its password/db count
    options.extraKeys["transport.redis"] = {{"sentinels", group.sentinelList()},
                                            {"master_name", group.masterName()},
                                            {"min_replicas_ack", "1"},
                                            {"connect_timeout_ms", "300"},
                                            {"command_timeout_ms", "1000"}};
    OrderNode node(dir.path() + "/node", options);
    ASSERT_TRUE(node.start()) << node.output();
    const int64_t before = createOrder(node.port(), "Before");
    ASSERT_GT(before, 0) << node.output();

    group.kill9(0);
    const int promoted = group.waitForNewPrimary(0, std::chrono::seconds(30));
    ASSERT_GT(promoted, 0) << "Sentinel promoted no replica";
    int64_t after = 0;
    EXPECT_TRUE(waitUntil(
        [&] {
            after = createOrder(node.port(), "After");
            return after > 0;
        },
        std::chrono::seconds(30)))
        << node.output();
    EXPECT_NE(after, before) << "an order id was handed out twice";
    EXPECT_EQ(getOrder(node.port(), before).status, 200) << "the order acknowledged before the kill is kept";
    EXPECT_EQ(getOrder(node.port(), after).status, 200);
    EXPECT_NE(node.output().find("primary is now 127.0.0.1:" + std::to_string(group.serverPort(promoted))),
              std::string::npos);
}
