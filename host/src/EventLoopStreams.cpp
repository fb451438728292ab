// EventLoopServer, streaming answers (sdk::StreamSink): a producer pushes from any thread, the
// connection's loop writes. A stream holds at most [http] max_stream_buffer_bytes not yet taken
// by the client; past that the client is dropped. Streams are not timed out: the producer's own
// traffic (an SSE keep-alive, say) and the client closing are what end them.
#include <sys/epoll.h>

#include "EventLoop.h"
#include "ordersystem/sdk/util.h"

namespace ordersystem::host {

// ---- Stream (any thread)

bool EventLoopServer::Stream::push(std::string_view bytes) noexcept {
    try {
        std::lock_guard<std::mutex> lock(_mutex);
        if (_closing || _finished) return false;
        if (bytes.empty()) return true;
        if (_queued + bytes.size() > _limit) {
            _closing = true;
            _overflow = true;
            wakeLoop();
            return false;
        }
        const size_t before = _pending.size();
        wire::appendChunk(bytes, _chunked, _pending);
        _queued += _pending.size() - before;
        wakeLoop();
        return true;
    } catch (...) {
        return false;  // out of memory: as good as gone
    }
}

void EventLoopServer::Stream::close() noexcept {
    std::lock_guard<std::mutex> lock(_mutex);
    if (_closing || _finished) return;
    _closing = true;
    try {
        wakeLoop();
    } catch (...) {
    }
}

bool EventLoopServer::Stream::closed() const noexcept {
    std::lock_guard<std::mutex> lock(_mutex);
    return _closing || _finished;
}

size_t EventLoopServer::Stream::room() const noexcept {
    std::lock_guard<std::mutex> lock(_mutex);
    return _closing || _finished || _queued >= _limit ? 0 : _limit - _queued;
}

void EventLoopServer::Stream::onClose(std::function<void()> callback) {
    {
        std::lock_guard<std::mutex> lock(_mutex);
        if (!_finished) {
            _onClose = std::move(callback);
            return;
        }
    }
    if (callback) callback();
}

void EventLoopServer::Stream::wakeLoop() {
    if (_wakePending) return;
    _wakePending = true;
    _loop.post([weak = _conn] {
        if (auto conn = weak.lock(); conn && conn->stream.open() && conn->loop) conn->loop->pumpStream(*conn);
    });
}

bool EventLoopServer::Stream::take(std::string& out, bool* overflowed) {
    std::lock_guard<std::mutex> lock(_mutex);
    _wakePending = false;
    *overflowed = _overflow;
    if (_overflow) return true;
    out.append(_pending);
    _pending.clear();
    if (_pending.capacity() > 64 * 1024) std::string().swap(_pending);
    if (_closing && _chunked && !_lastChunkTaken) {
        out.append(wire::kLastChunk);
        _queued += wire::kLastChunk.size();
        _lastChunkTaken = true;
    }
    return _closing;
}

void EventLoopServer::Stream::written(size_t bytes) noexcept {
    std::lock_guard<std::mutex> lock(_mutex);
    _queued = bytes > _queued ? 0 : _queued - bytes;
}

void EventLoopServer::Stream::finish() noexcept {
    std::function<void()> callback;
    {
        std::lock_guard<std::mutex> lock(_mutex);
        if (_finished) return;
        _finished = true;
        _pending.clear();
        callback = std::move(_onClose);
    }
    try {
        if (callback) callback();
    } catch (...) {
    }
}

// ---- Loop (the connection's loop thread)

void EventLoopServer::Loop::startStream(Connection& conn, const Route& route) {
    const HttpSettings& s = _dispatcher.settings();
    if (_shared.streams.load(std::memory_order_relaxed) >= s.maxStreams) {
        count(_shared.metrics.streamsRefused);
        sdk::HttpResponse busy;
        sdk::writeProblem(busy, 503, "The server holds as many streams as it may ([http] max_streams); please retry");
        busy.setHeader("Retry-After", "5");
        return respond(conn, std::move(busy));
    }
    auto sink = std::make_shared<Stream>(*this, _connections.at(conn.stream.fd()),
                                         static_cast<size_t>(s.maxStreamBufferBytes), !conn.head.http10);
    sdk::HttpResponse response;
    conn.request.onEventLoop = true;
    _dispatcher.runStream(route, conn.trace, conn.request, response, sink);
    conn.request.onEventLoop = false;
    if (response.status != 200 || conn.headOnly) {
        sink->finish();
        if (response.status != 200) return respond(conn, std::move(response));
    }
    conn.keepAlive = false;  // a stream ends with its connection
    if (conn.outPos == conn.out.size()) {
        conn.out.clear();
        conn.outPos = 0;
    }
    wire::writeStreamHead(response, conn.out, conn.head.http10);
    if (conn.inRequest) {
        // Counted and logged as it starts: a stream is no request in flight for a shutdown to wait for.
        conn.inRequest = false;
        _dispatcher.finish(conn.trace, 200);
    }
    releaseBody(conn);
    if (conn.headOnly) return send(conn);
    conn.sink = std::move(sink);
    _shared.countStreams(+1);
    conn.phase.store(Phase::Streaming, std::memory_order_release);
    if (conn.readPending || conn.peerClosed) discardStreamInput(conn);
    if (conn.stream.open()) pumpStream(conn);
}

void EventLoopServer::Loop::pumpStream(Connection& conn) {
    if (!conn.stream.open() || conn.phase.load(std::memory_order_acquire) != Phase::Streaming || !conn.sink) return;
    bool overflowed = false;
    const bool ended = conn.sink->take(conn.out, &overflowed);
    if (overflowed) {
        count(_shared.metrics.streamsDropped);
        uint64_t heldBack = 0;
        if (_shared.streamDrops.allow(steadyNowMs(), &heldBack))
            _dispatcher.log().info(
                "dropped the stream to {}: it did not take [http] max_stream_buffer_bytes = {} ({} more "
                "since the last report)",
                conn.remote, _dispatcher.settings().maxStreamBufferBytes, heldBack);
        return closeConnection(conn);
    }
    const size_t before = conn.out.size() - conn.outPos;
    const bool all = flush(conn);
    conn.sink->written(all ? before : before - (conn.out.size() - conn.outPos));
    if (conn.broken) return closeConnection(conn);
    if (all && ended) afterWrite(conn);  // keepAlive is false: a lingering close
}

void EventLoopServer::Loop::discardStreamInput(Connection& conn) {
    conn.readPending = false;
    while (!conn.peerClosed) {
        const IoResult r = conn.stream.discard();
        if (r.status == IoStatus::WouldBlock) break;
        if (r.status != IoStatus::Done) {
            conn.peerClosed = true;
            break;
        }
        conn.discarded += static_cast<int64_t>(r.bytes);
        if (conn.discarded > wire::kDiscardAfterRefusalBytes) conn.broken = true;
        if (conn.broken) break;
    }
    if (conn.peerClosed || conn.broken) closeConnection(conn);
}

void EventLoopServer::Loop::endStreamForShutdown(Connection& conn) noexcept {
    if (!conn.sink || conn.phase.load() != Phase::Streaming || !conn.stream.open()) return;
    try {
        conn.sink->close();
        bool overflowed = false;
        conn.sink->take(conn.out, &overflowed);
        if (!overflowed) flush(conn);
    } catch (...) {
    }
}

}  // namespace ordersystem::host
