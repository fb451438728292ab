// hiredis 0.14 synchronous connection wrapper.
#include "RedisConnection.h"

#include <hiredis/hiredis.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <sys/time.h>

namespace ordersystem::plugins::redis {

using sdk::Result;
using sdk::Status;
using sdk::StatusCode;

void ReplyDeleter::operator()(redisReply* reply) const noexcept { freeReplyObject(reply); }

bool replyIsError(const redisReply* r) noexcept { return r && r->type == REDIS_REPLY_ERROR; }
bool replyIsNil(const redisReply* r) noexcept { return !r || r->type == REDIS_REPLY_NIL; }
bool replyIsArray(const redisReply* r) noexcept { return r && r->type == REDIS_REPLY_ARRAY; }
size_t replySize(const redisReply* r) noexcept { return replyIsArray(r) ? r->elements : 0; }
const redisReply* replyAt(const redisReply* r, size_t i) noexcept {
    return (replyIsArray(r) && i < r->elements) ? r->element[i] : nullptr;
}

std::string replyString(const redisReply* r) {
    if (!r) return {};
    switch (r->type) {
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR: return std::string(r->str, r->len);
    case REDIS_REPLY_INTEGER: return std::to_string(r->integer);
    default: return {};
    }
}

long long replyInteger(const redisReply* r, long long fallback) noexcept {
    if (!r) return fallback;
    if (r->type == REDIS_REPLY_INTEGER) return r->integer;
    if (r->type == REDIS_REPLY_STRING && r->len > 0 && r->len < 21) {
        char buf[24];
        std::memcpy(buf, r->str, r->len);
        buf[r->len] = '\0';
        char* end = nullptr;
        errno = 0;
        long long v = std::strtoll(buf, &end, 10);
        if (errno == 0 && end && *end == '\0') return v;
    }
    return fallback;
}

namespace {
timeval toTimeval(int ms) {
    timeval tv;
    tv.tv_sec = ms / 1000;
    tv.tv_usec = (ms % 1000) * 1000;
    return tv;
}
}  // namespace

Result<std::unique_ptr<RedisConnection>> RedisConnection::open(const RedisEndpoint& endpoint, int connectTimeoutMs,
                                                                int commandTimeoutMs) {
    redisContext* c = redisConnectWithTimeout(endpoint.host.c_str(), endpoint.port, toTimeval(connectTimeoutMs));
    if (!c) return Status(StatusCode::Unavailable, "out of memory creating a Redis context");
    if (c->err) {
        std::string why = c->errstr;
        redisFree(c);
        return Status(StatusCode::Unavailable, why.empty() ? "connect failed" : why);
    }
    std::unique_ptr<RedisConnection> conn(new RedisConnection(c));
    // hiredis 0.14 keeps no command timeout of its own: set SO_RCVTIMEO/SO_SNDTIMEO on every connect.
    conn->setReadTimeout(commandTimeoutMs);
    redisEnableKeepAlive(c);
    if (!endpoint.password.empty()) {
        auto r = conn->command({"AUTH", endpoint.password});
        if (!r) return r.status();
        if (replyIsError(r.value().get()))
            return Status(StatusCode::Unavailable, "AUTH refused: " + replyString(r.value().get()));
    }
    if (endpoint.database != 0) {
        auto r = conn->command({"SELECT", std::to_string(endpoint.database)});
        if (!r) return r.status();
        if (replyIsError(r.value().get()))
            return Status(StatusCode::Unavailable, "SELECT refused: " + replyString(r.value().get()));
    }
    return conn;
}

RedisConnection::~RedisConnection() {
    if (_context) redisFree(_context);
}

void RedisConnection::setReadTimeout(int timeoutMs) {
    if (_context) redisSetTimeout(_context, toTimeval(timeoutMs));
}

Result<ReplyPtr> RedisConnection::command(const std::vector<std::string>& argv) {
    if (_broken || !_context) return Status(StatusCode::Unavailable, "connection already failed");
    std::vector<const char*> args;
    std::vector<size_t> lens;
    args.reserve(argv.size());
    lens.reserve(argv.size());
    for (const auto& a : argv) {
        args.push_back(a.data());
        lens.push_back(a.size());
    }
    errno = 0;
    void* raw = redisCommandArgv(_context, static_cast<int>(args.size()), args.data(), lens.data());
    if (!raw) {
        const int savedErrno = errno;
        _broken = true;
        std::string why = _context->errstr[0] ? _context->errstr : "no reply";
        if (_context->err == REDIS_ERR_IO && (savedErrno == EAGAIN || savedErrno == EWOULDBLOCK))
            return Status(StatusCode::Timeout, "no reply from Redis within the command timeout");
        if (_context->err == REDIS_ERR_EOF) why = "connection closed by Redis";
        return Status(StatusCode::Unavailable, why);
    }
    return ReplyPtr(static_cast<redisReply*>(raw));
}

Result<ReplyPtr> runScript(RedisConnection& connection, const LuaScript& script, const std::vector<std::string>& keys,
                           const std::vector<std::string>& args) {
    std::vector<std::string> argv;
    argv.reserve(3 + keys.size() + args.size());
    argv.push_back(script.sha.empty() ? "EVAL" : "EVALSHA");
    argv.push_back(script.sha.empty() ? script.body : script.sha);
    argv.push_back(std::to_string(keys.size()));
    argv.insert(argv.end(), keys.begin(), keys.end());
    argv.insert(argv.end(), args.begin(), args.end());
    auto reply = connection.command(argv);
    if (!reply || script.sha.empty()) return reply;
    const redisReply* r = reply.value().get();
    if (replyIsError(r) && replyString(r).rfind("NOSCRIPT", 0) == 0) {
        // The server lost its script cache (restart): EVAL sends the body and caches it again.
        argv[0] = "EVAL";
        argv[1] = script.body;
        return connection.command(argv);
    }
    return reply;
}

}  // namespace ordersystem::plugins::redis
