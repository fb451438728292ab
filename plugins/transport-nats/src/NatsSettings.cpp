// Parsing and validation of [transport.nats]; see NatsSettings.h.
#include "NatsSettings.h"

#include <cctype>
#include <vector>

namespace ordersystem::plugins::nats {

namespace {

const sdk::ConfigKeySpec kKeys[] = {
    {"url", sdk::ConfigType::String, "nats://127.0.0.1:4222",
     "NATS server as nats://[user:pass@]host:port or tls://..., or several of one cluster separated by commas (the "
     "node connects to any and moves to another when one is lost); JetStream must be enabled"},
    {"stream", sdk::ConfigType::String, "ORDERS",
     "JetStream stream of the event log, created if missing; the id and dead-letter streams and the KV buckets are "
     "named after it (1-64 of A-Z a-z 0-9 _ -)"},
    {"subject_prefix", sdk::ConfigType::String, "orders.events",
     "an order's events are published to <subject_prefix>.<orderId> (a plain subject, no wildcards)"},
    {"deadletter_prefix", sdk::ConfigType::String, "orders.deadletter",
     "events a reaction gave up on go to <deadletter_prefix>.<reaction>; must not overlap subject_prefix"},
    {"id_subject", sdk::ConfigType::String, "orders.ids",
     "publishing here reserves a block of order ids (its stream sequence counts the blocks); must not overlap the "
     "other two subjects"},
    {"stream_replicas", sdk::ConfigType::Int, "1",
     "JetStream replicas of every stream and KV bucket (1..5); 3 on a three-server NATS cluster, so one server can "
     "be lost"},
    {"connect_timeout_ms", sdk::ConfigType::Int, "2000",
     "milliseconds the first connection at start may take; an unreachable server stops the start (50..600000)"},
    {"request_timeout_ms", sdk::ConfigType::Int, "2000",
     "milliseconds one publish or JetStream request may take before it fails and the request gets 503 (50..600000)"},
    {"append_timeout_ms", sdk::ConfigType::Int, "0",
     "milliseconds an append keeps publishing again (same event id and version check, so it is stored once) while "
     "the stream has no leader or the node moves to another server, then 503; 0: 10000 when stream_replicas > 1 "
     "(longer than a leader election), else request_timeout_ms (0 or request_timeout_ms..60000)"},
    {"reconnect_wait_ms", sdk::ConfigType::Int, "250",
     "milliseconds between reconnect attempts after the connection is lost; reconnects never give up (10..60000)"},
    {"heartbeat_interval_ms", sdk::ConfigType::Int, "2000",
     "milliseconds between refreshes of this node's membership entry (50..600000, below node_ttl_ms)"},
    {"node_ttl_ms", sdk::ConfigType::Int, "10000",
     "milliseconds of silence after which a node leaves /api/cluster/nodes (100..3600000, above "
     "heartbeat_interval_ms)"},
    {"reaction_ack_wait_ms", sdk::ConfigType::Int, "30000",
     "milliseconds a delivery may run before JetStream hands the event to a reaction again, on any node "
     "(200..3600000); keep it above [notifications] timeout_ms"},
    {"reaction_max_deliveries", sdk::ConfigType::Int, "25",
     "for a reaction without a retry schedule of its own (the webhook uses [notifications] max_attempts): "
     "deliveries of one event, the first included, before it becomes a dead letter (1..10000)"},
    {"reaction_workers", sdk::ConfigType::Int, "2", "delivery threads per reaction (the webhook) on this node (1..64)"},
    {"reaction_retry_base_ms", sdk::ConfigType::Int, "500",
     "for a reaction without a retry schedule of its own (the webhook uses [notifications] retry_initial_ms): milliseconds before an event a reaction failed is delivered again; doubles per failure up to "
     "reaction_retry_max_ms (1..3600000)"},
    {"reaction_retry_max_ms", sdk::ConfigType::Int, "30000",
     "for a reaction without a retry schedule of its own (the webhook uses [notifications] retry_max_ms): longest pause in milliseconds between deliveries of one event (1..3600000)"},
    {"projection_batch", sdk::ConfigType::Int, "256", "most events a read model applies in one transaction (1..10000)"},
};

sdk::Status invalid(const std::string& key, const std::string& why) {
    return sdk::Status(sdk::StatusCode::InvalidConfig, "transport.nats." + key + ": " + why);
}

/// NATS subject tokens: non-empty, no whitespace, no wildcards.
bool validSubject(const std::string& subject) {
    if (subject.empty() || subject.front() == '.' || subject.back() == '.') return false;
    char prev = 0;
    for (char c : subject) {
        if (std::isspace(static_cast<unsigned char>(c)) || c == '*' || c == '>' || c == '$') return false;
        if (c == '.' && prev == '.') return false;
        prev = c;
    }
    return true;
}

bool validStreamName(const std::string& name) {
    if (name.empty() || name.size() > 64) return false;
    for (char c : name)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-')) return false;
    return true;
}

/// "a.b" is inside "a.>" when it starts with "a." (or equals "a").
bool insidePrefix(const std::string& subject, const std::string& prefix) {
    return subject == prefix || subject.rfind(prefix + ".", 0) == 0 || prefix.rfind(subject + ".", 0) == 0;
}

sdk::Status checkUrl(const std::string& url) {
    if (url.empty()) return invalid("url", "has an empty entry (servers are separated by single commas)");
    std::string rest;
    for (const char* scheme : {"nats://", "tls://"}) {
        const std::string s(scheme);
        if (url.rfind(s, 0) == 0) rest = url.substr(s.size());
    }
    if (rest.empty()) return invalid("url", "'" + url + "' is not a nats://host:port URL");
    const auto at = rest.rfind('@');
    if (at != std::string::npos) rest = rest.substr(at + 1);
    const auto colon = rest.rfind(':');
    const std::string host = colon == std::string::npos ? rest : rest.substr(0, colon);
    if (host.empty() || host.find('/') != std::string::npos || host.find(' ') != std::string::npos)
        return invalid("url", "'" + url + "' has no valid host");
    if (colon != std::string::npos) {
        const std::string port = rest.substr(colon + 1);
        if (port.empty() || port.size() > 5) return invalid("url", "'" + url + "' has no valid port");
        for (char c : port)
            if (!std::isdigit(static_cast<unsigned char>(c))) return invalid("url", "'" + url + "' has no valid port");
        const long p = std::stol(port);
        if (p < 1 || p > 65535) return invalid("url", "'" + url + "' has a port outside 1-65535");
    }
    return sdk::Status::ok();
}

std::string trimmed(const std::string& text) {
    const auto first = text.find_first_not_of(" \t");
    if (first == std::string::npos) return {};
    return text.substr(first, text.find_last_not_of(" \t") - first + 1);
}

/// The comma-separated list of url, each entry checked; the bad one is named.
sdk::Status readServers(Settings* s) {
    s->servers.clear();
    size_t from = 0;
    while (true) {
        const auto comma = s->url.find(',', from);
        s->servers.push_back(
            trimmed(s->url.substr(from, comma == std::string::npos ? std::string::npos : comma - from)));
        if (auto st = checkUrl(s->servers.back()); !st) return st;
        if (comma == std::string::npos) return sdk::Status::ok();
        from = comma + 1;
    }
}

}  // namespace

const sdk::ConfigKeySpec* configKeys() noexcept { return kKeys; }
uint32_t configKeyCount() noexcept { return static_cast<uint32_t>(sizeof kKeys / sizeof kKeys[0]); }

std::string safeName(const std::string& text) {
    std::string out = text;
    for (char& c : out)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-')) c = '_';
    if (out.empty()) out = "_";
    return out;
}

sdk::Result<Settings> readSettings(const sdk::ConfigSection& config) {
    Settings s;
    s.url = config.getString("url");
    s.stream = config.getString("stream");
    s.subjectPrefix = config.getString("subject_prefix");
    s.deadLetterPrefix = config.getString("deadletter_prefix");
    s.idSubject = config.getString("id_subject");
    if (auto st = readServers(&s); !st) return st;
    if (!validStreamName(s.stream)) return invalid("stream", "'" + s.stream + "' must be 1-64 of A-Z a-z 0-9 _ -");
    if (!validSubject(s.subjectPrefix))
        return invalid("subject_prefix", "'" + s.subjectPrefix + "' is not a plain NATS subject");
    if (!validSubject(s.deadLetterPrefix))
        return invalid("deadletter_prefix", "'" + s.deadLetterPrefix + "' is not a plain NATS subject");
    if (!validSubject(s.idSubject)) return invalid("id_subject", "'" + s.idSubject + "' is not a plain NATS subject");
    if (insidePrefix(s.deadLetterPrefix, s.subjectPrefix))
        return invalid("deadletter_prefix", "must not overlap subject_prefix '" + s.subjectPrefix + "'");
    if (insidePrefix(s.idSubject, s.subjectPrefix) || insidePrefix(s.idSubject, s.deadLetterPrefix))
        return invalid("id_subject", "must not overlap subject_prefix or deadletter_prefix");

    struct IntKey {
        const char* name;
        int64_t* target;
        int64_t min;
        int64_t max;
    };
    const std::vector<IntKey> ints = {
        {"stream_replicas", &s.streamReplicas, 1, 5},
        {"connect_timeout_ms", &s.connectTimeoutMs, 50, 600000},
        {"request_timeout_ms", &s.requestTimeoutMs, 50, 600000},
        {"append_timeout_ms", &s.appendTimeoutMs, 0, 60000},
        {"reconnect_wait_ms", &s.reconnectWaitMs, 10, 60000},
        {"heartbeat_interval_ms", &s.heartbeatIntervalMs, 50, 600000},
        {"node_ttl_ms", &s.nodeTtlMs, 100, 3600000},
        {"reaction_ack_wait_ms", &s.reactionAckWaitMs, 200, 3600000},
        {"reaction_max_deliveries", &s.reactionMaxDeliveries, 1, 10000},
        {"reaction_workers", &s.reactionWorkers, 1, 64},
        {"reaction_retry_base_ms", &s.reactionRetryBaseMs, 1, 3600000},
        {"reaction_retry_max_ms", &s.reactionRetryMaxMs, 1, 3600000},
        {"projection_batch", &s.projectionBatch, 1, 10000},
    };
    for (const auto& k : ints) {
        const int64_t v = config.getInt(k.name);
        if (v < k.min || v > k.max)
            return invalid(k.name,
                           std::to_string(v) + " is outside " + std::to_string(k.min) + "-" + std::to_string(k.max));
        *k.target = v;
    }
    if (s.appendTimeoutMs == 0)
        s.appendTimeoutMs = s.streamReplicas > 1 ? kReplicatedAppendTimeoutMs : s.requestTimeoutMs;
    if (s.appendTimeoutMs < s.requestTimeoutMs)
        return invalid("append_timeout_ms",
                       "must be 0 or at least request_timeout_ms (" + std::to_string(s.requestTimeoutMs) + ")");
    if (s.nodeTtlMs <= s.heartbeatIntervalMs)
        return invalid("node_ttl_ms",
                       "must be longer than heartbeat_interval_ms (" + std::to_string(s.heartbeatIntervalMs) + ")");
    return s;
}

sdk::Status checkReplicas(const Settings& settings, const std::string& kind, const std::string& name,
                          int64_t existingReplicas) {
    // The server reports 0 for a single-replica stream created without the field.
    const int64_t existing = existingReplicas < 1 ? 1 : existingReplicas;
    if (existing == settings.streamReplicas) return sdk::Status::ok();
    const std::string stream = kind == "stream" ? name : "KV_" + name;
    return sdk::Status(sdk::StatusCode::InvalidConfig,
                       kind + " " + name + " has " + std::to_string(existing) + " replica(s) but [transport.nats] " +
                           "stream_replicas = " + std::to_string(settings.streamReplicas) +
                           "; set stream_replicas = " + std::to_string(existing) + ", or change the " + kind +
                           " first (nats stream edit " + stream + " --replicas " +
                           std::to_string(settings.streamReplicas) + ", which needs that many JetStream servers)");
}

}  // namespace ordersystem::plugins::nats
