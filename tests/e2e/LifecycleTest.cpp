// The process as an operator sees it: clean stop, restart with state, crash without loss,
// configuration refused with one clear line.
#include "E2e.h"

#include <signal.h>

#include <filesystem>
#include <set>
#include <thread>

using namespace e2e;

namespace {
class Lifecycle : public StandaloneTest {
protected:
    OrderNode::Options options() override {
        OrderNode::Options o = StandaloneTest::options();
        o.durability = "full";
        return o;
    }
};
}  // namespace

TEST_F(Lifecycle, SigtermStopsTheServerWithExitCodeZero) {
    create();
    EXPECT_EQ(node->stop(), 0) << node->output();
    EXPECT_NE(httpGet(port(), "/health/live").status, 200);
}

TEST_F(Lifecycle, AnOperatorSeesWhatEachThreadDoesByItsName) {
    create();  // the log's commit thread starts with the first write
    std::multiset<std::string> names;
    const std::string tasks = "/proc/" + std::to_string(node->process()->pid()) + "/task";
    for (const auto& task : std::filesystem::directory_iterator(tasks)) {
        std::string name = readFile((task.path() / "comm").string());
        while (!name.empty() && name.back() == '\n') name.pop_back();
        names.insert(name);
    }
    EXPECT_GE(names.count("http-loop"), 1u);
    EXPECT_EQ(names.count("log-commit"), 1u);
    EXPECT_EQ(names.count("proj:orders-rea"), 1u);  // "orders-read-model", cut to 15 bytes
    EXPECT_EQ(names.count("proj:analytics"), 1u);
    EXPECT_EQ(names.count("react:notificat"), 1u);
}

TEST_F(Lifecycle, ARestartKeepsEveryOrderAndIdsContinueWithoutReuse) {
    const int64_t a = create("Keep");
    const int64_t b = create("Keep");
    ASSERT_EQ(post("/api/orders/" + std::to_string(b) + "/process").status, 200);
    restart();
    EXPECT_EQ(status(a), "Pending");
    EXPECT_EQ(status(b), "Processing");
    const int64_t c = create("Keep");
    EXPECT_GT(c, b);
    EXPECT_EQ(get("/api/orders/customer/Keep").json().items().size(), 3u);
}

TEST_F(Lifecycle, ADeletedReadModelIsRebuiltFromTheLogOnStart) {
    const int64_t a = create("Rebuild", {{"Book", 3, "15.99"}});
    ASSERT_EQ(post("/api/orders/" + std::to_string(a) + "/process").status, 200);
    ASSERT_EQ(node->stop(), 0);
    const std::string data = node->dataRoot() + "/data";
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(data + "/orders.db" + suffix);
    ASSERT_TRUE(node->start()) << node->output();
    ASSERT_TRUE(node->waitReady()) << node->output();
    EXPECT_EQ(status(a), "Processing");
    EXPECT_EQ(get("/api/orders/customer/Rebuild").json().items().size(), 1u);
}

TEST_F(Lifecycle, KillNineUnderLoadLosesNoAcknowledgedOrder) {
    std::mutex mutex;
    std::set<int64_t> acknowledged;
    std::atomic<bool> stop{false};
    std::vector<std::thread> writers;
    for (int t = 0; t < 8; ++t)
        writers.emplace_back([&, t] {
            for (int i = 0; i < 2000 && !stop.load(); ++i) {
                const HttpResult r = httpPostJson(port(), "/api/orders", orderBody("Crash" + std::to_string(t)));
                if (r.status == 201) {
                    std::lock_guard<std::mutex> lock(mutex);
                    acknowledged.insert(intField(r.json(), "orderId"));
                }
            }
        });
    ASSERT_TRUE(waitUntil(
        [&] {
            std::lock_guard<std::mutex> l(mutex);
            return acknowledged.size() >= 200;
        },
        std::chrono::seconds(60)));
    node->kill9();
    stop = true;
    for (auto& w : writers) w.join();
    ASSERT_TRUE(node->start()) << node->output();
    ASSERT_TRUE(node->waitReady()) << node->output();
    for (const int64_t id : acknowledged)
        ASSERT_EQ(get("/api/orders/" + std::to_string(id)).status, 200) << "lost " << id;
    const int64_t next = create("AfterCrash");
    EXPECT_GT(next, *acknowledged.rbegin());
    // Every stored order has exactly one OrderCreated event: nothing duplicated.
    for (const int64_t id : acknowledged) {
        ASSERT_EQ(get("/api/orders/" + std::to_string(id) + "/events").json().items().size(), 1u) << id;
        if (id > *acknowledged.begin() + 50) break;
    }
}

TEST(Configuration, CheckConfigRefusesAnUnknownKeyNamingItWithExitCodeOne) {
    TempDir dir;
    OrderNode::Options o;
    o.extraKeys["orders"]["databse"] = "typo.db";
    OrderNode node(dir.path(), o);
    ChildProcess check(hostExecutable(), {"--config=" + node.configPath(), "--check-config"}, dir.file("check.log"));
    EXPECT_EQ(check.wait(std::chrono::seconds(20)), 1);
    EXPECT_NE(check.output().find("databse"), std::string::npos) << check.output();
}

TEST(Configuration, StartRefusesAnUnknownPluginAndTwoTransportsWithExitCodeOne) {
    TempDir dir;
    OrderNode::Options unknown;
    unknown.extraPlugins = "notifications, analytics, no-such-plugin";
    OrderNode a(dir.path() + "/a", unknown);
    ChildProcess runA(hostExecutable(), {"--config=" + a.configPath()}, dir.file("a.log"));
    EXPECT_EQ(runA.wait(std::chrono::seconds(20)), 1);
    EXPECT_NE(runA.output().find("no-such-plugin"), std::string::npos) << runA.output();

    OrderNode::Options two;
    two.extraPlugins = "notifications, analytics, transport-redis";
    OrderNode b(dir.path() + "/b", two);
    ChildProcess runB(hostExecutable(), {"--config=" + b.configPath()}, dir.file("b.log"));
    EXPECT_EQ(runB.wait(std::chrono::seconds(20)), 1);
    EXPECT_NE(runB.output().find("transport"), std::string::npos) << runB.output();
}

TEST(Configuration, EnvironmentAndDefineOverrideTheIniInThatOrder) {
    TempDir dir;
    OrderNode::Options o;
    OrderNode node(dir.path(), o);
    const int envPort = freePort();
    const int definePort = freePort();
    {
        ChildProcess p(hostExecutable(), {"--config=" + node.configPath()}, dir.file("env.log"),
                       {{"ORDERSYSTEM_HTTP_PORT", std::to_string(envPort)}});
        EXPECT_TRUE(waitUntil([&] { return httpGet(envPort, "/health/live").status == 200; }, std::chrono::seconds(20)))
            << p.output();
        EXPECT_EQ(p.terminate(), 0);
    }
    {
        ChildProcess p(hostExecutable(),
                       {"--config=" + node.configPath(), "--define=http.port=" + std::to_string(definePort)},
                       dir.file("define.log"), {{"ORDERSYSTEM_HTTP_PORT", std::to_string(envPort)}});
        EXPECT_TRUE(
            waitUntil([&] { return httpGet(definePort, "/health/live").status == 200; }, std::chrono::seconds(20)))
            << p.output();
        EXPECT_EQ(p.terminate(), 0);
    }
}
