// POST /api/orders over a log that appends asynchronously: the route replies from the append's
// completion, as a client sees it.
#include <gtest/gtest.h>

#include <set>
#include <thread>
#include <vector>

#include "OrdersFixture.h"
#include "ordersystem/sdk/util.h"

namespace ordersystem::plugins::orders::testing {
namespace {

using AsyncCreate = AsyncOrdersTest;
using CreateRoutes = OrdersTest;

const std::string kOrder = R"({"customerName":"Async","items":[{"productName":"A","quantity":2,"price":1.5}]})";
constexpr int64_t kWaitMs = 5000;

TEST_F(AsyncCreate, AnswersCreatedWithLocationOnlyAfterTheAppendCompleted) {
    log.holdAppends(true);
    auto pending = startCreate(kOrder);
    EXPECT_EQ(log.appendsWaiting(), 1u) << "the create was handed to the log";
    EXPECT_FALSE(pending->replied()) << "no answer while the append is not durable";
    EXPECT_EQ(log.eventCount(), 0u);

    log.holdAppends(false);
    ASSERT_TRUE(pending->waitForReply(kWaitMs));
    const auto r = pending->response();
    EXPECT_EQ(r.status, 201) << r.body;
    EXPECT_EQ(header(r, "Location"), "/api/orders/1");
    EXPECT_EQ(header(r, "Idempotent-Replayed"), "<absent>");
    EXPECT_EQ(str(json(r.body), "orderId"), "1");
    EXPECT_EQ(log.eventCount(), 1u);
    EXPECT_EQ(log.asyncAppendCalls(), 1);
    EXPECT_EQ(pending->replyCount(), 1);
}

TEST_F(AsyncCreate, AKeyedCreateClaimsItsKeyOffTheEventLoopAndAnUnkeyedOneStaysOnIt) {
    const auto keyed = create(kOrder, {{"Idempotency-Key", "off-the-loop"}});
    EXPECT_EQ(keyed.status, 201) << keyed.body;
    const auto claims = log.claimThreads();
    ASSERT_EQ(claims.size(), 1u);
    EXPECT_NE(claims[0], std::this_thread::get_id()) << "the claim, a blocking round trip, ran on the event loop";
    const auto replay = create(kOrder, {{"Idempotency-Key", "off-the-loop"}});
    EXPECT_EQ(replay.status, 201) << replay.body;
    EXPECT_EQ(header(replay, "Idempotent-Replayed"), "true");
    EXPECT_EQ(log.eventCount(), 1u);

    EXPECT_EQ(create(kOrder).status, 201);
    EXPECT_EQ(log.claimThreads().size(), 2u) << "no key, no claim";
    EXPECT_EQ(create("{").status, 400) << "invalid bodies are answered on the loop before any deferral";
}

TEST_F(AsyncCreate, NewOrderIsReadableByGetRightAfterThe201) {
    const auto r = create(kOrder);
    ASSERT_EQ(r.status, 201) << r.body;
    const auto got = get(header(r, "Location"));
    ASSERT_EQ(got.status, 200) << got.body;
    const auto doc = json(got.body);
    EXPECT_EQ(str(doc, "status"), "Pending");
    EXPECT_EQ(str(doc, "version"), "1");
    EXPECT_EQ(str(doc, "customerName"), "Async");
    EXPECT_EQ(str(doc, "totalAmount"), "3.00");
    EXPECT_EQ(str(doc, "orderNumber"), str(json(r.body), "orderNumber"));
}

TEST_F(AsyncCreate, FailedAppendIs503AndARetryWithTheSameKeySucceeds) {
    log.setAppendsUnavailable(true);
    const auto failed = create(kOrder, {{"Idempotency-Key", "async-key"}});
    EXPECT_EQ(failed.status, 503) << failed.body;
    EXPECT_EQ(failed.contentType, "application/problem+json");
    EXPECT_EQ(header(failed, "Retry-After"), "1");
    EXPECT_EQ(log.asyncAppendCalls(), 1) << "the append itself failed";
    EXPECT_EQ(log.eventCount(), 0u);

    // The key was released: the retry is a new create, not "still in progress" (409).
    log.setAppendsUnavailable(false);
    const auto retried = create(kOrder, {{"Idempotency-Key", "async-key"}});
    EXPECT_EQ(retried.status, 201) << retried.body;
    EXPECT_EQ(header(retried, "Idempotent-Replayed"), "<absent>");
    EXPECT_EQ(log.eventCount(), 1u);
}

TEST_F(AsyncCreate, InvalidRequestIs400AtOnceWithoutAppending) {
    log.holdAppends(true);
    for (const char* body : {"{", R"({"customerName":"","items":[]})"}) {
        auto pending = startCreate(body);
        ASSERT_TRUE(pending->replied()) << "validation answers without waiting for anything: " << body;
        const auto r = pending->response();
        EXPECT_EQ(r.status, 400) << r.body;
        EXPECT_EQ(r.contentType, "application/problem+json");
    }
    auto badKey = startCreate(kOrder, {{"Idempotency-Key", "has space"}});
    ASSERT_TRUE(badKey->replied());
    EXPECT_EQ(badKey->response().status, 400);
    EXPECT_EQ(log.asyncAppendCalls(), 0);
    EXPECT_EQ(log.appendsWaiting(), 0u);
}

TEST_F(AsyncCreate, RepeatWithTheSameIdempotencyKeyReplaysTheFirstAnswer) {
    const auto first = create(kOrder, {{"Idempotency-Key", "replay-me"}});
    ASSERT_EQ(first.status, 201) << first.body;
    const auto second = create(kOrder, {{"Idempotency-Key", "\"replay-me\""}});
    EXPECT_EQ(second.status, 201) << second.body;
    EXPECT_EQ(second.body, first.body);
    EXPECT_EQ(header(second, "Location"), header(first, "Location"));
    EXPECT_EQ(header(second, "Idempotent-Replayed"), "true");
    EXPECT_EQ(log.eventCount(), 1u);
    EXPECT_EQ(log.asyncAppendCalls(), 1) << "the replay did not append";
}

TEST_F(AsyncCreate, ManyCreatesWaitingForTheLogAllAnswerWithTheirOwnOrder) {
    log.holdAppends(true);
    std::vector<std::shared_ptr<ordersystem::testing::RouteCall>> calls;
    for (int i = 0; i < 20; ++i) calls.push_back(startCreate(kOrder));
    EXPECT_EQ(log.appendsWaiting(), 20u);
    log.holdAppends(false);
    std::set<std::string> locations;
    for (const auto& c : calls) {
        ASSERT_TRUE(c->waitForReply(kWaitMs));
        EXPECT_EQ(c->response().status, 201);
        locations.insert(header(c->response(), "Location"));
    }
    EXPECT_EQ(locations.size(), 20u);
    EXPECT_EQ(json(get("/api/orders").body).find("items")->items().size(), 20u);
}

TEST_F(AsyncCreate, CountsTheCreateInMetricsWhenItCompletes) {
    const sdk::Labels ok{{"command", "CreateOrder"}, {"outcome", "ok"}};
    log.holdAppends(true);
    auto pending = startCreate(kOrder);
    EXPECT_EQ(host->fakeMetrics().value("ordersystem_commands_total", ok), 0.0);
    log.holdAppends(false);
    ASSERT_TRUE(pending->waitForReply(kWaitMs));
    EXPECT_EQ(host->fakeMetrics().value("ordersystem_commands_total", ok), 1.0);
}

TEST_F(AsyncCreate, StoppingThePluginWaitsForACreateStillWaitingForTheLog) {
    log.holdAppends(true);
    auto pending = startCreate(kOrder);
    std::thread stopper([this] { plugin->stop(); });
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    log.holdAppends(false);
    stopper.join();
    ASSERT_TRUE(pending->replied()) << "stop() returned before the create was answered";
    EXPECT_EQ(pending->response().status, 201);
}

TEST_F(AsyncCreate, HostMayRunTheCreateAndLocalReadsOnItsEventLoop) {
    const auto& router = host->fakeRouter();
    ASSERT_NE(router.route("POST", "/api/orders"), nullptr);
    EXPECT_TRUE(router.route("POST", "/api/orders")->isAsync());
    EXPECT_TRUE(router.route("POST", "/api/orders")->options.jsonBody);
    for (const char* read :
         {"/api/orders", "/api/orders/pending", "/api/orders/customer/{customerName}", "/api/orders/{id}"})
        EXPECT_TRUE(router.route("GET", read)->isNonBlocking()) << read;
    // The history reads the log (a network call for Redis/NATS); transitions append and block.
    EXPECT_FALSE(router.route("GET", "/api/orders/{id}/events")->isNonBlocking());
    for (const char* command : {"/api/orders/{id}/process", "/api/orders/{id}/complete", "/api/orders/{id}/cancel"}) {
        EXPECT_FALSE(router.route("POST", command)->isNonBlocking()) << command;
        EXPECT_FALSE(router.route("POST", command)->isAsync()) << command;
    }
}

TEST_F(CreateRoutes, CreateRunsOnAWorkerThreadWhenTheLogAppendsSynchronously) {
    const auto* route = host->fakeRouter().route("POST", "/api/orders");
    ASSERT_NE(route, nullptr);
    EXPECT_FALSE(route->isAsync());
    EXPECT_FALSE(route->isNonBlocking());
    EXPECT_EQ(create(kOrder).status, 201);
    EXPECT_EQ(log.asyncAppendCalls(), 0);
}

}  // namespace
}  // namespace ordersystem::plugins::orders::testing
