// The analytics projection driven like the transport drives it, on a FakeHost, with its real
// SQLite file in a scratch folder.
#include <gtest/gtest.h>

#include <Poco/File.h>

#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "AnalyticsPlugin.h"
#include "ordersystem/sdk/json.h"
#include "ordersystem/sqlite/db.h"
#include "ordersystem/testing/FakeHost.h"
#include "ordersystem/testing/TestSupport.h"

using namespace ordersystem::sdk;
using ordersystem::plugins::analytics::AnalyticsPlugin;
using ordersystem::testing::FakeHost;
using ordersystem::testing::TempDir;

namespace {

/// Just enough EventLog for a Projection to subscribe; the test calls apply() itself.
class FakeEventLog final : public EventLog {
public:
    std::string_view mode() const noexcept override { return "standalone"; }
    Result<int64_t> allocateOrderId() noexcept override { return Status(StatusCode::Internal, "unused"); }
    AppendResult append(AppendRequest&) noexcept override { return {}; }
    Result<std::vector<EventRecord>> readOrder(int64_t) noexcept override { return std::vector<EventRecord>{}; }
    Result<uint64_t> headPosition() noexcept override { return uint64_t{0}; }
    Result<SubscriptionId> subscribe(Projection& p) noexcept override {
        projection = &p;
        subscribedAt = p.checkpoint();
        return SubscriptionId{3};
    }
    Result<SubscriptionId> subscribe(Reaction&) noexcept override { return Status(StatusCode::Internal, "unused"); }
    void unsubscribe(SubscriptionId id) noexcept override {
        if (id == 3) projection = nullptr;
    }
    IdempotencyStore& idempotency() noexcept override { std::abort(); }
    Membership& membership() noexcept override { std::abort(); }

    Projection* projection = nullptr;
    uint64_t subscribedAt = 0;
};

/// Builds the event log of a test: positions count up from 1 in the order events are made.
class LogBuilder {
public:
    /// Positions continue after `after` (a log that already holds that many events).
    explicit LogBuilder(uint64_t after = 0) : _position(after) {}
    EventRecord created(int64_t orderId, const std::string& totalAmount, const std::string& itemsJson = "[]") {
        return make(orderId, "OrderCreated", 1,
                    R"({"customerName":"Jane","items":)" + itemsJson + R"(,"totalAmount":)" + totalAmount + "}");
    }
    EventRecord processing(int64_t orderId, int64_t version = 2) {
        return make(orderId, "OrderProcessing", version, "{}");
    }
    EventRecord completed(int64_t orderId, int64_t version = 3) {
        return make(orderId, "OrderCompleted", version, R"({"completedAt":"2025-10-11T19:25:00.000Z"})");
    }
    EventRecord cancelled(int64_t orderId, int64_t version) {
        return make(orderId, "OrderCancelled", version, R"({"reason":"changed my mind"})");
    }

private:
    EventRecord make(int64_t orderId, const std::string& type, int64_t version, std::string data) {
        EventRecord e;
        e.position = ++_position;
        e.eventId = "evt-" + std::to_string(e.position);
        e.type = type;
        e.orderId = orderId;
        e.orderNumber = "ORD-20251011192145-" + std::to_string(1000 + orderId);
        e.version = version;
        e.occurredAtMs = 1760210505123 + static_cast<int64_t>(e.position);
        e.nodeId = "node-1";
        e.dataJson = std::move(data);
        return e;
    }
    uint64_t _position;
};

/// One started analytics plugin over a data folder (kept when the node restarts).
class Node {
public:
    explicit Node(const std::string& dataDir, const std::string& database = "analytics.db") : host(dataDir) {
        host.mutableConfig().set("database", database);
        host.provideEventLog(&log);
        Status error;
        plugin = AnalyticsPlugin::create(host.config(), &error);
        if (!plugin) throw std::runtime_error("create failed: " + error.message);
        const Status s = plugin->start(host);
        if (!s) throw std::runtime_error("start failed: " + s.message);
    }
    ~Node() { plugin->stop(); }

