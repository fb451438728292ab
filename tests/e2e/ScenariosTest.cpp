// The original order system's scenarios and the read side, as a user sees them over HTTP.
#include "E2e.h"

#include <algorithm>
#include <set>

using namespace e2e;

namespace {
class Scenarios : public StandaloneTest {};
}  // namespace

TEST_F(Scenarios, CreateProcessCompleteMovesTheOrderThroughItsLifeAndRecordsEachStep) {
    const HttpResult created = httpPostJson(port(), "/api/orders", orderBody("Alice", {{"Book", 3, "15.99"}}));
    ASSERT_EQ(created.status, 201) << created.body;
    const int64_t id = intField(created.json(), "orderId");
    ASSERT_GT(id, 0);
    EXPECT_EQ(created.header("location"), "/api/orders/" + std::to_string(id));
    const std::string number = stringField(created.json(), "orderNumber");
    EXPECT_EQ(number.rfind("ORD-", 0), 0u) << number;
    EXPECT_EQ(number.size(), std::string("ORD-20251011192145-0001").size()) << number;

    const HttpResult processed = post("/api/orders/" + std::to_string(id) + "/process");
    ASSERT_EQ(processed.status, 200) << processed.body;
    EXPECT_EQ(stringField(processed.json(), "status"), "Processing");
    const HttpResult completed = post("/api/orders/" + std::to_string(id) + "/complete");
    ASSERT_EQ(completed.status, 200) << completed.body;

    const HttpResult order = get("/api/orders/" + std::to_string(id));
    ASSERT_EQ(order.status, 200);
    const JsonValue doc = order.json();
    EXPECT_EQ(stringField(doc, "status"), "Completed");
    EXPECT_EQ(stringField(doc, "customerName"), "Alice");
    EXPECT_EQ(stringField(doc, "orderNumber"), number);
    EXPECT_EQ(doc.find("totalAmount")->numberText().substr(0, 5), "47.97");
    EXPECT_EQ(intField(doc, "version"), 3);
    EXPECT_TRUE(doc.find("processedAt")->isString());
    EXPECT_TRUE(doc.find("completedAt")->isString());
    EXPECT_TRUE(doc.find("cancelledAt")->isNull());
    EXPECT_TRUE(doc.find("cancelReason")->isNull());
    const std::string createdAt = stringField(doc, "createdAt");
    EXPECT_EQ(createdAt.size(), 24u) << createdAt;
    EXPECT_EQ(createdAt.back(), 'Z');
    ASSERT_EQ(doc.find("items")->items().size(), 1u);
    EXPECT_EQ(stringField(doc.find("items")->items()[0], "productName"), "Book");

    const HttpResult events = get("/api/orders/" + std::to_string(id) + "/events");
    ASSERT_EQ(events.status, 200);
    const JsonValue eventsDoc = events.json();
    const auto& list = eventsDoc.items();
    ASSERT_EQ(list.size(), 3u) << events.body;
    EXPECT_EQ(stringField(list[0], "type"), "OrderCreated");
    EXPECT_EQ(stringField(list[1], "type"), "OrderProcessing");
    EXPECT_EQ(stringField(list[2], "type"), "OrderCompleted");
    for (size_t i = 0; i < list.size(); ++i) {
        EXPECT_EQ(intField(list[i], "version"), static_cast<int64_t>(i + 1));
        EXPECT_EQ(intField(list[i], "orderId"), id);
        EXPECT_EQ(stringField(list[i], "nodeId"), "node-1");
        EXPECT_EQ(stringField(list[i], "eventId").size(), 36u);
    }
    EXPECT_EQ(list[0].find("data")->find("totalAmount")->numberText().substr(0, 5), "47.97");
}

