// Contract: the inside of EventLoopServer (see EventLoopServer.h): one connection's state, what
// the loops share, and one loop. EventLoopServer.cpp has the loop mechanics (accept, events,
// timeouts, closing); EventLoopRequests.cpp turns bytes into requests and answers into bytes.
// Ownership: the loop's connection table holds each open connection; a request handled off the
// loop holds it too (shared_ptr), so a late answer finds a closed connection, not freed memory.
// Closed connections stay in a graveyard until the next epoll round, because that round's event
// list may still name them.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "ByteStream.h"
#include "EventLoopServer.h"
#include "HttpWire.h"
#include "LogThrottle.h"
#include "WorkerPool.h"
#include "ordersystem/sdk/metrics.h"

namespace ordersystem::host {

/// Who may touch a connection: the loop while Handshaking, Reading, Writing (EPOLLOUT),
/// Draining or Streaming (it takes what producers pushed into the connection's Stream); while Busy
/// the handler reads its request (on a worker or wherever an async reply comes from) and the loop
/// writes the answer it is handed (answerAsync).
enum class Phase : int { Handshaking, Reading, Busy, Writing, Draining, Streaming };

/// Memory that request bodies in flight may hold together.
class BodyBudget {
public:
    explicit BodyBudget(int64_t limit) : _limit(limit) {}
    bool tryReserve(int64_t bytes) noexcept {
        int64_t used = _used.load(std::memory_order_relaxed);
        do {
            if (used + bytes > _limit) return false;
        } while (!_used.compare_exchange_weak(used, used + bytes, std::memory_order_relaxed));
        return true;
    }
    void release(int64_t bytes) noexcept { _used.fetch_sub(bytes, std::memory_order_relaxed); }
    int64_t limit() const noexcept { return _limit; }

private:
    const int64_t _limit;
    std::atomic<int64_t> _used{0};
};

/// What an operator sees of the edge on /metrics (all null without metrics: unit tests).
struct EdgeMetrics {
    explicit EdgeMetrics(sdk::Metrics* metrics);
    sdk::Gauge* openConnections = nullptr;
    sdk::Counter* pausedAtLimit = nullptr;
    sdk::Counter* pausedForDescriptors = nullptr;
    sdk::Counter* closedToMakeRoom = nullptr;
    sdk::Counter* bodyBudgetRefusals = nullptr;
    sdk::Gauge* openStreams = nullptr;
    sdk::Counter* streamsDropped = nullptr;
    sdk::Counter* streamsRefused = nullptr;
};

inline void count(sdk::Counter* counter) noexcept {
    if (counter) counter->inc();
}

struct EventLoopServer::Shared {
    Shared(RequestDispatcher& d, WorkerPool& w, int fd, TlsContext* t, int max, sdk::Metrics* m,
           const std::vector<std::unique_ptr<Loop>>& l)
        : dispatcher(d),
          workers(w),
          listenFd(fd),
          tls(t),
          maxConnections(max),
          loops(l),
          bodies(d.settings().maxBodyMemoryBytes),
          metrics(m) {}
    /// One connection more (+1) or fewer (-1), and the gauge with it.
    void countOpen(int delta) noexcept {
        const int now = open.fetch_add(delta, std::memory_order_relaxed) + delta;
        if (metrics.openConnections) metrics.openConnections->set(now);
    }
    /// One stream more or fewer, and the gauge with it.
    void countStreams(int delta) noexcept {
        const int now = streams.fetch_add(delta, std::memory_order_relaxed) + delta;
        if (metrics.openStreams) metrics.openStreams->set(now);
    }
    RequestDispatcher& dispatcher;
    WorkerPool& workers;
    const int listenFd;
    TlsContext* const tls;
    const int maxConnections;
    /// Every loop, for handing accepted connections round robin.
    const std::vector<std::unique_ptr<Loop>>& loops;
    std::atomic<unsigned> nextLoop{0};
    std::atomic<int> open{0};                        ///< accepted and not yet closed, on all loops
    std::atomic<int> streams{0};                     ///< streaming answers open, on all loops
    std::atomic<int64_t> shortOfDescriptorsAtMs{0};  ///< the last accept that failed for want of them
    BodyBudget bodies;
    LogThrottle acceptFailures;
    LogThrottle connectionLimit;
    LogThrottle bodyBudgetFull;
    LogThrottle streamDrops;
    EdgeMetrics metrics;
};

struct EventLoopServer::Connection {
    ByteStream stream;
    Loop* loop = nullptr;
    std::string remote;
    std::mutex writeMutex;  ///< writing to and closing the stream
    std::atomic<Phase> phase{Phase::Reading};
    /// Handshaking, idle: when to give up. Writing/Draining: when to give up on the client.
    std::atomic<int64_t> deadlineMs{0};

