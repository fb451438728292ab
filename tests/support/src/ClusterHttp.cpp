// The webhook receiver of the multi-node HTTP tests (see ClusterHttp.h).
#include "ordersystem/testing/ClusterHttp.h"

#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/StreamCopier.h>

#include <atomic>
#include <mutex>

namespace ordersystem::clustertest {

struct HookReceiver::Impl {
    mutable std::mutex mutex;
    std::map<std::string, int> keys;
    std::map<std::string, int> attempts;
    int total = 0;
    std::atomic<bool> failing{false};

    class Handler : public Poco::Net::HTTPRequestHandler {
    public:
        explicit Handler(Impl& owner) : _owner(owner) {}
        void handleRequest(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res) override {
            std::string body;
            Poco::StreamCopier::copyToString(req.stream(), body);
            {
                std::lock_guard<std::mutex> lock(_owner.mutex);
                ++_owner.attempts[req.get("Idempotency-Key", "")];
                if (_owner.failing.load()) {
                    res.setStatus(Poco::Net::HTTPResponse::HTTP_SERVICE_UNAVAILABLE);
                    res.send() << "not now";
                    return;
                }
                ++_owner.keys[req.get("Idempotency-Key", "")];
                ++_owner.total;
            }
            res.setStatus(Poco::Net::HTTPResponse::HTTP_OK);
            res.send() << "ok";
        }

    private:
        Impl& _owner;
    };
    class Factory : public Poco::Net::HTTPRequestHandlerFactory {
    public:
        explicit Factory(Impl& owner) : _owner(owner) {}
        Poco::Net::HTTPRequestHandler* createRequestHandler(const Poco::Net::HTTPServerRequest&) override {
            return new Handler(_owner);
        }

    private:
        Impl& _owner;
    };

    explicit Impl(const std::string& host)
        : host(host),
          socket(Poco::Net::SocketAddress(host, 0)),
          server(new Factory(*this), socket, new Poco::Net::HTTPServerParams) {
        server.start();
    }
    ~Impl() { server.stopAll(true); }
    std::string host;
    Poco::Net::ServerSocket socket;
    Poco::Net::HTTPServer server;
};

HookReceiver::HookReceiver(const std::string& host) : _impl(std::make_unique<Impl>(host)) {}
HookReceiver::~HookReceiver() = default;
std::string HookReceiver::url() const {
    return "http://" + _impl->host + ":" + std::to_string(_impl->socket.address().port()) + "/hook";
}
std::map<std::string, int> HookReceiver::received() const {
    std::lock_guard<std::mutex> lock(_impl->mutex);
    return _impl->keys;
}
size_t HookReceiver::attemptedKeys() const {
    std::lock_guard<std::mutex> lock(_impl->mutex);
    return _impl->attempts.size();
}
void HookReceiver::setFailing(bool failing) { _impl->failing = failing; }
int HookReceiver::total() const {
    std::lock_guard<std::mutex> lock(_impl->mutex);
    return _impl->total;
}

}  // namespace ordersystem::clustertest
