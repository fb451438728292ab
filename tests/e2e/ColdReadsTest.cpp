// Reads after the read model's file left the kernel's page cache (a VM reclaims it within
// minutes): the event loop must not wait for the disk with all its connections; such a read goes
// to a worker, answers correctly, and is counted for the operator.
#include "E2e.h"

#include <thread>

using namespace e2e;

TEST_F(StandaloneTest, OrdersWhoseRowsLeftThePageCacheAreAnsweredByWorkersAndCounted) {
    // ~1,000 orders of 20 items: a read model of a few MB, so most rows lie far from the pages
    // a start-up reads.
    std::vector<std::tuple<std::string, int, std::string>> items;
    for (int i = 0; i < 20; ++i) items.emplace_back("Item number " + std::to_string(i), i + 1, "12.34");
    std::vector<int64_t> ids(1000);
    std::vector<std::thread> writers;
    for (int t = 0; t < 8; ++t)
        writers.emplace_back([&, t] {
            for (size_t i = static_cast<size_t>(t); i < ids.size(); i += 8) {
                const HttpResult r = httpPostJson(port(), "/api/orders", orderBody("Cold" + std::to_string(t), items));
                ids[i] = r.status == 201 ? intField(r.json(), "orderId") : 0;
            }
        });
    for (auto& w : writers) w.join();
    for (const int64_t id : ids) ASSERT_GT(id, 0) << "a create failed";

    // The restart empties the hot cache.
    ASSERT_EQ(node->stop(), 0) << node->output();
    const std::string readModel = node->dataRoot() + "/data/orders.db";
    if (!evictFromPageCache(readModel)) GTEST_SKIP() << "this file system keeps " << readModel << " in memory";
    evictFromPageCache(readModel + "-wal");  // whatever a stop left there must come from the disk too
    ASSERT_TRUE(node->start()) << node->output();
    ASSERT_TRUE(node->waitReady()) << node->output();

    for (size_t i = ids.size() - 1; i >= 600; i -= 37) {
        const HttpResult r = get("/api/orders/" + std::to_string(ids[i]));
        ASSERT_EQ(r.status, 200) << r.body;
        const JsonValue order = r.json();
        EXPECT_EQ(intField(order, "id"), ids[i]);
        const JsonValue* lines = order.find("items");
        ASSERT_NE(lines, nullptr) << r.body;
        EXPECT_EQ(lines->items().size(), 20u);
    }
    const HttpResult list = get("/api/orders/customer/Cold3?limit=1000");
    ASSERT_EQ(list.status, 200) << list.body;
    EXPECT_EQ(list.json().items().size(), 125u);

    const std::string metrics = get("/metrics").body;
    EXPECT_GE(metricSample(metrics, "ordersystem_reads_sent_to_workers_total{reason=\"disk\"}"), 1)
        << "no read was sent to a worker: the loop waited for the disk itself";
    EXPECT_EQ(metricSample(metrics, "ordersystem_queries_total{query=\"GetOrder\",outcome=\"unavailable\"}"), 0)
        << "a refused page-cache read must not count as a failed query";
}
