// The loop mechanics of EventLoopServer: accepting, epoll events, timeouts and closing.
#include "EventLoopServer.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "EventLoop.h"
#include "ordersystem/sdk/util.h"

namespace ordersystem::host {

namespace {
constexpr int kTickMs = 100;
constexpr int kMaxEvents = 128;
/// How long a loop stops accepting after accept failed for want of descriptors or memory.
constexpr int64_t kAcceptBackOffMs = 100;
/// Under pressure, how long a connection may hold its slot without asking for anything.
constexpr int64_t kUnusedGraceMs = 1000;
/// The loop running on this thread (null elsewhere).
thread_local const EventLoopServer::Loop* tlsLoop = nullptr;

std::string peerName(const sockaddr_storage& addr) {
    char host[INET6_ADDRSTRLEN] = {0};
    if (addr.ss_family == AF_INET) {
        const auto* in = reinterpret_cast<const sockaddr_in*>(&addr);
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
        return std::string(host) + ":" + std::to_string(ntohs(in->sin_port));
    }
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&addr);
    inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
    return "[" + std::string(host) + "]:" + std::to_string(ntohs(in6->sin6_port));
}
}  // namespace

int64_t steadyNowMs() noexcept {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

// ---- EventLoopServer

EdgeMetrics::EdgeMetrics(sdk::Metrics* m) {
    if (!m) return;
    openConnections = &m->gauge("ordersystem_http_open_connections", "HTTP connections open now, plain or TLS");
    const char* pauses = "ordersystem_http_accept_pauses_total";
    const char* pausesHelp =
        "Times a loop stopped accepting: at [http] max_connections, or out of descriptors or memory";
    pausedAtLimit = &m->counter(pauses, pausesHelp, {{"reason", "max_connections"}});
    pausedForDescriptors = &m->counter(pauses, pausesHelp, {{"reason", "descriptors"}});
    closedToMakeRoom = &m->counter("ordersystem_http_unused_connections_closed_total",
                                   "Connections that held a slot without asking, closed to make room under pressure");
    bodyBudgetRefusals =
        &m->counter("ordersystem_http_body_budget_refusals_total",
                    "Requests answered 503 because the bodies in flight held [http] max_body_memory_bytes");
    openStreams = &m->gauge("ordersystem_http_open_streams", "Streaming answers (event streams) open now");
    streamsDropped = &m->counter("ordersystem_http_streams_dropped_total",
                                 "Streams closed because their client did not take [http] max_stream_buffer_bytes");
    streamsRefused = &m->counter("ordersystem_http_streams_refused_total",
                                 "Stream requests answered 503 because [http] max_streams were open");
}

EventLoopServer::EventLoopServer(RequestDispatcher& dispatcher, int listenFd, int loops, TlsContext* tls,
                                 int maxConnections, sdk::Metrics* metrics)
    : _workers(std::make_unique<WorkerPool>(dispatcher.settings().threads)) {
    fcntl(listenFd, F_SETFL, fcntl(listenFd, F_GETFL) | O_NONBLOCK);
    _shared =
        std::make_unique<Shared>(dispatcher, *_workers, listenFd, tls, std::max(1, maxConnections), metrics, _loops);
    for (int i = 0; i < std::max(1, loops); ++i) _loops.push_back(std::make_unique<Loop>(*_shared));
}

EventLoopServer::~EventLoopServer() { stop(); }

void EventLoopServer::start() {
    for (auto& loop : _loops) loop->start();
    _started = true;
}

void EventLoopServer::stopAccepting() noexcept {
    for (auto& loop : _loops) loop->stopAccepting();
}

void EventLoopServer::stop() noexcept {
    if (!_started) return;
    _started = false;
    stopAccepting();
    for (auto& loop : _loops) loop->stop();
    // Handlers still running answer into closed connections; the loops outlive them.
    _workers->stop();
}

// ---- Loop

EventLoopServer::Loop::Loop(Shared& shared) : _shared(shared), _dispatcher(shared.dispatcher) {
    _epoll = epoll_create1(EPOLL_CLOEXEC);
    _eventFd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = nullptr;  // the wake-up eventfd
    epoll_ctl(_epoll, EPOLL_CTL_ADD, _eventFd, &ev);
    epoll_event lev{};
    lev.events = EPOLLIN | EPOLLEXCLUSIVE;
    lev.data.ptr = this;  // the listening socket
    epoll_ctl(_epoll, EPOLL_CTL_ADD, _shared.listenFd, &lev);
}

EventLoopServer::Loop::~Loop() {
    stop();
    close(_eventFd);
    close(_epoll);
}

void EventLoopServer::Loop::start() {
    _thread = std::thread([this] {
        tlsLoop = this;
        sdk::nameThisThread("http-loop");
        run();
    });
}

bool EventLoopServer::Loop::onLoopThread() const noexcept { return tlsLoop == this; }

void EventLoopServer::Loop::stopAccepting() noexcept {
    std::lock_guard<std::mutex> lock(_listenerMutex);
    _acceptStopped = true;
    if (_watchingListener) epoll_ctl(_epoll, EPOLL_CTL_DEL, _shared.listenFd, nullptr);
    _watchingListener = false;
}

void EventLoopServer::Loop::pauseAccepting(int64_t resumeAtMs) noexcept {
    std::lock_guard<std::mutex> lock(_listenerMutex);
    _resumeAcceptAtMs = resumeAtMs;
    if (_watchingListener) epoll_ctl(_epoll, EPOLL_CTL_DEL, _shared.listenFd, nullptr);
    _watchingListener = false;
}

void EventLoopServer::Loop::resumeAcceptingIfPossible(int64_t nowMs) noexcept {
    std::lock_guard<std::mutex> lock(_listenerMutex);
    if (_watchingListener || _acceptStopped || nowMs < _resumeAcceptAtMs) return;
    if (_shared.open.load(std::memory_order_relaxed) >= _shared.maxConnections) return;
    epoll_event lev{};
    lev.events = EPOLLIN | EPOLLEXCLUSIVE;
    lev.data.ptr = this;
    _watchingListener = epoll_ctl(_epoll, EPOLL_CTL_ADD, _shared.listenFd, &lev) == 0;
}

void EventLoopServer::Loop::stop() noexcept {
    _stopping.store(true);
    wake();
    if (_thread.joinable()) _thread.join();
    {
        std::lock_guard<std::mutex> lock(_tasksMutex);
        for (auto& handed : _handedOver) {  // accepted by another loop, never served
            close(handed.first);
            _shared.countOpen(-1);
        }
        _handedOver.clear();
    }
    auto open = std::move(_connections);
    _connections.clear();
    for (auto& [fd, conn] : open) {
        endStreamForShutdown(*conn);
        closeConnection(*conn);
    }
    _graveyard.clear();
}

void EventLoopServer::Loop::wake() noexcept {
    const uint64_t one = 1;
    [[maybe_unused]] const ssize_t n = write(_eventFd, &one, sizeof one);
}

void EventLoopServer::Loop::notify() noexcept {
    // Pairs with run(): its store of true comes before its last look at the queues (under
    // _tasksMutex); the work queued here, under the same mutex, before this exchange. So either
    // that look finds the work or this exchange finds true.
    if (_sleeping.exchange(false)) wake();
}

bool EventLoopServer::Loop::hasQueued() {
    std::lock_guard<std::mutex> lock(_tasksMutex);
    return !_answers.empty() || !_tasks.empty() || !_handedOver.empty();
}

void EventLoopServer::Loop::post(std::function<void()> task) {
    {
        std::lock_guard<std::mutex> lock(_tasksMutex);
        _tasks.push_back(std::move(task));
    }
    notify();
}

void EventLoopServer::Loop::run() {
    epoll_event events[kMaxEvents];
    while (!_stopping.load(std::memory_order_relaxed)) {
        _graveyard.clear();
        _sleeping.store(true);
        const bool queued = hasQueued();
        if (queued) _sleeping.store(false);  // no sleep: take the sockets' events, then the work
        const int n = epoll_wait(_epoll, events, kMaxEvents, queued ? 0 : kTickMs);
        _sleeping.store(false, std::memory_order_relaxed);
        if (queued) runTasks();
        for (int i = 0; i < n; ++i) {
            void* tag = events[i].data.ptr;
            if (tag == nullptr) {
                uint64_t value;
                [[maybe_unused]] const ssize_t r = read(_eventFd, &value, sizeof value);
                runTasks();
            } else if (tag == this) {
                accept();
            } else {
                onEvent(*static_cast<Connection*>(tag), events[i].events);
            }
        }
        if (steadyNowMs() - _lastTickMs >= kTickMs) checkTimeouts();
    }
}

void EventLoopServer::Loop::runTasks() {
    std::vector<std::function<void()>> tasks;
    std::vector<std::pair<int, std::string>> handedOver;
    std::vector<std::pair<std::shared_ptr<Connection>, sdk::HttpResponse>> answers;
    {
        std::lock_guard<std::mutex> lock(_tasksMutex);
        tasks.swap(_tasks);
        handedOver.swap(_handedOver);
        answers.swap(_answers);
    }
    for (auto& [fd, remote] : handedOver) adopt(fd, std::move(remote));
    for (auto& [conn, response] : answers) deliver(conn, std::move(response));
    for (auto& task : tasks) task();
}

void EventLoopServer::Loop::accept() {
    for (int i = 0; i < 64; ++i) {
        const int64_t now = steadyNowMs();
        if (_shared.open.load(std::memory_order_relaxed) >= _shared.maxConnections) {
            pauseAccepting(now);
            count(_shared.metrics.pausedAtLimit);
            uint64_t heldBack = 0;
            if (_shared.connectionLimit.allow(now, &heldBack))
                _dispatcher.log().warn(
                    "{} connections are open ([http] max_connections): new ones wait until one "
                    "closes ({} more times since the last report)",
                    _shared.maxConnections, heldBack);
            return;
        }
        sockaddr_storage addr{};
        socklen_t len = sizeof addr;
        const int fd =
            accept4(_shared.listenFd, reinterpret_cast<sockaddr*>(&addr), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) return;
            // Out of descriptors or memory: the listener stays readable, so watching it now
            // would wake this loop at once, forever. Look again after a pause.
            const int error = errno;
            _shared.shortOfDescriptorsAtMs.store(now, std::memory_order_relaxed);
            pauseAccepting(now + kAcceptBackOffMs);
            count(_shared.metrics.pausedForDescriptors);
            uint64_t heldBack = 0;
            if (_shared.acceptFailures.allow(now, &heldBack))
                _dispatcher.log().error(
                    "cannot accept connections: {} ({} open); pausing {} ms at a time "
                    "({} more failures since the last report)",
                    std::strerror(error), _shared.open.load(), kAcceptBackOffMs, heldBack);
            return;
        }
        _shared.countOpen(+1);
        const int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        Loop* owner =
            _shared.loops[_shared.nextLoop.fetch_add(1, std::memory_order_relaxed) % _shared.loops.size()].get();
        if (owner == this) {
            adopt(fd, peerName(addr));
        } else {
            owner->handOver(fd, peerName(addr));
        }
    }
}

