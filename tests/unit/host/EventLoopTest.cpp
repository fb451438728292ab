// The plain-HTTP event-loop listener end to end on port 0 with the fixture plugins: what a client
// sees on the wire (pipelining, chunked bodies, 100-continue, HTTP/1.0, malformed requests), and
// that handlers which block or answer later do not hold up other connections.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <thread>

#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>

#include "HostTestUtil.h"

namespace ordersystem::host {
namespace {

using ordersystem::testing::httpGet;
using ordersystem::testing::HttpResult;
using ordersystem::testing::TempDir;
using ordersystem::testing::writeFile;

size_t count(const std::string& text, const std::string& part) {
    size_t n = 0;
    for (size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + part.size())) ++n;
    return n;
}

class EventLoopTest : public ::testing::Test {
protected:
    void SetUp() override {
        writeFile(_dir.file("os.ini"), test::fixtureIni());
        _runtime = std::make_unique<Runtime>(test::optionsFor(_dir.file("os.ini"), {"http.max_body_bytes=100000"}));
        const sdk::Status s = _runtime->start();
        ASSERT_TRUE(s.isOk()) << s.message;
        _port = _runtime->port();
    }
    void TearDown() override {
        if (_runtime) _runtime->stop();
    }

    /// Sends bytes, then reads until `until` appears `times` times, the server closes, or 10 s pass.
    std::string exchange(const std::string& bytes, const std::string& until, size_t times, bool* closed = nullptr) {
        Poco::Net::StreamSocket s(Poco::Net::SocketAddress("127.0.0.1", static_cast<Poco::UInt16>(_port)));
        s.setReceiveTimeout(Poco::Timespan(10, 0));
        s.sendBytes(bytes.data(), static_cast<int>(bytes.size()));
        return readFrom(s, until, times, closed);
    }
    static std::string readFrom(Poco::Net::StreamSocket& s, const std::string& until, size_t times, bool* closed) {
        std::string out;
        char buf[4096];
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        try {
            while (std::chrono::steady_clock::now() < deadline && count(out, until) < times) {
                const int n = s.receiveBytes(buf, sizeof buf);
                if (n <= 0) {
                    if (closed) *closed = true;
                    break;
                }
                out.append(buf, static_cast<size_t>(n));
            }
        } catch (const Poco::Exception&) {
            if (closed) *closed = true;
        }
        return out;
    }

