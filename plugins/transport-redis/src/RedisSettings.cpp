// [transport.redis] keys and the redis:// URL parser.
#include "RedisSettings.h"

#include <cctype>
#include <cstdlib>
#include <string_view>

namespace ordersystem::plugins::redis {

using sdk::ConfigKeySpec;
using sdk::ConfigType;
using sdk::Result;
using sdk::Status;
using sdk::StatusCode;

namespace {

const ConfigKeySpec kKeys[] = {
    {"url", ConfigType::String, "redis://127.0.0.1:6379",
     "Redis server as redis://[:password@]host[:port][/db] (IPv6 host in [ ]); run it with appendonly yes, or "
     "acknowledged events can be lost"},
    {"sentinels", ConfigType::String, "",
     "host:port,host:port,... of Redis Sentinels: the node asks them for the primary of master_name, follows its "
     "failovers and never writes to a replica; url then only gives the password and database"},
    {"master_name", ConfigType::String, "ordersystem", "the name the Sentinels monitor the primary under"},
    {"min_replicas_ack", ConfigType::Int, "0",
     "replicas that must confirm every append, id block and idempotency record (WAIT) before it is acknowledged, "
     "otherwise 503 (0..16); 0: Redis's asynchronous replication can lose acknowledged writes in a failover"},
    {"key_prefix", ConfigType::String, "ordersystem",
     "prefix of every Redis key; all nodes of one system use the same one, another prefix is another system on the "
     "same server (no spaces)"},
    {"connect_timeout_ms", ConfigType::Int, "1000", "milliseconds a TCP connect to Redis may take (10..60000)"},
    {"command_timeout_ms", ConfigType::Int, "2000",
     "milliseconds a Redis command may take; then it fails and the request gets 503 (10..60000)"},
    {"pool_size", ConfigType::Int, "8", "Redis connections this node keeps for its requests and appends (1..256)"},
    {"append_pipelines", ConfigType::Int, "2",
     "append batches pipelined to Redis at once, each on one pooled connection and thread (1..256, at most "
     "pool_size)"},
    {"order_id_block", ConfigType::Int, "100",
     "order ids a node reserves per INCRBY (1..1000000); ids left when it stops are skipped, never reused"},
    {"heartbeat_interval_ms", ConfigType::Int, "2000",
     "milliseconds between this node's membership heartbeats (50..600000, below node_ttl_ms)"},
    {"node_ttl_ms", ConfigType::Int, "10000",
     "milliseconds of silence after which a node leaves /api/cluster/nodes (100..3600000, above "
     "heartbeat_interval_ms)"},
    {"read_batch", ConfigType::Int, "500",
     "events fetched per read when a read model projects or catches up (1..100000)"},
    {"block_ms", ConfigType::Int, "200",
     "longest blocking read in milliseconds while waiting for new events (1..10000); bounds how long stopping takes"},
    {"reaction_workers", ConfigType::Int, "2", "delivery threads per reaction (the webhook) on this node (1..64)"},
    {"reaction_max_deliveries", ConfigType::Int, "25",
     "for a reaction without a retry schedule of its own (the webhook uses [notifications] max_attempts): "
     "deliveries of one event, the first included, before it becomes a dead letter (1..1000000)"},
    {"reaction_claim_idle_ms", ConfigType::Int, "15000",
     "milliseconds after which another node takes over the deliveries a silent node left pending (10..86400000)"},
    {"reaction_retry_ms", ConfigType::Int, "1000",
     "for a reaction without a retry schedule of its own (the webhook uses [notifications] retry_initial_ms): milliseconds before an event a reaction failed is delivered again; doubles per failure up to "
     "reaction_retry_max_ms (1..3600000)"},
    {"reaction_retry_max_ms", ConfigType::Int, "10000",
     "for a reaction without a retry schedule of its own (the webhook uses [notifications] retry_max_ms): longest pause in milliseconds between deliveries of one event (1..86400000)"},
    {"stream_maxlen", ConfigType::Int, "0",
     "0: keep the whole stream, it is the event log | N: trim it to about N entries, losing the history new nodes "
     "and rebuilt read models need"},
};

Status badKey(std::string_view key, std::string_view why) {
    return Status(StatusCode::InvalidConfig, "transport.redis." + std::string(key) + ": " + std::string(why));
}

bool allDigits(std::string_view s) {
    if (s.empty()) return false;
    for (char c : s)
        if (!std::isdigit(static_cast<unsigned char>(c))) return false;
    return true;
}

const char* declaredDefault(std::string_view key) {
    for (const auto& k : kKeys)
        if (key == k.name) return k.defaultValue;
    return "";
}

std::string valueOf(const sdk::ConfigSection& section, std::string_view key) {
    std::string v = section.getString(key);
    return v.empty() ? std::string(declaredDefault(key)) : v;
}

/// Reads an integer key and checks it lies within [lo, hi].
Status readInt(const sdk::ConfigSection& section, std::string_view key, int64_t lo, int64_t hi, int64_t& out) {
    const std::string text = valueOf(section, key);
    std::string_view digits(text);
    bool negative = !digits.empty() && digits.front() == '-';
    if (negative) digits.remove_prefix(1);
    if (!allDigits(digits) || digits.size() > 18) return badKey(key, "'" + text + "' is not an integer");
    int64_t v = std::strtoll(text.c_str(), nullptr, 10);
    if (v < lo || v > hi)
        return badKey(key, std::to_string(v) + " is out of range " + std::to_string(lo) + ".." + std::to_string(hi));
    out = v;
    return Status::ok();
}

}  // namespace

Result<RedisEndpoint> parseRedisUrl(const std::string& url) {
    const std::string_view scheme = "redis://";
    if (url.compare(0, scheme.size(), scheme) != 0)
        return badKey("url", "'" + url + "' must start with redis:// (e.g. redis://127.0.0.1:6379)");
    RedisEndpoint ep;
    std::string_view rest(url);
    rest.remove_prefix(scheme.size());
    std::string_view path;
    if (auto slash = rest.find('/'); slash != std::string_view::npos) {
        path = rest.substr(slash + 1);
        rest = rest.substr(0, slash);
    }
    if (auto at = rest.rfind('@'); at != std::string_view::npos) {
        std::string_view userInfo = rest.substr(0, at);
        rest = rest.substr(at + 1);
        // redis://:password@host and redis://user:password@host (the user is ignored: no ACL users in 0.14's AUTH).
        auto colon = userInfo.find(':');
        ep.password = std::string(colon == std::string_view::npos ? userInfo : userInfo.substr(colon + 1));
    }
    std::string_view hostPart = rest;
    std::string_view portPart;
    if (!rest.empty() && rest.front() == '[') {
        auto close = rest.find(']');
        if (close == std::string_view::npos) return badKey("url", "'" + url + "' has an unterminated [IPv6] host");
        hostPart = rest.substr(1, close - 1);
        std::string_view after = rest.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') return badKey("url", "'" + url + "' has text after the host");
            portPart = after.substr(1);
            if (portPart.empty()) return badKey("url", "'" + url + "' has an empty port");
        }
    } else if (auto colon = rest.rfind(':'); colon != std::string_view::npos) {
        hostPart = rest.substr(0, colon);
        portPart = rest.substr(colon + 1);
        if (portPart.empty()) return badKey("url", "'" + url + "' has an empty port");
    }
    if (hostPart.empty()) return badKey("url", "'" + url + "' has no host");
    for (char c : hostPart)
        if (std::isspace(static_cast<unsigned char>(c)) || c == '?' || c == '#')
            return badKey("url", "'" + url + "' has an invalid host");
    ep.host = std::string(hostPart);
    if (!portPart.empty()) {
        if (!allDigits(portPart) || portPart.size() > 5) return badKey("url", "'" + url + "' has an invalid port");
        int port = std::atoi(std::string(portPart).c_str());
        if (port < 1 || port > 65535) return badKey("url", "'" + url + "' has a port outside 1..65535");
        ep.port = port;
    }
    if (!path.empty()) {
        if (!allDigits(path) || path.size() > 5) return badKey("url", "'" + url + "' path must be a database number");
        ep.database = std::atoi(std::string(path).c_str());
    }
    ep.url = "redis://" + std::string(ep.password.empty() ? "" : ":***@") +
             (ep.host.find(':') != std::string::npos ? "[" + ep.host + "]" : ep.host) + ":" + std::to_string(ep.port) +
             (ep.database ? "/" + std::to_string(ep.database) : "");
    return ep;
}

