#include "HttpServer.h"

#include <algorithm>
#include <atomic>
#include <exception>
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

#include "ordersystem/sdk/util.h"

namespace ordersystem::host {

using Clock = std::chrono::steady_clock;

struct HttpServer::Shared {
    Shared(HttpSettings s, Router& r, std::shared_ptr<spdlog::logger> l)
        : settings(std::move(s)), router(r), log(std::move(l)) {}
    HttpSettings settings;
    Router& router;
    std::shared_ptr<spdlog::logger> log;
    /// Requests being handled right now: the drain on stop waits for these, not for idle connections.
    std::atomic<int> inFlight{0};
};

namespace {

bool isJsonContentType(const std::string& value) {
    std::string_view v(value);
    const size_t semi = v.find(';');
    if (semi != std::string_view::npos) v = v.substr(0, semi);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    return sdk::equalsIgnoreCase(v, "application/json");
}

void parseQuery(std::string_view query, sdk::HeaderList& out) {
    size_t start = 0;
    while (start < query.size()) {
        size_t amp = query.find('&', start);
        if (amp == std::string_view::npos) amp = query.size();
        const std::string_view pair = query.substr(start, amp - start);
        if (!pair.empty()) {
            const size_t eq = pair.find('=');
            std::string key, value;
            percentDecode(pair.substr(0, eq), key, true);
            if (eq != std::string_view::npos) percentDecode(pair.substr(eq + 1), value, true);
            out.emplace_back(std::move(key), std::move(value));
        }
        start = amp + 1;
    }
}

enum class BodyOutcome { Ok, TooLarge, Incomplete, TooSlow };

/// After a 413, at most this much of the refused body is read and thrown away, so a client that
/// writes its whole body before reading sees the 413 instead of a reset connection.
constexpr int64_t kDiscardLimit = 8 * 1024 * 1024;

void discardBody(std::istream& in) {
    char buffer[16384];
    int64_t discarded = 0;
    while (in && discarded < kDiscardLimit) {
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

bool needsApiKey(const HttpSettings& s, std::string_view rawPath) {
    if (!s.apiKeys || !s.apiKeys->enabled()) return false;
    if (s.apiKeysOnAllRoutes) return true;
    return rawPath == "/api" || rawPath.substr(0, 5) == "/api/";
}

int64_t headerBytes(const Poco::Net::HTTPServerRequest& req) {
    int64_t n = 0;
    for (const auto& kv : req) n += static_cast<int64_t>(kv.first.size() + kv.second.size() + 4);
    return n;
}

class RequestHandler final : public Poco::Net::HTTPRequestHandler {
public:
    explicit RequestHandler(HttpServer::Shared& shared) : _shared(shared) {}
    void handleRequest(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& resp) override;

private:
    void dispatch(Poco::Net::HTTPServerRequest& req, sdk::HttpRequest& request, sdk::HttpResponse& response,
                  RouteStats*& stats, const char*& routeLabel, bool& closeConnection, bool& discardAfterSend);
    HttpServer::Shared& _shared;
};

void RequestHandler::dispatch(Poco::Net::HTTPServerRequest& req, sdk::HttpRequest& request,
                              sdk::HttpResponse& response, RouteStats*& stats, const char*& routeLabel,
                              bool& closeConnection, bool& discardAfterSend) {
    thread_local RouteMatch match;
    const std::string& uri = req.getURI();
    const size_t qmark = uri.find('?');
    const std::string_view rawPath = std::string_view(uri).substr(0, qmark);
    request.method = req.getMethod();
    const HttpSettings& settings = _shared.settings;

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
    if (needsApiKey(settings, rawPath)) {
        const std::string key = presentedApiKey(req.get("Authorization", ""), req.get("X-Api-Key", ""));
        if (!settings.apiKeys->accepts(key)) {
            closeConnection = req.hasContentLength() ? req.getContentLength64() > 0 : req.getChunkedTransferEncoding();
            discardAfterSend = closeConnection;
            sdk::writeProblem(response, 401,
                              key.empty() ? "An API key is required: send Authorization: Bearer <key> or X-Api-Key"
                                          : "The API key is not valid");
            response.setHeader("WWW-Authenticate", "Bearer realm=\"ordersystem\"");
            return;
        }
    }

    const auto deadline = Clock::now() + std::chrono::milliseconds(settings.requestTimeoutMs);
    switch (readBody(req, settings.maxBodyBytes, deadline, request.body)) {
    case BodyOutcome::TooLarge:
        closeConnection = true;  // the rest of the body is still on the wire
        discardAfterSend = true;
        sdk::writeProblem(response, 413,
                          "Request body exceeds the limit of " + std::to_string(_shared.settings.maxBodyBytes) + " bytes");
        return;
    case BodyOutcome::Incomplete:
        closeConnection = true;
        sdk::writeProblem(response, 400, "Request body is shorter than its Content-Length");
        return;
    case BodyOutcome::TooSlow:
        closeConnection = true;
        sdk::writeProblem(response, 408,
                          "Request body did not arrive within " + std::to_string(settings.requestTimeoutMs) + " ms");
        return;
    case BodyOutcome::Ok: break;
    }

    _shared.router.match(request.method, rawPath, match);
    if (match.kind == RouteMatch::Kind::NotFound) {
        sdk::writeProblem(response, 404, "No resource at " + match.decodedPath);
        return;
    }
    if (match.kind == RouteMatch::Kind::MethodNotAllowed) {
        sdk::writeProblem(response, 405, "Method " + request.method + " is not allowed on " + match.decodedPath);
        response.setHeader("Allow", match.allow);
        return;
    }
    const Route& route = *match.route;
    stats = route.stats.get();
    routeLabel = route.pattern.c_str();
    if (route.options.jsonBody) {
        const std::string& type = req.getContentType();
        if (!isJsonContentType(type)) {
            sdk::writeProblem(response, 415,
                              "Content-Type must be application/json" + (type.empty() ? std::string() : ", got " + type));
            return;
        }
    }
    request.path = std::move(match.decodedPath);
    request.pathParams.reserve(route.paramNames.size());
    for (size_t i = 0; i < route.paramNames.size() && i < match.values.size(); ++i)
        request.pathParams.emplace_back(route.paramNames[i], std::move(match.values[i]));
    if (qmark != std::string::npos) parseQuery(std::string_view(uri).substr(qmark + 1), request.queryParams);
    request.headers.reserve(req.size());
    for (const auto& kv : req) request.headers.emplace_back(kv.first, kv.second);
    request.remoteAddress = req.clientAddress().toString();
    route.handler(request, response);
}

void RequestHandler::handleRequest(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& resp) {
    const auto started = Clock::now();
    _shared.inFlight.fetch_add(1, std::memory_order_relaxed);
    struct InFlight {
        std::atomic<int>& n;
        ~InFlight() { n.fetch_sub(1, std::memory_order_relaxed); }
    } inFlight{_shared.inFlight};
    sdk::HttpRequest request;
    sdk::HttpResponse response;
    RouteStats* stats = nullptr;
    const char* routeLabel = "unmatched";
    bool closeConnection = false;
    bool discardAfterSend = false;
    try {
        dispatch(req, request, response, stats, routeLabel, closeConnection, discardAfterSend);
    } catch (const std::exception& e) {
        _shared.log->error("{} {} (route {}) threw: {}", req.getMethod(), req.getURI(), routeLabel, e.what());
        response = sdk::HttpResponse{};
        sdk::writeProblem(response, 500, "Internal server error");
    } catch (...) {
        _shared.log->error("{} {} (route {}) threw a non-standard exception", req.getMethod(), req.getURI(), routeLabel);
        response = sdk::HttpResponse{};
        sdk::writeProblem(response, 500, "Internal server error");
    }
    if (response.status < 100 || response.status > 599) {
        _shared.log->error("{} {} (route {}) answered invalid status {}", req.getMethod(), req.getURI(), routeLabel,
                           response.status);
        response = sdk::HttpResponse{};
        sdk::writeProblem(response, 500, "Internal server error");
    }
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
        _shared.log->debug("{} {}: could not send the response: {}", req.getMethod(), req.getURI(), e.what());
    }
    const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
    if (!stats) stats = _shared.router.unmatchedStats();
    if (stats) stats->record(response.status, seconds);
    if (response.status >= 500) {
        _shared.log->warn("{} {} (route {}) -> {} in {:.3f} ms", req.getMethod(), req.getURI(), routeLabel,
                          response.status, seconds * 1000.0);
    } else if (_shared.log->should_log(spdlog::level::debug)) {
        _shared.log->debug("{} {} (route {}) -> {} in {:.3f} ms from {}", req.getMethod(), req.getURI(), routeLabel,
                           response.status, seconds * 1000.0, req.clientAddress().toString());
    }
}

class HandlerFactory final : public Poco::Net::HTTPRequestHandlerFactory {
public:
    explicit HandlerFactory(std::shared_ptr<HttpServer::Shared> shared) : _shared(std::move(shared)) {}
    // Always a handler: Poco turns a null into 501, and all routing errors are ours to answer.
    Poco::Net::HTTPRequestHandler* createRequestHandler(const Poco::Net::HTTPServerRequest&) override {
        return new RequestHandler(*_shared);
    }

private:
    std::shared_ptr<HttpServer::Shared> _shared;
};

}  // namespace

HttpServer::HttpServer(HttpSettings settings, Router& router, std::shared_ptr<spdlog::logger> log)
    : _shared(std::make_shared<Shared>(std::move(settings), router, std::move(log))) {}

HttpServer::~HttpServer() {
    stop(std::chrono::milliseconds(0));
    _server.reset();
    if (_pool) _pool->joinAll();
}

sdk::Status HttpServer::bind() {
    const HttpSettings& s = _shared->settings;
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
    const HttpSettings& s = _shared->settings;
    auto* params = new Poco::Net::HTTPServerParams;
    params->setMaxThreads(s.threads);
    params->setMaxQueued(s.maxQueued);
    params->setKeepAlive(true);
    params->setMaxKeepAliveRequests(0);
    params->setKeepAliveTimeout(Poco::Timespan(static_cast<Poco::Timespan::TimeDiff>(s.keepAliveTimeoutMs) * 1000));
    params->setTimeout(Poco::Timespan(static_cast<Poco::Timespan::TimeDiff>(s.requestTimeoutMs) * 1000));
    _pool = std::make_unique<Poco::ThreadPool>("http", std::min(4, s.threads), s.threads, 60);
    _server = std::make_unique<Poco::Net::HTTPServer>(new HandlerFactory(_shared), *_pool, *_socket, params);
    _server->start();
    _running = true;
}

void HttpServer::stop(std::chrono::milliseconds drain) {
    if (!_running) return;
    _running = false;
    _server->stop();  // no new connections; requests in flight continue
    // Let a request that was just accepted reach its handler before counting what is in flight.
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    const auto deadline = Clock::now() + drain;
    while (_shared->inFlight.load() > 0 && Clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    // Idle keep-alive connections would otherwise hold the workers for the keep-alive timeout.
    _server->stopAll(true);
    _server.reset();
    _pool->joinAll();
}

}  // namespace ordersystem::host
