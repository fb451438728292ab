#include "E2e.h"

#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/StreamCopier.h>
#include <Poco/String.h>

namespace e2e {

std::string orderBody(const std::string& customer,
                      const std::vector<std::tuple<std::string, int, std::string>>& items) {
    std::string body = "{\"customerName\":\"" + customer + "\",\"items\":[";
    for (size_t i = 0; i < items.size(); ++i) {
        if (i) body += ",";
        body += "{\"productName\":\"" + std::get<0>(items[i]) +
                "\",\"quantity\":" + std::to_string(std::get<1>(items[i])) + ",\"price\":" + std::get<2>(items[i]) +
                "}";
    }
    return body + "]}";
}

int64_t intField(const JsonValue& v, const char* name) {
    const JsonValue* f = v.find(name);
    int64_t out = -1;
    if (!f || !f->asInt64(&out)) return -1;
    return out;
}

std::string stringField(const JsonValue& v, const char* name) {
    const JsonValue* f = v.find(name);
    return f && f->isString() ? f->asString() : std::string("<absent>");
}

OrderNode::Options StandaloneTest::options() {
    OrderNode::Options o;
    o.durability = "normal";
    return o;
}

void StandaloneTest::SetUp() {
    node = std::make_unique<OrderNode>(dir.path() + "/node", options());
    ASSERT_TRUE(node->start()) << node->output();
    ASSERT_TRUE(node->waitReady()) << node->output();
}

void StandaloneTest::TearDown() {
    if (node && node->running()) {
        EXPECT_EQ(node->stop(), 0) << node->output();
    }
}

void StandaloneTest::restart() {
    ASSERT_EQ(node->stop(), 0) << node->output();
    ASSERT_TRUE(node->start()) << node->output();
    ASSERT_TRUE(node->waitReady()) << node->output();
}

int64_t StandaloneTest::create(const std::string& customer,
                               const std::vector<std::tuple<std::string, int, std::string>>& items) {
    const HttpResult r = httpPostJson(port(), "/api/orders", orderBody(customer, items));
    EXPECT_EQ(r.status, 201) << r.body << r.error;
    return intField(r.json(), "orderId");
}

struct WebhookReceiver::Impl {
    class Handler : public Poco::Net::HTTPRequestHandler {
    public:
        explicit Handler(WebhookReceiver& owner) : _owner(owner) {}
        void handleRequest(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res) override {
            std::string body;
            Poco::StreamCopier::copyToString(req.stream(), body);
            const int attempt = ++_owner._attempts;
            std::string retryAfter;
            if (const int refusal = _owner.refusalFor(body, &retryAfter); refusal != 0) {
                res.setStatus(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(refusal));
                if (!retryAfter.empty()) res.set("Retry-After", retryAfter);
                res.send() << "refused by the test";
                return;
            }
            if (attempt <= _owner._failFirst) {
                res.setStatus(Poco::Net::HTTPResponse::HTTP_INTERNAL_SERVER_ERROR);
                res.send() << "not yet";
                return;
            }
            {
                std::lock_guard<std::mutex> lock(_owner._mutex);
                Request r{body, req.get("Idempotency-Key", ""), req.getContentType(), req.get("traceparent", ""), {}};
                for (const auto& [name, value] : req) r.headers[Poco::toLower(name)] = value;
                _owner._accepted.push_back(std::move(r));
            }
            res.setStatus(Poco::Net::HTTPResponse::HTTP_OK);
            res.send() << "ok";
        }

    private:
        WebhookReceiver& _owner;
    };
    class Factory : public Poco::Net::HTTPRequestHandlerFactory {
    public:
        explicit Factory(WebhookReceiver& owner) : _owner(owner) {}
        Poco::Net::HTTPRequestHandler* createRequestHandler(const Poco::Net::HTTPServerRequest&) override {
            return new Handler(_owner);
        }

    private:
        WebhookReceiver& _owner;
    };
    Impl(WebhookReceiver& owner)
        : socket(Poco::Net::SocketAddress("127.0.0.1", 0)),
          server(new Factory(owner), socket, new Poco::Net::HTTPServerParams) {
        server.start();
    }
    ~Impl() { server.stopAll(true); }
    Poco::Net::ServerSocket socket;
    Poco::Net::HTTPServer server;
};

WebhookReceiver::WebhookReceiver(int failFirst) : _failFirst(failFirst) { _impl = std::make_unique<Impl>(*this); }

void WebhookReceiver::refuseCustomer(const std::string& customer, int status, const std::string& retryAfter) {
    std::lock_guard<std::mutex> lock(_mutex);
    _refusedCustomer = customer;
    _refusalStatus = status;
    _refusalRetryAfter = retryAfter;
}

void WebhookReceiver::acceptEverything() {
    std::lock_guard<std::mutex> lock(_mutex);
    _refusalStatus = 0;
}

std::vector<WebhookReceiver::Attempt> WebhookReceiver::attemptLog() const {
    std::lock_guard<std::mutex> lock(_mutex);
    return _attemptLog;
}

int WebhookReceiver::refusalFor(const std::string& body, std::string* retryAfter) {
    auto doc = ordersystem::sdk::parseJson(body);
    Attempt a;
    if (doc) {
        a.orderId = intField(doc.value(), "orderId");
        a.type = stringField(doc.value(), "type");
        a.eventId = stringField(doc.value(), "eventId");
    }
    a.at = std::chrono::steady_clock::now();
    std::lock_guard<std::mutex> lock(_mutex);
    const JsonValue* data = doc ? doc.value().find("data") : nullptr;
    if (data && !_refusedCustomer.empty() && stringField(*data, "customerName") == _refusedCustomer)
        _refusedOrders.insert(a.orderId);
    const bool refused = _refusalStatus != 0 && _refusedOrders.count(a.orderId) == 1;
    a.status = refused ? _refusalStatus : 200;
    _attemptLog.push_back(a);
    if (!refused) return 0;
    *retryAfter = _refusalRetryAfter;
    return _refusalStatus;
}
WebhookReceiver::~WebhookReceiver() = default;
int WebhookReceiver::port() const { return _impl->socket.address().port(); }
std::vector<WebhookReceiver::Request> WebhookReceiver::accepted() const {
    std::lock_guard<std::mutex> lock(_mutex);
    return _accepted;
}

}  // namespace e2e
