// Concurrency and history over HTTP (CONTRACT.md §5): ETags and conditional requests, the order
// as it was at a version or a time, Link paging, trace context and the actor in event metadata.
#include "E2e.h"

#include <set>

#include "ordersystem/sdk/util.h"

using namespace e2e;

namespace {

using Headers = std::vector<std::pair<std::string, std::string>>;

constexpr const char* kTraceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
constexpr const char* kTraceId = "4bf92f3577b34da6a3ce929d0e0e4736";

std::string orderPath(int64_t id, const std::string& rest = "") { return "/api/orders/" + std::to_string(id) + rest; }

/// The target of a `Link: <target>; rel="next"` header ("" when there is none).
std::string nextLink(const HttpResult& r) {
    const std::string link = r.header("link");
    const size_t open = link.find('<'), close = link.find('>');
    if (open == std::string::npos || close == std::string::npos || link.find("rel=\"next\"") == std::string::npos)
        return {};
    return link.substr(open + 1, close - open - 1);
}

/// The ids of a list answer: a plain array or {"items": [...]}.
std::vector<int64_t> idsOf(const JsonValue& doc) {
    const JsonValue* items = doc.isObject() ? doc.find("items") : &doc;
    std::vector<int64_t> ids;
    if (items)
        for (const auto& o : items->items()) ids.push_back(intField(o, "id"));
    return ids;
}

/// Follows Link from `first` to the last page (bounded); every id seen, in order.
std::vector<int64_t> walk(int port, const std::string& first, int* pages) {
    std::vector<int64_t> seen;
    std::string target = first;
    for (*pages = 0; !target.empty() && *pages < 50; ++*pages) {
        const HttpResult r = httpGet(port, target);
        EXPECT_EQ(r.status, 200) << target << " " << r.body;
        if (r.status != 200) break;
        for (int64_t id : idsOf(r.json())) seen.push_back(id);
        target = nextLink(r);
    }
    return seen;
}

const JsonValue* metadataOf(const JsonValue& event) { return event.find("metadata"); }

bool isTraceparent(const std::string& v) {
    if (v.size() != 55 || v.compare(0, 3, "00-") != 0 || v[35] != '-' || v[52] != '-') return false;
    for (size_t i = 3; i < 55; ++i)
        if (i != 35 && i != 52 && std::string("0123456789abcdef").find(v[i]) == std::string::npos) return false;
    return true;
}

}  // namespace

TEST_F(StandaloneTest, EveryOrderResponseCarriesItsVersionAsETag) {
    const HttpResult created = httpPostJson(port(), "/api/orders", orderBody("Etag"));
    ASSERT_EQ(created.status, 201) << created.body;
    EXPECT_EQ(created.header("etag"), "\"1\"");
    const int64_t id = intField(created.json(), "orderId");
    EXPECT_EQ(get(orderPath(id)).header("etag"), "\"1\"");
    const HttpResult processed = post(orderPath(id, "/process"));
    EXPECT_EQ(processed.header("etag"), "\"2\"");
    EXPECT_EQ(intField(processed.json(), "version"), 2);
    const HttpResult head = httpRequest(port(), "HEAD", orderPath(id));
    EXPECT_EQ(head.status, 200);
    EXPECT_EQ(head.header("etag"), "\"2\"");
    EXPECT_TRUE(head.body.empty());
}

TEST_F(StandaloneTest, ACommandWithAStaleIfMatchIs412AndChangesNothing) {
    const int64_t id = create("Stale");
    ASSERT_EQ(httpRequest(port(), "POST", orderPath(id, "/process"), "", {{"If-Match", "\"1\""}}).status, 200);
    const HttpResult stale = httpRequest(port(), "POST", orderPath(id, "/complete"), "", {{"If-Match", "\"1\""}});
    EXPECT_EQ(stale.status, 412) << stale.body;
    EXPECT_EQ(stale.header("content-type"), "application/problem+json");
    EXPECT_EQ(intField(stale.json(), "status"), 412);
    const HttpResult weak =
        httpRequest(port(), "POST", orderPath(id, "/cancel?reason=x"), "", {{"If-Match", "W/\"2\""}});
    EXPECT_EQ(weak.status, 412) << "If-Match compares strongly: a weak tag never matches";
    const JsonValue order = get(orderPath(id)).json();
    EXPECT_EQ(stringField(order, "status"), "Processing");
    EXPECT_EQ(intField(order, "version"), 2);
    EXPECT_EQ(get(orderPath(id, "/events")).json().items().size(), 2u);

    const HttpResult current = httpRequest(port(), "POST", orderPath(id, "/complete"), "", {{"If-Match", "\"2\""}});
    EXPECT_EQ(current.status, 200) << current.body;
    EXPECT_EQ(current.header("etag"), "\"3\"");
}

