// Security and limits as a client meets them: API keys (401 in constant time, health/metrics/docs
// open unless scope = all), URI and header size (414/431), slow clients cut off, and the
// security headers on every answer.
#include <gtest/gtest.h>

#include <thread>

#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>

#include "ApiKeys.h"
#include "HostTestUtil.h"

namespace ordersystem::host {
namespace {

using ordersystem::testing::httpGet;
using ordersystem::testing::httpRequest;
using ordersystem::testing::HttpResult;
using ordersystem::testing::TempDir;
using ordersystem::testing::writeFile;

#define EXPECT_MENTIONS(text, part) EXPECT_NE((text).find(part), std::string::npos) << (text)

constexpr const char* kKey = "s3cret-key-for-tests";
constexpr const char* kOtherKey = "second-key";

TEST(ApiKeyFile, AcceptsSha256sumOutputCommentsAndBlankLinesAndOnlyTheListedKeys) {
    TempDir dir;
    writeFile(dir.file("keys"),
              "# ordersystem API keys\n\n" + sdk::sha256Hex(kKey) + "  -\n" + sdk::sha256Hex(kOtherKey) + "\n");
    auto keys = ApiKeys::load(dir.file("keys"));
    ASSERT_TRUE(keys) << keys.status().message;
    EXPECT_EQ(keys->size(), 2u);
    EXPECT_TRUE(keys->accepts(kKey));
    EXPECT_TRUE(keys->accepts(kOtherKey));
    EXPECT_FALSE(keys->accepts("s3cret-key-for-test"));
    EXPECT_FALSE(keys->accepts(""));
    EXPECT_FALSE(keys->accepts(sdk::sha256Hex(kKey)));  // the hash itself is not a key
}

TEST(ApiKeyFile, MalformedLineOrEmptyFileIsRefusedNamingFileAndLine) {
    TempDir dir;
    writeFile(dir.file("bad"), sdk::sha256Hex(kKey) + "\nnot-a-hash\n");
    auto bad = ApiKeys::load(dir.file("bad"));
    ASSERT_FALSE(bad);
    EXPECT_MENTIONS(bad.status().message, dir.file("bad") + ":2");
    writeFile(dir.file("empty"), "# nothing\n");
    EXPECT_FALSE(ApiKeys::load(dir.file("empty")));
    EXPECT_FALSE(ApiKeys::load(dir.file("missing")));
}

TEST(ApiKeyFile, ALabelBeforeTheHashNamesTheKeyAndABadLabelIsRefusedNamingFileAndLine) {
    TempDir dir;
    writeFile(dir.file("keys"), "ci-bot " + sdk::sha256Hex(kKey) + "  comment\n" + sdk::sha256Hex(kOtherKey) + "  -\n");
    auto keys = ApiKeys::load(dir.file("keys"));
    ASSERT_TRUE(keys) << keys.status().message;
    ASSERT_TRUE(keys->match(kKey));
    EXPECT_EQ(*keys->match(kKey), "ci-bot");
    ASSERT_TRUE(keys->match(kOtherKey));
    EXPECT_EQ(*keys->match(kOtherKey), "");
    EXPECT_FALSE(keys->match("ci-bot"));
    for (const std::string& bad :
         {std::string(65, 'a') + " " + sdk::sha256Hex(kKey), std::string("bot\x7f ") + sdk::sha256Hex(kKey),
          std::string("label-only"), "bot " + std::string(63, 'a')}) {
        writeFile(dir.file("bad"), "# first\n" + bad + "\n");
        auto refused = ApiKeys::load(dir.file("bad"));
        ASSERT_FALSE(refused) << bad;
        EXPECT_MENTIONS(refused.status().message, dir.file("bad") + ":2");
    }
}

TEST(ApiKeyHeader, BearerWinsAndXApiKeyIsTheFallback) {
    EXPECT_EQ(presentedApiKey("Bearer abc", "xyz"), "abc");
    EXPECT_EQ(presentedApiKey("bearer  abc ", ""), "abc");
    EXPECT_EQ(presentedApiKey("", " xyz "), "xyz");
    EXPECT_EQ(presentedApiKey("Basic Zm9vOmJhcg==", ""), "");
}

class SecurityTest : public ::testing::Test {
protected:
    void startWith(std::vector<std::string> defines) {
        writeFile(_dir.file("keys"), sdk::sha256Hex(kKey) + "\n");
        _server = std::make_unique<test::FixtureServer>(_dir, std::move(defines));
        ASSERT_TRUE(_server->ok()) << _server->status().message;
        _port = _server->port();
    }
    /// Sends raw bytes and returns everything the server sends until it closes (bounded by timeout).
    std::string rawExchange(const std::string& bytes, std::chrono::seconds timeout, bool* closedByServer = nullptr) {
        Poco::Net::StreamSocket s(Poco::Net::SocketAddress("127.0.0.1", static_cast<Poco::UInt16>(_port)));
        s.setReceiveTimeout(Poco::Timespan(static_cast<long>(timeout.count()), 0));
        if (!bytes.empty()) s.sendBytes(bytes.data(), static_cast<int>(bytes.size()));
        std::string out;
        char buf[4096];
        try {
            for (int i = 0; i < 1000; ++i) {
                const int n = s.receiveBytes(buf, sizeof buf);
                if (n <= 0) {
                    if (closedByServer) *closedByServer = true;
                    break;
                }
                out.append(buf, static_cast<size_t>(n));
            }
        } catch (const Poco::TimeoutException&) {
        } catch (const Poco::Exception&) {
            if (closedByServer) *closedByServer = true;  // reset counts as closed
        }
        return out;
    }