Result<std::vector<SentinelAddress>> parseSentinels(const std::string& list) {
    std::vector<SentinelAddress> out;
    std::string_view rest(list);
    while (!rest.empty()) {
        const auto comma = rest.find(',');
        std::string_view item = rest.substr(0, comma);
        rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
        while (!item.empty() && std::isspace(static_cast<unsigned char>(item.front()))) item.remove_prefix(1);
        while (!item.empty() && std::isspace(static_cast<unsigned char>(item.back()))) item.remove_suffix(1);
        if (item.empty()) continue;
        SentinelAddress a;
        std::string_view host = item;
        if (auto colon = item.rfind(':'); colon != std::string_view::npos) {
            host = item.substr(0, colon);
            std::string_view port = item.substr(colon + 1);
            if (!allDigits(port) || port.size() > 5 || std::atoi(std::string(port).c_str()) < 1 ||
                std::atoi(std::string(port).c_str()) > 65535)
                return badKey("sentinels", "'" + std::string(item) + "' has an invalid port");
            a.port = std::atoi(std::string(port).c_str());
        }
        if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
        if (host.empty()) return badKey("sentinels", "'" + std::string(item) + "' has no host");
        for (char c : host)
            if (std::isspace(static_cast<unsigned char>(c)) || c == '/' || c == '@')
                return badKey("sentinels", "'" + std::string(item) + "' is not host:port");
        a.host = std::string(host);
        out.push_back(std::move(a));
    }
    return out;
}

