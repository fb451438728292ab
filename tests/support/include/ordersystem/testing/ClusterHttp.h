// Helpers for the multi-node HTTP tests of the distributed modes: a fixture that runs one
// throwaway broker (RedisServer or NatsServer) and ordersystem nodes on it, a webhook receiver,
// and small HTTP shorthands. Every process is stopped by the fixture (nodes first, then the
// broker). Shared by tests/integration/redis and tests/integration/nats.
#pragma once

#include <gtest/gtest.h>

#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ordersystem/sdk/json.h"
#include "ordersystem/testing/TestSupport.h"

namespace ordersystem::clustertest {

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

/// POST /api/orders; the new id, or -1 (the result is returned through *result when given).
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

/// An HTTP receiver on 127.0.0.1 (or the given local address) recording every POST's
/// Idempotency-Key; answers 200, or 503 while told to fail (failed POSTs are counted as attempts only).
class HookReceiver {
public:
    explicit HookReceiver(const std::string& host = "127.0.0.1");
    ~HookReceiver();
    std::string url() const;
    /// Idempotency-Key -> number of accepted (200) POSTs carrying it.
    std::map<std::string, int> received() const;
    /// Accepted POSTs in all.
    int total() const;
    /// Distinct Idempotency-Keys seen in any POST, accepted or refused.
    size_t attemptedKeys() const;
    void setFailing(bool failing);

private:
    struct Impl;
    std::unique_ptr<Impl> _impl;
};

/// One broker (Server = RedisServer or NatsServer) and the ordersystem nodes using it through
/// the given transport plugin.
template <class Server>
class BrokerCluster : public ::testing::Test {
protected:
    BrokerCluster(std::string transport, std::string brokerName)
        : _transport(std::move(transport)), _brokerName(std::move(brokerName)) {}

    void SetUp() override {
        ASSERT_TRUE(Server::available()) << _brokerName << " is not installed";
        broker = std::make_unique<Server>(dir.file(_brokerName));
        ASSERT_TRUE(broker->start()) << _brokerName << " did not start";
    }
    void TearDown() override {
        if (HasFailure()) std::cerr << outputs();
        nodes.clear();  // SIGTERM each node before the broker goes
        broker.reset();
    }
    /// Starts a node (own folder) and waits until it is ready; null on failure.
    OrderNode* addNode(const std::string& nodeId,
                       std::map<std::string, std::map<std::string, std::string>> extraKeys = {},
                       const std::string& webhookUrl = "") {
        OrderNode::Options o;
        o.nodeId = nodeId;
        o.transport = _transport;
        o.brokerUrl = broker->url();
        o.webhookUrl = webhookUrl;
        o.extraKeys = std::move(extraKeys);
        nodes.push_back(std::make_unique<OrderNode>(dir.file(nodeId), o));
        OrderNode* node = nodes.back().get();
        if (!node->start() || !node->waitReady()) {
            ADD_FAILURE() << nodeId << " did not become ready:\n" << node->output();
            return nullptr;
        }
        return node;
    }
    /// Every node's log, for failure messages.
    std::string outputs() const {
        std::string out;
        for (const auto& n : nodes) out += "---- " + n->dataRoot() + "\n" + n->output() + "\n";
        return out;
    }
    std::vector<int> ports() const {
        std::vector<int> out;
        for (const auto& n : nodes) out.push_back(n->port());
        return out;
    }

    TempDir dir;
    std::unique_ptr<Server> broker;
    std::vector<std::unique_ptr<OrderNode>> nodes;

private:
    std::string _transport;
    std::string _brokerName;
};

}  // namespace ordersystem::clustertest
