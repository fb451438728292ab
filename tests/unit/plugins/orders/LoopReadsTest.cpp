// Where the order reads run: on the host's event loop while the read model has everything this
// node acknowledged, on a worker (which waits for the projection) when it has not - also when a
// create is acknowledged just as a read on the loop begins.
#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <thread>

#include "FakeEventLog.h"
#include "OrdersFixture.h"
#include "app/OrderService.h"
#include "app/ReadModelPort.h"
#include "http/Routes.h"
#include "ordersystem/testing/FakeHost.h"
#include "ordersystem/testing/TestSupport.h"
#include "store/ReadModel.h"

namespace ordersystem::plugins::orders::testing {
namespace {

using app::WaitPolicy;
using ordersystem::testing::RouteCall;

bool mentions(const std::shared_ptr<RouteCall>& call, const std::string& text) {
    return call->response().body.find(text) != std::string::npos;
}

using LoopReads = OrdersTest;

TEST_F(LoopReads, EveryLocalReadIsAnsweredOnTheLoopWhileTheReadModelIsCurrent) {
    stopPlugin();
    OrdersSettings uncached;
    uncached.cacheEntries = 0;  // every read goes to SQLite
    startPlugin(uncached);
    const int64_t id = createOrder("Old Customer");
    ASSERT_TRUE(waitCaughtUp());
    for (const std::string& path : {url(id), std::string("/api/orders"), std::string("/api/orders/pending"),
                                    std::string("/api/orders/customer/Old Customer")}) {
        auto call = host->fakeRouter().start("GET", path);
        EXPECT_FALSE(call->ranOnWorker()) << path;
        EXPECT_EQ(call->response().status, 200) << path;
        EXPECT_TRUE(mentions(call, "Old Customer")) << path << ": " << call->response().body;
    }
}

TEST_F(LoopReads, WhileTheProjectionIsBehindACachedOrderStaysOnTheLoopAndAListWaitsOnAWorker) {
    createOrder("Old Customer");
    ASSERT_TRUE(waitCaughtUp());
    log.pauseDelivery(true);
    const int64_t fresh = createOrder("Fresh Customer");  // acknowledged and cached, not projected
    auto cached = host->fakeRouter().start("GET", url(fresh));
    EXPECT_FALSE(cached->ranOnWorker());
    EXPECT_TRUE(mentions(cached, "Fresh Customer")) << cached->response().body;

    std::thread resume([this] {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        log.pauseDelivery(false);
    });
    auto pending = host->fakeRouter().start("GET", "/api/orders/pending");
    resume.join();
    EXPECT_TRUE(pending->ranOnWorker());
    EXPECT_TRUE(mentions(pending, "Fresh Customer")) << pending->response().body;
    EXPECT_TRUE(mentions(pending, "Old Customer")) << pending->response().body;
}

/// The read model behind the service, with a hook run inside the next read, before the read model
/// looks at its state: where a caller that checked first and read afterwards had its window.
class HookedReads final : public app::ReadModelPort {
public:
    explicit HookedReads(app::ReadModelPort& inner) : _inner(inner) {}
    std::function<void()> beforeLoopRead;    ///< runs once, in the next read that must not wait
    std::function<void()> beforeWorkerRead;  ///< runs once, in the next read that may wait

    sdk::Status appendDocument(int64_t id, std::string* out, WaitPolicy wait) noexcept override {
        runHook(wait);
        return _inner.appendDocument(id, out, wait);
    }
    sdk::Result<std::vector<app::OrderRow>> list(const app::ListFilter& filter, WaitPolicy wait) noexcept override {
        runHook(wait);
        return _inner.list(filter, wait);
    }
    sdk::Result<domain::Order> loadOrder(int64_t id) noexcept override { return _inner.loadOrder(id); }
    void acknowledge(const domain::Order& order, uint64_t position) noexcept override {
        _inner.acknowledge(order, position);
    }
    void acknowledge(std::shared_ptr<const app::RenderedOrder> order, uint64_t position) noexcept override {
        _inner.acknowledge(std::move(order), position);
    }

private:
    void runHook(WaitPolicy wait) {
        std::function<void()>& hook = wait == WaitPolicy::MustNotWait ? beforeLoopRead : beforeWorkerRead;
        std::function<void()> run = std::move(hook);
        hook = nullptr;
        if (run) run();
    }
    app::ReadModelPort& _inner;
};

/// The plugin's parts wired by hand, with HookedReads between the service and the read model,
/// which has no cache (every read needs the projection to have caught up).
class LoopReadRace : public ::testing::Test {
protected:
    void SetUp() override {
        ASSERT_TRUE(model.open(dir.file("orders.db")).isOk());
        model.setStartHead(0);
        // What a read that waits for a paused projection waits before it reads anyway.
        model.setReadWaitMs(2000);
        service = std::make_unique<app::OrderService>(log, reads, host, app::ServiceSettings{"node-a"});
        auto sub = log.subscribe(model);
        ASSERT_TRUE(sub.isOk());
        subscription = *sub;
        http::registerRoutes(host.router(), service->mediator());
    }
    void TearDown() override {
        log.pauseDelivery(false);
        log.unsubscribe(subscription);
        model.close();
    }
    int64_t createOrder(const std::string& customer) {
        auto r = host.fakeRouter().call(
            "POST", "/api/orders",
            R"({"customerName":")" + customer + R"(","items":[{"productName":"Laptop","quantity":1,"price":1}]})",
            {{"Content-Type", "application/json"}});
        EXPECT_EQ(r.status, 201) << r.body;
        return log.events().empty() ? 0 : log.events().back().orderId;
    }
    bool projected() {
        for (int i = 0; i < 500 && model.appliedPosition() < log.eventCount(); ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        return model.appliedPosition() >= log.eventCount();
    }

    ordersystem::testing::TempDir dir;
    FakeEventLog log;
    ordersystem::testing::FakeHost host{dir.path(), "node-a"};
    store::ReadModel model{host.logger(), 0};
    HookedReads reads{model};
    std::unique_ptr<app::OrderService> service;
    sdk::SubscriptionId subscription = 0;
};

TEST_F(LoopReadRace, ACreateAcknowledgedAsALoopReadBeginsSendsTheReadToAWorkerInsteadOfWaitingOnTheLoop) {
    const int64_t first = createOrder("First Customer");
    for (const std::string& path : {"/api/orders/" + std::to_string(first), std::string("/api/orders")}) {
        ASSERT_TRUE(projected());
        log.pauseDelivery(true);
        int64_t created = 0;
        reads.beforeLoopRead = [&] { created = createOrder("Created Meanwhile"); };  // acknowledged, not projected
        reads.beforeWorkerRead = [&] { log.pauseDelivery(false); };
        auto call = host.fakeRouter().start("GET", path);
        EXPECT_TRUE(call->ranOnWorker()) << path << ": the read waited for the projection on the loop";
        EXPECT_EQ(call->response().status, 200) << path;
        EXPECT_TRUE(mentions(call, "First Customer")) << path << ": " << call->response().body;
        ASSERT_NE(created, 0) << path << ": the hook did not run";
        // Read-your-writes: the order created meanwhile is there for the next read.
        auto next = host.fakeRouter().start("GET", "/api/orders/" + std::to_string(created));
        EXPECT_EQ(next->response().status, 200) << next->response().body;
        EXPECT_TRUE(mentions(next, "Created Meanwhile")) << next->response().body;
    }
}

}  // namespace
}  // namespace ordersystem::plugins::orders::testing
