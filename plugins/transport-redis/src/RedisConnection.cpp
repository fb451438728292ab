// hiredis 0.14 synchronous connection wrapper.
#include "RedisConnection.h"

#include <hiredis/hiredis.h>

#include <sys/time.h>
#include <cerrno>
#include <cstdlib>
#include <cstring>

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

Status RedisConnection::failure(int savedErrno) {
    _broken = true;
    std::string why = _context->errstr[0] ? _context->errstr : "no reply";
    if (_context->err == REDIS_ERR_IO && (savedErrno == EAGAIN || savedErrno == EWOULDBLOCK))
        return Status(StatusCode::Timeout, "no reply from Redis within the command timeout");
    if (_context->err == REDIS_ERR_EOF) why = "connection closed by Redis";
    return Status(StatusCode::Unavailable, why);
}

Result<ReplyPtr> RedisConnection::command(const std::vector<std::string>& argv) {
    if (_broken || !_context) return Status(StatusCode::Unavailable, "connection already failed");
    CommandArgs view;
    view.args.reserve(argv.size());
    view.lens.reserve(argv.size());
    for (const auto& a : argv) view.add(a);
    errno = 0;
    void* raw = redisCommandArgv(_context, static_cast<int>(view.args.size()), view.args.data(), view.lens.data());
    if (!raw) return failure(errno);
    return ReplyPtr(static_cast<redisReply*>(raw));
}

Result<std::vector<ReplyPtr>> RedisConnection::pipeline(const std::vector<CommandArgs>& commands) {
    if (_broken || !_context) return Status(StatusCode::Unavailable, "connection already failed");
    for (const auto& view : commands) {
        // Only formats into the output buffer; the first redisGetReply below writes it all at once.
        // hiredis 0.14 takes a non-const argv array but only reads it.
        if (redisAppendCommandArgv(_context, static_cast<int>(view.args.size()),
                                   const_cast<const char**>(view.args.data()), view.lens.data()) != REDIS_OK)
            return failure(0);
    }
    std::vector<ReplyPtr> replies;
    replies.reserve(commands.size());
    for (size_t i = 0; i < commands.size(); ++i) {
        void* raw = nullptr;
        errno = 0;
        if (redisGetReply(_context, &raw) != REDIS_OK || !raw) return failure(errno);
        replies.emplace_back(static_cast<redisReply*>(raw));
    }
    return replies;
}

namespace {
std::vector<std::string> scriptArgv(const LuaScript& script, bool bySha, const std::vector<std::string>& keys,
                                    const std::vector<std::string>& args) {
    std::vector<std::string> argv;
    argv.reserve(3 + keys.size() + args.size());
    argv.push_back(bySha ? "EVALSHA" : "EVAL");
    argv.push_back(bySha ? script.sha : script.body);
    argv.push_back(std::to_string(keys.size()));
    argv.insert(argv.end(), keys.begin(), keys.end());
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
}

bool isNoScript(const redisReply* r) { return replyIsError(r) && replyString(r).rfind("NOSCRIPT", 0) == 0; }
}  // namespace

Result<ReplyPtr> runScript(RedisConnection& connection, const LuaScript& script, const std::vector<std::string>& keys,
                           const std::vector<std::string>& args) {
    auto reply = connection.command(scriptArgv(script, !script.sha.empty(), keys, args));
    if (!reply || script.sha.empty()) return reply;
    // The server lost its script cache (restart): EVAL sends the body and caches it again.
    if (isNoScript(reply.value().get())) return connection.command(scriptArgv(script, false, keys, args));
    return reply;
}

Result<int> waitForReplicas(RedisConnection& connection, int replicas, int timeoutMs) {
    // WAIT answers at its own timeout: the socket must wait longer than that for the reply.
    connection.setReadTimeout(2 * timeoutMs);
    auto reply = connection.command({"WAIT", std::to_string(replicas), std::to_string(timeoutMs)});
    connection.setReadTimeout(timeoutMs);
    if (!reply) return reply.status();
    return static_cast<int>(replyInteger(reply.value().get(), kNotWaited));
}

bool replyIsReadOnly(const redisReply* r) {
    if (!replyIsError(r)) return false;
    // A script that met READONLY may wrap it ("ERR ... READONLY You can't write ..."): look near the start.
    return replyString(r).substr(0, 80).find("READONLY") != std::string::npos;
}

Result<std::vector<ReplyPtr>> runScripts(RedisConnection& connection, const LuaScript& script,
                                         const std::vector<ScriptCall>& calls, ReplicaWait wait, int* acked) {
    const bool bySha = !script.sha.empty();
    const bool waits = wait.replicas > 0;
    if (acked) *acked = kNotWaited;
    // Sized up front: the views below point into these strings, so they must never move.
    std::vector<std::string> keyCounts(calls.size());
    std::vector<CommandArgs> commands(calls.size() + (waits ? 1 : 0));
    const std::string waitReplicas = std::to_string(wait.replicas), waitTimeout = std::to_string(wait.timeoutMs);
    if (waits) {
        CommandArgs& w = commands.back();
        w.add("WAIT");
        w.add(waitReplicas);
        w.add(waitTimeout);
        connection.setReadTimeout(2 * wait.timeoutMs);  // WAIT answers at its own timeout
    }
    for (size_t i = 0; i < calls.size(); ++i) {
        const ScriptCall& call = calls[i];
        keyCounts[i] = std::to_string(call.keys->size());
        CommandArgs& c = commands[i];
        c.args.reserve(3 + call.keys->size() + call.args->size());
        c.lens.reserve(c.args.capacity());
        c.add(bySha ? "EVALSHA" : "EVAL");
        c.add(bySha ? script.sha : script.body);
        c.add(keyCounts[i]);
        for (const auto& k : *call.keys) c.add(k);
        for (const auto& a : *call.args) c.add(a);
    }
    auto replies = connection.pipeline(commands);
    if (waits) connection.setReadTimeout(wait.timeoutMs);
    if (!replies) return replies;
    if (waits) {
        if (acked) *acked = static_cast<int>(replyInteger(replies.value().back().get(), kNotWaited));
        replies.value().pop_back();
    }
    if (script.sha.empty()) return replies;
    bool reran = false;
    for (size_t i = 0; i < calls.size(); ++i) {
        if (!isNoScript(replies.value()[i].get())) continue;
        auto again = connection.command(scriptArgv(script, false, *calls[i].keys, *calls[i].args));
        if (!again) return again.status();
        replies.value()[i] = std::move(again.value());
        reran = true;
    }
    // A new primary has no script cache: the runs repeated with EVAL wrote after the first WAIT.
    if (waits && reran) {
        auto seen = waitForReplicas(connection, wait.replicas, wait.timeoutMs);
        if (!seen) return seen.status();
        if (acked) *acked = seen.value();
    }
    return replies;
}

}  // namespace ordersystem::plugins::redis
