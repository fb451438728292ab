// Contract: cluster membership (sdk::Membership) through heartbeats in the KV bucket
// <stream>_NODES: one key per node holding {"nodeId","address","mode","lastSeen"}.
// - start() writes this node's entry once (so a node is listed as soon as it is up) and starts a
//   thread that rewrites it every heartbeat_interval_ms. stop() ends the thread and deletes the
//   entry, so a node that leaves cleanly disappears at once; one killed with -9 disappears when
//   its lastSeen is older than node_ttl_ms (10 s by default, inside the promised 15 s).
// - liveNodes() is thread-safe; it lists the bucket (a few NATS round trips) and filters by
//   lastSeen against this node's clock (NTP-synchronised clocks assumed, skew eats into the TTL).
//   Unavailable at once while NATS is away.
#pragma once

#include <atomic>
#include <string>

#include "NatsClient.h"
#include "ordersystem/sdk/eventlog.h"
#include "ordersystem/sdk/host.h"
#include "ordersystem/transport/heartbeat.h"

namespace ordersystem::plugins::nats {

class KvMembership final : public sdk::Membership {
public:
    KvMembership(const Settings& settings, NatsClient& client, sdk::Host& host);
    ~KvMembership() override;

    sdk::Status start();
    void stop() noexcept;

    sdk::Result<std::vector<sdk::NodeInfo>> liveNodes() noexcept override;

private:
    sdk::Status beat();
    /// Writes this node's entry once.
    natsStatus putBeat();

    const Settings& _settings;
    NatsClient& _client;
    /// Read at every beat: the host fills in the real HTTP port only after the listener opened.
    sdk::Host& _host;
    std::string _key;
    kvStore* _kv = nullptr;
    transport::Heartbeat _heartbeat;
    /// Set while start() sends the first beat: that one waits out a leader election.
    std::atomic<bool> _starting{false};
};

}  // namespace ordersystem::plugins::nats
