// Contract: the HTTP listener in front of the Router.
// - bind() opens the listening socket (Poco::Net::ServerSocket; port 0 = any free port; port()
//   tells the real one) on the main thread; start() begins accepting after every plugin has
//   registered its routes.
// - Plain HTTP is served by EventLoopServer (epoll loops, one per core; see its contract), TLS by
//   Poco::Net::HTTPServer (a thread per connection: Poco NetSSL, TLS 1.2+, when tls_cert and
//   tls_key are set; bind() refuses unreadable files). Both apply the same rules: URI and header
//   size (414/431), the API key when [http] api_keys_file is set (401 before the body is read),
//   413 over max_body_bytes (never buffered: at most 8 MiB more is read and dropped after the
//   answer, then the connection closes), 408 when the body takes longer than request_timeout_ms,
//   then RequestDispatcher: route match (404/405), 415, the handler; every exception becomes a
//   500 problem document and the connection keeps serving. Responses carry Content-Length,
//   Cache-Control: no-store and X-Content-Type-Options: nosniff.
// - Slow clients: idle keep-alive connections close after keep_alive_timeout_ms, a request must
//   arrive whole within request_timeout_ms, so no client holds anything for long.
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

namespace Poco {
class ThreadPool;
namespace Net {
class HTTPServer;
class ServerSocket;
}  // namespace Net
}  // namespace Poco

namespace ordersystem::host {

class EventLoopServer;
class RequestDispatcher;


class HttpServer {
public:
    HttpServer(HttpSettings settings, Router& router, std::shared_ptr<spdlog::logger> log);
    ~HttpServer();
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;

    /// Opens the listening socket; Unavailable with the address named when that fails.
    sdk::Status bind();
    /// The bound port (valid after bind()).
    int port() const { return _port; }
    bool tls() const { return _tls; }
    /// Starts accepting connections.
    void start();
    /// Stops accepting, waits up to drain for requests in flight, then closes every connection.
    void stop(std::chrono::milliseconds drain = std::chrono::milliseconds(5000));

private:
    std::shared_ptr<RequestDispatcher> _dispatcher;
    std::unique_ptr<EventLoopServer> _loops;  ///< plain HTTP
    std::unique_ptr<Poco::ThreadPool> _pool;
    std::unique_ptr<Poco::Net::ServerSocket> _socket;
    std::unique_ptr<Poco::Net::HTTPServer> _server;
    int _port = 0;
    bool _tls = false;
    bool _running = false;
};

}  // namespace ordersystem::host
