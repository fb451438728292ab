// The live event stream's hub without HTTP: what a subscriber gets from the ring and live, in
// which order, and when it is refused or dropped.
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "ordersystem/testing/Events.h"
#include "ordersystem/testing/FakeHost.h"
#include "stream/EventHub.h"

using namespace ordersystem;
using plugins::orders::stream::EventHub;
using plugins::orders::stream::HubSettings;
using plugins::orders::stream::StreamQuery;

namespace {

/// Collects what the hub pushes; room() and acceptance are set by the test.
class RecordingSink final : public sdk::StreamSink {
public:
    bool push(std::string_view bytes) noexcept override {
        std::lock_guard<std::mutex> lock(_mutex);
        if (_closed) return false;
        _text.append(bytes);
        _changed.notify_all();
        return true;
    }
    void close() noexcept override {
        std::function<void()> callback;
        {
            std::lock_guard<std::mutex> lock(_mutex);
            if (_closed) return;
            _closed = true;
            callback.swap(_onClose);
            _changed.notify_all();
        }
        if (callback) callback();
    }
    bool closed() const noexcept override {
        std::lock_guard<std::mutex> lock(_mutex);
        return _closed;
    }
    size_t room() const noexcept override { return 1 << 20; }
    void onClose(std::function<void()> callback) override {
        std::unique_lock<std::mutex> lock(_mutex);
        if (!_closed) {
            _onClose = std::move(callback);
            return;
        }
        lock.unlock();
        callback();
    }
    /// The "id:" lines pushed so far, once count of them arrived (or after 5 s).
    std::vector<uint64_t> ids(size_t count) {
        std::unique_lock<std::mutex> lock(_mutex);
        _changed.wait_for(lock, std::chrono::seconds(5), [&] { return parse().size() >= count || _closed; });
        return parse();
    }
    std::string text() {
        std::lock_guard<std::mutex> lock(_mutex);
        return _text;
    }

private:
    std::vector<uint64_t> parse() const {
        std::vector<uint64_t> out;
        for (size_t at = _text.find("id: "); at != std::string::npos; at = _text.find("\nid: ", at + 1))
            out.push_back(std::stoull(_text.substr(_text[at] == '\n' ? at + 5 : at + 4)));
        return out;
    }
    mutable std::mutex _mutex;
    std::condition_variable _changed;
    std::string _text;
    bool _closed = false;
    std::function<void()> _onClose;
};

/// Events at positions first..last, one order per two positions.
std::vector<sdk::EventRecord> eventsAt(uint64_t first, uint64_t last) {
    std::vector<sdk::EventRecord> out;
    for (uint64_t p = first; p <= last; ++p) {
        auto e = ordersystem::testing::makeEvent(static_cast<int64_t>((p + 1) / 2), static_cast<int64_t>(2 - p % 2));
        e.position = p;
        out.push_back(e);
    }
    return out;
}

std::vector<uint64_t> range(uint64_t first, uint64_t last) {
    std::vector<uint64_t> out;
    for (uint64_t p = first; p <= last; ++p) out.push_back(p);
    return out;
}

struct Hub {
    ordersystem::testing::FakeLogger logger;
    std::shared_ptr<EventHub> hub;
    explicit Hub(size_t replayEvents = 100, uint64_t acknowledged = 0) {
        hub = std::make_shared<EventHub>(logger, HubSettings{replayEvents, 15000}, 0,
                                         [acknowledged] { return acknowledged; });
        hub->start();
    }
    ~Hub() { hub->stop(); }
    EventHub::Outcome subscribe(const std::shared_ptr<RecordingSink>& sink, std::optional<uint64_t> after,
                                int64_t orderId = 0, uint64_t* oldest = nullptr) {
        uint64_t ignored = 0;
        return hub->subscribe(StreamQuery{after, orderId}, sink, oldest ? oldest : &ignored);
    }
};

}  // namespace

