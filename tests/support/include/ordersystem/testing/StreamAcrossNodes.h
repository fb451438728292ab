// The live event stream seen from two nodes of one cluster, for every distributed mode: an event
// accepted by one node is on the stream of every node with the same position and document, a
// stream resumed on one node from another node's position goes on without a gap, and a stream
// from the log's start on a node nobody streamed from replays the log, then goes on live.
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

/// Orders created on a while nobody streams from b; b's stream from position 0 then has each of
/// their events once, in increasing positions, and the next event live.
inline void expectAStreamFromTheStartReplaysTheLogThenGoesOnLive(OrderNode& a, OrderNode& b) {
    std::vector<int64_t> ids;
    for (int i = 0; i < 3; ++i) ids.push_back(createOrder(a.port(), "Early" + std::to_string(i)));
    for (int64_t id : ids) ASSERT_GT(id, 0);
    const std::string lastPath = "/api/orders/" + std::to_string(ids.back());
    ASSERT_TRUE(waitUntil([&] { return httpGet(b.port(), lastPath).status == 200; }, std::chrono::seconds(10)))
        << "b's read model never got the orders";
    SseClient fromStart(b.port(), "/api/events/stream?after=0");
    ASSERT_EQ(fromStart.head().status, 200) << fromStart.head().body;
    const auto history = fromStart.take(3, std::chrono::seconds(10));
    ASSERT_EQ(history.size(), 3u);
    for (size_t i = 0; i < history.size(); ++i) {
        EXPECT_EQ(history[i].event, "OrderCreated");
        EXPECT_EQ(intField(sdk::parseJson(history[i].data).value(), "orderId"), ids[i]);
        if (i > 0) EXPECT_LT(std::stoull(history[i - 1].id), std::stoull(history[i].id));
    }
    ASSERT_EQ(command(a.port(), ids[0], "process").status, 200);
    const auto live = fromStart.next(std::chrono::seconds(10));
    ASSERT_TRUE(live);
    EXPECT_EQ(live->event, "OrderProcessing");
    EXPECT_LT(std::stoull(history.back().id), std::stoull(live->id));
}

}  // namespace ordersystem::clustertest
