// Fault scenarios of cluster mode (NATS JetStream): while clients keep writing to every node,
// nodes and servers are killed, frozen and cut off; after the heal every acknowledged write is on
// every node exactly once, the nodes agree, and every event reached the webhook.
#include <gtest/gtest.h>

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

TEST(NatsClusterFaults, NodeFaultsOnAThreeServerClusterLoseNoAcknowledgedWrite) {
    FaultRun run("nats cluster (3 servers, R3), 3 nodes: node kill/restart, SIGSTOP, partition");
    FAULTS_START_OR_SKIP(run, run.startNats(3, 3), 3);
    run.startWorkload();
    run.nodeFaults();
    EXPECT_TRUE(run.finishesClean());
}

TEST(NatsClusterFaults, StreamLeaderKilledAndServerFrozenLoseNoAcknowledgedWrite) {
    FaultRun run("nats cluster (3 servers, R3), 2 nodes: kill -9 stream leader, SIGSTOP a server");
    FAULTS_START_OR_SKIP(run, run.startNats(3, 3), 2);
    run.startWorkload();
    run.hold(3s);
    const std::string leader = run.nats().streamLeader("ORDERS");
    ASSERT_FALSE(leader.empty()) << "no server names a leader of ORDERS\n" << run.logs();
    run.fault("kill -9 stream leader " + leader, [&] { run.nats().server(leader).kill9(); });
    run.hold(5s);
    run.fault("restart " + leader, [&] { EXPECT_TRUE(run.nats().server(leader).start()); });
    run.hold(4s);
    const std::string next = run.nats().streamLeader("ORDERS");
    ASSERT_FALSE(next.empty()) << run.logs();
    run.fault("SIGSTOP server " + next, [&] { run.nats().server(next).pause(); });
    run.hold(5s);
    run.fault("SIGCONT server " + next, [&] { run.nats().server(next).resume(); });
    run.hold(3s);
    EXPECT_TRUE(run.finishesClean());
}

TEST(NatsClusterFaults, StreamLeaderCutOffFromTheOtherServersLosesNoAcknowledgedWrite) {
    FaultRun run("nats cluster (3 servers, R3), 2 nodes: partition the stream leader from its peers");
    FAULTS_START_OR_SKIP(run, run.startNats(3, 3), 2);
    run.startWorkload();
    run.hold(3s);
    const std::string leader = run.nats().streamLeader("ORDERS");
    ASSERT_FALSE(leader.empty()) << "no server names a leader of ORDERS\n" << run.logs();
    run.fault("partition " + leader + " from the other servers", [&] { run.partitionBroker(leader); });
    run.hold(8s);
    run.heal();
    run.hold(3s);
    EXPECT_TRUE(run.finishesClean());
}
