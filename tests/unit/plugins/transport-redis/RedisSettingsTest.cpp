// [transport.redis] parsing without a Redis server.
#include <gtest/gtest.h>

#include <cstring>
#include <set>

#include "RedisSettings.h"
#include "RedisTransportPlugin.h"
#include "ordersystem/testing/FakeHost.h"

using namespace ordersystem::plugins::redis;
using ordersystem::sdk::StatusCode;
using ordersystem::testing::FakeConfig;

TEST(RedisUrl, HostPortPasswordAndDatabaseAreRead) {
    auto ep = parseRedisUrl("redis://:s3cret@redis.internal:6380/2");
    ASSERT_TRUE(ep.isOk()) << ep.status().message;
    EXPECT_EQ(ep->host, "redis.internal");
    EXPECT_EQ(ep->port, 6380);
    EXPECT_EQ(ep->password, "s3cret");
    EXPECT_EQ(ep->database, 2);
    EXPECT_EQ(ep->url.find("s3cret"), std::string::npos) << "the password never reaches a log line";
}

TEST(RedisUrl, PortDefaultsTo6379AndIpv6HostsNeedBrackets) {
    EXPECT_EQ(parseRedisUrl("redis://localhost")->port, 6379);
    auto v6 = parseRedisUrl("redis://[::1]:7000");
    ASSERT_TRUE(v6.isOk());
    EXPECT_EQ(v6->host, "::1");
    EXPECT_EQ(v6->port, 7000);
}

TEST(RedisUrl, MalformedUrlsAreRefusedNamingTheKey) {
    for (const char* bad :
         {"http://127.0.0.1:6379", "127.0.0.1:6379", "redis://", "redis://host:", "redis://host:99999",
          "redis://host:abc", "redis://host:6379/x", "redis://[::1", "redis://ho st:1"}) {
        auto r = parseRedisUrl(bad);
        EXPECT_FALSE(r.isOk()) << bad;
        EXPECT_EQ(r.status().code, StatusCode::InvalidConfig) << bad;
        EXPECT_NE(r.status().message.find("transport.redis.url"), std::string::npos) << r.status().message;
    }
}

TEST(RedisSettingsParse, DefaultsApplyWhenTheSectionIsSilent) {
    FakeConfig config("transport.redis");
    auto s = parseRedisSettings(config);
    ASSERT_TRUE(s.isOk()) << s.status().message;
    EXPECT_EQ(s->endpoint.host, "127.0.0.1");
    EXPECT_EQ(s->endpoint.port, 6379);
    EXPECT_EQ(s->keyPrefix, "ordersystem");
    EXPECT_EQ(s->commandTimeoutMs, 2000);
    EXPECT_EQ(s->heartbeatIntervalMs, 2000);
    EXPECT_EQ(s->nodeTtlMs, 10000);
    EXPECT_EQ(s->reactionMaxDeliveries, 25);
    EXPECT_EQ(s->streamMaxLen, 0);
}

TEST(RedisSettingsParse, AppendPipelinesNeverExceedThePoolAndIdBlocksMustBePositive) {
    FakeConfig defaults("transport.redis");
    auto d = parseRedisSettings(defaults);
    ASSERT_TRUE(d.isOk()) << d.status().message;
    EXPECT_EQ(d->appendPipelines, 2);
    EXPECT_EQ(d->orderIdBlock, 100);
    FakeConfig small("transport.redis", {{"pool_size", "1"}, {"append_pipelines", "4"}});
    auto s = parseRedisSettings(small);
    ASSERT_TRUE(s.isOk()) << s.status().message;
    EXPECT_EQ(s->appendPipelines, 1) << "appends would otherwise wait for connections that do not exist";
    FakeConfig zero("transport.redis", {{"order_id_block", "0"}});
    auto z = parseRedisSettings(zero);
    ASSERT_FALSE(z.isOk());
    EXPECT_NE(z.status().message.find("transport.redis.order_id_block"), std::string::npos) << z.status().message;
}