    // Owned by whichever thread the phase gives the connection to.
    int64_t requestStartMs = 0;  ///< first byte of an incomplete request (0: none pending)
    int64_t idleSinceMs = 0;     ///< accepted, or the last answer: since when nothing was asked
    std::string in;              ///< bytes read and not yet consumed start at inPos
    size_t inPos = 0;
    bool haveHead = false;
    wire::HeadParser headParser;
    wire::RequestHead head;
    wire::ChunkedDecoder chunked;
    const Route* route = nullptr;  ///< the admitted route of the current request
    int64_t bodyLimit = 0;
    int64_t bodyReserved = 0;  ///< of the shared BodyBudget, held until the answer
    sdk::HttpRequest request;
    RequestTrace trace;
    bool inRequest = false;  ///< begin() was called and finish() not yet
    bool keepAlive = true;
    bool headOnly = false;    ///< HEAD: no body on the wire
    bool broken = false;      ///< a write failed: close
    bool peerClosed = false;  ///< the client ended its side: nothing more will arrive
    /// Loop thread only. Sockets are edge-triggered: input (or a hang-up) that arrives while the
    /// connection is not Reading, or that one read left in the socket, gets no second event, so
    /// it is remembered here and read when the connection is Reading again.
    bool readPending = false;
    std::string out;  ///< bytes to send from outPos (an interim 100 Continue, then the answer)
    size_t outPos = 0;
    int64_t discarded = 0;
    std::shared_ptr<Stream> sink;  ///< Streaming: what producers push (the loop closes it)
};

/// The host's side of a streaming answer (sdk::StreamSink): producers push on any thread into a
/// pending buffer and wake the connection's loop (once per batch of pushes), which moves it to the
/// connection's output and writes it. Bytes pushed and not yet written count against the limit.
class EventLoopServer::Stream final : public sdk::StreamSink {
public:
    Stream(Loop& loop, std::weak_ptr<Connection> conn, size_t limit, bool chunked)
        : _loop(loop), _conn(std::move(conn)), _limit(limit), _chunked(chunked) {}
    bool push(std::string_view bytes) noexcept override;
    void close() noexcept override;
    bool closed() const noexcept override;
    size_t room() const noexcept override;
    void onClose(std::function<void()> callback) override;

    // The loop's side.
    bool chunked() const noexcept { return _chunked; }
    /// Appends what was pushed to out (and the last chunk once the producer closed); true when
    /// the producer closed. *overflowed: a push went past the limit (drop the client).
    bool take(std::string& out, bool* overflowed);
    /// bytes of what take() handed out reached the socket.
    void written(size_t bytes) noexcept;
    /// The connection is gone: pushes fail from now on and onClose runs (call without locks).
    void finish() noexcept;

private:
    /// Wakes the loop unless a wake is pending; _mutex held.
    void wakeLoop();

    Loop& _loop;
    const std::weak_ptr<Connection> _conn;
    const size_t _limit;
    const bool _chunked;
    mutable std::mutex _mutex;
    bool _lastChunkTaken = false;
    std::string _pending;
    size_t _queued = 0;  ///< pushed and not yet written to the socket
    bool _wakePending = false;
    bool _closing = false;   ///< the producer closed, or the limit was hit
    bool _overflow = false;  ///< a push went past the limit
    bool _finished = false;  ///< the connection is gone
    std::function<void()> _onClose;
};

class EventLoopServer::Loop {
public:
    explicit Loop(Shared& shared);
    ~Loop();

