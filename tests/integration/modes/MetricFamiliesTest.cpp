// One metrics vocabulary in every mode: the same traffic on a standalone, a Redis and a NATS
// node shows the same families with the same type and help text, and a family that only one
// engine has is named after it (ordersystem_inmemory_, ordersystem_redis_, ordersystem_nats_).
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>

#include "ordersystem/testing/ClusterHttp.h"
#include "ordersystem/testing/TestSupport.h"

namespace {

using namespace ordersystem::testing;

struct Family {
    std::string type;
    std::string help;
    bool operator==(const Family& o) const { return type == o.type && help == o.help; }
};
using Families = std::map<std::string, Family>;

Families familiesOf(const std::string& text) {
    Families out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        std::istringstream f(line);
        std::string hash, kind, name;
        f >> hash >> kind >> name;
        if (hash != "#" || (kind != "TYPE" && kind != "HELP")) continue;
        std::string rest;
        std::getline(f, rest);
        if (!rest.empty() && rest.front() == ' ') rest.erase(0, 1);
        (kind == "TYPE" ? out[name].type : out[name].help) = rest;
    }
    return out;
}

const std::map<std::string, std::string> kEnginePrefix = {
    {"standalone", "ordersystem_inmemory_"}, {"distributed", "ordersystem_redis_"}, {"cluster", "ordersystem_nats_"}};

bool engineOnly(const std::string& name) {
    for (const auto& [mode, prefix] : kEnginePrefix)
        if (name.rfind(prefix, 0) == 0) return true;
    return false;
}

/// Runs a node of one mode through a create, a transition and a webhook, then reads /metrics.
Families scrape(const std::string& transport, const std::string& brokerUrl, const std::string& hookUrl) {
    TempDir dir;
    OrderNode::Options options;
    options.transport = transport;
    options.brokerUrl = brokerUrl;
    options.webhookUrl = hookUrl;
    OrderNode node(dir.path(), options);
    EXPECT_TRUE(node.start()) << node.output();
    EXPECT_TRUE(node.waitReady()) << node.output();
    const int64_t id = ordersystem::clustertest::createOrder(node.port(), "Vocabulary");
    EXPECT_GT(id, 0);
    EXPECT_EQ(ordersystem::clustertest::command(node.port(), id, "process").status, 200);
    EXPECT_EQ(ordersystem::clustertest::getOrder(node.port(), 999999).status, 404);
    std::string text;
    // Projections and the webhook reaction have seen both events once the host counted them.
    EXPECT_TRUE(waitUntil(
        [&] {
            text = httpGet(node.port(), "/metrics").body;
            return text.find("ordersystem_events_applied_total{projection=\"analytics\"} 2") != std::string::npos &&
                   text.find("ordersystem_reaction_events_total{reaction=\"notifications\",outcome=\"ok\"} 2") !=
                       std::string::npos;
        },
        std::chrono::seconds(20)))
        << text;
    node.stop();
    return familiesOf(text);
}

TEST(MetricFamilies, EveryModeShowsTheSameFamiliesAndEngineOnlyOnesCarryTheEnginesName) {
    if (!RedisServer::available() || !NatsServer::available()) GTEST_SKIP() << "needs redis-server and nats-server";
    TempDir brokers;
    RedisServer redis(brokers.path() + "/redis");
    NatsServer nats(brokers.path() + "/nats");
    ASSERT_TRUE(redis.start());
    ASSERT_TRUE(nats.start());
    ordersystem::clustertest::HookReceiver hooks;

    std::map<std::string, Families> byMode;
    byMode["standalone"] = scrape("transport-inmemory", "", hooks.url());
    byMode["distributed"] = scrape("transport-redis", redis.url(), hooks.url());
    byMode["cluster"] = scrape("transport-nats", nats.url(), hooks.url());

    const Families& reference = byMode["standalone"];
    for (const auto& [mode, families] : byMode) {
        ASSERT_GT(families.size(), 20u) << mode << " scraped too little";
        for (const auto& [name, family] : families) {
            if (engineOnly(name)) {
                EXPECT_EQ(name.rfind(kEnginePrefix.at(mode), 0), 0u)
                    << name << " is another engine's family but shows in " << mode;
                continue;
            }
            EXPECT_FALSE(family.help.empty()) << name << " has no help text in " << mode;
            for (const auto& [other, otherFamilies] : byMode) {
                auto it = otherFamilies.find(name);
                if (it == otherFamilies.end()) {
                    ADD_FAILURE() << name << " shows in " << mode << " but not in " << other
                                  << " (a family of one engine must be named ordersystem_<engine>_...)";
                    continue;
                }
                EXPECT_EQ(family.type, it->second.type) << name << ": " << mode << " vs " << other;
                EXPECT_EQ(family.help, it->second.help) << name << ": " << mode << " vs " << other;
            }
        }
    }
    // The families every operator alerts on, present in all three.
    for (const char* name : {"ordersystem_events_appended_total", "ordersystem_event_append_seconds",
                             "ordersystem_event_append_conflicts_total", "ordersystem_projection_position",
                             "ordersystem_projection_lag_events", "ordersystem_projection_apply_failures_total",
                             "ordersystem_reaction_events_total", "ordersystem_reaction_dead_letters_total",
                             "ordersystem_reaction_duplicates_total"})
        EXPECT_EQ(reference.count(name), 1u) << name;
}

}  // namespace
