#include "HttpServer.h"

#include <sys/resource.h>

#include <algorithm>
#include <thread>

#include <Poco/Net/NetException.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>

#include "ByteStream.h"
#include "EventLoopServer.h"
#include "RequestDispatcher.h"

namespace ordersystem::host {

using Clock = std::chrono::steady_clock;

namespace {

/// Raises the soft open-file limit to the hard one and returns how many connections fit under
/// it: a quarter of the descriptors (at most 256) stay for the databases, broker and webhook
/// connections and the log.
int connectionsThatFit(int wanted, spdlog::logger& log) {
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return wanted;
    if (limit.rlim_cur < limit.rlim_max) {
        rlimit raised = limit;
        raised.rlim_cur = std::min<rlim_t>(limit.rlim_max, 1u << 20);
        if (setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
    }
    const auto files = static_cast<int64_t>(std::min<rlim_t>(limit.rlim_cur, 1u << 20));
    const int64_t fit = std::max<int64_t>(1, files - std::min<int64_t>(256, files / 4));
    if (fit >= wanted) return wanted;
    log.warn("[http] max_connections = {} lowered to {}: the open-file limit is {} (ulimit -n; systemd: LimitNOFILE=)",
             wanted, fit, files);
    return static_cast<int>(fit);
}

}  // namespace

HttpServer::HttpServer(HttpSettings settings, Router& router, std::shared_ptr<spdlog::logger> log,
                       sdk::Metrics* metrics)
    : _log(log),
      _metrics(metrics),
      _dispatcher(std::make_shared<RequestDispatcher>(std::move(settings), router, std::move(log))) {}

HttpServer::~HttpServer() {
    stop(std::chrono::milliseconds(0));
    _loops.reset();
}

sdk::Status HttpServer::bind() {
    const HttpSettings& s = _dispatcher->settings();
    if (!s.tlsCert.empty() || !s.tlsKey.empty()) {
        if (s.tlsCert.empty() || s.tlsKey.empty())
            return sdk::Status(sdk::StatusCode::InvalidConfig, "[http] tls_cert and tls_key must be set together");
        auto context = TlsContext::load(s.tlsCert, s.tlsKey);
        if (!context) return context.status();
        _tls = std::move(context.value());
    }
    try {
        _socket = std::make_unique<Poco::Net::ServerSocket>();
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
    _maxConnections = connectionsThatFit(s.maxConnections, *_log);
    return sdk::Status::ok();
}

void HttpServer::start() {
    const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    _loops =
        std::make_unique<EventLoopServer>(*_dispatcher, _socket->impl()->sockfd(),
                                          static_cast<int>(std::min(cores, 8u)), _tls.get(), _maxConnections, _metrics);
    _loops->start();
    _running = true;
}

void HttpServer::stop(std::chrono::milliseconds drain) {
    if (!_running) return;
    _running = false;
    // No new connections; requests in flight continue.
    _loops->stopAccepting();
    // Let a request that was just accepted reach its handler before counting what is in flight.
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    const auto deadline = Clock::now() + drain;
    while (_dispatcher->inFlight() > 0 && Clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    _loops->stop();
    _socket->close();
}

}  // namespace ordersystem::host
