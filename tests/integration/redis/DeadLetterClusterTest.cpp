// GET /api/dead-letters and their retry in distributed mode: one list for every node.
#include "ClusterHttp.h"
#include "ordersystem/testing/DeadLettersAcrossNodes.h"

namespace ordersystem::clustertest {
namespace {

TEST_F(RedisCluster, ADeadLetterOfOneNodeIsListedByAnotherAndRetriedFromThere) {
    HookReceiver hooks;
    OrderNode* a = addNode("node-a", quickDeadLetterKeys(), hooks.url());
    OrderNode* b = addNode("node-b", quickDeadLetterKeys(), hooks.url());
    ASSERT_TRUE(a && b);
    expectDeadLettersSharedAcrossNodes(*a, *b, hooks);
}

}  // namespace
}  // namespace ordersystem::clustertest
