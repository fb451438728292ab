// Every failure of the REST table: a problem document, the right status, nothing stored,
// and the server still serving afterwards.
#include "E2e.h"

using namespace e2e;

namespace {
class Errors : public StandaloneTest {
protected:
    void expectProblem(const HttpResult& r, int status, const std::string& detailPart = {}) {
        EXPECT_EQ(r.status, status) << r.body << r.error;
        EXPECT_EQ(r.header("content-type").rfind("application/problem+json", 0), 0u) << r.header("content-type");
        const JsonValue doc = r.json();
        EXPECT_EQ(intField(doc, "status"), status) << r.body;
        EXPECT_NE(stringField(doc, "title"), "<absent>") << r.body;
        EXPECT_NE(stringField(doc, "type"), "<absent>") << r.body;
        if (!detailPart.empty()) {
            EXPECT_NE(stringField(doc, "detail").find(detailPart), std::string::npos) << r.body;
        }
    }
    size_t storedOrders() {
        const JsonValue doc = get("/api/orders?limit=1000").json();
        const JsonValue* items = doc.find("items");
        return items ? items->items().size() : 0;
    }
};
}  // namespace

TEST_F(Errors, EveryInvalidCreateIs400WithTheFieldNamedAndStoresNothing) {
    const std::string longName(201, 'x');
    std::string manyItems = "{\"customerName\":\"A\",\"items\":[";
    for (int i = 0; i < 101; ++i)
        manyItems += std::string(i ? "," : "") + "{\"productName\":\"P\",\"quantity\":1,\"price\":1}";
    manyItems += "]}";
    const std::vector<std::pair<std::string, std::string>> cases = {
        {R"({"items":[{"productName":"P","quantity":1,"price":1}]})", "customerName"},
        {R"({"customerName":"","items":[{"productName":"P","quantity":1,"price":1}]})", "customerName"},
        {R"({"customerName":"   ","items":[{"productName":"P","quantity":1,"price":1}]})", "customerName"},
        {"{\"customerName\":\"" + longName + "\",\"items\":[{\"productName\":\"P\",\"quantity\":1,\"price\":1}]}",
         "customerName"},
        {R"({"customerName":null,"items":[{"productName":"P","quantity":1,"price":1}]})", "customerName"},
        {R"({"customerName":42,"items":[{"productName":"P","quantity":1,"price":1}]})", "customerName"},
        {R"({"customerName":"A","items":[]})", "items"},
        {R"({"customerName":"A"})", "items"},
        {R"({"customerName":"A","items":null})", "items"},
        {R"({"customerName":"A","items":{"productName":"P"}})", "items"},
        {manyItems, "items"},
        {R"({"customerName":"A","items":[{"quantity":1,"price":1}]})", "productName"},
        {R"({"customerName":"A","items":[{"productName":" ","quantity":1,"price":1}]})", "productName"},
        {R"({"customerName":"A","items":[{"productName":"P","quantity":0,"price":1}]})", "quantity"},
        {R"({"customerName":"A","items":[{"productName":"P","quantity":10001,"price":1}]})", "quantity"},
        {R"({"customerName":"A","items":[{"productName":"P","quantity":1.5,"price":1}]})", "quantity"},
        {R"({"customerName":"A","items":[{"productName":"P","quantity":"2","price":1}]})", "quantity"},
        {R"({"customerName":"A","items":[{"productName":"P","quantity":1,"price":-1}]})", "price"},
        {R"({"customerName":"A","items":[{"productName":"P","quantity":1,"price":1.999}]})", "price"},
        {R"({"customerName":"A","items":[{"productName":"P","quantity":1,"price":1000000000.01}]})", "price"},
        {R"({"customerName":"A","items":[{"productName":"P","quantity":1,"price":"9.99"}]})", "price"},
        {R"({"customerName":"A","items":[{"productName":"P","quantity":1,"price":null}]})", "price"},
        {R"({"customerName":"A","items":[{"productName":"P","quantity":1}]})", "price"},
        {R"({"customerName":"A","items":[null]})", "items"},
    };
    for (const auto& c : cases) {
        const HttpResult r = httpPostJson(port(), "/api/orders", c.first);
        expectProblem(r, 400);
        const JsonValue doc = r.json();
        const JsonValue* errors = doc.find("errors");
        ASSERT_NE(errors, nullptr) << c.first << " -> " << r.body;
        bool named = false;
        for (const auto& e : errors->items())
            if (stringField(e, "field").find(c.second) != std::string::npos) named = true;
        EXPECT_TRUE(named) << c.second << " not named for " << c.first << " -> " << r.body;
    }
    EXPECT_EQ(storedOrders(), 0u);
}

TEST_F(Errors, MalformedJsonIs400AndNeverCrashesTheServer) {
    for (const std::string& bad :
         std::vector<std::string>{"", "{", "not json", "[]", "null", "{\"customerName\":\"A\",", "{\"a\":1}}",
                                  std::string(5000, '['), "\"just a string\"", "{\"customerName\":\"\xff\"}"}) {
        const HttpResult r = httpPostJson(port(), "/api/orders", bad);
        expectProblem(r, 400);
    }
    EXPECT_EQ(storedOrders(), 0u);
    EXPECT_EQ(get("/health/live").status, 200);
}