    void start();
    bool onLoopThread() const noexcept;
    void stopAccepting() noexcept;
    /// Ends the loop thread and closes every connection.
    void stop() noexcept;
    /// Runs task on the loop thread (thread-safe).
    void post(std::function<void()> task);
    /// Completes a request handled off the loop (a worker, or an asynchronous handler's reply):
    /// the answer is queued to this loop, which writes it, so only the loop ever writes to its
    /// sockets. A transport completes a whole batch of requests on one thread; writing each
    /// answer there (a send() runs the client's TCP receive path too) would keep that thread from
    /// its next batch, so it only queues, and wakes the loop only if it sleeps. On the loop thread
    /// itself (a handler that answered at once) the answer is written right away.
    void answerAsync(const std::shared_ptr<Connection>& conn, sdk::HttpResponse&& response);

private:
    // EventLoopServer.cpp
    void wake() noexcept;
    /// After queueing work: wakes the loop if it sleeps (or is about to), at most once per sleep.
    void notify() noexcept;
    /// Whether tasks, answers or handed-over sockets wait for the loop.
    bool hasQueued();
    void run();
    void runTasks();
    /// Writes an answer on the loop thread and goes on with the connection.
    void deliver(const std::shared_ptr<Connection>& conn, sdk::HttpResponse&& response);
    void accept();
    /// Stops watching the listener until resumeAtMs (and while the connection limit holds).
    void pauseAccepting(int64_t resumeAtMs) noexcept;
    void resumeAcceptingIfPossible(int64_t nowMs) noexcept;
    /// Gives this loop a socket another loop accepted (thread-safe).
    void handOver(int fd, std::string remote);
    /// Takes over an accepted socket (on this loop's thread).
    void adopt(int fd, std::string remote);
    void onEvent(Connection& conn, uint32_t events);
    void handshake(Connection& conn);
    /// Reads into conn.in while it holds fewer than `want` unconsumed bytes.
    void readInput(Connection& conn, size_t want);
    void drain(Connection& conn);
    void closeConnection(Connection& conn) noexcept;
    void checkTimeouts();
    friend class Stream;  // wakes pumpStream()

    // EventLoopRequests.cpp
    /// Handles what is buffered, then reads what is pending (readPending), until the connection
    /// is busy, waits for more input or is closed.
    void serve(Connection& conn);
    void process(Connection& conn);
    bool parseHead(Connection& conn);
    /// Starts the request whose head was just parsed; false when it was refused.
    bool admit(Connection& conn);
    bool readBody(Connection& conn);
    void dispatch(Connection& conn);
    /// Calls an asynchronous route on a worker (it answered WouldBlock on the loop, or its body
    /// is too large for the loop).
    void runAsyncOnWorker(const std::shared_ptr<Connection>& self, const Route& route);
    void refuse(Connection& conn, int status, const std::string& detail);
    /// 503: the shared body budget is spent (logged at most once per 10 s).
    void refuseForBodyBudget(Connection& conn);
    void respond(Connection& conn, sdk::HttpResponse&& response);
    void serialize(Connection& conn, sdk::HttpResponse&& response);
    /// Gives the request's share of the body budget back.
    void releaseBody(Connection& conn) noexcept;
    bool flush(Connection& conn) noexcept;
    void afterWrite(Connection& conn);
    void becomeIdle(Connection& conn);
    /// Writes conn.out; when all went out, goes on after the answer, else waits for EPOLLOUT.
    void send(Connection& conn);

    // EventLoopStreams.cpp
    /// Runs a streaming route: a refusal or a status other than 200 is an ordinary answer.
    void startStream(Connection& conn, const Route& route);
    /// Takes what was pushed, writes what the socket takes, ends or drops the stream as due.
    void pumpStream(Connection& conn);
    /// Reads and drops what a streaming client sends; notices it leaving.
    void discardStreamInput(Connection& conn);
    /// Best effort at shutdown: the last chunk, so clients see a clean end.
    void endStreamForShutdown(Connection& conn) noexcept;

    Shared& _shared;
    RequestDispatcher& _dispatcher;
    int _epoll = -1;
    int _eventFd = -1;
    std::thread _thread;
    std::atomic<bool> _stopping{false};
    /// True from just before the loop looks at its queues for the last time before epoll_wait
    /// until it wakes. Whoever queues work and swaps it from true to false writes the eventfd:
    /// one wake-up per sleep. A loop that is awake takes what was queued before it sleeps again,
    /// so a batch of answers handed over one by one (a group commit's) costs one eventfd write.
    std::atomic<bool> _sleeping{false};
    std::mutex _tasksMutex;
    std::vector<std::function<void()>> _tasks;
    std::vector<std::pair<int, std::string>> _handedOver;  ///< accepted sockets to adopt; _tasksMutex
    /// Answers handed over by workers and asynchronous replies; _tasksMutex.
    std::vector<std::pair<std::shared_ptr<Connection>, sdk::HttpResponse>> _answers;
    std::unordered_map<int, std::shared_ptr<Connection>> _connections;  ///< loop thread only
    std::vector<std::shared_ptr<Connection>> _graveyard;                ///< loop thread only
    int64_t _lastTickMs = 0;
    std::mutex _listenerMutex;      ///< the listener's registration: the loop and stopAccepting()
    bool _watchingListener = true;  ///< _listenerMutex
    bool _acceptStopped = false;    ///< stopAccepting() was called: never watch again; _listenerMutex
    int64_t _resumeAcceptAtMs = 0;  ///< loop thread only
};

int64_t steadyNowMs() noexcept;

}  // namespace ordersystem::host
