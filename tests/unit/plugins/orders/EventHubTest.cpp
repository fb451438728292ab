// The live event stream's hub without HTTP: what a subscriber gets from the log, the ring and
// live, in which order, and when it is refused or dropped.
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

/// A log of events at positions 1..head that the hub may read pages of, counting the reads.
struct FakeLog {
    std::mutex mutex;
    std::vector<sdk::EventRecord> events;
    size_t reads = 0;
    bool failing = false;
    plugins::orders::stream::HistoryReader reader() {
        return [this](uint64_t after, size_t max) -> sdk::Result<std::vector<sdk::EventRecord>> {
            std::lock_guard<std::mutex> lock(mutex);
            ++reads;
            if (failing) return sdk::Status(sdk::StatusCode::Unavailable, "broker down");
            std::vector<sdk::EventRecord> out;
            for (const auto& e : events)
                if (e.position > after && out.size() < max) out.push_back(e);
            return out;
        };
    }
};

/// A hub over its own log (or the one given; none when withoutLog): apply() appends to the log
/// first, as the transport does before the read model applies.
struct Hub {
    ordersystem::testing::FakeLogger logger;
    FakeLog ownLog;
    FakeLog* log;
    std::shared_ptr<EventHub> hub;
    explicit Hub(size_t replayEvents = 100, uint64_t acknowledged = 0, FakeLog* given = nullptr, uint64_t applied = 0,
                 bool withoutLog = false)
        : log(withoutLog ? nullptr
              : given    ? given
                         : &ownLog) {
        hub = std::make_shared<EventHub>(
            logger, HubSettings{replayEvents, 15000}, applied, [acknowledged] { return acknowledged; },
            log ? log->reader() : plugins::orders::stream::HistoryReader());
        hub->start();
    }
    void apply(const std::vector<sdk::EventRecord>& batch) {
        if (log) {
            std::lock_guard<std::mutex> lock(log->mutex);
            log->events.insert(log->events.end(), batch.begin(), batch.end());
        }
        hub->apply(batch);
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
    h.apply(eventsAt(1, 10));
    auto sink = std::make_shared<RecordingSink>();
    ASSERT_EQ(h.subscribe(sink, 4), EventHub::Outcome::Subscribed);
    EXPECT_EQ(sink->ids(6), range(5, 10));
    h.apply(eventsAt(11, 12));
    EXPECT_EQ(sink->ids(8), range(5, 12));
}

TEST(EventHub, WithoutAPositionASubscriberStartsAfterWhatThisNodeAlreadyAcknowledged) {
    Hub h(100, /*acknowledged=*/7);
    h.apply(eventsAt(1, 5));
    auto sink = std::make_shared<RecordingSink>();
    ASSERT_EQ(h.subscribe(sink, std::nullopt), EventHub::Outcome::Subscribed);
    h.apply(eventsAt(6, 9));
    EXPECT_EQ(sink->ids(2), range(8, 9)) << "positions 6 and 7 were answered before the stream opened";
}

TEST(EventHub, WithoutALogAPositionOlderThanTheRingIsRefusedNamingTheOldestOneLeft) {
    Hub h(/*replayEvents=*/5, 0, nullptr, 0, /*withoutLog=*/true);
    auto live = std::make_shared<RecordingSink>();
    ASSERT_EQ(h.subscribe(live, std::nullopt), EventHub::Outcome::Subscribed);
    for (uint64_t first = 1; first <= 16; first += 5) {  // a batch at a time: each fits the ring
        h.apply(eventsAt(first, first + 4));
        ASSERT_EQ(live->ids(first + 4).size(), first + 4);
    }
    auto sink = std::make_shared<RecordingSink>();
    uint64_t oldest = 0;
    EXPECT_EQ(h.subscribe(sink, 3, 0, &oldest), EventHub::Outcome::TooOld);
    EXPECT_EQ(oldest, 15u);
    EXPECT_EQ(h.subscribe(sink, 15), EventHub::Outcome::Subscribed);
    EXPECT_EQ(sink->ids(5), range(16, 20));
}

TEST(EventHub, APositionBeforeTheRingIsReadFromTheLogThenTheStreamGoesOnLiveWithoutGapOrRepeat) {
    FakeLog log;
    log.events = eventsAt(1, 1000);
    Hub h(/*replayEvents=*/5, 0, &log, /*applied=*/1000);
    auto sink = std::make_shared<RecordingSink>();
    ASSERT_EQ(h.subscribe(sink, 2), EventHub::Outcome::Subscribed);
    EXPECT_EQ(sink->ids(998), range(3, 1000));
    h.apply(eventsAt(1001, 1010));
    EXPECT_EQ(sink->ids(1008), range(3, 1010));
    std::lock_guard<std::mutex> lock(log.mutex);
    EXPECT_GE(log.reads, 4u) << "998 events are more than one page of the log";
}

TEST(EventHub, AnOrderFilterAlsoAppliesToWhatIsReadFromTheLog) {
    FakeLog log;
    log.events = eventsAt(1, 600);
    Hub h(100, 0, &log, /*applied=*/600);
    auto sink = std::make_shared<RecordingSink>();
    ASSERT_EQ(h.subscribe(sink, 0, /*orderId=*/250), EventHub::Outcome::Subscribed);
    h.apply(eventsAt(601, 602));
    h.apply({[] {
        auto e = ordersystem::testing::makeEvent(250, 3);
        e.position = 603;
        return e;
    }()});
    EXPECT_EQ(sink->ids(3), (std::vector<uint64_t>{499, 500, 603}));
}

TEST(EventHub, WhileNobodyStreamsNothingIsKeptAndTheLogIsNotRead) {
    FakeLog log;
    Hub h(100, 0, &log);
    h.apply(eventsAt(1, 50));
    EXPECT_EQ(h.hub->applied(), 50u);
    auto sink = std::make_shared<RecordingSink>();
    ASSERT_EQ(h.subscribe(sink, std::nullopt), EventHub::Outcome::Subscribed);
    h.apply(eventsAt(51, 52));
    EXPECT_EQ(sink->ids(2), range(51, 52));
    std::lock_guard<std::mutex> lock(log.mutex);
    EXPECT_EQ(log.reads, 0u) << "a subscriber without a position needs no history";
}

TEST(EventHub, ALogThatCannotBeReadEndsTheReplayingStreamAndLeavesOthersLive) {
    FakeLog log;
    log.failing = true;
    Hub h(100, 0, &log, /*applied=*/40);
    auto replaying = std::make_shared<RecordingSink>();
    auto live = std::make_shared<RecordingSink>();
    ASSERT_EQ(h.subscribe(live, std::nullopt), EventHub::Outcome::Subscribed);
    ASSERT_EQ(h.subscribe(replaying, 10), EventHub::Outcome::Subscribed);
    h.hub->apply(eventsAt(41, 42));
    EXPECT_EQ(live->ids(2), range(41, 42));
    replaying->ids(1000);  // returns once it is closed (or after 5 s)
    EXPECT_TRUE(replaying->closed());
    EXPECT_TRUE(replaying->ids(0).empty());
    EXPECT_FALSE(live->closed());
}

TEST(EventHub, AnOrderFilterPassesOnlyThatOrdersEvents) {
    Hub h;
    h.apply(eventsAt(1, 8));
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
    auto live = std::make_shared<RecordingSink>();
    ASSERT_EQ(h.subscribe(live, std::nullopt), EventHub::Outcome::Subscribed);
    h.hub->apply(eventsAt(1, 4));
    h.hub->apply(eventsAt(3, 6));
    EXPECT_EQ(h.hub->applied(), 6u);
    EXPECT_EQ(live->ids(6), range(1, 6));
    h.hub->apply(eventsAt(7, 7));
    EXPECT_EQ(live->ids(7), range(1, 7)) << "nothing repeated before the next event either";
}
