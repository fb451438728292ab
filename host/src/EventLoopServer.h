// Contract: the plain-HTTP listener: a few epoll event loops (one per core) instead of a thread
// per connection, so a request costs no thread switch unless its handler may block.
// - Every loop waits on the shared listening socket (EPOLLEXCLUSIVE: the kernel wakes one loop per
//   new connection); accepted connections are dealt round robin to the loops (the kernel would
//   favour whichever loop is idle and pile the connections onto one), and only the loop that owns
//   a connection reads, parses and closes it.
// - A request's bytes are parsed by wire::parseHead and the body rules of HttpServer.h (413, 408,
//   400); then, per route: an asynchronous handler starts on the loop and whichever thread
//   completes it (e.g. the transport's commit thread, for a whole batch of creates) queues the
//   reply to the loop; a nonBlocking plain handler runs on the loop; any other plain handler runs
//   on a worker thread (WorkerPool, up to [http] threads), which queues its answer the same way.
//   Only the loop reads, writes and closes its sockets. Sockets are registered once,
//   edge-triggered (no epoll_ctl per request); while a request is being handled the loop does
//   not read its connection, it only notes that input arrived and reads it after the answer.
// - Timeouts are checked by each loop every 100 ms: an idle keep-alive connection closes after
//   keep_alive_timeout_ms, a request whose head or body is not complete after request_timeout_ms
//   is answered 408 (head started but incomplete: closed) and closed.
// - Answers that end the connection are followed by a lingering close: the write side is shut,
//   and up to 8 MiB of what the client still sends is read and dropped (bounded in time), so the
//   client sees the answer instead of a reset.
// - stopAccepting() (any thread) stops taking new connections; stop() ends the loops, closes every
//   connection and joins the workers. The caller waits for requests in flight in between.
#pragma once

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "RequestDispatcher.h"

namespace ordersystem::host {

class WorkerPool;

class EventLoopServer {
public:
    /// listenFd: a bound, listening socket (owned by the caller, made non-blocking here).
    EventLoopServer(RequestDispatcher& dispatcher, int listenFd, int loops);
    ~EventLoopServer();
    EventLoopServer(const EventLoopServer&) = delete;
    EventLoopServer& operator=(const EventLoopServer&) = delete;

    void start();
    void stopAccepting() noexcept;
    void stop() noexcept;

    class Loop;
    struct Connection;

private:
    RequestDispatcher& _dispatcher;
    int _listenFd;
    std::unique_ptr<WorkerPool> _workers;
    std::vector<std::unique_ptr<Loop>> _loops;
    std::atomic<unsigned> _nextLoop{0};
    bool _started = false;
};

}  // namespace ordersystem::host
