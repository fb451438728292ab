// EventLoopServer, request side: bytes to requests (head, body), requests to handlers, answers
// to bytes, and what a connection does after an answer went out.
#include <sys/epoll.h>
#include <sys/socket.h>

#include <cerrno>

#include "EventLoop.h"
#include "ordersystem/sdk/util.h"

namespace ordersystem::host {

namespace {
constexpr int64_t kLingerMs = 2000;  ///< longest a lingering close waits for the client
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
}  // namespace

void EventLoopServer::Loop::serve(Connection& conn) {
    while (conn.fd >= 0 && conn.phase.load(std::memory_order_acquire) == Phase::Reading) {
        bool peerClosed = false;
        if (conn.readPending) {
            conn.readPending = false;
            readInput(conn, peerClosed);
            if (peerClosed && !conn.haveHead && conn.inPos >= conn.in.size()) return closeConnection(conn);
        }
        process(conn);
        // A half-closed client whose request is incomplete will never complete it.
        if (peerClosed && conn.fd >= 0 && conn.phase.load() == Phase::Reading) return closeConnection(conn);
        if (!conn.readPending) return;
    }
}

void EventLoopServer::Loop::process(Connection& conn) {
    while (conn.fd >= 0 && conn.phase.load(std::memory_order_acquire) == Phase::Reading) {
        if (!conn.haveHead && !parseHead(conn)) return;
        if (!readBody(conn)) return;
        dispatch(conn);
    }
}

bool EventLoopServer::Loop::parseHead(Connection& conn) {
    const std::string_view pending = std::string_view(conn.in).substr(conn.inPos);
    if (pending.empty()) {
        becomeIdle(conn);
        return false;
    }
    if (conn.requestStartMs == 0) conn.requestStartMs = steadyNowMs();
    const HttpSettings& s = _dispatcher.settings();
    const wire::HeadOutcome outcome = wire::parseHead(pending, wire::Limits{s.maxUriBytes, s.maxHeaderBytes}, conn.head);
    if (outcome.status == wire::HeadStatus::Incomplete) return false;
    conn.trace = RequestTrace{};
    conn.trace.remote = conn.remote;
    if (outcome.status == wire::HeadStatus::Bad) {
        conn.trace.method = conn.head.method.empty() ? "-" : conn.head.method;
        conn.trace.uri = conn.head.target.empty() ? "-" : conn.head.target.substr(0, 256);
        _dispatcher.begin(conn.trace);
        conn.inRequest = true;
        refuse(conn, outcome.errorStatus, outcome.error);
        return false;
    }
    conn.inPos += outcome.consumed;
    conn.haveHead = true;
    conn.trace.method = conn.head.method;
    conn.trace.uri = conn.head.target;
    _dispatcher.begin(conn.trace);
    conn.inRequest = true;
    // The previous request's header list goes back to the head, whose next parse reuses its storage.
    sdk::HeaderList previousHeaders = std::move(conn.request.headers);
    conn.request = sdk::HttpRequest{};
    conn.request.method = conn.head.method;
    conn.request.headers = std::move(conn.head.headers);
    conn.head.headers = std::move(previousHeaders);
    conn.request.remoteAddress = conn.remote;
    conn.keepAlive = conn.head.keepAlive;
    conn.headOnly = conn.head.method == "HEAD";
    conn.chunked = wire::ChunkedDecoder{};
    const bool hasBody = conn.head.chunked || conn.head.contentLength > 0;
    sdk::HttpResponse refusal;
    const std::string_view rawPath = std::string_view(conn.head.target).substr(0, conn.head.target.find('?'));
    if (!_dispatcher.admit(rawPath, conn.request.headers, refusal)) {
        if (hasBody) conn.keepAlive = false;  // the body stays unread
        respond(conn, std::move(refusal));
        return false;
    }
    if (conn.head.contentLength > s.maxBodyBytes) {
        refuse(conn, 413, "Request body exceeds the limit of " + std::to_string(s.maxBodyBytes) + " bytes");
        return false;
    }
    if (conn.head.expectContinue && hasBody && conn.inPos >= conn.in.size())
        send(conn.fd, kContinue.data(), kContinue.size(), MSG_NOSIGNAL);
    return true;
}

bool EventLoopServer::Loop::readBody(Connection& conn) {
    const HttpSettings& s = _dispatcher.settings();
    const std::string_view pending = std::string_view(conn.in).substr(conn.inPos);
    if (conn.head.chunked) {
        size_t consumed = 0;
        const auto result = conn.chunked.feed(pending, consumed, conn.request.body);
        conn.inPos += consumed;
        if (static_cast<int64_t>(conn.request.body.size()) > s.maxBodyBytes) {
            refuse(conn, 413, "Request body exceeds the limit of " + std::to_string(s.maxBodyBytes) + " bytes");
            return false;
        }
        if (result == wire::ChunkedDecoder::Result::Bad) {
            refuse(conn, 400, "Malformed chunked request body");
            return false;
        }
        if (result == wire::ChunkedDecoder::Result::NeedMore) return false;
        return true;
    }
    const size_t need = static_cast<size_t>(conn.head.contentLength);
    if (pending.size() < need) {
        if (conn.in.capacity() < conn.inPos + need) conn.in.reserve(conn.inPos + need);
        return false;
    }
    conn.request.body.assign(pending.data(), need);
    conn.inPos += need;
    return true;
}

void EventLoopServer::Loop::dispatch(Connection& conn) {
    conn.haveHead = false;
    conn.requestStartMs = 0;
    sdk::HttpResponse response;
    const Route* route = _dispatcher.route(conn.trace, conn.request, response);
    if (!route) return respond(conn, std::move(response));
    if (!route->asyncHandler && route->options.nonBlocking) {
        conn.request.onEventLoop = true;
        _dispatcher.runPlain(*route, conn.trace, conn.request, response);
        conn.request.onEventLoop = false;
        if (!response.runOnWorker) return respond(conn, std::move(response));
        response = sdk::HttpResponse{};  // it would have waited: a worker runs it again
    }
    std::shared_ptr<Connection> self = _connections.at(conn.fd);
    conn.phase.store(Phase::Busy, std::memory_order_release);
    if (route->asyncHandler) {
        conn.request.onEventLoop = true;
        _dispatcher.runAsync(*route, conn.trace, conn.request, [this, self, route](sdk::HttpResponse&& answer) {
            // Asked at once, on this loop, to be called again where it may wait.
            if (answer.runOnWorker && onLoopThread()) return runAsyncOnWorker(self, *route);
            answerAsync(self, std::move(answer));
        });
        return;
    }
    _workers.post([this, self, route] {
        sdk::HttpResponse answer;
        _dispatcher.runPlain(*route, self->trace, self->request, answer);
        answerAsync(self, std::move(answer));
    });
}

void EventLoopServer::Loop::refuse(Connection& conn, int status, const std::string& detail) {
    sdk::HttpResponse response;
    sdk::writeProblem(response, status, detail);
    conn.keepAlive = false;
    conn.haveHead = false;
    conn.requestStartMs = 0;
    respond(conn, std::move(response));
}

void EventLoopServer::Loop::serialize(Connection& conn, sdk::HttpResponse&& response) {
    _dispatcher.check(conn.trace, response);
    conn.out.clear();
    conn.outPos = 0;
    wire::writeResponseHead(response, conn.keepAlive, conn.out);
    if (!conn.headOnly) conn.out.append(response.body);
    if (conn.inRequest) {
        conn.inRequest = false;
        _dispatcher.finish(conn.trace, response.status);
    }
}

void EventLoopServer::Loop::respond(Connection& conn, sdk::HttpResponse&& response) {
    serialize(conn, std::move(response));
    if (flush(conn)) return afterWrite(conn);
    conn.deadlineMs.store(steadyNowMs() + _dispatcher.settings().requestTimeoutMs);
    conn.phase.store(Phase::Writing, std::memory_order_release);  // the next EPOLLOUT edge goes on
}

bool EventLoopServer::Loop::flush(Connection& conn) noexcept {
    while (conn.outPos < conn.out.size()) {
        const ssize_t n = send(conn.fd, conn.out.data() + conn.outPos, conn.out.size() - conn.outPos, MSG_NOSIGNAL);
        if (n > 0) {
            conn.outPos += static_cast<size_t>(n);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return false;
        conn.broken = true;
        return true;
    }
    return true;
}

void EventLoopServer::Loop::afterWrite(Connection& conn) {
    if (conn.broken) return closeConnection(conn);
    if (!conn.keepAlive) {
        // Lingering close: FIN now, then read (and drop) what the client still sends, bounded.
        shutdown(conn.fd, SHUT_WR);
        conn.discarded = 0;
        conn.deadlineMs.store(steadyNowMs() + std::min<int64_t>(kLingerMs, _dispatcher.settings().requestTimeoutMs));
        conn.phase.store(Phase::Draining, std::memory_order_release);
        if (conn.readPending) drain(conn);  // arrived already: no edge will come for it
        return;
    }
    conn.phase.store(Phase::Reading, std::memory_order_release);
    // The caller (process() or onEvent()) goes on with any pipelined request.
}

void EventLoopServer::Loop::becomeIdle(Connection& conn) {
    conn.requestStartMs = 0;
    conn.deadlineMs.store(steadyNowMs() + _dispatcher.settings().keepAliveTimeoutMs);
}

void EventLoopServer::Loop::runAsyncOnWorker(const std::shared_ptr<Connection>& self, const Route& route) {
    _workers.post([this, self, &route] {
        self->request.onEventLoop = false;
        _dispatcher.runAsync(route, self->trace, self->request, [self](sdk::HttpResponse&& answer) {
            answer.runOnWorker = false;  // asked again off the loop: this is the answer
            self->loop->answerAsync(self, std::move(answer));
        });
    });
}

void EventLoopServer::Loop::answerAsync(const std::shared_ptr<Connection>& conn, sdk::HttpResponse&& response) {
    if (onLoopThread()) return deliver(conn, std::move(response));
    {
        std::lock_guard<std::mutex> lock(_tasksMutex);
        _answers.emplace_back(conn, std::move(response));
    }
    notify();
}

void EventLoopServer::Loop::deliver(const std::shared_ptr<Connection>& conn, sdk::HttpResponse&& response) {
    {
        std::lock_guard<std::mutex> lock(conn->writeMutex);
        serialize(*conn, std::move(response));
        if (conn->fd < 0) return;  // closed while the handler ran (shutdown)
        if (!flush(*conn)) {
            conn->deadlineMs.store(steadyNowMs() + _dispatcher.settings().requestTimeoutMs);
            conn->phase.store(Phase::Writing, std::memory_order_release);
            return;
        }
    }
    afterWrite(*conn);
    serve(*conn);  // the next pipelined request, what arrived meanwhile, or wait for one
}

}  // namespace ordersystem::host
