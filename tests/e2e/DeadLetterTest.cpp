// Webhook retries on their own schedule and dead letters (GET /api/dead-letters, POST .../retry)
// on a standalone node.
#include <algorithm>

#include "E2e.h"
#include "ordersystem/sdk/util.h"

using namespace e2e;

namespace {
class DeadLetters : public WebhookNodeTest {
protected:
    OrderNode::Options options() override {
        OrderNode::Options o = WebhookNodeTest::options();
        o.extraKeys["notifications"] = {{"max_attempts", "2"}, {"retry_initial_ms", "50"}, {"retry_max_ms", "100"}};
        return o;
    }
    /// eventId -> listed entry.
    std::map<std::string, JsonValue> listed() {
        std::map<std::string, JsonValue> out;
        const HttpResult r = get("/api/dead-letters");
        EXPECT_EQ(r.status, 200) << r.body;
        const JsonValue list = r.json();
        for (const auto& e : list.items()) out.emplace(stringField(e, "eventId"), e);
        return out;
    }
    std::vector<WebhookReceiver::Attempt> attemptsOf(int64_t orderId) {
        std::vector<WebhookReceiver::Attempt> out;
        for (const auto& a : receiver->attemptLog())
            if (a.orderId == orderId) out.push_back(a);
        return out;
    }
};
}  // namespace

TEST_F(DeadLetters, ARefusedOrderWaitsOutRetryAfterWhileAnotherOrdersEventsArriveAndKeepsItsOwnOrder) {
    receiver->refuseCustomer("Refused", 503, "2");
    const int64_t refused = create("Refused");
    const int64_t fine = create("Fine");
    ASSERT_EQ(post("/api/orders/" + std::to_string(fine) + "/process").status, 200);
    ASSERT_EQ(post("/api/orders/" + std::to_string(refused) + "/process").status, 200);

    ASSERT_TRUE(waitUntil([&] { return listed().size() == 2; }, std::chrono::seconds(30))) << node->output();
    const auto mine = attemptsOf(refused);
    std::vector<std::string> types;
    for (const auto& a : mine) types.push_back(a.type);
    EXPECT_EQ(types, (std::vector<std::string>{"OrderCreated", "OrderCreated", "OrderProcessing", "OrderProcessing"}))
        << "an order's later event waits until the earlier one is a dead letter";
    ASSERT_EQ(mine.size(), 4u);
    EXPECT_GE(mine[1].at - mine[0].at, std::chrono::milliseconds(1900)) << "Retry-After: 2 was not waited out";

    const auto other = attemptsOf(fine);
    ASSERT_EQ(other.size(), 2u) << "the other order's events are delivered once each";
    EXPECT_LT(other.back().at, mine[1].at) << "the other order's events waited behind the refused one";

    const auto letters = listed();
    for (const auto& a : mine) {
        ASSERT_EQ(letters.count(a.eventId), 1u) << a.type;
        const JsonValue& l = letters.at(a.eventId);
        EXPECT_EQ(intField(l, "orderId"), refused);
        EXPECT_EQ(stringField(l, "type"), a.type);
        EXPECT_EQ(intField(l, "attempts"), 2);
        EXPECT_NE(stringField(l, "lastError").find("HTTP 503"), std::string::npos) << stringField(l, "lastError");
        EXPECT_GT(ordersystem::sdk::parseTimestamp(stringField(l, "failedAt")), 0) << stringField(l, "failedAt");
    }
}

TEST_F(DeadLetters, ADeadLetterSurvivesARestartAndItsRetryDeliversItOnceAndTakesItOffTheList) {
    receiver->refuseCustomer("Refused", 400);
    const int64_t id = create("Refused");
    ASSERT_TRUE(waitUntil([&] { return listed().size() == 1; }, std::chrono::seconds(20))) << node->output();
    const std::string eventId = listed().begin()->first;
    restart();
    ASSERT_EQ(listed().count(eventId), 1u) << "dead letters are kept on disk";

    receiver->acceptEverything();
    const HttpResult retried = post("/api/dead-letters/" + eventId + "/retry");
    ASSERT_EQ(retried.status, 202) << retried.body;
    EXPECT_EQ(stringField(retried.json(), "eventId"), eventId);
    ASSERT_TRUE(waitUntil([&] { return listed().empty(); }, std::chrono::seconds(20))) << node->output();
    const auto accepted = receiver->accepted();
    EXPECT_EQ(std::count_if(accepted.begin(), accepted.end(),
                            [&](const WebhookReceiver::Request& r) { return r.idempotencyKey == eventId; }),
              1);
    EXPECT_EQ(post("/api/dead-letters/" + eventId + "/retry").status, 404) << "it is no dead letter any more";
    EXPECT_EQ(intField(get("/api/orders/" + std::to_string(id)).json(), "id"), id);
}

TEST_F(DeadLetters, AMalformedEventIdOrLimitIs400) {
    EXPECT_EQ(post("/api/dead-letters/not%20an%20id/retry").status, 400);
    EXPECT_EQ(post("/api/dead-letters/" + std::string(129, 'a') + "/retry").status, 400);
    EXPECT_EQ(post("/api/dead-letters/00000000-0000-4000-8000-000000000000/retry").status, 404);
    for (const char* q : {"?limit=0", "?limit=1001", "?limit=x", "?limit="})
        EXPECT_EQ(get(std::string("/api/dead-letters") + q).status, 400) << q;
    EXPECT_EQ(get("/api/dead-letters?limit=5").body, "[]");
}