    TempDir _dir;
    std::unique_ptr<test::FixtureServer> _server;
    int _port = 0;
};

TEST_F(SecurityTest, WithKeysApiRoutesNeedAValidKeyAndOperationsRoutesStayOpen) {
    startWith({"http.api_keys_file=keys"});
    const HttpResult none = httpGet(_port, "/api/cluster/nodes");
    EXPECT_EQ(none.status, 401) << none.body;
    EXPECT_EQ(none.header("content-type"), "application/problem+json");
    EXPECT_MENTIONS(none.header("www-authenticate"), "Bearer");
    EXPECT_EQ(httpRequest(_port, "GET", "/api/cluster/nodes", "", {{"Authorization", "Bearer wrong"}}).status, 401);
    EXPECT_EQ(httpRequest(_port, "GET", "/api/cluster/nodes", "", {{"X-Api-Key", std::string(kKey) + "x"}}).status,
              401);
    EXPECT_EQ(
        httpRequest(_port, "GET", "/api/cluster/nodes", "", {{"Authorization", std::string("Bearer ") + kKey}}).status,
        200);
    EXPECT_EQ(httpRequest(_port, "GET", "/api/cluster/nodes", "", {{"X-Api-Key", kKey}}).status, 200);
    // An unknown /api path without a key is 401 too: no probing of which routes exist.
    EXPECT_EQ(httpGet(_port, "/api/does-not-exist").status, 401);
    EXPECT_EQ(httpGet(_port, "/health/live").status, 200);
    EXPECT_EQ(httpGet(_port, "/health/ready").status, 200);
    EXPECT_EQ(httpGet(_port, "/metrics").status, 200);
    EXPECT_EQ(httpGet(_port, "/fixture/echo").status, 200);
}

TEST_F(SecurityTest, ScopeAllProtectsHealthMetricsAndDocsToo) {
    startWith({"http.api_keys_file=keys", "http.api_keys_scope=all"});
    EXPECT_EQ(httpGet(_port, "/metrics").status, 401);
    EXPECT_EQ(httpGet(_port, "/health/ready").status, 401);
    EXPECT_EQ(httpGet(_port, "/openapi.json").status, 401);
    EXPECT_EQ(httpRequest(_port, "GET", "/metrics", "", {{"X-Api-Key", kKey}}).status, 200);
}

TEST_F(SecurityTest, WithoutKeysConfiguredEverythingIsOpen) {
    startWith({});
    EXPECT_EQ(httpGet(_port, "/api/cluster/nodes").status, 200);
}

TEST_F(SecurityTest, UnreadableKeyFileRefusesTheStartNamingIt) {
    writeFile(_dir.file("os.ini"), test::fixtureIni("fixture-transport"));
    Runtime runtime(test::optionsFor(_dir.file("os.ini"), {"http.api_keys_file=nope"}));
    const sdk::Status s = runtime.start();
    EXPECT_FALSE(s.isOk());
    EXPECT_MENTIONS(s.message, "api_keys_file");
    Runtime badScope(test::optionsFor(_dir.file("os.ini"), {"http.api_keys_scope=everything"}));
    EXPECT_MENTIONS(badScope.start().message, "api_keys_scope");
}

TEST_F(SecurityTest, LongUriIs414AndHugeHeadersAre431) {
    startWith({"http.max_uri_bytes=1024", "http.max_header_bytes=2048"});
    const HttpResult longUri = httpGet(_port, "/fixture/items/" + std::string(2000, 'a'));
    EXPECT_EQ(longUri.status, 414) << longUri.body;
    EXPECT_EQ(longUri.header("content-type"), "application/problem+json");
    const HttpResult okUri = httpGet(_port, "/fixture/items/" + std::string(500, 'a'));
    EXPECT_EQ(okUri.status, 200);
    std::vector<std::pair<std::string, std::string>> headers;
    for (int i = 0; i < 5; ++i) headers.emplace_back("X-Pad-" + std::to_string(i), std::string(1000, 'h'));
    EXPECT_EQ(httpRequest(_port, "GET", "/fixture/echo", "", headers).status, 431);
    EXPECT_EQ(httpRequest(_port, "GET", "/fixture/echo", "", {{"X-Small", "ok"}}).status, 200);
}

TEST_F(SecurityTest, ClientThatSendsNothingIsDisconnectedAfterTheRequestTimeout) {
    startWith({"http.request_timeout_ms=300"});
    bool closed = false;
    rawExchange("GET /fixture/ec", std::chrono::seconds(10), &closed);  // half a request line, then silence
    EXPECT_TRUE(closed) << "the server kept a silent half-request open for 10 s";
    EXPECT_EQ(httpGet(_port, "/health/live").status, 200);
}

TEST_F(SecurityTest, IdleKeepAliveConnectionIsClosedAfterTheKeepAliveTimeout) {
    startWith({"http.keep_alive_timeout_ms=300"});
    bool closed = false;
    const std::string out =
        rawExchange("GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n", std::chrono::seconds(10), &closed);
    EXPECT_MENTIONS(out, "HTTP/1.1 200");
    EXPECT_TRUE(closed) << "an idle keep-alive connection stayed open for 10 s";
}

TEST_F(SecurityTest, BodyTricklingInSlowerThanTheRequestTimeoutIs408) {
    startWith({"http.request_timeout_ms=400", "http.max_body_bytes=100000"});
    Poco::Net::StreamSocket s(Poco::Net::SocketAddress("127.0.0.1", static_cast<Poco::UInt16>(_port)));
    s.setReceiveTimeout(Poco::Timespan(10, 0));
    const std::string head =
        "POST /fixture/raw HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 50\r\n\r\n";
    s.sendBytes(head.data(), static_cast<int>(head.size()));
    std::string out;
    char buf[4096];
    // One byte every 150 ms: each read is within the socket timeout, the whole body is not.
    for (int i = 0; i < 40 && out.empty(); ++i) {
        try {
            s.sendBytes("x", 1);
        } catch (const Poco::Exception&) {
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(150));
        if (s.poll(Poco::Timespan(0), Poco::Net::Socket::SELECT_READ)) {
            const int n = s.receiveBytes(buf, sizeof buf);
            if (n <= 0) break;
            out.append(buf, static_cast<size_t>(n));
        }
    }
    EXPECT_MENTIONS(out, "HTTP/1.1 408");
}

TEST_F(SecurityTest, BodyThatStopsHalfWayIs408AfterTheRequestTimeoutNot400) {
    startWith({"http.request_timeout_ms=300"});
    bool closed = false;
    const std::string out = rawExchange(
        "POST /fixture/raw HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 50\r\n\r\n0123456789",
        std::chrono::seconds(10), &closed);
    EXPECT_MENTIONS(out, "HTTP/1.1 408");
    EXPECT_TRUE(closed);
}

TEST_F(SecurityTest, EveryAnswerCarriesNosniffAndNoStoreEvenErrors) {
    startWith({"http.api_keys_file=keys"});
    for (const char* path : {"/api/cluster/nodes", "/no/such/path", "/fixture/echo", "/health"}) {
        const HttpResult r = httpGet(_port, path);
        EXPECT_EQ(r.header("x-content-type-options"), "nosniff") << path;
        EXPECT_EQ(r.header("cache-control"), "no-store") << path;
    }
}

}  // namespace
}  // namespace ordersystem::host