TEST_F(StandaloneTest, IfMatchStarOrAbsentActsAsBeforeAndAMalformedOneIs400) {
    const int64_t id = create("Star");
    const HttpResult malformed = httpRequest(port(), "POST", orderPath(id, "/process"), "", {{"If-Match", "1"}});
    EXPECT_EQ(malformed.status, 400) << malformed.body;
    const HttpResult list = httpRequest(port(), "POST", orderPath(id, "/process"), "", {{"If-Match", "\"1\", \"2\""}});
    EXPECT_EQ(list.status, 400) << list.body;
    EXPECT_EQ(intField(get(orderPath(id)).json(), "version"), 1) << "a refused command changed the order";
    EXPECT_EQ(httpRequest(port(), "POST", orderPath(id, "/process"), "", {{"If-Match", "*"}}).status, 200);
    EXPECT_EQ(post(orderPath(id, "/complete")).status, 200);
}

TEST_F(StandaloneTest, AGetWithAMatchingIfNoneMatchIs304WithTheETagAndNoBody) {
    const int64_t id = create("Cached");
    for (const char* tags : {"\"1\"", "W/\"1\"", "\"7\", W/\"1\"", "*"}) {
        const HttpResult r = httpRequest(port(), "GET", orderPath(id), "", {{"If-None-Match", tags}});
        EXPECT_EQ(r.status, 304) << tags;
        EXPECT_EQ(r.header("etag"), "\"1\"") << tags;
        EXPECT_TRUE(r.body.empty()) << tags;
        const HttpResult head = httpRequest(port(), "HEAD", orderPath(id), "", {{"If-None-Match", tags}});
        EXPECT_EQ(head.status, 304) << "HEAD " << tags;
    }
    ASSERT_EQ(post(orderPath(id, "/process")).status, 200);
    const HttpResult changed = httpRequest(port(), "GET", orderPath(id), "", {{"If-None-Match", "\"1\""}});
    EXPECT_EQ(changed.status, 200);
    EXPECT_EQ(changed.header("etag"), "\"2\"");
    EXPECT_EQ(stringField(changed.json(), "status"), "Processing");
}

TEST_F(StandaloneTest, VersionShowsTheOrderAsItWasAfterThatEvent) {
    const int64_t id = create("Travel");
    ASSERT_EQ(post(orderPath(id, "/process")).status, 200);
    ASSERT_EQ(post(orderPath(id, "/cancel?reason=changed%20mind")).status, 200);
    const char* statuses[] = {"Pending", "Processing", "Cancelled"};
    for (int v = 1; v <= 3; ++v) {
        const HttpResult r = get(orderPath(id, "?version=" + std::to_string(v)));
        ASSERT_EQ(r.status, 200) << r.body;
        EXPECT_EQ(stringField(r.json(), "status"), statuses[v - 1]);
        EXPECT_EQ(intField(r.json(), "version"), v);
        EXPECT_EQ(r.header("etag"), "\"" + std::to_string(v) + "\"");
    }
    EXPECT_TRUE(get(orderPath(id, "?version=1")).json().find("processedAt")->isNull());
    EXPECT_EQ(get(orderPath(id, "?version=4")).status, 404);
    EXPECT_EQ(get(orderPath(id + 1000, "?version=1")).status, 404);
    for (const char* bad : {"0", "-1", "abc", "1.5", ""})
        EXPECT_EQ(get(orderPath(id, std::string("?version=") + bad)).status, 400) << bad;
}

