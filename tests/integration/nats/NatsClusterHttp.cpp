// Multi-node HTTP test helpers for cluster mode; see NatsClusterHttp.h.
#include "NatsClusterHttp.h"

#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/StreamCopier.h>

namespace ordersystem::natscluster {

struct HookReceiver::Impl {
    class Handler final : public Poco::Net::HTTPRequestHandler {
    public:
        explicit Handler(Impl& owner) : _owner(owner) {}
        void handleRequest(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res) override {
            std::string body;
            Poco::StreamCopier::copyToString(req.stream(), body);
            {
                std::lock_guard<std::mutex> lock(_owner.mutex);
                ++_owner.byKey[req.get("Idempotency-Key", "")];
            }
            res.setStatus(Poco::Net::HTTPResponse::HTTP_OK);
            res.setContentLength(0);
            res.send();
        }

    private:
        Impl& _owner;
    };
    class Factory final : public Poco::Net::HTTPRequestHandlerFactory {
    public:
        explicit Factory(Impl& owner) : _owner(owner) {}
        Poco::Net::HTTPRequestHandler* createRequestHandler(const Poco::Net::HTTPServerRequest&) override {
            return new Handler(_owner);
        }

    private:
        Impl& _owner;
    };

    Impl() : socket(Poco::Net::SocketAddress("127.0.0.1", 0)), server(new Factory(*this), socket, new Poco::Net::HTTPServerParams) {
        server.start();
    }
    ~Impl() { server.stopAll(true); }

    Poco::Net::ServerSocket socket;
    Poco::Net::HTTPServer server;
    mutable std::mutex mutex;
    std::map<std::string, int> byKey;
};

HookReceiver::HookReceiver() : _impl(std::make_unique<Impl>()) {}
HookReceiver::~HookReceiver() = default;

std::string HookReceiver::url() const { return "http://127.0.0.1:" + std::to_string(_impl->socket.address().port()) + "/hook"; }

std::map<std::string, int> HookReceiver::received() const {
    std::lock_guard<std::mutex> lock(_impl->mutex);
    return _impl->byKey;
}

int HookReceiver::total() const {
    std::lock_guard<std::mutex> lock(_impl->mutex);
    int n = 0;
    for (const auto& kv : _impl->byKey) n += kv.second;
    return n;
}

void NatsCluster::SetUp() {
    ASSERT_TRUE(NatsServer::available()) << "nats-server is not on PATH";
    nats = std::make_unique<NatsServer>(dir.path() + "/nats");
    ASSERT_TRUE(nats->start()) << "nats-server did not start";
}

void NatsCluster::TearDown() {
    if (HasFailure()) std::cerr << outputs();
    nodes.clear();  // SIGTERM each node, then the broker
    nats.reset();
}

OrderNode* NatsCluster::addNode(const std::string& nodeId, std::map<std::string, std::map<std::string, std::string>> extraKeys,
                                const std::string& webhookUrl) {
    OrderNode::Options options;
    options.nodeId = nodeId;
    options.transport = "transport-nats";
    options.brokerUrl = nats->url();
    options.webhookUrl = webhookUrl;
    options.extraKeys = std::move(extraKeys);
    auto node = std::make_unique<OrderNode>(dir.path() + "/" + nodeId, options);
    const bool ok = node->start() && node->waitReady();
    OrderNode* raw = node.get();
    nodes.push_back(std::move(node));
    if (!ok) {
        ADD_FAILURE() << nodeId << " did not become ready:\n" << raw->output();
        return nullptr;
    }
    return raw;
}

std::string NatsCluster::outputs() const {
    std::string out;
    for (const auto& n : nodes) out += "---- " + n->dataRoot() + "\n" + n->output() + "\n";
    return out;
}

std::vector<int> NatsCluster::ports() const {
    std::vector<int> out;
    for (const auto& n : nodes) out.push_back(n->port());
    return out;
}

}  // namespace ordersystem::natscluster
