// [transport.nats] as create() reads it: defaults, refusals that name the key, derived names.
#include <gtest/gtest.h>

#include <cctype>
#include <set>
#include <vector>

#include "KvBuckets.h"
#include "NatsSettings.h"
#include "ordersystem/testing/FakeHost.h"

using namespace ordersystem;
using plugins::nats::readSettings;

namespace {

/// The section as the host hands it over: every declared key at its default, then overrides.
ordersystem::testing::FakeConfig section(const std::map<std::string, std::string>& overrides = {}) {
    ordersystem::testing::FakeConfig config("transport.nats");
    const auto* keys = plugins::nats::configKeys();
    for (uint32_t i = 0; i < plugins::nats::configKeyCount(); ++i) config.set(keys[i].name, keys[i].defaultValue);
    for (const auto& kv : overrides) config.set(kv.first, kv.second);
    return config;
}

std::string refusal(const std::map<std::string, std::string>& overrides) {
    auto s = readSettings(section(overrides));
    EXPECT_FALSE(s.isOk());
    if (s.isOk()) return {};
    EXPECT_EQ(s.status().code, sdk::StatusCode::InvalidConfig);
    return s.status().message;
}

}  // namespace

TEST(NatsSettings, DefaultsGiveTheDocumentedLayout) {
    auto s = readSettings(section());
    ASSERT_TRUE(s.isOk()) << s.status().message;
    EXPECT_EQ(s->url, "nats://127.0.0.1:4222");
    EXPECT_EQ(s->stream, "ORDERS");
    EXPECT_EQ(s->eventsFilter(), "orders.events.>");
    EXPECT_EQ(s->orderSubject(42), "orders.events.42");
    EXPECT_EQ(s->deadLetterSubject("notifications"), "orders.deadletter.notifications");
    EXPECT_EQ(s->requestTimeoutMs, 2000);
    EXPECT_EQ(s->heartbeatIntervalMs, 2000);
    EXPECT_EQ(s->nodeTtlMs, 10000);
    EXPECT_EQ(s->reactionAckWaitMs, 30000);
    EXPECT_EQ(s->reactionMaxDeliveries, 25);
}

TEST(NatsSettings, EveryDeclaredKeyHasHelpAndAParsableDefault) {
    std::set<std::string> names;
    const auto* keys = plugins::nats::configKeys();
    for (uint32_t i = 0; i < plugins::nats::configKeyCount(); ++i) {
        EXPECT_TRUE(names.insert(keys[i].name).second) << keys[i].name;
        EXPECT_NE(std::string(keys[i].help), "") << keys[i].name;
    }
    for (const char* required :
         {"url", "stream", "subject_prefix", "connect_timeout_ms", "request_timeout_ms", "heartbeat_interval_ms",
          "node_ttl_ms", "reaction_ack_wait_ms", "reaction_max_deliveries"})
        EXPECT_EQ(names.count(required), 1u) << required;
}

TEST(NatsSettings, MalformedUrlIsRefusedNamingTheKey) {
    for (const char* url : {"", "http://127.0.0.1:4222", "nats://", "nats://:4222", "nats://host:0", "nats://host:abc",
                            "nats://host:70000", "127.0.0.1:4222"})
        EXPECT_NE(refusal({{"url", url}}).find("transport.nats.url"), std::string::npos) << url;
    for (const char* url : {"nats://127.0.0.1:4222", "nats://nats.internal", "tls://user:pw@broker:4443"})
        EXPECT_TRUE(readSettings(section({{"url", url}})).isOk()) << url;
}

TEST(NatsSettings, NamesThatJetStreamWouldRejectAreRefusedNamingTheKey) {
    EXPECT_NE(refusal({{"stream", "ORDERS.V1"}}).find("transport.nats.stream"), std::string::npos);
    EXPECT_NE(refusal({{"subject_prefix", "orders.*"}}).find("transport.nats.subject_prefix"), std::string::npos);
    EXPECT_NE(refusal({{"subject_prefix", "orders..events"}}).find("transport.nats.subject_prefix"), std::string::npos);
    EXPECT_NE(refusal({{"deadletter_prefix", "orders.events.dead"}}).find("transport.nats.deadletter_prefix"),
              std::string::npos);
    EXPECT_NE(refusal({{"id_subject", "orders.events"}}).find("transport.nats.id_subject"), std::string::npos);
}