TEST(RedisSettingsParse, OutOfRangeValuesAreRefusedNamingTheKey) {
    FakeConfig config("transport.redis", {{"command_timeout_ms", "0"}});
    auto s = parseRedisSettings(config);
    ASSERT_FALSE(s.isOk());
    EXPECT_NE(s.status().message.find("transport.redis.command_timeout_ms"), std::string::npos);
    FakeConfig ttl("transport.redis", {{"heartbeat_interval_ms", "5000"}, {"node_ttl_ms", "4000"}});
    auto t = parseRedisSettings(ttl);
    ASSERT_FALSE(t.isOk());
    EXPECT_NE(t.status().message.find("transport.redis.node_ttl_ms"), std::string::npos);
}

TEST(RedisSettingsParse, EveryKeyTheParserReadsIsDeclaredWithADefault) {
    std::set<std::string> declared;
    for (uint32_t i = 0; i < redisConfigKeyCount(); ++i) {
        const auto& k = redisConfigKeys()[i];
        EXPECT_TRUE(declared.insert(k.name).second) << "declared twice: " << k.name;
        // sentinels is the one key whose empty default means "off" (url names the server).
        if (std::string(k.name) != "sentinels") {
            EXPECT_GT(std::strlen(k.defaultValue), 0u) << k.name;
        }
        EXPECT_GT(std::strlen(k.help), 0u) << k.name;
    }
    for (const char* key : {"url", "key_prefix", "connect_timeout_ms", "command_timeout_ms", "heartbeat_interval_ms",
                            "node_ttl_ms", "reaction_max_deliveries", "reaction_claim_idle_ms", "reaction_retry_ms",
                            "stream_maxlen", "sentinels", "master_name", "min_replicas_ack"})
        EXPECT_EQ(declared.count(key), 1u) << key;
}

TEST(RedisSentinels, AListOfHostPortsIsReadAndThePortDefaultsTo26379) {
    auto list = parseSentinels(" 10.0.0.1:26380, sentinel-b ,[::1]:26381,");
    ASSERT_TRUE(list.isOk()) << list.status().message;
    ASSERT_EQ(list->size(), 3u);
    EXPECT_EQ((*list)[0].host, "10.0.0.1");
    EXPECT_EQ((*list)[0].port, 26380);
    EXPECT_EQ((*list)[1].host, "sentinel-b");
    EXPECT_EQ((*list)[1].port, 26379);
    EXPECT_EQ((*list)[2].host, "::1");
    EXPECT_TRUE(parseSentinels("")->empty()) << "empty: no Sentinel, url names the server";
}

TEST(RedisSentinels, BadEntriesAndOutOfRangeReplicaCountsAreRefusedNamingTheKey) {
    for (const char* bad : {"host:", "host:0", "host:99999", ":26379", "redis://host:26379"}) {
        auto r = parseSentinels(bad);
        EXPECT_FALSE(r.isOk()) << bad;
        if (!r.isOk()) {
            EXPECT_NE(r.status().message.find("transport.redis.sentinels"), std::string::npos) << bad;
        }
    }
    FakeConfig config("transport.redis", {{"min_replicas_ack", "17"}});
    auto s = parseRedisSettings(config);
    ASSERT_FALSE(s.isOk());
    EXPECT_NE(s.status().message.find("transport.redis.min_replicas_ack"), std::string::npos);
    FakeConfig ok("transport.redis", {{"sentinels", "127.0.0.1:26379"}, {"min_replicas_ack", "1"}});
    auto parsed = parseRedisSettings(ok);
    ASSERT_TRUE(parsed.isOk()) << parsed.status().message;
    EXPECT_EQ(parsed->minReplicasAck, 1);
    EXPECT_EQ(parsed->masterName, "ordersystem");
    EXPECT_EQ(parsed->sentinels.size(), 1u);
}

TEST(RedisCreate, ABadUrlFailsCreateWithAnErrorNamingTheKey) {
    FakeConfig config("transport.redis", {{"url", "tcp://nowhere"}});
    ordersystem::sdk::Status error;
    ordersystem::sdk::Plugin* p = createRedisTransport(config, &error);
    EXPECT_EQ(p, nullptr);
    EXPECT_EQ(error.code, StatusCode::InvalidConfig);
    EXPECT_NE(error.message.find("transport.redis.url"), std::string::npos);
}