TEST(EventHub, AResumedSubscriberGetsTheRingAfterItsPositionThenLiveEventsWithoutGapOrRepeat) {
    Hub h;
    ASSERT_TRUE(h.hub->apply(eventsAt(1, 10)).isOk());
    auto sink = std::make_shared<RecordingSink>();
    ASSERT_EQ(h.subscribe(sink, 4), EventHub::Outcome::Subscribed);
    EXPECT_EQ(sink->ids(6), range(5, 10));
    ASSERT_TRUE(h.hub->apply(eventsAt(11, 12)).isOk());
    EXPECT_EQ(sink->ids(8), range(5, 12));
}

TEST(EventHub, WithoutAPositionASubscriberStartsAfterWhatThisNodeAlreadyAcknowledged) {
    Hub h(100, /*acknowledged=*/7);
    ASSERT_TRUE(h.hub->apply(eventsAt(1, 5)).isOk());
    auto sink = std::make_shared<RecordingSink>();
    ASSERT_EQ(h.subscribe(sink, std::nullopt), EventHub::Outcome::Subscribed);
    ASSERT_TRUE(h.hub->apply(eventsAt(6, 9)).isOk());
    EXPECT_EQ(sink->ids(2), range(8, 9)) << "positions 6 and 7 were answered before the stream opened";
}

TEST(EventHub, APositionOlderThanTheRingIsRefusedNamingTheOldestOneLeft) {
    Hub h(/*replayEvents=*/5);
    ASSERT_TRUE(h.hub->apply(eventsAt(1, 20)).isOk());
    auto sink = std::make_shared<RecordingSink>();
    uint64_t oldest = 0;
    EXPECT_EQ(h.subscribe(sink, 3, 0, &oldest), EventHub::Outcome::TooOld);
    EXPECT_EQ(oldest, 15u);
    EXPECT_EQ(h.subscribe(sink, 15), EventHub::Outcome::Subscribed);
    EXPECT_EQ(sink->ids(5), range(16, 20));
}

TEST(EventHub, AnOrderFilterPassesOnlyThatOrdersEvents) {
    Hub h;
    ASSERT_TRUE(h.hub->apply(eventsAt(1, 8)).isOk());
    auto sink = std::make_shared<RecordingSink>();
    ASSERT_EQ(h.subscribe(sink, 0, /*orderId=*/3), EventHub::Outcome::Subscribed);
    EXPECT_EQ(sink->ids(2), (std::vector<uint64_t>{5, 6}));
    EXPECT_NE(sink->text().find("event: OrderCreated"), std::string::npos);
}

TEST(EventHub, AClosedStreamLeavesTheHubAndStopEndsTheRest) {
    Hub h;
    auto gone = std::make_shared<RecordingSink>();
    auto kept = std::make_shared<RecordingSink>();
    ASSERT_EQ(h.subscribe(gone, std::nullopt), EventHub::Outcome::Subscribed);
    ASSERT_EQ(h.subscribe(kept, std::nullopt), EventHub::Outcome::Subscribed);
    EXPECT_EQ(h.hub->subscribers(), 2u);
    gone->close();
    EXPECT_EQ(h.hub->subscribers(), 1u);
    h.hub->stop();
    EXPECT_TRUE(kept->closed());
    EXPECT_EQ(h.subscribe(std::make_shared<RecordingSink>(), std::nullopt), EventHub::Outcome::Stopped);
}

TEST(EventHub, AReplayedBatchDoesNotRepeatEventsAlreadyApplied) {
    Hub h;
    ASSERT_TRUE(h.hub->apply(eventsAt(1, 4)).isOk());
    ASSERT_TRUE(h.hub->apply(eventsAt(3, 6)).isOk());
    EXPECT_EQ(h.hub->checkpoint(), 6u);
    auto sink = std::make_shared<RecordingSink>();
    ASSERT_EQ(h.subscribe(sink, 0), EventHub::Outcome::Subscribed);
    EXPECT_EQ(sink->ids(6), range(1, 6));
}