void EventLoopServer::Loop::handOver(int fd, std::string remote) {
    {
        std::lock_guard<std::mutex> lock(_tasksMutex);
        _handedOver.emplace_back(fd, std::move(remote));
    }
    notify();
}

void EventLoopServer::Loop::adopt(int fd, std::string remote) {
    auto conn = std::make_shared<Connection>();
    conn->stream = ByteStream(fd, _shared.tls);
    conn->loop = this;
    conn->remote = std::move(remote);
    conn->idleSinceMs = steadyNowMs();
    const HttpSettings& s = _dispatcher.settings();
    if (conn->stream.tls()) {
        conn->phase.store(Phase::Handshaking);
        conn->deadlineMs.store(steadyNowMs() + std::min(s.tlsHandshakeTimeoutMs, s.requestTimeoutMs));
    } else {
        conn->deadlineMs.store(steadyNowMs() + s.keepAliveTimeoutMs);
    }
    // Registered once, edge-triggered for both directions: no epoll_ctl per request. A loop only
    // acts on an edge in the phase that expects it and remembers input that arrives in any other
    // (readPending).
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    ev.data.ptr = conn.get();
    if ((_shared.tls && !conn->stream.tls()) || epoll_ctl(_epoll, EPOLL_CTL_ADD, fd, &ev) != 0) {
        conn->stream.close();
        _shared.countOpen(-1);
        return;
    }
    _connections.emplace(fd, std::move(conn));
}

