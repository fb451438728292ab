// Plain and TLS byte streams for the event loops (see ByteStream.h).
#include "ByteStream.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>

#include <openssl/err.h>
#include <openssl/ssl.h>

namespace ordersystem::host {

namespace {

std::string lastTlsError() {
    std::string text;
    while (const unsigned long e = ERR_get_error()) {
        char buf[256];
        ERR_error_string_n(e, buf, sizeof buf);
        text = buf;  // the last one names the cause
    }
    return text.empty() ? "unknown OpenSSL error" : text;
}

int selectHttp11(SSL*, const unsigned char** out, unsigned char* outLength, const unsigned char* offered,
                 unsigned offeredLength, void*) {
    static const unsigned char kHttp11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
    unsigned char* chosen = nullptr;
    if (SSL_select_next_proto(&chosen, outLength, kHttp11, sizeof kHttp11, offered, offeredLength) !=
        OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_NOACK;
    *out = chosen;
    return SSL_TLSEXT_ERR_OK;
}

IoStatus fromSslError(SSL* ssl, int result) {
    switch (SSL_get_error(ssl, result)) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE: return IoStatus::WouldBlock;
    case SSL_ERROR_ZERO_RETURN: return IoStatus::Closed;
    default: return IoStatus::Failed;
    }
}

}  // namespace

sdk::Result<std::shared_ptr<TlsContext>> TlsContext::load(const std::string& certFile, const std::string& keyFile) {
    using sdk::Status;
    using sdk::StatusCode;
    // A write to a peer that went away must fail, not kill the process (OpenSSL writes with write()).
    std::signal(SIGPIPE, SIG_IGN);
    ERR_clear_error();
    SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) return Status(StatusCode::Internal, "TLS: " + lastTlsError());
    std::shared_ptr<TlsContext> context(new TlsContext(ctx));
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION);
    // Partial writes suit a loop that resumes where the socket stopped; idle connections give
    // their read and write buffers back.
    SSL_CTX_set_mode(ctx,
                     SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_cipher_list(ctx, "HIGH:!aNULL:!eNULL:!MD5:!RC4:!3DES");
    static const unsigned char kSessionContext[] = "ordersystem";
    SSL_CTX_set_session_id_context(ctx, kSessionContext, sizeof kSessionContext - 1);
    SSL_CTX_set_alpn_select_cb(ctx, &selectHttp11, nullptr);
    if (SSL_CTX_use_certificate_chain_file(ctx, certFile.c_str()) != 1)
        return Status(StatusCode::InvalidConfig, "[http] tls_cert " + certFile + ": " + lastTlsError());
    if (SSL_CTX_use_PrivateKey_file(ctx, keyFile.c_str(), SSL_FILETYPE_PEM) != 1)
        return Status(StatusCode::InvalidConfig, "[http] tls_key " + keyFile + ": " + lastTlsError());
    if (SSL_CTX_check_private_key(ctx) != 1)
        return Status(StatusCode::InvalidConfig,
                      "[http] tls_key " + keyFile + " does not belong to tls_cert " + certFile);
    return context;
}

TlsContext::~TlsContext() { SSL_CTX_free(_ctx); }

ByteStream::ByteStream(int fd, TlsContext* tls) : _fd(fd) {
    if (!tls) return;
    _ssl = SSL_new(tls->native());
    if (_ssl) {
        SSL_set_fd(_ssl, fd);
        SSL_set_accept_state(_ssl);
    }
}

IoStatus ByteStream::handshake() noexcept {
    if (_fd < 0) return IoStatus::Failed;
    if (!_ssl) return IoStatus::Done;
    ERR_clear_error();
    const int r = SSL_do_handshake(_ssl);
    if (r == 1) return IoStatus::Done;
    const IoStatus status = fromSslError(_ssl, r);
    ERR_clear_error();
    return status == IoStatus::WouldBlock ? status : IoStatus::Failed;
}

IoResult ByteStream::read(char* data, size_t size) noexcept {
    if (_ssl) {
        ERR_clear_error();
        const int n = SSL_read(_ssl, data, static_cast<int>(size));
        if (n > 0) return {IoStatus::Done, static_cast<size_t>(n)};
        const IoStatus status = fromSslError(_ssl, n);
        ERR_clear_error();
        return {status};
    }
    for (;;) {
        const ssize_t n = ::recv(_fd, data, size, 0);
        if (n > 0) return {IoStatus::Done, static_cast<size_t>(n)};
        if (n == 0) return {IoStatus::Closed};
        if (errno == EINTR) continue;
        return {errno == EAGAIN || errno == EWOULDBLOCK ? IoStatus::WouldBlock : IoStatus::Failed};
    }
}

IoResult ByteStream::write(const char* data, size_t size) noexcept {
    if (_ssl) {
        ERR_clear_error();
        const int n = SSL_write(_ssl, data, static_cast<int>(size));
        if (n > 0) return {IoStatus::Done, static_cast<size_t>(n)};
        const IoStatus status = fromSslError(_ssl, n);
        ERR_clear_error();
        return {status == IoStatus::WouldBlock ? status : IoStatus::Failed};
    }
    for (;;) {
        const ssize_t n = ::send(_fd, data, size, MSG_NOSIGNAL);
        if (n > 0) return {IoStatus::Done, static_cast<size_t>(n)};
        if (n < 0 && errno == EINTR) continue;
        return {n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) ? IoStatus::WouldBlock : IoStatus::Failed};
    }
}

void ByteStream::shutdownWrite() noexcept {
    if (_fd < 0) return;
    if (_ssl && SSL_is_init_finished(_ssl)) {
        ERR_clear_error();
        SSL_shutdown(_ssl);  // queues close_notify; the peer's is not waited for
        ERR_clear_error();
    }
    ::shutdown(_fd, SHUT_WR);
}

IoResult ByteStream::discard() noexcept {
    char buffer[16384];
    for (;;) {
        const ssize_t n = ::recv(_fd, buffer, sizeof buffer, 0);
        if (n > 0) return {IoStatus::Done, static_cast<size_t>(n)};
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return {IoStatus::WouldBlock};
        return {IoStatus::Closed};
    }
}

void ByteStream::close() noexcept {
    if (_ssl) {
        SSL_free(_ssl);
        _ssl = nullptr;
    }
    if (_fd >= 0) {
        ::close(_fd);
        _fd = -1;
    }
}

}  // namespace ordersystem::host
