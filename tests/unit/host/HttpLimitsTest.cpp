// Limits a hostile client meets after its head was admitted: bodies in flight share one memory
// budget ([http] max_body_memory_bytes, 503 beyond it), and a large body is never parsed on an
// event loop, whatever its route allows.
#include <gtest/gtest.h>

#include <thread>

#include "HostTestUtil.h"
#include "ordersystem/testing/RawClient.h"

namespace ordersystem::host {
namespace {

using ordersystem::testing::RawClient;
using ordersystem::testing::TempDir;

class HttpLimitsTest : public ::testing::Test {
protected:
    void startWith(std::vector<std::string> defines) {
        _server = std::make_unique<test::FixtureServer>(_dir, std::move(defines));
        ASSERT_TRUE(_server->ok()) << _server->status().message;
        _port = _server->port();
    }
    static std::string rawPost(const std::string& path, size_t length) {
        return "POST " + path +
               " HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: " + std::to_string(length) +
               "\r\n\r\n";
    }
    /// Where a route that may run on the loop ran for a body of `size` bytes.
    bool ranOnTheLoop(const std::string& path, size_t size) {
        RawClient client(_port, false);
        client.send(rawPost(path, size) + std::string(size, 'b'));
        const auto r = client.readResponse();
        EXPECT_EQ(r.status, 200) << path << " " << r.body;
        EXPECT_NE(r.body.find("\"bodySize\":" + std::to_string(size)), std::string::npos) << r.body;
        return r.body.find("\"onEventLoop\":true") != std::string::npos;
    }

    TempDir _dir;
    std::unique_ptr<test::FixtureServer> _server;
    int _port = 0;
};

TEST_F(HttpLimitsTest, ARequestWithALargeBodyIsHandledOnAWorkerEvenWhenItsRouteMayRunOnTheLoop) {
    startWith({"http.max_body_bytes=1000000"});
    EXPECT_TRUE(ranOnTheLoop("/fixture/inline-body", 100));
    EXPECT_FALSE(ranOnTheLoop("/fixture/inline-body", 20 * 1024));
    EXPECT_TRUE(ranOnTheLoop("/fixture/async-body", 100));
    EXPECT_FALSE(ranOnTheLoop("/fixture/async-body", 20 * 1024));
}

TEST_F(HttpLimitsTest, BodiesInFlightBeyondTheMemoryBudgetAre503AndTheBudgetComesBackAfterTheAnswer) {
    startWith({"http.max_body_bytes=200000", "http.max_body_memory_bytes=300000"});
    RawClient holder(_port, false);
    ASSERT_TRUE(holder.send(rawPost("/fixture/raw", 200000) + std::string(1000, 'a')));
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // its 200000 bytes are reserved now

    RawClient second(_port, false);
    ASSERT_TRUE(second.send(rawPost("/fixture/raw", 200000)));
    const auto refused = second.readResponse();
    EXPECT_EQ(refused.status, 503) << refused.body;
    EXPECT_EQ(refused.header("retry-after"), "1");
    EXPECT_TRUE(second.closedWithin(std::chrono::seconds(5)));

    RawClient chunked(_port, false);
    ASSERT_TRUE(
        chunked.send("POST /fixture/raw HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
                     "Transfer-Encoding: chunked\r\n\r\n249f0\r\n" +
                     std::string(150000, 'c') + "\r\n0\r\n\r\n"));
    EXPECT_EQ(chunked.readResponse().status, 503) << "a chunked body counts against the budget as it grows";

    ASSERT_TRUE(holder.send(std::string(199000, 'a')));
    EXPECT_EQ(holder.readResponse().status, 200);
    RawClient third(_port, false);
    ASSERT_TRUE(third.send(rawPost("/fixture/raw", 200000) + std::string(200000, 'z')));
    EXPECT_EQ(third.readResponse().status, 200) << "the first body's share came back with its answer";
}

}  // namespace
}  // namespace ordersystem::host
