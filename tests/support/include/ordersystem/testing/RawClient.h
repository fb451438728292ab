// Test support: a client that speaks raw bytes to a server, over plain TCP or TLS (OpenSSL; the
// server's certificate is not verified: tests make their own), for framing, abuse and listener
// tests that no well-behaved HTTP client library would send. Blocking with timeouts; one thread.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <string_view>

struct ssl_st;
struct ssl_ctx_st;

namespace ordersystem::testing {

/// Self-signed certificate and key for localhost/127.0.0.1 in dir (cert.pem, key.pem), made with
/// the openssl command; false when it failed.
bool makeSelfSignedCertificate(const std::string& dir);

struct RawResponse {
    int status = 0;                              ///< 0: no complete response arrived
    std::map<std::string, std::string> headers;  ///< lower-case names
    std::string body;
    std::string header(const std::string& lowerName) const {
        auto it = headers.find(lowerName);
        return it == headers.end() ? std::string() : it->second;
    }
};

class RawClient {
public:
    /// Connects to 127.0.0.1:port (and completes the TLS handshake when tls); see ok().
    RawClient(int port, bool tls, std::chrono::milliseconds timeout = std::chrono::seconds(5));
    ~RawClient();
    RawClient(const RawClient&) = delete;
    RawClient& operator=(const RawClient&) = delete;

    bool ok() const { return _fd >= 0 && _error.empty(); }
    const std::string& error() const { return _error; }
    int fd() const { return _fd; }

    /// Sends all bytes; false when the peer is gone.
    bool send(std::string_view bytes);
    /// Reads one response (skipping 1xx interim answers unless keepInterim); the body by
    /// Content-Length, none for a HEAD request (headRequest). status 0 on timeout or close.
    RawResponse readResponse(bool headRequest = false, bool keepInterim = false,
                             std::chrono::milliseconds timeout = std::chrono::seconds(5));
    /// True when the peer closes (EOF or reset) within timeout; what arrives meanwhile is dropped.
    bool closedWithin(std::chrono::milliseconds timeout);
    /// Sends a simple GET and says whether it is answered: the connection is still usable.
    bool stillServes(const std::string& path = "/health/live");
    void shutdownWrite();
    /// What arrived after the last response read (waiting up to timeout for a first byte when
    /// nothing is buffered); empty on timeout or close (see closed()).
    std::string takeArrived(std::chrono::milliseconds timeout);
    bool closed() const { return _closed; }

private:
    /// Appends what arrives within the deadline to _buffer; false on timeout, close or error.
    bool fill(std::chrono::steady_clock::time_point deadline);

    int _fd = -1;
    ssl_ctx_st* _ctx = nullptr;
    ssl_st* _ssl = nullptr;
    bool _closed = false;
    std::string _buffer;
    std::string _error;
};

}  // namespace ordersystem::testing
