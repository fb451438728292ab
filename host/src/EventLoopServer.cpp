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
#include "HttpWire.h"
#include "ordersystem/sdk/util.h"

namespace ordersystem::host {

namespace {
constexpr int kTickMs = 100;
constexpr int kMaxEvents = 128;
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

EventLoopServer::EventLoopServer(RequestDispatcher& dispatcher, int listenFd, int loops)
    : _dispatcher(dispatcher), _listenFd(listenFd),
      _workers(std::make_unique<WorkerPool>(dispatcher.settings().threads)) {
    fcntl(_listenFd, F_SETFL, fcntl(_listenFd, F_GETFL) | O_NONBLOCK);
    for (int i = 0; i < std::max(1, loops); ++i)
        _loops.push_back(std::make_unique<Loop>(_dispatcher, *_workers, _listenFd, _loops, _nextLoop));
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

EventLoopServer::Loop::Loop(RequestDispatcher& dispatcher, WorkerPool& workers, int listenFd,
                            const std::vector<std::unique_ptr<Loop>>& all, std::atomic<unsigned>& nextLoop)
    : _dispatcher(dispatcher), _workers(workers), _listenFd(listenFd), _all(all), _nextLoop(nextLoop) {
    _epoll = epoll_create1(EPOLL_CLOEXEC);
    _eventFd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = nullptr;  // the wake-up eventfd
    epoll_ctl(_epoll, EPOLL_CTL_ADD, _eventFd, &ev);
    epoll_event lev{};
    lev.events = EPOLLIN | EPOLLEXCLUSIVE;
    lev.data.ptr = this;  // the listening socket
    epoll_ctl(_epoll, EPOLL_CTL_ADD, _listenFd, &lev);
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

void EventLoopServer::Loop::stopAccepting() noexcept { epoll_ctl(_epoll, EPOLL_CTL_DEL, _listenFd, nullptr); }

void EventLoopServer::Loop::stop() noexcept {
    _stopping.store(true);
    wake();
    if (_thread.joinable()) _thread.join();
    {
        std::lock_guard<std::mutex> lock(_tasksMutex);
        for (auto& handed : _handedOver) close(handed.first);  // accepted by another loop, never served
        _handedOver.clear();
    }
    auto open = std::move(_connections);
    _connections.clear();
    for (auto& [fd, conn] : open) closeConnection(*conn);
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
        sockaddr_storage addr{};
        socklen_t len = sizeof addr;
        const int fd = accept4(_listenFd, reinterpret_cast<sockaddr*>(&addr), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
                _dispatcher.log().error("cannot accept a connection: {}", std::strerror(errno));
            return;
        }
        const int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        Loop* owner = _all[_nextLoop.fetch_add(1, std::memory_order_relaxed) % _all.size()].get();
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
    conn->fd = fd;
    conn->loop = this;
    conn->remote = std::move(remote);
    conn->deadlineMs.store(steadyNowMs() + _dispatcher.settings().keepAliveTimeoutMs);
    // Registered once, edge-triggered for both directions: no epoll_ctl per request (a syscall
    // each, which EPOLLONESHOT re-arming cost on every answer). A loop only acts on an edge in
    // the phase that expects it and remembers input that arrives in any other (readPending).
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    ev.data.ptr = conn.get();
    if (epoll_ctl(_epoll, EPOLL_CTL_ADD, fd, &ev) != 0) {
        close(fd);
        return;
    }
    _connections.emplace(fd, std::move(conn));
}

void EventLoopServer::Loop::closeConnection(Connection& conn) noexcept {
    std::lock_guard<std::mutex> lock(conn.writeMutex);
    if (conn.fd < 0) return;
    if (conn.inRequest && conn.phase.load() != Phase::Busy) {
        // The client went away before its answer: counted, never half-logged.
        conn.inRequest = false;
        _dispatcher.finish(conn.trace, 499);
    }
    epoll_ctl(_epoll, EPOLL_CTL_DEL, conn.fd, nullptr);
    close(conn.fd);
    if (auto it = _connections.find(conn.fd); it != _connections.end()) {
        _graveyard.push_back(std::move(it->second));
        _connections.erase(it);
    }
    conn.fd = -1;
}

void EventLoopServer::Loop::onEvent(Connection& conn, uint32_t events) {
    if (conn.fd < 0) return;
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) conn.readPending = true;
    switch (conn.phase.load(std::memory_order_acquire)) {
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
    case Phase::Reading: serve(conn); return;
    case Phase::Busy: return;  // readPending is served after the answer
    }
}

void EventLoopServer::Loop::readInput(Connection& conn, bool& peerClosed) {
    if (conn.inPos > 0 && conn.inPos == conn.in.size()) {
        conn.in.clear();
        conn.inPos = 0;
    }
    char buffer[16384];
    for (int i = 0; i < 16; ++i) {
        const ssize_t n = recv(conn.fd, buffer, sizeof buffer, 0);
        if (n > 0) {
            conn.in.append(buffer, static_cast<size_t>(n));
            if (static_cast<size_t>(n) < sizeof buffer) return;  // drained: the next edge tells
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) peerClosed = true;
        return;
    }
    conn.readPending = true;  // 256 KiB in one go: the rest after these requests, no edge for it
}

void EventLoopServer::Loop::drain(Connection& conn) {
    conn.readPending = false;
    char buffer[16384];
    for (;;) {
        const ssize_t n = recv(conn.fd, buffer, sizeof buffer, 0);
        if (n > 0) {
            conn.discarded += n;
            if (conn.discarded > wire::kDiscardAfterRefusalBytes) return closeConnection(conn);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;  // until the next edge
        return closeConnection(conn);  // the client closed (or failed): done
    }
}

void EventLoopServer::Loop::checkTimeouts() {
    const int64_t now = steadyNowMs();
    _lastTickMs = now;
    const int64_t requestTimeout = _dispatcher.settings().requestTimeoutMs;
    std::vector<Connection*> expired;
    for (auto& [fd, conn] : _connections) {
        const Phase phase = conn->phase.load(std::memory_order_acquire);
        if (phase == Phase::Busy) continue;
        const bool pending = phase == Phase::Reading && conn->requestStartMs != 0;
        const int64_t deadline = pending ? conn->requestStartMs + requestTimeout : conn->deadlineMs.load();
        if (now >= deadline) expired.push_back(conn.get());
    }
    for (Connection* conn : expired) {
        if (conn->phase.load() == Phase::Reading && conn->haveHead) {
            // The head arrived, the body did not: say so before closing.
            refuse(*conn, 408,
                   "Request body did not arrive within " + std::to_string(requestTimeout) + " ms");
        } else {
            closeConnection(*conn);
        }
    }
}

}  // namespace ordersystem::host