TEST_F(Scenarios, CancelWithAReasonRecordsTheReasonAndTheTime) {
    const int64_t id = create("Bob", {{"Phone", 1, "699.99"}});
    const HttpResult cancelled = post("/api/orders/" + std::to_string(id) + "/cancel?reason=Changed%20mind");
    ASSERT_EQ(cancelled.status, 200) << cancelled.body;
    const JsonValue doc = get("/api/orders/" + std::to_string(id)).json();
    EXPECT_EQ(stringField(doc, "status"), "Cancelled");
    EXPECT_EQ(stringField(doc, "cancelReason"), "Changed mind");
    EXPECT_TRUE(doc.find("cancelledAt")->isString());
    const auto events = get("/api/orders/" + std::to_string(id) + "/events").json();
    ASSERT_EQ(events.items().size(), 2u);
    EXPECT_EQ(stringField(*events.items()[1].find("data"), "reason"), "Changed mind");
}

TEST_F(Scenarios, PendingListsOldestFirstAndCustomerListsNewestFirstWithExactMatch) {
    const int64_t a1 = create("Alice");
    const int64_t b1 = create("Bob");
    const int64_t a2 = create("Alice");
    create("Alice Smith");
    ASSERT_EQ(post("/api/orders/" + std::to_string(b1) + "/process").status, 200);

    const HttpResult pending = get("/api/orders/pending");
    ASSERT_EQ(pending.status, 200);
    std::vector<int64_t> pendingIds;
    const JsonValue pendingDoc = pending.json();
    for (const auto& o : pendingDoc.items()) pendingIds.push_back(intField(o, "id"));
    ASSERT_GE(pendingIds.size(), 3u);
    EXPECT_EQ(pendingIds[0], a1);
    EXPECT_EQ(pendingIds[1], a2);
    EXPECT_EQ(std::count(pendingIds.begin(), pendingIds.end(), b1), 0);

    const HttpResult alice = get("/api/orders/customer/Alice");
    ASSERT_EQ(alice.status, 200);
    const JsonValue aliceDoc = alice.json();
    const auto& list = aliceDoc.items();
    ASSERT_EQ(list.size(), 2u) << alice.body;
    EXPECT_EQ(intField(list[0], "id"), a2);
    EXPECT_EQ(intField(list[1], "id"), a1);

    const HttpResult spaced = get("/api/orders/customer/" + urlEncode("Alice Smith"));
    ASSERT_EQ(spaced.status, 200);
    EXPECT_EQ(spaced.json().items().size(), 1u) << spaced.body;
    EXPECT_EQ(get("/api/orders/customer/Nobody").json().items().size(), 0u);
}

TEST_F(Scenarios, ListFiltersByStatusAndCustomerAndPagesWithACursor) {
    for (int i = 0; i < 5; ++i) create("Pager");
    const int64_t processed = create("Pager");
    ASSERT_EQ(post("/api/orders/" + std::to_string(processed) + "/process").status, 200);

    const HttpResult byStatus = get("/api/orders?status=Processing");
    ASSERT_EQ(byStatus.status, 200) << byStatus.body;
    const JsonValue doc = byStatus.json();
    const JsonValue* items = doc.find("items");
    ASSERT_NE(items, nullptr) << byStatus.body;
    ASSERT_EQ(items->items().size(), 1u);
    EXPECT_EQ(intField(items->items()[0], "id"), processed);

    std::set<int64_t> seen;
    std::string cursor;
    for (int page = 0; page < 10; ++page) {
        std::string path = "/api/orders?customer=Pager&limit=2";
        if (!cursor.empty()) path += "&cursor=" + urlEncode(cursor);
        const HttpResult r = get(path);
        ASSERT_EQ(r.status, 200) << r.body;
        const JsonValue pageDoc = r.json();
        for (const auto& o : pageDoc.find("items")->items()) {
            EXPECT_TRUE(seen.insert(intField(o, "id")).second) << "order listed twice";
        }
        const JsonValue* next = pageDoc.find("nextCursor");
        if (!next || !next->isString()) break;
        cursor = next->asString();
    }
    EXPECT_EQ(seen.size(), 6u);
}

