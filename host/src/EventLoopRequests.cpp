// EventLoopServer, request side: bytes to requests (head, admission, body), requests to
// handlers, answers to bytes, and what a connection does after an answer went out.
#include <sys/epoll.h>

#include <algorithm>

#include "EventLoop.h"
#include "ordersystem/sdk/util.h"

namespace ordersystem::host {

namespace {
constexpr int64_t kLingerMs = 2000;  ///< longest a lingering close waits for the client
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
/// Body bytes read ahead in one go; the rest follows as the handler's bytes are consumed.
constexpr size_t kBodyReadBytes = 64 * 1024;
/// Buffers of an idle connection larger than this are given back.
constexpr size_t kIdleBufferBytes = 32 * 1024;

/// How much a connection may hold unconsumed: the head's limit (one more byte to see it broken),
/// or a slice of the body.
size_t readWant(const EventLoopServer::Connection& conn, const HttpSettings& s) {
    if (!conn.haveHead)
        return static_cast<size_t>(wire::maxHeadBytes(wire::Limits{s.maxUriBytes, s.maxHeaderBytes})) + 1;
    if (conn.head.chunked) return kBodyReadBytes;
    const auto remaining = static_cast<size_t>(conn.head.contentLength) - conn.request.body.size();
    return std::max<size_t>(1, std::min(remaining, kBodyReadBytes));
}
}  // namespace

void EventLoopServer::Loop::serve(Connection& conn) {
    const HttpSettings& s = _dispatcher.settings();
    for (;;) {
        process(conn);
        if (!conn.stream.open() || conn.phase.load(std::memory_order_acquire) != Phase::Reading) return;
        // Nothing more will arrive: a request that is not complete never will be.
        if (conn.peerClosed) return closeConnection(conn);
        if (!conn.readPending) return;
        conn.readPending = false;
        readInput(conn, readWant(conn, s));
    }
}

void EventLoopServer::Loop::process(Connection& conn) {
    while (conn.stream.open() && conn.phase.load(std::memory_order_acquire) == Phase::Reading) {
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
    const wire::HeadOutcome outcome =
        conn.headParser.parse(pending, wire::Limits{s.maxUriBytes, s.maxHeaderBytes}, conn.head);
    if (outcome.status == wire::HeadStatus::Incomplete) return false;
    conn.headParser.reset();
    conn.trace = RequestTrace{};
    conn.trace.remote = conn.remote;
    conn.trace.method = conn.head.method.empty() ? "-" : conn.head.method;
    _dispatcher.begin(conn.trace);
    conn.inRequest = true;
    if (outcome.status == wire::HeadStatus::Bad) {
        conn.trace.uri = conn.head.target.empty() ? "-" : conn.head.target.substr(0, 256);
        refuse(conn, outcome.errorStatus, outcome.error);
        return false;
    }
    conn.inPos += outcome.consumed;
    return admit(conn);
}

bool EventLoopServer::Loop::admit(Connection& conn) {
    conn.trace.uri = conn.head.target;
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
    const Admission admission = _dispatcher.admit(conn.trace, conn.head, conn.request, refusal);
    if (!admission.route) {
        if (hasBody) conn.keepAlive = false;  // the body stays unread
        respond(conn, std::move(refusal));
        return false;
    }
    if (conn.head.contentLength > 0) {
        if (!_shared.bodies.tryReserve(conn.head.contentLength)) {
            refuseForBodyBudget(conn);
            return false;
        }
        conn.bodyReserved = conn.head.contentLength;
        conn.request.body.reserve(static_cast<size_t>(conn.head.contentLength));
    }
    conn.route = admission.route;
    conn.bodyLimit = admission.bodyLimit;
    conn.haveHead = true;
    // Only now that the body is wanted (RFC 9110 10.1.1), and only if it has not started coming.
    if (conn.head.expectContinue && hasBody && conn.inPos >= conn.in.size()) {
        conn.out.append(kContinue);
        flush(conn);
    }
    return true;
}

bool EventLoopServer::Loop::readBody(Connection& conn) {
    const std::string_view pending = std::string_view(conn.in).substr(conn.inPos);
    if (conn.head.chunked) {
        size_t consumed = 0;
        const auto result = conn.chunked.feed(pending, consumed, conn.request.body, conn.bodyLimit);
        conn.inPos += consumed;
        const auto grown = static_cast<int64_t>(conn.request.body.size()) - conn.bodyReserved;
        if (grown > 0) {
            if (!_shared.bodies.tryReserve(grown)) {
                refuseForBodyBudget(conn);
                return false;
            }
            conn.bodyReserved += grown;
        }
        switch (result) {
        case wire::ChunkedDecoder::Result::TooLarge:
            refuse(conn, 413, "Request body exceeds the limit of " + std::to_string(conn.bodyLimit) + " bytes");
            return false;
        case wire::ChunkedDecoder::Result::Bad:
            refuse(conn, 400, std::string("Malformed chunked request body: ") + conn.chunked.error());
            return false;
        case wire::ChunkedDecoder::Result::NeedMore: return false;
        case wire::ChunkedDecoder::Result::Done: return true;
        }
    }
    const size_t need = static_cast<size_t>(conn.head.contentLength) - conn.request.body.size();
    const size_t take = std::min(need, pending.size());
    conn.request.body.append(pending.data(), take);
    conn.inPos += take;
    return take == need;
}

void EventLoopServer::Loop::dispatch(Connection& conn) {
    conn.haveHead = false;
    conn.requestStartMs = 0;
    const Route* route = conn.route;
    if (route->streamHandler) return startStream(conn, *route);
    const bool small = static_cast<int64_t>(conn.request.body.size()) <= kLoopBodyBytes;
    if (route->nonBlockingHandler && small) {
        sdk::HttpResponse response;
        conn.request.onEventLoop = true;
        const sdk::HandlerOutcome outcome = _dispatcher.runPlain(*route, conn.trace, conn.request, response);
        conn.request.onEventLoop = false;
        if (outcome == sdk::HandlerOutcome::Handled) return respond(conn, std::move(response));
    }
    std::shared_ptr<Connection> self = _connections.at(conn.stream.fd());
    conn.phase.store(Phase::Busy, std::memory_order_release);
    if (route->asyncHandler) {
        if (!small) return runAsyncOnWorker(self, *route);
        conn.request.onEventLoop = true;
        const sdk::HandlerOutcome outcome =
            _dispatcher.runAsync(*route, conn.trace, conn.request,
                                 [this, self](sdk::HttpResponse&& answer) { answerAsync(self, std::move(answer)); });
        if (outcome == sdk::HandlerOutcome::WouldBlock) runAsyncOnWorker(self, *route);
        return;
    }
    _shared.workers.post([this, self, route] {
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

void EventLoopServer::Loop::refuseForBodyBudget(Connection& conn) {
    count(_shared.metrics.bodyBudgetRefusals);
    uint64_t heldBack = 0;
    if (_shared.bodyBudgetFull.allow(steadyNowMs(), &heldBack))
        _dispatcher.log().warn(
            "request bodies in flight hold [http] max_body_memory_bytes = {}: answering 503 "
            "({} more since the last report)",
            _shared.bodies.limit(), heldBack);
    refuse(conn, 503, "The server holds as many request bodies as it may; please retry");
}

void EventLoopServer::Loop::releaseBody(Connection& conn) noexcept {
    if (conn.bodyReserved > 0) _shared.bodies.release(conn.bodyReserved);
    conn.bodyReserved = 0;
    if (conn.request.body.capacity() > kIdleBufferBytes) std::string().swap(conn.request.body);
}

void EventLoopServer::Loop::serialize(Connection& conn, sdk::HttpResponse&& response) {
    _dispatcher.check(conn.trace, response);
    if (conn.outPos == conn.out.size()) {
        conn.out.clear();
        conn.outPos = 0;
    }
    wire::writeResponseHead(response, conn.keepAlive, conn.out, conn.head.http10);
    if (!conn.headOnly) conn.out.append(response.body);
    if (conn.inRequest) {
        conn.inRequest = false;
        _dispatcher.finish(conn.trace, response.status);
    }
    releaseBody(conn);
}

void EventLoopServer::Loop::respond(Connection& conn, sdk::HttpResponse&& response) {
    serialize(conn, std::move(response));
    send(conn);
}

void EventLoopServer::Loop::send(Connection& conn) {
    if (flush(conn)) return afterWrite(conn);
    conn.deadlineMs.store(steadyNowMs() + _dispatcher.settings().requestTimeoutMs);
    conn.phase.store(Phase::Writing, std::memory_order_release);  // the next EPOLLOUT edge goes on
}

bool EventLoopServer::Loop::flush(Connection& conn) noexcept {
    while (conn.outPos < conn.out.size()) {
        const IoResult r = conn.stream.write(conn.out.data() + conn.outPos, conn.out.size() - conn.outPos);
        if (r.status == IoStatus::Done) {
            conn.outPos += r.bytes;
            continue;
        }
        if (r.status == IoStatus::WouldBlock) return false;
        conn.broken = true;
        return true;
    }
    if (conn.out.capacity() > kIdleBufferBytes) std::string().swap(conn.out);
    else conn.out.clear();
    conn.outPos = 0;
    return true;
}

void EventLoopServer::Loop::afterWrite(Connection& conn) {
    if (conn.broken) return closeConnection(conn);
    if (!conn.keepAlive) {
        // Lingering close: FIN now, then read (and drop) what the client still sends, bounded.
        conn.stream.shutdownWrite();
        conn.discarded = 0;
        conn.deadlineMs.store(steadyNowMs() + std::min<int64_t>(kLingerMs, _dispatcher.settings().requestTimeoutMs));
        conn.phase.store(Phase::Draining, std::memory_order_release);
        if (conn.readPending || conn.peerClosed) drain(conn);  // arrived already: no edge will come for it
        return;
    }
    conn.idleSinceMs = steadyNowMs();
    conn.phase.store(Phase::Reading, std::memory_order_release);
    // The caller (process() or onEvent()) goes on with any pipelined request.
}

void EventLoopServer::Loop::becomeIdle(Connection& conn) {
    conn.requestStartMs = 0;
    conn.deadlineMs.store(steadyNowMs() + _dispatcher.settings().keepAliveTimeoutMs);
    if (conn.in.capacity() > kIdleBufferBytes) {
        std::string().swap(conn.in);
        conn.inPos = 0;
    }
}

void EventLoopServer::Loop::runAsyncOnWorker(const std::shared_ptr<Connection>& self, const Route& route) {
    _shared.workers.post([this, self, &route] {
        self->request.onEventLoop = false;
        _dispatcher.runAsync(route, self->trace, self->request,
                             [self](sdk::HttpResponse&& answer) { self->loop->answerAsync(self, std::move(answer)); });
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
        if (!conn->stream.open()) return;  // closed while the handler ran (shutdown)
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
