// The rules every transport delivers by: a projection's failed batch is retried with growing
// waits and logged without flooding; a reaction's failed event is retried, then given up on
// after max deliveries, named in the log and counted.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "ordersystem/testing/Events.h"
#include "ordersystem/testing/FakeHost.h"
#include "ordersystem/transport/projection_applier.h"
#include "ordersystem/transport/reaction_deliveries.h"

using ordersystem::sdk::EventRecord;
using ordersystem::sdk::LogLevel;
using ordersystem::sdk::Status;
using ordersystem::sdk::StatusCode;
using ordersystem::testing::FakeLogger;
using ordersystem::testing::FakeMetrics;
using ordersystem::testing::makeEvent;
using ordersystem::transport::DeadLetterRecord;
using ordersystem::transport::ProjectionApplier;
using ordersystem::transport::ReactionDeliveries;
using ordersystem::transport::ReactionPolicy;

namespace {

struct FlakyProjection final : ordersystem::sdk::Projection {
    int failuresLeft = 0;
    uint64_t applied = 0;
    std::string_view projectionName() const noexcept override { return "flaky"; }
    uint64_t checkpoint() noexcept override { return applied; }
    Status apply(const std::vector<EventRecord>& batch) noexcept override {
        if (failuresLeft > 0) {
            --failuresLeft;
            return Status(StatusCode::Unavailable, "disk full");
        }
        applied = batch.back().position;
        return Status::ok();
    }
};

struct FlakyReaction final : ordersystem::sdk::Reaction {
    int failuresLeft = 0;
    int handled = 0;
    int64_t retryAfterMs = 0;                   ///< what each failure asks for
    ordersystem::sdk::DeliveryPolicy policy{};  ///< the reaction's own schedule (zeros: none)
    std::string_view reactionName() const noexcept override { return "webhooks"; }
    Status handle(const EventRecord&) noexcept override {
        ++handled;
        if (failuresLeft > 0) {
            --failuresLeft;
            Status failed(StatusCode::Unavailable, "receiver down");
            failed.retryAfterMs = retryAfterMs;
            return failed;
        }
        return Status::ok();
    }
    ordersystem::sdk::DeliveryPolicy deliveryPolicy() const noexcept override { return policy; }
};

size_t warnings(const FakeLogger& logger) {
    size_t n = 0;
    for (const auto& line : logger.lines()) n += line.first == LogLevel::Warn;
    return n;
}

std::vector<EventRecord> batchAt(uint64_t from, uint64_t to) {
    std::vector<EventRecord> batch;
    for (uint64_t p = from; p <= to; ++p) {
        batch.push_back(makeEvent(static_cast<int64_t>(p), 1));
        batch.back().position = p;
    }
    return batch;
}

}  // namespace

TEST(ProjectionApplier, AFailingReadModelIsRetriedWithGrowingWaitsAndLoggedOnTheFirstAndEveryTenthFailure) {
    FlakyProjection projection;
    projection.failuresLeft = 25;
    FakeLogger logger;
    ProjectionApplier applier(projection, logger);
    const auto batch = batchAt(1, 3);
    std::vector<int64_t> waits;
    while (!applier.apply(batch)) waits.push_back(applier.retryDelayMs());
    ASSERT_EQ(waits.size(), 25u);
    EXPECT_EQ(waits[0], 100);
    EXPECT_EQ(waits[1], 200);
    EXPECT_EQ(waits.back(), 5000);
    EXPECT_EQ(warnings(logger), 3u);  // failures 1, 10 and 20
    EXPECT_TRUE(logger.contains("projection flaky failed to apply positions 1..3: disk full"));
    EXPECT_TRUE(logger.contains("projection flaky applies again after 25 failed attempts"));
    EXPECT_EQ(projection.applied, 3u);
    EXPECT_EQ(applier.failures(), 0);
    projection.failuresLeft = 1;
    EXPECT_FALSE(applier.apply(batchAt(4, 4)));
    EXPECT_EQ(applier.retryDelayMs(), 100);  // a success started the waits over
}

TEST(ReactionDeliveries, AFailedEventIsRetriedWithDoublingWaitsUntilItIsHandled) {
    FlakyReaction reaction;
    reaction.failuresLeft = 2;
    FakeLogger logger;
    FakeMetrics metrics;
    ReactionDeliveries deliveries(reaction, ReactionPolicy{5, 200, 1000}, logger, metrics);
    const EventRecord event = makeEvent(7, 1);
    auto first = deliveries.deliver(event, 1);
    EXPECT_EQ(first.next, ReactionDeliveries::Next::Retry);
    EXPECT_GE(first.retryInMs, 100) << "jitter keeps at least half the wait";
    EXPECT_LE(first.retryInMs, 200);
    auto second = deliveries.deliver(event, 2);
    EXPECT_EQ(second.next, ReactionDeliveries::Next::Retry);
    EXPECT_GE(second.retryInMs, 200);
    EXPECT_LE(second.retryInMs, 400);
    EXPECT_EQ(deliveries.deliver(event, 3).next, ReactionDeliveries::Next::Acknowledge);
    EXPECT_TRUE(logger.contains("reaction webhooks: delivery 1/5 of event " + event.eventId));
    EXPECT_EQ(warnings(logger), 1u);  // the first failure; the next is logged at delivery 5
    EXPECT_EQ(deliveries.retryDelayMs(4), 1000);
}

