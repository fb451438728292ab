// Idempotency-Key on POST /api/orders as a client sees it: a repeat replays the first answer,
// another body is 422, a repeat while the first runs is 409, across an upgrade of the fingerprint.
#include <gtest/gtest.h>

#include "OrdersFixture.h"
#include "ordersystem/sdk/util.h"

namespace ordersystem::plugins::orders::testing {
namespace {

using CreateOrderIdempotency = OrdersTest;

const std::string kBody = R"({"customerName":"Idem","items":[{"productName":"A","quantity":1,"price":1}]})";

TEST_F(CreateOrderIdempotency, RepeatWithSameKeyAndBodyReplaysTheFirstResponseWithoutANewOrder) {
    auto first = create(kBody, {{"Idempotency-Key", "key-1"}});
    ASSERT_EQ(first.status, 201);
    auto second = create(kBody, {{"Idempotency-Key", "\"key-1\""}});
    EXPECT_EQ(second.status, 201);
    EXPECT_EQ(second.body, first.body);
    EXPECT_EQ(log.eventCount(), 1u);
    bool location = false;
    for (const auto& h : second.headers) location |= h.first == "Location" && h.second == "/api/orders/1";
    EXPECT_TRUE(location);
}

TEST_F(CreateOrderIdempotency, SameKeyWithAnotherBodyIs422) {
    ASSERT_EQ(create(kBody, {{"Idempotency-Key", "key-2"}}).status, 201);
    auto r = create(R"({"customerName":"Other","items":[{"productName":"A","quantity":1,"price":1}]})",
                    {{"Idempotency-Key", "key-2"}});
    EXPECT_EQ(r.status, 422) << r.body;
    EXPECT_EQ(log.eventCount(), 1u);
}

TEST_F(CreateOrderIdempotency, AKeyIsStoredWithTheSha256OfItsBody) {
    ASSERT_EQ(create(kBody, {{"Idempotency-Key", "key-sha"}}).status, 201);
    auto stored = log.claim("key-sha", "", 10000);
    ASSERT_EQ(stored->state, sdk::IdempotencyClaim::State::Completed);
    EXPECT_EQ(stored->fingerprint, sdk::sha256Hex(kBody));
}

TEST_F(CreateOrderIdempotency, AKeyAnOlderBuildStoredStillReplaysItsBodyAndRefusesAnother) {
    // Builds before SHA-256 stored the 16-digit FNV-1a fingerprint; such keys live up to 24 h.
    const std::string firstAnswer = R"({"orderId":77,"orderNumber":"ORD-20251011192145-0077"})";
    ASSERT_EQ(log.claim("key-old", sdk::fnv1aHex(kBody), 10000)->state, sdk::IdempotencyClaim::State::Claimed);
    ASSERT_TRUE(log.complete({"key-old", sdk::fnv1aHex(kBody), firstAnswer}).isOk());
    auto replay = create(kBody, {{"Idempotency-Key", "key-old"}});
    EXPECT_EQ(replay.status, 201) << replay.body;
    EXPECT_EQ(replay.body, firstAnswer);
    EXPECT_EQ(log.eventCount(), 0u);
    auto other = create(R"({"customerName":"Other","items":[{"productName":"A","quantity":1,"price":1}]})",
                        {{"Idempotency-Key", "key-old"}});
    EXPECT_EQ(other.status, 422) << other.body;
    EXPECT_EQ(log.eventCount(), 0u);
}

TEST_F(CreateOrderIdempotency, RepeatWhileTheFirstIsInFlightIs409) {
    ASSERT_EQ(log.claim("key-3", sdk::sha256Hex(kBody), 10000)->state, sdk::IdempotencyClaim::State::Claimed);
    auto r = create(kBody, {{"Idempotency-Key", "key-3"}});
    EXPECT_EQ(r.status, 409) << r.body;
    EXPECT_EQ(log.eventCount(), 0u);
}

TEST_F(CreateOrderIdempotency, FailedCreateReleasesTheKeySoARetryWorks) {
    log.setUnavailable(true);
    EXPECT_EQ(create(kBody, {{"Idempotency-Key", "key-4"}}).status, 503);
    log.setUnavailable(false);
    EXPECT_EQ(create(kBody, {{"Idempotency-Key", "key-4"}}).status, 201);
    EXPECT_EQ(log.eventCount(), 1u);
}

TEST_F(CreateOrderIdempotency, UnconfirmedCreateIs503ThatDoesNotClaimNothingChangedAndTheKeyReturnsTheOrder) {
    log.setConfirmationsLost(true);  // stored, but the log's answer never came
    const auto lost = create(kBody, {{"Idempotency-Key", "key-5"}});
    EXPECT_EQ(lost.status, 503) << lost.body;
    EXPECT_EQ(header(lost, "Retry-After"), "1");
    EXPECT_EQ(lost.body.find("nothing was changed"), std::string::npos) << lost.body;
    EXPECT_NE(lost.body.find("may have been made"), std::string::npos) << lost.body;
    EXPECT_NE(lost.body.find("Idempotency-Key"), std::string::npos) << lost.body;
    EXPECT_EQ(log.eventCount(), 1u);

    log.setConfirmationsLost(false);
    const auto retried = create(kBody, {{"Idempotency-Key", "key-5"}});
    EXPECT_EQ(retried.status, 201) << retried.body;
    EXPECT_EQ(header(retried, "Idempotent-Replayed"), "true");
    EXPECT_EQ(log.eventCount(), 1u) << "the retry found the stored order instead of creating another";
}

TEST_F(CreateOrderIdempotency, MalformedKeyIs400) {
    EXPECT_EQ(create(kBody, {{"Idempotency-Key", std::string(256, 'k')}}).status, 400);
    EXPECT_EQ(create(kBody, {{"Idempotency-Key", "has space"}}).status, 400);
    EXPECT_EQ(log.eventCount(), 0u);
}

}  // namespace
}  // namespace ordersystem::plugins::orders::testing
