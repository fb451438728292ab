// The HTTP server end to end on port 0 with the fixture plugins: limits, content types, problem
// documents, failures inside handlers, health, metrics and the host's own routes.
#include <gtest/gtest.h>

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>

#include "HostTestUtil.h"
#include "ordersystem/sdk/util.h"

namespace ordersystem::host {
namespace {

using ordersystem::testing::httpGet;
using ordersystem::testing::httpPostJson;
using ordersystem::testing::httpRequest;
using ordersystem::testing::HttpResult;
using ordersystem::testing::TempDir;
using ordersystem::testing::writeFile;

#define EXPECT_MENTIONS(text, part) EXPECT_NE((text).find(part), std::string::npos) << (text)

class HttpServerTest : public ::testing::Test {
protected:
    void startWith(const std::string& extra = "") {
        writeFile(_dir.file("os.ini"), test::fixtureIni("fixture-transport, fixture-routes", extra));
        _runtime = std::make_unique<Runtime>(test::optionsFor(_dir.file("os.ini")));
        const sdk::Status s = _runtime->start();
        ASSERT_TRUE(s.isOk()) << s.message;
        _port = _runtime->port();
        ASSERT_GT(_port, 0);
    }
    void TearDown() override {
        if (_runtime) _runtime->stop();
    }
    static std::string str(const sdk::JsonValue& v, const char* key) {
        const sdk::JsonValue* m = v.find(key);
        return m && m->isString() ? m->asString() : std::string("<missing>");
    }
    static void expectProblem(const HttpResult& r, int status) {
        EXPECT_EQ(r.status, status) << r.body;
        EXPECT_EQ(r.header("content-type"), "application/problem+json") << r.body;
        const sdk::JsonValue doc = r.json();
        ASSERT_TRUE(doc.isObject()) << r.body;
        int64_t s = 0;
        ASSERT_NE(doc.find("status"), nullptr);
        EXPECT_TRUE(doc.find("status")->asInt64(&s) && s == status) << r.body;
        EXPECT_NE(doc.find("title"), nullptr);
        EXPECT_NE(doc.find("detail"), nullptr);
    }

