// Contract: the HTTP listener in front of the Router, plain or TLS: one stack for both
// (EventLoopServer; TLS runs inside its loops through OpenSSL), so both obey the same limits,
// deadlines and rules (see EventLoopServer.h and RequestDispatcher.h).
// - bind() opens the listening socket (port 0 = any free port; port() tells the real one) on the
//   main thread and loads the TLS certificate and key when [http] tls_cert and tls_key are set
//   (refusing unreadable or mismatched files, naming the keys). It also raises the process's
//   open-file limit to its hard limit and lowers [http] max_connections to fit it, saying so.
// - start() begins accepting after every plugin has registered its routes.
// - stop() (main thread, on SIGTERM) stops accepting, waits (bounded) for requests in flight,
//   then closes every connection, idle keep-alive ones included.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include <spdlog/logger.h>

#include "HttpSettings.h"
#include "Router.h"
#include "ordersystem/sdk/status.h"

namespace Poco::Net {
class ServerSocket;
}  // namespace Poco::Net

namespace ordersystem::host {

class EventLoopServer;
class RequestDispatcher;
class TlsContext;

class HttpServer {
public:
    /// metrics may be null (no edge metrics then).
    HttpServer(HttpSettings settings, Router& router, std::shared_ptr<spdlog::logger> log, sdk::Metrics* metrics);
    ~HttpServer();
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;

    /// Opens the listening socket; Unavailable with the address named when that fails.
    sdk::Status bind();
    /// The bound port (valid after bind()).
    int port() const { return _port; }
    bool tls() const { return _tls != nullptr; }
    /// Connections served at most at once (max_connections, fitted to the open-file limit).
    int maxConnections() const { return _maxConnections; }
    /// Starts accepting connections.
    void start();
    /// Stops accepting, waits up to drain for requests in flight, then closes every connection.
    void stop(std::chrono::milliseconds drain = std::chrono::milliseconds(5000));

private:
    std::shared_ptr<spdlog::logger> _log;
    sdk::Metrics* _metrics;
    std::shared_ptr<RequestDispatcher> _dispatcher;
    std::shared_ptr<TlsContext> _tls;
    std::unique_ptr<Poco::Net::ServerSocket> _socket;
    std::unique_ptr<EventLoopServer> _loops;
    int _port = 0;
    int _maxConnections = 0;
    bool _running = false;
};

}  // namespace ordersystem::host