void EventLoopServer::Loop::closeConnection(Connection& conn) noexcept {
    std::shared_ptr<Stream> sink;
    {
        std::lock_guard<std::mutex> lock(conn.writeMutex);
        if (!conn.stream.open()) return;
        if (conn.inRequest && conn.phase.load() != Phase::Busy) {
            // The client went away before its answer: counted, never half-logged.
            conn.inRequest = false;
            _dispatcher.finish(conn.trace, 499);
        }
        if (conn.phase.load() != Phase::Busy) releaseBody(conn);
        const int fd = conn.stream.fd();
        epoll_ctl(_epoll, EPOLL_CTL_DEL, fd, nullptr);
        conn.stream.close();
        _shared.countOpen(-1);
        sink = std::move(conn.sink);
        if (auto it = _connections.find(fd); it != _connections.end()) {
            _graveyard.push_back(std::move(it->second));
            _connections.erase(it);
        }
    }
    if (sink) {
        _shared.countStreams(-1);
        sink->finish();  // the producer's onClose, without the connection's lock
    }
}

void EventLoopServer::Loop::onEvent(Connection& conn, uint32_t events) {
    if (!conn.stream.open()) return;
    // TLS: a read may wait for the socket to take a write (or the other way round), so any edge
    // is worth another read.
    if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) || conn.stream.tls()) conn.readPending = true;
    switch (conn.phase.load(std::memory_order_acquire)) {
    case Phase::Handshaking: handshake(conn); return;
    case Phase::Writing:
        if (events & EPOLLERR) conn.broken = true;
        // Not all out yet: the next EPOLLOUT edge comes when the socket drained.
        if (conn.broken || flush(conn)) {
            afterWrite(conn);
            serve(conn);
        }
        return;
    case Phase::Draining:
        if (conn.readPending) drain(conn);
        return;
    case Phase::Reading:
        if (conn.outPos < conn.out.size() && !flush(conn)) return;  // an interim 100 Continue still going out
        if (conn.broken) return closeConnection(conn);
        serve(conn);
        return;
    case Phase::Busy: return;  // readPending is served after the answer
    case Phase::Streaming:
        if (events & EPOLLERR) return closeConnection(conn);
        if (conn.readPending) discardStreamInput(conn);
        pumpStream(conn);  // the socket may take more now
        return;
    }
}

