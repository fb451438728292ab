// The live event stream seen from two nodes of one cluster, for every distributed mode: an event
// accepted by one node is on the stream of every node with the same position and document, and a
// stream resumed on one node from another node's position goes on without a gap.
#pragma once

#include "ordersystem/testing/ClusterHttp.h"
#include "ordersystem/testing/SseClient.h"

namespace ordersystem::clustertest {

/// a is the node named aNodeId.
inline void expectEventStreamsAgreeAcrossNodes(OrderNode& a, const std::string& aNodeId, OrderNode& b) {
    SseClient onB(b.port(), "/api/events/stream");
    ASSERT_EQ(onB.head().status, 200) << onB.head().body;
    SseClient onA(a.port(), "/api/events/stream");
    ASSERT_EQ(onA.head().status, 200) << onA.head().body;

    const int64_t id = createOrder(a.port(), "Alice");
    ASSERT_GT(id, 0);
    ASSERT_EQ(command(b.port(), id, "process").status, 200);
    const auto seenOnB = onB.take(2, std::chrono::seconds(10));
    const auto seenOnA = onA.take(2, std::chrono::seconds(10));
    ASSERT_EQ(seenOnB.size(), 2u);
    ASSERT_EQ(seenOnA.size(), 2u);
    EXPECT_EQ(seenOnB[0].event, "OrderCreated");
    EXPECT_EQ(seenOnB[1].event, "OrderProcessing");
    for (size_t i = 0; i < 2; ++i) {
        EXPECT_EQ(seenOnA[i].id, seenOnB[i].id) << "one log, one position per event on every node";
        EXPECT_EQ(seenOnA[i].data, seenOnB[i].data);
    }
    EXPECT_EQ(stringField(sdk::parseJson(seenOnB[0].data).value(), "nodeId"), aNodeId);

    // Resuming on the other node from a position the first one gave.
    SseClient resumed(b.port(), "/api/events/stream", {"Last-Event-ID: " + seenOnA[0].id});
    const auto next = resumed.next(std::chrono::seconds(10));
    ASSERT_TRUE(next);
    EXPECT_EQ(next->id, seenOnA[1].id);
}

}  // namespace ordersystem::clustertest
