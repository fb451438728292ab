// The operator commands against the built executable: --export from a serving node, --import
// into Redis and NATS (the imported node serves the same orders), refusals that change nothing,
// and --backup of a node while a client keeps creating.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <thread>

#include "E2e.h"
#include "MoveData.h"
#include "ordersystem/sdk/events.h"

namespace e2e {
namespace {

bool pathExists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

OrderNode::Options standalone(const std::string& nodeId) {
    OrderNode::Options o;
    o.nodeId = nodeId;
    o.extraPlugins = "analytics";
    return o;
}

/// A standalone node with orders in every status; their ids.
std::vector<int64_t> seedOrders(OrderNode& node, int count) {
    std::vector<int64_t> ids;
    for (int i = 0; i < count; ++i) {
        const int64_t id = createOrder(node.port(), "Customer " + std::to_string(i % 7));
        EXPECT_GT(id, 0);
        ids.push_back(id);
        const std::string path = "/api/orders/" + std::to_string(id);
        // Pending, Processing, Completed, Cancelled in turn.
        if (i % 4 == 1 || i % 4 == 2) {
            EXPECT_EQ(httpRequest(node.port(), "POST", path + "/process").status, 200);
        }
        if (i % 4 == 2) {
            EXPECT_EQ(httpRequest(node.port(), "POST", path + "/complete").status, 200);
        }
        if (i % 4 == 3) {
            EXPECT_EQ(httpRequest(node.port(), "POST", path + "/cancel?reason=moved").status, 200);
        }
    }
    return ids;
}

/// Keeps creating orders on a node until stopped; counts the 201s.
class BusyClient {
public:
    explicit BusyClient(int port)
        : _thread([this, port] {
              while (!_stop)
                  if (createOrder(port, "Busy") > 0) ++created;
          }) {}
    ~BusyClient() { stop(); }
    void stop() {
        _stop = true;
        if (_thread.joinable()) _thread.join();
    }
    std::atomic<int> created{0};

private:
    std::atomic<bool> _stop{false};
    std::thread _thread;
};

class MoveDataTest : public ::testing::Test {
protected:
    void SetUp() override {
        source = std::make_unique<OrderNode>(dir.file("source"), standalone("source"));
        ASSERT_TRUE(source->start()) << source->output();
        ids = seedOrders(*source, 40);
    }
    /// Exports the source while it serves; the file's path.
    std::string exportSource() {
        const std::string file = dir.file("orders.jsonl");
        const CommandRun run = runCommand(source->configPath(), "--export=" + file);
        EXPECT_EQ(run.exitCode, 0) << run.err;
        return file;
    }
    /// Imports file through target's ini, starts target, and checks it serves what the source does.
    void importAndCompare(OrderNode& target, const std::string& file) {
        const CommandRun run = runCommand(target.configPath(), "--import=" + file);
        ASSERT_EQ(run.exitCode, 0) << run.err;
        ASSERT_EQ(run.outLines().size(), 1u) << run.out;
        EXPECT_NE(run.outLines()[0].find("imported " + std::to_string(fileLines(file).size()) + " events"),
                  std::string::npos)
            << run.out;
        ASSERT_TRUE(target.start()) << target.output();
        ASSERT_TRUE(target.waitReady()) << target.output();
        const auto expected = viewOrders(source->port(), ids);
        // The target's read model catches up from the log it was given.
        ASSERT_TRUE(
            waitUntil([&] { return listedOrderIds(target.port()).size() >= ids.size(); }, std::chrono::seconds(20)));
        const auto actual = viewOrders(target.port(), ids);
        for (int64_t id : ids) {
            EXPECT_EQ(actual.at(id).status, expected.at(id).status) << "order " << id;
            EXPECT_EQ(actual.at(id).version, expected.at(id).version) << "order " << id;
            EXPECT_EQ(actual.at(id).events, expected.at(id).events) << "order " << id;
        }
        const int64_t fresh = createOrder(target.port(), "After the move");
        EXPECT_GT(fresh, *std::max_element(ids.begin(), ids.end()));
    }

