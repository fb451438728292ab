// The HTTP/1.1 conformance table (RFC 9112 framing, RFC 9110 semantics, the edge rules of
// CONTRACT.md §5): one row per case, the request's exact bytes, the status a client must see
// and whether the connection still serves afterwards. Every row runs against the plain and the
// TLS listener, which must behave identically.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "ApiKeys.h"
#include "HostTestUtil.h"
#include "ordersystem/testing/RawClient.h"

namespace ordersystem::host {
namespace {

using ordersystem::testing::RawClient;
using ordersystem::testing::RawResponse;
using ordersystem::testing::TempDir;
using ordersystem::testing::writeFile;

constexpr const char* kKey = "conformance-key";

struct Row {
    const char* name;
    std::string request;
    int status;
    bool staysOpen;
    bool head = false;  ///< a HEAD request: the answer has no body
};

std::string get(const std::string& target, const std::string& extra = "") {
    return "GET " + target + " HTTP/1.1\r\nHost: localhost\r\n" + extra + "\r\n";
}
std::string post(const std::string& target, const std::string& headers, const std::string& body) {
    return "POST " + target + " HTTP/1.1\r\nHost: localhost\r\n" + headers + "\r\n" + body;
}
const std::string kText = "Content-Type: text/plain\r\n";
const std::string kChunked = "Transfer-Encoding: chunked\r\n";

std::vector<Row> rows() {
    const std::string key = std::string("Authorization: Bearer ") + kKey + "\r\n";
    std::string manyFields;
    for (int i = 0; i < 101; ++i) manyFields += "X-F" + std::to_string(i) + ": v\r\n";
    return {
        {"a plain GET", get("/fixture/echo"), 200, true},
        {"HEAD of a GET route has the GET's headers and no body", "HEAD /fixture/echo HTTP/1.1\r\nHost: x\r\n\r\n", 200,
         true, true},
        {"HEAD of the health route", "HEAD /health/live HTTP/1.1\r\nHost: x\r\n\r\n", 200, true, true},
        {"blank lines before the request line are skipped", "\r\n\r\n" + get("/fixture/echo"), 200, true},
        {"bare LF line ends", "GET /fixture/echo HTTP/1.1\nHost: x\n\n", 200, true},
        {"a head ending in LF CR LF", "GET /fixture/echo HTTP/1.1\nHost: x\n\r\n", 200, true},
        {"an absolute URL target", "GET http://localhost/fixture/echo HTTP/1.1\r\nHost: localhost\r\n\r\n", 200, true},
        {"Connection: close closes", get("/fixture/echo", "Connection: close\r\n"), 200, false},
        {"HTTP/1.0 closes", "GET /fixture/echo HTTP/1.0\r\n\r\n", 200, false},
        {"HTTP/1.0 keep-alive stays", "GET /fixture/echo HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 200, true},
        {"HTTP/1.0 with chunked is read, then closed",
         "POST /fixture/raw HTTP/1.0\r\nConnection: keep-alive\r\n" + kText + kChunked + "\r\n3\r\nabc\r\n0\r\n\r\n",
         200, false},
        {"a Content-Length body", post("/fixture/raw", kText + "Content-Length: 3\r\n", "abc"), 200, true},
        {"a chunked body with extensions and trailers",
         post("/fixture/raw", kText + kChunked, "3;x=\"y\"\r\nabc\r\n0\r\nX-Sum: 1\r\n\r\n"), 200, true},
        {"Expect: 100-continue with the body already sent",
         post("/fixture/raw", kText + "Expect: 100-continue\r\nContent-Length: 3\r\n", "abc"), 200, true},
        {"Content-Length with Transfer-Encoding",
         post("/fixture/raw", kText + "Content-Length: 3\r\n" + kChunked, "3\r\nabc\r\n0\r\n\r\n"), 400, false},
        {"two different Content-Lengths",
         post("/fixture/raw", kText + "Content-Length: 3\r\nContent-Length: 4\r\n", "abcd"), 400, false},
        {"a signed Content-Length", post("/fixture/raw", kText + "Content-Length: +3\r\n", "abc"), 400, false},
        {"an obsolete line fold", get("/fixture/echo", "X-A: 1\r\n folded\r\n"), 400, false},
        {"whitespace before a colon", get("/fixture/echo", "X-A : 1\r\n"), 400, false},
        {"NUL in a header value", get("/fixture/echo", std::string("X-A: a\0b\r\n", 10)), 400, false},
        {"a bare CR in a header value", get("/fixture/echo", "X-A: a\rb\r\n"), 400, false},
        {"another control character in a header value",
         get("/fixture/echo",
             "X-A: a\x08"
             "b\r\n"),
         400, false},
        {"a control character in the target", "GET /fixture/echo\x7f HTTP/1.1\r\nHost: x\r\n\r\n", 400, false},
        {"HTTP/1.1 without Host", "GET /fixture/echo HTTP/1.1\r\n\r\n", 400, false},
        {"HTTP/1.1 with two Hosts", get("/fixture/echo", "Host: other\r\n"), 400, false},
        {"a malformed request line", "GET /fixture/echo  HTTP/1.1\r\nHost: x\r\n\r\n", 400, false},
        {"HTTP/2.0 on an HTTP/1.1 port", "GET /fixture/echo HTTP/2.0\r\nHost: x\r\n\r\n", 505, false},
        {"a transfer coding other than chunked", post("/fixture/raw", kText + "Transfer-Encoding: gzip\r\n", ""), 501,
         false},
        {"a malformed chunk size", post("/fixture/raw", kText + kChunked, "zz\r\nabc\r\n0\r\n\r\n"), 400, false},
        {"a chunk size line ending in a bare LF", post("/fixture/raw", kText + kChunked, "3\nabc\r\n0\r\n\r\n"), 400,
         false},
        {"chunk data not followed by CRLF", post("/fixture/raw", kText + kChunked, "3\r\nabcd\r\n0\r\n\r\n"), 400,
         false},
        {"a malformed trailer", post("/fixture/raw", kText + kChunked, "3\r\nabc\r\n0\r\nBad Trailer: x\r\n\r\n"), 400,
         false},
        {"a chunk larger than the body limit is refused at its size line",
         post("/fixture/raw", kText + kChunked, "100000\r\nabc"), 413, false},
        {"a Content-Length over the body limit", post("/fixture/raw", kText + "Content-Length: 200000\r\n", "abc"), 413,
         false},
        {"a target over the limit", get("/fixture/items/" + std::string(1100, 'a')), 414, false},
        {"headers over the limit", get("/fixture/echo", "X-Pad: " + std::string(2100, 'h') + "\r\n"), 431, false},
        {"more than 100 header fields", get("/fixture/echo", manyFields), 431, false},
        {"an unsupported expectation", post("/fixture/raw", kText + "Expect: gold\r\nContent-Length: 3\r\n", "abc"),
         417, false},
        {"an API route without a key", get("/api/cluster/nodes"), 401, true},
        {"an API route spelled with an escape still needs its key", get("/%61pi/cluster/nodes"), 401, true},
        {"an API route spelled with another escape", get("/a%70i/cluster/nodes"), 401, true},
        {"an unknown API route without a key", get("/api/nope"), 401, true},
        {"an API route with its key", get("/api/cluster/nodes", key), 200, true},
        {"an escaped spelling of the API route with its key", get("/%61pi/cluster/%6eodes", key), 200, true},
        {"a refusal before the body closes: the body stays unread",
         post("/api/cluster/nodes", "Content-Length: 5\r\n", "hello"), 401, false},
        {"an unknown path", get("/no/such/path"), 404, true},
        {"an unknown path with a body is answered before the body and closed",
         post("/no/such/path", kText + "Content-Length: 100000\r\n", ""), 404, false},
        {"another method", "PUT /fixture/echo HTTP/1.1\r\nHost: x\r\n\r\n", 405, true},
        {"a JSON route with another content type", post("/fixture/items", kText + "Content-Length: 2\r\n", "{}"), 415,
         false},
        {"a path segment that is not UTF-8", get("/fixture/items/x%FFy"), 400, true},
        {"a path segment with a control character", get("/fixture/items/a%00b"), 400, true},
        {"an overlong UTF-8 form in the path", get("/fixture/items/%C0%AF"), 400, true},
        {"dot segments", get("/fixture/../fixture/echo"), 400, true},
        {"escaped dot segments", get("/fixture/%2e%2e/fixture/echo"), 400, true},
        {"a malformed escape in the path", get("/fixture/items/%zz"), 400, true},
        {"a query value that is not UTF-8", get("/fixture/echo?reason=x%FFy"), 400, true},
        {"a query value with a control character", get("/fixture/echo?reason=x%0Dy"), 400, true},
        {"a clean UTF-8 query value", get("/fixture/echo?reason=Jos%C3%A9+%E2%82%AC"), 200, true},
        {"a body on a route that takes none is refused before it is read",
         "GET /health/live HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n", 413, false},
    };
}

/// One server per listener kind for the whole table: max_uri_bytes 1024, max_header_bytes 2048,
/// max_body_bytes 100000, API keys on /api.
class Listener {
public:
    explicit Listener(bool tls) {
        std::vector<std::string> defines = {"http.max_uri_bytes=1024", "http.max_header_bytes=2048",
                                            "http.max_body_bytes=100000", "http.api_keys_file=keys",
                                            "http.request_timeout_ms=3000"};
        if (tls) {
            if (!ordersystem::testing::makeSelfSignedCertificate(_dir.path())) return;
            defines.push_back("http.tls_cert=cert.pem");
            defines.push_back("http.tls_key=key.pem");
        }
        writeFile(_dir.file("keys"), sdk::sha256Hex(kKey) + "\n");
        _server = std::make_unique<test::FixtureServer>(_dir, defines);
    }
    int port() const { return _server ? _server->port() : 0; }
    std::string error() const { return _server ? _server->status().message : "no certificate"; }

private:
    TempDir _dir;
    std::unique_ptr<test::FixtureServer> _server;
};

class Conformance : public ::testing::TestWithParam<bool> {
protected:
    static void SetUpTestSuite() {
        plain = new Listener(false);
        tls = new Listener(true);
    }
    static void TearDownTestSuite() {
        delete plain;
        delete tls;
    }
    const Listener& listener() const { return GetParam() ? *tls : *plain; }
    static Listener* plain;
    static Listener* tls;
};
Listener* Conformance::plain = nullptr;
Listener* Conformance::tls = nullptr;

TEST_P(Conformance, EveryRowGetsItsStatusAndKeepsOrClosesTheConnection) {
    ASSERT_GT(listener().port(), 0) << listener().error();
    for (const Row& row : rows()) {
        RawClient client(listener().port(), GetParam());
        ASSERT_TRUE(client.ok()) << row.name << ": " << client.error();
        ASSERT_TRUE(client.send(row.request)) << row.name;
        const RawResponse r = client.readResponse(row.head);
        EXPECT_EQ(r.status, row.status) << row.name;
        if (r.status >= 400) {
            EXPECT_EQ(r.header("content-type"), "application/problem+json") << row.name;
        }
        if (row.head) {
            EXPECT_TRUE(r.body.empty()) << row.name;
            EXPECT_GT(std::atoi(r.header("content-length").c_str()), 0) << row.name << ": HEAD keeps the GET's length";
        }
        if (row.staysOpen) {
            EXPECT_TRUE(client.stillServes()) << row.name << ": the connection should still serve";
        } else {
            EXPECT_EQ(r.header("connection"), "close") << row.name;
            EXPECT_TRUE(client.closedWithin(std::chrono::seconds(5))) << row.name << ": the connection should close";
        }
    }
}

TEST_P(Conformance, PipelinedRequestsAreAnsweredInOrderAndTheNextIsReadOnlyAfterTheAnswer) {
    ASSERT_GT(listener().port(), 0) << listener().error();
    RawClient client(listener().port(), GetParam());
    ASSERT_TRUE(client.ok()) << client.error();
    ASSERT_TRUE(client.send(get("/fixture/items/1") + get("/fixture/slow?ms=50") + get("/fixture/items/3")));
    EXPECT_NE(client.readResponse().body.find("/fixture/items/1"), std::string::npos);
    EXPECT_NE(client.readResponse().body.find("/fixture/slow"), std::string::npos);
    EXPECT_NE(client.readResponse().body.find("/fixture/items/3"), std::string::npos);
}

TEST_P(Conformance, ExpectContinueGetsTheInterimAnswerOnlyOnceTheHeadIsAdmitted) {
    ASSERT_GT(listener().port(), 0) << listener().error();
    RawClient client(listener().port(), GetParam());
    ASSERT_TRUE(client.send(post("/fixture/raw", kText + "Expect: 100-continue\r\nContent-Length: 3\r\n", "")));
    EXPECT_EQ(client.readResponse(false, true).status, 100);
    ASSERT_TRUE(client.send("abc"));
    EXPECT_EQ(client.readResponse().status, 200);
    RawClient refused(listener().port(), GetParam());
    ASSERT_TRUE(refused.send(post("/api/cluster/nodes", "Expect: 100-continue\r\nContent-Length: 3\r\n", "")));
    EXPECT_EQ(refused.readResponse(false, true).status, 401) << "no 100 Continue for a request that is refused";
}

INSTANTIATE_TEST_SUITE_P(Listeners, Conformance, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& info) { return info.param ? "Tls" : "Plain"; });

}  // namespace
}  // namespace ordersystem::host
