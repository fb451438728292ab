// The orders read model: rebuild from the log, schema migration, readiness, the bounded cache.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include <filesystem>

#include "OrdersFixture.h"
#include "domain/Order.h"
#include "ordersystem/sqlite/db.h"

namespace ordersystem::plugins::orders::testing {
namespace {

class OrdersReadModel : public OrdersTest {
protected:
    /// Every read from here on goes to SQLite.
    void restartWithoutCache() {
        stopPlugin();
        OrdersSettings none;
        none.cacheEntries = 0;
        startPlugin(none);
    }
};
using OrdersConfig = OrdersTest;

/// Runs sql on the file as another program would (a second connection).
void runSql(const std::string& path, const char* sql) {
    sqlite::Db db;
    ASSERT_TRUE(db.open(path, false).isOk()) << path;
    const auto s = db.execute(sql);
    ASSERT_TRUE(s.isOk()) << s.message;
}

int64_t userVersion(const std::string& path) {
    sqlite::Db db;
    if (!db.open(path, true).isOk()) return -1;
    auto v = db.queryInt("PRAGMA user_version");
    return v ? *v : -1;
}

TEST_F(OrdersReadModel, DeletedDatabaseIsRebuiltFromTheLogOnNextStart) {
    const int64_t a = createOrder("Alice");
    const int64_t b = createOrder("Bob");
    post(url(a, "/process"));
    post(url(b, "/cancel"), {{"reason", "gone"}});
    const std::string beforeA = get(url(a)).body, beforeB = get(url(b)).body;
    const std::string list = get("/api/orders").body;
    stopPlugin();
    std::filesystem::remove(dbPath());  // the -wal file beside it must not be replayed into the new one
    ASSERT_FALSE(std::filesystem::exists(dbPath()));
    startPlugin();
    ASSERT_TRUE(waitCaughtUp());
    EXPECT_EQ(get(url(a)).body, beforeA);
    EXPECT_EQ(get(url(b)).body, beforeB);
    EXPECT_EQ(get("/api/orders").body, list);
    EXPECT_TRUE(std::filesystem::exists(dbPath()));
}

TEST_F(OrdersReadModel, RestartResumesFromItsCheckpointWithoutReapplying) {
    const int64_t a = createOrder();
    post(url(a, "/process"));
    ASSERT_TRUE(waitCaughtUp());
    stopPlugin();
    startPlugin();
    EXPECT_EQ(plugin->readModel()->checkpoint(), log.eventCount());
    EXPECT_EQ(statusOf(a), "Processing");
    EXPECT_EQ(versionOf(a), "2");
}

TEST_F(OrdersReadModel, AfterARestartBeforeTheModelCaughtUpAReadWaitsForItInsteadOfAnswering404) {
    log.pauseDelivery(true);
    const int64_t a = createOrder();  // acknowledged, cached, not yet in SQLite
    stopPlugin();
    startPlugin();
    std::thread resume([this] {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        log.pauseDelivery(false);
    });
    const std::string status = statusOf(a);
    resume.join();
    EXPECT_EQ(status, "Pending");
}

TEST_F(OrdersReadModel, OlderSchemaIsMigratedInPlaceKeepingItsRows) {
    const int64_t a = createOrder("Old Customer");
    stopPlugin();
    std::filesystem::remove(dbPath());
    // Schema version 2, the first this plugin wrote: no document column, lists indexed by id.
    runSql(dbPath(),
           "CREATE TABLE orders (id INTEGER PRIMARY KEY, order_number TEXT NOT NULL, customer_name TEXT NOT NULL, "
           "total_cents INTEGER NOT NULL, status INTEGER NOT NULL, version INTEGER NOT NULL, items_json TEXT NOT NULL, "
           "created_at_ms INTEGER NOT NULL, processed_at_ms INTEGER NOT NULL DEFAULT 0, "
           "completed_at_ms INTEGER NOT NULL DEFAULT 0, cancelled_at_ms INTEGER NOT NULL DEFAULT 0, "
           "has_cancel_reason INTEGER NOT NULL DEFAULT 0, cancel_reason TEXT NOT NULL DEFAULT '');"
           "CREATE TABLE checkpoints (projection TEXT PRIMARY KEY, position INTEGER NOT NULL);"
           "CREATE INDEX orders_by_customer ON orders(customer_name, id);"
           "CREATE INDEX orders_by_status ON orders(status, id);"
           "INSERT INTO orders VALUES (1, 'ORD-OLD-0001', 'Old Customer', 99999, 0, 1, "
           "'[{\"productName\":\"Laptop\",\"quantity\":1,\"price\":999.99}]', 1000, 0, 0, 0, 0, '');"
           "INSERT INTO checkpoints VALUES ('orders-read-model', 1);"
           "PRAGMA user_version=2");
    startPlugin();
    EXPECT_EQ(userVersion(dbPath()), store::kSchemaVersion);
    EXPECT_TRUE(host->fakeLogger().contains("migrated schema"));
    auto doc = json(get(url(a)).body);
    EXPECT_EQ(str(doc, "orderNumber"), "ORD-OLD-0001") << "the row was kept, not rebuilt";
    EXPECT_EQ(str(doc, "cancelReason"), "null");
    auto r = post(url(a, "/cancel"), {{"reason", "migrated"}});
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(str(json(get(url(a)).body), "cancelReason"), "migrated");
    EXPECT_EQ(json(get("/api/orders", {{"status", "Cancelled"}}).body).find("items")->items().size(), 1u);
}

TEST_F(OrdersReadModel, ASchemaThisBuildCannotMigrateRefusesToStartNamingTheFile) {
    // 99: newer than this build; 1: older than any this plugin wrote.
    for (const char* version : {"99", "1"}) {
        stopPlugin();
        runSql(dbPath(), (std::string("PRAGMA user_version=") + version).c_str());
        host = std::make_unique<ordersystem::testing::FakeHost>(dir(), "node-a");
        host->provideEventLog(&log);
        plugin = std::make_unique<OrdersPlugin>(OrdersSettings{});
        auto s = plugin->start(*host);
        EXPECT_FALSE(s.isOk()) << version;
        EXPECT_NE(s.message.find("orders.db"), std::string::npos) << s.message;
        EXPECT_NE(s.message.find(std::string("version ") + version), std::string::npos) << s.message;
    }
}

TEST_F(OrdersReadModel, IsNotReadyWhileCatchingUpAndReadyOnceCaughtUp) {
    createOrder();
    stopPlugin();
    std::filesystem::remove(dbPath());
    log.pauseDelivery(true);
    startPlugin();
    ASSERT_EQ(host->healthChecks().count("orders-read-model"), 1u);
    auto check = host->healthChecks().at("orders-read-model");
    auto catching = check();
    EXPECT_FALSE(catching.healthy);
    EXPECT_NE(catching.detail.find("catching up"), std::string::npos) << catching.detail;
    log.pauseDelivery(false);
    ASSERT_TRUE(waitCaughtUp());
    EXPECT_TRUE(check().healthy) << check().detail;
}

TEST_F(OrdersReadModel, FailingDatabaseMakesItUnreadyAndIsLoggedByName) {
    createOrder();
    runSql(dbPath(), "DROP TABLE orders");  // every later write of the projection fails
    domain::NewOrder n{"Remote", {{"A", 1, 100}}};
    ASSERT_TRUE(log.appendForeign(domain::makeCreated(n, 90, "ORD-R-0090", {"node-b", 1, ""})).isOk());
    auto check = host->healthChecks().at("orders-read-model");
    for (int i = 0; i < 500 && check().healthy; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    const auto result = check();
    EXPECT_FALSE(result.healthy);
    EXPECT_NE(result.detail.find("failing"), std::string::npos) << result.detail;
    EXPECT_TRUE(host->fakeLogger().contains("orders read model: writing a batch"));
}

TEST_F(OrdersReadModel, CacheStaysBoundedAndEveryOrderIsStillReadable) {
    stopPlugin();
    OrdersSettings small;
    small.cacheEntries = 2;
    startPlugin(small);
    std::vector<int64_t> ids;
    for (int i = 0; i < 6; ++i) ids.push_back(createOrder("C" + std::to_string(i)));
    EXPECT_LE(plugin->readModel()->cache().size(), 2u);
    for (size_t i = 0; i < ids.size(); ++i)
        EXPECT_EQ(str(json(get(url(ids[i])).body), "customerName"), "C" + std::to_string(i));
    EXPECT_LE(plugin->readModel()->cache().size(), 2u);
}

TEST_F(OrdersReadModel, WithoutACacheEveryReadSeesTheLastWriteExactlyAsTheCommandAnsweredIt) {
    restartWithoutCache();
    const int64_t id = createOrder("No Cache");
    EXPECT_EQ(statusOf(id), "Pending");
    auto processed = post(url(id, "/process"));
    ASSERT_EQ(processed.status, 200) << processed.body;
    EXPECT_EQ(get(url(id)).body, processed.body);
    auto cancelled = post(url(id, "/cancel"), {{"reason", "changed my mind"}});
    ASSERT_EQ(cancelled.status, 200) << cancelled.body;
    EXPECT_EQ(get(url(id)).body, cancelled.body);
    EXPECT_EQ(plugin->readModel()->cache().size(), 0u);
}

TEST_F(OrdersReadModel, ManyConcurrentReadsOfUncachedOrdersShareTheFewReaderSessionsAndAllSucceed) {
    restartWithoutCache();
    std::vector<int64_t> ids;
    for (int i = 0; i < 8; ++i) ids.push_back(createOrder("Reader " + std::to_string(i)));
    std::atomic<int> ok{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 16; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < 50; ++i) {
                const size_t k = static_cast<size_t>(t + i) % ids.size();
                if (str(json(get(url(ids[k])).body), "customerName") == "Reader " + std::to_string(k)) ++ok;
            }
        });
    for (auto& t : threads) t.join();
    EXPECT_EQ(ok.load(), 16 * 50);
}

TEST_F(OrdersReadModel, WithoutACacheAnOrderAnotherNodeChangedIsReadAsChangedNotAsThisNodeLastReadIt) {
    restartWithoutCache();
    domain::NewOrder n{"Remote", {{"A", 1, 100}}};
    ASSERT_TRUE(log.appendForeign(domain::makeCreated(n, 91, "ORD-R-0091", {"node-b", 5000, ""})).isOk());
    ASSERT_TRUE(waitCaughtUp());
    for (int round = 0; round < 3; ++round) EXPECT_EQ(statusOf(91), "Pending");
    domain::Order remote;
    ASSERT_TRUE(domain::applyEvent(remote, log.readOrder(91)->front()).isOk());
    auto processed = domain::decideProcess(remote, {"node-b", 6000, ""});
    ASSERT_TRUE(processed.isOk());
    ASSERT_TRUE(log.appendForeign(*processed).isOk());
    ASSERT_TRUE(waitCaughtUp());
    EXPECT_EQ(statusOf(91), "Processing");
}

TEST_F(OrdersReadModel, WithoutACacheAnOrderIsFoundAsSoonAsItsBatchIsAppliedWhileOtherReadsRunThroughout) {
    restartWithoutCache();
    const int64_t busy = createOrder("Busy");
    std::atomic<bool> done{false};
    std::atomic<int> busyReads{0};
    std::thread reader([&] {
        while (!done.load())
            if (get(url(busy)).status == 200) ++busyReads;
    });
    int found = 0;
    for (int64_t id = 1000; id < 1200; ++id) {
        domain::NewOrder n{"Remote " + std::to_string(id), {{"A", 1, 100}}};
        ASSERT_TRUE(
            log.appendForeign(domain::makeCreated(n, id, "ORD-R-" + std::to_string(id), {"node-b", 5000, ""})).isOk());
        ASSERT_TRUE(waitCaughtUp());
        if (get(url(id)).status == 200) ++found;
    }
    done = true;
    reader.join();
    EXPECT_EQ(found, 200);
    EXPECT_GT(busyReads.load(), 0);
}

TEST_F(OrdersReadModel, AReaderIdleSinceItsLastReadDoesNotLetTheWalFileGrowWithTheWrites) {
    restartWithoutCache();
    const int64_t first = createOrder("First");
    ASSERT_TRUE(waitCaughtUp());
    EXPECT_EQ(statusOf(first), "Pending");  // a reader with a snapshot from before all the writes below
    std::string items = "[";
    for (int i = 0; i < 20; ++i)
        items +=
            std::string(i ? "," : "") + R"({"productName":")" + std::string(180, 'x') + R"(","quantity":1,"price":1})";
    items += "]";
    for (int i = 0; i < 1500; ++i) createOrder("Writer " + std::to_string(i), items);  // about 20 MB of rows
    ASSERT_TRUE(waitCaughtUp());
    // SQLite checkpoints at 1000 pages (4 MiB) and then writes the -wal file from its start again;
    // a snapshot held from before would keep every frame since (more than 30 MiB here).
    EXPECT_LT(std::filesystem::file_size(dbPath() + "-wal"), 8u * 1024 * 1024);
    EXPECT_EQ(statusOf(first), "Pending");
}

TEST_F(OrdersReadModel, OrdersWrittenByAnotherNodeAppearThroughTheProjection) {
    domain::NewOrder n{"Remote", {{"A", 2, 150}}};
    ASSERT_TRUE(log.appendForeign(domain::makeCreated(n, 77, "ORD-R-0077", {"node-b", 5000, ""})).isOk());
    ASSERT_TRUE(waitCaughtUp());
    auto doc = json(get(url(77)).body);
    EXPECT_EQ(str(doc, "customerName"), "Remote");
    EXPECT_EQ(str(doc, "totalAmount"), "3.00");
}

TEST_F(OrdersReadModel, CustomerListsAreNewestFirstByCreationTimeEvenWhenIdsComeFromOtherNodesBlocks) {
    // Node B's block has the higher id but created its order first.
    domain::NewOrder n{"Blocks", {{"A", 1, 100}}};
    ASSERT_TRUE(log.appendForeign(domain::makeCreated(n, 250, "ORD-B-0250", {"node-b", 1000, ""})).isOk());
    ASSERT_TRUE(log.appendForeign(domain::makeCreated(n, 120, "ORD-A-0120", {"node-a", 2000, ""})).isOk());
    ASSERT_TRUE(waitCaughtUp());
    auto list = json(get("/api/orders/customer/Blocks").body);
    ASSERT_EQ(list.items().size(), 2u);
    int64_t first = 0, second = 0;
    list.items()[0].find("id")->asInt64(&first);
    list.items()[1].find("id")->asInt64(&second);
    EXPECT_EQ(first, 120) << "the newest order (created at 2000 ms) comes first";
    EXPECT_EQ(second, 250);
}

TEST_F(OrdersReadModel, StartLogsOneInfoLineWithTheEssentials) {
    EXPECT_TRUE(host->fakeLogger().contains("read model " + dbPath()));
}

TEST_F(OrdersConfig, BadValuesAreRefusedNamingTheKey) {
    ordersystem::testing::FakeConfig config("orders", {{"database", "orders.db"},
                                                       {"cache_entries", "10"},
                                                       {"command_timeout_ms", "0"},
                                                       {"idempotency_lease_ms", "1000"},
                                                       {"max_conflict_retries", "3"},
                                                       {"stream_replay_events", "10000"},
                                                       {"stream_keepalive_ms", "15000"}});
    auto r = readSettings(config);
    ASSERT_FALSE(r.isOk());
    EXPECT_EQ(r.status().code, sdk::StatusCode::InvalidConfig);
    EXPECT_NE(r.status().message.find("command_timeout_ms"), std::string::npos);
    config.set("command_timeout_ms", "2500");
    auto ok = readSettings(config);
    ASSERT_TRUE(ok.isOk()) << ok.status().message;
    EXPECT_EQ(ok->commandTimeoutMs, 2500);
    EXPECT_EQ(ok->cacheEntries, 10);
    config.set("stream_keepalive_ms", "15001");  // the contract: at least every 15 s
    auto slow = readSettings(config);
    ASSERT_FALSE(slow.isOk());
    EXPECT_NE(slow.status().message.find("stream_keepalive_ms"), std::string::npos);
}

}  // namespace
}  // namespace ordersystem::plugins::orders::testing