void EventLoopServer::Loop::handshake(Connection& conn) {
    switch (conn.stream.handshake()) {
    case IoStatus::Done:
        conn.idleSinceMs = steadyNowMs();
        conn.phase.store(Phase::Reading, std::memory_order_release);
        conn.deadlineMs.store(steadyNowMs() + _dispatcher.settings().keepAliveTimeoutMs);
        conn.readPending = true;  // the first request may have come with the handshake's last flight
        serve(conn);
        return;
    case IoStatus::WouldBlock: return;
    default:
        _dispatcher.log().debug("TLS handshake with {} failed", conn.remote);
        closeConnection(conn);
        return;
    }
}

void EventLoopServer::Loop::readInput(Connection& conn, size_t want) {
    if (conn.inPos > 0) {
        // Only the unconsumed tail is kept (at most a head and one read), whatever came before.
        conn.in.erase(0, conn.inPos);
        conn.inPos = 0;
    }
    char buffer[16384];
    while (conn.in.size() < want) {
        const size_t asked = std::min(sizeof buffer, want - conn.in.size());
        const IoResult r = conn.stream.read(buffer, asked);
        if (r.status == IoStatus::Done) {
            conn.in.append(buffer, r.bytes);
            // A socket that gave less than asked is drained (the next edge tells); a TLS read
            // ends at a record, which says nothing about the socket.
            if (r.bytes < asked && !conn.stream.tls()) return;
            continue;
        }
        if (r.status != IoStatus::WouldBlock) conn.peerClosed = true;
        return;  // drained: the next edge tells
    }
    conn.readPending = true;  // stopped at want: what is left gets no new edge
}

void EventLoopServer::Loop::drain(Connection& conn) {
    conn.readPending = false;
    for (;;) {
        const IoResult r = conn.stream.discard();
        if (r.status == IoStatus::WouldBlock) return;                  // until the next edge
        if (r.status != IoStatus::Done) return closeConnection(conn);  // the client closed (or failed): done
        conn.discarded += static_cast<int64_t>(r.bytes);
        if (conn.discarded > wire::kDiscardAfterRefusalBytes) return closeConnection(conn);
    }
}

void EventLoopServer::Loop::checkTimeouts() {
    const int64_t now = steadyNowMs();
    _lastTickMs = now;
    resumeAcceptingIfPossible(now);
    const int64_t requestTimeout = _dispatcher.settings().requestTimeoutMs;
    // Short of connections or descriptors, connections that have held one for a second without
    // using it (idle keep-alive, never a byte, an unfinished TLS handshake) make room for new ones.
    const bool pressed = _shared.open.load(std::memory_order_relaxed) >= _shared.maxConnections ||
                         now - _shared.shortOfDescriptorsAtMs.load(std::memory_order_relaxed) < 1000;
    std::vector<Connection*> expired;
    for (auto& [fd, conn] : _connections) {
        const Phase phase = conn->phase.load(std::memory_order_acquire);
        if (phase == Phase::Busy || phase == Phase::Streaming) continue;  // a stream has no answer timeout
        const bool pending = phase == Phase::Reading && conn->requestStartMs != 0;
        const bool unused = (phase == Phase::Handshaking || (phase == Phase::Reading && !pending)) &&
                            now - conn->idleSinceMs >= kUnusedGraceMs;
        const int64_t deadline = pending ? conn->requestStartMs + requestTimeout : conn->deadlineMs.load();
        if (now >= deadline) {
            expired.push_back(conn.get());
        } else if (pressed && unused) {
            expired.push_back(conn.get());
            count(_shared.metrics.closedToMakeRoom);
        }
    }
    for (Connection* conn : expired) {
        if (conn->phase.load() == Phase::Reading && conn->haveHead) {
            // The head arrived, the body did not: say so before closing.
            refuse(*conn, 408, "Request body did not arrive within " + std::to_string(requestTimeout) + " ms");
        } else {
            closeConnection(*conn);
        }
    }
}

}  // namespace ordersystem::host
