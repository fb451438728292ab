// Start-up, health and shutdown of the Redis transport.
#include "RedisTransportPlugin.h"

#include <hiredis/hiredis.h>

#include <csignal>
#include <cstdlib>

namespace ordersystem::plugins::redis {

using sdk::Status;
using sdk::StatusCode;

Status RedisTransportPlugin::start(sdk::Host& host) noexcept {
    try {
        Status st = startChecked(host);
        if (!st) {
            if (_log) _log->shutdown();
            _log.reset();
            _core.reset();
        }
        return st;
    } catch (const std::exception& e) {
        _log.reset();
        _core.reset();
        return Status(StatusCode::Internal, std::string("transport-redis start: ") + e.what());
    }
}

Status RedisTransportPlugin::startChecked(sdk::Host& host) {
    // hiredis 0.14 writes with write(): a socket closed by Redis must not kill the process.
    std::signal(SIGPIPE, SIG_IGN);
    _core = std::make_unique<TransportCore>(_settings, host.node().nodeId, host.node().httpAddress, host.logger(),
                                            host.metrics());
    if (Status st = _core->pool->connectNow(); !st) return st;
    if (Status st = loadScripts(); !st) return st;
    warnUnlessAppendOnly(host.node().durability);
    warnUnlessEnoughReplicas();
    _log = std::make_unique<RedisEventLog>(*_core);
    if (Status st = host.node().joinsMembership ? _log->startMembership() : Status::ok(); !st)
        return Status(StatusCode::Unavailable, "transport-redis: joining the membership failed: " + st.message);
    host.addHealthCheck("redis", [this] { return health(); });
    host.provideEventLog(_log.get());
    auto head = _log->headPosition();
    host.logger().info("transport-redis: distributed mode on " + _core->locator->where() +
                       (_settings.sentinels.empty() ? std::string() : " (found via Sentinel)") + ", node " +
                       host.node().nodeId + ", key prefix '" + _settings.keyPrefix + "', log head position " +
                       (head ? std::to_string(head.value()) : std::string("unknown")));
    return Status::ok();
}

Status RedisTransportPlugin::loadScripts() {
    RedisScripts& s = _core->scripts;
    for (LuaScript* script : {&s.append, &s.claim, &s.release, &s.heartbeat, &s.liveNodes, &s.ack, &s.deadLetter,
                              &s.putDeadLetter, &s.removeDeadLetter, &s.raise}) {
        auto reply = _core->pool->command({"SCRIPT", "LOAD", script->body});
        if (!reply) return reply.status();
        if (replyIsError(reply.value().get()) || reply.value()->type != REDIS_REPLY_STRING)
            return Status(StatusCode::Unavailable, "transport-redis: Redis at " + _core->locator->where() +
                                                       " refused the " + script->name +
                                                       " script: " + replyString(reply.value().get()));
        script->sha = replyString(reply.value().get());
    }
    return Status::ok();
}

void RedisTransportPlugin::warnUnlessAppendOnly(sdk::Durability durability) {
    auto reply = _core->pool->command({"INFO", "persistence"});
    if (!reply || replyIsError(reply.value().get())) return;
    if (replyString(reply.value().get()).find("aof_enabled:1") == std::string::npos) {
        _core->logger->warn("Redis at " + _core->locator->where() +
                            " runs without appendonly: acknowledged events can be lost when Redis stops; "
                            "set 'appendonly yes' (README: durability)");
        return;
    }
    if (durability != sdk::Durability::Full) return;
    // CONFIG may be renamed away on managed servers; then there is nothing to check.
    auto fsync = _core->pool->command({"CONFIG", "GET", "appendfsync"});
    if (!fsync || replySize(fsync.value().get()) != 2) return;
    const std::string mode = replyString(replyAt(fsync.value().get(), 1));
    if (mode != "always")
        _core->logger->warn("[node] durability = full, but Redis at " + _core->locator->where() + " has appendfsync " +
                            mode +
                            ": a crash of Redis's machine (not just its process) can lose up to a second of "
                            "acknowledged events; set 'appendfsync always' for full durability");
}

void RedisTransportPlugin::warnUnlessEnoughReplicas() {
    const int wanted = _settings.minReplicasAck;
    if (wanted == 0) return;
    auto reply = _core->pool->command({"INFO", "replication"});
    if (!reply || replyIsError(reply.value().get())) return;
    const std::string info = replyString(reply.value().get());
    const auto at = info.find("connected_slaves:");
    const int connected = at == std::string::npos ? 0 : std::atoi(info.c_str() + at + 17);
    if (connected < wanted)
        _core->logger->warn("transport-redis: min_replicas_ack = " + std::to_string(wanted) + " but Redis at " +
                            _core->locator->where() + " has " + std::to_string(connected) +
                            " replicas connected: appends answer 503 until enough replicas confirm them");
}

sdk::HealthCheckResult RedisTransportPlugin::health() {
    std::lock_guard<std::mutex> lock(_healthMutex);
    const auto now = std::chrono::steady_clock::now();
    if (now - _healthAt < std::chrono::seconds(1) && _healthAt.time_since_epoch().count() != 0) return _healthCached;
    sdk::HealthCheckResult out;
    auto reply = _core->pool->command({"PING"});
    if (!reply) {
        out.healthy = false;
        out.detail = reply.status().message;
    } else if (replyIsError(reply.value().get())) {
        out.healthy = false;
        out.detail = "Redis at " + _core->locator->where() + " answered PING with " + replyString(reply.value().get());
    } else {
        out.detail = "Redis at " + _core->locator->where() + " answers";
    }
    _healthAt = now;
    _healthCached = out;
    return out;
}

void RedisTransportPlugin::stop() noexcept {
    try {
        if (_log) _log->shutdown();
        _log.reset();
        if (_core && _core->pool) _core->pool->close();
        _core.reset();
    } catch (...) {
    }
}

sdk::Plugin* createRedisTransport(const sdk::ConfigSection& config, Status* error) noexcept {
    return sdk::guardedCreate("transport-redis", error, [&](Status* e) -> sdk::Plugin* {
        auto settings = parseRedisSettings(config);
        if (!settings) {
            *e = settings.status();
            return nullptr;
        }
        return new RedisTransportPlugin(std::move(settings.value()));
    });
}

}  // namespace ordersystem::plugins::redis