TEST_F(Scenarios, AnalyticsCountOrdersByStatusWithExactRevenue) {
    const int64_t a = create("A", {{"Book", 3, "15.99"}});
    const int64_t b = create("B", {{"Pen", 2, "0.10"}});
    create("C", {{"Cup", 1, "5.00"}});
    ASSERT_EQ(post("/api/orders/" + std::to_string(a) + "/process").status, 200);
    ASSERT_EQ(post("/api/orders/" + std::to_string(a) + "/complete").status, 200);
    ASSERT_EQ(post("/api/orders/" + std::to_string(b) + "/cancel?reason=x").status, 200);

    JsonValue doc;
    ASSERT_TRUE(waitUntil(
        [&] {
            doc = get("/api/analytics").json();
            return intField(doc, "totalOrders") == 3 && doc.find("ordersByStatus") &&
                   intField(*doc.find("ordersByStatus"), "Completed") == 1 &&
                   intField(*doc.find("ordersByStatus"), "Cancelled") == 1;
        },
        std::chrono::seconds(5)));
    const JsonValue& byStatus = *doc.find("ordersByStatus");
    EXPECT_EQ(intField(byStatus, "Pending"), 1);
    EXPECT_EQ(intField(byStatus, "Processing"), 0);
    EXPECT_DOUBLE_EQ(doc.find("completedRevenue")->asDouble(), 47.97);
    // (47.97 + 0.20 + 5.00) / 3 = 17.7233 -> 17.72
    EXPECT_DOUBLE_EQ(doc.find("averageOrderValue")->asDouble(), 17.72);
}

TEST_F(Scenarios, ARepeatedCreateWithTheSameIdempotencyKeyReturnsTheFirstOrder) {
    const std::string body = orderBody("Idem", {{"Lamp", 1, "20.00"}});
    const HttpResult first = httpPostJson(port(), "/api/orders", body, {{"Idempotency-Key", "key-123"}});
    ASSERT_EQ(first.status, 201) << first.body;
    const HttpResult again = httpPostJson(port(), "/api/orders", body, {{"Idempotency-Key", "key-123"}});
    EXPECT_EQ(again.status, 201) << again.body;
    EXPECT_EQ(intField(again.json(), "orderId"), intField(first.json(), "orderId"));
    EXPECT_EQ(stringField(again.json(), "orderNumber"), stringField(first.json(), "orderNumber"));
    EXPECT_EQ(get("/api/orders/customer/Idem").json().items().size(), 1u);

    const HttpResult other = httpPostJson(port(), "/api/orders", orderBody("Idem", {{"Lamp", 2, "20.00"}}),
                                          {{"Idempotency-Key", "key-123"}});
    EXPECT_EQ(other.status, 422) << other.body;
    EXPECT_EQ(other.header("content-type").rfind("application/problem+json", 0), 0u);
    EXPECT_EQ(get("/api/orders/customer/Idem").json().items().size(), 1u);
}

TEST_F(Scenarios, ClusterNodesAndHealthDescribeTheStandaloneNode) {
    const HttpResult health = get("/health");
    ASSERT_EQ(health.status, 200) << health.body;
    EXPECT_EQ(stringField(health.json(), "status"), "Healthy");
    EXPECT_EQ(stringField(health.json(), "nodeId"), "node-1");
    EXPECT_EQ(stringField(health.json(), "mode"), "standalone");
    EXPECT_EQ(get("/health/live").status, 200);
    EXPECT_EQ(get("/health/ready").status, 200);
    const HttpResult nodes = get("/api/cluster/nodes");
    ASSERT_EQ(nodes.status, 200);
    ASSERT_EQ(nodes.json().items().size(), 1u) << nodes.body;
    EXPECT_EQ(stringField(nodes.json().items()[0], "nodeId"), "node-1");
    EXPECT_EQ(stringField(nodes.json().items()[0], "mode"), "standalone");
    const HttpResult metrics = get("/metrics");
    EXPECT_EQ(metrics.status, 200);
    EXPECT_NE(metrics.body.find("ordersystem_http_requests_total"), std::string::npos);
}
