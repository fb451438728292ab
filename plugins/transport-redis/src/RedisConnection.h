// Contract: one synchronous hiredis 0.14 connection. Not thread-safe: exactly one thread uses a
// RedisConnection at a time (the pool hands it out under a mutex; reader threads own theirs).
// hiredis 0.14 kills the context on any I/O error, so after a non-Ok command() the connection is
// broken() and must be dropped; open a new one. Server error replies (e.g. BUSYGROUP, NOSCRIPT)
// are NOT connection errors: they come back as a reply of type REDIS_REPLY_ERROR.
// The command timeout is re-applied after every connect (0.14 does not remember it).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "RedisSettings.h"
#include "ordersystem/sdk/status.h"

struct redisContext;
struct redisReply;

namespace ordersystem::plugins::redis {

struct ReplyDeleter {
    void operator()(redisReply* reply) const noexcept;
};
/// An owned hiredis reply.
using ReplyPtr = std::unique_ptr<redisReply, ReplyDeleter>;

/// Read-only helpers over a reply tree (null-safe).
bool replyIsError(const redisReply* r) noexcept;
bool replyIsNil(const redisReply* r) noexcept;
bool replyIsArray(const redisReply* r) noexcept;
size_t replySize(const redisReply* r) noexcept;
const redisReply* replyAt(const redisReply* r, size_t i) noexcept;
/// String, status or error text; integers are formatted; nil is "".
std::string replyString(const redisReply* r);
/// Integer replies, or strings holding an integer; fallback otherwise.
long long replyInteger(const redisReply* r, long long fallback = 0) noexcept;

/// One command's arguments as views of strings that outlive the call (nothing is copied).
struct CommandArgs {
    std::vector<const char*> args;
    std::vector<size_t> lens;
    void add(std::string_view a) {
        args.push_back(a.data());
        lens.push_back(a.size());
    }
};

class RedisConnection {
public:
    /// Connects, applies the command timeout, AUTHs and SELECTs. Unavailable with the reason
    /// (refused, timeout, auth error) when that fails.
    static sdk::Result<std::unique_ptr<RedisConnection>> open(const RedisEndpoint& endpoint, int connectTimeoutMs,
                                                              int commandTimeoutMs);
    ~RedisConnection();
    RedisConnection(const RedisConnection&) = delete;
    RedisConnection& operator=(const RedisConnection&) = delete;

    /// Sends argv and waits for the reply. Ok with the reply (possibly an error reply), or
    /// Unavailable (connection lost) / Timeout (no answer within the command timeout).
    sdk::Result<ReplyPtr> command(const std::vector<std::string>& argv);
    /// Sends every command in one write, then reads their replies in order (one reply per
    /// command, error replies included). A connection failure fails the whole call as command()
    /// does; commands before the failure may have been executed.
    sdk::Result<std::vector<ReplyPtr>> pipeline(const std::vector<CommandArgs>& commands);
    /// Changes the socket read timeout, e.g. longer than a BLOCK read.
    void setReadTimeout(int timeoutMs);
    bool broken() const noexcept { return _broken; }
    /// The PrimaryLocator epoch it was opened under (its owner drops it once the primary moved).
    uint64_t epoch() const noexcept { return _epoch; }
    void setEpoch(uint64_t epoch) noexcept { _epoch = epoch; }

private:
    explicit RedisConnection(redisContext* context) : _context(context) {}
    /// Marks the connection broken and names why the last I/O failed (Timeout or Unavailable).
    sdk::Status failure(int savedErrno);
    redisContext* _context;
    bool _broken = false;
    uint64_t _epoch = 0;
};

/// How many replicas a WAIT saw; -1 when it was not asked (0 replicas wanted) or its reply was not a count.
constexpr int kNotWaited = -1;

/// Sends WAIT replicas timeoutMs on connection (reading its reply with room beyond timeoutMs);
/// the replicas that confirmed every write this connection made so far.
sdk::Result<int> waitForReplicas(RedisConnection& connection, int replicas, int timeoutMs);

/// Whether r is the error a replica answers to a write (READONLY, also when a script met it).
bool replyIsReadOnly(const redisReply* r);

/// A Lua script run with EVALSHA, falling back to EVAL when the server lost its script cache.
struct LuaScript {
    std::string name;  ///< for errors, e.g. "append"
    std::string body;
    std::string sha;  ///< filled by SCRIPT LOAD at start (empty: EVAL directly)
};

/// Runs script on connection; error replies other than NOSCRIPT are returned as replies.
sdk::Result<ReplyPtr> runScript(RedisConnection& connection, const LuaScript& script,
                                const std::vector<std::string>& keys, const std::vector<std::string>& args);

/// One run of a script inside a pipelined batch (the vectors outlive the call).
struct ScriptCall {
    const std::vector<std::string>* keys = nullptr;
    const std::vector<std::string>* args = nullptr;
};

/// Replicas a batch must reach: WAIT replicas timeoutMs after its writes (replicas 0: none).
struct ReplicaWait {
    int replicas = 0;
    int timeoutMs = 0;
};

/// Runs every call of script pipelined on connection (one write, one reply per call, in order);
/// a NOSCRIPT reply is re-run alone with EVAL. With wait.replicas > 0 a WAIT follows in the same
/// pipeline (again after any re-run) and *acked is what it saw.
sdk::Result<std::vector<ReplyPtr>> runScripts(RedisConnection& connection, const LuaScript& script,
                                              const std::vector<ScriptCall>& calls, ReplicaWait wait = {},
                                              int* acked = nullptr);

}  // namespace ordersystem::plugins::redis
