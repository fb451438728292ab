// Contract: the HTTP listener (Poco::Net::HTTPServer) in front of the Router.
// - bind() opens the listening socket (port 0 = any free port; port() tells the real one) on the
//   main thread; start() begins accepting after every plugin has registered its routes.
// - Each request runs on a worker thread: URI and header size (414/431), the API key when
//   [http] api_keys_file is set (401 before the body is read), body read by us (413 over
//   max_body_bytes, never buffered: at most 8 MiB more is discarded after the answer, then the
//   connection closes; 408 when the body takes longer than request_timeout_ms),
//   route match (404/405 problem documents), 415 for jsonBody routes unless Content-Type is
//   application/json, then the route handler. Every exception becomes a 500
//   problem document; the connection keeps serving. Responses carry Content-Length,
//   Cache-Control: no-store and X-Content-Type-Options: nosniff and go out in one sendBuffer.
// - Slow clients: every socket read waits at most request_timeout_ms, idle keep-alive connections
//   close after keep_alive_timeout_ms, so no client holds a worker thread for long.
// - TLS (Poco NetSSL, TLS 1.2+) when tls_cert and tls_key are set; bind() refuses unreadable files.
// - stop() (main thread, on SIGTERM) stops accepting, waits (bounded) for requests in flight,
//   then closes every connection, idle keep-alive ones included.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include <spdlog/logger.h>

#include "ApiKeys.h"
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

struct HttpSettings {
    std::string host = "0.0.0.0";
    int port = 5000;
    int64_t maxBodyBytes = 1048576;
    int threads = 128;
    int maxQueued = 1024;
    int keepAliveTimeoutMs = 5000;
    /// Longest a socket read may wait, and the bound for reading one request body.
    int requestTimeoutMs = 30000;
    int64_t maxUriBytes = 8192;      ///< longer request targets get 414
    int64_t maxHeaderBytes = 16384;  ///< larger header blocks (names + values) get 431
    /// Hashes of the accepted API keys; disabled (no keys) means no authentication.
    std::shared_ptr<const ApiKeys> apiKeys;
    /// false: keys are needed on /api/* only; true: on every route (health, metrics, docs too).
    bool apiKeysOnAllRoutes = false;
    std::string tlsCert;  ///< PEM certificate (chain); TLS when set together with tlsKey
    std::string tlsKey;   ///< PEM private key
};

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

    struct Shared;  ///< state the request handlers share (settings, router, logger)

private:
    std::shared_ptr<Shared> _shared;
    std::unique_ptr<Poco::ThreadPool> _pool;
    std::unique_ptr<Poco::Net::ServerSocket> _socket;
    std::unique_ptr<Poco::Net::HTTPServer> _server;
    int _port = 0;
    bool _tls = false;
    bool _running = false;
};

}  // namespace ordersystem::host
