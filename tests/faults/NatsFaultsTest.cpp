// Fault scenarios of cluster mode (NATS JetStream): while clients keep writing to every node,
// nodes and servers are killed, frozen and cut off; after the heal every acknowledged write is on
// every node exactly once, the nodes agree, and every event reached the webhook.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "FaultRun.h"

using namespace ordersystem::faults;
using namespace std::chrono_literals;

TEST(NatsFaults, NodeKilledFrozenAndCutOffLosesNoAcknowledgedWrite) {
    FaultRun run("nats, one server, 2 nodes: node kill/restart, SIGSTOP, partition");
    FAULTS_START_OR_SKIP(run, run.startNats(1, 1), 2);
    run.startWorkload();
    run.nodeFaults();
    EXPECT_TRUE(run.finishesClean());
}

// nats-server 2.9.10 (Debian 12) leaves holes in the copy of a server that was paused or cut off
// during an election and answers reads from it; docs/faults.md has the findings. The three-server
// scenarios need 2.10 or newer (packaging/install-nats-server.sh installs Debian 13's).
std::string clusterServerMissing() {
    std::string out;
    if (FILE* p = popen("nats-server --version 2>/dev/null", "r")) {
        char buf[128];
        while (fgets(buf, sizeof buf, p) != nullptr) out += buf;
        pclose(p);
    }
    int major = 0, minor = 0;
    const auto v = out.find(" v");  // "nats-server: v2.10.27"
    if (v == std::string::npos || std::sscanf(out.c_str() + v + 1, "v%d.%d", &major, &minor) != 2)
        return "cannot tell the version of nats-server (" + out + ")";
    if (major > 2 || (major == 2 && minor >= 10)) return {};
    return "a three-server JetStream cluster needs nats-server 2.10 or newer, this is " + out.substr(v + 1) +
           " (packaging/install-nats-server.sh installs Debian 13's)";
}
#define SKIP_WITHOUT_CLUSTER_SERVER() \
    if (const std::string why = clusterServerMissing(); !why.empty()) GTEST_SKIP() << why

/// SIGSTOP past an election, then SIGCONT.
void freezeServer(FaultRun& run, const std::string& what, const std::string& server) {
    run.fault("SIGSTOP " + what + " " + server, [&] { run.nats().server(server).pause(); });
    run.hold(5s);
    run.fault("SIGCONT " + what + " " + server, [&] { run.nats().server(server).resume(); });
    run.hold(3s);
}

/// Cut off from the other servers past an election, then healed.
void cutOffServer(FaultRun& run, const std::string& server) {
    run.fault("partition " + server + " from the other servers", [&] { run.partitionBroker(server); });
    run.hold(8s);
    run.heal();
    run.hold(3s);
}

TEST(NatsClusterFaults, NodeFaultsOnAThreeServerClusterLoseNoAcknowledgedWrite) {
    SKIP_WITHOUT_CLUSTER_SERVER();
    FaultRun run("nats cluster (3 servers, R3), 3 nodes: node kill/restart, SIGSTOP, partition");
    FAULTS_START_OR_SKIP(run, run.startNats(3, 3), 3);
    run.startWorkload();
    run.nodeFaults();
    EXPECT_TRUE(run.finishesClean());
}

TEST(NatsClusterFaults, StreamLeaderKilledAndAFollowerFrozenLoseNoAcknowledgedWrite) {
    SKIP_WITHOUT_CLUSTER_SERVER();
    FaultRun run("nats cluster (3 servers, R3), 2 nodes: kill -9 stream leader, SIGSTOP a follower server");
    FAULTS_START_OR_SKIP(run, run.startNats(3, 3), 2);
    run.startWorkload();
    run.hold(3s);
    const std::string leader = run.nats().streamLeader("ORDERS");
    ASSERT_FALSE(leader.empty()) << "no server names a leader of ORDERS\n" << run.logs();
    run.fault("kill -9 stream leader " + leader, [&] { run.nats().server(leader).kill9(); });
    run.hold(5s);
    run.fault("restart " + leader, [&] { EXPECT_TRUE(run.nats().server(leader).start()); });
    run.hold(4s);
    const std::string follower = run.nats().streamFollower("ORDERS");
    ASSERT_FALSE(follower.empty()) << run.logs();
    freezeServer(run, "follower", follower);
    EXPECT_TRUE(run.finishesClean());
}

TEST(NatsClusterFaults, AFollowerCutOffFromTheOtherServersLosesNoAcknowledgedWrite) {
    SKIP_WITHOUT_CLUSTER_SERVER();
    FaultRun run("nats cluster (3 servers, R3), 2 nodes: partition a follower server from its peers");
    FAULTS_START_OR_SKIP(run, run.startNats(3, 3), 2);
    run.startWorkload();
    run.hold(3s);
    const std::string follower = run.nats().streamFollower("ORDERS");
    ASSERT_FALSE(follower.empty()) << "no server names a leader of ORDERS\n" << run.logs();
    cutOffServer(run, follower);
    EXPECT_TRUE(run.finishesClean());
}

TEST(NatsClusterFaults, StreamLeaderFrozenLosesNoAcknowledgedWrite) {
    SKIP_WITHOUT_CLUSTER_SERVER();
    FaultRun run("nats cluster (3 servers, R3), 2 nodes: SIGSTOP the stream leader");
    FAULTS_START_OR_SKIP(run, run.startNats(3, 3), 2);
    run.startWorkload();
    run.hold(3s);
    const std::string leader = run.nats().streamLeader("ORDERS");
    ASSERT_FALSE(leader.empty()) << "no server names a leader of ORDERS\n" << run.logs();
    freezeServer(run, "stream leader", leader);
    EXPECT_TRUE(run.finishesClean());
}

TEST(NatsClusterFaults, StreamLeaderCutOffFromTheOtherServersLosesNoAcknowledgedWrite) {
    SKIP_WITHOUT_CLUSTER_SERVER();
    FaultRun run("nats cluster (3 servers, R3), 2 nodes: partition the stream leader from its peers");
    FAULTS_START_OR_SKIP(run, run.startNats(3, 3), 2);
    run.startWorkload();
    run.hold(3s);
    const std::string leader = run.nats().streamLeader("ORDERS");
    ASSERT_FALSE(leader.empty()) << "no server names a leader of ORDERS\n" << run.logs();
    cutOffServer(run, leader);
    EXPECT_TRUE(run.finishesClean());
}
