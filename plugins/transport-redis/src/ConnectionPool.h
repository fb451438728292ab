// Contract: the command path shared by HTTP threads and the append pipeline's threads (append,
// ids, idempotency, reads, membership, health). Thread-safe. Holds up to poolSize connections
// behind a mutex; a caller borrows one for a single command or script and gives it back. Failures
// never hang:
// - a broken connection is dropped and the next call opens a fresh one (counted as a reconnect
//   when Redis had been unreachable);
// - after a failed connect, calls fail at once with Unavailable for a short pause instead of each
//   waiting for its own connect timeout (Redis down => 503 fast);
// - scriptBatch() pipelines several runs of one script on one borrowed connection (the
//   append path's group commit); a connection failure fails every run of the batch alike;
// - a command on a connection that had been idle in the pool and turns out to be dead (Redis
//   restarted) is retried once on a fresh connection, so callers must only send commands that are
//   safe to repeat (our scripts are: see Scripts.h);
// - connections come from the PrimaryLocator: a failed one or a READONLY reply makes it look the
//   primary up again, and connections opened before the primary moved are dropped, not reused;
// - with a non-null acked, the write is followed by WAIT min_replicas_ack on the same connection
//   and *acked is what WAIT saw (kNotWaited when min_replicas_ack is 0).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "PrimaryLocator.h"
#include "RedisConnection.h"
#include "RedisSettings.h"
#include "ordersystem/sdk/logger.h"
#include "ordersystem/sdk/metrics.h"

namespace ordersystem::plugins::redis {

/// Process-wide instruments of the transport, looked up once at start.
struct RedisInstruments {
    sdk::Counter* reconnects = nullptr;
    sdk::Counter* commandErrors = nullptr;
};

class ConnectionPool {
public:
    ConnectionPool(const RedisSettings& settings, PrimaryLocator& locator, sdk::Logger& logger,
                   RedisInstruments instruments);
    ~ConnectionPool();

    /// Runs one command (see the retry rule above).
    sdk::Result<ReplyPtr> command(const std::vector<std::string>& argv, int* acked = nullptr);
    /// Runs a script with EVALSHA (EVAL fallback).
    sdk::Result<ReplyPtr> script(const LuaScript& script, const std::vector<std::string>& keys,
                                 const std::vector<std::string>& args, int* acked = nullptr);
    /// Runs every call of a script pipelined on one borrowed connection (same retry rule), then
    /// WAIT min_replicas_ack in the same pipeline when acked is non-null; one result per call, in
    /// order. A connection failure fails every call alike.
    std::vector<sdk::Result<ReplyPtr>> scriptBatch(const LuaScript& script, const std::vector<ScriptCall>& calls,
                                                   int* acked = nullptr);
    /// Runs fn with a borrowed connection; the common path of command() and script().
    sdk::Result<ReplyPtr> withConnection(const std::function<sdk::Result<ReplyPtr>(RedisConnection&)>& fn,
                                         int* acked = nullptr);

    /// Opens one connection now (start-up check); Unavailable with the reason when Redis is unreachable.
    sdk::Status connectNow();
    /// Whether the last attempt to reach Redis failed.
    bool down() const noexcept { return _down.load(); }
    /// Drops every idle connection (stop()).
    void close();

private:
    /// Borrows a connection for fn, applies the stale-connection retry and the outage
    /// bookkeeping; fn's failure comes back prefixed with the server's URL.
    sdk::Status borrow(const std::function<sdk::Status(RedisConnection&)>& fn);
    /// Unavailable when r is an error reply meaning "Redis cannot serve right now", else Ok.
    sdk::Status transient(const redisReply* r) const;
    /// A connection from the idle list (*fromIdle) or a new one; waits while all are lent out.
    sdk::Result<std::unique_ptr<RedisConnection>> acquire(bool* fromIdle);
    void release(std::unique_ptr<RedisConnection> connection);
    sdk::Result<std::unique_ptr<RedisConnection>> connectFresh();
    void dropIdle();
    /// The WAIT the settings ask for after a write (replicas 0: none).
    ReplicaWait replicaWait() const noexcept { return {_settings.minReplicasAck, _settings.commandTimeoutMs}; }
    void noteFailure(const sdk::Status& status);
    void noteSuccess();

    const RedisSettings& _settings;
    PrimaryLocator& _locator;
    sdk::Logger& _logger;
    RedisInstruments _instruments;
    std::mutex _mutex;
    std::condition_variable _freed;
    std::vector<std::unique_ptr<RedisConnection>> _idle;
    int _open = 0;  ///< connections existing (idle + lent out + being opened)
    /// Until then connects are not attempted (Redis was just found unreachable).
    std::chrono::steady_clock::time_point _pauseUntil{};
    std::string _lastError;
    bool _probing = false;  ///< a connect attempt is under way
    std::atomic<bool> _down{false};
    bool _closed = false;
};

}  // namespace ordersystem::plugins::redis