const ConfigKeySpec* redisConfigKeys() noexcept { return kKeys; }
uint32_t redisConfigKeyCount() noexcept { return static_cast<uint32_t>(sizeof(kKeys) / sizeof(kKeys[0])); }

Result<RedisSettings> parseRedisSettings(const sdk::ConfigSection& section) {
    RedisSettings s;
    auto endpoint = parseRedisUrl(valueOf(section, "url"));
    if (!endpoint) return endpoint.status();
    s.endpoint = endpoint.value();
    auto sentinels = parseSentinels(section.getString("sentinels"));
    if (!sentinels) return sentinels.status();
    s.sentinels = std::move(sentinels.value());
    s.masterName = valueOf(section, "master_name");
    for (char c : s.masterName)
        if (std::isspace(static_cast<unsigned char>(c)) || std::iscntrl(static_cast<unsigned char>(c)))
            return badKey("master_name", "'" + s.masterName + "' must not contain spaces or control characters");
    s.keyPrefix = valueOf(section, "key_prefix");
    for (char c : s.keyPrefix)
        if (std::isspace(static_cast<unsigned char>(c)) || std::iscntrl(static_cast<unsigned char>(c)))
            return badKey("key_prefix", "'" + s.keyPrefix + "' must not contain spaces or control characters");

    struct IntKey {
        const char* name;
        int64_t lo, hi;
        int* out;
    };
    const IntKey ints[] = {
        {"connect_timeout_ms", 10, 60000, &s.connectTimeoutMs},
        {"command_timeout_ms", 10, 60000, &s.commandTimeoutMs},
        {"pool_size", 1, 256, &s.poolSize},
        {"append_pipelines", 1, 256, &s.appendPipelines},
        {"order_id_block", 1, 1000000, &s.orderIdBlock},
        {"heartbeat_interval_ms", 50, 600000, &s.heartbeatIntervalMs},
        {"node_ttl_ms", 100, 3600000, &s.nodeTtlMs},
        {"read_batch", 1, 100000, &s.readBatch},
        {"block_ms", 1, 10000, &s.blockMs},
        {"reaction_workers", 1, 64, &s.reactionWorkers},
        {"reaction_max_deliveries", 1, 1000000, &s.reactionMaxDeliveries},
        {"reaction_claim_idle_ms", 10, 86400000, &s.reactionClaimIdleMs},
        {"reaction_retry_ms", 1, 3600000, &s.reactionRetryMs},
        {"reaction_retry_max_ms", 1, 86400000, &s.reactionRetryMaxMs},
        {"min_replicas_ack", 0, 16, &s.minReplicasAck},
    };
    for (const auto& k : ints) {
        int64_t v = 0;
        if (Status st = readInt(section, k.name, k.lo, k.hi, v); !st) return st;
        *k.out = static_cast<int>(v);
    }
    if (Status st = readInt(section, "stream_maxlen", 0, INT64_MAX / 2, s.streamMaxLen); !st) return st;
    if (s.nodeTtlMs <= s.heartbeatIntervalMs)
        return badKey("node_ttl_ms", std::to_string(s.nodeTtlMs) + " must exceed heartbeat_interval_ms (" +
                                         std::to_string(s.heartbeatIntervalMs) + ")");
    // Appends must leave pooled connections for the other commands only when there are several.
    if (s.appendPipelines > s.poolSize) s.appendPipelines = s.poolSize;
    if (s.reactionRetryMaxMs < s.reactionRetryMs) s.reactionRetryMaxMs = s.reactionRetryMs;
    return s;
}

}  // namespace ordersystem::plugins::redis
