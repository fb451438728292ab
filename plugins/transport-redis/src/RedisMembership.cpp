// Heartbeats and the live-node list.
#include "RedisMembership.h"

#include <hiredis/hiredis.h>

#include "ordersystem/sdk/util.h"

namespace ordersystem::plugins::redis {

using sdk::Result;
using sdk::Status;
using sdk::StatusCode;

Status RedisMembership::beat() {
    auto reply = _core.pool->script(_core.scripts.heartbeat, {_core.keys.nodes, _core.keys.nodesInfo},
                                    {_core.nodeId, _core.address + "\ndistributed"});
    if (!reply) return reply.status();
    if (replyIsError(reply.value().get()))
        return Status(StatusCode::Internal, "heartbeat: " + replyString(reply.value().get()));
    return Status::ok();
}

Status RedisMembership::start() {
    Status st = beat();
    if (!st) return st;
    _thread = std::thread([this] { run(); });
    return Status::ok();
}

void RedisMembership::run() {
    sdk::nameThisThread("membership");
    bool failing = false;
    while (_stop.sleepFor(std::chrono::milliseconds(_core.settings.heartbeatIntervalMs))) {
        Status st = beat();
        if (!st && !failing) {
            failing = true;
            _core.logger->warn("heartbeat of node " + _core.nodeId + " failed: " + st.message);
        } else if (st && failing) {
            failing = false;
            _core.logger->info("heartbeat of node " + _core.nodeId + " is back");
        }
    }
}

void RedisMembership::stop() noexcept {
    _stop.raise();
    if (_thread.joinable()) _thread.join();
    if (_left || !_core.pool) return;
    _left = true;
    try {
        _core.pool->command({"ZREM", _core.keys.nodes, _core.nodeId});
        _core.pool->command({"HDEL", _core.keys.nodesInfo, _core.nodeId});
    } catch (...) {
    }
}

Result<std::vector<sdk::NodeInfo>> RedisMembership::liveNodes() noexcept {
    try {
        auto reply = _core.pool->script(_core.scripts.liveNodes, {_core.keys.nodes, _core.keys.nodesInfo},
                                        {std::to_string(_core.settings.nodeTtlMs)});
        if (!reply) return reply.status();
        const redisReply* r = reply.value().get();
        if (replyIsError(r)) return Status(StatusCode::Internal, "live nodes: " + replyString(r));
        std::vector<sdk::NodeInfo> nodes;
        for (size_t i = 0; i + 2 < replySize(r); i += 3) {
            sdk::NodeInfo n;
            n.nodeId = replyString(replyAt(r, i));
            const std::string info = replyString(replyAt(r, i + 1));
            const auto nl = info.find('\n');
            n.address = info.substr(0, nl);
            n.mode = nl == std::string::npos ? "distributed" : info.substr(nl + 1);
            n.lastSeenMs = replyInteger(replyAt(r, i + 2));
            nodes.push_back(std::move(n));
        }
        return nodes;
    } catch (const std::exception& e) {
        return Status(StatusCode::Internal, std::string("live nodes: ") + e.what());
    }
}

}  // namespace ordersystem::plugins::redis
