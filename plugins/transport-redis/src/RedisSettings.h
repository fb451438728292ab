// Contract: the [transport.redis] section parsed once, in the plugin's create() (which also runs
// for --check-config). Pure functions over standard types; no I/O. Errors are InvalidConfig
// Statuses whose message names the offending key (e.g. "transport.redis.url: ...").
// The resulting values are immutable and shared read-only by every thread of the transport.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ordersystem/sdk/config.h"
#include "ordersystem/sdk/status.h"

namespace ordersystem::plugins::redis {

/// Where Redis listens, parsed from redis://[:password@]host[:port][/db].
struct RedisEndpoint {
    std::string host = "127.0.0.1";
    int port = 6379;
    std::string password;  ///< empty: no AUTH
    int database = 0;      ///< SELECT after connect when not 0
    std::string url;       ///< as configured, with any password masked, for logs and errors
};

/// Parses a redis:// URL; InvalidConfig naming transport.redis.url on anything malformed.
sdk::Result<RedisEndpoint> parseRedisUrl(const std::string& url);

/// One Sentinel's address.
struct SentinelAddress {
    std::string host;
    int port = 26379;
};

/// Parses "host:port,host:port,..." (port 26379 when left out); InvalidConfig naming transport.redis.sentinels.
sdk::Result<std::vector<SentinelAddress>> parseSentinels(const std::string& list);

struct RedisSettings {
    /// The server; with sentinels only its password and database are used.
    RedisEndpoint endpoint;
    /// Empty: endpoint is the server. Otherwise the primary is whatever these name for masterName.
    std::vector<SentinelAddress> sentinels;
    std::string masterName = "ordersystem";
    /// Replicas that must confirm (WAIT) a write before it is acknowledged; 0: no WAIT.
    int minReplicasAck = 0;
    std::string keyPrefix = "ordersystem";
    int connectTimeoutMs = 1000;
    int commandTimeoutMs = 2000;
    int poolSize = 8;
    /// Append batches pipelined at once; each holds one pooled connection (<= poolSize).
    int appendPipelines = 2;
    /// Ids reserved per INCRBY; a node's unused ids are skipped when it stops (gaps, never reuse).
    int orderIdBlock = 100;
    int heartbeatIntervalMs = 2000;
    int nodeTtlMs = 10000;
    int readBatch = 500;
    int blockMs = 200;
    int reactionWorkers = 2;
    int reactionMaxDeliveries = 25;
    int reactionClaimIdleMs = 15000;
    int reactionRetryMs = 1000;
    int reactionRetryMaxMs = 10000;
    int64_t streamMaxLen = 0;
    int idempotencyTtlSeconds = 86400;
};

/// The section's declared keys (names, types, defaults, help) for the plugin descriptor.
const sdk::ConfigKeySpec* redisConfigKeys() noexcept;
uint32_t redisConfigKeyCount() noexcept;

/// Reads every declared key (an empty value falls back to the declared default) and checks ranges.
sdk::Result<RedisSettings> parseRedisSettings(const sdk::ConfigSection& section);

}  // namespace ordersystem::plugins::redis