TEST_F(Errors, ABodyOverTheLimitIs413AndANonJsonContentTypeIs415) {
    const std::string huge(2 * 1024 * 1024, 'x');
    const HttpResult big = httpPostJson(port(), "/api/orders", huge);
    EXPECT_EQ(big.status, 413) << big.body << big.error;
    const HttpResult text =
        httpRequest(port(), "POST", "/api/orders", orderBody("A"), {{"Content-Type", "text/plain"}});
    expectProblem(text, 415);
    const HttpResult none = httpRequest(port(), "POST", "/api/orders", orderBody("A"));
    expectProblem(none, 415);
    EXPECT_EQ(storedOrders(), 0u);
    EXPECT_EQ(get("/health/live").status, 200);
}

TEST_F(Errors, UnknownOrdersAre404WithTheFamiliarText) {
    expectProblem(get("/api/orders/999999"), 404, "Order not found");
    expectProblem(post("/api/orders/999999/process"), 404, "Order not found");
    expectProblem(post("/api/orders/999999/complete"), 404, "Order not found");
    expectProblem(post("/api/orders/999999/cancel?reason=x"), 404, "Order not found");
    expectProblem(get("/api/orders/999999/events"), 404);
    EXPECT_NE(get("/api/orders/abc").status, 200);
    EXPECT_NE(get("/api/orders/-1").status, 200);
    EXPECT_NE(get("/api/orders/99999999999999999999").status, 200);
    EXPECT_EQ(get("/health/live").status, 200);
}

TEST_F(Errors, UnknownRoutesAre404AndWrongMethodsAre405WithAllow) {
    expectProblem(get("/api/nothing-here"), 404);
    const HttpResult wrong = httpRequest(port(), "DELETE", "/api/orders/1");
    expectProblem(wrong, 405);
    EXPECT_NE(wrong.header("allow").find("GET"), std::string::npos) << wrong.header("allow");
    expectProblem(httpRequest(port(), "GET", "/api/orders/1/process"), 405);
}

TEST_F(Errors, EveryIllegalTransitionIs409AndChangesNothing) {
    const int64_t pending = create();
    expectProblem(post("/api/orders/" + std::to_string(pending) + "/complete"), 409,
                  "Order must be in Processing status, current: Pending");

    const int64_t processing = create();
    ASSERT_EQ(post("/api/orders/" + std::to_string(processing) + "/process").status, 200);
    expectProblem(post("/api/orders/" + std::to_string(processing) + "/process"), 409, "Order is already Processing");

    const int64_t completed = create();
    ASSERT_EQ(post("/api/orders/" + std::to_string(completed) + "/process").status, 200);
    ASSERT_EQ(post("/api/orders/" + std::to_string(completed) + "/complete").status, 200);
    expectProblem(post("/api/orders/" + std::to_string(completed) + "/cancel?reason=late"), 409,
                  "Cannot cancel completed order");
    expectProblem(post("/api/orders/" + std::to_string(completed) + "/process"), 409);
    expectProblem(post("/api/orders/" + std::to_string(completed) + "/complete"), 409);

    const int64_t cancelled = create();
    ASSERT_EQ(post("/api/orders/" + std::to_string(cancelled) + "/cancel?reason=x").status, 200);
    expectProblem(post("/api/orders/" + std::to_string(cancelled) + "/cancel?reason=again"), 409,
                  "Order is already cancelled");
    expectProblem(post("/api/orders/" + std::to_string(cancelled) + "/process"), 409);
    expectProblem(post("/api/orders/" + std::to_string(cancelled) + "/complete"), 409);

    EXPECT_EQ(status(pending), "Pending");
    EXPECT_EQ(status(processing), "Processing");
    EXPECT_EQ(status(completed), "Completed");
    EXPECT_EQ(status(cancelled), "Cancelled");
    EXPECT_EQ(get("/api/orders/" + std::to_string(completed) + "/events").json().items().size(), 3u);
    EXPECT_EQ(get("/api/orders/" + std::to_string(cancelled) + "/events").json().items().size(), 2u);
}

TEST_F(Errors, CancelWithoutAUsableReasonIs400AndChangesNothing) {
    const int64_t id = create();
    const std::string base = "/api/orders/" + std::to_string(id) + "/cancel";
    expectProblem(post(base), 400);
    expectProblem(post(base + "?reason="), 400);
    expectProblem(post(base + "?reason=%20%20"), 400);
    expectProblem(post(base + "?reason=" + std::string(501, 'r')), 400);
    EXPECT_EQ(status(id), "Pending");
    EXPECT_EQ(post(base + "?reason=" + std::string(500, 'r')).status, 200);
}

TEST_F(Errors, BadListParametersAre400) {
    expectProblem(get("/api/orders?status=Shipped"), 400);
    expectProblem(get("/api/orders?limit=0"), 400);
    expectProblem(get("/api/orders?limit=1001"), 400);
    expectProblem(get("/api/orders?limit=ten"), 400);
    EXPECT_EQ(get("/api/orders?limit=1000").status, 200);
}
