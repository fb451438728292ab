// The orders REST routes as a client sees them, over a fake event log.
#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

#include "OrdersFixture.h"
#include "domain/Order.h"

namespace ordersystem::plugins::orders::testing {
namespace {

using CreateOrder = OrdersTest;
using OrderTransition = OrdersTest;
using OrderConcurrency = OrdersTest;
using OrderLists = OrdersTest;
using OrderEvents = OrdersTest;
using GetOrder = OrdersTest;

TEST_F(CreateOrder, AnswersCreatedWithLocationIdAndOrderNumber) {
    auto r = create(R"({"customerName":"John Doe","items":[{"productName":"Laptop","quantity":1,"price":999.99}]})");
    ASSERT_EQ(r.status, 201) << r.body;
    auto doc = json(r.body);
    EXPECT_EQ(str(doc, "orderId"), "1");
    const std::string number = str(doc, "orderNumber");
    EXPECT_EQ(number.size(), std::string("ORD-20251011192145-0001").size()) << number;
    EXPECT_EQ(number.rfind("ORD-", 0), 0u);
    EXPECT_EQ(number.substr(number.size() - 5), "-0001");
    bool location = false;
    for (const auto& h : r.headers) location |= h.first == "Location" && h.second == "/api/orders/1";
    EXPECT_TRUE(location);
}

TEST_F(CreateOrder, NewOrderIsReadableAtOnceAsPendingVersionOne) {
    const int64_t id = createOrder();
    auto r = get(url(id));
    ASSERT_EQ(r.status, 200) << r.body;
    auto doc = json(r.body);
    EXPECT_EQ(str(doc, "status"), "Pending");
    EXPECT_EQ(str(doc, "version"), "1");
    EXPECT_EQ(str(doc, "customerName"), "John Doe");
    EXPECT_EQ(str(doc, "processedAt"), "null");
    EXPECT_EQ(str(doc, "cancelReason"), "null");
    EXPECT_EQ(str(doc, "createdAt").size(), 24u);
}

TEST_F(CreateOrder, TotalIsExactForThreeTimesFifteenNinetyNine) {
    const int64_t id = createOrder("A", R"([{"productName":"Book","quantity":3,"price":15.99}])");
    EXPECT_EQ(str(json(get(url(id)).body), "totalAmount"), "47.97");
}

TEST_F(CreateOrder, TotalIsExactForLaptopAndTwoMice) {
    const int64_t id = createOrder(
        "A",
        R"([{"productName":"Laptop","quantity":1,"price":999.99},{"productName":"Mouse","quantity":2,"price":29.99}])");
    auto doc = json(get(url(id)).body);
    EXPECT_EQ(str(doc, "totalAmount"), "1059.97");
    EXPECT_EQ(doc.find("items")->items()[1].find("price")->numberText(), "29.99");
}

TEST_F(CreateOrder, InvalidRequestsAre400WithTheFieldNamedAndStoreNothing) {
    const struct {
        std::string body;
        std::string field;
    } cases[] = {
        {R"({"customerName":"","items":[{"productName":"A","quantity":1,"price":1}]})", "customerName"},
        {R"({"customerName":"A","items":[]})", "items"},
        {R"({"customerName":"A","items":[{"productName":"A","quantity":0,"price":1}]})", "items[0].quantity"},
        {R"({"customerName":"A","items":[{"productName":"A","quantity":1,"price":1.001}]})", "items[0].price"},
        {R"({"customerName":"A","items":[{"productName":"A","quantity":1,"price":"1"}]})", "items[0].price"},
        {R"({"customerName":"A","items":[{"productName":"A","quantity":1,"price":1},{"productName":null,"quantity":1,"price":1}]})",
         "items[1].productName"},
        {R"({"customerName":"A","items":[{"productName":"A","quantity":1,"price":1}])", "body"},  // malformed JSON
        {"", "body"},
        {R"("just a string")", "body"},
    };
    for (const auto& c : cases) {
        auto r = create(c.body);
        EXPECT_EQ(r.status, 400) << c.body;
        EXPECT_EQ(r.contentType, "application/problem+json");
        auto doc = json(r.body);
        bool named = false;
        if (const auto* errors = doc.find("errors"))
            for (const auto& e : errors->items()) named |= str(e, "field") == c.field;
        EXPECT_TRUE(named) << c.body << " -> " << r.body;
    }
    EXPECT_EQ(log.eventCount(), 0u);
    EXPECT_EQ(get("/api/orders").body, R"({"items":[],"nextCursor":null})");
}

TEST_F(CreateOrder, RouteDeclaresJsonBodySoTheHostAnswers415) {
    bool found = false;
    for (const auto& r : host->fakeRouter().routes())
        if (r.method == "POST" && r.segments.size() == 2) found = r.options.jsonBody;
    EXPECT_TRUE(found);
}

TEST_F(CreateOrder, LogOutageIs503AndStoresNothing) {
    log.setUnavailable(true);
    auto r = create(R"({"customerName":"A","items":[{"productName":"A","quantity":1,"price":1}]})");
    EXPECT_EQ(r.status, 503) << r.body;
    EXPECT_EQ(r.contentType, "application/problem+json");
    log.setUnavailable(false);
    EXPECT_EQ(log.eventCount(), 0u);
}

TEST_F(CreateOrder, CountsCommandOutcomesInMetrics) {
    createOrder();
    create("{");
    EXPECT_EQ(host->fakeMetrics().value("ordersystem_commands_total", {{"command", "CreateOrder"}, {"outcome", "ok"}}),
              1.0);
}

TEST_F(GetOrder, UnknownOrMalformedIdsAre404ProblemsNeverCrashes) {
    createOrder();
    for (const char* id : {"999", "0", "-1", "abc", "1.5", "9007199254740992", "99999999999999999999", "01", "1e3"}) {
        auto r = get(std::string("/api/orders/") + id);
        EXPECT_EQ(r.status, 404) << id;
        EXPECT_EQ(str(json(r.body), "detail"), "Order not found") << id;
    }
    EXPECT_EQ(post("/api/orders/999/process").status, 404);
    EXPECT_EQ(post("/api/orders/x/complete").status, 404);
    EXPECT_EQ(post("/api/orders/999/cancel", {{"reason", "r"}}).status, 404);
}

struct TransitionCase {
    const char* from;
    const char* action;
    int status;
    const char* detail;  // for 409
    const char* after;
};

TEST_F(OrderTransition, EveryCommandFromEveryStatusIs200Or409AndConflictsChangeNothing) {
    const TransitionCase cases[] = {
        {"Pending", "process", 200, nullptr, "Processing"},
        {"Pending", "complete", 409, "Order must be in Processing status, current: Pending", "Pending"},
        {"Pending", "cancel", 200, nullptr, "Cancelled"},
        {"Processing", "process", 409, "Order is already Processing", "Processing"},
        {"Processing", "complete", 200, nullptr, "Completed"},
        {"Processing", "cancel", 200, nullptr, "Cancelled"},
        {"Completed", "process", 409, "Order must be in Pending status, current: Completed", "Completed"},
        {"Completed", "complete", 409, "Order must be in Processing status, current: Completed", "Completed"},
        {"Completed", "cancel", 409, "Cannot cancel completed order", "Completed"},
        {"Cancelled", "process", 409, "Order must be in Pending status, current: Cancelled", "Cancelled"},
        {"Cancelled", "complete", 409, "Order must be in Processing status, current: Cancelled", "Cancelled"},
        {"Cancelled", "cancel", 409, "Order is already cancelled", "Cancelled"},
    };
    for (const auto& c : cases) {
        const int64_t id = createOrder();
        const std::string from = c.from;
        if (from == "Processing" || from == "Completed") {
            ASSERT_EQ(post(url(id, "/process")).status, 200);
        }
        if (from == "Completed") {
            ASSERT_EQ(post(url(id, "/complete")).status, 200);
        }
        if (from == "Cancelled") {
            ASSERT_EQ(post(url(id, "/cancel"), {{"reason", "setup"}}).status, 200);
        }
        ASSERT_EQ(statusOf(id), from);
        const std::string before = get(url(id)).body;
        const size_t eventsBefore = log.eventCount();
        auto r = post(url(id, std::string("/") + c.action), {{"reason", "because"}});
        EXPECT_EQ(r.status, c.status) << c.from << " " << c.action << ": " << r.body;
        if (c.detail) {
            EXPECT_EQ(str(json(r.body), "detail"), c.detail);
            EXPECT_EQ(r.contentType, "application/problem+json");
            EXPECT_EQ(get(url(id)).body, before) << "a refused command changed the order";
            EXPECT_EQ(log.eventCount(), eventsBefore);
        } else {
            EXPECT_EQ(str(json(r.body), "status"), c.after) << "the answer shows the new state";
            EXPECT_EQ(get(url(id)).body, r.body) << "read-your-writes";
        }
        EXPECT_EQ(statusOf(id), c.after);
    }
}

TEST_F(OrderTransition, SuccessfulTransitionsSetTimestampsVersionAndReason) {
    const int64_t id = createOrder();
    auto p = json(post(url(id, "/process")).body);
    EXPECT_EQ(str(p, "version"), "2");
    EXPECT_NE(str(p, "processedAt"), "null");
    auto c = json(post(url(id, "/cancel"), {{"reason", "out of stock"}}).body);
    EXPECT_EQ(str(c, "version"), "3");
    EXPECT_EQ(str(c, "cancelReason"), "out of stock");
    EXPECT_NE(str(c, "cancelledAt"), "null");
    EXPECT_EQ(str(c, "completedAt"), "null");
    const int64_t id2 = createOrder();
    post(url(id2, "/process"));
    auto done = json(post(url(id2, "/complete")).body);
    EXPECT_EQ(str(done, "status"), "Completed");
    EXPECT_NE(str(done, "completedAt"), "null");
}

TEST_F(OrderTransition, CancelWithoutBlankOrOverlongReasonIs400AndChangesNothing) {
    const int64_t id = createOrder();
    const std::string longReason(501, 'x');
    for (const sdk::HeaderList& q :
         {sdk::HeaderList{}, sdk::HeaderList{{"reason", "  "}}, sdk::HeaderList{{"reason", longReason}}}) {
        auto r = post(url(id, "/cancel"), q);
        EXPECT_EQ(r.status, 400) << r.body;
        EXPECT_EQ(str(json(r.body).find("errors")->items().at(0), "field"), "reason");
    }
    EXPECT_EQ(statusOf(id), "Pending");
    EXPECT_EQ(log.eventCount(), 1u);
}

TEST_F(OrderTransition, CancelAlsoTakesTheReasonFromAJsonBody) {
    const int64_t id = createOrder();
    auto r = call("POST", url(id, "/cancel"), R"({"reason":"sent as body"})", {{"Content-Type", "application/json"}});
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(str(json(r.body), "cancelReason"), "sent as body");
}

TEST_F(OrderTransition, LogOutageIs503AndTheOrderStaysAsItWas) {
    const int64_t id = createOrder();
    log.setUnavailable(true);
    EXPECT_EQ(post(url(id, "/process")).status, 503);
    log.setUnavailable(false);
    EXPECT_EQ(statusOf(id), "Pending");
    EXPECT_EQ(log.eventCount(), 1u);
}

TEST_F(OrderConcurrency, RefusedAppendIsRetriedAfterReReadingAndSucceeds) {
    const int64_t id = createOrder();
    const int readsBefore = log.readOrderCalls();
    log.refuseNextAppends(1);
    auto r = post(url(id, "/process"));
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(statusOf(id), "Processing");
    EXPECT_GT(log.readOrderCalls(), readsBefore) << "the command re-read the order's history";
    EXPECT_EQ(log.eventCount(), 2u);
}

TEST_F(OrderConcurrency, OtherWriterMakingTheCommandIllegalGives409WithItsState) {
    const int64_t id = createOrder();
    post(url(id, "/process"));
    // Another node completes the order between our read and our append.
    log.beforeNextAppend([id](FakeEventLog& l) {
        auto history = *l.readOrder(id);
        auto order = *domain::replay(history);
        ASSERT_TRUE(l.appendForeign(*domain::decideComplete(order, {"node-b", 1, ""})).isOk());
    });
    auto r = post(url(id, "/cancel"), {{"reason", "too late"}});
    EXPECT_EQ(r.status, 409) << r.body;
    EXPECT_EQ(str(json(r.body), "detail"), "Cannot cancel completed order");
    ASSERT_TRUE(waitCaughtUp());
    EXPECT_EQ(statusOf(id), "Completed");
}

TEST_F(OrderConcurrency, RacingCancelsOfOneOrderLetExactlyOneWin) {
    const int64_t id = createOrder();
    std::atomic<int> ok{0}, conflict{0}, other{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t)
        threads.emplace_back([&] {
            const int status = post(url(id, "/cancel"), {{"reason", "race"}}).status;
            (status == 200 ? ok : status == 409 ? conflict : other)++;
        });
    for (auto& t : threads) t.join();
    EXPECT_EQ(ok.load(), 1);
    EXPECT_EQ(conflict.load(), 7);
    EXPECT_EQ(other.load(), 0);
    EXPECT_EQ(log.eventCount(), 2u);
    EXPECT_EQ(versionOf(id), "2");
}

TEST_F(OrderConcurrency, EndlessConflictsEndIn409AfterBoundedRetries) {
    const int64_t id = createOrder();
    log.refuseNextAppends(1000);
    auto r = post(url(id, "/process"));
    EXPECT_EQ(r.status, 409);
    EXPECT_LE(log.appendCalls(), 1 + 6 + 1);
    log.refuseNextAppends(0);
    EXPECT_EQ(statusOf(id), "Pending");
}

TEST_F(OrderConcurrency, OrderCreatedElsewhereButNotYetProjectedCanStillBeProcessed) {
    stopPlugin();
    OrdersSettings quick;
    quick.commandTimeoutMs = 50;
    startPlugin(quick);
    log.pauseDelivery(true);
    domain::NewOrder n{"Remote", {{"A", 1, 100}}};
    ASSERT_TRUE(log.appendForeign(domain::makeCreated(n, 500, "ORD-X-0500", {"node-b", 1, ""})).isOk());
    // The local model does not know the order yet: the command reads it from the log.
    auto r = post(url(500, "/process"));
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(str(json(r.body), "status"), "Processing");
    // The command did not wait for the projection; the order is served from the cache at once.
    EXPECT_FALSE(host->fakeLogger().contains("did not apply position"));
    EXPECT_EQ(statusOf(500), "Processing");
    // A list must come from SQLite: it waits for the projection, gives up after the timeout and
    // says so.
    EXPECT_EQ(get("/api/orders").status, 200);
    EXPECT_TRUE(host->fakeLogger().contains("did not apply position")) << "the slow projection is logged";
    log.pauseDelivery(false);
    ASSERT_TRUE(waitCaughtUp());
    EXPECT_EQ(statusOf(500), "Processing");
}

std::vector<int64_t> idsOf(const sdk::JsonValue& array) {
    std::vector<int64_t> ids;
    for (const auto& o : array.items()) {
        int64_t id = 0;
        o.find("id")->asInt64(&id);
        ids.push_back(id);
    }
    return ids;
}

TEST_F(OrderLists, CustomerListIsNewestFirstAndExactMatch) {
    const int64_t a1 = createOrder("Alice");
    createOrder("Bob");
    const int64_t a2 = createOrder("Alice");
    createOrder("alice");
    createOrder("Alice Smith");
    auto r = get("/api/orders/customer/Alice");
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(idsOf(json(r.body)), (std::vector<int64_t>{a2, a1}));
    EXPECT_EQ(get("/api/orders/customer/Nobody").body, "[]");
}

TEST_F(OrderLists, PendingIsOldestFirstAndOnlyPending) {
    const int64_t p1 = createOrder();
    const int64_t x = createOrder();
    const int64_t p2 = createOrder();
    post(url(x, "/process"));
    EXPECT_EQ(idsOf(json(get("/api/orders/pending").body)), (std::vector<int64_t>{p1, p2}));
}

TEST_F(OrderLists, PagesWithLimitAndCursorUntilNextCursorIsNull) {
    std::vector<int64_t> all;
    for (int i = 0; i < 5; ++i) all.push_back(createOrder());
    std::vector<int64_t> seen;
    std::string cursor;
    for (int page = 0; page < 10; ++page) {
        sdk::HeaderList q{{"limit", "2"}};
        if (!cursor.empty()) q.emplace_back("cursor", cursor);
        auto doc = json(get("/api/orders", q).body);
        for (auto id : idsOf(*doc.find("items"))) seen.push_back(id);
        const auto* next = doc.find("nextCursor");
        ASSERT_NE(next, nullptr);
        if (next->isNull()) break;
        cursor = next->asString();
    }
    EXPECT_EQ(seen, all);
}

TEST_F(OrderLists, FiltersByStatusAndCustomer) {
    const int64_t a = createOrder("Alice");
    const int64_t b = createOrder("Bob");
    createOrder("Alice");
    post(url(a, "/process"));
    post(url(b, "/process"));
    auto doc = json(get("/api/orders", {{"status", "Processing"}, {"customer", "Alice"}}).body);
    EXPECT_EQ(idsOf(*doc.find("items")), (std::vector<int64_t>{a}));
    EXPECT_TRUE(doc.find("nextCursor")->isNull());
}

TEST_F(OrderLists, DefaultsTo100AndRefusesBadStatusLimitOrCursor) {
    for (int i = 0; i < 101; ++i) createOrder();
    auto doc = json(get("/api/orders").body);
    EXPECT_EQ(doc.find("items")->items().size(), 100u);
    const std::string cursor = doc.find("nextCursor")->asString();
    EXPECT_EQ(cursor.substr(cursor.find('-')), "-100") << cursor;
    for (const sdk::HeaderList& q :
         {sdk::HeaderList{{"status", "Shipped"}}, sdk::HeaderList{{"limit", "0"}}, sdk::HeaderList{{"limit", "1001"}},
          sdk::HeaderList{{"limit", "ten"}}, sdk::HeaderList{{"cursor", "x"}}}) {
        auto r = get("/api/orders", q);
        EXPECT_EQ(r.status, 400) << q.front().first << "=" << q.front().second;
        EXPECT_EQ(r.contentType, "application/problem+json");
    }
    EXPECT_EQ(json(get("/api/orders", {{"limit", "1000"}}).body).find("items")->items().size(), 101u);
}

TEST_F(OrderEvents, HistoryIsOldestFirstAsWireDocuments) {
    const int64_t id = createOrder();
    post(url(id, "/process"));
    post(url(id, "/cancel"), {{"reason", "r"}});
    auto r = get(url(id, "/events"));
    ASSERT_EQ(r.status, 200);
    auto doc = json(r.body);
    ASSERT_EQ(doc.items().size(), 3u);
    const char* types[] = {"OrderCreated", "OrderProcessing", "OrderCancelled"};
    std::set<std::string> eventIds;
    for (size_t i = 0; i < 3; ++i) {
        const auto& e = doc.items()[i];
        EXPECT_EQ(str(e, "type"), types[i]);
        EXPECT_EQ(str(e, "version"), std::to_string(i + 1));
        EXPECT_EQ(str(e, "nodeId"), "node-a");
        EXPECT_EQ(str(e, "orderId"), std::to_string(id));
        eventIds.insert(str(e, "eventId"));
    }
    EXPECT_EQ(eventIds.size(), 3u);
    const auto* data = doc.items()[0].find("data");
    ASSERT_NE(data, nullptr);
    EXPECT_EQ(data->find("totalAmount")->numberText(), "999.99");
    EXPECT_EQ(str(*doc.items()[2].find("data"), "reason"), "r");
}

TEST_F(OrderEvents, UnknownOrderIs404) {
    EXPECT_EQ(get("/api/orders/42/events").status, 404);
    EXPECT_EQ(get("/api/orders/abc/events").status, 404);
}

}  // namespace
}  // namespace ordersystem::plugins::orders::testing