    Status apply(const std::vector<EventRecord>& batch) { return plugin->apply(batch); }
    /// GET /api/analytics as a client sees it.
    JsonValue get() {
        const HttpResponse res = host.fakeRouter().call("GET", "/api/analytics");
        if (res.status != 200) throw std::runtime_error("GET /api/analytics answered " + std::to_string(res.status));
        lastBody = res.body;
        auto parsed = parseJson(res.body);
        if (!parsed) throw std::runtime_error("not JSON: " + res.body);
        return parsed.value();
    }
    int64_t count(const char* status) {
        int64_t n = -1;
        const JsonValue doc = get();
        const JsonValue* by = doc.find("ordersByStatus");
        if (!by || !by->find(status) || !by->find(status)->asInt64(&n))
            throw std::runtime_error("no count for " + std::string(status));
        return n;
    }
    std::string money(const char* key) {
        const JsonValue doc = get();
        const JsonValue* v = doc.find(key);
        if (!v || !v->isNumber()) throw std::runtime_error(std::string("no number ") + key);
        return v->numberText();
    }

    FakeHost host;
    FakeEventLog log;
    std::unique_ptr<AnalyticsPlugin> plugin;
    std::string lastBody;
};

}  // namespace

TEST(Analytics, CountsMoveBetweenStatusesAsOrdersProgress) {
    TempDir dir;
    Node node(dir.path());
    LogBuilder b;
    ASSERT_TRUE(node.apply({b.created(1, "10.00"), b.created(2, "20.00"), b.created(3, "30.00"), b.created(4, "40.00")})
                    .isOk());
    EXPECT_EQ(node.count("Pending"), 4);

    ASSERT_TRUE(node.apply({b.processing(1), b.processing(2)}).isOk());
    EXPECT_EQ(node.count("Pending"), 2);
    EXPECT_EQ(node.count("Processing"), 2);

    ASSERT_TRUE(node.apply({b.completed(1), b.cancelled(2, 3), b.cancelled(3, 2)}).isOk());
    const JsonValue doc = node.get();
    int64_t total = 0;
    ASSERT_TRUE(doc.find("totalOrders")->asInt64(&total));
    EXPECT_EQ(total, 4);
    EXPECT_EQ(node.count("Pending"), 1);
    EXPECT_EQ(node.count("Processing"), 0);
    EXPECT_EQ(node.count("Completed"), 1);
    EXPECT_EQ(node.count("Cancelled"), 2);
    EXPECT_EQ(node.money("completedRevenue"), "10.00");
    EXPECT_EQ(node.money("averageOrderValue"), "25.00") << "all orders count, cancelled too";
}

TEST(Analytics, AnEmptySystemAnswersAllFourStatusesWithZero) {
    TempDir dir;
    Node node(dir.path());
    EXPECT_EQ(node.host.fakeRouter().call("GET", "/api/analytics").body,
              R"({"totalOrders":0,"ordersByStatus":{"Pending":0,"Processing":0,"Completed":0,"Cancelled":0},)"
              R"("completedRevenue":0.00,"averageOrderValue":0.00})");
}

TEST(Analytics, RevenueIsExactToTheCent) {
    TempDir dir;
    Node node(dir.path());
    LogBuilder b;
    const std::string items = R"([{"productName":"Mug","quantity":3,"price":15.99}])";
    std::vector<EventRecord> batch;
    for (int64_t id = 1; id <= 10; ++id) batch.push_back(b.created(id, "47.97", items));
    for (int64_t id = 1; id <= 10; ++id) batch.push_back(b.processing(id));
    for (int64_t id = 1; id <= 10; ++id) batch.push_back(b.completed(id));
    ASSERT_TRUE(node.apply(batch).isOk());
    EXPECT_EQ(node.money("completedRevenue"), "479.70") << "10 x 3 x 15.99, no floating-point drift";
    EXPECT_EQ(node.money("averageOrderValue"), "47.97");
}

TEST(Analytics, TheAverageIsRoundedHalfUpToTheCent) {
    TempDir dir;
    Node node(dir.path());
    LogBuilder b;
    ASSERT_TRUE(node.apply({b.created(1, "0.01"), b.created(2, "0.02")}).isOk());
    EXPECT_EQ(node.money("averageOrderValue"), "0.02") << "0.015 rounds up";
    ASSERT_TRUE(node.apply({b.created(3, "10.00")}).isOk());
    EXPECT_EQ(node.money("averageOrderValue"), "3.34") << "10.03 / 3 = 3.3433";
}

