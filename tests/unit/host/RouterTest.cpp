// Router: literal vs parameter segments, 404/405 and percent-decoding.
#include <gtest/gtest.h>

#include "Router.h"

namespace ordersystem::host {
namespace {

sdk::RouteHandler named(std::string name) {
    return [name](const sdk::HttpRequest&, sdk::HttpResponse& res) { res.body = name; };
}

std::string call(const Router& router, const std::string& method, const std::string& path, RouteMatch& m) {
    router.match(method, path, m);
    if (m.kind != RouteMatch::Kind::Found) return "";
    sdk::HttpResponse res;
    m.route->handler(sdk::HttpRequest{}, res);
    return res.body;
}

TEST(Router, LiteralSegmentWinsOverParameter) {
    Router r;
    r.add("GET", "/api/orders/{id}", named("byId"));
    r.add("GET", "/api/orders/pending", named("pending"));
    RouteMatch m;
    EXPECT_EQ(call(r, "GET", "/api/orders/pending", m), "pending");
    EXPECT_EQ(call(r, "GET", "/api/orders/42", m), "byId");
    ASSERT_EQ(m.values.size(), 1u);
    EXPECT_EQ(m.values[0], "42");
    EXPECT_EQ(m.route->paramNames[0], "id");
}

TEST(Router, ParameterIsTriedWhenTheLiteralBranchDeadEnds) {
    Router r;
    r.add("GET", "/api/orders/pending", named("pending"));
    r.add("GET", "/api/orders/{id}/events", named("events"));
    RouteMatch m;
    EXPECT_EQ(call(r, "GET", "/api/orders/pending/events", m), "events");
    EXPECT_EQ(m.values.at(0), "pending");
}

TEST(Router, UnknownPathIsNotFound) {
    Router r;
    r.add("GET", "/api/orders/{id}", named("byId"));
    RouteMatch m;
    r.match("GET", "/api/customers/1", m);
    EXPECT_EQ(m.kind, RouteMatch::Kind::NotFound);
    r.match("GET", "/api/orders/1/extra", m);
    EXPECT_EQ(m.kind, RouteMatch::Kind::NotFound);
    r.match("GET", "/api/orders/", m);  // an empty segment never fills a parameter
    EXPECT_EQ(m.kind, RouteMatch::Kind::NotFound);
}

TEST(Router, KnownPathWithAnotherMethodIsMethodNotAllowedWithAllow) {
    Router r;
    r.add("POST", "/api/orders", named("create"));
    r.add("GET", "/api/orders", named("list"));
    RouteMatch m;
    r.match("DELETE", "/api/orders", m);
    EXPECT_EQ(m.kind, RouteMatch::Kind::MethodNotAllowed);
    EXPECT_EQ(m.allow, "GET, HEAD, POST");
}

TEST(Router, HeadIsServedByTheGetRouteWhereverThereIsOne) {
    Router r;
    r.add("GET", "/api/orders/{id}", named("get"));
    r.add("POST", "/api/orders", named("create"));
    RouteMatch m;
    EXPECT_EQ(call(r, "HEAD", "/api/orders/7", m), "get");
    r.match("HEAD", "/api/orders", m);
    EXPECT_EQ(m.kind, RouteMatch::Kind::MethodNotAllowed);
    EXPECT_EQ(m.allow, "POST");
}

TEST(Router, SegmentsThatAreNotCleanTextOrAreDotSegmentsNeverReachARoute) {
    Router r;
    r.add("GET", "/api/orders/customer/{customerName}", named("byCustomer"));
    r.add("GET", "/health", named("health"));
    RouteMatch m;
    for (const char* path : {"/api/orders/customer/x%FFy", "/api/orders/customer/%C0%AF", "/api/orders/customer/a%00b",
                             "/api/orders/customer/a%0Ab", "/api/orders/customer/a%7Fb",
                             "/api/orders/customer/a%C2%85b", "/api/orders/customer/bad%zz", "/api/orders/customer/%",
                             "/api/../health", "/api/%2e%2E/health", "/./health"}) {
        r.match("GET", path, m);
        EXPECT_EQ(m.kind, RouteMatch::Kind::Malformed) << path;
    }
    EXPECT_EQ(call(r, "GET", "/api/orders/customer/Jos%C3%A9%20%E2%82%AC", m), "byCustomer");
    EXPECT_EQ(m.values.at(0), "Jos\xC3\xA9 \xE2\x82\xAC");
}

TEST(Router, PathParametersArePercentDecoded) {
    Router r;
    r.add("GET", "/api/orders/customer/{customerName}", named("byCustomer"));
    RouteMatch m;
    EXPECT_EQ(call(r, "GET", "/api/orders/customer/John%20Doe", m), "byCustomer");
    EXPECT_EQ(m.values.at(0), "John Doe");
    EXPECT_EQ(m.decodedPath, "/api/orders/customer/John Doe");
}

TEST(Router, EncodedSlashStaysInsideItsSegment) {
    Router r;
    r.add("GET", "/api/orders/customer/{customerName}", named("byCustomer"));
    RouteMatch m;
    EXPECT_EQ(call(r, "GET", "/api/orders/customer/A%2FB", m), "byCustomer");
    EXPECT_EQ(m.values.at(0), "A/B");
}

TEST(Router, PlusIsASpaceOnlyInQueryDecoding) {
    std::string out;
    EXPECT_TRUE(percentDecode("a+b%21", out, true));
    EXPECT_EQ(out, "a b!");
    EXPECT_TRUE(percentDecode("a+b", out, false));
    EXPECT_EQ(out, "a+b");
    EXPECT_FALSE(percentDecode("bad%zz", out, false));
}

TEST(Router, SameMethodAndPatternTwiceIsRefusedAndTheFirstStays) {
    Router r;
    r.add("GET", "/x/{id}", named("a"));
    EXPECT_EQ(r.takeError(), "");
    r.add("GET", "/x/{other}", named("b"));
    EXPECT_NE(r.takeError().find("registered twice"), std::string::npos);
    EXPECT_EQ(r.takeError(), "");  // taken
    RouteMatch m;
    EXPECT_EQ(call(r, "GET", "/x/1", m), "a");
}

TEST(Router, AddAfterFreezeIsRefused) {
    Router r;
    r.freeze();
    r.add("GET", "/x", named("a"));
    EXPECT_NE(r.takeError().find("after the HTTP listener opened"), std::string::npos);
    RouteMatch m;
    r.match("GET", "/x", m);
    EXPECT_EQ(m.kind, RouteMatch::Kind::NotFound);
}

}  // namespace
}  // namespace ordersystem::host