TEST(NatsSettings, OutOfRangeNumbersAreRefusedNamingTheKey) {
    EXPECT_NE(refusal({{"request_timeout_ms", "0"}}).find("transport.nats.request_timeout_ms"), std::string::npos);
    EXPECT_NE(refusal({{"reaction_max_deliveries", "0"}}).find("transport.nats.reaction_max_deliveries"),
              std::string::npos);
    EXPECT_NE(refusal({{"reaction_workers", "1000"}}).find("transport.nats.reaction_workers"), std::string::npos);
    // A TTL shorter than the heartbeat would drop live nodes.
    EXPECT_NE(refusal({{"node_ttl_ms", "1000"}, {"heartbeat_interval_ms", "2000"}}).find("transport.nats.node_ttl_ms"),
              std::string::npos);
}

TEST(NatsSettings, SafeNamesKeepOnlyCharactersJetStreamAccepts) {
    EXPECT_EQ(plugins::nats::safeName("node-1_orders-read-model"), "node-1_orders-read-model");
    EXPECT_EQ(plugins::nats::safeName("node.1 a*b>c"), "node_1_a_b_c");
    EXPECT_EQ(plugins::nats::safeName(""), "_");
}

TEST(NatsSettings, IdempotencyKeysMapToDistinctValidKvKeys) {
    std::set<std::string> seen;
    const std::vector<std::string> keys = {"a",   "A",   "key with spaces",     "\xc3\xbc",
                                           "a.b", "a_b", std::string(500, 'x'), std::string(501, 'x')};
    for (const std::string& key : keys) {
        const std::string k = plugins::nats::kvKeyFor(key);
        EXPECT_TRUE(seen.insert(k).second) << key;
        for (char c : k) EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c))) << k;
    }
}

TEST(NatsSettings, AUrlListGivesEveryServerAndABadEntryIsNamed) {
    auto s = readSettings(section({{"url", "nats://127.0.0.1:4222, nats://127.0.0.1:4223,nats://127.0.0.1:4224"}}));
    ASSERT_TRUE(s.isOk()) << s.status().message;
    EXPECT_EQ(s->servers,
              (std::vector<std::string>{"nats://127.0.0.1:4222", "nats://127.0.0.1:4223", "nats://127.0.0.1:4224"}));
    const std::string bad = refusal({{"url", "nats://127.0.0.1:4222,nats://broker:99999"}});
    EXPECT_NE(bad.find("transport.nats.url"), std::string::npos) << bad;
    EXPECT_NE(bad.find("'nats://broker:99999'"), std::string::npos) << bad;
    EXPECT_NE(refusal({{"url", "nats://a:4222,,nats://b:4222"}}).find("empty entry"), std::string::npos);
}

TEST(NatsSettings, AppendsOutlastALeaderElectionOnlyWithReplicatedStreamsUnlessSet) {
    EXPECT_EQ(readSettings(section())->appendTimeoutMs, 2000);  // request_timeout_ms: one server, no election
    EXPECT_EQ(readSettings(section({{"stream_replicas", "3"}}))->appendTimeoutMs, 10000);
    EXPECT_EQ(readSettings(section({{"append_timeout_ms", "4000"}}))->appendTimeoutMs, 4000);
    EXPECT_NE(refusal({{"append_timeout_ms", "100"}}).find("transport.nats.append_timeout_ms"), std::string::npos);
}

TEST(NatsSettings, AReplicaMismatchNamesTheStreamBothCountsAndWhatToDo) {
    auto s = readSettings(section({{"stream_replicas", "3"}}));
    ASSERT_TRUE(s.isOk());
    const sdk::Status st = plugins::nats::checkReplicas(*s, "stream", "ORDERS", 1);
    EXPECT_EQ(st.code, sdk::StatusCode::InvalidConfig);
    EXPECT_NE(st.message.find("stream ORDERS has 1 replica(s) but [transport.nats] stream_replicas = 3"),
              std::string::npos)
        << st.message;
    EXPECT_NE(st.message.find("nats stream edit ORDERS --replicas 3"), std::string::npos) << st.message;
    EXPECT_TRUE(plugins::nats::checkReplicas(*s, "stream", "ORDERS", 3).isOk());
    EXPECT_TRUE(plugins::nats::checkReplicas(*readSettings(section()), "stream", "ORDERS", 0).isOk());
}
