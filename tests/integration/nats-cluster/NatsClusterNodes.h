// Test helpers for transport-nats on a three-server JetStream cluster: the cluster (a fresh one
// per test, testing::NatsServerCluster), plugin "nodes" on it with the helpers of
// ../nats/NatsTestNodes.h, and what JetStream reports about a stream (replicas, leader,
// whether every replica is current). Every server and node is stopped by its owner.
#pragma once

#include "NatsTestNodes.h"
#include "ordersystem/testing/NatsServerCluster.h"

namespace ordersystem::natstest {

using ordersystem::testing::NatsServerCluster;

/// A stream as JetStream describes it; found is false when it could not be read.
struct StreamFacts {
    bool found = false;
    int64_t replicas = 0;
    std::string leader;  ///< "" while it has none
    bool everyReplicaCurrent = false;
    uint64_t messages = 0;
};

inline StreamFacts streamFacts(RawNats& raw, const std::string& stream) {
    StreamFacts facts;
    jsStreamInfo* si = nullptr;
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.Wait = 2000;
    if (js_GetStreamInfo(&si, raw.js(), stream.c_str(), &jo, nullptr) == NATS_OK) {
        facts.found = true;
        facts.replicas = si->Config->Replicas;
        facts.messages = si->State.Msgs;
        if (si->Cluster != nullptr) {
            facts.leader = si->Cluster->Leader != nullptr ? si->Cluster->Leader : "";
            facts.everyReplicaCurrent = true;
            for (int i = 0; i < si->Cluster->ReplicasLen; ++i)
                if (!si->Cluster->Replicas[i]->Current || si->Cluster->Replicas[i]->Offline ||
                    si->Cluster->Replicas[i]->Lag != 0)
                    facts.everyReplicaCurrent = false;
        }
    }
    jsStreamInfo_Destroy(si);
    return facts;
}

/// Three nats-servers in one cluster, started (with a meta leader) before each test.
class NatsClusterTest : public ::testing::Test {
protected:
    void SetUp() override {
        ASSERT_TRUE(NatsServer::available()) << "nats-server is not installed";
        ASSERT_TRUE(cluster.start()) << "the three nats-servers did not form a JetStream cluster:\n" << cluster.log(0);
        env.url = cluster.urls();
    }

    /// A node on every server of the cluster with R3 streams and buckets.
    std::unique_ptr<TestNode> startReplicated(const std::string& nodeId, std::map<std::string, std::string> extra = {},
                                              Status* startStatus = nullptr) {
        extra.emplace("stream_replicas", "3");
        return startNode(env, nodeId, dir.path() + "/" + nodeId, extra, startStatus);
    }
    const std::string& stream() const { return env.names.at("stream"); }
    /// The index of the server that leads stream name now, or -1.
    int leaderOf(RawNats& raw, const std::string& name) { return cluster.indexOf(streamFacts(raw, name).leader); }
    /// Until stream name has a leader and every replica has caught up.
    bool settled(RawNats& raw, const std::string& name, std::chrono::milliseconds timeout) {
        return waitUntil(
            [&] {
                const StreamFacts f = streamFacts(raw, name);
                return f.found && !f.leader.empty() && f.everyReplicaCurrent;
            },
            timeout, std::chrono::milliseconds(200));
    }

    TempDir dir;
    NatsServerCluster cluster{dir.path() + "/nats"};
    NatsEnv env{false, false};
};

}  // namespace ordersystem::natstest
