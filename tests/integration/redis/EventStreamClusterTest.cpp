// GET /api/events/stream in distributed mode: every node streams every node's events.
#include "ClusterHttp.h"
#include "ordersystem/testing/StreamAcrossNodes.h"

namespace ordersystem::clustertest {
namespace {

TEST_F(RedisCluster, AnEventAcceptedByOneNodeAppearsOnAStreamOpenedOnAnother) {
    OrderNode* a = addNode("node-a");
    OrderNode* b = addNode("node-b");
    ASSERT_TRUE(a && b);
    expectEventStreamsAgreeAcrossNodes(*a, "node-a", *b);
}

TEST_F(RedisCluster, AStreamFromTheStartOnANodeNobodyStreamedFromReplaysTheLogThenGoesOnLive) {
    OrderNode* a = addNode("node-a");
    OrderNode* b = addNode("node-b");
    ASSERT_TRUE(a && b);
    expectAStreamFromTheStartReplaysTheLogThenGoesOnLive(*a, *b);
}

}  // namespace
}  // namespace ordersystem::clustertest
