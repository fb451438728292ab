// GET /api/dead-letters and their retry in cluster mode: one list for every node.
#include "NatsClusterHttp.h"
#include "ordersystem/testing/DeadLettersAcrossNodes.h"

namespace ordersystem::natscluster {
namespace {

TEST_F(NatsCluster, ADeadLetterOfOneNodeIsListedByAnotherAndRetriedFromThere) {
    HookReceiver hooks;
    OrderNode* a = addNode("node-a", quickDeadLetterKeys(), hooks.url());
    OrderNode* b = addNode("node-b", quickDeadLetterKeys(), hooks.url());
    ASSERT_TRUE(a && b);
    expectDeadLettersSharedAcrossNodes(*a, *b, hooks);
}

}  // namespace
}  // namespace ordersystem::natscluster
