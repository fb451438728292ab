// The HTTP edge of a real node (CONTRACT.md §5): the key check and the router see one path, text
// that is not clean never reaches the event log, HEAD works wherever GET does, and a create's
// body has its own limit.
#include <sys/socket.h>

#include "E2e.h"
#include "ordersystem/testing/RawClient.h"

using namespace e2e;

namespace {

constexpr const char* kKey = "edge-test-key";

class EdgeWithKeys : public StandaloneTest {
protected:
    OrderNode::Options options() override {
        OrderNode::Options o = StandaloneTest::options();
        writeFile(dir.file("keys"), sha256Hex(kKey) + "\n");
        o.extraKeys["http"]["api_keys_file"] = dir.file("keys");
        return o;
    }
    /// As an operator makes the keys file: printf %s KEY | sha256sum.
    static std::string sha256Hex(const std::string& text) {
        TempDir scratch;
        writeFile(scratch.file("in"), text);
        const std::string cmd = "sha256sum '" + scratch.file("in") + "' | cut -c1-64 > '" + scratch.file("out") + "'";
        EXPECT_EQ(std::system(cmd.c_str()), 0);
        std::string hash = readFile(scratch.file("out"));
        while (!hash.empty() && (hash.back() == '\n' || hash.back() == ' ')) hash.pop_back();
        return hash;
    }
    std::vector<std::pair<std::string, std::string>> key() const { return {{"X-Api-Key", kKey}}; }
    size_t orders() {
        const JsonValue doc = httpRequest(port(), "GET", "/api/orders", "", key()).json();
        const JsonValue* items = doc.find("items");
        return items ? items->items().size() : 0;
    }
};

}  // namespace

TEST_F(EdgeWithKeys, NoSpellingOfAnApiPathCreatesOrCancelsWithoutAKey) {
    const HttpResult created = httpRequest(port(), "POST", "/api/orders", orderBody("Keyholder"),
                                           {{"Content-Type", "application/json"}, {"X-Api-Key", kKey}});
    ASSERT_EQ(created.status, 201) << created.body;
    for (const char* path : {"/%61pi/orders", "/a%70i/orders", "/%41PI/orders", "/api%2Forders", "/api/%6Frders"}) {
        const HttpResult r = httpPostJson(port(), path, orderBody("Intruder"));
        EXPECT_NE(r.status, 201) << path;
        EXPECT_TRUE(r.status == 401 || r.status == 404) << path << " -> " << r.status;
    }
    EXPECT_EQ(httpGet(port(), "/%61pi/orders").status, 401);
    EXPECT_EQ(httpRequest(port(), "POST", "/a%70i/orders/1/cancel?reason=x").status, 401);
    EXPECT_EQ(httpRequest(port(), "HEAD", "/%61pi/orders/1").status, 401);
    EXPECT_EQ(orders(), 1u) << "only the order made with the key exists";
    const HttpResult order = httpRequest(port(), "GET", "/api/orders/1", "", key());
    EXPECT_EQ(stringField(order.json(), "status"), "Pending") << order.body;
}

TEST_F(StandaloneTest, TextThatIsNotCleanIs400AndNeverReachesTheEventLog) {
    const int64_t id = create();
    const std::string cancel = "/api/orders/" + std::to_string(id) + "/cancel?reason=";
    for (const char* reason : {"x%FFy", "x%00y", "a%0Db", "%C0%AF", "%E2%80%83%C2%A0", "%EF%BB%BF"}) {
        const HttpResult r = post(cancel + reason);
        EXPECT_EQ(r.status, 400) << reason << " -> " << r.body;
    }
    EXPECT_EQ(status(id), "Pending");
    EXPECT_EQ(get("/api/orders/" + std::to_string(id) + "/events").json().items().size(), 1u);
    for (const std::string& body :
         {std::string(R"({"customerName":"a\u0000b","items":[{"productName":"P","quantity":1,"price":1}]})"),
          std::string(R"({"customerName":"\u2003\u00a0","items":[{"productName":"P","quantity":1,"price":1}]})"),
          std::string(R"({"customerName":"A","items":[{"productName":"P\u001b[31m","quantity":1,"price":1}]})"),
          std::string(
              R"({"customerName":"A","customerName":"B","items":[{"productName":"P","quantity":1,"price":1}]})"),
          std::string(R"({"customerName":"A","items":[{"productName":"P","quantity":1,"quantity":5,"price":1}]})")}) {
        const HttpResult r = httpPostJson(port(), "/api/orders", body);
        EXPECT_EQ(r.status, 400) << body << " -> " << r.body;
    }
    EXPECT_EQ(get("/api/orders?limit=10").json().find("items")->items().size(), 1u);
    EXPECT_EQ(get("/api/orders/customer/x%FFy").status, 400);
    const HttpResult ok = post(cancel + "Changed+my+mind+%E2%9C%93");
    ASSERT_EQ(ok.status, 200) << ok.body;
    EXPECT_EQ(stringField(ok.json(), "cancelReason"), "Changed my mind \xE2\x9C\x93");
}

TEST_F(StandaloneTest, HeadOfAnOrderRouteHasTheGetsLengthAndNoBody) {
    const int64_t id = create();
    for (const std::string& path :
         {"/api/orders/" + std::to_string(id), std::string("/api/orders?limit=5"), std::string("/api/orders/pending"),
          std::string("/health"), std::string("/metrics")}) {
        const HttpResult full = get(path);
        ASSERT_EQ(full.status, 200) << path;
        RawClient client(port(), false);
        ASSERT_TRUE(client.send("HEAD " + path + " HTTP/1.1\r\nHost: x\r\n\r\n"));
        const auto head = client.readResponse(true);
        EXPECT_EQ(head.status, 200) << path;
        EXPECT_EQ(head.header("content-type"), full.header("content-type")) << path;
        if (path.rfind("/metrics", 0) != 0) {  // the metrics change between two requests
            EXPECT_EQ(head.header("content-length"), std::to_string(full.body.size())) << path;
        }
        EXPECT_TRUE(client.stillServes()) << path << ": a HEAD answer must not carry a body";
    }
}

TEST_F(StandaloneTest, ACreateBodyHasItsOwnLimitFarBelowTheServersAndTheLargestValidOrderFits) {
    std::string items;
    const std::string longName(200, 'n');
    for (int i = 0; i < 100; ++i)
        items += std::string(i ? "," : "") + R"({"productName":")" + longName +
                 R"(","quantity":10000,"price":999999999.99})";
    const std::string largest = R"({"customerName":")" + std::string(200, 'c') + R"(","items":[)" + items + "]}";
    const HttpResult ok = httpPostJson(port(), "/api/orders", largest);
    EXPECT_EQ(ok.status, 201) << ok.body.substr(0, 300);
    const std::string padded = orderBody("Padded").insert(1, std::string(300 * 1024, ' '));
    const HttpResult big = httpPostJson(port(), "/api/orders", padded);
    EXPECT_EQ(big.status, 413) << big.body;
    EXPECT_NE(big.body.find("262144"), std::string::npos) << big.body;
}
