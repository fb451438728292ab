// Fault scenarios of distributed mode (Redis): while clients keep writing to every node, nodes
// and Redis servers are killed, frozen and cut off; after the heal every acknowledged write is on
// every node exactly once, the nodes agree, and every event reached the webhook.
#include <gtest/gtest.h>

#include "FaultRun.h"

using namespace ordersystem::faults;
using namespace std::chrono_literals;
using ordersystem::testing::waitUntil;

TEST(RedisFaults, NodeKilledFrozenAndCutOffLosesNoAcknowledgedWrite) {
    FaultRun run("redis, one server, 2 nodes: node kill/restart, SIGSTOP, partition");
    FAULTS_START_OR_SKIP(run, run.startRedis(0, 0, 0), 2);
    run.startWorkload();
    run.nodeFaults();
    EXPECT_TRUE(run.finishesClean());
}

TEST(RedisHaFaults, PrimaryKilledFailsOverAndRejoinsAsReplicaLosingNoAcknowledgedWrite) {
    FaultRun run("redis HA (primary + 2 replicas + 3 sentinels), 2 nodes: kill -9 primary, restart");
    FAULTS_START_OR_SKIP(run, run.startRedis(2, 3, 1), 2);
    run.startWorkload();
    run.hold(3s);
    run.fault("kill -9 primary redis-1", [&] { run.redis().server("redis-1").kill9(); });
    EXPECT_TRUE(waitUntil([&] { return run.redis().failedOverFrom("redis-1"); }, 20s, 250ms))
        << "the Sentinels did not fail over\n"
        << run.redis().outputs();
    run.hold(3s);
    run.fault("restart redis-1", [&] { EXPECT_TRUE(run.redis().server("redis-1").start()); });
    EXPECT_TRUE(waitUntil([&] { return run.redis().role("redis-1") == "slave"; }, 20s, 250ms))
        << "redis-1 did not rejoin as a replica\n"
        << run.redis().outputs();
    run.hold(3s);
    EXPECT_TRUE(run.finishesClean());
}

TEST(RedisHaFaults, NodeFaultsThenPrimaryCutOffFromReplicasAndSentinelsLoseNoAcknowledgedWrite) {
    FaultRun run("redis HA (primary + 2 replicas + 3 sentinels), 2 nodes: node faults, primary partition");
    FAULTS_START_OR_SKIP(run, run.startRedis(2, 3, 1), 2);
    run.startWorkload();
    run.nodeFaults();
    const std::string primary = run.redis().currentPrimary();
    ASSERT_FALSE(primary.empty()) << run.redis().outputs();
    run.fault("partition primary " + primary + " from replicas and sentinels", [&] { run.partitionBroker(primary); });
    // The majority side fails over; the old primary cannot reach min_replicas_ack meanwhile.
    EXPECT_TRUE(waitUntil([&] { return run.redis().failedOverFrom(primary); }, 15s, 250ms))
        << "the Sentinels did not fail over\n"
        << run.redis().outputs();
    run.hold(3s);
    run.heal();
    // Sentinel turns the old primary into a replica at its next look (within about 10 s).
    EXPECT_TRUE(waitUntil([&] { return run.redis().role(primary) == "slave"; }, 20s, 250ms))
        << primary << " did not rejoin as a replica\n"
        << run.redis().outputs();
    run.hold(2s);
    EXPECT_TRUE(run.finishesClean());
}
