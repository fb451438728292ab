// What an operator scrapes and probes on a standalone node with the real plugins: /metrics in
// Prometheus conventions with the host's and the plugins' families, /health/ready checking the
// database and the event log, /health/live checking nothing, and the bundled Swagger UI files.
#include <gtest/gtest.h>

#include <map>
#include <regex>
#include <sstream>

#include "ServiceNode.h"

namespace ordersystem::service {
namespace {

using testing::httpGet;
using testing::HttpResult;

#define EXPECT_MENTIONS(text, part) EXPECT_NE((text).find(part), std::string::npos) << (text)

/// family name -> TYPE from the "# TYPE" lines.
std::map<std::string, std::string> families(const std::string& text) {
    std::map<std::string, std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        if (line.rfind("# TYPE ", 0) != 0) continue;
        std::istringstream f(line.substr(7));
        std::string name, type;
        f >> name >> type;
        out[name] = type;
    }
    return out;
}

class OperationsTest : public ::testing::Test {
protected:
    void SetUp() override { ASSERT_TRUE(_node.status().isOk()) << _node.status().message; }
    test::ServiceNode _node;
};

TEST_F(OperationsTest, MetricsCarryHostAndPluginFamiliesInPrometheusConventions) {
    const int port = _node.port();
    const HttpResult created = testing::httpPostJson(
        port, "/api/orders", R"({"customerName":"Ann","items":[{"productName":"Pen","quantity":1,"price":1.5}]})");
    ASSERT_EQ(created.status, 201) << created.body;
    EXPECT_EQ(httpGet(port, "/api/orders/999999").status, 404);
    const HttpResult r = httpGet(port, "/metrics");
    ASSERT_EQ(r.status, 200);
    EXPECT_MENTIONS(r.header("content-type"), "text/plain; version=0.0.4");
    const auto fam = families(r.body);
    const std::map<std::string, std::string> expected = {
        // host
        {"ordersystem_http_requests_total", "counter"},
        {"ordersystem_http_request_duration_seconds", "histogram"},
        {"ordersystem_build_info", "gauge"},
        {"process_cpu_seconds_total", "counter"},
        {"process_resident_memory_bytes", "gauge"},
        {"process_open_fds", "gauge"},
        {"process_start_time_seconds", "gauge"},
        // plugins of the standalone mode
        {"ordersystem_commands_total", "counter"},
        {"ordersystem_events_appended_total", "counter"},
        {"ordersystem_inmemory_commit_batch_size", "histogram"},
        {"ordersystem_projection_position", "gauge"},
        {"ordersystem_webhook_deliveries_total", "counter"},
        {"ordersystem_reaction_dead_letters_total", "counter"},
        // measured by the host around every transport (ObservedEventLog)
        {"ordersystem_events_applied_total", "counter"},
        {"ordersystem_projection_lag_events", "gauge"},
        {"ordersystem_reaction_events_total", "counter"},
    };
    for (const auto& [name, type] : expected) {
        auto it = fam.find(name);
        ASSERT_NE(it, fam.end()) << name << " is missing from /metrics:\n" << r.body;
        EXPECT_EQ(it->second, type) << name;
    }
    const std::regex validName("[a-zA-Z_:][a-zA-Z0-9_:]*");
    for (const auto& [name, type] : fam) {
        EXPECT_TRUE(std::regex_match(name, validName)) << name;
        EXPECT_TRUE(name.rfind("ordersystem_", 0) == 0 || name.rfind("process_", 0) == 0)
            << name << " lacks the ordersystem_ prefix (process_ is the standard process family)";
        if (type == "counter") EXPECT_EQ(name.substr(name.size() - 6), "_total") << name;
        else EXPECT_NE(name.substr(name.size() - 6), "_total") << name << " is a " << type << " named like a counter";
        EXPECT_MENTIONS(r.body, "# HELP " + name + " ");
    }
    EXPECT_MENTIONS(r.body, "ordersystem_build_info{version=\"");
    EXPECT_MENTIONS(r.body,
                    "ordersystem_http_requests_total{method=\"POST\",route=\"/api/orders\",status=\"201\"} 1\n");
    EXPECT_MENTIONS(r.body,
                    "ordersystem_http_requests_total{method=\"GET\",route=\"/api/orders/{id}\",status=\"404\"} 1\n");
    EXPECT_MENTIONS(
        r.body,
        "ordersystem_http_request_duration_seconds_bucket{method=\"POST\",route=\"/api/orders\",status=\"201\",le=\"+Inf\"} 1\n");
}

TEST_F(OperationsTest, ProjectionLagFallsToZeroOnceTheReadModelHasAppliedTheNewEvents) {
    const int port = _node.port();
    for (int i = 0; i < 3; ++i) {
        ASSERT_EQ(
            testing::httpPostJson(port, "/api/orders",
                                  R"({"customerName":"Lag","items":[{"productName":"P","quantity":1,"price":1}]})")
                .status,
            201);
    }
    auto metricsMention = [port](const std::string& line, std::string& last) {
        return testing::waitUntil(
            [&] {
                last = httpGet(port, "/metrics").body;
                return last.find(line) != std::string::npos;
            },
            std::chrono::seconds(20));
    };
    std::string last;
    EXPECT_TRUE(metricsMention("ordersystem_events_applied_total{projection=\"orders-read-model\"} 3\n", last)) << last;
    EXPECT_TRUE(metricsMention("ordersystem_projection_lag_events{projection=\"orders-read-model\"} 0\n", last))
        << last;
    EXPECT_TRUE(
        metricsMention("ordersystem_reaction_events_total{reaction=\"notifications\",outcome=\"ok\"} 3\n", last))
        << last;
}

TEST_F(OperationsTest, ReadinessChecksTheEventLogAndTheReadModelLivenessChecksNothing) {
    const HttpResult ready = httpGet(_node.port(), "/health/ready");
    ASSERT_EQ(ready.status, 200) << ready.body;
    const sdk::JsonValue doc = ready.json();
    std::vector<std::string> names;
    for (const auto& c : doc.find("checks")->items()) names.push_back(c.find("name")->asString());
    auto has = [&names](const std::string& n) { return std::find(names.begin(), names.end(), n) != names.end(); };
    EXPECT_TRUE(has("event-log")) << ready.body;          // the transport
    EXPECT_TRUE(has("orders-read-model")) << ready.body;  // the database
    const HttpResult live = httpGet(_node.port(), "/health/live");
    ASSERT_EQ(live.status, 200);
    EXPECT_TRUE(live.json().find("checks")->items().empty()) << live.body;
}

TEST_F(OperationsTest, SwaggerUiIsServedFromTheBundledFilesPointingAtOurDocument) {
    const HttpResult page = httpGet(_node.port(), "/swagger");
    ASSERT_EQ(page.status, 200) << page.body;
    EXPECT_MENTIONS(page.header("content-type"), "text/html");
    EXPECT_MENTIONS(page.body, "/swagger/swagger-ui-bundle.js");
    const HttpResult bundle = httpGet(_node.port(), "/swagger/swagger-ui-bundle.js");
    ASSERT_EQ(bundle.status, 200);
    EXPECT_MENTIONS(bundle.header("content-type"), "javascript");
    EXPECT_GT(bundle.body.size(), 100000u);
    EXPECT_MENTIONS(httpGet(_node.port(), "/swagger/swagger-initializer.js").body, "/openapi.json");
    EXPECT_EQ(httpGet(_node.port(), "/swagger/swagger-ui.css").status, 200);
    EXPECT_EQ(httpGet(_node.port(), "/swagger/..%2Fopenapi.json").status, 404);
    // Nothing in the page reaches out to another host (works offline).
    EXPECT_EQ(page.body.find("http://"), std::string::npos) << page.body;
    EXPECT_EQ(page.body.find("https://"), std::string::npos) << page.body;
}

}  // namespace
}  // namespace ordersystem::service
