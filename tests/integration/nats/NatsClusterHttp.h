// Helpers for the multi-node HTTP tests of cluster mode: ordersystem processes on one throwaway
// nats-server -js, a webhook receiver, and small HTTP shorthands. Every process is stopped by the
// fixture (nodes first, then NATS).
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "ordersystem/sdk/json.h"
#include "ordersystem/testing/TestSupport.h"

namespace ordersystem::natscluster {

using namespace ordersystem::testing;
using ordersystem::sdk::JsonValue;

inline int64_t intField(const JsonValue& v, const char* name) {
    int64_t out = -1;
    const JsonValue* f = v.find(name);
    if (f) f->asInt64(&out);
    return out;
}
inline std::string stringField(const JsonValue& v, const char* name) {
    const JsonValue* f = v.find(name);
    return f && f->isString() ? f->asString() : std::string();
}

inline std::string orderBody(const std::string& customer, int quantity = 1) {
    return R"({"customerName":")" + customer + R"(","items":[{"productName":"Laptop","quantity":)" +
           std::to_string(quantity) + R"(,"price":999.99}]})";
}

/// POST /api/orders; the new id, or -1 (the whole result through *result when given).
inline int64_t createOrder(int port, const std::string& customer, HttpResult* result = nullptr,
                           std::vector<std::pair<std::string, std::string>> headers = {}) {
    HttpResult r = httpPostJson(port, "/api/orders", orderBody(customer), std::move(headers));
    if (result) *result = r;
    return r.status == 201 ? intField(r.json(), "orderId") : -1;
}

inline HttpResult command(int port, int64_t id, const std::string& what, const std::string& query = "") {
    return httpRequest(port, "POST", "/api/orders/" + std::to_string(id) + "/" + what + query);
}

inline HttpResult getOrder(int port, int64_t id) { return httpGet(port, "/api/orders/" + std::to_string(id)); }

/// An HTTP receiver on 127.0.0.1 recording every POST's Idempotency-Key; answers 200.
class HookReceiver {
public:
    HookReceiver();
    ~HookReceiver();
    std::string url() const;
    /// Idempotency-Key -> number of POSTs carrying it.
    std::map<std::string, int> received() const;
    int total() const;

private:
    struct Impl;
    std::unique_ptr<Impl> _impl;
};

/// A nats-server and the ordersystem nodes using it.
class NatsCluster : public ::testing::Test {
protected:
    void SetUp() override;
    void TearDown() override;
    /// Starts a node (own folder, transport-nats) and waits until it is ready; null on failure.
    OrderNode* addNode(const std::string& nodeId, std::map<std::string, std::map<std::string, std::string>> extraKeys = {},
                       const std::string& webhookUrl = "");
    /// Every node's log, for failure messages.
    std::string outputs() const;
    std::vector<int> ports() const;

    TempDir dir;
    std::unique_ptr<NatsServer> nats;
    std::vector<std::unique_ptr<OrderNode>> nodes;
};

}  // namespace ordersystem::natscluster
