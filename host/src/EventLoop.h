// Contract: the inside of EventLoopServer (see EventLoopServer.h): one connection's state and one
// loop. EventLoopServer.cpp has the loop mechanics (accept, events, timeouts, closing);
// EventLoopRequests.cpp turns bytes into requests and answers into bytes.
// Ownership: the loop's connection table holds each open connection; a request handled off the
// loop holds it too (shared_ptr), so a late answer finds a closed connection (fd -1), not freed
// memory. Closed connections stay in a graveyard until the next epoll round, because that round's
// event list may still name them.
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

#include "EventLoopServer.h"
#include "HttpWire.h"
#include "WorkerPool.h"

namespace ordersystem::host {

/// Who may touch a connection: the loop while Reading, Writing (EPOLLOUT) or Draining; while Busy
/// the handler reads its request (on a worker or wherever an async reply comes from) and the
/// loop writes the answer it is handed (answerAsync).
enum class Phase : int { Reading, Busy, Writing, Draining };

struct EventLoopServer::Connection {
    int fd = -1;
    Loop* loop = nullptr;
    std::string remote;
    std::mutex writeMutex;  ///< writing to, re-arming and closing fd
    std::atomic<Phase> phase{Phase::Reading};
    /// Idle: when the keep-alive ends. Writing/Draining: when to give up on the client.
    std::atomic<int64_t> deadlineMs{0};

    // Owned by whichever thread the phase gives the connection to.
    int64_t requestStartMs = 0;  ///< first byte of an incomplete request (0: none pending)
    std::string in;
    size_t inPos = 0;
    bool haveHead = false;
    wire::RequestHead head;
    wire::ChunkedDecoder chunked;
    sdk::HttpRequest request;
    RequestTrace trace;
    bool inRequest = false;  ///< begin() was called and finish() not yet
    bool keepAlive = true;
    bool headOnly = false;  ///< HEAD: no body on the wire
    bool broken = false;    ///< a write failed: close
    /// Loop thread only. Sockets are edge-triggered: input (or a hang-up) that arrives while the
    /// connection is not Reading, or that one read left in the socket, gets no second event, so
    /// it is remembered here and read when the connection is Reading again.
    bool readPending = false;
    std::string out;
    size_t outPos = 0;
    int64_t discarded = 0;
};

class EventLoopServer::Loop {
public:
    Loop(RequestDispatcher& dispatcher, WorkerPool& workers, int listenFd, const std::vector<std::unique_ptr<Loop>>& all,
         std::atomic<unsigned>& nextLoop);
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
    /// Gives this loop a socket another loop accepted (thread-safe).
    void handOver(int fd, std::string remote);
    /// Takes over an accepted socket (on this loop's thread).
    void adopt(int fd, std::string remote);
    void onEvent(Connection& conn, uint32_t events);
    void readInput(Connection& conn, bool& peerClosed);
    void drain(Connection& conn);
    void closeConnection(Connection& conn) noexcept;
    void checkTimeouts();

    // EventLoopRequests.cpp
    /// Reads what is pending (readPending) and handles every complete request, until the
    /// connection is busy, waits for more input or is closed.
    void serve(Connection& conn);
    void process(Connection& conn);
    bool parseHead(Connection& conn);
    bool readBody(Connection& conn);
    void dispatch(Connection& conn);
    /// Calls an asynchronous route again on a worker (it replied runOnWorker on the loop).
    void runAsyncOnWorker(const std::shared_ptr<Connection>& self, const Route& route);
    void refuse(Connection& conn, int status, const std::string& detail);
    void respond(Connection& conn, sdk::HttpResponse&& response);
    void serialize(Connection& conn, sdk::HttpResponse&& response);
    bool flush(Connection& conn) noexcept;
    void afterWrite(Connection& conn);
    void becomeIdle(Connection& conn);

    RequestDispatcher& _dispatcher;
    WorkerPool& _workers;
    int _listenFd;
    /// Every loop, for handing accepted connections round robin (the kernel wakes whichever loop
    /// is idle for a new connection, which would pile most connections onto one loop).
    const std::vector<std::unique_ptr<Loop>>& _all;
    std::atomic<unsigned>& _nextLoop;
    int _epoll = -1;
    int _eventFd = -1;
    std::thread _thread;
    std::atomic<bool> _stopping{false};
    /// True from just before the loop looks at its queues for the last time before epoll_wait
    /// until it wakes. Whoever queues work and swaps it from true to false writes the eventfd:
    /// one wake-up per sleep. A loop that is awake takes what was queued before it sleeps again,
    /// so a batch of answers handed over one by one (a group commit's) costs one eventfd write,
    /// not one per answer (the queue was usually empty again by the next answer: the loop had
    /// woken and taken the first).
    std::atomic<bool> _sleeping{false};
    std::mutex _tasksMutex;
    std::vector<std::function<void()>> _tasks;
    std::vector<std::pair<int, std::string>> _handedOver;  ///< accepted sockets to adopt; _tasksMutex
    /// Answers handed over by workers and asynchronous replies; _tasksMutex.
    std::vector<std::pair<std::shared_ptr<Connection>, sdk::HttpResponse>> _answers;
    std::unordered_map<int, std::shared_ptr<Connection>> _connections;  ///< loop thread only
    std::vector<std::shared_ptr<Connection>> _graveyard;                 ///< loop thread only
    int64_t _lastTickMs = 0;
};

int64_t steadyNowMs() noexcept;

}  // namespace ordersystem::host
