// Test fixture: the orders plugin started on a FakeHost over a FakeEventLog in a temporary data
// folder, with helpers to call its routes like an HTTP client would. AsyncOrdersTest does the same
// over an asynchronous log (FakeEventLog::setAsynchronous), so creates take the async route.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>

#include "FakeEventLog.h"
#include "OrdersPlugin.h"
#include "ordersystem/sdk/json.h"
#include "ordersystem/testing/FakeHost.h"

namespace ordersystem::plugins::orders::testing {

class OrdersTest : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/orders-test-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        _dir = tmpl;
        startPlugin();
    }
    void TearDown() override {
        stopPlugin();
        std::error_code ec;
        std::filesystem::remove_all(_dir, ec);
    }

    void startPlugin(OrdersSettings settings = {}) {
        host = std::make_unique<ordersystem::testing::FakeHost>(_dir, "node-a");
        host->provideEventLog(&log);
        plugin = std::make_unique<OrdersPlugin>(settings);
        const auto s = plugin->start(*host);
        ASSERT_TRUE(s.isOk()) << s.message;
    }
    void stopPlugin() {
        if (plugin) plugin->stop();
        plugin.reset();
        host.reset();
    }
    std::string dbPath() const { return _dir + "/orders.db"; }
    const std::string& dir() const { return _dir; }

    sdk::HttpResponse call(const std::string& method, const std::string& path, std::string body = {},
                           sdk::HeaderList headers = {}, sdk::HeaderList query = {}) {
        return host->fakeRouter().call(method, path, std::move(body), std::move(headers), std::move(query));
    }
    sdk::HttpResponse get(const std::string& path, sdk::HeaderList query = {}) {
        return call("GET", path, {}, {}, std::move(query));
    }
    sdk::HttpResponse post(const std::string& path, sdk::HeaderList query = {}) {
        return call("POST", path, {}, {}, std::move(query));
    }
    sdk::HttpResponse create(const std::string& body, sdk::HeaderList headers = {}) {
        headers.emplace_back("Content-Type", "application/json");
        return call("POST", "/api/orders", body, std::move(headers));
    }
    /// Sends a create without waiting for its reply.
    std::shared_ptr<ordersystem::testing::RouteCall> startCreate(const std::string& body,
                                                                 sdk::HeaderList headers = {}) {
        headers.emplace_back("Content-Type", "application/json");
        return host->fakeRouter().start("POST", "/api/orders", body, std::move(headers));
    }
    /// Creates a valid order and returns its id (fails the test otherwise).
    int64_t createOrder(const std::string& customer = "John Doe",
                        const std::string& items = R"([{"productName":"Laptop","quantity":1,"price":999.99}])") {
        auto r = create(R"({"customerName":")" + customer + R"(","items":)" + items + "}");
        EXPECT_EQ(r.status, 201) << r.body;
        auto doc = json(r.body);
        int64_t id = 0;
        if (const auto* v = doc.find("orderId")) v->asInt64(&id);
        return id;
    }
    std::string url(int64_t id, const std::string& suffix = {}) { return "/api/orders/" + std::to_string(id) + suffix; }

    static sdk::JsonValue json(const std::string& text) {
        auto r = sdk::parseJson(text);
        EXPECT_TRUE(r.isOk()) << "not JSON: " << text;
        return r ? std::move(*r) : sdk::JsonValue();
    }
    static std::string str(const sdk::JsonValue& v, const char* key) {
        const auto* m = v.find(key);
        return m && m->isString() ? m->asString() : (m && m->isNull() ? "null" : (m ? m->numberText() : "<absent>"));
    }
    /// The value of a response header; "<absent>" when it is missing.
    static std::string header(const sdk::HttpResponse& r, const std::string& name) {
        for (const auto& h : r.headers)
            if (sdk::equalsIgnoreCase(h.first, name)) return h.second;
        return "<absent>";
    }
    /// The order's status as GET shows it.
    std::string statusOf(int64_t id) { return str(json(get(url(id)).body), "status"); }
    std::string versionOf(int64_t id) { return str(json(get(url(id)).body), "version"); }

    /// Waits (bounded) until the read model has applied everything in the log.
    bool waitCaughtUp() {
        for (int i = 0; i < 500; ++i) {
            if (plugin->readModel()->appliedPosition() >= log.eventCount()) return true;
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        return false;
    }

    FakeEventLog log;
    std::unique_ptr<ordersystem::testing::FakeHost> host;
    std::unique_ptr<OrdersPlugin> plugin;

private:
    std::string _dir;
};

class AsyncOrdersTest : public OrdersTest {
protected:
    void SetUp() override {
        log.setAsynchronous(true);
        OrdersTest::SetUp();
    }
    void TearDown() override {
        log.holdAppends(false);  // a test that failed half-way must not leave the plugin's stop waiting
        OrdersTest::TearDown();
    }
};

}  // namespace ordersystem::plugins::orders::testing
