// Heartbeats and the live-node list.
#include "RedisMembership.h"

#include <hiredis/hiredis.h>

#include "ordersystem/sdk/util.h"

namespace ordersystem::plugins::redis {

using sdk::Result;
using sdk::Status;
using sdk::StatusCode;

RedisMembership::RedisMembership(TransportCore& core)
    : _core(core),
      _heartbeat(
          core.nodeId, core.settings.heartbeatIntervalMs, [this] { return beat(); }, *core.logger) {}

Status RedisMembership::beat() {
    auto reply = _core.pool->script(_core.scripts.heartbeat, {_core.keys.nodes, _core.keys.nodesInfo},
                                    {_core.nodeId, _core.address + "\ndistributed"});
    if (!reply) return reply.status();
    if (replyIsError(reply.value().get()))
        return Status(StatusCode::Internal, "heartbeat: " + replyString(reply.value().get()));
    return Status::ok();
}

Status RedisMembership::start() { return _heartbeat.start(); }

void RedisMembership::stop() noexcept {
    _heartbeat.stop();
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
