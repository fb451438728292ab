// Shared Redis connections for the command path.
#include "ConnectionPool.h"

#include <hiredis/hiredis.h>

namespace ordersystem::plugins::redis {

using sdk::Result;
using sdk::Status;
using sdk::StatusCode;

namespace {
/// Error replies meaning "Redis cannot serve right now" (loading its AOF, busy script, disk
/// error refusing writes, replica, too few replicas for min-replicas-to-write): the caller gets
/// Unavailable (503), not Internal.
bool transientErrorReply(const redisReply* r) {
    if (!replyIsError(r)) return false;
    const std::string text = replyString(r);
    for (const char* prefix :
         {"LOADING", "BUSY", "MISCONF", "MASTERDOWN", "READONLY", "NOREPLICAS", "TRYAGAIN", "CLUSTERDOWN"})
        if (text.rfind(prefix, 0) == 0) return true;
    return false;
}

/// How long calls fail fast after Redis was found unreachable, before the next connect attempt.
constexpr std::chrono::milliseconds kConnectPause(250);
}  // namespace

ConnectionPool::ConnectionPool(const RedisSettings& settings, PrimaryLocator& locator, sdk::Logger& logger,
                               RedisInstruments instruments)
    : _settings(settings), _locator(locator), _logger(logger), _instruments(instruments) {}

ConnectionPool::~ConnectionPool() { close(); }

void ConnectionPool::close() {
    std::vector<std::unique_ptr<RedisConnection>> dropped;
    {
        std::lock_guard<std::mutex> lock(_mutex);
        _closed = true;
        dropped.swap(_idle);
        _open -= static_cast<int>(dropped.size());
    }
    _freed.notify_all();
}

void ConnectionPool::dropIdle() {
    std::vector<std::unique_ptr<RedisConnection>> dropped;
    {
        std::lock_guard<std::mutex> lock(_mutex);
        dropped.swap(_idle);
        _open -= static_cast<int>(dropped.size());
    }
    _freed.notify_all();
}

void ConnectionPool::noteFailure(const Status& status) {
    if (_instruments.commandErrors) _instruments.commandErrors->inc();

    if (!_down.exchange(true))
        _logger.warn("Redis at " + _locator.where() + " is unreachable: " + status.message +
                     " (writes fail with 503 until it is back)");
}

void ConnectionPool::noteSuccess() {
    if (_down.exchange(false)) {
        if (_instruments.reconnects) _instruments.reconnects->inc();
        _logger.info("reconnected to Redis at " + _locator.where());
    }
}

Result<std::unique_ptr<RedisConnection>> ConnectionPool::connectFresh() {
    {
        std::lock_guard<std::mutex> lock(_mutex);
        // While Redis is known to be down, one caller at a time probes it; the others fail at once
        // instead of each waiting out its own connect timeout.
        if (std::chrono::steady_clock::now() < _pauseUntil || (_down.load() && _probing))
            return Status(StatusCode::Unavailable, "cannot reach Redis at " + _locator.where() + ": " + _lastError);
        _probing = true;
    }
    auto conn = _locator.open(_settings.commandTimeoutMs);
    {
        std::lock_guard<std::mutex> lock(_mutex);
        _probing = false;
        if (!conn) {
            _pauseUntil = std::chrono::steady_clock::now() + kConnectPause;
            _lastError = conn.status().message;
        }
    }
    if (!conn) {
        Status st(StatusCode::Unavailable, "cannot reach Redis at " + _locator.where() + ": " + conn.status().message);
        noteFailure(st);
        return st;
    }
    noteSuccess();
    return conn;
}

Result<std::unique_ptr<RedisConnection>> ConnectionPool::acquire(bool* fromIdle) {
    *fromIdle = false;
    {
        std::unique_lock<std::mutex> lock(_mutex);
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(_settings.commandTimeoutMs);
        while (!_closed && _idle.empty() && _open >= _settings.poolSize) {
            if (_freed.wait_until(lock, deadline) == std::cv_status::timeout && _idle.empty() &&
                _open >= _settings.poolSize)
                return Status(StatusCode::Timeout, "all " + std::to_string(_settings.poolSize) +
                                                       " Redis connections stayed busy for the command timeout");
        }
        if (_closed) return Status(StatusCode::Unavailable, "the Redis transport is stopping");
        if (!_idle.empty() && _idle.back()->epoch() != _locator.epoch()) {
            // Opened before the primary moved: they may talk to a replica now.
            _open -= static_cast<int>(_idle.size());
            _idle.clear();
        }
        if (!_idle.empty()) {
            auto conn = std::move(_idle.back());
            _idle.pop_back();
            *fromIdle = true;
            return conn;
        }
        ++_open;  // reserve a slot while connecting outside the lock
    }
    auto conn = connectFresh();
    if (!conn) {
        {
            std::lock_guard<std::mutex> lock(_mutex);
            --_open;
        }
        _freed.notify_one();
    }
    return conn;
}

void ConnectionPool::release(std::unique_ptr<RedisConnection> connection) {
    {
        std::lock_guard<std::mutex> lock(_mutex);
        if (connection && !connection->broken() && !_closed && connection->epoch() == _locator.epoch()) {
            _idle.push_back(std::move(connection));
        } else {
            --_open;
        }
    }
    connection.reset();
    _freed.notify_one();
}

Status ConnectionPool::borrow(const std::function<Status(RedisConnection&)>& fn) {
    for (int attempt = 0; attempt < 2; ++attempt) {
        bool wasIdle = false;
        auto conn = acquire(&wasIdle);
        if (!conn) return conn.status();
        std::unique_ptr<RedisConnection> c = std::move(conn.value());
        Status st = fn(*c);
        release(std::move(c));
        if (st) {
            noteSuccess();
            return st;
        }
        _locator.suspect();  // the primary may have failed over
        // A pooled connection that died while idle (Redis restarted): nothing was executed on the
        // new server, so one retry on a fresh connection is safe. A timeout is not retried.
        if (wasIdle && st.code == StatusCode::Unavailable && attempt == 0) {
            dropIdle();  // its idle siblings died the same way (e.g. Sentinel closed them failing over)
            _logger.debug("Redis connection was stale (" + st.message + "), retrying on a new one");
            continue;
        }
        {
            std::lock_guard<std::mutex> lock(_mutex);
            _lastError = st.message;
        }
        noteFailure(st);
        return Status(st.code, "Redis at " + _locator.where() + ": " + st.message);
    }
    return Status(StatusCode::Unavailable, "unreachable");
}

Status ConnectionPool::transient(const redisReply* r) const {
    if (!transientErrorReply(r)) return Status::ok();
    if (replyIsReadOnly(r)) _locator.demoted();  // retires the connections to it, finds the new primary
    return Status(StatusCode::Unavailable, "Redis at " + _locator.where() + " cannot serve now: " + replyString(r));
}

Result<ReplyPtr> ConnectionPool::withConnection(const std::function<Result<ReplyPtr>(RedisConnection&)>& fn,
                                                int* acked) {
    ReplyPtr reply;
    const ReplicaWait wait = replicaWait();
    if (acked) *acked = kNotWaited;
    Status st = borrow([&](RedisConnection& c) {
        auto r = fn(c);
        if (!r) return r.status();
        reply = std::move(r.value());
        if (!acked || wait.replicas == 0 || replyIsError(reply.get())) return Status::ok();
        auto seen = waitForReplicas(c, wait.replicas, wait.timeoutMs);
        if (!seen) return seen.status();
        *acked = seen.value();
        return Status::ok();
    });
    if (acked && *acked != kNotWaited && *acked < wait.replicas) _locator.recheck();
    if (!st) return st;
    if (Status busy = transient(reply.get()); !busy) return busy;
    return reply;
}

std::vector<Result<ReplyPtr>> ConnectionPool::scriptBatch(const LuaScript& s, const std::vector<ScriptCall>& calls,
                                                          int* acked) {
    std::vector<ReplyPtr> replies;
    if (acked) *acked = kNotWaited;
    Status st = borrow([&](RedisConnection& c) {
        auto r = runScripts(c, s, calls, acked ? replicaWait() : ReplicaWait{}, acked);
        if (!r) return r.status();
        replies = std::move(r.value());
        return Status::ok();
    });
    if (st && acked && _settings.minReplicasAck > 0 && *acked < _settings.minReplicasAck) _locator.recheck();
    std::vector<Result<ReplyPtr>> out;
    out.reserve(calls.size());
    for (size_t i = 0; i < calls.size(); ++i) {
        if (!st) out.emplace_back(st);
        else if (Status busy = transient(replies[i].get()); !busy) out.emplace_back(busy);
        else out.emplace_back(std::move(replies[i]));
    }
    return out;
}

Result<ReplyPtr> ConnectionPool::command(const std::vector<std::string>& argv, int* acked) {
    return withConnection([&](RedisConnection& c) { return c.command(argv); }, acked);
}

Result<ReplyPtr> ConnectionPool::script(const LuaScript& s, const std::vector<std::string>& keys,
                                        const std::vector<std::string>& args, int* acked) {
    return withConnection([&](RedisConnection& c) { return runScript(c, s, keys, args); }, acked);
}

Status ConnectionPool::connectNow() {
    auto conn = _locator.open(_settings.commandTimeoutMs);
    if (!conn)
        return Status(StatusCode::Unavailable,
                      "cannot reach Redis at " + _locator.where() + ": " + conn.status().message);
    std::lock_guard<std::mutex> lock(_mutex);
    ++_open;
    _idle.push_back(std::move(conn.value()));
    return Status::ok();
}

}  // namespace ordersystem::plugins::redis