TEST_F(StandaloneTest, AsOfShowsTheOrderAsItWasAtThatTimeCountingAnEventAtExactlyThatTime) {
    const int64_t id = create("Travel");
    ASSERT_EQ(post(orderPath(id, "/process")).status, 200);
    ASSERT_EQ(post(orderPath(id, "/complete")).status, 200);
    const JsonValue events = get(orderPath(id, "/events")).json();
    ASSERT_EQ(events.items().size(), 3u);
    for (const auto& e : events.items()) {
        const std::string at = stringField(e, "occurredAt");
        const int64_t atMs = ordersystem::sdk::parseTimestamp(at);
        int64_t expected = 0;  // events of the same millisecond all count
        for (const auto& other : events.items())
            if (ordersystem::sdk::parseTimestamp(stringField(other, "occurredAt")) <= atMs) ++expected;
        const HttpResult r = get(orderPath(id, "?asOf=" + urlEncode(at)));
        ASSERT_EQ(r.status, 200) << at << " " << r.body;
        EXPECT_EQ(intField(r.json(), "version"), expected) << at;
        EXPECT_EQ(r.header("etag"), "\"" + std::to_string(expected) + "\"");
    }
    const int64_t createdMs = ordersystem::sdk::parseTimestamp(stringField(events.items()[0], "occurredAt"));
    EXPECT_EQ(get(orderPath(id, "?asOf=" + urlEncode(ordersystem::sdk::formatTimestamp(createdMs - 1)))).status, 404);
    // The creation instant written with an offset of -01:00 and in lower case.
    std::string offset = ordersystem::sdk::formatTimestamp(createdMs - 3600 * 1000).substr(0, 23) + "-01:00";
    offset[10] = 't';
    int64_t atCreation = 0;  // the process may have landed in the creation's millisecond
    for (const auto& e : events.items())
        if (ordersystem::sdk::parseTimestamp(stringField(e, "occurredAt")) <= createdMs) ++atCreation;
    EXPECT_EQ(intField(get(orderPath(id, "?asOf=" + urlEncode(offset))).json(), "version"), atCreation) << offset;
    for (const char* bad : {"yesterday", "2025-13-01T00:00:00Z", "2025-10-11T19:21:45", "2025-02-30T00:00:00Z"})
        EXPECT_EQ(get(orderPath(id, "?asOf=" + urlEncode(bad))).status, 400) << bad;
    EXPECT_EQ(get(orderPath(id, "?version=1&asOf=" + urlEncode(stringField(events.items()[0], "occurredAt")))).status,
              400)
        << "version and asOf together";
}

TEST_F(StandaloneTest, LinkWalksEveryPageOfAListAndShowsNothingTwice) {
    const std::string customer = "Walker Ü&Co";
    std::set<int64_t> created;
    for (int i = 0; i < 7; ++i) created.insert(create(customer));
    create("Someone else");
    const std::string encoded = urlEncode(customer);
    for (const std::string& first :
         {"/api/orders?customer=" + encoded + "&limit=3", "/api/orders/customer/" + encoded + "?limit=3",
          "/api/orders?status=Pending&customer=" + encoded + "&limit=2"}) {
        int pages = 0;
        const std::vector<int64_t> seen = walk(port(), first, &pages);
        EXPECT_EQ(std::set<int64_t>(seen.begin(), seen.end()), created) << first;
        EXPECT_EQ(seen.size(), created.size()) << first << ": an order was shown twice";
        EXPECT_GE(pages, 3) << first;
    }
    int pages = 0;
    const std::vector<int64_t> pending = walk(port(), "/api/orders/pending?limit=3", &pages);
    EXPECT_EQ(pending.size(), 8u);
    EXPECT_EQ(std::set<int64_t>(pending.begin(), pending.end()).size(), 8u);
    const HttpResult last = get("/api/orders?limit=1000");
    EXPECT_EQ(last.status, 200);
    EXPECT_TRUE(last.header("link").empty()) << "a single page has no next";
}

TEST_F(StandaloneTest, ATraceparentIsKeptInItsEventAndAMissingOrInvalidOneIsNoErrorAndLeavesNone) {
    const HttpResult created =
        httpPostJson(port(), "/api/orders", orderBody("Traced"), {{"traceparent", kTraceparent}});
    ASSERT_EQ(created.status, 201) << created.body;
    const int64_t id = intField(created.json(), "orderId");
    const HttpResult bad = httpRequest(port(), "POST", orderPath(id, "/process"), "",
                                       {{"traceparent", "00-" + std::string(32, '0') + "-00f067aa0ba902b7-01"}});
    ASSERT_EQ(bad.status, 200) << "an invalid traceparent is never a 400";
    ASSERT_EQ(post(orderPath(id, "/complete")).status, 200);
    const auto events = get(orderPath(id, "/events")).json().items();
    ASSERT_EQ(events.size(), 3u);
    ASSERT_TRUE(metadataOf(events[0]));
    EXPECT_EQ(stringField(*metadataOf(events[0]), "traceparent"), kTraceparent);
    EXPECT_FALSE(metadataOf(events[0])->find("actor")) << "no API keys, no actor";
    for (size_t i = 1; i < events.size(); ++i)
        EXPECT_FALSE(metadataOf(events[i])) << "no trace context and no API keys, no metadata: " << i;
}

namespace {
class TracedWebhooks : public WebhookNodeTest {
protected:
    OrderNode::Options options() override {
        OrderNode::Options o = WebhookNodeTest::options();
        o.extraKeys["log"]["level"] = "debug";
        return o;
    }
};
}  // namespace

