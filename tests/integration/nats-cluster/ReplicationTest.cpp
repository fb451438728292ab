// stream_replicas on a three-server cluster: a node creates every stream and key-value bucket it
// uses with that many replicas, and refuses to start on ones that have another replica count.
#include "NatsClusterNodes.h"

using namespace ordersystem::natstest;

namespace {

/// Every stream the plugin uses: the log, its helpers, and the streams behind its KV buckets.
std::vector<std::string> pluginStreams(const std::string& stream) {
    return {stream,
            stream + "_IDS",
            stream + "_DEADLETTER",
            "KV_" + stream + "_IDEMPOTENCY",
            "KV_" + stream + "_NODES",
            "KV_" + stream + "_REACTIONS_DONE",
            "KV_" + stream + "_REACTIONS_PROGRESS",
            "KV_" + stream + "_REACTIONS_ATTEMPTS",
            "KV_" + stream + "_DEADLETTERS"};
}

}  // namespace

TEST_F(NatsClusterTest, ANodeWithThreeReplicasCreatesEveryStreamAndBucketWithThreeReplicas) {
    auto node = startReplicated("node-a");
    ASSERT_TRUE(node);
    RecordingReaction reaction("notifications");  // a reaction's bucket is made when it subscribes
    auto subscription = node->log().subscribe(reaction);
    ASSERT_TRUE(subscription.isOk()) << subscription.status().message;
    appendNew(node->log(), *node->log().allocateOrderId());

    RawNats raw(cluster.urls());
    for (const std::string& name : pluginStreams(stream())) {
        const StreamFacts facts = streamFacts(raw, name);
        ASSERT_TRUE(facts.found) << name << " was not created";
        EXPECT_EQ(facts.replicas, 3) << name;
    }
    node->log().unsubscribe(*subscription);
}

TEST_F(NatsClusterTest, StartingWithThreeReplicasOnASingleReplicaStreamFailsNamingBothCounts) {
    {
        auto single = startNode(env, "node-a", dir.path() + "/node-a", {{"stream_replicas", "1"}});
        ASSERT_TRUE(single);
        appendNew(single->log(), *single->log().allocateOrderId());
    }
    Status start;
    auto replicated = startReplicated("node-b", {}, &start);
    EXPECT_FALSE(replicated);
    EXPECT_EQ(start.code, StatusCode::InvalidConfig) << start.message;
    EXPECT_NE(start.message.find("stream " + stream() + " has 1 replica(s)"), std::string::npos) << start.message;
    EXPECT_NE(start.message.find("stream_replicas = 3"), std::string::npos) << start.message;

    // Nothing was changed behind the operator's back.
    RawNats raw(cluster.urls());
    EXPECT_EQ(streamFacts(raw, stream()).replicas, 1);
}

TEST_F(NatsClusterTest, StartingWithThreeReplicasOnASingleReplicaBucketFailsNamingIt) {
    const std::string bucket = stream() + "_NODES";
    {
        RawNats raw(cluster.urls());
        ASSERT_EQ(raw.createBucket(bucket, 1), NATS_OK);
    }
    Status start;
    auto replicated = startReplicated("node-a", {}, &start);
    EXPECT_FALSE(replicated);
    EXPECT_EQ(start.code, StatusCode::InvalidConfig) << start.message;
    EXPECT_NE(start.message.find("key-value bucket " + bucket + " has 1 replica(s)"), std::string::npos)
        << start.message;
    EXPECT_NE(start.message.find("stream_replicas = 3"), std::string::npos) << start.message;
}
