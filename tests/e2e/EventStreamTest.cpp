// GET /api/events/stream (CONTRACT.md §5 "Live events") against the built executable, standalone:
// what an EventSource client sees, resuming (also from before the replay ring and across a
// restart), filters, keep-alive, refusals, many streams under a burst, a client that never
// reads, and a shutdown with streams open.
#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>
#include <thread>

#include "E2e.h"
#include "ordersystem/sdk/json.h"
#include "ordersystem/sdk/util.h"
#include "ordersystem/testing/SseClient.h"

namespace e2e {
namespace {

using namespace std::chrono_literals;

constexpr auto kWait = std::chrono::seconds(10);

class EventStreamTest : public StandaloneTest {
protected:
    OrderNode::Options options() override {
        OrderNode::Options o = StandaloneTest::options();
        o.extraKeys["orders"]["stream_keepalive_ms"] = "300";
        o.extraKeys["orders"]["stream_replay_events"] = "1000";
        o.extraKeys["http"]["max_stream_buffer_bytes"] = "262144";
        return o;
    }
    std::unique_ptr<SseClient> open(const std::string& query = "", const std::vector<std::string>& headers = {}) {
        auto client = std::make_unique<SseClient>(port(), "/api/events/stream" + query, headers);
        EXPECT_EQ(client->head().status, 200) << client->head().body;
        return client;
    }
    /// The order's event documents as GET /api/orders/{id}/events returns them.
    std::string eventsOf(int64_t id) { return get("/api/orders/" + std::to_string(id) + "/events").body; }
    std::string metrics() { return get("/metrics").body; }
};

uint64_t idOf(const SseMessage& m) { return std::stoull(m.id); }

TEST_F(EventStreamTest, AStreamGetsACreateAndItsTransitionsInOrderWithIncreasingIdsAndTheExactDocuments) {
    auto stream = open();
    EXPECT_EQ(stream->head().header("content-type"), "text/event-stream");
    EXPECT_EQ(stream->head().header("cache-control"), "no-cache");
    const int64_t id = create("Alice");
    ASSERT_EQ(post("/api/orders/" + std::to_string(id) + "/process").status, 200);
    ASSERT_EQ(post("/api/orders/" + std::to_string(id) + "/complete").status, 200);

    const auto messages = stream->take(3, kWait);
    ASSERT_EQ(messages.size(), 3u);
    EXPECT_EQ(messages[0].event, "OrderCreated");
    EXPECT_EQ(messages[1].event, "OrderProcessing");
    EXPECT_EQ(messages[2].event, "OrderCompleted");
    EXPECT_LT(idOf(messages[0]), idOf(messages[1]));
    EXPECT_LT(idOf(messages[1]), idOf(messages[2]));
    const std::string documents = eventsOf(id);
    for (const auto& m : messages) {
        EXPECT_NE(documents.find(m.data), std::string::npos) << "not the event document: " << m.data;
        EXPECT_EQ(stringField(ordersystem::sdk::parseJson(m.data).value(), "type"), m.event);
    }
}

TEST_F(EventStreamTest, AStreamWithoutAPositionStartsWithTheNextNewEvent) {
    const int64_t before = create("Before");
    auto stream = open();
    const int64_t after = create("After");
    const auto first = stream->next(kWait);
    ASSERT_TRUE(first);
    EXPECT_EQ(intField(ordersystem::sdk::parseJson(first->data).value(), "orderId"), after) << "not " << before;
}

TEST_F(EventStreamTest, ResumingWithLastEventIdOrAfterContinuesWithoutAGapOrARepeat) {
    auto reference = open();  // sees everything from here on
    for (int i = 0; i < 3; ++i) create("Early" + std::to_string(i));
    const auto early = reference->take(3, kWait);
    ASSERT_EQ(early.size(), 3u);
    const std::string resumeAt = early[1].id;
    for (int i = 0; i < 3; ++i) create("Missed" + std::to_string(i));

    auto byHeader = open("", {"Last-Event-ID: " + resumeAt});
    auto byQuery = open("?after=" + resumeAt);
    auto bothHeaderWins = open("?after=0", {"Last-Event-ID: " + resumeAt});
    for (int i = 0; i < 2; ++i) create("Live" + std::to_string(i));  // the switch from history to live

    const auto all = reference->take(5, kWait);  // 3 missed + 2 live
    ASSERT_EQ(all.size(), 5u);
    std::vector<std::string> expected = {early[2].id};
    for (const auto& m : all) expected.push_back(m.id);
    for (SseClient* client : {byHeader.get(), byQuery.get(), bothHeaderWins.get()}) {
        const auto got = client->take(expected.size(), kWait);
        std::vector<std::string> ids;
        for (const auto& m : got) ids.push_back(m.id);
        EXPECT_EQ(ids, expected);
        EXPECT_FALSE(client->next(500ms)) << "a repeat or an extra event";
    }
}

TEST_F(EventStreamTest, OrderIdKeepsOneOrdersEvents) {
    const int64_t watched = create("Watched");
    auto stream = open("?orderId=" + std::to_string(watched) + "&after=0");
    const int64_t other = create("Other");
    ASSERT_EQ(post("/api/orders/" + std::to_string(other) + "/process").status, 200);
    ASSERT_EQ(post("/api/orders/" + std::to_string(watched) + "/process").status, 200);
    const auto got = stream->take(2, kWait);
    ASSERT_EQ(got.size(), 2u);
    for (const auto& m : got)
        EXPECT_EQ(intField(ordersystem::sdk::parseJson(m.data).value(), "orderId"), watched) << m.data;
    EXPECT_EQ(got[0].event, "OrderCreated");
    EXPECT_EQ(got[1].event, "OrderProcessing");
    EXPECT_FALSE(stream->next(500ms));
}

TEST_F(EventStreamTest, AnIdleStreamGetsAKeepAliveCommentAtTheLoweredInterval) {
    auto stream = open();
    const auto comment = stream->next(5s, true);
    ASSERT_TRUE(comment);
    EXPECT_EQ(comment->comment, " keep-alive");
}

TEST_F(EventStreamTest, BadPositionsAndOrderIdsAre400ProblemsBeforeAnyStreaming) {
    const std::vector<std::pair<std::string, std::vector<std::string>>> bad = {
        {"?after=abc", {}}, {"?after=-1", {}},  {"?after=01", {}},           {"?after=99999999999999999999", {}},
        {"?orderId=0", {}}, {"?orderId=x", {}}, {"", {"Last-Event-ID: 1e3"}}};
    for (const auto& [query, headers] : bad) {
        SseClient client(port(), "/api/events/stream" + query, headers);
        EXPECT_EQ(client.head().status, 400) << query;
        EXPECT_EQ(client.head().header("content-type"), "application/problem+json") << query;
        EXPECT_TRUE(client.endsWithin(2s)) << query;
    }
}

TEST_F(EventStreamTest, APositionOlderThanTheReplayRingIsReadFromTheLogThenTheStreamGoesOnLive) {
    // stream_replay_events = 1000, and nobody streams while the 1004 events are written: all of
    // them come from the log, page by page, then the next one live, without a gap or repeat.
    std::vector<std::thread> writers;
    for (int w = 0; w < 4; ++w)
        writers.emplace_back([&, w] {
            for (int i = 0; i < 251 - (w == 0 ? 1 : 0); ++i)
                httpPostJson(port(), "/api/orders", orderBody("Bulk" + std::to_string(w)));
        });
    for (auto& t : writers) t.join();
    const int64_t last = create("Last");  // 1004 events
    auto stream = open("?after=0");
    const auto history = stream->take(1004, kWait);
    ASSERT_EQ(history.size(), 1004u);
    for (size_t i = 0; i < history.size(); ++i) ASSERT_EQ(idOf(history[i]), i + 1) << "a gap or repeat at " << i;
    EXPECT_NE(history.back().data.find("\"customerName\":\"Last\""), std::string::npos) << history.back().data;
    ASSERT_EQ(post("/api/orders/" + std::to_string(last) + "/process").status, 200);
    const auto live = stream->next(kWait);
    ASSERT_TRUE(live);
    EXPECT_EQ(live->id, "1005");
    EXPECT_EQ(live->event, "OrderProcessing");
}

TEST_F(EventStreamTest, AClientResumesAcrossARestartOfTheNode) {
    const int64_t id = create("Before");
    auto before = open("?after=0");
    const auto created = before->next(kWait);
    ASSERT_TRUE(created);
    before.reset();
    restart();
    ASSERT_EQ(post("/api/orders/" + std::to_string(id) + "/process").status, 200);
    auto resumed = open("", {"Last-Event-ID: " + created->id});
    const auto next = resumed->next(kWait);
    ASSERT_TRUE(next);
    EXPECT_EQ(next->event, "OrderProcessing");
    EXPECT_EQ(idOf(*next), idOf(*created) + 1);
}

TEST_F(EventStreamTest, HeadAnswersTheStreamsHeadOnly) {
    RawClient raw(port(), false);
    ASSERT_TRUE(raw.send("HEAD /api/events/stream HTTP/1.1\r\nHost: localhost\r\n\r\n"));
    const RawResponse r = raw.readResponse(true);
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.header("content-type"), "text/event-stream");
    EXPECT_TRUE(raw.closedWithin(3s));
}

TEST_F(EventStreamTest, TwoHundredStreamsEachGetEveryEventOfABurstOfCreates) {
    std::vector<std::unique_ptr<SseClient>> streams;
    for (int i = 0; i < 200; ++i) {
        streams.push_back(std::make_unique<SseClient>(port(), "/api/events/stream"));
        ASSERT_EQ(streams.back()->head().status, 200) << i;
    }
    constexpr int kCreates = 100;
    std::atomic<int> created{0};
    std::vector<std::thread> writers;
    for (int w = 0; w < 4; ++w)
        writers.emplace_back([&] {
            for (int i = 0; i < kCreates / 4; ++i)
                if (httpPostJson(port(), "/api/orders", orderBody("Burst")).status == 201) ++created;
        });
    for (auto& t : writers) t.join();
    ASSERT_EQ(created.load(), kCreates);
    for (size_t i = 0; i < streams.size(); ++i) {
        const auto got = streams[i]->take(kCreates, kWait);
        ASSERT_EQ(got.size(), static_cast<size_t>(kCreates)) << "stream " << i;
        for (size_t k = 1; k < got.size(); ++k) ASSERT_LT(idOf(got[k - 1]), idOf(got[k])) << "stream " << i;
    }
    EXPECT_EQ(metricSample(metrics(), "ordersystem_http_open_streams"), 200);
    EXPECT_LT(processRssMiB(node->process()->pid()), 512) << "200 streams must cost little memory";
}

TEST_F(EventStreamTest, AClientThatNeverReadsIsDroppedAndTheNodeStaysHealthy) {
    // A socket with a small receive window that sends its request and never reads again.
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE(fd, 0);
    const int small = 4096;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port()));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    const std::string request = "GET /api/events/stream HTTP/1.1\r\nHost: localhost\r\n\r\n";
    ASSERT_EQ(::send(fd, request.data(), request.size(), 0), static_cast<ssize_t>(request.size()));
    auto reader = open();  // a client that reads keeps everything
    std::atomic<bool> done{false};
    std::atomic<size_t> read{0};
    std::thread readerThread([&] {
        while (!done.load())
            if (reader->next(100ms)) ++read;
    });

    // Orders of about 2 KB of event each until the host gives up on the sleeper.
    std::vector<std::tuple<std::string, int, std::string>> items;
    const std::string longName(150, 'x');
    for (int i = 0; i < 10; ++i) items.emplace_back(longName + std::to_string(i), 1, "1.00");
    int created = 0;
    const bool dropped = waitUntil(
        [&] {
            for (int i = 0; i < 20; ++i)
                if (httpPostJson(port(), "/api/orders", orderBody("Big", items)).status == 201) ++created;
            return metricSample(metrics(), "ordersystem_http_streams_dropped_total") >= 1;
        },
        std::chrono::seconds(120), 1ms);
    ::close(fd);
    EXPECT_TRUE(waitUntil([&] { return read.load() >= static_cast<size_t>(created); }, std::chrono::seconds(30)));
    done = true;
    readerThread.join();
    ASSERT_TRUE(dropped) << created << " orders and the sleeper is still served";
    EXPECT_EQ(read.load(), static_cast<size_t>(created)) << "the client that reads lost events";
    EXPECT_EQ(get("/health/ready").status, 200);
    EXPECT_LT(processRssMiB(node->process()->pid()), 512);
    EXPECT_EQ(metricSample(metrics(), "ordersystem_http_open_streams"), 1) << "the sleeper is gone";
}

TEST_F(EventStreamTest, StoppingTheNodeEndsOpenStreamsCleanly) {
    auto stream = open();
    create("Alice");
    ASSERT_TRUE(stream->next(kWait));
    EXPECT_EQ(node->stop(), 0) << node->output();
    EXPECT_TRUE(stream->endsWithin(5s));
}

class EventStreamWithKeysTest : public EventStreamTest {
protected:
    OrderNode::Options options() override {
        OrderNode::Options o = EventStreamTest::options();
        writeFile(dir.path() + "/keys", ordersystem::sdk::sha256Hex("s3cret") + "\n");
        o.extraKeys["http"]["api_keys_file"] = dir.path() + "/keys";
        return o;
    }
};

TEST_F(EventStreamWithKeysTest, TheStreamNeedsAnApiKeyLikeAnyApiRoute) {
    SseClient without(port(), "/api/events/stream");
    EXPECT_EQ(without.head().status, 401);
    SseClient with(port(), "/api/events/stream", {"Authorization: Bearer s3cret"});
    EXPECT_EQ(with.head().status, 200);
}

}  // namespace
}  // namespace e2e