TEST(Analytics, SeveralEventsOfOneOrderInOneBatchAllCount) {
    TempDir dir;
    Node node(dir.path());
    LogBuilder b;
    ASSERT_TRUE(node.apply({b.created(9, "99.99"), b.processing(9), b.completed(9)}).isOk());
    EXPECT_EQ(node.count("Completed"), 1);
    EXPECT_EQ(node.count("Pending"), 0);
    EXPECT_EQ(node.money("completedRevenue"), "99.99");
    EXPECT_EQ(node.plugin->checkpoint(), 3u);
}

TEST(Analytics, ARestartResumesFromTheCheckpointWithoutCountingTwice) {
    TempDir dir;
    LogBuilder b;
    const std::vector<EventRecord> first = {b.created(1, "15.99"), b.created(2, "5.00"), b.processing(1)};
    const std::vector<EventRecord> second = {b.completed(1)};
    std::string before;
    {
        Node node(dir.path());
        ASSERT_TRUE(node.apply(first).isOk());
        ASSERT_TRUE(node.apply(second).isOk());
        node.get();
        before = node.lastBody;
    }
    Node again(dir.path());
    EXPECT_EQ(again.plugin->checkpoint(), 4u);
    EXPECT_EQ(again.log.subscribedAt, 4u) << "the transport is told to resume after position 4";
    again.get();
    EXPECT_EQ(again.lastBody, before) << "aggregates come back from the file";

    EXPECT_TRUE(again.apply(first).isOk()) << "a replayed batch is acknowledged";
    EXPECT_EQ(again.plugin->checkpoint(), 4u) << "the checkpoint never moves back";
    EXPECT_TRUE(again.apply(second).isOk());
    again.get();
    EXPECT_EQ(again.lastBody, before) << "and changes nothing";
    EXPECT_EQ(again.count("Completed"), 1);
    EXPECT_EQ(again.money("completedRevenue"), "15.99");
}

TEST(Analytics, AFileOfThePreviousSchemaKeepsItsFiguresAndGoesOnCounting) {
    TempDir dir;
    {
        // What schema version 1 wrote: per-order rows and the checkpoint, no stored totals.
        ordersystem::sqlite::Db db;
        ASSERT_TRUE(db.open(dir.path() + "/analytics.db", false).isOk());
        const char* sql =
            "CREATE TABLE orders (order_id INTEGER PRIMARY KEY NOT NULL, status TEXT NOT NULL,"
            " total_cents INTEGER NOT NULL, version INTEGER NOT NULL);"
            "CREATE TABLE checkpoint (id INTEGER PRIMARY KEY CHECK (id = 1), position INTEGER NOT NULL);"
            "INSERT INTO checkpoint VALUES (1, 7);"
            "INSERT INTO orders VALUES (1, 'Completed', 1599, 3), (2, 'Cancelled', 500, 2), (3, 'Pending', 300, 1),"
            " (4, 'Pending', 101, 1);"
            "PRAGMA user_version = 1;";
        const Status s = db.execute(sql);
        ASSERT_TRUE(s.isOk()) << s.message;
    }
    std::string before;
    {
        Node node(dir.path());
        EXPECT_EQ(node.plugin->checkpoint(), 7u);
        EXPECT_EQ(node.count("Pending"), 2);
        EXPECT_EQ(node.count("Completed"), 1);
        EXPECT_EQ(node.count("Cancelled"), 1);
        EXPECT_EQ(node.money("completedRevenue"), "15.99");
        EXPECT_TRUE(node.host.fakeLogger().contains("upgraded from schema 1"));
        LogBuilder b(7);  // the file's checkpoint
        ASSERT_TRUE(node.apply({b.processing(3)}).isOk());
        EXPECT_EQ(node.count("Pending"), 1);
        EXPECT_EQ(node.count("Processing"), 1);
        node.get();
        before = node.lastBody;
    }
    Node again(dir.path());
    again.get();
    EXPECT_EQ(again.lastBody, before) << "the figures after the upgrade come back from the file";
}

TEST(Analytics, ABatchOverlappingTheCheckpointCountsOnlyTheNewEvents) {
    TempDir dir;
    Node node(dir.path());
    LogBuilder b;
    const EventRecord c1 = b.created(1, "1.00"), c2 = b.created(2, "2.00"), c3 = b.created(3, "3.00");
    ASSERT_TRUE(node.apply({c1, c2}).isOk());
    ASSERT_TRUE(node.apply({c2, c3}).isOk());
    EXPECT_EQ(node.count("Pending"), 3);
    EXPECT_EQ(node.plugin->checkpoint(), 3u);
}

