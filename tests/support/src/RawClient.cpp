// A raw-bytes HTTP test client over TCP or TLS (see RawClient.h).
#include "ordersystem/testing/RawClient.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <openssl/err.h>
#include <openssl/ssl.h>

namespace ordersystem::testing {

using Clock = std::chrono::steady_clock;

bool makeSelfSignedCertificate(const std::string& dir) {
    const std::string cmd =
        "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost"
        " -addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout '" +
        dir + "/key.pem' -out '" + dir + "/cert.pem' >'" + dir + "/openssl.log' 2>&1";
    return std::system(cmd.c_str()) == 0;
}

namespace {
bool waitFor(int fd, short events, Clock::time_point deadline) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return false;
    pollfd p{fd, events, 0};
    return ::poll(&p, 1, static_cast<int>(left)) > 0;
}
std::string lower(std::string s) {
    for (char& c : s)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return s;
}
}  // namespace

RawClient::RawClient(int port, bool tls, std::chrono::milliseconds timeout) {
    _fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    if (::connect(_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        _error = std::string("connect: ") + std::strerror(errno);
        return;
    }
    if (!tls) return;
    _ctx = SSL_CTX_new(TLS_client_method());
    _ssl = SSL_new(_ctx);
    SSL_set_fd(_ssl, _fd);
    SSL_set_tlsext_host_name(_ssl, "localhost");
    // A blocking handshake, bounded by a receive timeout on the socket.
    timeval tv{static_cast<time_t>(timeout.count() / 1000), static_cast<suseconds_t>((timeout.count() % 1000) * 1000)};
    ::setsockopt(_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (SSL_connect(_ssl) != 1) {
        char buf[256];
        ERR_error_string_n(ERR_get_error(), buf, sizeof buf);
        _error = std::string("TLS handshake: ") + buf;
    }
}

RawClient::~RawClient() {
    if (_ssl) SSL_free(_ssl);
    if (_ctx) SSL_CTX_free(_ctx);
    if (_fd >= 0) ::close(_fd);
}

bool RawClient::send(std::string_view bytes) {
    while (!bytes.empty()) {
        const int n = _ssl ? SSL_write(_ssl, bytes.data(), static_cast<int>(bytes.size()))
                           : static_cast<int>(::send(_fd, bytes.data(), bytes.size(), MSG_NOSIGNAL));
        if (n <= 0) return false;
        bytes.remove_prefix(static_cast<size_t>(n));
    }
    return true;
}

bool RawClient::fill(Clock::time_point deadline) {
    if (_closed) return false;
    if (!(_ssl && SSL_pending(_ssl) > 0) && !waitFor(_fd, POLLIN, deadline)) return false;
    char buf[16384];
    const int n = _ssl ? SSL_read(_ssl, buf, sizeof buf) : static_cast<int>(::recv(_fd, buf, sizeof buf, 0));
    if (n <= 0) {
        _closed = true;
        return false;
    }
    _buffer.append(buf, static_cast<size_t>(n));
    return true;
}

RawResponse RawClient::readResponse(bool headRequest, bool keepInterim, std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
        size_t end;
        while ((end = _buffer.find("\r\n\r\n")) == std::string::npos)
            if (!fill(deadline)) return {};
        RawResponse r;
        const std::string head = _buffer.substr(0, end);
        if (head.size() < 12 || head.compare(0, 5, "HTTP/") != 0) return {};
        r.status = std::atoi(head.c_str() + 9);
        size_t pos = head.find("\r\n");
        while (pos != std::string::npos && pos < head.size()) {
            const size_t next = head.find("\r\n", pos + 2);
            const std::string line =
                head.substr(pos + 2, next == std::string::npos ? std::string::npos : next - pos - 2);
            const size_t colon = line.find(':');
            if (colon != std::string::npos) {
                size_t v = colon + 1;
                while (v < line.size() && line[v] == ' ') ++v;
                r.headers[lower(line.substr(0, colon))] = line.substr(v);
            }
            pos = next;
        }
        _buffer.erase(0, end + 4);
        if (r.status >= 100 && r.status < 200) {
            if (keepInterim) return r;
            continue;
        }
        const size_t length = headRequest || r.status == 204 || r.status == 304
                                  ? 0
                                  : static_cast<size_t>(std::atoll(r.header("content-length").c_str()));
        while (_buffer.size() < length)
            if (!fill(deadline)) return {};
        r.body = _buffer.substr(0, length);
        _buffer.erase(0, length);
        return r;
    }
}

bool RawClient::closedWithin(std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (!_closed && Clock::now() < deadline) {
        _buffer.clear();
        fill(deadline);
    }
    return _closed;
}

bool RawClient::stillServes(const std::string& path) {
    if (!send("GET " + path + " HTTP/1.1\r\nHost: localhost\r\n\r\n")) return false;
    return readResponse().status == 200;
}

std::string RawClient::takeArrived(std::chrono::milliseconds timeout) {
    if (_buffer.empty()) fill(Clock::now() + timeout);
    std::string arrived;
    arrived.swap(_buffer);
    return arrived;
}

void RawClient::shutdownWrite() {
    if (_fd >= 0) ::shutdown(_fd, SHUT_WR);
}

}  // namespace ordersystem::testing
