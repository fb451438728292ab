// Shared pieces of the standalone end-to-end tests: a fixture that starts one node with a
// fresh data folder, order helpers, and a webhook receiver that can be told to fail.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "ordersystem/testing/TestSupport.h"

namespace e2e {

using ordersystem::sdk::JsonValue;
using namespace ordersystem::testing;

/// A valid create body with one item per (name, quantity, price) triple.
std::string orderBody(const std::string& customer,
                      const std::vector<std::tuple<std::string, int, std::string>>& items = {{"Book", 1, "10.00"}});
int64_t intField(const JsonValue& v, const char* name);
std::string stringField(const JsonValue& v, const char* name);

/// Starts one standalone node per test (fresh data folder).
class StandaloneTest : public ::testing::Test {
protected:
    void SetUp() override;
    void TearDown() override;
    /// Restarts the node with the same data folder (SIGTERM, then start again).
    void restart();
    virtual OrderNode::Options options();

    int port() const { return node->port(); }
    /// Creates an order and returns its id (fails the test on a non-201).
    int64_t create(const std::string& customer = "Alice",
                   const std::vector<std::tuple<std::string, int, std::string>>& items = {{"Book", 1, "10.00"}});
    HttpResult post(const std::string& path) { return httpRequest(port(), "POST", path); }
    HttpResult get(const std::string& path) { return httpGet(port(), path); }
    std::string status(int64_t id) { return stringField(get("/api/orders/" + std::to_string(id)).json(), "status"); }

    TempDir dir;
    std::unique_ptr<OrderNode> node;
};

/// An HTTP receiver on 127.0.0.1 that answers 500 to the first `failFirst` requests.
class WebhookReceiver {
public:
    struct Request {
        std::string body;
        std::string idempotencyKey;
        std::string contentType;
        std::string traceparent;
        std::map<std::string, std::string> headers;  ///< every header, names in lower case
    };
    /// One POST as it arrived, accepted or not.
    struct Attempt {
        int64_t orderId = 0;
        std::string type;
        std::string eventId;
        int status = 0;
        std::chrono::steady_clock::time_point at;
    };
    explicit WebhookReceiver(int failFirst = 0);
    ~WebhookReceiver();
    int port() const;
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port()) + "/hook"; }
    std::vector<Request> accepted() const;
    int attempts() const { return _attempts.load(); }
    /// Every event of an order created for customer is answered status (with Retry-After when
    /// not empty) until acceptEverything().
    void refuseCustomer(const std::string& customer, int status, const std::string& retryAfter = "");
    void acceptEverything();
    std::vector<Attempt> attemptLog() const;

private:
    struct Impl;
    std::unique_ptr<Impl> _impl;
    std::atomic<int> _attempts{0};
    int _failFirst;
    /// The status to answer body with (0: the usual rule), noting it in the attempt log.
    int refusalFor(const std::string& body, std::string* retryAfter);
    mutable std::mutex _mutex;
    std::vector<Request> _accepted;
    std::vector<Attempt> _attemptLog;
    std::string _refusedCustomer;
    int _refusalStatus = 0;
    std::string _refusalRetryAfter;
    std::set<int64_t> _refusedOrders;
    friend struct Impl;
};

/// A standalone node whose notifications post to a receiver of the test's own.
class WebhookNodeTest : public StandaloneTest {
protected:
    void SetUp() override {
        receiver = std::make_unique<WebhookReceiver>();
        StandaloneTest::SetUp();
    }
    OrderNode::Options options() override {
        OrderNode::Options o = StandaloneTest::options();
        o.webhookUrl = receiver->url();
        return o;
    }
    std::unique_ptr<WebhookReceiver> receiver;
};

}  // namespace e2e