    TempDir _dir;
    std::unique_ptr<Runtime> _runtime;
    int _port = 0;
};

TEST_F(EventLoopTest, PipelinedRequestsAreAnsweredInOrderOnOneConnection) {
    const std::string req =
        "GET /fixture/items/1 HTTP/1.1\r\nHost: x\r\n\r\n"
        "GET /fixture/async?ms=50 HTTP/1.1\r\nHost: x\r\n\r\n"
        "GET /fixture/slow?ms=20 HTTP/1.1\r\nHost: x\r\n\r\n"
        "GET /fixture/inline HTTP/1.1\r\nHost: x\r\n\r\n";
    const std::string out = exchange(req, "HTTP/1.1 200", 4);
    ASSERT_EQ(count(out, "HTTP/1.1 200"), 4u) << out;
    const size_t items = out.find("\"path\":\"/fixture/items/1\"");
    const size_t async = out.find("\"path\":\"/fixture/async\"");
    const size_t slow = out.find("\"path\":\"/fixture/slow\"");
    const size_t inl = out.find("\"path\":\"/fixture/inline\"");
    ASSERT_NE(inl, std::string::npos) << out;
    EXPECT_LT(items, async);
    EXPECT_LT(async, slow);
    EXPECT_LT(slow, inl);
    EXPECT_NE(out.find("hello later"), std::string::npos) << "the async route's own answer is missing: " << out;
}

TEST_F(EventLoopTest, ARequestSentWhileThePreviousOneIsStillBeingHandledIsAnsweredAfterIt) {
    Poco::Net::StreamSocket s(Poco::Net::SocketAddress("127.0.0.1", static_cast<Poco::UInt16>(_port)));
    s.setReceiveTimeout(Poco::Timespan(10, 0));
    const std::string first = "GET /fixture/slow?ms=300 HTTP/1.1\r\nHost: x\r\n\r\n";
    s.sendBytes(first.data(), static_cast<int>(first.size()));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the first is on a worker now
    const std::string second = "GET /fixture/items/2 HTTP/1.1\r\nHost: x\r\n\r\n";
    s.sendBytes(second.data(), static_cast<int>(second.size()));
    const std::string out = readFrom(s, "HTTP/1.1 200", 2, nullptr);
    ASSERT_EQ(count(out, "HTTP/1.1 200"), 2u) << out;
    EXPECT_LT(out.find("/fixture/slow"), out.find("/fixture/items/2")) << out;
}

TEST_F(EventLoopTest, ThreeThousandPipelinedRequestsSentAtOnceAreAllAnswered) {
    // ~300 KB of requests: more than the loop reads in one round, and more answers than the
    // socket buffers hold while the client is still sending.
    std::string requests;
    for (int i = 0; i < 3000; ++i)
        requests += "GET /fixture/items/" + std::to_string(i) + " HTTP/1.1\r\nHost: x\r\n\r\n";
    Poco::Net::StreamSocket s(Poco::Net::SocketAddress("127.0.0.1", static_cast<Poco::UInt16>(_port)));
    s.setReceiveTimeout(Poco::Timespan(10, 0));
    std::thread sender([&] { s.sendBytes(requests.data(), static_cast<int>(requests.size())); });
    const std::string out = readFrom(s, "HTTP/1.1 200", 3000, nullptr);
    sender.join();
    EXPECT_EQ(count(out, "HTTP/1.1 200"), 3000u);
    EXPECT_NE(out.find("\"id\":\"2999\""), std::string::npos);
}

TEST_F(EventLoopTest, AnAnswerLargerThanTheSocketBuffersReachesASlowReaderWhole) {
    Poco::Net::StreamSocket s(Poco::Net::SocketAddress("127.0.0.1", static_cast<Poco::UInt16>(_port)));
    s.setReceiveTimeout(Poco::Timespan(10, 0));
    const std::string req =
        "GET /fixture/big?kb=8192 HTTP/1.1\r\nHost: x\r\n\r\n"
        "GET /fixture/items/7 HTTP/1.1\r\nHost: x\r\n\r\n";
    s.sendBytes(req.data(), static_cast<int>(req.size()));
    std::string out;
    char buf[65536];
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (out.find("/fixture/items/7") == std::string::npos && std::chrono::steady_clock::now() < deadline) {
        const int n = s.receiveBytes(buf, sizeof buf);
        if (n <= 0) break;
        out.append(buf, static_cast<size_t>(n));
        if (out.size() < 1024 * 1024) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    EXPECT_EQ(count(out, std::string(1024, 'x')), 8192u);
    EXPECT_NE(out.find("/fixture/items/7"), std::string::npos) << "the pipelined request after it was not answered";
}

TEST_F(EventLoopTest, ChunkedBodyReachesTheHandlerWhole) {
    const std::string req =
        "POST /fixture/raw HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
    const std::string out = exchange(req, "}", 1);
    EXPECT_NE(out.find("HTTP/1.1 200"), std::string::npos) << out;
    EXPECT_NE(out.find("\"bodySize\":11"), std::string::npos) << out;
}

TEST_F(EventLoopTest, ExpectContinueGets100ThenTheAnswer) {
    Poco::Net::StreamSocket s(Poco::Net::SocketAddress("127.0.0.1", static_cast<Poco::UInt16>(_port)));
    s.setReceiveTimeout(Poco::Timespan(10, 0));
    const std::string head =
        "POST /fixture/raw HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n";
    s.sendBytes(head.data(), static_cast<int>(head.size()));
    const std::string interim = readFrom(s, "\r\n\r\n", 1, nullptr);
    EXPECT_EQ(interim.rfind("HTTP/1.1 100 Continue", 0), 0u) << interim;
    s.sendBytes("abc", 3);
    const std::string out = readFrom(s, "}", 1, nullptr);
    EXPECT_NE(out.find("\"bodySize\":3"), std::string::npos) << out;
}

TEST_F(EventLoopTest, Http10RequestIsAnsweredAndTheConnectionClosed) {
    bool closed = false;
    const std::string out = exchange("GET /fixture/echo HTTP/1.0\r\n\r\n", "never", 1, &closed);
    EXPECT_NE(out.find("HTTP/1.1 200"), std::string::npos) << out;
    EXPECT_NE(out.find("Connection: close"), std::string::npos) << out;
    EXPECT_TRUE(closed);
}

TEST_F(EventLoopTest, MalformedRequestsAre400ProblemsAndTheServerKeepsServing) {
    for (const std::string bad :
         {"NOT A REQUEST\r\n\r\n",
          "POST /fixture/raw HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\nabc",
          "POST /fixture/raw HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"}) {
        bool closed = false;
        const std::string out = exchange(bad, "never", 1, &closed);
        EXPECT_NE(out.find("HTTP/1.1 400"), std::string::npos) << bad << " -> " << out;
        EXPECT_NE(out.find("application/problem+json"), std::string::npos) << out;
        EXPECT_TRUE(closed) << bad;
    }
    EXPECT_EQ(httpGet(_port, "/health/live").status, 200);
}

TEST_F(EventLoopTest, ABlockingHandlerDoesNotHoldUpOtherConnections) {
    auto slow = std::async(std::launch::async, [this] { return httpGet(_port, "/fixture/slow?ms=1500"); });
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    // Both run while the slow one sleeps: if they waited for it, it would be done first.
    const HttpResult inl = httpGet(_port, "/fixture/inline");
    const HttpResult plain = httpGet(_port, "/fixture/echo");
    EXPECT_EQ(inl.status, 200);
    EXPECT_EQ(plain.status, 200);
    EXPECT_EQ(slow.wait_for(std::chrono::seconds(0)), std::future_status::timeout)
        << "the slow request finished before the quick ones were answered";
    EXPECT_EQ(slow.get().status, 200);
}

TEST_F(EventLoopTest, NonBlockingRoutesRunOnTheLoopAndOneThatWouldWaitIsRunAgainOnAWorker) {
    const HttpResult inl = httpGet(_port, "/fixture/inline");
    EXPECT_NE(inl.body.find("\"onEventLoop\":true"), std::string::npos) << inl.body;
    const HttpResult deferred = httpGet(_port, "/fixture/defer");
    EXPECT_EQ(deferred.status, 200);
    EXPECT_NE(deferred.body.find("\"onEventLoop\":false"), std::string::npos) << deferred.body;
    EXPECT_EQ(deferred.body.find("partial"), std::string::npos) << deferred.body;
}

TEST_F(EventLoopTest, ManyConnectionsWithAsyncAnswersAllGetTheirOwnAnswer) {
    std::vector<std::future<HttpResult>> results;
    for (int i = 0; i < 40; ++i)
        results.push_back(std::async(std::launch::async, [this, i] {
            return httpGet(_port, "/fixture/async?ms=" + std::to_string(i % 5) + "&n=" + std::to_string(i));
        }));
    for (int i = 0; i < 40; ++i) {
        const HttpResult r = results[static_cast<size_t>(i)].get();
        EXPECT_EQ(r.status, 200);
        EXPECT_NE(r.body.find("\"n\":\"" + std::to_string(i) + "\""), std::string::npos) << r.body;
    }
}

TEST_F(EventLoopTest, AnAsyncRouteThatWouldWaitOnTheLoopIsCalledAgainOnAWorkerAndOnlyThatAnswerIsSent) {
    for (int i = 0; i < 3; ++i) {  // a keep-alive connection goes on serving after each of them
        const HttpResult r = httpGet(_port, "/fixture/async-defer?i=" + std::to_string(i));
        EXPECT_EQ(r.status, 200);
        EXPECT_NE(r.body.find("from a worker"), std::string::npos) << r.body;
        EXPECT_NE(r.body.find("\"onEventLoop\":false"), std::string::npos) << r.body;
        EXPECT_EQ(r.body.find("partial"), std::string::npos) << r.body;
    }
    const std::string pipelined = exchange(
        "GET /fixture/async-defer?n=1 HTTP/1.1\r\nHost: x\r\n\r\nGET /fixture/inline?n=2 HTTP/1.1\r\nHost: x\r\n\r\n",
        "HTTP/1.1 200", 2);
    ASSERT_EQ(count(pipelined, "HTTP/1.1 200"), 2u) << pipelined;
    EXPECT_LT(pipelined.find("from a worker"), pipelined.find("\"n\":\"2\"")) << "answers stay in request order";
    EXPECT_EQ(pipelined.find("partial"), std::string::npos) << pipelined;
}

TEST_F(EventLoopTest, AHandlerThatWouldBlockEvenOnAWorkerIsAnswered500OnceAndTheConnectionGoesOn) {
    for (const char* path : {"/fixture/always-blocks", "/fixture/async-always-blocks"}) {
        const std::string out = exchange("GET " + std::string(path) + " HTTP/1.1\r\nHost: x\r\n\r\n" +
                                             "GET /fixture/inline HTTP/1.1\r\nHost: x\r\n\r\n",
                                         "HTTP/1.1 ", 2);
        EXPECT_EQ(count(out, "HTTP/1.1 500"), 1u) << path << " -> " << out;
        EXPECT_LT(out.find("HTTP/1.1 500"), out.find("HTTP/1.1 200")) << path << " -> " << out;
    }
}

TEST_F(EventLoopTest, AnswersGivenOnOtherThreadsReachTheClientWithoutWaitingForTheLoopsIdleTick) {
    // One connection, 300 pipelined requests, each answered from a thread of its own: the loop
    // sleeps between them. An answer whose wake-up got lost would wait for the loop's 100 ms
    // tick, 30 s for all; exchange() gives up after 10.
    constexpr size_t kRequests = 300;
    std::string bytes;
    for (size_t i = 0; i < kRequests; ++i) bytes += "GET /fixture/async?ms=0 HTTP/1.1\r\nHost: x\r\n\r\n";
    const std::string out = exchange(bytes, "hello later", kRequests);
    EXPECT_EQ(count(out, "hello later"), kRequests);
}

TEST_F(EventLoopTest, ABurstOfAsyncAnswersGivenByOneThreadReachesEveryConnection) {
    constexpr int kConnections = 24;
    std::vector<std::future<HttpResult>> results;
    for (int i = 0; i < kConnections; ++i)
        results.push_back(std::async(std::launch::async, [this, i] {
            return httpGet(_port, "/fixture/burst?n=" + std::to_string(kConnections) + "&k=" + std::to_string(i));
        }));
    for (int i = 0; i < kConnections; ++i) {
        const HttpResult r = results[static_cast<size_t>(i)].get();
        EXPECT_EQ(r.status, 200);
        EXPECT_NE(r.body.find("\"k\":\"" + std::to_string(i) + "\""), std::string::npos) << r.body;
    }
}

}  // namespace
}  // namespace ordersystem::host
