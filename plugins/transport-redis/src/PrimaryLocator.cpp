// Finding and following the Redis primary through Sentinel.
#include "PrimaryLocator.h"

#include <hiredis/hiredis.h>

namespace ordersystem::plugins::redis {

using sdk::Result;
using sdk::Status;
using sdk::StatusCode;

namespace {
std::string hostPort(const std::string& host, int port) {
    return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(port);
}
}  // namespace

PrimaryLocator::PrimaryLocator(const RedisSettings& settings, sdk::Logger& logger)
    : _settings(settings), _logger(logger), _primary(settings.endpoint) {}

std::string PrimaryLocator::where() const {
    if (!viaSentinel()) return _settings.endpoint.url;
    {
        std::lock_guard<std::mutex> lock(_mutex);
        if (_known) return _primary.url;
    }
    std::string list;
    for (const auto& s : _settings.sentinels) list += (list.empty() ? "" : ",") + hostPort(s.host, s.port);
    return "the primary '" + _settings.masterName + "' of Sentinels " + list;
}

void PrimaryLocator::suspect() noexcept {
    if (!viaSentinel()) return;
    std::lock_guard<std::mutex> lock(_mutex);
    _stale = true;
}

void PrimaryLocator::demoted() noexcept {
    if (!viaSentinel()) return;
    std::lock_guard<std::mutex> lock(_mutex);
    _stale = true;
    _epoch.fetch_add(1);
}

void PrimaryLocator::recheck() noexcept {
    if (!viaSentinel()) return;
    try {
        std::lock_guard<std::mutex> lookup(_lookupMutex);
        suspect();
        lookUp();  // a failure leaves it stale: the next connect asks again
    } catch (...) {
    }
}

Result<std::unique_ptr<RedisConnection>> PrimaryLocator::open(int readTimeoutMs) {
    if (!viaSentinel()) return RedisConnection::open(_settings.endpoint, _settings.connectTimeoutMs, readTimeoutMs);
    bool stale = false;
    {
        std::lock_guard<std::mutex> lock(_mutex);
        stale = _stale || !_known;
    }
    if (stale) {
        std::lock_guard<std::mutex> lookup(_lookupMutex);
        Status st = lookUp();
        std::lock_guard<std::mutex> lock(_mutex);
        if (!st && !_known) return st;  // otherwise try the last primary known
    }
    RedisEndpoint target;
    uint64_t epoch = 0;
    {
        std::lock_guard<std::mutex> lock(_mutex);
        target = _primary;
        epoch = _epoch.load();
    }
    auto conn = RedisConnection::open(target, _settings.connectTimeoutMs, readTimeoutMs);
    if (!conn) {
        suspect();
        return conn.status();
    }
    if (Status st = checkMaster(*conn.value(), target); !st) {
        suspect();
        return st;
    }
    conn.value()->setEpoch(epoch);
    std::lock_guard<std::mutex> lookup(_lookupMutex);
    _backoff.reset();
    return conn;
}

Status PrimaryLocator::lookUp() {
    {
        std::lock_guard<std::mutex> lock(_mutex);
        if (_known && !_stale) return Status::ok();  // another thread asked while this one waited
    }
    const auto now = std::chrono::steady_clock::now();
    if (now < _nextLookup)
        return Status(StatusCode::Unavailable, _lastError.empty() ? "waiting to ask the Sentinels again" : _lastError);
    _nextLookup = now + std::chrono::milliseconds(_backoff.next());
    std::string errors;
    const size_t n = _settings.sentinels.size();
    const size_t first = _firstAsked++ % n;
    for (size_t k = 0; k < n; ++k) {
        auto primary = ask(_settings.sentinels[(first + k) % n]);
        if (primary) {
            adopt(primary.value());
            return Status::ok();
        }
        errors += (errors.empty() ? "" : "; ") + primary.status().message;
    }
    _lastError = "no Sentinel named the primary '" + _settings.masterName + "': " + errors;
    return Status(StatusCode::Unavailable, _lastError);
}

Result<RedisEndpoint> PrimaryLocator::ask(const SentinelAddress& sentinel) {
    const std::string name = "Sentinel " + hostPort(sentinel.host, sentinel.port);
    RedisEndpoint at;
    at.host = sentinel.host;
    at.port = sentinel.port;
    auto conn = RedisConnection::open(at, _settings.connectTimeoutMs, _settings.commandTimeoutMs);
    if (!conn) return Status(StatusCode::Unavailable, name + ": " + conn.status().message);
    auto reply = conn.value()->command({"SENTINEL", "get-master-addr-by-name", _settings.masterName});
    if (!reply) return Status(StatusCode::Unavailable, name + ": " + reply.status().message);
    const redisReply* r = reply.value().get();
    if (replyIsError(r)) return Status(StatusCode::Unavailable, name + " refused: " + replyString(r));
    const long long port = replyInteger(replyAt(r, 1), 0);
    if (replySize(r) != 2 || port < 1 || port > 65535)
        return Status(StatusCode::Unavailable, name + " does not monitor '" + _settings.masterName + "'");
    // url's password and database apply to whichever server is the primary.
    const RedisEndpoint& base = _settings.endpoint;
    std::string url = "redis://" + (base.password.empty() ? std::string() : ":" + base.password + "@") +
                      hostPort(replyString(replyAt(r, 0)), static_cast<int>(port)) +
                      (base.database ? "/" + std::to_string(base.database) : std::string());
    auto primary = parseRedisUrl(url);
    if (!primary) return Status(StatusCode::Unavailable, name + " named an unusable address: " + url);
    return primary;
}

Status PrimaryLocator::checkMaster(RedisConnection& connection, const RedisEndpoint& endpoint) {
    auto reply = connection.command({"ROLE"});
    if (!reply) return reply.status();
    const std::string role = replyString(replyAt(reply.value().get(), 0));
    if (role == "master") return Status::ok();
    return Status(StatusCode::Unavailable, hostPort(endpoint.host, endpoint.port) + " is a " +
                                               (role.empty() ? "server that does not answer ROLE" : role) +
                                               ", not the primary; asking the Sentinels again");
}

void PrimaryLocator::adopt(const RedisEndpoint& primary) {
    std::string was;
    bool first = false;
    bool moved = false;
    {
        std::lock_guard<std::mutex> lock(_mutex);
        first = !_known;
        moved = _known && (primary.host != _primary.host || primary.port != _primary.port);
        was = hostPort(_primary.host, _primary.port);
        _primary = primary;
        _known = true;
        _stale = false;
        if (moved) _epoch.fetch_add(1);
    }
    const std::string now = hostPort(primary.host, primary.port);
    if (moved) _logger.warn("transport-redis: primary is now " + now + " (was " + was + ")");
    if (first)
        _logger.info("transport-redis: Sentinel names " + now + " the primary of '" + _settings.masterName + "'");
}

}  // namespace ordersystem::plugins::redis
