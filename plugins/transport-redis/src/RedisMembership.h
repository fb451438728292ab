// Contract: membership through Redis. One heartbeat thread per node writes
// P:nodes (zset nodeId -> Redis time of the last beat) and P:nodes:info every
// heartbeat_interval_ms; liveNodes() lists nodes whose last beat is within node_ttl_ms of Redis's
// clock (so a kill -9'd node drops out after node_ttl_ms). liveNodes() is thread-safe (HTTP
// threads); start()/stop() are called by the plugin's start()/stop() only. stop() removes this
// node at once (a clean leave).
#pragma once

#include "TransportCore.h"
#include "ordersystem/sdk/eventlog.h"
#include "ordersystem/transport/heartbeat.h"

namespace ordersystem::plugins::redis {

class RedisMembership final : public sdk::Membership {
public:
    explicit RedisMembership(TransportCore& core);
    ~RedisMembership() override { stop(); }
    sdk::Result<std::vector<sdk::NodeInfo>> liveNodes() noexcept override;

    /// Beats once (its failure is returned) and starts the heartbeat thread.
    sdk::Status start();
    void stop() noexcept;

private:
    sdk::Status beat();

    TransportCore& _core;
    transport::Heartbeat _heartbeat;
    bool _left = false;
};

}  // namespace ordersystem::plugins::redis