TEST(Analytics, DeletingTheFileRebuildsItFromTheLog) {
    TempDir dir;
    LogBuilder b;
    const std::vector<EventRecord> log = {b.created(1, "15.99"), b.created(2, "5.00"), b.processing(1), b.completed(1),
                                          b.cancelled(2, 2)};
    std::string before;
    {
        Node node(dir.path());
        ASSERT_TRUE(node.apply(log).isOk());
        node.get();
        before = node.lastBody;
    }
    for (const char* suffix : {"", "-wal", "-shm"}) {
        Poco::File f(dir.path() + "/analytics.db" + suffix);
        if (f.exists()) f.remove();
    }
    Node rebuilt(dir.path());
    EXPECT_EQ(rebuilt.plugin->checkpoint(), 0u) << "an empty file starts at the beginning of the log";
    EXPECT_EQ(rebuilt.count("Completed"), 0);
    EXPECT_TRUE(rebuilt.host.fakeLogger().contains("rebuilding"));
    ASSERT_TRUE(rebuilt.apply(log).isOk());
    rebuilt.get();
    EXPECT_EQ(rebuilt.lastBody, before);
}

TEST(Analytics, TheDatabaseKeyNamesAFileUnderTheDataFolder) {
    TempDir dir;
    {
        Node node(dir.path(), "stats/analytics-custom.db");
        LogBuilder b;
        ASSERT_TRUE(node.apply({b.created(1, "1.00")}).isOk());
    }
    EXPECT_TRUE(Poco::File(dir.path() + "/stats/analytics-custom.db").exists());
    EXPECT_FALSE(Poco::File(dir.path() + "/analytics.db").exists());
}

TEST(Analytics, ReportsReadinessAndStopUnsubscribes) {
    TempDir dir;
    Node node(dir.path());
    ASSERT_EQ(node.log.projection, node.plugin.get());
    ASSERT_EQ(node.host.healthChecks().count("analytics"), 1u);
    EXPECT_TRUE(node.host.healthChecks().at("analytics")().healthy);
    node.plugin->stop();
    EXPECT_EQ(node.log.projection, nullptr);
}

TEST(Analytics, AnEventForAnOrderNeverCreatedIsSkippedButTheCheckpointMoves) {
    TempDir dir;
    Node node(dir.path());
    LogBuilder b;
    ASSERT_TRUE(node.apply({b.processing(77)}).isOk());
    EXPECT_EQ(node.count("Processing"), 0);
    EXPECT_EQ(node.plugin->checkpoint(), 1u);
    EXPECT_TRUE(node.host.fakeLogger().contains("order 77"));
}

TEST(Analytics, AnUnusableFileFailsStartWithItsName) {
    TempDir dir;
    Poco::File(dir.path() + "/analytics.db").createDirectories();  // a folder where the file should be
    FakeHost host(dir.path());
    FakeEventLog log;
    host.mutableConfig().set("database", "analytics.db");
    host.provideEventLog(&log);
    Status error;
    auto plugin = AnalyticsPlugin::create(host.config(), &error);
    ASSERT_TRUE(plugin);
    const Status s = plugin->start(host);
    EXPECT_FALSE(s.isOk());
    EXPECT_NE(s.message.find("analytics.db"), std::string::npos) << s.message;
    EXPECT_EQ(log.projection, nullptr);
}

TEST(Analytics, ALargeBatchCountsEveryOrderOnce) {
    TempDir dir;
    Node node(dir.path());
    LogBuilder b;
    std::vector<EventRecord> batch;
    for (int64_t id = 1; id <= 600; ++id) batch.push_back(b.created(id, "1.01"));
    for (int64_t id = 1; id <= 600; id += 2) batch.push_back(b.processing(id));
    ASSERT_TRUE(node.apply(batch).isOk());
    EXPECT_EQ(node.count("Pending"), 300);
    EXPECT_EQ(node.count("Processing"), 300);
    EXPECT_EQ(node.money("averageOrderValue"), "1.01");
    node.plugin->stop();
    Node again(dir.path());
    EXPECT_EQ(again.count("Processing"), 300) << "every row reached the file";
    EXPECT_EQ(again.plugin->checkpoint(), 900u);
}
