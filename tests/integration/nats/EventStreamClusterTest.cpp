// GET /api/events/stream in cluster mode: every node streams every node's events.
#include "NatsClusterHttp.h"
#include "ordersystem/testing/StreamAcrossNodes.h"

namespace ordersystem::natscluster {
namespace {

TEST_F(NatsCluster, AnEventAcceptedByOneNodeAppearsOnAStreamOpenedOnAnother) {
    OrderNode* a = addNode("node-a");
    OrderNode* b = addNode("node-b");
    ASSERT_TRUE(a && b);
    expectEventStreamsAgreeAcrossNodes(*a, "node-a", *b);
}

TEST_F(NatsCluster, AStreamFromTheStartOnANodeNobodyStreamedFromReplaysTheLogThenGoesOnLive) {
    OrderNode* a = addNode("node-a");
    OrderNode* b = addNode("node-b");
    ASSERT_TRUE(a && b);
    expectAStreamFromTheStartReplaysTheLogThenGoesOnLive(*a, *b);
}

}  // namespace
}  // namespace ordersystem::natscluster