TEST(ReactionDeliveries, EventsFailingTogetherDoNotAllComeBackAtTheSameMoment) {
    FlakyReaction reaction;
    reaction.failuresLeft = 1000;
    FakeLogger logger;
    FakeMetrics metrics;
    ReactionDeliveries deliveries(reaction, ReactionPolicy{25, 1000, 30000}, logger, metrics);
    std::set<int64_t> waits;
    for (int i = 0; i < 200; ++i) {
        const auto outcome = deliveries.deliver(makeEvent(i + 1, 1), 3);
        ASSERT_EQ(outcome.next, ReactionDeliveries::Next::Retry);
        ASSERT_GE(outcome.retryInMs, 2000);
        ASSERT_LE(outcome.retryInMs, 4000);
        waits.insert(outcome.retryInMs);
    }
    EXPECT_GT(waits.size(), 50u) << "the third delivery's waits should spread over 2-4 s";
}

TEST(ReactionDeliveries, AReceiversRetryAfterIsWaitedOutUpToAnHour) {
    FlakyReaction reaction;
    reaction.failuresLeft = 2;
    FakeLogger logger;
    FakeMetrics metrics;
    ReactionDeliveries deliveries(reaction, ReactionPolicy{5, 200, 1000}, logger, metrics);
    reaction.retryAfterMs = 7000;
    EXPECT_EQ(deliveries.deliver(makeEvent(1, 1), 1).retryInMs, 7000);
    reaction.retryAfterMs = 10LL * 3600 * 1000;
    EXPECT_EQ(deliveries.deliver(makeEvent(1, 1), 2).retryInMs, 3600LL * 1000);
}

TEST(ReactionDeliveries, TheReactionsOwnScheduleWinsOverTheTransportsWhereItSaysSomething) {
    FlakyReaction reaction;
    reaction.policy = {3, 50, 0};
    FakeLogger logger;
    FakeMetrics metrics;
    ReactionDeliveries deliveries(reaction, ReactionPolicy{25, 200, 30000}, logger, metrics);
    EXPECT_EQ(deliveries.policy().maxDeliveries, 3);
    EXPECT_EQ(deliveries.policy().retryInitialMs, 50);
    EXPECT_EQ(deliveries.policy().retryMaxMs, 30000) << "a zero keeps the transport's setting";
    reaction.failuresLeft = 5;
    EXPECT_EQ(deliveries.deliver(makeEvent(1, 1), 3).next, ReactionDeliveries::Next::DeadLetter);
}

TEST(ReactionDeliveries, AnEventStillFailingAtMaxDeliveriesIsGivenUpOnNamedInTheLogAndCounted) {
    FlakyReaction reaction;
    reaction.failuresLeft = 100;
    FakeLogger logger;
    FakeMetrics metrics;
    ReactionDeliveries deliveries(reaction, ReactionPolicy{3, 10, 100}, logger, metrics);
    const EventRecord event = makeEvent(9, 1);
    EXPECT_EQ(deliveries.deliver(event, 2).next, ReactionDeliveries::Next::Retry);
    auto last = deliveries.deliver(event, 3);
    ASSERT_EQ(last.next, ReactionDeliveries::Next::DeadLetter);
    EXPECT_EQ(last.status.message, "receiver down");
    deliveries.gaveUp(DeadLetterRecord{event.eventId, event.orderId, 42, 3, last.status.message, "dead_letters", true});
    EXPECT_TRUE(
        logger.contains("reaction webhooks gave up on event " + event.eventId +
                        " (order 9, log position 42) after 3 deliveries: receiver down; moved to dead_letters"));
    EXPECT_EQ(metrics.value("ordersystem_reaction_dead_letters_total", {{"reaction", "webhooks"}}), 1.0);
    deliveries.gaveUp(DeadLetterRecord{"", 0, 43, 1, "not an event", "dead_letters", false});
    EXPECT_TRUE(
        logger.contains("gave up on event (unreadable) (log position 43) after 1 deliveries: not an event; "
                        "could NOT record it in dead_letters"));
    deliveries.skippedDuplicate(event.eventId);
    EXPECT_EQ(metrics.value("ordersystem_reaction_duplicates_total", {{"reaction", "webhooks"}}), 1.0);
}