    TempDir _dir;
    std::unique_ptr<Runtime> _runtime;
    int _port = 0;
};

TEST_F(HttpServerTest, RequestIsParsedForTheHandlerAndResponseCarriesStandardHeaders) {
    startWith();
    const HttpResult r =
        httpRequest(_port, "GET", "/fixture/items/a%20b?x=1&name=J+D%21&flag", "", {{"X-Fixture", "yes"}});
    ASSERT_EQ(r.status, 200) << r.error << r.body;
    const sdk::JsonValue doc = r.json();
    EXPECT_EQ(str(doc, "path"), "/fixture/items/a b");
    EXPECT_EQ(str(*doc.find("params"), "id"), "a b");
    EXPECT_EQ(str(*doc.find("query"), "name"), "J D!");
    EXPECT_EQ(str(*doc.find("query"), "flag"), "");
    EXPECT_EQ(str(doc, "xFixture"), "yes");
    EXPECT_MENTIONS(str(doc, "remote"), "127.0.0.1");
    EXPECT_EQ(r.header("cache-control"), "no-store");
    EXPECT_EQ(r.header("x-content-type-options"), "nosniff");
    EXPECT_EQ(r.header("content-length"), std::to_string(r.body.size()));
}

TEST_F(HttpServerTest, LiteralRouteWinsOverParameterRoute) {
    startWith();
    EXPECT_EQ(httpGet(_port, "/fixture/items/special").body, "{\"special\":true}");
}

TEST_F(HttpServerTest, BodyOverTheLimitIs413AndNoHandlerRuns) {
    startWith();  // max_body_bytes = 100
    const std::string big = "{\"pad\":\"" + std::string(500, 'x') + "\"}";
    expectProblem(httpPostJson(_port, "/fixture/items", big), 413);
    // A client that writes a large body before reading still gets the 413, not a reset.
    const std::string huge = "{\"pad\":\"" + std::string(2 * 1024 * 1024, 'x') + "\"}";
    expectProblem(httpPostJson(_port, "/fixture/items", huge), 413);
    const HttpResult ok = httpPostJson(_port, "/fixture/items", "{\"a\":1}");
    EXPECT_EQ(ok.status, 201) << ok.body;
}

TEST_F(HttpServerTest, JsonRouteRefusesOtherContentTypesWith415) {
    startWith();
    expectProblem(httpRequest(_port, "POST", "/fixture/items", "{}", {{"Content-Type", "text/plain"}}), 415);
    expectProblem(httpRequest(_port, "POST", "/fixture/items", "{}"), 415);  // no Content-Type at all
    const HttpResult withCharset =
        httpRequest(_port, "POST", "/fixture/items", "{}", {{"Content-Type", "Application/JSON; charset=utf-8"}});
    EXPECT_EQ(withCharset.status, 201) << withCharset.body;
    EXPECT_EQ(httpRequest(_port, "POST", "/fixture/raw", "abc", {{"Content-Type", "text/plain"}}).status, 200);
}

TEST_F(HttpServerTest, UnknownPathIs404ProblemDocument) {
    startWith();
    expectProblem(httpGet(_port, "/no/such/thing"), 404);
}

TEST_F(HttpServerTest, OtherMethodOnAKnownPathIs405WithAllow) {
    startWith();
    const HttpResult r = httpRequest(_port, "PUT", "/fixture/items/7", "");
    expectProblem(r, 405);
    EXPECT_EQ(r.header("allow"), "DELETE, GET, HEAD");
}

TEST_F(HttpServerTest, HandlerThatThrowsAnswers500AndTheServerKeepsServingOnTheSameConnection) {
    startWith();
    Poco::Net::HTTPClientSession session("127.0.0.1", static_cast<Poco::UInt16>(_port));
    session.setKeepAlive(true);
    session.setTimeout(Poco::Timespan(10, 0));
    auto get = [&session](const std::string& path, std::string& body) {
        Poco::Net::HTTPRequest req(Poco::Net::HTTPRequest::HTTP_GET, path, Poco::Net::HTTPMessage::HTTP_1_1);
        req.setKeepAlive(true);
        session.sendRequest(req);
        Poco::Net::HTTPResponse res;
        std::istream& in = session.receiveResponse(res);
        body.clear();
        Poco::StreamCopier::copyToString(in, body);
        return static_cast<int>(res.getStatus());
    };
    std::string body;
    EXPECT_EQ(get("/fixture/throw", body), 500);
    EXPECT_MENTIONS(body, "\"status\":500");
    EXPECT_EQ(body.find("on purpose"), std::string::npos) << "internal detail leaked: " << body;
    EXPECT_EQ(get("/fixture/echo", body), 200);
    EXPECT_EQ(get("/fixture/throw", body), 500);
    EXPECT_EQ(get("/health/live", body), 200);
}

TEST_F(HttpServerTest, HealthIsHealthyWithNodeIdModeAndChecks) {
    startWith();
    const HttpResult r = httpGet(_port, "/health");
    ASSERT_EQ(r.status, 200) << r.body;
    const sdk::JsonValue doc = r.json();
    EXPECT_EQ(str(doc, "status"), "Healthy");
    EXPECT_EQ(str(doc, "nodeId"), "test-node");
    EXPECT_EQ(str(doc, "mode"), "standalone");
    ASSERT_NE(doc.find("checks"), nullptr);
    ASSERT_EQ(doc.find("checks")->items().size(), 1u);
    EXPECT_EQ(str(doc.find("checks")->items()[0], "name"), "fixture-transport");
    EXPECT_EQ(str(doc.find("checks")->items()[0], "status"), "Healthy");
}

TEST_F(HttpServerTest, ReadinessIs503WhenACheckFailsWhileLivenessStays200) {
    startWith("[fixture-transport]\nhealthy = false\n");
    const HttpResult ready = httpGet(_port, "/health/ready");
    EXPECT_EQ(ready.status, 503);
    EXPECT_EQ(str(ready.json(), "status"), "Unhealthy");
    EXPECT_MENTIONS(ready.body, "fixture broker unreachable");
    EXPECT_EQ(httpGet(_port, "/health").status, 503);
    const HttpResult live = httpGet(_port, "/health/live");
    EXPECT_EQ(live.status, 200);
    EXPECT_EQ(str(live.json(), "status"), "Healthy");
}

TEST_F(HttpServerTest, ReadinessIs503AsSoonAsShutdownBegins) {
    startWith();
    EXPECT_EQ(httpGet(_port, "/health/ready").status, 200);
    _runtime->services().health.beginShutdown();
    EXPECT_EQ(httpGet(_port, "/health/ready").status, 503);
    EXPECT_EQ(httpGet(_port, "/health/live").status, 200);
}

TEST_F(HttpServerTest, MetricsCountRequestsByRoutePatternNotRawPath) {
    startWith();
    ASSERT_EQ(httpGet(_port, "/fixture/items/41").status, 200);
    ASSERT_EQ(httpGet(_port, "/fixture/items/42").status, 200);
    httpGet(_port, "/nowhere");
    const HttpResult r = httpGet(_port, "/metrics");
    ASSERT_EQ(r.status, 200);
    EXPECT_MENTIONS(r.header("content-type"), "text/plain; version=0.0.4");
    EXPECT_MENTIONS(r.body,
                    "ordersystem_http_requests_total{method=\"GET\",route=\"/fixture/items/{id}\",status=\"200\"} 2\n");
    EXPECT_MENTIONS(r.body, "route=\"unmatched\",status=\"404\"} 1\n");
    EXPECT_MENTIONS(r.body, "# TYPE ordersystem_http_request_duration_seconds histogram");
    EXPECT_MENTIONS(
        r.body,
        "ordersystem_http_request_duration_seconds_count{method=\"GET\",route=\"/fixture/items/{id}\",status=\"200\"} 2");
    EXPECT_MENTIONS(r.body, "ordersystem_build_info{version=\"");
    EXPECT_EQ(r.body.find("/fixture/items/41"), std::string::npos);
}

TEST_F(HttpServerTest, ClusterNodesListsThisNodeFromTheTransport) {
    startWith();
    const HttpResult r = httpGet(_port, "/api/cluster/nodes");
    ASSERT_EQ(r.status, 200) << r.body;
    const sdk::JsonValue doc = r.json();
    ASSERT_TRUE(doc.isArray());
    ASSERT_EQ(doc.items().size(), 1u);
    EXPECT_EQ(str(doc.items()[0], "nodeId"), "test-node");
    EXPECT_EQ(str(doc.items()[0], "address"), "http://127.0.0.1:" + std::to_string(_port));
    EXPECT_EQ(str(doc.items()[0], "mode"), "standalone");
    EXPECT_GT(sdk::parseTimestamp(str(doc.items()[0], "lastSeen")), 0);
}

TEST_F(HttpServerTest, DocsAreServedFromDocsDirAndMissingOnesAre404) {
    startWith();  // docs_dir = docs (relative to the ini folder)
    expectProblem(httpGet(_port, "/openapi.json"), 404);
    expectProblem(httpGet(_port, "/swagger"), 404);
    ASSERT_EQ(system(("mkdir -p " + _dir.path() + "/docs/swagger-ui").c_str()), 0);
    writeFile(_dir.file("docs/openapi.json"), "{\"openapi\":\"3.0.3\"}");
    writeFile(_dir.file("docs/swagger-ui/index.html"), "<html></html>");
    writeFile(_dir.file("docs/swagger-ui/app.js"), "var a;");
    const HttpResult spec = httpGet(_port, "/openapi.json");
    EXPECT_EQ(spec.status, 200);
    EXPECT_EQ(spec.header("content-type"), "application/json");
    EXPECT_EQ(spec.body, "{\"openapi\":\"3.0.3\"}");
    EXPECT_MENTIONS(httpGet(_port, "/swagger").header("content-type"), "text/html");
    EXPECT_MENTIONS(httpGet(_port, "/swagger/app.js").header("content-type"), "javascript");
    expectProblem(httpGet(_port, "/swagger/..%2Fopenapi.json"), 404);
}

TEST_F(HttpServerTest, TheConsoleIsServedAtRootWithItsFilesUnderConsoleAndNothingOutsideIt) {
    startWith();  // docs_dir = docs (relative to the ini folder)
    expectProblem(httpGet(_port, "/"), 404);
    ASSERT_EQ(system(("mkdir -p " + _dir.path() + "/docs/console").c_str()), 0);
    writeFile(_dir.file("docs/console/index.html"), "<html>console</html>");
    writeFile(_dir.file("docs/console/index-abc.js"), "var a;");
    writeFile(_dir.file("docs/console/index-abc.css"), "a{}");
    writeFile(_dir.file("docs/console/favicon.svg"), "<svg/>");
    writeFile(_dir.file("docs/openapi.json"), "{}");
    const HttpResult page = httpGet(_port, "/");
    EXPECT_EQ(page.status, 200);
    EXPECT_EQ(page.body, "<html>console</html>");
    EXPECT_MENTIONS(page.header("content-type"), "text/html");
    EXPECT_EQ(page.header("cache-control"), "no-cache");
    const HttpResult script = httpGet(_port, "/console/index-abc.js");
    EXPECT_EQ(script.body, "var a;");
    EXPECT_MENTIONS(script.header("content-type"), "javascript");
    EXPECT_MENTIONS(script.header("cache-control"), "max-age=86400");
    EXPECT_MENTIONS(httpGet(_port, "/console/index-abc.css").header("content-type"), "text/css");
    EXPECT_EQ(httpGet(_port, "/console/favicon.svg").header("content-type"), "image/svg+xml");
    expectProblem(httpGet(_port, "/console/missing.js"), 404);
    expectProblem(httpGet(_port, "/console/..%2Fopenapi.json"), 404);
    expectProblem(httpGet(_port, "/console/.hidden"), 404);
    expectProblem(httpGet(_port, "/console/"), 404);
}

}  // namespace
}  // namespace ordersystem::host
