// The ceiling: a bare Poco HTTPServer answering a fixed JSON body, configured like the
// ordersystem host (keep-alive, same thread pool), so bench/run.sh can report the product's
// throughput as a ratio of what Poco alone does on the same machine in the same run.
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/NullStream.h>
#include <Poco/StreamCopier.h>

#include <csignal>
#include <cstdlib>
#include <iostream>

namespace {
const std::string kBody = R"({"orderId":1,"orderNumber":"ORD-20251011192145-0001"})";

class FixedHandler : public Poco::Net::HTTPRequestHandler {
public:
    void handleRequest(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& res) override {
        Poco::NullOutputStream sink;
        Poco::StreamCopier::copyStream(req.stream(), sink);
        res.setContentType("application/json");
        res.setContentLength(static_cast<std::streamsize>(kBody.size()));
        res.sendBuffer(kBody.data(), kBody.size());
    }
};

class Factory : public Poco::Net::HTTPRequestHandlerFactory {
public:
    Poco::Net::HTTPRequestHandler* createRequestHandler(const Poco::Net::HTTPServerRequest&) override {
        return new FixedHandler;
    }
};
}  // namespace

int main(int argc, char** argv) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    const int port = argc > 1 ? std::atoi(argv[1]) : 5900;
    const int threads = argc > 2 ? std::atoi(argv[2]) : 128;
    auto* params = new Poco::Net::HTTPServerParams;
    params->setMaxThreads(threads);
    params->setMaxQueued(1024);
    params->setKeepAlive(true);
    params->setMaxKeepAliveRequests(0);
    Poco::ThreadPool pool(2, threads);
    Poco::Net::ServerSocket socket(Poco::Net::SocketAddress("127.0.0.1", static_cast<Poco::UInt16>(port)), 1024);
    Poco::Net::HTTPServer server(new Factory, pool, socket, params);
    server.start();
    std::cout << "ceiling_server listening on 127.0.0.1:" << port << std::endl;
    int sig = 0;
    sigwait(&set, &sig);
    server.stopAll(true);
    return 0;
}
