// Notifications: every event reaches the webhook, retried while the receiver fails, keyed by eventId.
#include "E2e.h"

#include <set>

using namespace e2e;

namespace {
class Webhooks : public StandaloneTest {
protected:
    void SetUp() override {
        receiver = std::make_unique<WebhookReceiver>(2);
        StandaloneTest::SetUp();
    }
    OrderNode::Options options() override {
        OrderNode::Options o = StandaloneTest::options();
        o.webhookUrl = receiver->url();
        o.extraKeys["notifications"]["retry_initial_ms"] = "50";
        return o;
    }
    std::unique_ptr<WebhookReceiver> receiver;
};
}  // namespace

TEST_F(Webhooks, AReceiverThatFailsFirstStillGetsEveryEventOnceWithItsEventIdAsIdempotencyKey) {
    const int64_t id = create("Hooked");
    ASSERT_EQ(post("/api/orders/" + std::to_string(id) + "/process").status, 200);
    ASSERT_EQ(post("/api/orders/" + std::to_string(id) + "/complete").status, 200);

    ASSERT_TRUE(waitUntil([&] { return receiver->accepted().size() >= 3; }, std::chrono::seconds(20)))
        << "accepted " << receiver->accepted().size() << " after " << receiver->attempts() << " attempts\n"
        << node->output();
    EXPECT_GE(receiver->attempts(), 5);  // two refusals were retried
    const auto accepted = receiver->accepted();
    std::set<std::string> eventIds;
    std::vector<std::string> types;
    for (const auto& r : accepted) {
        auto doc = ordersystem::sdk::parseJson(r.body);
        ASSERT_TRUE(doc.isOk()) << r.body;
        EXPECT_EQ(r.idempotencyKey, stringField(doc.value(), "eventId"));
        EXPECT_EQ(r.contentType.rfind("application/json", 0), 0u) << r.contentType;
        EXPECT_EQ(intField(doc.value(), "orderId"), id);
        eventIds.insert(r.idempotencyKey);
        types.push_back(stringField(doc.value(), "type"));
    }
    EXPECT_EQ(eventIds.size(), accepted.size()) << "an event was delivered twice";
    EXPECT_EQ(accepted.size(), 3u);
    const auto history = get("/api/orders/" + std::to_string(id) + "/events").json();
    for (const auto& e : history.items()) EXPECT_EQ(eventIds.count(stringField(e, "eventId")), 1u);
    EXPECT_EQ(types, (std::vector<std::string>{"OrderCreated", "OrderProcessing", "OrderCompleted"}));
}