TEST_F(TracedWebhooks, TheWebhookDeliveryAndTheLogLineNameTheRequestsTraceId) {
    const HttpResult created =
        httpPostJson(port(), "/api/orders", orderBody("Hooked"), {{"traceparent", kTraceparent}});
    ASSERT_EQ(created.status, 201) << created.body;
    ASSERT_TRUE(waitUntil([&] { return !receiver->accepted().empty(); }, std::chrono::seconds(20))) << node->output();
    const std::string delivered = receiver->accepted().front().traceparent;
    ASSERT_TRUE(isTraceparent(delivered)) << delivered;
    EXPECT_EQ(delivered.substr(3, 32), kTraceId);
    EXPECT_NE(delivered.substr(36, 16), "00f067aa0ba902b7") << "a delivery is a span of its own";
    auto body = ordersystem::sdk::parseJson(receiver->accepted().front().body);
    ASSERT_TRUE(body.isOk());
    ASSERT_TRUE(body->find("metadata"));
    EXPECT_EQ(stringField(*body->find("metadata"), "traceparent"), kTraceparent);
    EXPECT_TRUE(waitUntil([&] { return node->output().find(std::string("trace-id ") + kTraceId) != std::string::npos; },
                          std::chrono::seconds(10)))
        << node->output();
}

TEST_F(TracedWebhooks, AnEventWithoutTraceContextIsDeliveredOnANewTraceAndItsLogLineNamesNone) {
    create("Untraced");
    ASSERT_TRUE(waitUntil([&] { return !receiver->accepted().empty(); }, std::chrono::seconds(20))) << node->output();
    const std::string delivered = receiver->accepted().front().traceparent;
    EXPECT_TRUE(isTraceparent(delivered)) << "a receiver always gets a traceparent: " << delivered;
    EXPECT_EQ(receiver->accepted().front().body.find("\"metadata\""), std::string::npos);
    EXPECT_TRUE(
        waitUntil([&] { return node->output().find("-> 201 in") != std::string::npos; }, std::chrono::seconds(10)));
    const std::string out = node->output();
    const size_t line = out.find("-> 201 in");
    ASSERT_NE(line, std::string::npos);
    EXPECT_NE(out.substr(line, out.find('\n', line) - line).find("trace-id -"), std::string::npos)
        << out.substr(line, 200);
}

namespace {
constexpr const char* kAliceKey = "alice-secret-key";
constexpr const char* kPlainKey = "unlabelled-secret-key";

class Actors : public StandaloneTest {
protected:
    OrderNode::Options options() override {
        writeFile(dir.file("keys"), "# labelled and sha256sum lines\n\nalice " +
                                        ordersystem::sdk::sha256Hex(kAliceKey) + "\n" +
                                        ordersystem::sdk::sha256Hex(kPlainKey) + "  -\n");
        OrderNode::Options o = StandaloneTest::options();
        o.extraKeys["http"]["api_keys_file"] = dir.file("keys");
        return o;
    }
    static Headers bearer(const char* key) { return {{"Authorization", std::string("Bearer ") + key}}; }
};
}  // namespace

TEST_F(Actors, TheEventNamesTheLabelOfTheKeyThatActedOrNullForAnUnlabelledKey) {
    const HttpResult created = httpPostJson(port(), "/api/orders", orderBody("Keyed"), bearer(kAliceKey));
    ASSERT_EQ(created.status, 201) << created.body;
    const int64_t id = intField(created.json(), "orderId");
    ASSERT_EQ(httpRequest(port(), "POST", orderPath(id, "/process"), "", {{"X-Api-Key", kPlainKey}}).status, 200)
        << "the sha256sum form of a line still loads";
    EXPECT_EQ(httpRequest(port(), "GET", orderPath(id), "", bearer("wrong")).status, 401);
    const HttpResult events = httpRequest(port(), "GET", orderPath(id, "/events"), "", bearer(kAliceKey));
    ASSERT_EQ(events.status, 200) << events.body;
    const auto items = events.json().items();
    ASSERT_EQ(items.size(), 2u);
    ASSERT_TRUE(metadataOf(items[0]) && metadataOf(items[1]));
    EXPECT_EQ(stringField(*metadataOf(items[0]), "actor"), "alice");
    const JsonValue* unlabelled = metadataOf(items[1])->find("actor");
    ASSERT_TRUE(unlabelled) << "an unlabelled key acts as null";
    EXPECT_TRUE(unlabelled->isNull());
}

TEST(ApiKeysFileE2e, ABadLabelIsRefusedAtStartNamingFileAndLine) {
    TempDir dir;
    writeFile(dir.file("keys"),
              ordersystem::sdk::sha256Hex("k") + "\nbad\x01label " + ordersystem::sdk::sha256Hex("j") + "\n");
    OrderNode::Options o;
    o.extraKeys["http"]["api_keys_file"] = dir.file("keys");
    OrderNode node(dir.path() + "/node", o);
    EXPECT_FALSE(node.start(std::chrono::seconds(10)));
    EXPECT_NE(node.output().find(dir.file("keys") + ":2"), std::string::npos) << node.output();
}
