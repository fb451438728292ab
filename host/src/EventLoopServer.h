// Contract: the HTTP listener, plain and TLS alike: a few epoll event loops (one per core)
// instead of a thread per connection, so a request costs no thread switch unless its handler may
// block, and idle or slow clients cost a little memory each, never a thread.
// - Every loop waits on the shared listening socket (EPOLLEXCLUSIVE: the kernel wakes one loop per
//   new connection); accepted connections are dealt round robin to the loops (the kernel would
//   favour whichever loop is idle and pile the connections onto one), and only the loop that owns
//   a connection reads, writes and closes it. With TLS the loop drives the handshake and the
//   records through OpenSSL (ByteStream); everything after that is the same code.
// - Accepting: at most maxConnections are open; at the limit, or when accept fails for want of
//   descriptors or memory (EMFILE, ENFILE, ENOBUFS, ENOMEM), a loop stops watching the listener
//   and looks again every 100 ms (after a 100 ms back-off for the errors), so a full process
//   neither spins nor floods the log (one line per 10 s, with how many were held back) and
//   serves again as soon as descriptors free up.
// - A connection holds at most one request at a time: the next is read only once the current
//   one is answered, so a client that pipelines without reading holds one head's worth of
//   buffer. A head is parsed incrementally (wire::HeadParser) and decided on before its body:
//   RequestDispatcher::admit (400/401/404/405/415/413), then the shared budget for bodies in
//   flight ([http] max_body_memory_bytes, 503 beyond). Then, per route: an asynchronous handler
//   starts on the loop and whichever thread completes it queues the reply to the loop; a
//   non-blocking handler runs on the loop; one of them that answers WouldBlock there, any other
//   handler, and every request whose body is over kLoopBodyBytes, runs on a worker thread
//   (WorkerPool, up to [http] threads), which queues its answer the same way. Sockets are
//   registered once, edge-triggered.
// - Timeouts are checked by each loop every 100 ms: a TLS handshake must end within
//   tls handshake timeout, an idle keep-alive connection closes after keep_alive_timeout_ms, a
//   request whose head or body is not complete request_timeout_ms after its first byte is
//   answered 408 (head started but incomplete: closed), an answer not taken by the client within
//   request_timeout_ms closes the connection.
// - Answers that end the connection are followed by a lingering close: the write side is shut,
//   and up to 8 MiB of what the client still sends is read and dropped (bounded in time), so the
//   client sees the answer instead of a reset.
// - stopAccepting() (any thread) stops taking new connections; stop() ends the loops, closes every
//   connection and joins the workers. The caller waits for requests in flight in between.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "RequestDispatcher.h"

namespace ordersystem::host {

class TlsContext;
class WorkerPool;

/// Requests with larger bodies are handled on a worker: parsing them would hold up a loop.
inline constexpr int64_t kLoopBodyBytes = 16 * 1024;

class EventLoopServer {
public:
    /// listenFd: a bound, listening socket (owned by the caller, made non-blocking here).
    /// tls: null for plain HTTP (owned by the caller, outlives the server); metrics may be null.
    EventLoopServer(RequestDispatcher& dispatcher, int listenFd, int loops, TlsContext* tls, int maxConnections,
                    sdk::Metrics* metrics);
    ~EventLoopServer();
    EventLoopServer(const EventLoopServer&) = delete;
    EventLoopServer& operator=(const EventLoopServer&) = delete;

    void start();
    void stopAccepting() noexcept;
    void stop() noexcept;

    class Loop;
    class Stream;
    struct Connection;
    struct Shared;

private:
    std::unique_ptr<WorkerPool> _workers;
    std::vector<std::unique_ptr<Loop>> _loops;
    std::unique_ptr<Shared> _shared;
    bool _started = false;
};

}  // namespace ordersystem::host
