// Contract: one connection's bytes for the event loops: the non-blocking socket itself, or TLS
// over it (OpenSSL, driven by the loop: every call returns at once, WouldBlock meaning "wait for
// the socket's next edge"). TlsContext loads the certificate and key once, on the main thread
// (InvalidConfig naming [http] tls_cert / tls_key); a ByteStream belongs to the loop thread that
// owns the connection. Renegotiation is off, so a read never needs to write and the other way
// round except during the handshake.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "ordersystem/sdk/status.h"

struct ssl_ctx_st;
struct ssl_st;

namespace ordersystem::host {

/// TLS 1.2 and 1.3 with strong ciphers, the server's preference, no compression, ALPN http/1.1.
class TlsContext {
public:
    static sdk::Result<std::shared_ptr<TlsContext>> load(const std::string& certFile, const std::string& keyFile);
    ~TlsContext();
    TlsContext(const TlsContext&) = delete;
    TlsContext& operator=(const TlsContext&) = delete;
    ssl_ctx_st* native() const noexcept { return _ctx; }

private:
    explicit TlsContext(ssl_ctx_st* ctx) : _ctx(ctx) {}
    ssl_ctx_st* _ctx;
};

enum class IoStatus { Done, WouldBlock, Closed, Failed };

struct IoResult {
    IoStatus status;
    size_t bytes = 0;
};

class ByteStream {
public:
    ByteStream() = default;
    /// Plain when tls is null; otherwise the TLS server side over fd (handshake() first).
    ByteStream(int fd, TlsContext* tls);
    ~ByteStream() { close(); }
    ByteStream(const ByteStream&) = delete;
    ByteStream& operator=(const ByteStream&) = delete;
    ByteStream(ByteStream&& other) noexcept : _fd(other._fd), _ssl(other._ssl) {
        other._fd = -1;
        other._ssl = nullptr;
    }
    ByteStream& operator=(ByteStream&& other) noexcept {
        if (this != &other) {
            close();
            _fd = other._fd;
            _ssl = other._ssl;
            other._fd = -1;
            other._ssl = nullptr;
        }
        return *this;
    }

    int fd() const noexcept { return _fd; }
    bool open() const noexcept { return _fd >= 0; }
    bool tls() const noexcept { return _ssl != nullptr; }
    /// Done when the TLS handshake is complete (at once for plain sockets); Failed for a peer that
    /// is not speaking TLS or offers nothing acceptable.
    IoStatus handshake() noexcept;
    /// Up to size bytes: Done with bytes > 0, WouldBlock, Closed (orderly end) or Failed.
    IoResult read(char* data, size_t size) noexcept;
    /// Writes what it can of data now: Done with the bytes taken (> 0), WouldBlock or Failed.
    IoResult write(const char* data, size_t size) noexcept;
    /// Ends the sending side (TLS close_notify first, best effort): the lingering close.
    void shutdownWrite() noexcept;
    /// Reads and drops raw bytes after shutdownWrite(): Done with the count, WouldBlock or Closed.
    IoResult discard() noexcept;
    /// Frees the TLS session and closes the socket (idempotent).
    void close() noexcept;

private:
    int _fd = -1;
    ssl_st* _ssl = nullptr;
};

}  // namespace ordersystem::host