    TempDir dir;
    std::unique_ptr<OrderNode> source;
    std::vector<int64_t> ids;
};

TEST_F(MoveDataTest, AnExportOfAServingNodeHoldsEveryEventInLogOrderAndOneSummaryLine) {
    BusyClient client(source->port());
    const std::string file = dir.file("orders.jsonl");
    const CommandRun run = runCommand(source->configPath(), "--export=" + file);
    client.stop();
    ASSERT_EQ(run.exitCode, 0) << run.err;
    ASSERT_EQ(run.outLines().size(), 1u) << run.out;
    EXPECT_NE(run.out.find("exported"), std::string::npos) << run.out;
    EXPECT_FALSE(pathExists(file + ".tmp"));
    std::map<int64_t, int64_t> versions;
    for (const auto& line : fileLines(file)) {
        const auto event = ordersystem::sdk::eventFromJson(line);
        ASSERT_TRUE(event) << line;
        EXPECT_EQ(event.value().version, versions[event.value().orderId] + 1) << line;
        versions[event.value().orderId] = event.value().version;
    }
    for (int64_t id : ids) EXPECT_EQ(versions.count(id), 1u) << "order " << id << " is missing";
    // A second export to the same file is refused and leaves it as it was.
    const auto before = readFile(file);
    const CommandRun again = runCommand(source->configPath(), "--export=" + file);
    EXPECT_EQ(again.exitCode, 1);
    EXPECT_NE(again.err.find("exists"), std::string::npos) << again.err;
    EXPECT_EQ(readFile(file), before);
}

TEST_F(MoveDataTest, AnImportIntoRedisServesTheSameOrdersWithTheSameIdsVersionsAndEvents) {
    if (!RedisServer::available()) GTEST_SKIP() << "redis-server is not installed";
    RedisServer redis(dir.file("redis"));
    ASSERT_TRUE(redis.start());
    const std::string file = exportSource();
    OrderNode::Options o = standalone("redis-1");
    o.transport = "transport-redis";
    o.brokerUrl = redis.url();
    OrderNode target(dir.file("redis-node"), o);
    importAndCompare(target, file);

    // A second import into the now non-empty log is refused and changes nothing.
    const CommandRun again = runCommand(target.configPath(), "--import=" + file);
    EXPECT_EQ(again.exitCode, 1);
    EXPECT_NE(again.err.find("not empty"), std::string::npos) << again.err;
    const std::string recount = dir.file("recount.jsonl");
    ASSERT_EQ(runCommand(target.configPath(), "--export=" + recount).exitCode, 0);
    EXPECT_EQ(fileLines(recount).size(), fileLines(file).size() + 1);  // + the create after the move
}

TEST_F(MoveDataTest, AnImportIntoNatsServesTheSameOrdersWithTheSameIdsVersionsAndEvents) {
    if (!NatsServer::available()) GTEST_SKIP() << "nats-server is not installed";
    NatsServer nats(dir.file("nats"));
    ASSERT_TRUE(nats.start());
    const std::string file = exportSource();
    OrderNode::Options o = standalone("nats-1");
    o.transport = "transport-nats";
    o.brokerUrl = nats.url();
    OrderNode target(dir.file("nats-node"), o);
    importAndCompare(target, file);
    // The export of the cluster log is the import file again, plus the create after the move.
    const std::string back = dir.file("back.jsonl");
    ASSERT_EQ(runCommand(target.configPath(), "--export=" + back).exitCode, 0);
    auto exported = fileLines(back);
    ASSERT_EQ(exported.size(), fileLines(file).size() + 1);
    exported.pop_back();
    EXPECT_EQ(exported, fileLines(file));
}

TEST_F(MoveDataTest, AFileThatIsNotAnExportIsRefusedWithItsLineNumberAndNothingIsWritten) {
    const auto good = fileLines(exportSource());
    ASSERT_GE(good.size(), 3u);
    OrderNode target(dir.file("target"), standalone("target"));
    const std::string broken = dir.file("broken.jsonl");
    writeFile(broken, good[0] + "\n" + good[1] + "\n{\"eventId\":\"x\"}\n" + good[2] + "\n");
    const CommandRun run = runCommand(target.configPath(), "--import=" + broken);
    EXPECT_EQ(run.exitCode, 1);
    EXPECT_NE(run.err.find("line 3"), std::string::npos) << run.err;
    EXPECT_TRUE(run.out.empty()) << run.out;
    // An order's second event before its first is refused the same way.
    const std::string reordered = dir.file("reordered.jsonl");
    std::string text;
    for (const auto& line : good)
        if (line.find("\"version\":1,") == std::string::npos) text += line + "\n";
    writeFile(reordered, text);
    const CommandRun gap = runCommand(target.configPath(), "--import=" + reordered);
    EXPECT_EQ(gap.exitCode, 1);
    EXPECT_NE(gap.err.find("line 1"), std::string::npos) << gap.err;
    const std::string empty = dir.file("empty.jsonl");
    ASSERT_EQ(runCommand(target.configPath(), "--export=" + empty).exitCode, 0);
    EXPECT_TRUE(fileLines(empty).empty());
}

TEST_F(MoveDataTest, AnExportFromABrokerThatIsDownExitsOneAndLeavesNoFile) {
    OrderNode::Options o = standalone("nobody");
    o.transport = "transport-redis";
    o.brokerUrl = "redis://127.0.0.1:" + std::to_string(freePort());
    OrderNode down(dir.file("down"), o);
    const std::string file = dir.file("down.jsonl");
    const CommandRun run = runCommand(down.configPath(), "--export=" + file);
    EXPECT_EQ(run.exitCode, 1);
    EXPECT_FALSE(run.err.empty());
    EXPECT_TRUE(run.out.empty()) << run.out;
    EXPECT_FALSE(pathExists(file));
    EXPECT_FALSE(pathExists(file + ".tmp"));
    // --backup is for standalone nodes only; it says so.
    const CommandRun backup = runCommand(down.configPath(), "--backup=" + dir.file("copy"));
    EXPECT_EQ(backup.exitCode, 1);
    EXPECT_NE(backup.err.find("standalone"), std::string::npos) << backup.err;
    EXPECT_FALSE(pathExists(dir.file("copy")));
}

TEST_F(MoveDataTest, ABackupTakenWhileAClientCreatesStartsANodeThatServesEveryOrderItHolds) {
    BusyClient client(source->port());
    ASSERT_TRUE(waitUntil([&] { return client.created > 20; }, std::chrono::seconds(20)));
    const int createdBefore = client.created;
    // The copy goes where the second node's ini looks for its data: <root>/data.
    const std::string root = dir.file("restored");
    const CommandRun run = runCommand(source->configPath(), "--backup=" + root + "/data");
    client.stop();
    ASSERT_EQ(run.exitCode, 0) << run.err;
    ASSERT_EQ(run.outLines().size(), 1u) << run.out;
    EXPECT_NE(run.out.find("backed up"), std::string::npos) << run.out;
    // Refused a second time: the folder exists now.
    EXPECT_EQ(runCommand(source->configPath(), "--backup=" + root + "/data").exitCode, 1);

    OrderNode restored(root, standalone("restored"));
    ASSERT_TRUE(restored.start()) << restored.output();
    ASSERT_TRUE(restored.waitReady()) << restored.output();
    const auto listed = listedOrderIds(restored.port());
    EXPECT_GE(listed.size(), ids.size() + static_cast<size_t>(createdBefore));
    // Every order of the copy's read model is in the copy's log, at the version the model shows.
    for (const auto& [id, view] : viewOrders(restored.port(), listed)) {
        const JsonValue events = ordersystem::sdk::parseJson(view.events).value();
        ASSERT_TRUE(events.isArray()) << view.events;
        EXPECT_EQ(static_cast<int64_t>(events.items().size()), view.version) << "order " << id;
    }
}

}  // namespace
}  // namespace e2e
