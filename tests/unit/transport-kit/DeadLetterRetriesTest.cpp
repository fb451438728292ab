// Dead letters delivered again on request, the same way in every transport (sdk/transport
// dead_letters.h), against an in-memory store.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <mutex>
#include <thread>

#include "ordersystem/testing/Events.h"
#include "ordersystem/testing/FakeHost.h"
#include "ordersystem/testing/TestSupport.h"
#include "ordersystem/transport/dead_letters.h"

using namespace ordersystem::sdk;
using namespace ordersystem::transport;
using ordersystem::testing::FakeLogger;
using ordersystem::testing::FakeMetrics;
using ordersystem::testing::makeEvent;
using ordersystem::testing::waitUntil;

namespace {

class MemoryStore final : public DeadLetterStore {
public:
    Result<std::vector<DeadLetter>> list(size_t limit) noexcept override {
        std::lock_guard<std::mutex> lock(_mutex);
        std::vector<DeadLetter> out;
        for (const auto& [id, l] : _letters)
            if (out.size() < limit) out.push_back(l);
        return out;
    }
    Result<std::optional<DeadLetter>> find(const std::string& eventId) noexcept override {
        std::lock_guard<std::mutex> lock(_mutex);
        auto it = _letters.find(eventId);
        return it == _letters.end() ? std::optional<DeadLetter>() : std::optional<DeadLetter>(it->second);
    }
    Status put(const DeadLetter& letter) noexcept override {
        std::lock_guard<std::mutex> lock(_mutex);
        _letters[letter.event.eventId] = letter;
        return Status::ok();
    }
    Status remove(const std::string& eventId) noexcept override {
        std::lock_guard<std::mutex> lock(_mutex);
        _letters.erase(eventId);
        return Status::ok();
    }
    std::optional<DeadLetter> get(const std::string& eventId) { return *find(eventId); }

private:
    std::mutex _mutex;
    std::map<std::string, DeadLetter> _letters;
};

/// Refuses while failing is set; counts its calls.
struct Receiver final : Reaction {
    std::atomic<bool> failing{true};
    std::atomic<int> calls{0};
    std::string_view reactionName() const noexcept override { return "webhooks"; }
    Status handle(const EventRecord&) noexcept override {
        ++calls;
        return failing ? Status(StatusCode::Unavailable, "still refused") : Status::ok();
    }
};

DeadLetter letterFor(const EventRecord& event) { return DeadLetter{event, 25, "HTTP 400", 1000}; }

struct Fixture {
    Receiver receiver;
    FakeLogger logger;
    FakeMetrics metrics;
    MemoryStore store;
    ReactionDeliveries deliveries{receiver, ReactionPolicy{3, 5, 10}, logger, metrics};
    DeadLetterRetries retries{deliveries, store, logger, "memory"};
};

}  // namespace

TEST(DeadLetterRetries, ARetryThatSucceedsRemovesTheDeadLetter) {
    Fixture f;
    const EventRecord event = makeEvent(4, 2);
    ASSERT_TRUE(f.store.put(letterFor(event)));
    f.receiver.failing = false;
    ASSERT_TRUE(f.retries.retry(event.eventId).isOk());
    ASSERT_TRUE(waitUntil([&] { return !f.store.get(event.eventId); }, std::chrono::seconds(5)));
    EXPECT_EQ(f.receiver.calls.load(), 1);
    EXPECT_TRUE(f.logger.contains("dead letter " + event.eventId + " delivered on attempt 1"));
}

TEST(DeadLetterRetries, ARetryThatFailsAgainKeepsItListedWithTheAttemptsAddedUpAndTheNewError) {
    Fixture f;
    const EventRecord event = makeEvent(5, 1);
    ASSERT_TRUE(f.store.put(letterFor(event)));
    ASSERT_TRUE(f.retries.retry(event.eventId).isOk());
    ASSERT_TRUE(waitUntil([&] { return f.store.get(event.eventId)->attempts == 28; }, std::chrono::seconds(5)))
        << "25 before, 3 in the retry";
    const DeadLetter again = *f.store.get(event.eventId);
    EXPECT_EQ(again.lastError, "still refused");
    EXPECT_GT(again.failedAtMs, 1000);
    EXPECT_EQ(f.receiver.calls.load(), 3);
    EXPECT_EQ(f.metrics.value("ordersystem_reaction_dead_letters_total", {{"reaction", "webhooks"}}), 1.0);
}

TEST(DeadLetterRetries, AnUnknownEventIsNotFoundAndOneBeingRetriedIsAConflictAndStaysListed) {
    Fixture f;
    EXPECT_EQ(f.retries.retry("no-such-event").code, StatusCode::NotFound);
    const EventRecord event = makeEvent(6, 1);
    ASSERT_TRUE(f.store.put(letterFor(event)));
    ASSERT_TRUE(f.retries.retry(event.eventId).isOk());
    EXPECT_EQ(f.retries.retry(event.eventId).code, StatusCode::Conflict);
    EXPECT_TRUE(f.store.get(event.eventId)) << "listed while it is retried";
    f.retries.stop();
    EXPECT_EQ(f.retries.retry(event.eventId).code, StatusCode::Unavailable);
    EXPECT_TRUE(f.store.get(event.eventId)) << "a stop during a retry leaves it a dead letter";
}

TEST(DeadLetterJson, AStoredDeadLetterReadsBackAsItWasAndAnythingElseIsRefused) {
    EventRecord event = makeEvent(7, 3);
    event.position = 42;
    event.metadataJson = R"({"traceparent":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01","actor":"ops"})";
    const DeadLetter letter{event, 25, "webhook http://h:80/: HTTP 400 \"bad\"", 1765000000123};
    auto back = deadLetterFromJson(deadLetterToJson(letter));
    ASSERT_TRUE(back.isOk()) << back.status().message;
    EXPECT_EQ(back->event.eventId, event.eventId);
    EXPECT_EQ(back->event.orderId, 7);
    EXPECT_EQ(back->event.version, 3);
    EXPECT_EQ(back->event.position, 42u);
    EXPECT_EQ(back->event.type, event.type);
    EXPECT_EQ(toJson(back->event), toJson(event)) << "the event document is kept byte for byte";
    EXPECT_EQ(back->attempts, 25);
    EXPECT_EQ(back->lastError, letter.lastError);
    EXPECT_EQ(back->failedAtMs, letter.failedAtMs);
    for (const char* bad : {"", "{}", "[]", R"({"event":{},"position":1,"attempts":1,"lastError":"x","failedAtMs":1})",
                            R"({"event":1,"position":1,"attempts":1,"lastError":"x","failedAtMs":1})"})
        EXPECT_FALSE(deadLetterFromJson(bad).isOk()) << bad;
}
