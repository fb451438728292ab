// Metrics: Prometheus text format 0.0.4 as a scraper reads it.
#include <gtest/gtest.h>

#include "Metrics.h"

namespace ordersystem::host {
namespace {

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST(Metrics, CounterIsRenderedWithHelpTypeAndLabels) {
    MetricsRegistry m;
    m.counter("ordersystem_orders_created_total", "Orders created", {{"node", "n\"1"}}).inc();
    m.counter("ordersystem_orders_created_total", "Orders created", {{"node", "n\"1"}}).inc(2);
    const std::string text = m.render();
    EXPECT_TRUE(contains(text, "# HELP ordersystem_orders_created_total Orders created\n")) << text;
    EXPECT_TRUE(contains(text, "# TYPE ordersystem_orders_created_total counter\n")) << text;
    EXPECT_TRUE(contains(text, "ordersystem_orders_created_total{node=\"n\\\"1\"} 3\n")) << text;
}

TEST(Metrics, HistogramBucketsAreCumulativeWithSumAndCount) {
    MetricsRegistry m;
    auto& h = m.histogram("ordersystem_x_seconds", "x", {{"route", "/a"}}, {0.1, 1.0});
    h.observe(0.05);
    h.observe(0.5);
    h.observe(5.0);
    const std::string text = m.render();
    EXPECT_TRUE(contains(text, "# TYPE ordersystem_x_seconds histogram\n")) << text;
    EXPECT_TRUE(contains(text, "ordersystem_x_seconds_bucket{route=\"/a\",le=\"0.1\"} 1\n")) << text;
    EXPECT_TRUE(contains(text, "ordersystem_x_seconds_bucket{route=\"/a\",le=\"1\"} 2\n")) << text;
    EXPECT_TRUE(contains(text, "ordersystem_x_seconds_bucket{route=\"/a\",le=\"+Inf\"} 3\n")) << text;
    EXPECT_TRUE(contains(text, "ordersystem_x_seconds_sum{route=\"/a\"} 5.55\n")) << text;
    EXPECT_TRUE(contains(text, "ordersystem_x_seconds_count{route=\"/a\"} 3\n")) << text;
}

TEST(Metrics, SameNameAndLabelsGiveTheSameInstrument) {
    MetricsRegistry m;
    EXPECT_EQ(&m.gauge("g", "g", {{"a", "1"}}), &m.gauge("g", "g", {{"a", "1"}}));
    EXPECT_NE(&m.gauge("g", "g", {{"a", "1"}}), &m.gauge("g", "g", {{"a", "2"}}));
    m.counter("g", "g").inc();  // another type under the same name: works, is not exported, is noted
    EXPECT_TRUE(contains(m.render(), "# ordersystem: metric g was registered again with another type"));
    EXPECT_TRUE(contains(m.render(), "# TYPE g gauge\n"));
}

}  // namespace
}  // namespace ordersystem::host
