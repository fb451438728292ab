// One fault scenario from start to verdict: the namespaces, the brokers, the nodes (each in its
// own namespace, short timeouts so a fault outlasts them), the webhook receiver, the workload,
// the faults marked in the history, then heal, convergence, a quiet phase, the checks and one
// block of figures. Every process and namespace is removed by the destructor, also on failure.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "Brokers.h"
#include "Checker.h"
#include "History.h"
#include "Topology.h"
#include "Workload.h"
#include "ordersystem/testing/ClusterHttp.h"
#include "ordersystem/testing/TestSupport.h"

namespace ordersystem::faults {

/// The problems of a verdict, one a line, for a failure message.
std::string describe(const Verdict& verdict);

class FaultRun {
public:
    explicit FaultRun(std::string scenario);
    ~FaultRun();

    /// One nats-server (size 1) or a three-server JetStream cluster; replicas = stream_replicas.
    bool startNats(int servers, int replicas);
    /// A Redis primary with replicas and Sentinels; the nodes use Sentinel when there are any.
    bool startRedis(int replicas, int sentinels, int minReplicasAck);
    /// Starts node-a, node-b, ... and waits until each is ready. False with skipReason set when a
    /// node refuses a setting this build does not know yet (an HA key before its merge).
    bool startNodes(int count);
    std::string skipReason;

    void startWorkload(int clients = 4);
    /// Marks the fault in the history, then does it.
    void fault(const std::string& label, const std::function<void()>& action);
    /// Lets the workload run on for a while.
    static void hold(std::chrono::milliseconds duration);

    /// Stops the workload, heals, waits for convergence, runs the quiet phase, checks, prints.
    Verdict finish();
    /// finish(), as a gtest assertion carrying the problems and the logs.
    ::testing::AssertionResult finishesClean();

    /// kill -9 + restart of node-a, SIGSTOP of node-b past its membership TTL, node-a cut off from
    /// the brokers, heal: the node faults every scenario family runs.
    void nodeFaults();

    // Faults (the node ones by node id, the broker ones by host: nats-2, redis-1, sentinel-3).
    void killNode(const std::string& node);
    bool restartNode(const std::string& node);
    void pauseNode(const std::string& node);
    void resumeNode(const std::string& node);
    /// The node loses every broker (servers and Sentinels); clients still reach it.
    void partitionFromBrokers(const std::string& node);
    /// A broker host loses the other broker hosts; nodes and clients still reach it.
    void partitionBroker(const std::string& host);
    void heal();

    Topology& net() { return *_net; }
    NatsServers& nats() { return *_nats; }
    RedisServers& redis() { return *_redis; }
    std::string logs() const;

private:
    std::map<std::string, std::map<std::string, std::string>> nodeKeys() const;
    bool startNode(const std::string& id);
    std::vector<std::string> brokerHosts() const;
    std::vector<Target> targets() const;
    bool converge(std::chrono::milliseconds timeout);
    void quietPhase(Observed& observed);
    Observed observe() const;
    void print(const Verdict& verdict, int64_t convergeMs) const;

    std::string _scenario;
    testing::TempDir _dir;
    std::unique_ptr<Topology> _net;
    std::unique_ptr<clustertest::HookReceiver> _hooks;
    std::unique_ptr<NatsServers> _nats;
    std::unique_ptr<RedisServers> _redis;
    int _natsReplicas = 1, _minReplicasAck = 0;
    std::map<std::string, std::unique_ptr<testing::OrderNode>> _nodes;
    History _history;
    std::unique_ptr<Workload> _workload;
    int64_t _workloadEndMs = 0;
};

}  // namespace ordersystem::faults

/// Starts the brokers and the nodes of a scenario, or skips it with the reason (no namespaces
/// here, or a node refusing an HA setting before its merge).
#define FAULTS_START_OR_SKIP(run, startBrokers, nodes)                       \
    do {                                                                     \
        if (!(run).skipReason.empty()) GTEST_SKIP() << (run).skipReason;     \
        ASSERT_TRUE(startBrokers) << (run).logs();                           \
        if (!(run).startNodes(nodes)) {                                      \
            if (!(run).skipReason.empty()) GTEST_SKIP() << (run).skipReason; \
            FAIL() << "a node did not start\n" << (run).logs();              \
        }                                                                    \
    } while (false)
