#include "HttpServer.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <future>
#include <mutex>
#include <thread>

#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/NetSSL.h>
#include <Poco/Net/SecureServerSocket.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/ThreadPool.h>

#include "EventLoopServer.h"
#include "HttpWire.h"
#include "RequestDispatcher.h"
#include "ordersystem/sdk/util.h"

namespace ordersystem::host {

using Clock = std::chrono::steady_clock;


namespace {

enum class BodyOutcome { Ok, TooLarge, Incomplete, TooSlow };

void discardBody(std::istream& in) {
    char buffer[16384];
    int64_t discarded = 0;
    while (in && discarded < wire::kDiscardAfterRefusalBytes) {
        in.read(buffer, sizeof buffer);
        if (in.gcount() <= 0) break;
        discarded += in.gcount();
    }
}

/// Reads the request body into out, refusing more than maxBytes without reading it all, and
/// giving up when the whole body has not arrived by deadline (each read is bounded by the
/// socket timeout, so a client trickling bytes is cut off here).
BodyOutcome readBody(Poco::Net::HTTPServerRequest& req, int64_t maxBytes, Clock::time_point deadline, std::string& out) {
    int64_t expected = -1;
    if (req.hasContentLength()) {
        expected = req.getContentLength64();
        if (expected > maxBytes) return BodyOutcome::TooLarge;
        if (expected <= 0) return BodyOutcome::Ok;
        out.reserve(static_cast<size_t>(expected));
    } else if (!req.getChunkedTransferEncoding()) {
        return BodyOutcome::Ok;
    }
    std::istream& in = req.stream();
    char buffer[16384];
    while (in) {
        std::streamsize want = sizeof buffer;
        if (expected >= 0) want = std::min<std::streamsize>(want, expected - static_cast<int64_t>(out.size()));
        if (want <= 0) break;
        // peek() waits for one socket read at most; readsome() then takes what arrived, so the
        // deadline is checked after every read instead of after the whole body.
        if (in.peek() == std::char_traits<char>::eof()) break;
        const std::streamsize n = in.readsome(buffer, want);
        if (n <= 0) break;
        if (static_cast<int64_t>(out.size()) + n > maxBytes) return BodyOutcome::TooLarge;
        out.append(buffer, static_cast<size_t>(n));
        if (Clock::now() > deadline && (expected < 0 || static_cast<int64_t>(out.size()) < expected))
            return BodyOutcome::TooSlow;
    }
    if (expected >= 0 && static_cast<int64_t>(out.size()) != expected)
        // A socket read that timed out ends the stream too: that is the slow client, not a short body.
        return Clock::now() >= deadline ? BodyOutcome::TooSlow : BodyOutcome::Incomplete;
    return BodyOutcome::Ok;
}

int64_t headerBytes(const Poco::Net::HTTPServerRequest& req) {
    int64_t n = 0;
    for (const auto& kv : req) n += static_cast<int64_t>(kv.first.size() + kv.second.size() + 4);
    return n;
}

/// The TLS listener's handler: Poco reads the head and the body stream, the dispatcher does the rest.
class RequestHandler final : public Poco::Net::HTTPRequestHandler {
public:
    explicit RequestHandler(RequestDispatcher& dispatcher) : _dispatcher(dispatcher) {}
    void handleRequest(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& resp) override;

private:
    /// The answer, or a refusal; closeConnection/discardAfterSend when the body stays unread.
    void answer(Poco::Net::HTTPServerRequest& req, RequestTrace& trace, sdk::HttpRequest& request,
                sdk::HttpResponse& response, bool& closeConnection, bool& discardAfterSend);
    RequestDispatcher& _dispatcher;
};

void RequestHandler::answer(Poco::Net::HTTPServerRequest& req, RequestTrace& trace, sdk::HttpRequest& request,
                            sdk::HttpResponse& response, bool& closeConnection, bool& discardAfterSend) {
    const HttpSettings& settings = _dispatcher.settings();
    const std::string& uri = req.getURI();
    const std::string_view rawPath = std::string_view(uri).substr(0, uri.find('?'));
    request.method = req.getMethod();
    request.headers.reserve(req.size());
    for (const auto& kv : req) request.headers.emplace_back(kv.first, kv.second);
    request.remoteAddress = trace.remote;

    // Refusals that need neither the body nor the route: the body stays unread, so close after.
    if (static_cast<int64_t>(uri.size()) > settings.maxUriBytes) {
        closeConnection = discardAfterSend = true;
        sdk::writeProblem(response, 414, "Request target exceeds the limit of " + std::to_string(settings.maxUriBytes) + " bytes");
        return;
    }
    if (headerBytes(req) > settings.maxHeaderBytes) {
        closeConnection = discardAfterSend = true;
        sdk::writeProblem(response, 431,
                          "Request headers exceed the limit of " + std::to_string(settings.maxHeaderBytes) + " bytes");
        return;
    }
    if (!_dispatcher.admit(rawPath, request.headers, response)) {
        closeConnection = req.hasContentLength() ? req.getContentLength64() > 0 : req.getChunkedTransferEncoding();
        discardAfterSend = closeConnection;
        return;
    }
    const auto deadline = Clock::now() + std::chrono::milliseconds(settings.requestTimeoutMs);
    switch (readBody(req, settings.maxBodyBytes, deadline, request.body)) {
    case BodyOutcome::TooLarge:
        closeConnection = discardAfterSend = true;  // the rest of the body is still on the wire
        sdk::writeProblem(response, 413, "Request body exceeds the limit of " + std::to_string(settings.maxBodyBytes) + " bytes");
        return;
    case BodyOutcome::Incomplete:
        closeConnection = true;
        sdk::writeProblem(response, 400, "Request body is shorter than its Content-Length");
        return;
    case BodyOutcome::TooSlow:
        closeConnection = true;
        sdk::writeProblem(response, 408, "Request body did not arrive within " + std::to_string(settings.requestTimeoutMs) + " ms");
        return;
    case BodyOutcome::Ok: break;
    }
    const Route* route = _dispatcher.route(trace, request, response);
    if (!route) return;
    if (!route->asyncHandler) return _dispatcher.runPlain(*route, trace, request, response);
    // This thread owns the connection anyway: wait for the asynchronous answer.
    auto promise = std::make_shared<std::promise<sdk::HttpResponse>>();
    std::future<sdk::HttpResponse> future = promise->get_future();
    _dispatcher.runAsync(*route, trace, request,
                         [promise](sdk::HttpResponse&& r) { promise->set_value(std::move(r)); });
    response = future.get();
}

void RequestHandler::handleRequest(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& resp) {
    RequestTrace trace;
    trace.method = req.getMethod();
    trace.uri = req.getURI();
    trace.remote = req.clientAddress().toString();
    _dispatcher.begin(trace);
    sdk::HttpRequest request;
    sdk::HttpResponse response;
    bool closeConnection = false;
    bool discardAfterSend = false;
    try {
        answer(req, trace, request, response, closeConnection, discardAfterSend);
    } catch (const std::exception& e) {
        _dispatcher.log().error("{} {} (route {}) threw: {}", trace.method, trace.uri, trace.routeLabel, e.what());
        response = sdk::HttpResponse{};
        sdk::writeProblem(response, 500, "Internal server error");
    }
    _dispatcher.check(trace, response);
    try {
        resp.setStatusAndReason(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(response.status),
                                sdk::reasonPhrase(response.status));
        if (!response.contentType.empty()) resp.setContentType(response.contentType);
        resp.set("Cache-Control", "no-store");
        resp.set("X-Content-Type-Options", "nosniff");
        for (const auto& kv : response.headers) resp.set(kv.first, kv.second);
        if (closeConnection) resp.setKeepAlive(false);
        resp.setContentLength64(static_cast<Poco::Int64>(response.body.size()));
        resp.sendBuffer(response.body.data(), response.body.size());
        if (discardAfterSend) discardBody(req.stream());
    } catch (const std::exception& e) {
        _dispatcher.log().debug("{} {}: could not send the response: {}", trace.method, trace.uri, e.what());
    }
    _dispatcher.finish(trace, response.status);
}

class HandlerFactory final : public Poco::Net::HTTPRequestHandlerFactory {
public:
    explicit HandlerFactory(std::shared_ptr<RequestDispatcher> dispatcher) : _dispatcher(std::move(dispatcher)) {}
    // Always a handler: Poco turns a null into 501, and all routing errors are ours to answer.
    Poco::Net::HTTPRequestHandler* createRequestHandler(const Poco::Net::HTTPServerRequest&) override {
        return new RequestHandler(*_dispatcher);
    }

private:
    std::shared_ptr<RequestDispatcher> _dispatcher;
};

}  // namespace

HttpServer::HttpServer(HttpSettings settings, Router& router, std::shared_ptr<spdlog::logger> log)
    : _dispatcher(std::make_shared<RequestDispatcher>(std::move(settings), router, std::move(log))) {}

HttpServer::~HttpServer() {
    stop(std::chrono::milliseconds(0));
    _server.reset();
    if (_pool) _pool->joinAll();
    _loops.reset();
}

sdk::Status HttpServer::bind() {
    const HttpSettings& s = _dispatcher->settings();
    try {
        if (!s.tlsCert.empty() || !s.tlsKey.empty()) {
            if (s.tlsCert.empty() || s.tlsKey.empty())
                return sdk::Status(sdk::StatusCode::InvalidConfig, "[http] tls_cert and tls_key must be set together");
            static std::once_flag sslInit;
            std::call_once(sslInit, [] { Poco::Net::initializeSSL(); });
            Poco::Net::Context::Params params;
            params.certificateFile = s.tlsCert;
            params.privateKeyFile = s.tlsKey;
            params.verificationMode = Poco::Net::Context::VERIFY_NONE;  // no client certificates
            params.loadDefaultCAs = false;
            params.cipherList = "HIGH:!aNULL:!eNULL:!MD5:!RC4:!3DES";
            Poco::Net::Context::Ptr context;
            try {
                context = new Poco::Net::Context(Poco::Net::Context::TLS_SERVER_USE, params);
                context->requireMinimumProtocol(Poco::Net::Context::PROTO_TLSV1_2);
                context->preferServerCiphers();
            } catch (const Poco::Exception& e) {
                return sdk::Status(sdk::StatusCode::InvalidConfig, "[http] tls_cert " + s.tlsCert + " / tls_key " +
                                                                       s.tlsKey + ": " + e.displayText());
            }
            _socket = std::make_unique<Poco::Net::SecureServerSocket>(context);
            _tls = true;
        } else {
            _socket = std::make_unique<Poco::Net::ServerSocket>();
        }
        // SO_REUSEADDR for quick restarts, but never SO_REUSEPORT (Poco's 2-argument bind sets
        // both): a second node on the same port must fail, not silently share the traffic.
        _socket->bind(Poco::Net::SocketAddress(s.host, static_cast<Poco::UInt16>(s.port)), true, false);
        _socket->listen(std::max(64, s.maxQueued));
        _port = _socket->address().port();
    } catch (const Poco::Exception& e) {
        _socket.reset();
        return sdk::Status(sdk::StatusCode::Unavailable, "cannot listen on " + s.host + ":" + std::to_string(s.port) +
                                                             " ([http] host/port): " + e.displayText());
    }
    return sdk::Status::ok();
}

void HttpServer::start() {
    const HttpSettings& s = _dispatcher->settings();
    if (!_tls) {
        const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
        _loops = std::make_unique<EventLoopServer>(*_dispatcher, _socket->impl()->sockfd(),
                                                   static_cast<int>(std::min(cores, 8u)));
        _loops->start();
        _running = true;
        return;
    }
    auto* params = new Poco::Net::HTTPServerParams;
    params->setMaxThreads(s.threads);
    params->setMaxQueued(s.maxQueued);
    params->setKeepAlive(true);
    params->setMaxKeepAliveRequests(0);
    params->setKeepAliveTimeout(Poco::Timespan(static_cast<Poco::Timespan::TimeDiff>(s.keepAliveTimeoutMs) * 1000));
    params->setTimeout(Poco::Timespan(static_cast<Poco::Timespan::TimeDiff>(s.requestTimeoutMs) * 1000));
    _pool = std::make_unique<Poco::ThreadPool>("http", std::min(4, s.threads), s.threads, 60);
    _server = std::make_unique<Poco::Net::HTTPServer>(new HandlerFactory(_dispatcher), *_pool, *_socket, params);
    _server->start();
    _running = true;
}

void HttpServer::stop(std::chrono::milliseconds drain) {
    if (!_running) return;
    _running = false;
    // No new connections; requests in flight continue.
    if (_loops) _loops->stopAccepting();
    else _server->stop();
    // Let a request that was just accepted reach its handler before counting what is in flight.
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    const auto deadline = Clock::now() + drain;
    while (_dispatcher->inFlight() > 0 && Clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (_loops) {
        _loops->stop();
        _socket->close();
        return;
    }
    // Idle keep-alive connections would otherwise hold the workers for the keep-alive timeout.
    _server->stopAll(true);
    _server.reset();
    _pool->joinAll();
}

}  // namespace ordersystem::host
