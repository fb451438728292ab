// The host's measuring wrapper around every transport's event log: events applied, projection
// lag, reaction outcomes; every call reaches the transport unchanged.
#include <gtest/gtest.h>

#include "Metrics.h"
#include "ObservedEventLog.h"

namespace ordersystem::host {
namespace {

#define EXPECT_MENTIONS(text, part) EXPECT_NE((text).find(part), std::string::npos) << (text)

/// A transport that only remembers its subscribers and lets the test drive them.
class FakeLog final : public sdk::EventLog, sdk::IdempotencyStore, sdk::Membership {
public:
    std::string_view mode() const noexcept override { return "fake"; }
    sdk::Result<int64_t> allocateOrderId() noexcept override { return int64_t{42}; }
    sdk::AppendResult append(sdk::AppendRequest&) noexcept override { return {}; }
    sdk::Result<std::vector<sdk::EventRecord>> readOrder(int64_t) noexcept override {
        return std::vector<sdk::EventRecord>{};
    }
    sdk::Result<uint64_t> headPosition() noexcept override { return head; }
    sdk::Result<sdk::SubscriptionId> subscribe(sdk::Projection& p) noexcept override {
        projection = &p;
        p.checkpoint();
        return sdk::SubscriptionId{7};
    }
    sdk::Result<sdk::SubscriptionId> subscribe(sdk::Reaction& r) noexcept override {
        reaction = &r;
        return sdk::SubscriptionId{8};
    }
    void unsubscribe(sdk::SubscriptionId id) noexcept override { unsubscribed.push_back(id); }
    sdk::IdempotencyStore& idempotency() noexcept override { return *this; }
    sdk::Membership& membership() noexcept override { return *this; }
    sdk::Result<sdk::IdempotencyClaim> claim(const std::string&, const std::string&, int64_t) noexcept override {
        return sdk::IdempotencyClaim{};
    }
    sdk::Status complete(const sdk::IdempotencyCompletion&) noexcept override { return sdk::Status::ok(); }
    sdk::Status release(const std::string&) noexcept override { return sdk::Status::ok(); }
    sdk::Result<std::vector<sdk::NodeInfo>> liveNodes() noexcept override { return std::vector<sdk::NodeInfo>{}; }

    uint64_t head = 0;
    sdk::Projection* projection = nullptr;
    sdk::Reaction* reaction = nullptr;
    std::vector<sdk::SubscriptionId> unsubscribed;
};

class CountingProjection final : public sdk::Projection {
public:
    std::string_view projectionName() const noexcept override { return "read-model"; }
    uint64_t checkpoint() noexcept override { return start; }
    sdk::Status apply(const std::vector<sdk::EventRecord>& batch) noexcept override {
        if (fail) return sdk::Status(sdk::StatusCode::Unavailable, "disk full");
        applied += batch.size();
        return sdk::Status::ok();
    }
    uint64_t start = 10;
    size_t applied = 0;
    bool fail = false;
};

class FlakyReaction final : public sdk::Reaction {
public:
    std::string_view reactionName() const noexcept override { return "webhook"; }
    sdk::Status handle(const sdk::EventRecord&) noexcept override {
        return ++calls % 2 ? sdk::Status(sdk::StatusCode::Unavailable, "down") : sdk::Status::ok();
    }
    int calls = 0;
};

std::vector<sdk::EventRecord> batch(uint64_t from, uint64_t to) {
    std::vector<sdk::EventRecord> b;
    for (uint64_t p = from; p <= to; ++p) {
        sdk::EventRecord e;
        e.position = p;
        b.push_back(e);
    }
    return b;
}

TEST(ObservedEventLog, CountsAppliedEventsAndReportsLagFromTheHeadAndTheLastAppliedPosition) {
    FakeLog inner;
    MetricsRegistry metrics;
    ObservedEventLog log(inner, metrics);
    CountingProjection projection;
    inner.head = 15;
    ASSERT_TRUE(log.subscribe(projection));
    ASSERT_NE(inner.projection, nullptr);
    log.collect();
    EXPECT_MENTIONS(metrics.render(), "ordersystem_projection_lag_events{projection=\"read-model\"} 5\n");
    ASSERT_TRUE(inner.projection->apply(batch(11, 13)).isOk());
    EXPECT_EQ(projection.applied, 3u);  // the real projection got the batch
    log.collect();
    EXPECT_MENTIONS(metrics.render(), "ordersystem_projection_lag_events{projection=\"read-model\"} 2\n");
    EXPECT_MENTIONS(metrics.render(), "ordersystem_events_applied_total{projection=\"read-model\"} 3\n");
    projection.fail = true;
    EXPECT_FALSE(inner.projection->apply(batch(14, 15)).isOk());  // the failure reaches the transport
    log.collect();
    EXPECT_MENTIONS(metrics.render(), "ordersystem_events_applied_total{projection=\"read-model\"} 3\n");
    EXPECT_MENTIONS(metrics.render(), "ordersystem_projection_lag_events{projection=\"read-model\"} 2\n");
}

TEST(ObservedEventLog, CountsReactionOutcomesAndForwardsEverythingElse) {
    FakeLog inner;
    MetricsRegistry metrics;
    ObservedEventLog log(inner, metrics);
    FlakyReaction reaction;
    auto id = log.subscribe(reaction);
    ASSERT_TRUE(id);
    EXPECT_EQ(id.value(), 8u);
    sdk::EventRecord e;
    EXPECT_FALSE(inner.reaction->handle(e).isOk());
    EXPECT_TRUE(inner.reaction->handle(e).isOk());
    EXPECT_FALSE(inner.reaction->handle(e).isOk());
    const std::string text = metrics.render();
    EXPECT_MENTIONS(text, "ordersystem_reaction_events_total{reaction=\"webhook\",outcome=\"failed\"} 2\n");
    EXPECT_MENTIONS(text, "ordersystem_reaction_events_total{reaction=\"webhook\",outcome=\"ok\"} 1\n");
    EXPECT_EQ(log.mode(), "fake");
    EXPECT_EQ(log.allocateOrderId().value(), 42);
    log.unsubscribe(8);
    ASSERT_EQ(inner.unsubscribed.size(), 1u);
    EXPECT_EQ(inner.unsubscribed[0], 8u);
}

}  // namespace
}  // namespace ordersystem::host
